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
#include "engine_frames.hpp"
#include "net/icmpv6.hpp"
#include "net/ipv6.hpp"

namespace pollux::engine {
namespace {

using pollux::testing::Frame;
using pollux::testing::icmpv6_message;
using pollux::testing::ipv6_datagram;
namespace cap = net::captures6;

const net::MacAddr kOurMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0b}};
const net::MacAddr kPeerMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0a}};
const net::Ipv6Addr kOur = *net::Ipv6Addr::parse("fd00:99::2");
const net::Ipv6Addr kPeer = *net::Ipv6Addr::parse("fd00:99::1");

template <size_t N>
Frame frame_of(const uint8_t (&bytes)[N]) {
  return Frame(bytes, bytes + N);
}

class Ipv6InputTest : public EngineFrames {
 protected:
  void make_engine(bool with_ipv6 = true) {
    make_pool(511);
    cfg_ = EngineConfig{};
    cfg_.iface.mac = kOurMac;
    cfg_.iface.addrs = {net::Ipv4Prefix{net::make_ipv4(10, 0, 0, 2), 24}};
    if (with_ipv6) cfg_.iface.addrs6 = {net::Ipv6Prefix{kOur, 64}};
    start_engine(cfg_);
  }
  void SetUp() override { make_engine(); }
  void TearDown() override { expect_pool_whole(); }

  // An IPv6 datagram from the peer's MAC to `eth_dst`.
  static Frame from_peer(const net::MacAddr& eth_dst, const Frame& datagram) {
    return pollux::testing::eth_frame(eth_dst, kPeerMac, 0x86dd, datagram);
  }
  static Frame ns_body(const net::Ipv6Addr& target, bool with_source_option = true) {
    Frame b(32);
    const size_t n = net::write_ns_body(b.data(), target, kPeerMac.bytes);
    b.resize(with_source_option ? n : 20);
    return b;
  }
  // The peer's solicitation for `target` (with its source link-layer option, at `peer_mac`),
  // to target's solicited-node group, as Linux resolves us before it pings.
  static Frame solicitation(const net::Ipv6Addr& target, const net::MacAddr& peer_mac = kPeerMac) {
    Frame b(32);
    b.resize(net::write_ns_body(b.data(), target, peer_mac.bytes));
    const net::Ipv6Addr group = target.solicited_node();
    return pollux::testing::eth_frame(
        net::multicast_mac(group), peer_mac, 0x86dd,
        ipv6_datagram(kPeer, group, net::kIpProtoIcmpv6,
                      icmpv6_message(kPeer, group, net::kIcmpv6NeighbourSolicit, b), 255));
  }
  // The peer's advertisement of `target` at `mac` to us (no option when `with_option` is
  // false), with the solicited and override flags given.
  static Frame advertisement(const net::Ipv6Addr& target, const net::MacAddr& mac, bool solicited,
                             bool override_flag, bool with_option = true) {
    Frame b(32);
    b.resize(net::write_na_body(b.data(), target, mac.bytes, false, solicited, override_flag));
    if (!with_option) b.resize(20);
    return from_peer(
        kOurMac, ipv6_datagram(target, kOur, net::kIpProtoIcmpv6,
                               icmpv6_message(target, kOur, net::kIcmpv6NeighbourAdvert, b), 255));
  }
  static Frame echo_request(const net::Ipv6Addr& from = kPeer, uint16_t seq = 1) {
    const Frame echo{0, 7, static_cast<uint8_t>(seq >> 8), static_cast<uint8_t>(seq), 'h', 'i'};
    return from_peer(kOurMac,
                     ipv6_datagram(from, kOur, net::kIpProtoIcmpv6,
                                   icmpv6_message(from, kOur, net::kIcmpv6EchoRequest, echo)));
  }
  // The peer made known the way Linux does it (its solicitation for our address), the
  // advertisement answering it taken.
  void peer_solicits_us(uint64_t now = 0) {
    feed(solicitation(kOur), now);
    sent();
  }
  EngineConfig cfg_;
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
  feed(from_peer(net::multicast_mac(ll.solicited_node()),
                 ipv6_datagram(peer_ll, ll.solicited_node(), net::kIpProtoIcmpv6,
                               icmpv6_message(peer_ll, ll.solicited_node(),
                                              net::kIcmpv6NeighbourSolicit, ns_body(ll)),
                               255)));
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

TEST_F(Ipv6InputTest, ASolicitationWithoutSourceOptionIsAnsweredOnceItsSenderIsResolved) {
  // RFC 4861 7.2.4: the advertisement is unicast to the solicitation's source; without its
  // link-layer address that source is resolved first (7.2.2).
  feed(from_peer(net::multicast_mac(kOur.solicited_node()),
                 ipv6_datagram(kPeer, kOur.solicited_node(), net::kIpProtoIcmpv6,
                               icmpv6_message(kPeer, kOur.solicited_node(),
                                              net::kIcmpv6NeighbourSolicit, ns_body(kOur, false)),
                               255)));
  auto out = sent();
  ASSERT_EQ(out.size(), 1u);
  const Sent ns = decode(out[0]);
  EXPECT_EQ(ns.icmp.type, net::kIcmpv6NeighbourSolicit);
  EXPECT_EQ(ns.icmp.target, kPeer);
  feed(advertisement(kPeer, kPeerMac, true, true));
  out = sent();
  ASSERT_EQ(out.size(), 1u);
  const Sent na = decode(out[0]);
  EXPECT_EQ(na.eth_dst, kPeerMac);
  EXPECT_EQ(na.icmp.type, net::kIcmpv6NeighbourAdvert);
  EXPECT_EQ(na.icmp.target, kOur);
  EXPECT_TRUE(na.icmp.solicited);
}

TEST_F(Ipv6InputTest, ASolicitationForAnotherAddressIsCountedAndNotAnswered) {
  const net::Ipv6Addr other = *net::Ipv6Addr::parse("fd00:99::3");
  feed(from_peer(net::multicast_mac(other.solicited_node()),
                 ipv6_datagram(kPeer, other.solicited_node(), net::kIpProtoIcmpv6,
                               icmpv6_message(kPeer, other.solicited_node(),
                                              net::kIcmpv6NeighbourSolicit, ns_body(other)),
                               255)));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::drop_ipv6_not_for_us), 1u) << "not our solicited-node group";
  // The same solicitation sent to our own group (a confused or hostile sender).
  feed(from_peer(net::multicast_mac(kOur.solicited_node()),
                 ipv6_datagram(kPeer, kOur.solicited_node(), net::kIpProtoIcmpv6,
                               icmpv6_message(kPeer, kOur.solicited_node(),
                                              net::kIcmpv6NeighbourSolicit, ns_body(other)),
                               255)));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::drop_nd_not_our_target), 1u);
}

TEST_F(Ipv6InputTest, ASolicitationThatCrossedARouterIsDropped) {
  // RFC 4861 7.1.1: hop limit below 255 means it did not come from our link.
  feed(from_peer(net::multicast_mac(kOur.solicited_node()),
                 ipv6_datagram(kPeer, kOur.solicited_node(), net::kIpProtoIcmpv6,
                               icmpv6_message(kPeer, kOur.solicited_node(),
                                              net::kIcmpv6NeighbourSolicit, ns_body(kOur)),
                               254)));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::drop_icmpv6_bad_nd), 1u);
}

TEST_F(Ipv6InputTest, ADuplicateAddressProbeForOurAddressIsDefendedToAllNodes) {
  // RFC 4862 5.4.3 / RFC 4861 7.2.4: a probe from the unspecified address; the answer is not
  // solicited and goes to all-nodes (the prober has no address to be answered at).
  feed(from_peer(net::multicast_mac(kOur.solicited_node()),
                 ipv6_datagram(net::Ipv6Addr{}, kOur.solicited_node(), net::kIpProtoIcmpv6,
                               icmpv6_message(net::Ipv6Addr{}, kOur.solicited_node(),
                                              net::kIcmpv6NeighbourSolicit, ns_body(kOur, false)),
                               255)));
  const auto out = sent();
  ASSERT_EQ(out.size(), 1u);
  const Sent s = decode(out[0]);
  EXPECT_EQ(s.eth_dst, (net::multicast_mac(net::kIpv6AllNodes)));
  EXPECT_EQ(s.ip.dst, net::kIpv6AllNodes);
  EXPECT_EQ(s.icmp.target, kOur);
  EXPECT_FALSE(s.icmp.solicited);
  EXPECT_EQ(count(base::Counter::nd_duplicate_address), 1u);
}

TEST_F(Ipv6InputTest, AnAdvertisementForOurAddressFromAnotherNodeIsCountedAsADuplicate) {
  Frame body(32);
  body.resize(net::write_na_body(body.data(), kOur, kPeerMac.bytes, false, false, true));
  feed(from_peer(
      net::multicast_mac(net::kIpv6AllNodes),
      ipv6_datagram(kPeer, net::kIpv6AllNodes, net::kIpProtoIcmpv6,
                    icmpv6_message(kPeer, net::kIpv6AllNodes, net::kIcmpv6NeighbourAdvert, body),
                    255)));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::nd_advertisements_received), 1u);
  EXPECT_EQ(count(base::Counter::nd_duplicate_address), 1u);
}

TEST_F(Ipv6InputTest, WithoutDadStartAdvertisesEveryAddressUnsolicitedToAllNodes) {
  cfg_.dad_probes = 0;
  start_engine(cfg_);
  engine_->start(0);
  std::vector<net::Ipv6Addr> targets;
  for (const Frame& f : sent()) {
    if (f[12] != 0x86) continue;  // the gratuitous ARP for the IPv4 address
    const Sent s = decode(f);
    EXPECT_EQ(s.ip.dst, net::kIpv6AllNodes);
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
  feed(frame_of(cap::kNeighbourSolicitation));  // Linux resolved us first, as captured
  sent();
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
  feed(from_peer(
      net::multicast_mac(net::kIpv6AllNodes),
      ipv6_datagram(kPeer, net::kIpv6AllNodes, net::kIpProtoIcmpv6,
                    icmpv6_message(kPeer, net::kIpv6AllNodes, net::kIcmpv6EchoRequest, echo))));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::icmpv6_echo_requests), 1u);
  EXPECT_EQ(count(base::Counter::icmpv6_echo_replies_sent), 0u);
}

TEST_F(Ipv6InputTest, EchoRepliesComeOutOfTheSameBudgetAsIpv4s) {
  Frame echo{0, 1, 0, 1, 'h', 'i'};
  const Frame f =
      from_peer(kOurMac, ipv6_datagram(kPeer, kOur, net::kIpProtoIcmpv6,
                                       icmpv6_message(kPeer, kOur, net::kIcmpv6EchoRequest, echo)));
  peer_solicits_us();
  for (int i = 0; i < 200; ++i) feed(f);
  EXPECT_EQ(sent().size(), 50u) << "the burst (EngineConfig::icmp_echo_burst)";
  EXPECT_EQ(count(base::Counter::drop_icmpv6_rate_limited), 150u);
}

TEST_F(Ipv6InputTest, AnEchoRequestWhoseReplyWouldExceedTheMtuIsCountedAsTooBig) {
  // 1460 bytes of data: 1508 bytes of IPv6, above the 1500 MTU; IPv6 output does not
  // fragment, so the reply is not sent, under its own counter (not a bug's).
  Frame echo{0, 1, 0, 1};
  echo.resize(4 + 1460, 0x5a);
  feed(from_peer(kOurMac,
                 ipv6_datagram(kPeer, kOur, net::kIpProtoIcmpv6,
                               icmpv6_message(kPeer, kOur, net::kIcmpv6EchoRequest, echo))));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::icmpv6_echo_requests), 1u);
  EXPECT_EQ(count(base::Counter::drop_icmpv6_reply_too_big), 1u);
  EXPECT_EQ(count(base::Counter::drop_tx_oversize), 0u);
}

// --- Refused, each counted ----------------------------------------------------------------

TEST_F(Ipv6InputTest, WithoutAnIpv6AddressEveryIpv6FrameIsCountedAsBefore) {
  make_engine(false);
  feed(frame_of(cap::kNeighbourSolicitation));
  feed(frame_of(cap::kIcmp6EchoRequest));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::drop_ipv6), 2u);
}

TEST_F(Ipv6InputTest, HostileAndStrayFramesAreEachCountedByName) {
  const Frame echo = icmpv6_message(kPeer, kOur, net::kIcmpv6EchoRequest, Frame{0, 1, 0, 1});
  // Not for us: another unicast address.
  const net::Ipv6Addr other = *net::Ipv6Addr::parse("fd00:99::3");
  feed(from_peer(kOurMac, ipv6_datagram(kPeer, other, net::kIpProtoIcmpv6, echo)));
  EXPECT_EQ(count(base::Counter::drop_ipv6_not_for_us), 1u);
  // A multicast source, and our own address as the source.
  feed(from_peer(kOurMac, ipv6_datagram(net::kIpv6AllNodes, kOur, net::kIpProtoIcmpv6, echo)));
  feed(from_peer(kOurMac, ipv6_datagram(kOur, kOur, net::kIpProtoIcmpv6, echo)));
  EXPECT_EQ(count(base::Counter::drop_ipv6_bad_source), 2u);
  // A bad ICMPv6 checksum.
  Frame bad = echo;
  bad[2] ^= 0xff;
  feed(from_peer(kOurMac, ipv6_datagram(kPeer, kOur, net::kIpProtoIcmpv6, bad)));
  EXPECT_EQ(count(base::Counter::drop_icmpv6_bad_checksum), 1u);
  // A fragment header (RFC 8200 4.5), and a type 0 routing header (RFC 5095).
  Frame frag{net::kIpProtoIcmpv6, 0, 0, 1, 0, 0, 0, 7};
  frag.insert(frag.end(), echo.begin(), echo.end());
  feed(from_peer(kOurMac, ipv6_datagram(kPeer, kOur, net::kIpv6Fragment, frag)));
  EXPECT_EQ(count(base::Counter::drop_ipv6_fragment), 1u);
  Frame rh0{net::kIpProtoIcmpv6, 2, 0, 1, 0, 0, 0, 0};
  rh0.resize(8 + 16);  // one address
  rh0.insert(rh0.end(), echo.begin(), echo.end());
  feed(from_peer(kOurMac, ipv6_datagram(kPeer, kOur, net::kIpv6Routing, rh0)));
  EXPECT_EQ(count(base::Counter::drop_ipv6_routing_type0), 1u);
  // A payload length beyond the frame.
  Frame trunc = from_peer(kOurMac, ipv6_datagram(kPeer, kOur, net::kIpProtoIcmpv6, echo));
  trunc.resize(trunc.size() - 2);
  feed(trunc);
  EXPECT_EQ(count(base::Counter::drop_ipv6_malformed), 1u);
  // UDP: not spoken.
  feed(from_peer(kOurMac, ipv6_datagram(kPeer, kOur, 17, Frame(8, 0))));
  EXPECT_EQ(count(base::Counter::drop_ipv6_unknown_protocol), 1u);
  EXPECT_TRUE(sent().empty());
}

// --- The neighbour cache (RFC 4861 7.2.2-7.3) -------------------------------------------

constexpr uint64_t kSecond = 1'000'000'000;
const net::MacAddr kOtherMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0c}};

TEST_F(Ipv6InputTest, AReplyToAnUnknownNeighbourWaitsForItsResolutionByMulticastSolicitation) {
  feed(echo_request());
  auto out = sent();
  ASSERT_EQ(out.size(), 1u) << "the reply is held; a solicitation goes out";
  const Sent ns = decode(out[0]);
  // RFC 4861 7.2.2: to the solicited-node group, from our address facing the target, with
  // our link-layer address, hop limit 255.
  EXPECT_EQ(ns.eth_dst, net::multicast_mac(kPeer.solicited_node()));
  EXPECT_EQ(ns.ip.src, kOur);
  EXPECT_EQ(ns.ip.dst, kPeer.solicited_node());
  EXPECT_EQ(ns.ip.hop_limit, 255);
  EXPECT_EQ(ns.icmp.type, net::kIcmpv6NeighbourSolicit);
  EXPECT_EQ(ns.icmp.target, kPeer);
  ASSERT_TRUE(ns.icmp.link_addr);
  EXPECT_EQ(*ns.icmp.link_addr, kOurMac.bytes);
  EXPECT_EQ(count(base::Counter::nd_solicitations_sent), 1u);
  ASSERT_NE(engine_->nd_cache().find(kPeer), nullptr);
  EXPECT_EQ(engine_->nd_cache().find(kPeer)->state, NdCache::State::incomplete);

  feed(advertisement(kPeer, kPeerMac, true, true), kSecond / 2);
  out = sent();
  ASSERT_EQ(out.size(), 1u) << "the held reply leaves";
  const Sent reply = decode(out[0]);
  EXPECT_EQ(reply.eth_dst, kPeerMac);
  EXPECT_EQ(reply.icmp.type, net::kIcmpv6EchoReply);
  const auto* e = engine_->nd_cache().find(kPeer);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->state, NdCache::State::reachable);
  EXPECT_FALSE(e->stale) << "a solicited advertisement confirms (RFC 4861 7.3.1)";
}

TEST_F(Ipv6InputTest, AnUnansweredResolutionIsRetriedThenItsPacketsAreDroppedAndCounted) {
  feed(echo_request());
  EXPECT_EQ(sent().size(), 1u);
  // RFC 4861 7.2.2: MAX_MULTICAST_SOLICIT (3) solicitations, RETRANS_TIMER (1 s) apart.
  engine_->poll(kSecond);
  EXPECT_EQ(sent().size(), 1u);
  engine_->poll(2 * kSecond);
  EXPECT_EQ(sent().size(), 1u);
  EXPECT_EQ(count(base::Counter::nd_solicitations_sent), 3u);
  engine_->poll(3 * kSecond);
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::drop_nd_unresolved), 1u);
  EXPECT_EQ(engine_->nd_cache().find(kPeer), nullptr) << "the entry goes (7.3.3)";
}

TEST_F(Ipv6InputTest, PacketsHeldForOneNeighbourAreBoundedAndTheRestCounted) {
  engine_.reset();
  cfg_.nd.max_pending = 4;
  start_engine(cfg_);
  for (uint16_t i = 0; i < 6; ++i) feed(echo_request(kPeer, i));
  EXPECT_EQ(sent().size(), 1u) << "one solicitation";
  EXPECT_EQ(count(base::Counter::drop_nd_pending_overflow), 2u) << "NdConfig::max_pending 4";
  feed(advertisement(kPeer, kPeerMac, true, true));
  EXPECT_EQ(sent().size(), 4u);
}

// Issue 14: the same cache-wide cap on held packets for neighbour discovery
// (NdConfig::max_pending_total): echo replies to three unresolved on-link sources wait, the
// fourth is freed and counted; an advertisement sends its neighbour's reply and frees the
// place, and failed resolutions free the rest.
TEST_F(Ipv6InputTest, PacketsHeldForUnresolvedNeighboursAreCappedOverTheWholeCache) {
  engine_.reset();
  cfg_.nd.max_pending_total = 3;
  cfg_.nd.new_entry_rate = 0;
  start_engine(cfg_);
  auto peer = [](int i) {
    net::Ipv6Addr a = kPeer;
    a.bytes[15] = static_cast<uint8_t>(0x10 + i);
    return a;
  };
  for (int i = 0; i < 4; ++i) feed(echo_request(peer(i)));
  EXPECT_EQ(sent().size(), 3u) << "a solicitation for each held reply";
  EXPECT_EQ(count(base::Counter::drop_nd_pending_total), 1u);
  EXPECT_EQ(engine_->nd_cache().pending_total(), 3u);
  EXPECT_EQ(held(), 3u);
  feed(advertisement(peer(0), kPeerMac, true, true));
  EXPECT_EQ(sent().size(), 1u) << "neighbour 0's echo reply";
  EXPECT_EQ(engine_->nd_cache().pending_total(), 2u);
  feed(echo_request(peer(3)));
  EXPECT_EQ(engine_->nd_cache().pending_total(), 3u) << "the freed place is taken";
  for (uint64_t t = 1; t <= 4; ++t) engine_->poll(t * kSecond);
  (void)sent();
  EXPECT_EQ(engine_->nd_cache().pending_total(), 0u);
  EXPECT_EQ(count(base::Counter::drop_nd_unresolved), 3u);
  EXPECT_EQ(held(), 0u);
}

TEST_F(Ipv6InputTest, AnAdvertisementNobodyAskedForMakesNoEntry) {
  // RFC 4861 7.2.5: no entry, the advertisement is silently discarded.
  feed(advertisement(kPeer, kPeerMac, false, true));
  EXPECT_EQ(engine_->nd_cache().find(kPeer), nullptr);
  EXPECT_EQ(count(base::Counter::nd_advertisements_received), 1u);
}

TEST_F(Ipv6InputTest, ASolicitationsSourceOptionMakesAStaleEntryProbedUnicastAfterTheDelay) {
  peer_solicits_us();
  const auto* e = engine_->nd_cache().find(kPeer);
  ASSERT_NE(e, nullptr) << "RFC 4861 7.2.3: learnt from the source link-layer option";
  EXPECT_EQ(e->mac, kPeerMac);
  EXPECT_TRUE(e->stale);
  // Used as it is: the advertisement answering the solicitation left at once, and so does
  // a reply (7.3.3: STALE -> DELAY on first use, at 0 here).
  feed(echo_request(), kSecond);
  auto out = sent();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(decode(out[0]).eth_dst, kPeerMac);
  engine_->poll(4 * kSecond);
  EXPECT_TRUE(sent().empty()) << "DELAY_FIRST_PROBE_TIME is 5 s";
  engine_->poll(5 * kSecond);
  out = sent();
  ASSERT_EQ(out.size(), 1u);
  const Sent probe = decode(out[0]);
  // PROBE: unicast to the address held, not to the group.
  EXPECT_EQ(probe.eth_dst, kPeerMac);
  EXPECT_EQ(probe.ip.dst, kPeer);
  EXPECT_EQ(probe.icmp.target, kPeer);
  // The answer confirms it; no further probes.
  feed(advertisement(kPeer, kPeerMac, true, false, false), 7 * kSecond);
  EXPECT_EQ(engine_->nd_cache().find(kPeer)->state, NdCache::State::reachable);
  EXPECT_FALSE(engine_->nd_cache().find(kPeer)->stale);
  engine_->poll(20 * kSecond);
  EXPECT_TRUE(sent().empty());
}

TEST_F(Ipv6InputTest, AnUnansweredProbeRemovesTheEntryAfterThreeTries) {
  peer_solicits_us();
  feed(echo_request(), 0);
  sent();
  for (uint64_t t = 5; t <= 7; ++t) {
    engine_->poll(t * kSecond);
    EXPECT_EQ(sent().size(), 1u) << "probe at " << t << " s";
  }
  engine_->poll(8 * kSecond);
  EXPECT_EQ(engine_->nd_cache().find(kPeer), nullptr);
}

TEST_F(Ipv6InputTest, WithoutOverrideAnAdvertisementDoesNotReplaceAKnownAddress) {
  feed(echo_request());
  feed(advertisement(kPeer, kPeerMac, true, true));
  sent();
  // RFC 4861 7.2.5: O clear and another address: not taken, the entry turns stale.
  feed(advertisement(kPeer, kOtherMac, false, false));
  EXPECT_EQ(engine_->nd_cache().find(kPeer)->mac, kPeerMac);
  EXPECT_TRUE(engine_->nd_cache().find(kPeer)->stale);
  EXPECT_EQ(count(base::Counter::nd_update_refused), 1u);
  // O set: replaced; not solicited, so stale until confirmed.
  feed(advertisement(kPeer, kOtherMac, false, true));
  EXPECT_EQ(engine_->nd_cache().find(kPeer)->mac, kOtherMac);
  EXPECT_TRUE(engine_->nd_cache().find(kPeer)->stale);
  EXPECT_EQ(count(base::Counter::nd_mac_changed), 1u);
  feed(echo_request());
  const auto out = sent();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(decode(out[0]).eth_dst, kOtherMac);
}

TEST_F(Ipv6InputTest, AnOffLinkSourceIsAnsweredThroughTheGatewayOrCountedWithoutOne) {
  const net::Ipv6Addr far = *net::Ipv6Addr::parse("2001:db8::7");
  feed(echo_request(far));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::drop_no_route), 1u);
  const net::Ipv6Addr gw = *net::Ipv6Addr::parse("fe80::1");
  cfg_.iface.gateway6 = gw;
  start_engine(cfg_);
  feed(echo_request(far));
  const auto out = sent();
  ASSERT_EQ(out.size(), 1u);
  const Sent ns = decode(out[0]);
  EXPECT_EQ(ns.icmp.target, gw) << "the gateway is resolved, not the far address";
  EXPECT_EQ(ns.ip.src, engine_->ipv6_addrs().link_local())
      << "link-local target, link-local source";
}

// RFC 4861 5.2: an off-link destination's next hop is the gateway (--gw fd00:99::fe), so
// its datagrams leave to the gateway's MAC with the far address kept in the IPv6 header; an
// on-link one still goes to its own MAC.
TEST_F(Ipv6InputTest, AnOffLinkDestinationLeavesToTheGatewaysMacOnceTheGatewayIsResolved) {
  const net::Ipv6Addr far = *net::Ipv6Addr::parse("2001:db8::7");
  const net::Ipv6Addr gw = *net::Ipv6Addr::parse("fd00:99::fe");
  const net::MacAddr gw_mac{{0x02, 0x00, 0x00, 0x00, 0x00, 0xfe}};
  cfg_.iface.gateway6 = gw;
  start_engine(cfg_);
  feed(echo_request(far, 1));
  auto out = sent();
  ASSERT_EQ(out.size(), 1u) << "the reply waits for the gateway's resolution";
  const Sent ns = decode(out[0]);
  EXPECT_EQ(ns.icmp.type, net::kIcmpv6NeighbourSolicit);
  EXPECT_EQ(ns.icmp.target, gw);
  // The gateway answers: the held reply leaves to its MAC, addressed to the far host.
  feed(advertisement(gw, gw_mac, true, true));
  out = sent();
  ASSERT_EQ(out.size(), 1u);
  Sent reply = decode(out[0]);
  EXPECT_EQ(reply.eth_dst, gw_mac);
  EXPECT_EQ(reply.ip.dst, far);
  EXPECT_EQ(reply.ip.src, kOur);
  EXPECT_EQ(reply.icmp.type, net::kIcmpv6EchoReply);
  // Resolved now: the next one leaves at once, no solicitation.
  feed(echo_request(far, 2));
  out = sent();
  ASSERT_EQ(out.size(), 1u);
  reply = decode(out[0]);
  EXPECT_EQ(reply.eth_dst, gw_mac);
  EXPECT_EQ(reply.ip.dst, far);
  EXPECT_EQ(count(base::Counter::drop_no_route), 0u);
  // An on-link peer is its own next hop, gateway or not.
  peer_solicits_us();
  feed(echo_request(kPeer, 3));
  out = sent();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(decode(out[0]).eth_dst, kPeerMac);
}

TEST_F(Ipv6InputTest, WhatOneLcoreLearnsIsPublishedAndReleasesASiblingsHeldPackets) {
  peer_solicits_us();
  const auto updates = engine_->neighbour_updates();
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_TRUE(updates[0].is_ipv6);
  EXPECT_EQ(updates[0].ip6, kPeer);
  EXPECT_FALSE(updates[0].confirmed);
  const NeighbourUpdate u = updates[0];
  engine_->clear_neighbour_updates();
  // A fresh engine (the sibling) holding a reply for the peer.
  start_engine(cfg_);
  feed(echo_request());
  EXPECT_EQ(sent().size(), 1u);
  engine_->neighbour_update(u, 0);
  const auto out = sent();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(decode(out[0]).eth_dst, kPeerMac);
}

// --- Duplicate address detection (RFC 4862 5.4) ------------------------------------------

// The IPv6 frames among those sent (start() also sends a gratuitous ARP).
std::vector<Sent> ipv6_of(const std::vector<Frame>& frames) {
  std::vector<Sent> out;
  for (const Frame& f : frames)
    if (f[12] == 0x86) out.push_back(decode(f));
  return out;
}

TEST_F(Ipv6InputTest, StartProbesEachAddressFromTheUnspecifiedAddressThenAdvertisesIt) {
  engine_->start(0);
  const auto probes = ipv6_of(sent());
  ASSERT_EQ(probes.size(), 2u);
  const net::Ipv6Addr ll = engine_->ipv6_addrs().link_local();
  std::vector<net::Ipv6Addr> targets;
  for (const Sent& p : probes) {
    EXPECT_EQ(p.icmp.type, net::kIcmpv6NeighbourSolicit);
    EXPECT_TRUE(p.ip.src.is_unspecified());
    EXPECT_EQ(p.ip.dst, p.icmp.target.solicited_node());
    EXPECT_EQ(p.eth_dst, net::multicast_mac(p.icmp.target.solicited_node()));
    EXPECT_EQ(p.ip.hop_limit, 255);
    EXPECT_FALSE(p.icmp.link_addr) << "RFC 4861 4.3: no option from the unspecified address";
    targets.push_back(p.icmp.target);
  }
  EXPECT_EQ(targets, (std::vector<net::Ipv6Addr>{ll, kOur}));
  EXPECT_EQ(count(base::Counter::nd_dad_probes_sent), 2u);

  // Tentative: not ours yet. A ping to it is not for us; a solicitation for it is ignored.
  feed(echo_request(), kSecond / 2);
  EXPECT_EQ(count(base::Counter::drop_ipv6_not_for_us), 1u);
  feed(solicitation(kOur), kSecond / 2);
  EXPECT_EQ(count(base::Counter::drop_nd_tentative_target), 1u);
  EXPECT_TRUE(sent().empty());

  engine_->poll(kSecond - 1);
  EXPECT_TRUE(sent().empty());
  engine_->poll(kSecond);  // RetransTimer after the one probe: ours, announced
  const auto adverts = ipv6_of(sent());
  ASSERT_EQ(adverts.size(), 2u);
  for (const Sent& a : adverts) {
    EXPECT_EQ(a.icmp.type, net::kIcmpv6NeighbourAdvert);
    EXPECT_EQ(a.ip.dst, net::kIpv6AllNodes);
    EXPECT_FALSE(a.icmp.solicited);
  }
  peer_solicits_us(kSecond);
  feed(echo_request(), kSecond);
  EXPECT_EQ(sent().size(), 1u) << "answered now";
  EXPECT_EQ(count(base::Counter::nd_dad_duplicate), 0u);
}

TEST_F(Ipv6InputTest, AnotherNodesProbeForOurTentativeAddressMakesItADuplicateNeverUsed) {
  engine_->start(0);
  sent();
  feed(from_peer(net::multicast_mac(kOur.solicited_node()),
                 ipv6_datagram(net::Ipv6Addr{}, kOur.solicited_node(), net::kIpProtoIcmpv6,
                               icmpv6_message(net::Ipv6Addr{}, kOur.solicited_node(),
                                              net::kIcmpv6NeighbourSolicit, ns_body(kOur, false)),
                               255)),
       kSecond / 2);
  EXPECT_TRUE(sent().empty()) << "a tentative address is not defended";
  EXPECT_EQ(count(base::Counter::nd_dad_duplicate), 1u);
  engine_->poll(kSecond);
  const auto adverts = ipv6_of(sent());
  ASSERT_EQ(adverts.size(), 1u) << "only the link-local address is ours";
  EXPECT_EQ(adverts[0].icmp.target, engine_->ipv6_addrs().link_local());
  feed(echo_request(), 2 * kSecond);
  EXPECT_EQ(count(base::Counter::drop_ipv6_not_for_us), 1u);
  EXPECT_FALSE(engine_->ipv6_addrs().owns(kOur));
}

TEST_F(Ipv6InputTest, AnAdvertisementForOurTentativeAddressMakesItADuplicate) {
  engine_->start(0);
  sent();
  Frame body(32);
  body.resize(net::write_na_body(body.data(), kOur, kPeerMac.bytes, false, false, true));
  feed(from_peer(
           net::multicast_mac(net::kIpv6AllNodes),
           ipv6_datagram(
               kOur, net::kIpv6AllNodes, net::kIpProtoIcmpv6,
               icmpv6_message(kOur, net::kIpv6AllNodes, net::kIcmpv6NeighbourAdvert, body), 255)),
       kSecond / 2);
  EXPECT_EQ(count(base::Counter::nd_dad_duplicate), 1u);
  engine_->poll(kSecond);
  EXPECT_EQ(ipv6_of(sent()).size(), 1u);
  EXPECT_FALSE(engine_->ipv6_addrs().owns(kOur));
}

TEST_F(Ipv6InputTest, OurOwnProbeLoopedBackIsNotADuplicate) {
  engine_->start(0);
  for (const Frame& f : sent())
    if (f[12] == 0x86) feed(f, 1);
  EXPECT_EQ(count(base::Counter::drop_nd_looped), 2u);
  EXPECT_EQ(count(base::Counter::nd_dad_duplicate), 0u);
  engine_->poll(kSecond);
  EXPECT_EQ(ipv6_of(sent()).size(), 2u);
}

TEST_F(Ipv6InputTest, ASolicitationThatCrossedARouterDoesNotFailDad) {
  // RFC 4861 7.1.1 / RFC 4862 5.4: only hop limit 255 counts.
  engine_->start(0);
  sent();
  feed(from_peer(net::multicast_mac(kOur.solicited_node()),
                 ipv6_datagram(net::Ipv6Addr{}, kOur.solicited_node(), net::kIpProtoIcmpv6,
                               icmpv6_message(net::Ipv6Addr{}, kOur.solicited_node(),
                                              net::kIcmpv6NeighbourSolicit, ns_body(kOur, false)),
                               64)),
       kSecond / 2);
  EXPECT_EQ(count(base::Counter::drop_icmpv6_bad_nd), 1u);
  EXPECT_EQ(count(base::Counter::nd_dad_duplicate), 0u);
}


// --- Multicast listener reports (RFC 3810 6, host side) ----------------------------------
// A switch that snoops MLD forwards a group's frames only to ports that reported it: without
// reports, another node's solicitation for our address would never reach us on such a link.

// A router's query (RFC 3810 5.1, 28 bytes: MLDv2's), from `src` with `hop_limit`, for
// `group` (unspecified: a general query), answerable within `max_response_ms`.
Frame mld_query(const net::Ipv6Addr& src, const net::Ipv6Addr& group, uint16_t max_response_ms,
                uint8_t hop_limit = 1) {
  Frame body(24, 0);
  net::store_be16(body.data(), max_response_ms);
  std::copy(group.bytes.begin(), group.bytes.end(), body.begin() + 4);
  const net::Ipv6Addr dst = group.is_unspecified() ? net::kIpv6AllNodes : group;
  return pollux::testing::eth_frame(
      net::multicast_mac(dst), kPeerMac, 0x86dd,
      ipv6_datagram(src, dst, net::kIpProtoIcmpv6,
                    icmpv6_message(src, dst, net::kIcmpv6MldQuery, body), hop_limit));
}

// The groups an MLDv2 report lists, each with its record type (RFC 3810 5.2).
std::vector<std::pair<uint8_t, net::Ipv6Addr>> mld_records(const Sent& s) {
  std::vector<std::pair<uint8_t, net::Ipv6Addr>> out;
  const net::Bytes b = s.icmp.body;
  EXPECT_GE(b.size(), 4u);
  const size_t n = net::load_be16(b.data() + 2);
  EXPECT_EQ(b.size(), 4 + 20 * n) << "no sources, no auxiliary data";
  for (size_t i = 0; i < n && 4 + 20 * (i + 1) <= b.size(); ++i) {
    const uint8_t* r = b.data() + 4 + 20 * i;
    EXPECT_EQ(r[1], 0);
    EXPECT_EQ(net::load_be16(r + 2), 0);
    net::Ipv6Addr g;
    std::copy(r + 4, r + 20, g.bytes.begin());
    out.emplace_back(r[0], g);
  }
  return out;
}

void expect_mld_report_shape(const Sent& s) {
  EXPECT_EQ(s.icmp.type, net::kIcmpv6MldV2Report);
  EXPECT_EQ(s.ip.dst, net::kIpv6AllMldv2Routers);
  EXPECT_EQ(s.eth_dst, net::multicast_mac(net::kIpv6AllMldv2Routers));
  EXPECT_EQ(s.ip.hop_limit, 1) << "RFC 3810 5: never forwarded";
  EXPECT_TRUE(s.ip.router_alert) << "RFC 3810 5: a hop-by-hop Router Alert";
}

class Ipv6MldTest : public Ipv6InputTest {
 protected:
  void start_with_mld(uint8_t dad_probes) {
    cfg_.mld = true;
    cfg_.dad_probes = dad_probes;
    start_engine(cfg_);
    engine_->start(0);
  }
  std::vector<Sent> reports(const std::vector<Frame>& frames) {
    std::vector<Sent> out;
    for (const Sent& s : ipv6_of(frames))
      if (s.icmp.type == net::kIcmpv6MldV2Report) out.push_back(s);
    return out;
  }
  net::Ipv6Addr ll_group() const { return engine_->ipv6_addrs().link_local().solicited_node(); }
  const net::Ipv6Addr kRouter = *net::Ipv6Addr::parse("fe80::1");
};

TEST_F(Ipv6MldTest, StartJoinsTheSolicitedNodeGroupsBeforeProbingThenOnceMoreASecondLater) {
  start_with_mld(1);
  const auto frames = sent();  // the decoded messages' bodies point into these
  const auto first = ipv6_of(frames);
  ASSERT_EQ(first.size(), 3u) << "one report, then the two DAD probes";
  expect_mld_report_shape(first[0]);
  EXPECT_TRUE(first[0].ip.src.is_unspecified()) << "RFC 3590 4: the link-local is tentative";
  using R = std::vector<std::pair<uint8_t, net::Ipv6Addr>>;
  EXPECT_EQ(mld_records(first[0]), (R{{net::kMldChangeToExclude, ll_group()},
                                      {net::kMldChangeToExclude, kOur.solicited_node()}}));
  EXPECT_EQ(first[1].icmp.type, net::kIcmpv6NeighbourSolicit);
  EXPECT_EQ(first[2].icmp.type, net::kIcmpv6NeighbourSolicit);

  engine_->poll(kSecond - 1);
  EXPECT_TRUE(sent().empty());
  engine_->poll(kSecond);  // DAD over: the adverts; the join's repeat, from the link-local now
  const auto frames2 = sent();
  const auto again = reports(frames2);
  ASSERT_EQ(again.size(), 1u);
  expect_mld_report_shape(again[0]);
  EXPECT_EQ(again[0].ip.src, engine_->ipv6_addrs().link_local());
  EXPECT_EQ(mld_records(again[0]), mld_records(first[0]));
  engine_->poll(10 * kSecond);
  EXPECT_TRUE(sent().empty()) << "two joins (RFC 3810 6.1's robustness 2), no more";
  EXPECT_EQ(count(base::Counter::mld_reports_sent), 2u);
}

TEST_F(Ipv6MldTest, AGeneralQueryIsAnsweredWithEveryGroupWithinItsMaximumResponseDelay) {
  start_with_mld(0);
  engine_->poll(kSecond);
  sent();
  feed(mld_query(kRouter, net::Ipv6Addr{}, 500), 2 * kSecond);
  EXPECT_TRUE(sent().empty()) << "the answer waits a random part of the delay";
  EXPECT_EQ(count(base::Counter::mld_queries_received), 1u);
  engine_->poll(2 * kSecond + kSecond / 2);
  const auto frames = sent();
  const auto answer = reports(frames);
  ASSERT_EQ(answer.size(), 1u);
  expect_mld_report_shape(answer[0]);
  EXPECT_EQ(answer[0].ip.src, engine_->ipv6_addrs().link_local());
  using R = std::vector<std::pair<uint8_t, net::Ipv6Addr>>;
  EXPECT_EQ(mld_records(answer[0]), (R{{net::kMldModeIsExclude, ll_group()},
                                       {net::kMldModeIsExclude, kOur.solicited_node()}}));
  engine_->poll(10 * kSecond);
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::mld_reports_sent), 3u);
}

TEST_F(Ipv6MldTest, AQueryForOneOfOurGroupsIsAnsweredForThatGroupAloneAndOneForAnotherNot) {
  start_with_mld(0);
  engine_->poll(kSecond);
  sent();
  feed(mld_query(kRouter, *net::Ipv6Addr::parse("ff02::1:ff12:3456"), 100), 2 * kSecond);
  engine_->poll(3 * kSecond);
  EXPECT_TRUE(sent().empty()) << "not a group of ours";
  EXPECT_EQ(count(base::Counter::mld_queries_received), 0u);
  feed(mld_query(kRouter, kOur.solicited_node(), 100), 3 * kSecond);
  engine_->poll(3 * kSecond + kSecond / 10);
  const auto frames = sent();
  const auto answer = reports(frames);
  ASSERT_EQ(answer.size(), 1u);
  using R = std::vector<std::pair<uint8_t, net::Ipv6Addr>>;
  EXPECT_EQ(mld_records(answer[0]), (R{{net::kMldModeIsExclude, kOur.solicited_node()}}));
}

TEST_F(Ipv6MldTest, AQueryNotFromALinkLocalRouterOrThatCrossedARouterIsDroppedAndCounted) {
  start_with_mld(0);
  engine_->poll(kSecond);
  sent();
  feed(mld_query(kPeer, net::Ipv6Addr{}, 100), 2 * kSecond);       // a global source
  feed(mld_query(kRouter, net::Ipv6Addr{}, 100, 2), 2 * kSecond);  // hop limit 2
  engine_->poll(3 * kSecond);
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::drop_icmpv6_bad_mld), 2u);
  EXPECT_EQ(count(base::Counter::mld_queries_received), 0u);
}

TEST_F(Ipv6InputTest, WithoutMldAQueryIsCountedAndLeftUnanswered) {
  engine_->start(0);
  engine_->poll(kSecond);
  sent();
  feed(mld_query(*net::Ipv6Addr::parse("fe80::1"), net::Ipv6Addr{}, 100), 2 * kSecond);
  engine_->poll(3 * kSecond);
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::icmpv6_other_received), 1u);
  EXPECT_EQ(count(base::Counter::mld_reports_sent), 0u);
}

}  // namespace
}  // namespace pollux::engine
