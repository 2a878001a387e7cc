// IPv6 at the engine (lib/engine/ipv6_input.cpp): neighbour discovery for our addresses
// (RFC 4861 7.1, 7.2), ICMPv6 echo (RFC 4443 4) and every refused frame counted. The engine
// under test is the Linux host fd00:99::2 (02:00:00:00:00:0b) of tests/unit/net/
// linux_captures_v6.hpp, so that its answers can be compared with what Linux answered.
#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <memory>
#include <vector>

#include "../../support/frames.hpp"
#include "../net/linux_captures_v6.hpp"
#include "engine/engine.hpp"
#include "net/icmpv6.hpp"
#include "net/ipv6.hpp"

namespace pollux::engine {
namespace {

using pollux::testing::Frame;
namespace cap = net::captures6;

const net::MacAddr kOurMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0b}};
const net::MacAddr kPeerMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0a}};
const net::Ipv6Addr kOur = *net::Ipv6Addr::parse("fd00:99::2");
const net::Ipv6Addr kPeer = *net::Ipv6Addr::parse("fd00:99::1");

template <size_t N>
Frame frame_of(const uint8_t (&bytes)[N]) {
  return Frame(bytes, bytes + N);
}

struct PoolDeleter {
  void operator()(rte_mempool* p) const { rte_mempool_free(p); }
};

class Ipv6InputTest : public ::testing::Test {
 protected:
  void make_engine(bool with_ipv6 = true) {
    engine_.reset();
    pool_.reset(rte_pktmbuf_pool_create(("ipv6_test_" + std::to_string(serial_++)).c_str(), 511, 0,
                                        0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY));
    ASSERT_NE(pool_, nullptr);
    EngineConfig c;
    c.iface.mac = kOurMac;
    c.iface.addrs = {net::Ipv4Prefix{net::make_ipv4(10, 0, 0, 2), 24}};
    if (with_ipv6) c.iface.addrs6 = {net::Ipv6Prefix{kOur, 64}};
    engine_ = std::make_unique<Engine>(c, pool_.get());
  }
  void SetUp() override { make_engine(); }
  void TearDown() override {
    engine_.reset();
    if (pool_) EXPECT_EQ(rte_mempool_avail_count(pool_.get()), 511u) << "mbufs leaked";
  }
  void feed(const Frame& f, uint64_t now = 0) {
    rte_mbuf* m = pollux::testing::to_mbuf(pool_.get(), f);
    ASSERT_NE(m, nullptr);
    engine_->input(&m, 1, now);
  }
  std::vector<Frame> sent() {
    std::vector<Frame> out;
    base::TxBatch& tx = engine_->tx();
    for (uint16_t i = 0; i < tx.size(); ++i) out.push_back(pollux::testing::bytes_of(tx.data()[i]));
    tx.free_all();
    return out;
  }
  uint64_t count(base::Counter c) const { return engine_->counters().get(c); }

  // An IPv6 frame from the peer: `upper` after a fixed header (no extension headers).
  static Frame ipv6_frame(const net::MacAddr& eth_dst, const net::Ipv6Addr& src,
                          const net::Ipv6Addr& dst, uint8_t next, const Frame& upper,
                          uint8_t hop_limit = 64) {
    Frame ip(net::kIpv6HeaderLen + upper.size());
    net::Ipv6Build b;
    b.src = src;
    b.dst = dst;
    b.next_header = next;
    b.payload_len = static_cast<uint16_t>(upper.size());
    b.hop_limit = hop_limit;
    net::write_ipv6_header(ip.data(), b);
    std::copy(upper.begin(), upper.end(), ip.begin() + net::kIpv6HeaderLen);
    return pollux::testing::eth_frame(eth_dst, kPeerMac, 0x86dd, ip);
  }
  // An ICMPv6 message with a correct checksum for src -> dst.
  static Frame icmpv6(const net::Ipv6Addr& src, const net::Ipv6Addr& dst, uint8_t type,
                      const Frame& body) {
    Frame out(4 + body.size());
    net::write_icmpv6(out.data(), src, dst, type, 0, {body.data(), body.size()});
    return out;
  }
  static Frame ns_body(const net::Ipv6Addr& target, bool with_source_option = true) {
    Frame b(32);
    const size_t n = net::write_ns_body(b.data(), target, kPeerMac.bytes);
    b.resize(with_source_option ? n : 20);
    return b;
  }

  static inline int serial_ = 0;
  std::unique_ptr<rte_mempool, PoolDeleter> pool_;
  std::unique_ptr<Engine> engine_;
};

// Decoded view of a frame the engine sent.
struct Sent {
  net::MacAddr eth_dst;
  net::Ipv6Header ip;
  net::Icmpv6Message icmp;
};
Sent decode(const Frame& f) {
  Sent s;
  std::copy(f.begin(), f.begin() + 6, s.eth_dst.bytes.begin());
  EXPECT_EQ(f[12], 0x86);
  EXPECT_EQ(f[13], 0xdd);
  EXPECT_EQ(net::parse_ipv6({f.data() + 14, f.size() - 14}, s.ip), net::Ipv6Error::ok);
  EXPECT_EQ(net::parse_icmpv6(s.ip, s.icmp), net::Icmpv6Error::ok) << "checksum and ND rules";
  return s;
}

// --- Neighbour discovery (RFC 4861) --------------------------------------------------------

TEST_F(Ipv6InputTest, AnswersLinuxsSolicitationWithExactlyTheAdvertisementLinuxSent) {
  feed(frame_of(cap::kNeighbourSolicitation));
  const auto out = sent();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], frame_of(cap::kNeighbourAdvertisement));
  EXPECT_EQ(count(base::Counter::nd_solicitations_received), 1u);
  EXPECT_EQ(count(base::Counter::nd_advertisements_sent), 1u);
}

TEST_F(Ipv6InputTest, AnswersASolicitationForOurLinkLocalAddressFromItsSolicitedNodeGroup) {
  const net::Ipv6Addr ll = net::Ipv6Addr::link_local_from_mac(kOurMac.bytes);
  const net::Ipv6Addr peer_ll = net::Ipv6Addr::link_local_from_mac(kPeerMac.bytes);
  feed(ipv6_frame(net::MacAddr{ll.solicited_node().multicast_mac()}, peer_ll, ll.solicited_node(),
                  net::kIpProtoIcmpv6,
                  icmpv6(peer_ll, ll.solicited_node(), net::kIcmpv6NeighbourSolicit, ns_body(ll)),
                  255));
  const auto out = sent();
  ASSERT_EQ(out.size(), 1u);
  const Sent s = decode(out[0]);
  EXPECT_EQ(s.eth_dst, kPeerMac) << "to the link-layer address the solicitation named";
  EXPECT_EQ(s.ip.src, ll);
  EXPECT_EQ(s.ip.dst, peer_ll);
  EXPECT_EQ(s.ip.hop_limit, 255);
  EXPECT_EQ(s.icmp.type, net::kIcmpv6NeighbourAdvert);
  EXPECT_EQ(s.icmp.target, ll);
  EXPECT_TRUE(s.icmp.solicited);
  EXPECT_TRUE(s.icmp.override_flag);
  EXPECT_FALSE(s.icmp.router);
  ASSERT_TRUE(s.icmp.link_addr);
  EXPECT_EQ(*s.icmp.link_addr, kOurMac.bytes);
}

TEST_F(Ipv6InputTest, ASolicitationWithoutSourceOptionIsAnsweredToTheFramesSource) {
  feed(ipv6_frame(
      net::MacAddr{kOur.solicited_node().multicast_mac()}, kPeer, kOur.solicited_node(),
      net::kIpProtoIcmpv6,
      icmpv6(kPeer, kOur.solicited_node(), net::kIcmpv6NeighbourSolicit, ns_body(kOur, false)),
      255));
  const auto out = sent();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(decode(out[0]).eth_dst, kPeerMac);
}

TEST_F(Ipv6InputTest, ASolicitationForAnotherAddressIsCountedAndNotAnswered) {
  const net::Ipv6Addr other = *net::Ipv6Addr::parse("fd00:99::3");
  feed(ipv6_frame(
      net::MacAddr{other.solicited_node().multicast_mac()}, kPeer, other.solicited_node(),
      net::kIpProtoIcmpv6,
      icmpv6(kPeer, other.solicited_node(), net::kIcmpv6NeighbourSolicit, ns_body(other)), 255));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::drop_ipv6_not_for_us), 1u) << "not our solicited-node group";
  // The same solicitation sent to our own group (a confused or hostile sender).
  feed(ipv6_frame(
      net::MacAddr{kOur.solicited_node().multicast_mac()}, kPeer, kOur.solicited_node(),
      net::kIpProtoIcmpv6,
      icmpv6(kPeer, kOur.solicited_node(), net::kIcmpv6NeighbourSolicit, ns_body(other)), 255));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::drop_nd_not_our_target), 1u);
}

TEST_F(Ipv6InputTest, ASolicitationThatCrossedARouterIsDropped) {
  // RFC 4861 7.1.1: hop limit below 255 means it did not come from our link.
  feed(ipv6_frame(net::MacAddr{kOur.solicited_node().multicast_mac()}, kPeer, kOur.solicited_node(),
                  net::kIpProtoIcmpv6,
                  icmpv6(kPeer, kOur.solicited_node(), net::kIcmpv6NeighbourSolicit, ns_body(kOur)),
                  254));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::drop_icmpv6_bad_nd), 1u);
}

TEST_F(Ipv6InputTest, ADuplicateAddressProbeForOurAddressIsDefendedToAllNodes) {
  // RFC 4862 5.4.3 / RFC 4861 7.2.4: a probe from the unspecified address; the answer is not
  // solicited and goes to all-nodes (the prober has no address to be answered at).
  feed(ipv6_frame(net::MacAddr{kOur.solicited_node().multicast_mac()}, net::Ipv6Addr{},
                  kOur.solicited_node(), net::kIpProtoIcmpv6,
                  icmpv6(net::Ipv6Addr{}, kOur.solicited_node(), net::kIcmpv6NeighbourSolicit,
                         ns_body(kOur, false)),
                  255));
  const auto out = sent();
  ASSERT_EQ(out.size(), 1u);
  const Sent s = decode(out[0]);
  EXPECT_EQ(s.eth_dst, (net::MacAddr{{0x33, 0x33, 0, 0, 0, 1}}));
  EXPECT_EQ(s.ip.dst, InterfaceConfig::all_nodes());
  EXPECT_EQ(s.icmp.target, kOur);
  EXPECT_FALSE(s.icmp.solicited);
  EXPECT_EQ(count(base::Counter::nd_duplicate_address), 1u);
}

TEST_F(Ipv6InputTest, AnAdvertisementForOurAddressFromAnotherNodeIsCountedAsADuplicate) {
  Frame body(32);
  body.resize(net::write_na_body(body.data(), kOur, kPeerMac.bytes, false, false, true));
  feed(ipv6_frame(net::MacAddr{{0x33, 0x33, 0, 0, 0, 1}}, kPeer, InterfaceConfig::all_nodes(),
                  net::kIpProtoIcmpv6,
                  icmpv6(kPeer, InterfaceConfig::all_nodes(), net::kIcmpv6NeighbourAdvert, body),
                  255));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::nd_advertisements_received), 1u);
  EXPECT_EQ(count(base::Counter::nd_duplicate_address), 1u);
}

TEST_F(Ipv6InputTest, StartAdvertisesEveryAddressUnsolicitedToAllNodes) {
  engine_->start(0);
  std::vector<net::Ipv6Addr> targets;
  for (const Frame& f : sent()) {
    if (f[12] != 0x86) continue;  // the gratuitous ARP for the IPv4 address
    const Sent s = decode(f);
    EXPECT_EQ(s.ip.dst, InterfaceConfig::all_nodes());
    EXPECT_EQ(s.icmp.type, net::kIcmpv6NeighbourAdvert);
    EXPECT_FALSE(s.icmp.solicited);
    EXPECT_TRUE(s.icmp.override_flag);
    targets.push_back(s.icmp.target);
  }
  EXPECT_EQ(targets,
            (std::vector<net::Ipv6Addr>{net::Ipv6Addr::link_local_from_mac(kOurMac.bytes), kOur}));
}

// --- Echo (RFC 4443 4) -------------------------------------------------------------------

TEST_F(Ipv6InputTest, AnswersLinuxsEchoRequestAsLinuxDidButForTheFlowLabel) {
  feed(frame_of(cap::kIcmp6EchoRequest));
  const auto out = sent();
  ASSERT_EQ(out.size(), 1u);
  Frame want = frame_of(cap::kIcmp6EchoReply);
  Frame got = out[0];
  // Linux labels its flows (RFC 6437); pollux sends flow label 0. Everything else is equal.
  EXPECT_EQ(got[15] & 0x0f, 0);
  EXPECT_EQ(got[16], 0);
  EXPECT_EQ(got[17], 0);
  for (size_t i : {15, 16, 17}) got[i] = want[i];
  got[15] = static_cast<uint8_t>((got[15] & 0xf0) | (want[15] & 0x0f));
  EXPECT_EQ(got, want);
  EXPECT_EQ(count(base::Counter::icmpv6_echo_requests), 1u);
  EXPECT_EQ(count(base::Counter::icmpv6_echo_replies_sent), 1u);
}

TEST_F(Ipv6InputTest, AnEchoRequestToAllNodesIsNotAnswered) {
  Frame echo{0, 1, 0, 1, 'h', 'i'};
  feed(ipv6_frame(net::MacAddr{{0x33, 0x33, 0, 0, 0, 1}}, kPeer, InterfaceConfig::all_nodes(),
                  net::kIpProtoIcmpv6,
                  icmpv6(kPeer, InterfaceConfig::all_nodes(), net::kIcmpv6EchoRequest, echo)));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::icmpv6_echo_requests), 1u);
  EXPECT_EQ(count(base::Counter::icmpv6_echo_replies_sent), 0u);
}

TEST_F(Ipv6InputTest, EchoRepliesComeOutOfTheSameBudgetAsIpv4s) {
  Frame echo{0, 1, 0, 1, 'h', 'i'};
  const Frame f = ipv6_frame(kOurMac, kPeer, kOur, net::kIpProtoIcmpv6,
                             icmpv6(kPeer, kOur, net::kIcmpv6EchoRequest, echo));
  for (int i = 0; i < 200; ++i) feed(f);
  EXPECT_EQ(sent().size(), 50u) << "the burst (EngineConfig::icmp_echo_burst)";
  EXPECT_EQ(count(base::Counter::drop_icmpv6_rate_limited), 150u);
}

// --- Refused, each counted ----------------------------------------------------------------

TEST_F(Ipv6InputTest, WithoutAnIpv6AddressEveryIpv6FrameIsCountedAsBefore) {
  make_engine(false);
  feed(frame_of(cap::kNeighbourSolicitation));
  feed(frame_of(cap::kIcmp6EchoRequest));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::drop_ipv6), 2u);
}

TEST_F(Ipv6InputTest, TcpOverIpv6IsCountedAsNotSpokenYet) {
  feed(frame_of(cap::kTcp6Syn));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::drop_ipv6_unknown_protocol), 1u);
}

TEST_F(Ipv6InputTest, HostileAndStrayFramesAreEachCountedByName) {
  const Frame echo = icmpv6(kPeer, kOur, net::kIcmpv6EchoRequest, Frame{0, 1, 0, 1});
  // Not for us: another unicast address.
  const net::Ipv6Addr other = *net::Ipv6Addr::parse("fd00:99::3");
  feed(ipv6_frame(kOurMac, kPeer, other, net::kIpProtoIcmpv6, echo));
  EXPECT_EQ(count(base::Counter::drop_ipv6_not_for_us), 1u);
  // A multicast source, and our own address as the source.
  feed(ipv6_frame(kOurMac, InterfaceConfig::all_nodes(), kOur, net::kIpProtoIcmpv6, echo));
  feed(ipv6_frame(kOurMac, kOur, kOur, net::kIpProtoIcmpv6, echo));
  EXPECT_EQ(count(base::Counter::drop_ipv6_bad_source), 2u);
  // A bad ICMPv6 checksum.
  Frame bad = echo;
  bad[2] ^= 0xff;
  feed(ipv6_frame(kOurMac, kPeer, kOur, net::kIpProtoIcmpv6, bad));
  EXPECT_EQ(count(base::Counter::drop_icmpv6_bad_checksum), 1u);
  // A fragment header (RFC 8200 4.5), and a type 0 routing header (RFC 5095).
  Frame frag{net::kIpProtoIcmpv6, 0, 0, 1, 0, 0, 0, 7};
  frag.insert(frag.end(), echo.begin(), echo.end());
  feed(ipv6_frame(kOurMac, kPeer, kOur, net::kIpv6Fragment, frag));
  EXPECT_EQ(count(base::Counter::drop_ipv6_fragment), 1u);
  Frame rh0{net::kIpProtoIcmpv6, 2, 0, 1, 0, 0, 0, 0};
  rh0.resize(8 + 16);  // one address
  rh0.insert(rh0.end(), echo.begin(), echo.end());
  feed(ipv6_frame(kOurMac, kPeer, kOur, net::kIpv6Routing, rh0));
  EXPECT_EQ(count(base::Counter::drop_ipv6_routing_type0), 1u);
  // A payload length beyond the frame.
  Frame trunc = ipv6_frame(kOurMac, kPeer, kOur, net::kIpProtoIcmpv6, echo);
  trunc.resize(trunc.size() - 2);
  feed(trunc);
  EXPECT_EQ(count(base::Counter::drop_ipv6_malformed), 1u);
  // UDP: not spoken.
  feed(ipv6_frame(kOurMac, kPeer, kOur, 17, Frame(8, 0)));
  EXPECT_EQ(count(base::Counter::drop_ipv6_unknown_protocol), 1u);
  EXPECT_TRUE(sent().empty());
}

}  // namespace
}  // namespace pollux::engine
