// TCP over IPv6 at the engine (issue 16): segments arrive through ipv6_input into the same
// TCP input as IPv4's and leave with an IPv6 header, the RFC 8200 8.1 pseudo-header checksum
// and hop limit 64, through the IPv6 neighbour cache. Exact frames in, exact frames out:
// a passive open, data both ways, the close, a closed port's RST (to a SYN Linux sent), and
// every refused segment counted. The engine is fd00:99::2 (02:00:00:00:00:0b), the peer
// fd00:99::1, as in tests/unit/net/linux_captures_v6.hpp.
#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../../support/frames.hpp"
#include "../../support/sharded_engines.hpp"
#include "../net/linux_captures_v6.hpp"
#include "engine/engine.hpp"
#include "engine_frames.hpp"
#include "net/checksum.hpp"
#include "net/icmpv6.hpp"
#include "net/ipv6.hpp"
#include "net/tcp_header.hpp"
#include "net/tcp_options.hpp"

namespace pollux::engine {
namespace {

using pollux::testing::Frame;
using pollux::testing::ipv6_datagram;
namespace cap = net::captures6;
namespace fl = net::tcp_flags;

const net::MacAddr kOurMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0b}};
const net::MacAddr kPeerMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0a}};
const net::Ipv6Addr kOur = *net::Ipv6Addr::parse("fd00:99::2");
const net::Ipv6Addr kPeer = *net::Ipv6Addr::parse("fd00:99::1");
constexpr uint16_t kPort = 80;
constexpr uint16_t kPeerPort = 40000;
constexpr net::Seq kPeerIss{7000};

// What the engine sent, decoded, each check of its IPv6 and TCP framing already made.
struct Sent {
  net::TcpHeader tcp;
  net::TcpOptions opts;
  std::string payload;
};

class Tcp6Test : public EngineFrames {
 protected:
  void SetUp() override {
    make_pool(511);
    start();
  }
  // A fresh engine (with these SYN-filter rules), the peer already a neighbour.
  void start(std::initializer_list<SynRule> rules = {}) {
    EngineConfig c;
    c.iface.mac = kOurMac;
    c.iface.addrs = {net::Ipv4Prefix{net::make_ipv4(10, 0, 0, 2), 24}};
    c.iface.addrs6 = {net::Ipv6Prefix{kOur, 64}};
    c.iface.offloads.rx_gro = gro_;
    for (const SynRule& r : rules) EXPECT_TRUE(c.tcp.syn_filter.add(r));
    start_engine(c);
    // The peer's solicitation (with its link-layer address) leaves a neighbour entry, so
    // what we send goes out at once (RFC 4861 7.2.3); its advertisement is not looked at.
    Frame ns(32);
    ns.resize(net::write_ns_body(ns.data(), kOur, kPeerMac.bytes));
    const net::Ipv6Addr group = kOur.solicited_node();
    feed(pollux::testing::eth_frame(
        net::multicast_mac(group), kPeerMac, 0x86dd,
        ipv6_datagram(
            kPeer, group, net::kIpProtoIcmpv6,
            pollux::testing::icmpv6_message(kPeer, group, net::kIcmpv6NeighbourSolicit, ns), 255)));
    ASSERT_EQ(sent().size(), 1u);  // the advertisement
  }
  void TearDown() override { expect_pool_whole(); }

  // A segment from the peer with a correct checksum (src/dst may be changed by the caller).
  static Frame segment(const net::TcpBuild& b, const std::string& payload = {},
                       const net::TcpOptions* o = nullptr, const net::Ipv6Addr& src = kPeer,
                       const net::Ipv6Addr& dst = kOur) {
    return pollux::testing::eth_frame(
        kOurMac, kPeerMac, 0x86dd,
        ipv6_datagram(
            src, dst, net::kIpProtoTcp,
            pollux::testing::tcp6_segment(src, dst, b, o, Frame(payload.begin(), payload.end()))));
  }
  static net::TcpBuild peer(net::Seq seq, net::Seq ack, uint8_t flags, uint16_t dport = kPort) {
    net::TcpBuild b;
    b.src_port = kPeerPort;
    b.dst_port = dport;
    b.seq = seq;
    b.ack = ack;
    b.flags = flags;
    b.window = 65535;
    return b;
  }

  // Every frame sent, checked as an IPv6 TCP segment from us to the peer: Ethernet to the
  // peer's MAC, version 6, no extension headers, next header 6, hop limit 64, payload
  // length exact, addresses ours -> the peer's, and a TCP checksum that verifies over the
  // RFC 8200 8.1 pseudo-header.
  std::vector<Sent> sent_segments(uint16_t peer_port = kPeerPort) {
    std::vector<Sent> out;
    for (const Frame& f : sent()) {
      EXPECT_GE(f.size(), 14u + 40u + 20u);
      EXPECT_TRUE(std::equal(kPeerMac.bytes.begin(), kPeerMac.bytes.end(), f.begin()));
      EXPECT_TRUE(std::equal(kOurMac.bytes.begin(), kOurMac.bytes.end(), f.begin() + 6));
      EXPECT_EQ(net::load_be16(f.data() + 12), 0x86dd);
      net::Ipv6Header ip;
      EXPECT_EQ(net::parse_ipv6({f.data() + 14, f.size() - 14}, ip), net::Ipv6Error::ok);
      EXPECT_EQ(ip.next_header, net::kIpProtoTcp);
      EXPECT_EQ(ip.extension_headers, 0u);
      EXPECT_EQ(ip.hop_limit, 64);
      EXPECT_EQ(ip.payload_len, f.size() - 14 - 40);
      EXPECT_EQ(ip.src, kOur);
      EXPECT_EQ(ip.dst, kPeer);
      EXPECT_EQ(net::ipv6_l4_checksum(ip.src, ip.dst, net::kIpProtoTcp, ip.upper), 0)
          << "TCP checksum over the IPv6 pseudo-header";
      Sent s;
      EXPECT_EQ(net::parse_tcp(ip.upper, s.tcp), net::TcpHeaderError::ok);
      EXPECT_EQ(net::parse_tcp_options(s.tcp.options, s.opts), net::TcpOptError::ok);
      EXPECT_EQ(s.tcp.dst_port, peer_port);
      s.payload.assign(ip.upper.begin() + s.tcp.header_len, ip.upper.end());
      out.push_back(s);
    }
    return out;
  }

  // The application: echoes what it reads, closes when the peer has.
  static void on_accepted(void* ctx, Conn* c) { static_cast<Tcp6Test*>(ctx)->conn_ = c; }
  static void on_readable(void* ctx, Conn* c) {
    auto* self = static_cast<Tcp6Test*>(ctx);
    uint8_t buf[256];
    if (!self->echo_) {  // a sink: reads everything, answers nothing
      while (const size_t n = self->engine_->tcp().read(c, buf, sizeof buf))
        self->read_.append(reinterpret_cast<char*>(buf), n);
      return;
    }
    const size_t n = self->engine_->tcp().read(c, buf, sizeof buf);
    self->read_.append(reinterpret_cast<char*>(buf), n);
    (void)self->engine_->tcp().send(c, {buf, n});
  }
  static void on_peer_closed(void* ctx, Conn* c) {
    static_cast<Tcp6Test*>(ctx)->engine_->tcp().close(c);
  }
  static void on_closed(void* ctx, Conn*, CloseReason) { ++static_cast<Tcp6Test*>(ctx)->closed_; }
  static constexpr AppEvents kEvents{on_accepted, nullptr,        on_readable,
                                     nullptr,     on_peer_closed, on_closed};

  Conn* conn_ = nullptr;
  std::string read_;
  int closed_ = 0;
  bool gro_ = false;  // the port has software GRO (a device without LRO: net_tap)
  bool echo_ = true;  // the application echoes what it reads (else it only reads)
};

TEST_F(Tcp6Test, APassiveOpenCarriesDataBothWaysAndClosesOverIpv6) {
  ASSERT_EQ(engine_->tcp().listen(kPort, &kEvents, this), TcpError::ok);
  net::TcpOptions syn_opts;
  syn_opts.has_mss = true;
  syn_opts.mss = 1440;
  feed(segment(peer(kPeerIss, net::Seq(0), fl::syn), {}, &syn_opts));
  // SYN-ACK: MSS = MTU 1500 - 40 (IPv6 header) - 20 (TCP header), RFC 8200 8.3.
  auto out = sent_segments();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].tcp.flags, fl::syn | fl::ack);
  EXPECT_EQ(out[0].tcp.src_port, kPort);
  EXPECT_EQ(out[0].tcp.ack, kPeerIss + 1);
  ASSERT_TRUE(out[0].opts.has_mss);
  EXPECT_EQ(out[0].opts.mss, 1440);
  const net::Seq iss = out[0].tcp.seq;
  const net::FourTuple tuple{kOur, kPeer, kPort, kPeerPort};
  EXPECT_EQ(engine_->tcp().state_of(tuple), tcp::State::syn_received);

  feed(segment(peer(kPeerIss + 1, iss + 1, fl::ack)));
  EXPECT_TRUE(sent().empty());
  ASSERT_NE(conn_, nullptr);
  EXPECT_EQ(engine_->tcp().state_of(tuple), tcp::State::established);

  // Data in; the application echoes it: one segment with the data and the ACK of ours.
  feed(segment(peer(kPeerIss + 1, iss + 1, fl::ack | fl::psh), "ping\n"));
  EXPECT_EQ(read_, "ping\n");
  out = sent_segments();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, "ping\n");
  EXPECT_EQ(out[0].tcp.seq, iss + 1);
  EXPECT_EQ(out[0].tcp.ack, kPeerIss + 6);

  // The peer's FIN (acknowledging the echo): the application closes, our FIN follows.
  feed(segment(peer(kPeerIss + 6, iss + 6, fl::fin | fl::ack)));
  out = sent_segments();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].tcp.flags, fl::fin | fl::ack);
  EXPECT_EQ(out[0].tcp.seq, iss + 6);
  EXPECT_EQ(out[0].tcp.ack, kPeerIss + 7);
  EXPECT_EQ(engine_->tcp().state_of(tuple), tcp::State::last_ack);
  feed(segment(peer(kPeerIss + 7, iss + 7, fl::ack)));
  EXPECT_EQ(engine_->tcp().state_of(tuple), tcp::State::closed);
  EXPECT_EQ(closed_, 1);
  EXPECT_EQ(engine_->tcp().connections(), 0u);
  EXPECT_EQ(count(base::Counter::drop_tcp_bad_checksum), 0u);
}

TEST_F(Tcp6Test, AnActiveOpenFromAnIpv6AddressCompletesTheHandshake) {
  TcpError e = TcpError::ok;
  Conn* c = engine_->tcp().connect(kOur, kPeer, kPeerPort, &kEvents, this, kPort, {}, e, 0);
  ASSERT_NE(c, nullptr) << static_cast<int>(e);
  engine_->poll(0);
  auto out = sent_segments();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].tcp.flags, fl::syn);
  EXPECT_EQ(out[0].tcp.src_port, kPort);
  ASSERT_TRUE(out[0].opts.has_mss);
  EXPECT_EQ(out[0].opts.mss, 1440);
  const net::Seq iss = out[0].tcp.seq;
  net::TcpBuild synack = peer(kPeerIss, iss + 1, fl::syn | fl::ack);
  synack.src_port = kPeerPort;
  synack.dst_port = kPort;
  feed(segment(synack));
  out = sent_segments();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].tcp.flags, fl::ack);
  EXPECT_EQ(out[0].tcp.seq, iss + 1);
  EXPECT_EQ(out[0].tcp.ack, kPeerIss + 1);
  EXPECT_EQ(engine_->tcp().state_of(net::FourTuple{kOur, kPeer, kPort, kPeerPort}),
            tcp::State::established);
  // Mixed families are refused.
  EXPECT_EQ(
      engine_->tcp().connect(net::make_ipv4(10, 0, 0, 2), kPeer, 7, &kEvents, this, 0, {}, e, 0),
      nullptr);
  EXPECT_EQ(e, TcpError::invalid);
  engine_->tcp().abort(c);
  (void)sent();
}

// A TCB's key holds an IPv4 tuple inline and an IPv6 one's addresses in the layer's array at
// the TCB's slot (base::FlowLink, issue 13 item 5). Both families with the same ports are
// different connections; an IPv6 slot given back and lent again carries the new addresses,
// nothing of the old ones.
TEST_F(Tcp6Test, AnIpv6AndAnIpv4ConnectionWithTheSamePortsCoexistAndAnIpv6SlotIsReusedCleanly) {
  tcp::TcpLayer& tcp = engine_->tcp();
  const net::Ipv4Addr our4 = net::make_ipv4(10, 0, 0, 2), peer4 = net::make_ipv4(10, 0, 0, 1);
  const net::Ipv6Addr elsewhere = *net::Ipv6Addr::parse("fd00:99::7");
  TcpError e = TcpError::ok;
  // First an IPv6 connection to a peer that is not a neighbour yet (its SYN waits for ND).
  Conn* old6 = tcp.connect(kOur, elsewhere, kPeerPort, &kEvents, this, kPort, {}, e, 0);
  ASSERT_NE(old6, nullptr) << static_cast<int>(e);
  Conn* c4 = tcp.connect(our4, peer4, kPeerPort, &kEvents, this, kPort, {}, e, 0);
  ASSERT_NE(c4, nullptr) << static_cast<int>(e);
  engine_->poll(0);
  (void)sent();  // the solicitation and the ARP request
  const net::FourTuple t4{our4, peer4, kPort, kPeerPort};
  const net::FourTuple old_t6{kOur, elsewhere, kPort, kPeerPort};
  EXPECT_EQ(tcp::TcpLayer::tuple(old6), old_t6);
  EXPECT_EQ(tcp::TcpLayer::tuple(c4), t4);
  EXPECT_EQ(tcp.state_of(old_t6), tcp::State::syn_sent);
  EXPECT_EQ(tcp.state_of(t4), tcp::State::syn_sent);
  EXPECT_EQ(tcp.connections(), 2u);

  // Given back; the next connection takes the same TCB (the pool lends the last one given
  // back first) and so the same IPv6 slot, now for kPeer.
  tcp.abort(old6);
  engine_->poll(0);
  (void)sent();
  EXPECT_EQ(tcp.state_of(old_t6), tcp::State::closed);
  Conn* c6 = tcp.connect(kOur, kPeer, kPeerPort, &kEvents, this, kPort, {}, e, 0);
  ASSERT_EQ(c6, old6) << "the same TCB, so the same slot of the IPv6 array";
  const net::FourTuple t6{kOur, kPeer, kPort, kPeerPort};
  EXPECT_EQ(tcp::TcpLayer::tuple(c6), t6);
  EXPECT_EQ(tcp.state_of(t6), tcp::State::syn_sent);
  EXPECT_EQ(tcp.state_of(old_t6), tcp::State::closed);
  engine_->poll(0);
  // The SYN leaves from kOur to kPeer (sent_segments checks both addresses and the checksum
  // over them): the slot's old peer is gone.
  auto out = sent_segments();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].tcp.flags, fl::syn);
  const net::Seq iss = out[0].tcp.seq;
  feed(segment(peer(kPeerIss, iss + 1, fl::syn | fl::ack)));
  out = sent_segments();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].tcp.flags, fl::ack);
  EXPECT_EQ(tcp.state_of(t6), tcp::State::established);
  // The IPv4 connection with the same ports is still its own.
  EXPECT_EQ(tcp.state_of(t4), tcp::State::syn_sent);
  EXPECT_EQ(tcp::TcpLayer::tuple(c4), t4);
  EXPECT_EQ(tcp.connections(), 2u);
  tcp.abort(c6);
  tcp.abort(c4);
  engine_->poll(0);
  (void)sent();
  EXPECT_EQ(tcp.connections(), 0u);
}

// connect() refuses a peer the input path would drop as a martian source (the same
// predicate, IpAddr::is_unicast_peer): nothing is sent, nothing is held.
TEST_F(Tcp6Test, ConnectRefusesAPeerWhoseSegmentsWouldBeDroppedAsMartians) {
  const net::IpAddr our4 = net::make_ipv4(10, 0, 0, 2);
  const std::vector<std::pair<net::IpAddr, net::IpAddr>> bad{
      {kOur, *net::Ipv6Addr::parse("::1")},     {kOur, *net::Ipv6Addr::parse("::10.0.0.1")},
      {kOur, *net::Ipv6Addr::parse("ff02::1")}, {kOur, net::Ipv6Addr{}},
      {our4, net::make_ipv4(127, 0, 0, 1)},     {our4, net::make_ipv4(0, 1, 2, 3)},
      {our4, net::make_ipv4(240, 0, 0, 1)},     {our4, net::make_ipv4(255, 255, 255, 255)},
      {our4, net::make_ipv4(224, 0, 0, 1)}};
  for (const auto& [local, remote] : bad) {
    TcpError e = TcpError::ok;
    EXPECT_EQ(engine_->tcp().connect(local, remote, 80, &kEvents, this, 0, {}, e, 0), nullptr)
        << remote.to_string();
    EXPECT_EQ(e, TcpError::invalid) << remote.to_string();
  }
  engine_->poll(0);
  EXPECT_TRUE(sent().empty());
  // The same peers' segments are dropped on the way in: ::1 as a source, counted.
  net::TcpBuild syn = peer(kPeerIss, net::Seq(0), fl::syn);
  feed(pollux::testing::eth_frame(
      kOurMac, kPeerMac, 0x86dd,
      ipv6_datagram(*net::Ipv6Addr::parse("::1"), kOur, net::kIpProtoTcp,
                    pollux::testing::tcp6_segment(*net::Ipv6Addr::parse("::1"), kOur, syn))));
  EXPECT_EQ(count(base::Counter::drop_ipv6_bad_source), 1u);
  // A link-local peer is a peer.
  TcpError e = TcpError::ok;
  Conn* c = engine_->tcp().connect(kOur, *net::Ipv6Addr::parse("fe80::1"), 80, &kEvents, this, 0,
                                   {}, e, 0);
  EXPECT_NE(c, nullptr) << static_cast<int>(e);
  if (c) engine_->tcp().abort(c);
  (void)sent();
}

TEST_F(Tcp6Test, LinuxsSynToAClosedPortDrawsAnRstAckOverIpv6) {
  // Linux's SYN from [fd00:99::1]:42294 to port 5000, where nothing listens (RFC 9293
  // 3.10.7.1: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>).
  feed(Frame(std::begin(cap::kTcp6Syn), std::end(cap::kTcp6Syn)));
  const auto out = sent_segments(42294);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].tcp.flags, fl::rst | fl::ack);
  EXPECT_EQ(out[0].tcp.src_port, 5000);
  EXPECT_EQ(out[0].tcp.seq, net::Seq(0));
  EXPECT_EQ(out[0].tcp.ack, net::Seq(0x62ddd43fu));
  EXPECT_EQ(out[0].tcp.header_len, 20u);
  EXPECT_TRUE(out[0].payload.empty());
  EXPECT_EQ(count(base::Counter::tcp_rst_sent), 1u);
}

TEST_F(Tcp6Test, ABadChecksumAndStraySegmentsAreCountedDropsWithoutAnswer) {
  ASSERT_EQ(engine_->tcp().listen(5000, &kEvents, this), TcpError::ok);
  // Linux's SYN with one TCP checksum byte changed.
  Frame bad(std::begin(cap::kTcp6Syn), std::end(cap::kTcp6Syn));
  bad[14 + 40 + 16] ^= 0x01;
  feed(bad);
  EXPECT_EQ(count(base::Counter::drop_tcp_bad_checksum), 1u);
  // The same SYN is right for the IPv4 pseudo-header only: still wrong over IPv6.
  const net::TcpBuild syn = peer(kPeerIss, net::Seq(0), fl::syn, 5000);
  Frame v4sum = segment(syn);
  const Frame v4seg =
      pollux::testing::tcp_segment(net::make_ipv4(10, 0, 0, 1), net::make_ipv4(10, 0, 0, 2), syn);
  std::copy(v4seg.begin(), v4seg.end(), v4sum.begin() + 14 + 40);
  feed(v4sum);
  EXPECT_EQ(count(base::Counter::drop_tcp_bad_checksum), 2u);
  // An IPv4-mapped source (RFC 4291 2.5.5.2) would pass for an IPv4 peer: refused.
  feed(segment(syn, {}, nullptr, *net::Ipv6Addr::parse("::ffff:10.0.0.1")));
  EXPECT_EQ(count(base::Counter::drop_ipv6_bad_source), 1u);
  // TCP to a multicast group is nobody's connection.
  feed(segment(syn, {}, nullptr, kPeer, net::kIpv6AllNodes));
  EXPECT_EQ(count(base::Counter::drop_ipv6_not_for_us), 1u);
  // A truncated header.
  Frame runt = pollux::testing::eth_frame(
      kOurMac, kPeerMac, 0x86dd, ipv6_datagram(kPeer, kOur, net::kIpProtoTcp, Frame(12, 0)));
  feed(runt);
  EXPECT_EQ(count(base::Counter::drop_tcp_malformed), 1u);
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(engine_->tcp().connections(), 0u);
  EXPECT_EQ(conn_, nullptr);
}

// --- Martian sources (RFC 4291 2.5, RFC 6890): each dropped at ipv6_input and counted -------

TEST_F(Tcp6Test, ASynFromAnAddressNoPeerCanHoldIsDroppedAsABadSourceAndCounted) {
  ASSERT_EQ(engine_->tcp().listen(kPort, &kEvents, this), TcpError::ok);
  const net::TcpBuild syn = peer(kPeerIss, net::Seq(0), fl::syn);
  const char* martians[] = {
      "::",               // unspecified: only a node probing for its address (ICMPv6) sends it
      "::1",              // loopback
      "ff02::1",          // multicast
      "::ffff:10.0.0.1",  // IPv4-mapped: would pass for an IPv4 peer
      "::10.0.0.1",       // IPv4-compatible, deprecated (RFC 4291 2.5.5.1)
      "fd00:99::2",       // our own address (LAND)
  };
  uint64_t n = 0;
  for (const char* text : martians) {
    const net::Ipv6Addr src = *net::Ipv6Addr::parse(text);
    feed(segment(syn, {}, nullptr, src));
    EXPECT_EQ(count(base::Counter::drop_ipv6_bad_source), ++n) << "source " << text;
  }
  EXPECT_TRUE(sent().empty()) << "no SYN-ACK, no RST";
  EXPECT_EQ(engine_->tcp().connections(), 0u);
  EXPECT_EQ(count(base::Counter::tcp_passive_opens), 0u);
  // The same SYN from the peer is answered: the drops were the sources'.
  feed(segment(syn));
  EXPECT_EQ(sent_segments().size(), 1u);
}

// --- The inbound-SYN filter over IPv6 (pollux/syn_filter.hpp) ------------------------------

const Ipv6Prefix kPeerNet6{*net::Ipv6Addr::parse("fd00:99::"), 64};
constexpr net::Ipv4Prefix kAnyV4{net::make_ipv4(0, 0, 0, 0), 0};

TEST_F(Tcp6Test, AnIpv6DenyRuleDropsAMatchingSynSilentlyAndCountsIt) {
  start({SynRule::v6(kPeerNet6, 0, false)});
  ASSERT_EQ(engine_->tcp().listen(kPort, &kEvents, this), TcpError::ok);
  feed(segment(peer(kPeerIss, net::Seq(0), fl::syn)));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::drop_tcp_syn_filtered), 1u);
  EXPECT_EQ(engine_->tcp().connections(), 0u);
}

TEST_F(Tcp6Test, AnIpv6RuleForAnotherPortOrPrefixLeavesTheSynAccepted) {
  start({SynRule::v6(kPeerNet6, 22, false),
         SynRule::v6(Ipv6Prefix{*net::Ipv6Addr::parse("fd00:98::"), 64}, 0, false)});
  ASSERT_EQ(engine_->tcp().listen(kPort, &kEvents, this), TcpError::ok);
  feed(segment(peer(kPeerIss, net::Seq(0), fl::syn)));
  const auto out = sent_segments();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].tcp.flags, fl::syn | fl::ack);
  EXPECT_EQ(count(base::Counter::drop_tcp_syn_filtered), 0u);
}

TEST_F(Tcp6Test, AnIpv4AllowListRefusesEveryIpv6Syn) {
  // --allow 10.0.0.0/8 --deny 0.0.0.0/0: IPv6 has no rules, IPv4's contain an allow.
  start({{net::Ipv4Prefix{net::make_ipv4(10, 0, 0, 0), 8}, 0, true}, {kAnyV4, 0, false}});
  ASSERT_EQ(engine_->tcp().listen(kPort, &kEvents, this), TcpError::ok);
  feed(segment(peer(kPeerIss, net::Seq(0), fl::syn)));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::drop_tcp_syn_filtered), 1u);
}

TEST_F(Tcp6Test, AnIpv4DenyOnlyListLeavesIpv6Accepted) {
  start({{kAnyV4, 0, false}});
  ASSERT_EQ(engine_->tcp().listen(kPort, &kEvents, this), TcpError::ok);
  feed(segment(peer(kPeerIss, net::Seq(0), fl::syn)));
  EXPECT_EQ(sent_segments().size(), 1u);
  EXPECT_EQ(count(base::Counter::drop_tcp_syn_filtered), 0u);
}

// --- GRO over IPv6 (gro.hpp) ---------------------------------------------------------------
// On a device without LRO (net_tap, af_packet) a run of one connection's in-order IPv6
// segments within a burst becomes one frame: TCP takes it in one input, and RFC 5681 4.2's
// "an ACK for at least every second full-sized segment" counts the frame's bytes. As
// tests/fixture/gro_test.cpp for IPv4 (the fixture speaks IPv4 only).

class Tcp6GroTest : public Tcp6Test {
 protected:
  static constexpr uint32_t kSeg = 1440;  // a full segment: MTU 1500 - 40 - 20, no options

  virtual bool port_has_gro() const { return true; }
  void SetUp() override {
    make_pool(511);
    gro_ = port_has_gro();
    echo_ = false;
    start();
    ASSERT_EQ(engine_->tcp().listen(kPort, &kEvents, this), TcpError::ok);
    net::TcpOptions syn_opts;
    syn_opts.has_mss = true;
    syn_opts.mss = 1440;
    feed(segment(peer(kPeerIss, net::Seq(0), fl::syn), {}, &syn_opts));
    const auto synack = sent_segments();
    ASSERT_EQ(synack.size(), 1u);
    iss_ = synack[0].tcp.seq;
    feed(segment(peer(kPeerIss + 1, iss_ + 1, fl::ack)));
    ASSERT_NE(conn_, nullptr);
  }
  // The peer's data segment i of `len` octets after the handshake.
  net::TcpBuild data(uint32_t i, uint32_t len = kSeg, uint8_t flags = fl::ack) const {
    return peer(kPeerIss + 1 + i * len, iss_ + 1, flags);
  }
  static std::string bytes(uint32_t i, uint32_t len = kSeg) {
    std::string s(len, 'a');
    for (uint32_t k = 0; k < len; ++k) s[k] = static_cast<char>('a' + (i * len + k) % 26);
    return s;
  }
  Frame data_frame(uint32_t i, uint32_t len = kSeg, uint8_t flags = fl::ack) const {
    return segment(data(i, len, flags), bytes(i, len));
  }
  // Segment i behind a destination options header (RFC 8200 4.6) holding one PadN option.
  Frame with_destination_options(uint32_t i) const {
    const std::string payload = bytes(i);
    const Frame tcp = pollux::testing::tcp6_segment(kPeer, kOur, data(i), nullptr,
                                                    Frame(payload.begin(), payload.end()));
    // Sized once and filled (g++ 12 misreads growing an 8-byte vector as -Warray-bounds).
    const uint8_t options[8] = {net::kIpProtoTcp, 0, 1, 4, 0, 0, 0, 0};  // 8 octets, PadN(4)
    Frame upper(sizeof options + tcp.size());
    std::copy(std::begin(options), std::end(options), upper.begin());
    std::copy(tcp.begin(), tcp.end(), upper.begin() + sizeof options);
    return pollux::testing::eth_frame(kOurMac, kPeerMac, 0x86dd,
                                      ipv6_datagram(kPeer, kOur, 60, upper));
  }
  // One burst, as the device hands it over.
  void feed_burst(const std::vector<Frame>& fs, uint64_t now = 0) {
    std::vector<rte_mbuf*> ms;
    for (const Frame& f : fs) {
      ms.push_back(pollux::testing::to_mbuf(pool_.get(), f));
      ASSERT_NE(ms.back(), nullptr);
      ms.back()->ol_flags = 0;
    }
    engine_->input(ms.data(), static_cast<uint16_t>(ms.size()), now);
  }
  std::string expected(uint32_t from, uint32_t n, uint32_t len = kSeg) const {
    std::string s;
    for (uint32_t i = from; i < from + n; ++i) s += bytes(i, len);
    return s;
  }
  // The one segment sent: a pure ACK of everything up to `ack`.
  void expect_one_ack(net::Seq ack) {
    const auto out = sent_segments();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.flags, fl::ack);
    EXPECT_EQ(out[0].tcp.ack, ack);
    EXPECT_TRUE(out[0].payload.empty());
  }

  net::Seq iss_{0};
};

TEST_F(Tcp6GroTest, FourInOrderIpv6SegmentsInOneBurstAreOneFrameAndOneAck) {
  feed_burst({data_frame(0), data_frame(1), data_frame(2), data_frame(3)});
  expect_one_ack(kPeerIss + 1 + 4 * kSeg);
  EXPECT_EQ(read_, expected(0, 4));
  EXPECT_EQ(count(base::Counter::gro_frames), 1u);
  EXPECT_EQ(count(base::Counter::gro_segments_merged), 3u);
  EXPECT_EQ(count(base::Counter::tcp_segs_in), 2u + 4u)
      << "a coalesced frame counts as its segments";
  EXPECT_EQ(count(base::Counter::drop_tcp_bad_checksum), 0u);
}

class Tcp6NoGroTest : public Tcp6GroTest {
 protected:
  bool port_has_gro() const override { return false; }
};

TEST_F(Tcp6NoGroTest, WithoutGroTheSameIpv6BurstIsFourInputsAndStillOneAck) {
  feed_burst({data_frame(0), data_frame(1), data_frame(2), data_frame(3)});
  expect_one_ack(kPeerIss + 1 + 4 * kSeg);
  EXPECT_EQ(read_, expected(0, 4));
  EXPECT_EQ(count(base::Counter::gro_frames), 0u);
  EXPECT_EQ(count(base::Counter::tcp_segs_in), 2u + 4u);
}

TEST_F(Tcp6GroTest, AnExtensionHeaderOrAnotherHopLimitOrFlowLabelEndsARun) {
  // Segment 1 behind a destination options header: the engine walks it, GRO leaves it.
  // Segment 4 with hop limit 63 and segment 6 with a flow label: another path or flow
  // (RFC 6437), not merged with their neighbours. Runs: {0} {1} {2, 3} {4} {5} {6} {7, 8}.
  Frame hop63 = data_frame(4);
  hop63[14 + 7] = 63;
  Frame labelled = data_frame(6);
  labelled[14 + 3] = 0x2a;  // flow label 0x0002a (the pseudo-header does not cover it)
  feed_burst({data_frame(0), with_destination_options(1), data_frame(2), data_frame(3), hop63,
              data_frame(5), labelled, data_frame(7), data_frame(8)});
  expect_one_ack(kPeerIss + 1 + 9 * kSeg);
  EXPECT_EQ(read_, expected(0, 9));
  EXPECT_EQ(count(base::Counter::gro_frames), 2u);  // {2, 3} and {7, 8}
  EXPECT_EQ(count(base::Counter::gro_segments_merged), 2u);
  EXPECT_EQ(count(base::Counter::drop_ipv6_malformed), 0u);
}

TEST_F(Tcp6GroTest, ABadChecksumEndsARunAndIsDroppedAndCountedAndTheRestIsHeldWithASack) {
  Frame bad = data_frame(2);
  bad.back() ^= 0xff;
  feed_burst({data_frame(0), data_frame(1), bad, data_frame(3), data_frame(4)});
  // RFC 5681 4.2 / RFC 2018: out-of-order data is acknowledged at once, with its SACK block
  // (the peer offered none: plain duplicate ACK).
  expect_one_ack(kPeerIss + 1 + 2 * kSeg);
  EXPECT_EQ(count(base::Counter::drop_tcp_bad_checksum), 1u);
  EXPECT_EQ(count(base::Counter::gro_frames), 2u);  // {0, 1} and {3, 4}
  EXPECT_EQ(read_, expected(0, 2));
  feed(data_frame(2));
  expect_one_ack(kPeerIss + 1 + 5 * kSeg);
  EXPECT_EQ(read_, expected(0, 5));
}

TEST_F(Tcp6GroTest, APushEndsAnIpv6RunAndTheNextRunStartsAfterIt) {
  feed_burst({data_frame(0), data_frame(1, kSeg, fl::ack | fl::psh), data_frame(2), data_frame(3)});
  expect_one_ack(kPeerIss + 1 + 4 * kSeg);
  EXPECT_EQ(count(base::Counter::gro_frames), 2u);  // {0, 1 PSH} and {2, 3}
  EXPECT_EQ(count(base::Counter::gro_segments_merged), 2u);
  EXPECT_EQ(read_, expected(0, 4));
}

// RFC 5681 4.2 in bytes: two small segments that together hold less than one full-sized
// segment are one frame of less than an MSS and wait for the delayed ACK; two that hold
// more draw an ACK at once.
TEST_F(Tcp6GroTest, TheEverySecondFullSegmentRuleCountsTheIpv6FramesBytes) {
  feed_burst({data_frame(0, 600), data_frame(1, 600)});
  EXPECT_TRUE(sent().empty());
  engine_->poll(tcp::TcpConfig{}.delayed_ack_ns);
  expect_one_ack(kPeerIss + 1 + 1200);
  const net::Seq at = kPeerIss + 1 + 1200;
  auto at_seg = [&](uint32_t off) {
    net::TcpBuild b = peer(at + off, iss_ + 1, fl::ack);
    return segment(b, std::string(1000, 'x'));
  };
  feed_burst({at_seg(0), at_seg(1000)}, tcp::TcpConfig{}.delayed_ack_ns);
  expect_one_ack(at + 2000);
  EXPECT_EQ(count(base::Counter::gro_frames), 2u);
  EXPECT_EQ(read_.size(), 3200u);
}

// --- Path MTU discovery over IPv6 (RFC 8201, RFC 4443 3.2, RFC 5927) ----------------------

// A router on the path to the peer, whose next link is smaller than ours.
const net::Ipv6Addr kRouter = *net::Ipv6Addr::parse("fd00:77::1");
const net::MacAddr kRouterMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0c}};

class Tcp6PmtuTest : public Tcp6Test {
 protected:
  // An established passive connection (the peer's MSS 1440, no timestamps: segments carry
  // 1440 bytes of data and no options) with `n` bytes of ours sent and unacknowledged.
  // Returns what was sent, as frames.
  std::vector<Frame> established_with_in_flight(size_t n) {
    EXPECT_EQ(engine_->tcp().listen(kPort, &kEvents, this), TcpError::ok);
    net::TcpOptions syn_opts;
    syn_opts.has_mss = true;
    syn_opts.mss = 1440;
    feed(segment(peer(kPeerIss, net::Seq(0), fl::syn), {}, &syn_opts));
    const auto synack = sent_segments();
    EXPECT_EQ(synack.size(), 1u);
    iss_ = synack.at(0).tcp.seq;
    feed(segment(peer(kPeerIss + 1, iss_ + 1, fl::ack)));
    EXPECT_NE(conn_, nullptr);
    // Nagle off (RFC 9293 3.7.4): the short tail leaves at once too, all of it in flight.
    engine_->tcp().set_nodelay(conn_, true);
    data_.resize(n);
    for (size_t i = 0; i < n; ++i) data_[i] = static_cast<char>('a' + i % 26);
    EXPECT_EQ(engine_->tcp().send(conn_, {reinterpret_cast<const uint8_t*>(data_.data()), n}), n);
    engine_->poll(0);
    return sent();
  }

  // The router's Packet Too Big reporting `mtu`, quoting `quoted` (an IPv6 packet, no
  // Ethernet) cut as RFC 4443 3.2 cuts it: the ICMPv6 message within 1280 bytes.
  static Frame packet_too_big(uint32_t mtu, const Frame& quoted) {
    const size_t keep = std::min<size_t>(quoted.size(), 1280 - 40 - 8);
    Frame body(4 + keep);
    net::store_be32(body.data(), mtu);
    std::copy(quoted.begin(), quoted.begin() + static_cast<std::ptrdiff_t>(keep), body.begin() + 4);
    return pollux::testing::eth_frame(
        kOurMac, kRouterMac, 0x86dd,
        ipv6_datagram(
            kRouter, kOur, net::kIpProtoIcmpv6,
            pollux::testing::icmpv6_message(kRouter, kOur, net::kIcmpv6PacketTooBig, body)));
  }
  // One of our segments as we sent it, without its Ethernet header.
  static Frame ip_packet(const Frame& eth) { return Frame(eth.begin() + 14, eth.end()); }
  // One of our segments with another sequence number / port (checksums do not matter to a
  // quote: RFC 4443 3.2 quotes may be cut anywhere).
  static Frame with_seq(Frame ip, net::Seq seq) {
    net::store_be32(ip.data() + 40 + 4, seq.v);
    return ip;
  }

  // The data of what was sent, in order, each packet no longer than `max_ip` bytes of IPv6
  // (header and payload), sequence numbers contiguous from `from`.
  std::string resent_data(size_t max_ip, net::Seq from, std::vector<size_t>* sizes = nullptr) {
    std::string got;
    const auto frames = sent();
    for (const Frame& f : frames) {
      EXPECT_LE(f.size() - 14, max_ip) << "an IPv6 packet above the path MTU";
      if (sizes) sizes->push_back(f.size() - 14);
    }
    for (const Frame& f : frames) {
      net::Ipv6Header ip;
      EXPECT_EQ(net::parse_ipv6({f.data() + 14, f.size() - 14}, ip), net::Ipv6Error::ok);
      net::TcpHeader tcp;
      EXPECT_EQ(net::parse_tcp(ip.upper, tcp), net::TcpHeaderError::ok);
      EXPECT_EQ(tcp.seq, from + static_cast<uint32_t>(got.size()));
      got.append(ip.upper.begin() + tcp.header_len, ip.upper.end());
    }
    return got;
  }

  net::Seq iss_{0};
  std::string data_;
};

TEST_F(Tcp6PmtuTest, APacketTooBigOf1400QuotingAnInFlightSegmentLowersTheMssTo1340) {
  const auto first = established_with_in_flight(4000);
  // 1440 + 1440 + 1120: full-sized packets of 1500 bytes (40 + 20 + 1440).
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0].size() - 14, 1500u);
  EXPECT_EQ(engine_->tcp().info(conn_).snd_mss, 1440u);

  feed(packet_too_big(1400, ip_packet(first[0])));
  EXPECT_EQ(count(base::Counter::icmpv6_packet_too_big_received), 1u);
  EXPECT_EQ(count(base::Counter::tcp_pmtu_updates), 1u);
  EXPECT_EQ(count(base::Counter::icmpv6_other_received), 0u);
  EXPECT_EQ(count(base::Counter::drop_icmpv6_bad_quote), 0u);
  EXPECT_EQ(count(base::Counter::drop_tcp_icmp_invalid), 0u);
  EXPECT_EQ(count(base::Counter::drop_ipv6_tcp_wrong_lcore), 0u);
  // RFC 8201 + RFC 8200 8.3: MSS = 1400 - 40 (IPv6) - 20 (TCP).
  EXPECT_EQ(engine_->tcp().info(conn_).snd_mss, 1340u);
  // Everything in flight is sent again at once, in packets of at most 1400 bytes:
  // 1340 + 1340 + 1320, the same bytes from SND.UNA.
  std::vector<size_t> sizes;
  EXPECT_EQ(resent_data(1400, iss_ + 1, &sizes), data_);
  EXPECT_EQ(sizes, (std::vector<size_t>{1400, 1400, 1380}));

  // New data after the peer acknowledged it all goes out at the new size too.
  feed(segment(peer(kPeerIss + 1, iss_ + 1 + 4000, fl::ack)));
  (void)sent();
  const std::string more(3000, 'z');
  ASSERT_EQ(
      engine_->tcp().send(conn_, {reinterpret_cast<const uint8_t*>(more.data()), more.size()}),
      more.size());
  engine_->poll(0);
  sizes.clear();
  EXPECT_EQ(resent_data(1400, iss_ + 1 + 4000, &sizes), more);
  EXPECT_EQ(sizes, (std::vector<size_t>{1400, 1400, 380}));
}

TEST_F(Tcp6PmtuTest, AnMtuBelow1280CountsAs1280AndAnMtuNotBelowOursIsIgnored) {
  const auto first = established_with_in_flight(3000);
  ASSERT_EQ(first.size(), 3u);
  // Our link's MTU (1500) and more are no news: counted, nothing changes or is sent.
  feed(packet_too_big(1500, ip_packet(first[1])));
  feed(packet_too_big(9000, ip_packet(first[1])));
  EXPECT_EQ(count(base::Counter::icmpv6_packet_too_big_received), 2u);
  EXPECT_EQ(count(base::Counter::tcp_pmtu_updates), 0u);
  EXPECT_EQ(engine_->tcp().info(conn_).snd_mss, 1440u);
  EXPECT_TRUE(sent().empty());
  // RFC 8201 4: never below the IPv6 minimum link MTU: 1000 is taken as 1280, MSS 1220.
  feed(packet_too_big(1000, ip_packet(first[1])));
  EXPECT_EQ(count(base::Counter::tcp_pmtu_updates), 1u);
  EXPECT_EQ(engine_->tcp().info(conn_).snd_mss, 1220u);
  std::vector<size_t> sizes;
  EXPECT_EQ(resent_data(1280, iss_ + 1, &sizes), data_);
  EXPECT_EQ(sizes, (std::vector<size_t>{1280, 1280, 620}));
  // A report of 0 (or anything under 1280) again: 1280 is no news now.
  feed(packet_too_big(0, ip_packet(first[0])));
  EXPECT_EQ(count(base::Counter::tcp_pmtu_updates), 1u);
  EXPECT_EQ(engine_->tcp().info(conn_).snd_mss, 1220u);
  EXPECT_TRUE(sent().empty());
}

TEST_F(Tcp6PmtuTest, AQuoteOfNoSegmentOfOursChangesNothingAndIsCounted) {
  const auto first = established_with_in_flight(3000);
  ASSERT_EQ(first.size(), 3u);
  const Frame ours = ip_packet(first[0]);

  // RFC 5927 4.1: a sequence number we never sent (beyond SND.MAX), and one already
  // acknowledged (below SND.UNA).
  feed(packet_too_big(1400, with_seq(ours, iss_ + 1 + 3000 + 100000)));
  feed(packet_too_big(1400, with_seq(ours, iss_)));
  EXPECT_EQ(count(base::Counter::drop_tcp_icmp_invalid), 2u);
  // Another connection: the peer's other port.
  Frame other = ours;
  net::store_be16(other.data() + 40 + 2, kPeerPort + 1);
  feed(packet_too_big(1400, other));
  EXPECT_EQ(count(base::Counter::drop_tcp_icmp_invalid), 3u);

  // Quotes that cannot be one of our segments, refused before TCP looks:
  // not TCP (UDP), an extension header first (ours carry none), cut before the sequence
  // number, not from our address (the peer's segment to us, turned around), not IPv6.
  Frame udp = ours;
  udp[6] = 17;
  Frame hop_by_hop = ours;
  hop_by_hop[6] = 0;
  const Frame cut(ours.begin(), ours.begin() + 40 + 7);
  Frame theirs = ours;
  std::copy(kPeer.bytes.begin(), kPeer.bytes.end(), theirs.begin() + 8);
  std::copy(kOur.bytes.begin(), kOur.bytes.end(), theirs.begin() + 24);
  Frame v4 = ours;
  v4[0] = 0x45;
  for (const Frame& q : {udp, hop_by_hop, cut, theirs, v4}) feed(packet_too_big(1400, q));
  EXPECT_EQ(count(base::Counter::drop_icmpv6_bad_quote), 5u);

  EXPECT_EQ(count(base::Counter::icmpv6_packet_too_big_received), 8u);
  EXPECT_EQ(count(base::Counter::tcp_pmtu_updates), 0u);
  EXPECT_EQ(engine_->tcp().info(conn_).snd_mss, 1440u);
  EXPECT_TRUE(sent().empty());

  // The same message quoting the segment in flight is believed.
  feed(packet_too_big(1400, ours));
  EXPECT_EQ(count(base::Counter::tcp_pmtu_updates), 1u);
  EXPECT_EQ(engine_->tcp().info(conn_).snd_mss, 1340u);
  EXPECT_EQ(resent_data(1400, iss_ + 1), data_);
}

// RFC 8201 5.2: what a Packet Too Big taught about the path to the peer is kept for the
// peer's address (tcp/path_mtu_cache.hpp), so the peer's next connection starts with MSS
// 1340: it sends no packet the router would refuse, and needs no message of its own. Our
// SYN-ACK still offers 1440: the MSS option says what we can receive (RFC 9293 3.7.1).
TEST_F(Tcp6PmtuTest, ASecondConnectionFromTheSamePeerStartsWithTheLearntMss) {
  const auto first = established_with_in_flight(3000);
  ASSERT_EQ(first.size(), 3u);
  feed(packet_too_big(1400, ip_packet(first[0])));
  EXPECT_EQ(engine_->tcp().info(conn_).snd_mss, 1340u);
  EXPECT_EQ(count(base::Counter::tcp_pmtu_cache_learnt), 1u);
  (void)sent();
  Conn* const first_conn = conn_;

  constexpr uint16_t kSecondPort = kPeerPort + 1;
  net::TcpBuild syn = peer(kPeerIss, net::Seq(0), fl::syn);
  syn.src_port = kSecondPort;
  net::TcpOptions syn_opts;
  syn_opts.has_mss = true;
  syn_opts.mss = 1440;
  feed(segment(syn, {}, &syn_opts));
  const auto synack = sent_segments(kSecondPort);
  ASSERT_EQ(synack.size(), 1u);
  EXPECT_EQ(synack[0].opts.mss, 1440) << "our receive MSS is the link's";
  net::TcpBuild ack = peer(kPeerIss + 1, synack[0].tcp.seq + 1, fl::ack);
  ack.src_port = kSecondPort;
  feed(segment(ack));
  ASSERT_NE(conn_, first_conn);
  EXPECT_EQ(engine_->tcp().info(conn_).snd_mss, 1340u);
  EXPECT_EQ(count(base::Counter::tcp_pmtu_cache_hits), 1u);
  engine_->tcp().set_nodelay(conn_, true);
  const std::string more(3000, 'q');
  ASSERT_EQ(
      engine_->tcp().send(conn_, {reinterpret_cast<const uint8_t*>(more.data()), more.size()}),
      more.size());
  engine_->poll(0);
  std::vector<size_t> sizes;
  for (const Frame& f : sent()) sizes.push_back(f.size() - 14);
  EXPECT_EQ(sizes, (std::vector<size_t>{1400, 1400, 380}));
  EXPECT_EQ(count(base::Counter::icmpv6_packet_too_big_received), 1u);
  EXPECT_EQ(count(base::Counter::tcp_pmtu_updates), 1u);
  engine_->tcp().abort(conn_);
  engine_->tcp().abort(first_conn);
  (void)sent();
}

// A report the RFC 5927 checks refuse teaches the cache nothing either.
TEST_F(Tcp6PmtuTest, ARefusedPacketTooBigLeavesTheNextConnectionAtTheLinksMss) {
  const auto first = established_with_in_flight(3000);
  ASSERT_EQ(first.size(), 3u);
  feed(packet_too_big(1280, with_seq(ip_packet(first[0]), iss_ + 1 + 3000 + 100000)));
  EXPECT_EQ(count(base::Counter::drop_tcp_icmp_invalid), 1u);
  EXPECT_EQ(count(base::Counter::tcp_pmtu_cache_learnt), 0u);
  Conn* const first_conn = conn_;
  net::TcpBuild syn = peer(kPeerIss, net::Seq(0), fl::syn);
  syn.src_port = kPeerPort + 1;
  net::TcpOptions syn_opts;
  syn_opts.has_mss = true;
  syn_opts.mss = 1440;
  feed(segment(syn, {}, &syn_opts));
  const auto synack = sent_segments(kPeerPort + 1);
  ASSERT_EQ(synack.size(), 1u);
  net::TcpBuild ack = peer(kPeerIss + 1, synack[0].tcp.seq + 1, fl::ack);
  ack.src_port = kPeerPort + 1;
  feed(segment(ack));
  ASSERT_NE(conn_, first_conn);
  EXPECT_EQ(engine_->tcp().info(conn_).snd_mss, 1440u);
  EXPECT_EQ(count(base::Counter::tcp_pmtu_cache_hits), 0u);
  engine_->tcp().abort(conn_);
  engine_->tcp().abort(first_conn);
  (void)sent();
}

// The router's message is hashed by its own address (a NIC's RSS) or left where it landed
// (software steering leaves ICMPv6 alone), so it may reach an lcore that does not own the
// quoted connection. Two engines of one port with the shard function and the steering mesh
// as drivers-glue sets them up; the lcores are played in turn on this thread.
class Tcp6PmtuSharded : public EngineFrames {};

TEST_F(Tcp6PmtuSharded, APacketTooBigOnTheWrongLcoreIsPassedToTheConnectionsOwner) {
  make_pool(511);
  EngineConfig c;
  c.iface.mac = kOurMac;
  c.iface.addrs = {net::Ipv4Prefix{net::make_ipv4(10, 0, 0, 2), 24}};
  c.iface.addrs6 = {net::Ipv6Prefix{kOur, 64}};
  pollux::testing::ShardedEngines lcores(c, pool_.get(), 2, "ptb6_st");
  ASSERT_TRUE(lcores.ok());
  pollux::testing::IcmpToOwner ptb;
  ptb.port = kPort;
  // The peer's solicitation for us, as in Tcp6Test.
  Frame ns(32);
  ns.resize(net::write_ns_body(ns.data(), kOur, kPeerMac.bytes));
  const net::Ipv6Addr group = kOur.solicited_node();
  ptb.neighbour = pollux::testing::eth_frame(
      net::multicast_mac(group), kPeerMac, 0x86dd,
      ipv6_datagram(kPeer, group, net::kIpProtoIcmpv6,
                    pollux::testing::icmpv6_message(kPeer, group, net::kIcmpv6NeighbourSolicit, ns),
                    255));
  ptb.tuple = [](uint16_t sport) { return net::FourTuple{kOur, kPeer, kPort, sport}; };
  ptb.to_us = [](const net::TcpBuild& b, const net::TcpOptions* o) {
    return pollux::testing::eth_frame(
        kOurMac, kPeerMac, 0x86dd,
        ipv6_datagram(kPeer, kOur, net::kIpProtoTcp,
                      pollux::testing::tcp6_segment(kPeer, kOur, b, o)));
  };
  ptb.l3_len = 40;
  ptb.mss = 1440;
  // RFC 4443 3.2: the MTU 1400, then as much of the packet as fits (all of it here).
  ptb.icmp_about = [](const Frame& data) {
    const Frame quoted(data.begin() + 14, data.end());
    Frame body(4 + quoted.size());
    net::store_be32(body.data(), 1400);
    std::copy(quoted.begin(), quoted.end(), body.begin() + 4);
    return pollux::testing::eth_frame(
        kOurMac, kRouterMac, 0x86dd,
        ipv6_datagram(
            kRouter, kOur, net::kIpProtoIcmpv6,
            pollux::testing::icmpv6_message(kRouter, kOur, net::kIcmpv6PacketTooBig, body)));
  };
  ptb.received = base::Counter::icmpv6_packet_too_big_received;
  ptb.wrong_lcore = base::Counter::drop_ipv6_tcp_wrong_lcore;
  ptb.passed_to_owner = base::Counter::icmpv6_too_big_passed_to_owner;
  ptb.mss_after = 1340;
  const auto played = pollux::testing::play_icmp_to_owner(lcores, ptb);
  ASSERT_NE(played.conn, nullptr);
  // The 1000 bytes in flight fit 1340: resent at once, in one packet of 1060 bytes.
  ASSERT_EQ(played.after.size(), 1u);
  EXPECT_EQ(played.after[0].size() - 14, 1060u);

  lcores[1].tcp().abort(played.conn);
  (void)lcores.sent(1);
  lcores.stop();
  EXPECT_EQ(held(), 0u) << "mbufs leaked";
}

}  // namespace
}  // namespace pollux::engine
