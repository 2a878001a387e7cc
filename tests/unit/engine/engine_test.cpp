// The per-lcore engine as a black box: frames in, frames out, counters. Each test is one
// rule of RFC 826 / 791 / 792 / 1122 / 9293 3.10.7.1 or one named drop.
#include "engine/engine.hpp"

#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <memory>

#include "../../support/frames.hpp"
#include "../../support/sharded_engines.hpp"
#include "engine/checksum_offload.hpp"
#include "tcp/ip_header.hpp"
#include "engine_frames.hpp"

namespace pollux::engine {
namespace {

using net::make_ipv4;
using pollux::testing::Frame;

const net::MacAddr kOurMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};
const net::MacAddr kPeerMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
const net::MacAddr kGwMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0xfe}};
constexpr net::Ipv4Addr kOurIp = make_ipv4(10, 0, 0, 2);
constexpr net::Ipv4Addr kPeerIp = make_ipv4(10, 0, 0, 1);
constexpr net::Ipv4Addr kGwIp = make_ipv4(10, 0, 0, 254);
constexpr uint64_t kSecond = 1'000'000'000;

class EngineTest : public EngineFrames {
 protected:
  void make_engine(Offloads offloads = {}, ArpConfig arp = {}, unsigned pool_size = 1023) {
    make_pool(pool_size);
    EngineConfig c;
    c.iface.mac = kOurMac;
    c.iface.addrs = {net::Ipv4Prefix{kOurIp, 24}};
    c.iface.gateway = kGwIp;
    c.iface.offloads = offloads;
    c.arp = arp;
    start_engine(c);
  }
  void SetUp() override { make_engine(); }
  void TearDown() override { engine_.reset(); }

  Frame arp_from_peer(net::ArpOp op, net::Ipv4Addr target, const net::MacAddr& eth_dst) {
    net::ArpPacket a{op, kPeerMac, kPeerIp, op == net::ArpOp::reply ? kOurMac : net::MacAddr{},
                     target};
    return pollux::testing::eth_frame(eth_dst, kPeerMac, 0x0806, pollux::testing::arp_body(a));
  }
  Frame ip_from_peer(const Frame& datagram) {
    return pollux::testing::eth_frame(kOurMac, kPeerMac, 0x0800, datagram);
  }
  // Teaches the engine the peer's MAC the way a kernel does: it asks for ours first.
  void peer_arps_us() {
    feed(arp_from_peer(net::ArpOp::request, kOurIp, net::MacAddr::broadcast()));
    sent();
  }
};

// --- ARP (RFC 826) ---------------------------------------------------------------------

TEST_F(EngineTest, AnswersArpRequestForOurAddressWithOurMac) {
  feed(arp_from_peer(net::ArpOp::request, kOurIp, net::MacAddr::broadcast()));
  auto out = sent();
  ASSERT_EQ(out.size(), 1u);
  auto eth = net::EthernetView::parse(out[0]);
  ASSERT_TRUE(eth);
  EXPECT_EQ(eth->dst(), kPeerMac);
  EXPECT_EQ(eth->src(), kOurMac);
  EXPECT_EQ(eth->ether_type(), 0x0806);
  EXPECT_EQ(out[0].size(), net::kEthernetMinFrame);  // padded to the Ethernet minimum
  net::ArpPacket reply;
  ASSERT_EQ(net::parse_arp(eth->payload(), reply), net::ArpError::ok);
  EXPECT_EQ(reply.op, net::ArpOp::reply);
  EXPECT_EQ(reply.sender_mac, kOurMac);
  EXPECT_EQ(reply.sender_ip, kOurIp);
  EXPECT_EQ(reply.target_mac, kPeerMac);
  EXPECT_EQ(reply.target_ip, kPeerIp);
  EXPECT_EQ(count(base::Counter::arp_replies_sent), 1u);
  // RFC 826 merge: the asker is now known, without us having asked.
  const auto* e = engine_->arp_cache().find(kPeerIp);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->mac, kPeerMac);
}

TEST_F(EngineTest, IgnoresArpRequestForAnotherAddressAndDoesNotLearnFromIt) {
  feed(arp_from_peer(net::ArpOp::request, make_ipv4(10, 0, 0, 77), net::MacAddr::broadcast()));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::drop_arp_not_for_us), 1u);
  EXPECT_EQ(engine_->arp_cache().find(kPeerIp), nullptr);
}

TEST_F(EngineTest, AnnouncesEachAddressWithGratuitousArpAtStart) {
  engine_->start(0);
  auto out = sent();
  ASSERT_EQ(out.size(), 1u);
  auto eth = net::EthernetView::parse(out[0]);
  EXPECT_TRUE(eth->dst().is_broadcast());
  net::ArpPacket a;
  ASSERT_EQ(net::parse_arp(eth->payload(), a), net::ArpError::ok);
  EXPECT_EQ(a.op, net::ArpOp::request);
  EXPECT_EQ(a.sender_ip, kOurIp);
  EXPECT_EQ(a.target_ip, kOurIp);  // RFC 5227 2.3 announcement
  EXPECT_EQ(count(base::Counter::arp_gratuitous_sent), 1u);
}

TEST_F(EngineTest, DropsArpWithBroadcastOrOwnSenderAddress) {
  net::ArpPacket spoof{net::ArpOp::request, kPeerMac, kOurIp, {}, kOurIp};
  feed(pollux::testing::eth_frame(net::MacAddr::broadcast(), kPeerMac, 0x0806,
                                  pollux::testing::arp_body(spoof)));
  net::ArpPacket bcast{net::ArpOp::request, kPeerMac, net::Ipv4Addr{0xffffffff}, {}, kOurIp};
  feed(pollux::testing::eth_frame(net::MacAddr::broadcast(), kPeerMac, 0x0806,
                                  pollux::testing::arp_body(bcast)));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::drop_arp_bad_sender), 2u);
}

TEST_F(EngineTest, AnswersArpProbeFromHostWithoutAddress) {
  // RFC 5227 2.1.1: a probe has sender IP 0; we defend our address by answering.
  net::ArpPacket probe{net::ArpOp::request, kPeerMac, net::Ipv4Addr{}, {}, kOurIp};
  feed(pollux::testing::eth_frame(net::MacAddr::broadcast(), kPeerMac, 0x0806,
                                  pollux::testing::arp_body(probe)));
  auto out = sent();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(engine_->arp_cache().find(net::Ipv4Addr{}), nullptr);  // nothing learnt from 0.0.0.0
}

// --- Neighbour resolution on output -----------------------------------------------------

// A RST provoked by a SYN is the simplest packet the engine originates through ip_output.
Frame syn_from(net::Ipv4Addr src, uint16_t sport = 40000) {
  net::TcpBuild t;
  t.src_port = sport;
  t.dst_port = 9;
  t.seq = net::Seq(1000);
  t.flags = net::tcp_flags::syn;
  t.window = 64240;
  return pollux::testing::tcp_segment(src, kOurIp, t);
}

TEST_F(EngineTest, UnknownNeighbourIsResolvedThenQueuedPacketLeaves) {
  feed(ip_from_peer(pollux::testing::ipv4_datagram(kPeerIp, kOurIp, net::kIpProtoTcp,
                                                   syn_from(kPeerIp))));
  auto out = sent();
  ASSERT_EQ(out.size(), 1u) << "only the ARP request leaves; the RST waits";
  net::ArpPacket req;
  ASSERT_EQ(net::parse_arp(net::EthernetView::parse(out[0])->payload(), req), net::ArpError::ok);
  EXPECT_EQ(req.op, net::ArpOp::request);
  EXPECT_EQ(req.target_ip, kPeerIp);
  EXPECT_EQ(req.sender_ip, kOurIp);

  feed(arp_from_peer(net::ArpOp::reply, kOurIp, kOurMac), 100);
  out = sent();
  ASSERT_EQ(out.size(), 1u);
  auto eth = net::EthernetView::parse(out[0]);
  EXPECT_EQ(eth->dst(), kPeerMac);
  EXPECT_EQ(eth->ether_type(), 0x0800);
  EXPECT_EQ(count(base::Counter::tcp_rst_sent), 1u);
}

TEST_F(EngineTest, UnansweredNeighbourIsRetriedThenItsPacketsDropped) {
  ArpConfig arp;
  arp.retry_ns = kSecond;
  arp.max_requests = 3;
  make_engine({}, arp);
  feed(ip_from_peer(pollux::testing::ipv4_datagram(kPeerIp, kOurIp, net::kIpProtoTcp,
                                                   syn_from(kPeerIp))));
  EXPECT_EQ(sent().size(), 1u);
  engine_->poll(kSecond / 2);
  EXPECT_TRUE(sent().empty()) << "no retry before retry_ns";
  engine_->poll(kSecond);
  EXPECT_EQ(sent().size(), 1u);
  engine_->poll(2 * kSecond);
  EXPECT_EQ(sent().size(), 1u);
  EXPECT_EQ(count(base::Counter::arp_requests_sent), 3u);
  engine_->poll(3 * kSecond);
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::drop_arp_unresolved), 1u);
  EXPECT_EQ(engine_->arp_cache().find(kPeerIp), nullptr);
}

TEST_F(EngineTest, HoldsAtMostMaxPendingPacketsPerNeighbour) {
  ArpConfig arp;
  arp.max_pending = 2;
  make_engine({}, arp);
  for (uint16_t i = 0; i < 5; ++i)
    feed(ip_from_peer(pollux::testing::ipv4_datagram(
        kPeerIp, kOurIp, net::kIpProtoTcp, syn_from(kPeerIp, static_cast<uint16_t>(40000 + i)))));
  EXPECT_EQ(sent().size(), 1u);  // one request
  EXPECT_EQ(count(base::Counter::drop_arp_pending_overflow), 3u);
  feed(arp_from_peer(net::ArpOp::reply, kOurIp, kOurMac));
  EXPECT_EQ(sent().size(), 2u);
}

// Issue 14: the packets held for unresolved neighbours are capped over the whole cache
// (ArpConfig::max_pending_total), not only per neighbour. Six on-link sources that we must
// answer (RSTs to their SYNs) and that have not answered ARP: the first four replies wait
// with one request each; the fifth and sixth are freed at once and counted, and no request
// goes for them. One neighbour answering sends its reply and frees its place; the others
// failing frees theirs (counted as unresolved); the cap then holds packets again.
TEST_F(EngineTest, PacketsHeldForUnresolvedNeighboursAreCappedOverTheWholeCache) {
  ArpConfig arp;
  arp.max_pending_total = 4;
  arp.new_entry_rate = 0;  // no new-entry budget in the way
  make_engine({}, arp);
  auto peer = [](int i) { return make_ipv4(10, 0, 0, static_cast<uint8_t>(10 + i)); };
  auto syn = [&](int i) {
    return ip_from_peer(
        pollux::testing::ipv4_datagram(peer(i), kOurIp, net::kIpProtoTcp, syn_from(peer(i))));
  };
  for (int i = 0; i < 6; ++i) feed(syn(i));
  EXPECT_EQ(sent().size(), 4u) << "a request for each held reply, none for the dropped";
  EXPECT_EQ(engine_->arp_cache().pending_total(), 4u);
  EXPECT_EQ(count(base::Counter::drop_arp_pending_total), 2u);
  EXPECT_EQ(engine_->arp_cache().find(peer(4)), nullptr);
  EXPECT_EQ(held(), 4u) << "the dropped packets went back to the pool";

  // Neighbour 0 answers: its RST leaves and its place is free for a new neighbour's packet.
  const net::MacAddr mac0{{0x02, 0, 0, 0, 0, 0x10}};
  feed(pollux::testing::eth_frame(kOurMac, mac0, 0x0806,
                                  pollux::testing::arp_body(net::ArpPacket{
                                      net::ArpOp::reply, mac0, peer(0), kOurMac, kOurIp})));
  auto out = sent();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(net::EthernetView::parse(out[0])->dst(), mac0);
  EXPECT_EQ(engine_->arp_cache().pending_total(), 3u);
  feed(syn(4));
  EXPECT_EQ(sent().size(), 1u) << "the request for neighbour 4";
  EXPECT_EQ(engine_->arp_cache().pending_total(), 4u);
  feed(syn(5));
  EXPECT_EQ(count(base::Counter::drop_arp_pending_total), 3u);

  // The rest never answer: after max_requests their packets are freed and the cap is empty.
  for (uint64_t t = 1; t <= 4; ++t) engine_->poll(t * kSecond);
  (void)sent();
  EXPECT_EQ(engine_->arp_cache().pending_total(), 0u);
  EXPECT_EQ(count(base::Counter::drop_arp_unresolved), 4u);
  EXPECT_EQ(held(), 0u);
  feed(syn(5), 5 * kSecond);
  EXPECT_EQ(engine_->arp_cache().pending_total(), 1u) << "held again";
  EXPECT_EQ(count(base::Counter::drop_arp_pending_total), 3u);
}

// Issue 13: a peer that opens many connections at once from an address we have not resolved
// (pollux-gen moving to its next source address at 333k connections/s; any client behind a
// fresh address) has every SYN answered, though all the SYN-ACKs must wait for one ARP
// reply. 64 SYNs in one burst: one request goes out, the 64 SYN-ACKs wait (within the
// default per-neighbour and cache-wide caps) and leave in order when the peer answers;
// nothing is dropped, so no handshake waits for the 1 s retransmission timer. With 4 places
// per neighbour (before) 60 of them were dropped as drop_arp_pending_overflow.
TEST_F(EngineTest, ABurstOfSynsFromAnUnresolvedPeerIsAnsweredInFullOnceItResolves) {
  static constexpr AppEvents kNoEvents{};
  ASSERT_EQ(engine_->tcp().listen(9, &kNoEvents, nullptr), TcpError::ok);
  constexpr uint16_t kBurst = 64;
  for (uint16_t i = 0; i < kBurst; ++i)
    feed(ip_from_peer(pollux::testing::ipv4_datagram(
        kPeerIp, kOurIp, net::kIpProtoTcp, syn_from(kPeerIp, static_cast<uint16_t>(40000 + i)))));
  auto out = sent();
  ASSERT_EQ(out.size(), 1u) << "one ARP request, the SYN-ACKs held";
  EXPECT_EQ(net::EthernetView::parse(out[0])->ether_type(), 0x0806);
  EXPECT_EQ(engine_->arp_cache().pending_total(), kBurst);
  EXPECT_EQ(count(base::Counter::drop_arp_pending_overflow), 0u);
  EXPECT_EQ(count(base::Counter::drop_arp_pending_total), 0u);

  feed(arp_from_peer(net::ArpOp::reply, kOurIp, kOurMac));
  out = sent();
  ASSERT_EQ(out.size(), kBurst);
  for (uint16_t i = 0; i < kBurst; ++i) {
    auto eth = net::EthernetView::parse(out[i]);
    ASSERT_TRUE(eth);
    EXPECT_EQ(eth->dst(), kPeerMac);
    net::Ipv4Header ip;
    ASSERT_EQ(net::parse_ipv4(eth->payload(), ip), net::Ipv4Error::ok);
    net::TcpHeader tcp;
    ASSERT_EQ(net::parse_tcp(ip.payload, tcp), net::TcpHeaderError::ok);
    EXPECT_EQ(tcp.flags, net::tcp_flags::syn | net::tcp_flags::ack) << "segment " << i;
    EXPECT_EQ(tcp.dst_port, 40000 + i) << "in the order the SYNs came";
  }
  EXPECT_EQ(engine_->arp_cache().pending_total(), 0u);
  EXPECT_EQ(count(base::Counter::tcp_retrans_synack), 0u);
}

TEST_F(EngineTest, OffLinkDestinationGoesThroughTheGateway) {
  const net::Ipv4Addr far = make_ipv4(192, 0, 2, 9);
  feed(pollux::testing::eth_frame(kOurMac, kGwMac, 0x0800,
                                  pollux::testing::ipv4_datagram(far, kOurIp, net::kIpProtoTcp,
                                                                 syn_from(far))));
  auto out = sent();
  ASSERT_EQ(out.size(), 1u);
  net::ArpPacket req;
  ASSERT_EQ(net::parse_arp(net::EthernetView::parse(out[0])->payload(), req), net::ArpError::ok);
  EXPECT_EQ(req.target_ip, kGwIp);
}

TEST_F(EngineTest, StaleNeighbourIsStillUsedWhileBeingReprobed) {
  ArpConfig arp;
  arp.reachable_ns = 10 * kSecond;
  make_engine({}, arp);
  peer_arps_us();
  auto syn = ip_from_peer(
      pollux::testing::ipv4_datagram(kPeerIp, kOurIp, net::kIpProtoTcp, syn_from(kPeerIp)));
  feed(syn, kSecond);
  EXPECT_EQ(sent().size(), 1u);  // the RST, straight away
  feed(syn, 11 * kSecond);
  auto out = sent();
  ASSERT_EQ(out.size(), 2u) << "RST sent with the old MAC plus a refresh request";
  EXPECT_EQ(count(base::Counter::arp_requests_sent), 1u);
}

// A full cache keeps a REACHABLE neighbour (confirmed less than reachable_ns ago) rather than
// give its place to a new, unresolved one (neighbour_cache.cpp, evictable()): the newcomer's
// packet is dropped and counted, and the known peer is still answered at once.
TEST_F(EngineTest, FullNeighbourCacheKeepsAReachableNeighbourAndDropsTheNewcomersPacket) {
  ArpConfig arp;
  arp.capacity = 1;
  make_engine({}, arp);
  peer_arps_us();  // fills the single entry with the peer, confirmed at t = 0
  const net::Ipv4Addr other = make_ipv4(10, 0, 0, 3);
  feed(ip_from_peer(
           pollux::testing::ipv4_datagram(other, kOurIp, net::kIpProtoTcp, syn_from(other))),
       kSecond);
  EXPECT_TRUE(sent().empty()) << "no ARP request for the newcomer, no RST";
  EXPECT_EQ(count(base::Counter::arp_cache_full), 1u);
  EXPECT_EQ(count(base::Counter::drop_arp_unresolved), 1u);
  ASSERT_NE(engine_->arp_cache().find(kPeerIp), nullptr);
  feed(ip_from_peer(
           pollux::testing::ipv4_datagram(kPeerIp, kOurIp, net::kIpProtoTcp, syn_from(kPeerIp))),
       2 * kSecond);
  auto out = sent();
  ASSERT_EQ(out.size(), 1u) << "the peer's RST, straight away";
  EXPECT_EQ(net::EthernetView::parse(out[0])->dst(), kPeerMac);
}

// Past its reachable time (unused since: a neighbour in use is re-probed and re-confirmed)
// the oldest resolved entry gives way; an incomplete one never does (it holds packets).
TEST_F(EngineTest, FullNeighbourCacheEvictsAResolvedEntryPastItsReachableTime) {
  ArpConfig arp;
  arp.capacity = 1;
  arp.reachable_ns = 10 * kSecond;
  make_engine({}, arp);
  peer_arps_us();
  const net::Ipv4Addr other = make_ipv4(10, 0, 0, 3);
  feed(ip_from_peer(
           pollux::testing::ipv4_datagram(other, kOurIp, net::kIpProtoTcp, syn_from(other))),
       10 * kSecond);
  EXPECT_EQ(sent().size(), 1u);  // request for `other`: the peer's entry was evicted
  EXPECT_EQ(engine_->arp_cache().find(kPeerIp), nullptr);
  // Now the only entry is incomplete and holds a packet: it cannot be evicted.
  feed(ip_from_peer(
           pollux::testing::ipv4_datagram(kPeerIp, kOurIp, net::kIpProtoTcp, syn_from(kPeerIp))),
       10 * kSecond);
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::arp_cache_full), 1u);
}

// The cache's size (--neigh-max) is how many on-link peers can be served at once: 12 peers
// each ask for our MAC (RFC 826 merge: an entry for each, confirmed) and then send a SYN
// within their reachable time. A cache of 8 keeps the first 8, refuses the other 4 (their
// answers dropped, counted arp_cache_full); one of 16 answers all 12, each at once to its MAC.
TEST_F(EngineTest, ALargerNeighbourCacheAdmitsMoreOnLinkPeers) {
  constexpr uint32_t kPeers = 12;
  for (const uint32_t capacity : {8u, 16u}) {
    SCOPED_TRACE("capacity " + std::to_string(capacity));
    ArpConfig arp;
    arp.capacity = capacity;
    arp.new_entry_rate = 0;
    make_engine({}, arp);
    auto mac_of = [](uint32_t i) {
      return net::MacAddr{{0x02, 0x00, 0x00, 0x00, 0x01, static_cast<uint8_t>(i)}};
    };
    auto ip_of = [](uint32_t i) { return make_ipv4(10, 0, 0, static_cast<uint8_t>(10 + i)); };
    for (uint32_t i = 0; i < kPeers; ++i) {
      net::ArpPacket req{net::ArpOp::request, mac_of(i), ip_of(i), {}, kOurIp};
      feed(pollux::testing::eth_frame(net::MacAddr::broadcast(), mac_of(i), 0x0806,
                                      pollux::testing::arp_body(req)));
    }
    EXPECT_EQ(sent().size(), kPeers) << "every peer's request answered, cached or not";
    uint32_t answered = 0;
    for (uint32_t i = 0; i < kPeers; ++i) {
      feed(pollux::testing::eth_frame(kOurMac, mac_of(i), 0x0800,
                                      pollux::testing::ipv4_datagram(
                                          ip_of(i), kOurIp, net::kIpProtoTcp, syn_from(ip_of(i)))),
           kSecond);
      for (const Frame& f : sent()) {
        EXPECT_EQ(net::EthernetView::parse(f)->dst(), mac_of(i)) << "peer " << i;
        ++answered;
      }
    }
    const uint32_t admitted = std::min(capacity, kPeers);
    EXPECT_EQ(answered, admitted);
    EXPECT_EQ(engine_->arp_cache().size(), admitted);
    EXPECT_EQ(count(base::Counter::arp_cache_full), kPeers - admitted);
    EXPECT_EQ(count(base::Counter::arp_requests_sent), 0u) << "none resolved anew";
    engine_.reset();
  }
}

// The issue 14 flood, on-link: SYNs from 200 spoofed sources of our own subnet, each of whose
// answers needs a new neighbour, over two seconds, into a small cache (8 entries) with no
// new-entry budget in the way. The real peer, resolved before the flood, keeps its entry
// throughout and every one of its SYNs is answered at once to its MAC; the spoofed sources
// get at most the 7 free places (one ARP request each, retried until they fail) and the
// rest are dropped and counted; when the unanswered entries fail, their places come back.
TEST_F(EngineTest, SpoofedOnLinkSynFloodNeitherEvictsNorStarvesAReachableNeighbour) {
  ArpConfig arp;
  arp.capacity = 8;
  arp.new_entry_rate = 0;
  make_engine({}, arp);
  peer_arps_us();
  auto syn = [&](net::Ipv4Addr src) {
    return ip_from_peer(
        pollux::testing::ipv4_datagram(src, kOurIp, net::kIpProtoTcp, syn_from(src)));
  };
  uint64_t requests = 0, peer_answers = 0;
  for (int i = 0; i < 200; ++i) {
    const uint64_t now = static_cast<uint64_t>(i) * kSecond / 100;
    const net::Ipv4Addr spoofed = make_ipv4(10, 0, 0, static_cast<uint8_t>(3 + i % 250));
    feed(syn(spoofed), now);
    if (i % 20 == 0) feed(syn(kPeerIp), now);
    engine_->poll(now);
    for (const Frame& f : sent()) {
      auto eth = net::EthernetView::parse(f);
      ASSERT_TRUE(eth);
      if (eth->ether_type() == 0x0806) {
        ++requests;
      } else {
        EXPECT_EQ(eth->dst(), kPeerMac) << "frame " << i << ": only the peer is answered";
        ++peer_answers;
      }
    }
    const auto* e = engine_->arp_cache().find(kPeerIp);
    ASSERT_NE(e, nullptr) << "the peer's entry was evicted at SYN " << i;
    ASSERT_EQ(e->mac, kPeerMac);
  }
  EXPECT_EQ(peer_answers, 10u) << "every SYN of the peer answered at once";
  // The 7 free places went to the first 7 spoofed sources (one request each at once, one
  // retry a second later; they live max_requests = 3 seconds, longer than the flood), and the
  // other 193 spoofed sources found the cache full: dropped and counted, no request.
  EXPECT_EQ(requests, 14u);
  EXPECT_EQ(engine_->arp_cache().size(), 8u);
  EXPECT_EQ(count(base::Counter::arp_cache_full), 193u);
  EXPECT_EQ(engine_->arp_cache().pending_total(), 7u);
  // The flood stops; the unanswered entries fail and free their places (and mbufs).
  for (uint64_t t = 3; t <= 6; ++t) engine_->poll(t * kSecond);
  (void)sent();
  EXPECT_EQ(engine_->arp_cache().size(), 1u) << "only the peer is left";
  EXPECT_EQ(engine_->arp_cache().pending_total(), 0u);
  EXPECT_EQ(count(base::Counter::drop_arp_unresolved), 200u)
      << "every spoofed source's answer dropped and counted, at once or when it failed";
  EXPECT_EQ(held(), 0u);
}

// --- ARP hardening (issue 14 item 6) ---------------------------------------------------

const net::MacAddr kOtherMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x66}};

Frame arp_reply_from(net::Ipv4Addr ip, const net::MacAddr& mac) {
  net::ArpPacket a{net::ArpOp::reply, mac, ip, kOurMac, kOurIp};
  return pollux::testing::eth_frame(kOurMac, mac, 0x0806, pollux::testing::arp_body(a));
}

TEST_F(EngineTest, UnsolicitedReplyWithinLocktimeDoesNotReplaceAFreshEntry) {
  peer_arps_us();  // learnt at t = 0 with kPeerMac
  feed(arp_reply_from(kPeerIp, kOtherMac), kSecond / 2);
  ASSERT_NE(engine_->arp_cache().find(kPeerIp), nullptr);
  EXPECT_EQ(engine_->arp_cache().find(kPeerIp)->mac, kPeerMac);
  EXPECT_EQ(count(base::Counter::arp_update_refused), 1u);
  EXPECT_EQ(count(base::Counter::arp_mac_changed), 0u);
  engine_->clear_neighbour_updates();
  EXPECT_TRUE(engine_->neighbour_updates().empty()) << "a refused MAC is not published";
}

TEST_F(EngineTest, AfterLocktimeADifferentMacReplacesTheEntryAndIsCounted) {
  peer_arps_us();
  engine_->clear_neighbour_updates();
  feed(arp_reply_from(kPeerIp, kOtherMac), kSecond + 1);
  EXPECT_EQ(engine_->arp_cache().find(kPeerIp)->mac, kOtherMac);
  EXPECT_EQ(count(base::Counter::arp_mac_changed), 1u);
  EXPECT_EQ(count(base::Counter::arp_update_refused), 0u);
  ASSERT_EQ(engine_->neighbour_updates().size(), 1u);
  EXPECT_EQ(engine_->neighbour_updates()[0].mac, kOtherMac);
}

TEST_F(EngineTest, TheSameMacWithinLocktimeStillConfirmsTheEntry) {
  peer_arps_us();
  feed(arp_reply_from(kPeerIp, kPeerMac), kSecond / 2);
  EXPECT_EQ(engine_->arp_cache().find(kPeerIp)->confirmed_at, kSecond / 2);
  EXPECT_EQ(count(base::Counter::arp_update_refused), 0u);
}

TEST_F(EngineTest, AnswerToOurOwnRefreshRequestMayChangeTheMacWithinLocktime) {
  ArpConfig arp;
  arp.reachable_ns = kSecond / 10;
  make_engine({}, arp);
  peer_arps_us();
  // A packet to the peer after reachable_ns: used, and a refresh request goes out.
  feed(ip_from_peer(
           pollux::testing::ipv4_datagram(kPeerIp, kOurIp, net::kIpProtoTcp, syn_from(kPeerIp))),
       kSecond / 5);
  EXPECT_EQ(count(base::Counter::arp_requests_sent), 1u);
  sent();
  feed(arp_reply_from(kPeerIp, kOtherMac), kSecond / 4);  // solicited: locktime does not apply
  EXPECT_EQ(engine_->arp_cache().find(kPeerIp)->mac, kOtherMac);
  EXPECT_EQ(count(base::Counter::arp_mac_changed), 1u);
}

TEST_F(EngineTest, StaticNeighbourIsUsedWithoutArpAndNeverReplacedOrReprobed) {
  ArpConfig arp;
  arp.reachable_ns = kSecond;
  arp.static_entries = {{kPeerIp, kPeerMac}};
  make_engine({}, arp);
  const Frame syn = ip_from_peer(
      pollux::testing::ipv4_datagram(kPeerIp, kOurIp, net::kIpProtoTcp, syn_from(kPeerIp)));
  feed(syn, 0);
  auto out = sent();
  ASSERT_EQ(out.size(), 1u) << "the RST leaves at once: no ARP request";
  EXPECT_EQ(net::EthernetView::parse(out[0])->dst(), kPeerMac);
  feed(arp_reply_from(kPeerIp, kOtherMac), 10 * kSecond);
  EXPECT_EQ(engine_->arp_cache().find(kPeerIp)->mac, kPeerMac);
  EXPECT_EQ(count(base::Counter::arp_update_refused), 1u);
  engine_->neighbour_update(NeighbourUpdate{kPeerIp, kOtherMac}, 11 * kSecond);
  EXPECT_EQ(engine_->arp_cache().find(kPeerIp)->mac, kPeerMac) << "siblings cannot change it";
  feed(syn, 100 * kSecond);
  out = sent();
  ASSERT_EQ(out.size(), 1u) << "no refresh request for a static entry";
  EXPECT_EQ(net::EthernetView::parse(out[0])->dst(), kPeerMac);
  EXPECT_EQ(count(base::Counter::arp_requests_sent), 0u);
  engine_->poll(1000 * kSecond);
  EXPECT_NE(engine_->arp_cache().find(kPeerIp), nullptr) << "never expires";
}

TEST_F(EngineTest, StaticNeighbourIsNeverEvictedFromAFullCache) {
  ArpConfig arp;
  arp.capacity = 1;
  arp.static_entries = {{kPeerIp, kPeerMac}};
  make_engine({}, arp);
  const net::Ipv4Addr other = make_ipv4(10, 0, 0, 3);
  feed(ip_from_peer(
      pollux::testing::ipv4_datagram(other, kOurIp, net::kIpProtoTcp, syn_from(other))));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::arp_cache_full), 1u);
  EXPECT_NE(engine_->arp_cache().find(kPeerIp), nullptr);
}

TEST_F(EngineTest, NewNeighbourEntriesCreatedByInboundTrafficAreRateLimited) {
  ArpConfig arp;
  arp.new_entry_rate = 2;
  arp.new_entry_burst = 2;
  make_engine({}, arp);
  // SYNs from four unknown on-link sources: each RST needs a new neighbour entry.
  for (uint8_t i = 0; i < 4; ++i) {
    const net::Ipv4Addr src = make_ipv4(10, 0, 0, static_cast<uint8_t>(10 + i));
    feed(
        ip_from_peer(pollux::testing::ipv4_datagram(src, kOurIp, net::kIpProtoTcp, syn_from(src))));
  }
  EXPECT_EQ(sent().size(), 2u) << "two ARP requests, within the burst";
  EXPECT_EQ(count(base::Counter::drop_arp_new_entry_rate_limited), 2u);
  EXPECT_EQ(engine_->arp_cache().size(), 2u);
  // The budget refills: half a second later one more new neighbour may be resolved.
  const net::Ipv4Addr late = make_ipv4(10, 0, 0, 20);
  feed(ip_from_peer(pollux::testing::ipv4_datagram(late, kOurIp, net::kIpProtoTcp, syn_from(late))),
       kSecond / 2);
  EXPECT_EQ(sent().size(), 1u);
  EXPECT_EQ(count(base::Counter::drop_arp_new_entry_rate_limited), 2u);
}

TEST_F(EngineTest, NeighbourLearntFromTheWireIsPublishedForSiblingEngines) {
  peer_arps_us();
  auto updates = engine_->neighbour_updates();
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].ip, kPeerIp);
  EXPECT_EQ(updates[0].mac, kPeerMac);
  engine_->clear_neighbour_updates();
  EXPECT_TRUE(engine_->neighbour_updates().empty());
}

TEST_F(EngineTest, SiblingsNeighbourUpdateReleasesPacketsHeldForResolution) {
  // The ARP reply to our request landed on another lcore's queue; its engine passes it on.
  feed(ip_from_peer(pollux::testing::ipv4_datagram(kPeerIp, kOurIp, net::kIpProtoTcp,
                                                   syn_from(kPeerIp))));
  EXPECT_EQ(sent().size(), 1u);  // the ARP request
  engine_->neighbour_update(NeighbourUpdate{kPeerIp, kPeerMac}, 10);
  auto out = sent();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(net::EthernetView::parse(out[0])->dst(), kPeerMac);
  EXPECT_EQ(count(base::Counter::tcp_rst_sent), 1u);
  EXPECT_EQ(count(base::Counter::neighbour_sync_received), 1u);
  EXPECT_TRUE(engine_->neighbour_updates().empty()) << "not echoed back to the siblings";
}

TEST_F(EngineTest, OnlyTheFirstEngineOfAPortAnnouncesItsAddresses) {
  EngineConfig c;
  c.iface.mac = kOurMac;
  c.iface.addrs = {net::Ipv4Prefix{kOurIp, 24}};
  c.lcore_index = 1;
  Engine second(c, pool_.get());
  second.start(0);
  EXPECT_TRUE(second.tx().empty());
}

// --- ICMP echo (RFC 792, RFC 1122 3.2.2.6) ------------------------------------------------

Frame echo_request_payload() {
  Frame data(56);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + 3);
  return data;
}

TEST_F(EngineTest, AnswersEchoRequestWithSameDataFromTheAskedAddress) {
  peer_arps_us();
  Frame icmp = pollux::testing::icmp_echo(8, 0x1234, 7, echo_request_payload());
  feed(ip_from_peer(pollux::testing::ipv4_datagram(kPeerIp, kOurIp, net::kIpProtoIcmp, icmp)));
  auto out = sent();
  ASSERT_EQ(out.size(), 1u);
  auto eth = net::EthernetView::parse(out[0]);
  EXPECT_EQ(eth->dst(), kPeerMac);
  net::Ipv4Header ip;
  ASSERT_EQ(net::parse_ipv4(eth->payload(), ip), net::Ipv4Error::ok);  // checksum verified
  EXPECT_EQ(ip.src, kOurIp);
  EXPECT_EQ(ip.dst, kPeerIp);
  EXPECT_EQ(ip.protocol, net::kIpProtoIcmp);
  net::IcmpMessage msg;
  ASSERT_EQ(net::parse_icmp(ip.payload, msg), net::IcmpError::ok);  // checksum verified
  EXPECT_EQ(msg.type, 0);
  EXPECT_EQ(msg.rest, (0x1234u << 16) | 7u);
  EXPECT_EQ(Frame(msg.body.begin(), msg.body.end()), echo_request_payload());
  EXPECT_EQ(count(base::Counter::icmp_echo_replies_sent), 1u);
}

TEST_F(EngineTest, EchoRepliesAreRateLimitedPerLcoreAndTheBudgetRefills) {
  // Default budget: 1000 replies per second, bursts of 50 (EngineConfig). A flood of 200
  // requests in one instant gets the burst answered and the rest counted as dropped.
  peer_arps_us();
  const uint64_t t0 = 10 * kSecond;
  size_t replies = 0;
  for (int i = 0; i < 200; ++i) {
    Frame icmp = pollux::testing::icmp_echo(8, 1, static_cast<uint16_t>(i), echo_request_payload());
    feed(ip_from_peer(pollux::testing::ipv4_datagram(kPeerIp, kOurIp, net::kIpProtoIcmp, icmp)), t0);
    replies += sent().size();
  }
  EXPECT_EQ(replies, 50u);
  EXPECT_EQ(count(base::Counter::drop_icmp_rate_limited), 150u);
  EXPECT_EQ(count(base::Counter::icmp_echo_requests), 200u);
  // 20 ms later, 20 more tokens.
  for (int i = 0; i < 30; ++i) {
    Frame icmp = pollux::testing::icmp_echo(8, 2, static_cast<uint16_t>(i), echo_request_payload());
    feed(ip_from_peer(pollux::testing::ipv4_datagram(kPeerIp, kOurIp, net::kIpProtoIcmp, icmp)),
         t0 + 20'000'000);
    replies += sent().size();
  }
  EXPECT_EQ(replies, 70u);
}

TEST_F(EngineTest, EchoRequestWithIpOptionsIsAnsweredWithoutThem) {
  peer_arps_us();
  Frame icmp = pollux::testing::icmp_echo(8, 1, 1, echo_request_payload());
  Frame d = pollux::testing::ipv4_datagram(kPeerIp, kOurIp, net::kIpProtoIcmp, icmp);
  // Insert 4 bytes of options (NOP NOP NOP EOL) and fix IHL, length and checksum.
  d.insert(d.begin() + 20, {1, 1, 1, 0});
  d[0] = 0x46;
  net::store_be16(d.data() + 2, static_cast<uint16_t>(d.size()));
  net::store_be16(d.data() + 10, 0);
  net::store_be16(d.data() + 10, net::internet_checksum({d.data(), 24}));
  feed(ip_from_peer(d));
  auto out = sent();
  ASSERT_EQ(out.size(), 1u);
  net::Ipv4Header ip;
  ASSERT_EQ(net::parse_ipv4(net::EthernetView::parse(out[0])->payload(), ip), net::Ipv4Error::ok);
  EXPECT_EQ(ip.header_len, 20);
  net::IcmpMessage msg;
  ASSERT_EQ(net::parse_icmp(ip.payload, msg), net::IcmpError::ok);
  EXPECT_EQ(Frame(msg.body.begin(), msg.body.end()), echo_request_payload());
}

TEST_F(EngineTest, EchoRequestToBroadcastIsIgnored) {
  Frame icmp = pollux::testing::icmp_echo(8, 1, 1, echo_request_payload());
  feed(pollux::testing::eth_frame(
      net::MacAddr::broadcast(), kPeerMac, 0x0800,
      pollux::testing::ipv4_datagram(kPeerIp, make_ipv4(10, 0, 0, 255), net::kIpProtoIcmp, icmp)));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::drop_ip_not_for_us), 1u);
}

// RFC 1191 4 / RFC 5927 4.1: fragmentation needed is believed only about a segment of ours.
// A quote that cannot be one is refused before TCP looks, and counted (as IPv6's Packet Too
// Big quotes are): cut before the TCP ports and sequence number, not IPv4, a header length
// below 20, not TCP, or not from our address (the peer's segment to us, turned around).
TEST_F(EngineTest, FragNeededQuotingWhatCannotBeOurSegmentIsRefusedAndCounted) {
  net::TcpBuild b;
  b.src_port = 80;
  b.dst_port = 40000;
  b.seq = net::Seq(1000);
  b.flags = net::tcp_flags::ack;
  const Frame whole = pollux::testing::ipv4_datagram(
      kOurIp, kPeerIp, net::kIpProtoTcp,
      pollux::testing::tcp_segment(kOurIp, kPeerIp, b, nullptr, Frame(1000, 0)));
  const Frame ours(whole.begin(), whole.begin() + 20 + 8);  // what routers quote (RFC 792)
  auto frag_needed = [&](const Frame& quote) {
    Frame icmp(net::kIcmpHeaderLen + quote.size());
    std::copy(quote.begin(), quote.end(), icmp.begin() + net::kIcmpHeaderLen);
    net::write_icmp_header(icmp.data(), 3, net::kIcmpCodeFragNeeded, 1000, quote.size());
    return ip_from_peer(pollux::testing::ipv4_datagram(kGwIp, kOurIp, net::kIpProtoIcmp, icmp));
  };
  const Frame cut(ours.begin(), ours.begin() + 27);
  Frame v6 = ours;
  v6[0] = 0x65;
  Frame short_header = ours;
  short_header[0] = 0x44;
  Frame udp = ours;
  udp[9] = net::kIpProtoUdp;
  Frame theirs = ours;
  std::copy(ours.begin() + 16, ours.begin() + 20, theirs.begin() + 12);
  std::copy(ours.begin() + 12, ours.begin() + 16, theirs.begin() + 16);
  for (const Frame& q : {cut, v6, short_header, udp, theirs}) feed(frag_needed(q));
  EXPECT_EQ(count(base::Counter::icmp_frag_needed_received), 5u);
  EXPECT_EQ(count(base::Counter::drop_icmp_bad_quote), 5u);
  EXPECT_EQ(count(base::Counter::drop_tcp_icmp_invalid), 0u) << "TCP never saw them";
  // A quote of a segment of ours goes on to TCP, which knows no such connection.
  feed(frag_needed(ours));
  EXPECT_EQ(count(base::Counter::drop_icmp_bad_quote), 5u);
  EXPECT_EQ(count(base::Counter::drop_tcp_icmp_invalid), 1u);
  EXPECT_TRUE(sent().empty());
}

// The router's message is hashed by the router's address and ours (a NIC's RSS), not by the
// quoted connection's ports, so it may reach an lcore that does not own the connection. As
// IPv6's Packet Too Big (Tcp6PmtuSharded), it goes to the owner: two engines of one port with
// the shard function and the steering mesh as drivers-glue sets them up, played in turn.
class FragNeededSharded : public EngineFrames {};

TEST_F(FragNeededSharded, AFragNeededOnTheWrongLcoreIsPassedToTheConnectionsOwner) {
  make_pool(511);
  EngineConfig c;
  c.iface.mac = kOurMac;
  c.iface.addrs = {net::Ipv4Prefix{kOurIp, 24}};
  c.iface.gateway = kGwIp;
  pollux::testing::ShardedEngines lcores(c, pool_.get(), 2, "fragneeded_st");
  ASSERT_TRUE(lcores.ok());
  constexpr uint16_t kPort = 80;
  pollux::testing::IcmpToOwner ptb;
  ptb.port = kPort;
  const net::ArpPacket who_has{net::ArpOp::request, kPeerMac, kPeerIp, net::MacAddr{}, kOurIp};
  ptb.neighbour = pollux::testing::eth_frame(net::MacAddr::broadcast(), kPeerMac, 0x0806,
                                             pollux::testing::arp_body(who_has));
  ptb.tuple = [](uint16_t sport) { return net::FourTuple{kOurIp, kPeerIp, kPort, sport}; };
  ptb.to_us = [](const net::TcpBuild& b, const net::TcpOptions* o) {
    return pollux::testing::eth_frame(
        kOurMac, kPeerMac, 0x0800,
        pollux::testing::ipv4_datagram(kPeerIp, kOurIp, net::kIpProtoTcp,
                                       pollux::testing::tcp_segment(kPeerIp, kOurIp, b, o)));
  };
  ptb.l3_len = 20;
  ptb.mss = 1460;
  // What a router quotes (RFC 792): the IP header and the first 8 bytes of TCP; the next-hop
  // MTU 1400 (RFC 1191 4).
  ptb.icmp_about = [](const Frame& data) {
    const Frame quoted(data.begin() + 14, data.begin() + 14 + 20 + 8);
    Frame icmp(net::kIcmpHeaderLen + quoted.size());
    std::copy(quoted.begin(), quoted.end(), icmp.begin() + net::kIcmpHeaderLen);
    net::write_icmp_header(icmp.data(), 3, net::kIcmpCodeFragNeeded, 1400, quoted.size());
    return pollux::testing::eth_frame(
        kOurMac, kGwMac, 0x0800,
        pollux::testing::ipv4_datagram(kGwIp, kOurIp, net::kIpProtoIcmp, icmp));
  };
  ptb.received = base::Counter::icmp_frag_needed_received;
  ptb.wrong_lcore = base::Counter::drop_icmp_frag_needed_wrong_lcore;
  ptb.passed_to_owner = base::Counter::icmp_frag_needed_passed_to_owner;
  ptb.mss_after = 1400 - 40;
  const auto played = pollux::testing::play_icmp_to_owner(lcores, ptb);
  ASSERT_NE(played.conn, nullptr);
  // The 1000 bytes in flight fit 1360: resent at once, in one packet of 1040 bytes.
  ASSERT_EQ(played.after.size(), 1u);
  EXPECT_EQ(played.after[0].size() - 14, 1040u);

  lcores[1].tcp().abort(played.conn);
  (void)lcores.sent(1);
  lcores.stop();
  EXPECT_EQ(held(), 0u) << "mbufs leaked";
}

// --- TCP with no connection (RFC 9293 3.10.7.1) --------------------------------------------

TEST_F(EngineTest, SynToClosedPortGetsRstAckAcknowledgingTheSyn) {
  peer_arps_us();
  feed(ip_from_peer(pollux::testing::ipv4_datagram(kPeerIp, kOurIp, net::kIpProtoTcp,
                                                   syn_from(kPeerIp, 40001))));
  auto out = sent();
  ASSERT_EQ(out.size(), 1u);
  net::Ipv4Header ip;
  ASSERT_EQ(net::parse_ipv4(net::EthernetView::parse(out[0])->payload(), ip), net::Ipv4Error::ok);
  EXPECT_TRUE(ip.dont_fragment);
  EXPECT_EQ(net::ipv4_l4_checksum(ip.src, ip.dst, net::kIpProtoTcp, ip.payload), 0);
  net::TcpHeader t;
  ASSERT_EQ(net::parse_tcp(ip.payload, t), net::TcpHeaderError::ok);
  EXPECT_EQ(t.src_port, 9);
  EXPECT_EQ(t.dst_port, 40001);
  EXPECT_EQ(t.flags, net::tcp_flags::rst | net::tcp_flags::ack);
  EXPECT_EQ(t.seq, net::Seq(0));
  EXPECT_EQ(t.ack, net::Seq(1001));  // SEG.SEQ + SEG.LEN, the SYN counting one
  EXPECT_TRUE(t.payload.empty());
}

TEST_F(EngineTest, AckSegmentToClosedPortGetsRstWithSeqFromItsAck) {
  peer_arps_us();
  net::TcpBuild b;
  b.src_port = 40002;
  b.dst_port = 80;
  b.seq = net::Seq(5);
  b.ack = net::Seq(0xfffffff0);
  b.flags = net::tcp_flags::ack | net::tcp_flags::psh;
  Frame seg = pollux::testing::tcp_segment(kPeerIp, kOurIp, b, nullptr, Frame(100, 0xab));
  feed(ip_from_peer(pollux::testing::ipv4_datagram(kPeerIp, kOurIp, net::kIpProtoTcp, seg)));
  auto out = sent();
  ASSERT_EQ(out.size(), 1u);
  net::Ipv4Header ip;
  ASSERT_EQ(net::parse_ipv4(net::EthernetView::parse(out[0])->payload(), ip), net::Ipv4Error::ok);
  net::TcpHeader t;
  ASSERT_EQ(net::parse_tcp(ip.payload, t), net::TcpHeaderError::ok);
  EXPECT_EQ(t.flags, net::tcp_flags::rst);
  EXPECT_EQ(t.seq, net::Seq(0xfffffff0));
}

// A frame as a zero-copy sender builds it (issue 13 item 4): the headers in one mbuf, the
// payload in an indirect mbuf attached to someone else's buffer. `cut` is where the frame
// splits (the end of the TCP header).
rte_mbuf* chained_frame(rte_mempool* pool, const Frame& f, size_t cut, rte_mbuf** shared) {
  rte_mbuf* head =
      pollux::testing::to_mbuf(pool, Frame(f.begin(), f.begin() + static_cast<long>(cut)));
  *shared = pollux::testing::to_mbuf(pool, Frame(f.begin() + static_cast<long>(cut), f.end()));
  rte_mbuf* ref = rte_pktmbuf_alloc(pool);
  if (!head || !*shared || !ref) return nullptr;
  rte_pktmbuf_attach(ref, *shared);
  if (rte_pktmbuf_chain(head, ref) != 0) return nullptr;
  return head;
}

TEST_F(EngineTest, ChainedSegmentIsParsedInPlaceAndItsSharedPayloadLeftUntouched) {
  peer_arps_us();
  const unsigned before = rte_mempool_avail_count(pool_.get());
  net::TcpBuild b;
  b.src_port = 40004;
  b.dst_port = 80;
  b.seq = net::Seq(5);
  b.ack = net::Seq(0x1234);
  b.flags = net::tcp_flags::ack | net::tcp_flags::psh;
  const Frame payload(1000, 0x5a);
  const Frame f = ip_from_peer(pollux::testing::ipv4_datagram(
      kPeerIp, kOurIp, net::kIpProtoTcp,
      pollux::testing::tcp_segment(kPeerIp, kOurIp, b, nullptr, payload)));
  rte_mbuf* shared = nullptr;
  rte_mbuf* m = chained_frame(pool_.get(), f, f.size() - payload.size(), &shared);
  ASSERT_NE(m, nullptr);
  engine_->input(&m, 1, 0);
  // Checksum verified over the chain in software, answered as a closed port (RFC 9293
  // 3.10.7.1): the reset takes its sequence number from the segment's ACK.
  auto out = sent();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(count(base::Counter::drop_tcp_bad_checksum), 0u);
  net::Ipv4Header ip;
  ASSERT_EQ(net::parse_ipv4(net::EthernetView::parse(out[0])->payload(), ip), net::Ipv4Error::ok);
  net::TcpHeader t;
  ASSERT_EQ(net::parse_tcp(ip.payload, t), net::TcpHeaderError::ok);
  EXPECT_EQ(t.flags, net::tcp_flags::rst);
  EXPECT_EQ(t.seq, net::Seq(0x1234));
  // The payload's owner still holds its buffer, unchanged; every other mbuf went back.
  EXPECT_EQ(rte_mbuf_refcnt_read(shared), 1u);
  EXPECT_EQ(pollux::testing::bytes_of(shared), payload);
  rte_pktmbuf_free(shared);
  EXPECT_EQ(rte_mempool_avail_count(pool_.get()), before);
}

TEST_F(EngineTest, ChainedSegmentWithABadChecksumIsDroppedUnderItsName) {
  peer_arps_us();
  net::TcpBuild b;
  b.src_port = 40005;
  b.dst_port = 80;
  b.flags = net::tcp_flags::ack;
  Frame payload(600, 0x11);
  const Frame good = ip_from_peer(pollux::testing::ipv4_datagram(
      kPeerIp, kOurIp, net::kIpProtoTcp,
      pollux::testing::tcp_segment(kPeerIp, kOurIp, b, nullptr, payload)));
  Frame bad = good;
  bad.back() ^= 0x40;  // one payload bit, in the second buffer
  rte_mbuf* shared = nullptr;
  rte_mbuf* m = chained_frame(pool_.get(), bad, bad.size() - payload.size(), &shared);
  ASSERT_NE(m, nullptr);
  engine_->input(&m, 1, 0);
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::drop_tcp_bad_checksum), 1u);
  EXPECT_EQ(rte_mbuf_refcnt_read(shared), 1u);
  rte_pktmbuf_free(shared);
}

TEST_F(EngineTest, RstToClosedPortIsDroppedSilently) {
  peer_arps_us();
  net::TcpBuild b;
  b.src_port = 40003;
  b.dst_port = 80;
  b.flags = net::tcp_flags::rst;
  feed(ip_from_peer(pollux::testing::ipv4_datagram(kPeerIp, kOurIp, net::kIpProtoTcp,
                                                   pollux::testing::tcp_segment(kPeerIp, kOurIp, b))));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::drop_tcp_rst_to_closed), 1u);
}

// --- Checksum offload: the NIC's result equals the software path -------------------------

// What a NIC does with RTE_MBUF_F_TX_IP_CKSUM / RTE_MBUF_F_TX_TCP_CKSUM.
Frame nic_finish(Frame f, uint64_t flags) {
  uint8_t* ip = f.data() + net::kEthernetHeaderLen;
  const size_t ihl = (ip[0] & 0xf) * 4u;
  if (flags & RTE_MBUF_F_TX_IP_CKSUM) net::store_be16(ip + 10, net::internet_checksum({ip, ihl}));
  if (flags & RTE_MBUF_F_TX_TCP_CKSUM) {
    // The field holds the pseudo-header seed; the NIC sums the segment over it.
    uint8_t* tcp = ip + ihl;
    const size_t len = net::load_be16(ip + 2) - ihl;
    net::store_be16(tcp + 16, net::internet_checksum({tcp, len}));
  }
  return f;
}

TEST_F(EngineTest, OffloadedChecksumsProduceTheSameBytesAsSoftware) {
  auto run = [&](Offloads o) {
    make_engine(o);
    peer_arps_us();
    feed(ip_from_peer(pollux::testing::ipv4_datagram(kPeerIp, kOurIp, net::kIpProtoTcp,
                                                     syn_from(kPeerIp, 40004))));
    auto out = sent();
    EXPECT_EQ(out.size(), 1u);
    return out.empty() ? Frame{} : nic_finish(out[0], last_flags_);
  };
  Frame software = run(Offloads{});
  Offloads hw;
  hw.tx_ipv4_checksum = hw.tx_tcp_checksum = true;
  Frame offloaded = run(hw);
  EXPECT_TRUE(last_flags_ & RTE_MBUF_F_TX_TCP_CKSUM);
  EXPECT_TRUE(last_flags_ & RTE_MBUF_F_TX_IP_CKSUM);
  EXPECT_EQ(software, offloaded);
}

TEST_F(EngineTest, ChainWithAnOddInnerBufferIsChecksummedInSoftwareEvenWithOffload) {
  // A zero-copy segment whose first payload buffer holds an odd number of bytes: a device
  // summing buffer by buffer would get it wrong, so the engine sums it and asks for nothing.
  net::TcpBuild b;
  b.src_port = 80;
  b.dst_port = 40006;
  b.flags = net::tcp_flags::ack;
  Frame payload(701);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 13 + 1);
  const Frame f = pollux::testing::eth_frame(
      kPeerMac, kOurMac, 0x0800,
      pollux::testing::ipv4_datagram(
          kOurIp, kPeerIp, net::kIpProtoTcp,
          pollux::testing::tcp_segment(kOurIp, kPeerIp, b, nullptr, payload)));
  const size_t headers = f.size() - payload.size();
  for (size_t inner : {size_t{300}, size_t{301}}) {
    rte_mbuf* m = pollux::testing::to_mbuf(
        pool_.get(), Frame(f.begin(), f.begin() + static_cast<long>(headers)));
    rte_mbuf* p1 = pollux::testing::to_mbuf(pool_.get(),
                                            Frame(f.begin() + static_cast<long>(headers),
                                                  f.begin() + static_cast<long>(headers + inner)));
    rte_mbuf* p2 = pollux::testing::to_mbuf(
        pool_.get(), Frame(f.begin() + static_cast<long>(headers + inner), f.end()));
    ASSERT_TRUE(m && p1 && p2);
    ASSERT_EQ(rte_pktmbuf_chain(m, p1), 0);
    ASSERT_EQ(rte_pktmbuf_chain(m, p2), 0);
    uint8_t* ip = rte_pktmbuf_mtod_offset(m, uint8_t*, net::kEthernetHeaderLen);
    net::store_be16(ip + 20 + 16, 0);
    Offloads o;
    o.tx_ipv4_checksum = o.tx_tcp_checksum = true;
    prepare_tx_checksums(m, o);
    const bool offloaded = (m->ol_flags & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_TCP_CKSUM;
    EXPECT_EQ(offloaded, inner % 2 == 0) << "inner buffer of " << inner << " bytes";
    if (!offloaded) {
      Frame flat = pollux::testing::bytes_of(m);
      net::Ipv4Header h;
      ASSERT_EQ(net::parse_ipv4(net::EthernetView::parse(flat)->payload(), h, false),
                net::Ipv4Error::ok);
      EXPECT_EQ(net::ipv4_l4_checksum(h.src, h.dst, net::kIpProtoTcp, h.payload), 0);
    }
    rte_pktmbuf_free(m);
  }
}

// Issue 13 item 2: a TSO frame (the TCP layer set RTE_MBUF_F_TX_TCP_SEG and tso_segsz) is
// prepared as DPDK's TSO contract asks whatever the checksum offloads: the IPv4 checksum left
// to the device (field 0, TX_IP_CKSUM), the TCP field seeded with the pseudo-header sum
// without the length (each segment the device cuts has its own), the header lengths set.
TEST_F(EngineTest, ATsoFrameIsPreparedAsTheTsoContractAsks) {
  net::TcpBuild b;
  b.src_port = 80;
  b.dst_port = 40007;
  b.flags = net::tcp_flags::ack;
  const Frame payload(3 * 1448, 0x5a);
  const Frame f = pollux::testing::eth_frame(
      kPeerMac, kOurMac, 0x0800,
      pollux::testing::ipv4_datagram(
          kOurIp, kPeerIp, net::kIpProtoTcp,
          pollux::testing::tcp_segment(kOurIp, kPeerIp, b, nullptr, payload)));
  rte_mbuf* m = pollux::testing::to_mbuf(pool_.get(), f);
  ASSERT_NE(m, nullptr);
  EXPECT_GT(m->nb_segs, 1) << "a frame longer than a buffer is a chain";
  m->ol_flags = RTE_MBUF_F_TX_TCP_SEG;
  m->tso_segsz = 1448;
  Offloads o;  // whatever the checksum offloads say: TSO leaves both to the device
  o.tx_tso = true;
  prepare_tx_checksums(m, o);
  EXPECT_EQ(m->ol_flags & (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_SEG),
            RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_SEG);
  EXPECT_EQ(m->l2_len, 14u);
  EXPECT_EQ(m->l3_len, 20u);
  EXPECT_EQ(m->l4_len, 20u);
  EXPECT_EQ(m->tso_segsz, 1448u);
  const uint8_t* ip = rte_pktmbuf_mtod_offset(m, const uint8_t*, 14);
  EXPECT_EQ(net::load_be16(ip + 10), 0) << "the IPv4 checksum is the device's";
  EXPECT_EQ(net::load_be16(ip + 20 + 16),
            net::ipv4_offload_pseudo_checksum(kOurIp, kPeerIp, net::kIpProtoTcp, 0, true));
  rte_pktmbuf_free(m);
}

// The same over IPv6 (issue 16): TX_IPV6 (no IP checksum flag: IPv6 has none), l3_len 40,
// and the TCP field seeded with the IPv6 pseudo-header sum (RFC 8200 8.1) without the
// upper-layer length, as rte_ipv6_phdr_cksum gives it for TSO.
TEST_F(EngineTest, ATsoFrameOverIpv6IsPreparedAsTheTsoContractAsks) {
  const net::Ipv6Addr ours = *net::Ipv6Addr::parse("fd00:99::2");
  const net::Ipv6Addr peer = *net::Ipv6Addr::parse("fd00:99::1");
  net::TcpBuild b;
  b.src_port = 80;
  b.dst_port = 40007;
  b.flags = net::tcp_flags::ack;
  const Frame payload(3 * 1428, 0x5a);
  const Frame f = pollux::testing::eth_frame(
      kPeerMac, kOurMac, 0x86dd,
      pollux::testing::ipv6_datagram(
          ours, peer, net::kIpProtoTcp,
          pollux::testing::tcp6_segment(ours, peer, b, nullptr, payload)));
  rte_mbuf* m = pollux::testing::to_mbuf(pool_.get(), f);
  ASSERT_NE(m, nullptr);
  m->ol_flags = RTE_MBUF_F_TX_TCP_SEG;
  m->tso_segsz = 1428;
  Offloads o;
  o.tx_tso = true;
  prepare_tx_checksums(m, o);
  EXPECT_EQ(m->ol_flags, RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_SEG)
      << "no IPv4 flags, no TX_TCP_CKSUM beside TCP_SEG (implied)";
  EXPECT_EQ(m->l2_len, 14u);
  EXPECT_EQ(m->l3_len, 40u);
  EXPECT_EQ(m->l4_len, 20u);
  EXPECT_EQ(m->tso_segsz, 1428u);
  EXPECT_EQ(net::load_be16(rte_pktmbuf_mtod_offset(m, const uint8_t*, 14 + 40 + 16)),
            net::ipv6_offload_pseudo_checksum(ours, peer, net::kIpProtoTcp, 0, true));
  EXPECT_NE(net::ipv6_offload_pseudo_checksum(ours, peer, net::kIpProtoTcp, 0, true),
            net::ipv6_offload_pseudo_checksum(ours, peer, net::kIpProtoTcp, 20 + 3 * 1428, false))
      << "the seed without the length is not the seed with it";
  rte_pktmbuf_free(m);
}

// Issue 13: the TCP layer completes its data segments itself (tcp::prepare_segment_checksums,
// from the lengths and family it knows) instead of the engine parsing them again. For both
// families, with and without TSO, in one buffer and as a header chained to one payload
// buffer, under every checksum offload setting: the same mbuf fields and the same bytes as
// the engine's prepare_tx_checksums, or (a chain summed in software) nothing touched, left to
// the engine.
TEST_F(EngineTest, TheTcpLayersChecksumsAreTheEnginesForEverySegmentItBuilds) {
  const net::Ipv6Addr ours6 = *net::Ipv6Addr::parse("fd00:99::2");
  const net::Ipv6Addr peer6 = *net::Ipv6Addr::parse("fd00:99::1");
  for (bool v4 : {true, false})
    for (bool tso : {false, true})
      for (bool chained : {false, true})
        for (bool ip_off : {false, true})
          for (bool tcp_off : {false, true}) {
            SCOPED_TRACE(::testing::Message()
                         << (v4 ? "IPv4" : "IPv6") << (tso ? " TSO" : "") << (chained ? " chain" : " one buffer")
                         << " ip offload " << ip_off << " tcp offload " << tcp_off);
            const uint16_t opt_len = 12;  // the timestamps option, as send_segment writes it
            const size_t payload = tso ? 3 * 1000 + 7 : 333;
            const size_t ip_len = tcp::ip_header_len(v4);
            const size_t headers = net::kEthernetHeaderLen + ip_len + net::kTcpMinHeaderLen + opt_len;
            Frame f(headers + payload);
            for (size_t i = headers; i < f.size(); ++i) f[i] = static_cast<uint8_t>(i * 7 + 3);
            const auto tcp_len = static_cast<uint16_t>(f.size() - net::kEthernetHeaderLen - ip_len);
            uint8_t* ip = f.data() + net::kEthernetHeaderLen;
            if (v4)
              (void)tcp::write_ipv4_header_for(ip, kOurIp, kPeerIp, tcp_len, 77);
            else
              (void)tcp::write_ipv6_header_for(ip, ours6, peer6, tcp_len);
            net::TcpBuild b;
            b.src_port = 80;
            b.dst_port = 40008;
            b.seq = net::Seq(1234567);
            b.ack = net::Seq(7654321);
            b.flags = static_cast<uint8_t>(net::tcp_flags::ack | net::tcp_flags::psh);
            b.window = 512;
            b.options_len = static_cast<uint8_t>(opt_len);
            net::write_ts_appa(ip + ip_len + net::kTcpMinHeaderLen, 11, 22);
            net::write_tcp_header(ip + ip_len, b);
            auto build = [&] {
              if (!chained && !tso) return pollux::testing::to_mbuf(pool_.get(), f);
              rte_mbuf* h = pollux::testing::to_mbuf(pool_.get(), Frame(f.begin(), f.begin() + static_cast<long>(headers)));
              rte_mbuf* d = pollux::testing::to_mbuf(pool_.get(), Frame(f.begin() + static_cast<long>(headers), f.end()));
              EXPECT_TRUE(h && d && rte_pktmbuf_chain(h, d) == 0);
              return h;
            };
            rte_mbuf* engine_made = build();
            rte_mbuf* layer_made = build();
            ASSERT_TRUE(engine_made && layer_made);
            for (rte_mbuf* m : {engine_made, layer_made})
              if (tso) {
                m->ol_flags = RTE_MBUF_F_TX_TCP_SEG;
                m->tso_segsz = 1000;
              }
            Offloads o;
            o.tx_ipv4_checksum = ip_off;
            o.tx_tcp_checksum = tcp_off;
            o.tx_tso = tso;
            prepare_tx_checksums(engine_made, o);
            const bool done = tcp::prepare_segment_checksums(
                layer_made, rte_pktmbuf_mtod_offset(layer_made, uint8_t*, net::kEthernetHeaderLen), v4,
                static_cast<uint16_t>(net::kTcpMinHeaderLen + opt_len), tcp_len,
                tcp::TxChecksums{.prepare = true, .ipv4 = ip_off, .tcp = tcp_off});
            const bool left_to_engine = chained && !tso && !tcp_off && layer_made->nb_segs > 1;
            EXPECT_EQ(done, !left_to_engine);
            EXPECT_EQ(tx_checksums_prepared(layer_made), done);
            if (done) {
              EXPECT_EQ(layer_made->ol_flags, engine_made->ol_flags);
              EXPECT_EQ(layer_made->l2_len, engine_made->l2_len);
              EXPECT_EQ(layer_made->l3_len, engine_made->l3_len);
              EXPECT_EQ(layer_made->l4_len, engine_made->l4_len);
              EXPECT_EQ(layer_made->tso_segsz, engine_made->tso_segsz);
              EXPECT_EQ(pollux::testing::bytes_of(layer_made), pollux::testing::bytes_of(engine_made));
            } else {
              EXPECT_EQ(pollux::testing::bytes_of(layer_made), f) << "nothing written";
              EXPECT_EQ(layer_made->l2_len, 0u);
            }
            rte_pktmbuf_free(engine_made);
            rte_pktmbuf_free(layer_made);
          }
}

TEST_F(EngineTest, RxChecksumVerdictOfTheDeviceIsTrusted) {
  Offloads o;
  o.rx_ipv4_checksum = o.rx_tcp_checksum = true;
  make_engine(o);
  peer_arps_us();
  Frame f = ip_from_peer(
      pollux::testing::ipv4_datagram(kPeerIp, kOurIp, net::kIpProtoTcp, syn_from(kPeerIp)));
  rte_mbuf* m = pollux::testing::to_mbuf(pool_.get(), f);
  m->ol_flags = RTE_MBUF_F_RX_IP_CKSUM_BAD;
  engine_->input(&m, 1, 0);
  m = pollux::testing::to_mbuf(pool_.get(), f);
  m->ol_flags = RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_BAD;
  engine_->input(&m, 1, 0);
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::drop_ip_bad_checksum), 1u);
  EXPECT_EQ(count(base::Counter::drop_tcp_bad_checksum), 1u);
}

TEST(MbufChecksum, ChainedSegmentsOfOddLengthsSumLikeOneBuffer) {
  std::unique_ptr<rte_mempool, EngineFrames::PoolDeleter> pool(
      rte_pktmbuf_pool_create("csum_chain", 63, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY));
  ASSERT_NE(pool, nullptr);
  Frame data(1001);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 31 + 17);
  const size_t cuts[] = {1, 7, 300, 301, 1001};  // segment ends, odd and even
  rte_mbuf* head = nullptr;
  size_t start = 0;
  for (size_t end : cuts) {
    Frame part(data.begin() + static_cast<long>(start), data.begin() + static_cast<long>(end));
    rte_mbuf* seg = pollux::testing::to_mbuf(pool.get(), part);
    ASSERT_NE(seg, nullptr);
    if (!head) head = seg;
    else ASSERT_EQ(rte_pktmbuf_chain(head, seg), 0);
    start = end;
  }
  for (uint32_t off : {0u, 1u, 5u, 299u}) {
    const uint32_t len = static_cast<uint32_t>(data.size()) - off;
    EXPECT_EQ(net::checksum_fold(mbuf_checksum_accumulate(head, off, len)),
              net::checksum_fold(net::checksum_accumulate({data.data() + off, len})))
        << "offset " << off;
  }
  rte_pktmbuf_free(head);
}

// --- Resources ---------------------------------------------------------------------------

TEST_F(EngineTest, EmptyMempoolIsCountedAndRecoveredFrom) {
  make_engine({}, {}, 63);
  // Drain the pool, then ask for a resolution: the ARP request cannot be allocated.
  std::vector<rte_mbuf*> held;
  rte_mbuf* keep = pollux::testing::to_mbuf(
      pool_.get(), ip_from_peer(pollux::testing::ipv4_datagram(kPeerIp, kOurIp, net::kIpProtoTcp,
                                                               syn_from(kPeerIp))));
  ASSERT_NE(keep, nullptr);
  while (rte_mbuf* m = rte_pktmbuf_alloc(pool_.get())) held.push_back(m);
  engine_->input(&keep, 1, 0);
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::drop_no_mbuf), 1u);
  for (rte_mbuf* m : held) rte_pktmbuf_free(m);
  // The pending packet is still held; the retry goes out once buffers are back.
  engine_->poll(2 * kSecond);
  EXPECT_EQ(sent().size(), 1u);
  feed(arp_from_peer(net::ArpOp::reply, kOurIp, kOurMac), 2 * kSecond);
  EXPECT_EQ(sent().size(), 1u);
  EXPECT_EQ(count(base::Counter::tcp_rst_sent), 1u);
}

// --- Hostile input: every malformed frame is dropped under its own name, nothing is sent ---

struct HostileCase {
  const char* name;
  base::Counter expected;
  Frame (*make)();
};

Frame good_syn_datagram() {
  return pollux::testing::ipv4_datagram(kPeerIp, kOurIp, net::kIpProtoTcp, syn_from(kPeerIp));
}
Frame with_ip(Frame d) { return pollux::testing::eth_frame(kOurMac, kPeerMac, 0x0800, d); }
void fix_ip_checksum(Frame& d) {
  const size_t ihl = (d[0] & 0xf) * 4u;
  net::store_be16(d.data() + 10, 0);
  if (ihl >= 20 && ihl <= d.size()) net::store_be16(d.data() + 10, net::internet_checksum({d.data(), ihl}));
}
// A TCP segment whose header bytes are patched by `patch`, checksum recomputed after.
template <class Patch>
Frame patched_tcp(Patch patch) {
  Frame seg = syn_from(kPeerIp);
  patch(seg);
  net::store_be16(seg.data() + 16, 0);
  net::store_be16(seg.data() + 16, net::ipv4_l4_checksum(kPeerIp, kOurIp, net::kIpProtoTcp, seg));
  return with_ip(pollux::testing::ipv4_datagram(kPeerIp, kOurIp, net::kIpProtoTcp, seg));
}

constexpr uint8_t kSyn = net::tcp_flags::syn;

const HostileCase kHostile[] = {
    {"runt_frame", base::Counter::drop_short_frame, [] { return Frame(13, 0xff); }},
    {"other_station", base::Counter::drop_not_our_mac,
     [] {
       return pollux::testing::eth_frame({{0x02, 9, 9, 9, 9, 9}}, kPeerMac, 0x0800,
                                         good_syn_datagram());
     }},
    {"vlan_tag", base::Counter::drop_vlan_tagged,
     [] { return pollux::testing::eth_frame(kOurMac, kPeerMac, 0x8100, Frame(46)); }},
    {"ipv6", base::Counter::drop_ipv6,
     [] { return pollux::testing::eth_frame(kOurMac, kPeerMac, 0x86dd, Frame(46)); }},
    {"llc_length_field", base::Counter::drop_bad_ether_type,
     [] { return pollux::testing::eth_frame(kOurMac, kPeerMac, 46, Frame(46)); }},
    {"arp_truncated", base::Counter::drop_arp_malformed,
     [] { return pollux::testing::eth_frame(kOurMac, kPeerMac, 0x0806, Frame(27)); }},
    {"arp_opcode_3", base::Counter::drop_arp_malformed,
     [] {
       Frame b = pollux::testing::arp_body({net::ArpOp::request, kPeerMac, kPeerIp, {}, kOurIp});
       b[7] = 3;
       return pollux::testing::eth_frame(kOurMac, kPeerMac, 0x0806, b);
     }},
    {"ip_truncated", base::Counter::drop_ip_truncated, [] { return with_ip(Frame(19, 0x45)); }},
    {"ip_version_6", base::Counter::drop_ip_bad_version,
     [] {
       Frame d = good_syn_datagram();
       d[0] = 0x65;
       return with_ip(d);
     }},
    {"ip_ihl_4", base::Counter::drop_ip_bad_header_length,
     [] {
       Frame d = good_syn_datagram();
       d[0] = 0x44;
       return with_ip(d);
     }},
    {"ip_total_length_beyond_frame", base::Counter::drop_ip_bad_total_length,
     [] {
       Frame d = good_syn_datagram();
       net::store_be16(d.data() + 2, static_cast<uint16_t>(d.size() + 1));
       fix_ip_checksum(d);
       return with_ip(d);
     }},
    {"ip_total_length_below_header", base::Counter::drop_ip_bad_total_length,
     [] {
       Frame d = good_syn_datagram();
       net::store_be16(d.data() + 2, 19);
       fix_ip_checksum(d);
       return with_ip(d);
     }},
    {"ip_bad_checksum", base::Counter::drop_ip_bad_checksum,
     [] {
       Frame d = good_syn_datagram();
       d[10] ^= 0x5a;
       return with_ip(d);
     }},
    {"ip_source_broadcast", base::Counter::drop_ip_bad_source,
     [] {
       return with_ip(pollux::testing::ipv4_datagram(net::Ipv4Addr{0xffffffff}, kOurIp,
                                                     net::kIpProtoTcp, syn_from(kPeerIp)));
     }},
    // Martian sources (RFC 1122 3.2.1.3): "this network", loopback, reserved; the source
    // checksum is computed over the spoofed address, so only the filter can refuse them.
    {"ip_source_this_network", base::Counter::drop_ip_bad_source,
     [] {
       const net::Ipv4Addr src = make_ipv4(0, 1, 2, 3);
       return with_ip(pollux::testing::ipv4_datagram(src, kOurIp, net::kIpProtoTcp, syn_from(src)));
     }},
    {"ip_source_loopback", base::Counter::drop_ip_bad_source,
     [] {
       const net::Ipv4Addr src = make_ipv4(127, 0, 0, 1);
       return with_ip(pollux::testing::ipv4_datagram(src, kOurIp, net::kIpProtoTcp, syn_from(src)));
     }},
    {"ip_source_reserved_240", base::Counter::drop_ip_bad_source,
     [] {
       const net::Ipv4Addr src = make_ipv4(240, 0, 0, 7);
       return with_ip(pollux::testing::ipv4_datagram(src, kOurIp, net::kIpProtoTcp, syn_from(src)));
     }},
    {"ip_source_multicast", base::Counter::drop_ip_bad_source,
     [] {
       const net::Ipv4Addr src = make_ipv4(224, 0, 0, 9);
       return with_ip(pollux::testing::ipv4_datagram(src, kOurIp, net::kIpProtoTcp, syn_from(src)));
     }},
    {"ip_source_directed_broadcast", base::Counter::drop_ip_bad_source,
     [] {
       const net::Ipv4Addr src = make_ipv4(10, 0, 0, 255);  // our /24's broadcast
       return with_ip(pollux::testing::ipv4_datagram(src, kOurIp, net::kIpProtoTcp, syn_from(src)));
     }},
    // LAND: source = destination; answering would send the SYN-ACK to ourselves.
    {"ip_land_source_is_destination", base::Counter::drop_ip_land,
     [] {
       return with_ip(pollux::testing::ipv4_datagram(kOurIp, kOurIp, net::kIpProtoTcp,
                                                     syn_from(kOurIp)));
     }},
    {"ip_not_for_us", base::Counter::drop_ip_not_for_us,
     [] {
       return with_ip(pollux::testing::ipv4_datagram(kPeerIp, make_ipv4(10, 0, 0, 9),
                                                     net::kIpProtoTcp, syn_from(kPeerIp)));
     }},
    // A fragment with More Fragments whose 20 bytes are no multiple of 8 (RFC 791 3.2).
    {"ip_fragment_unaligned", base::Counter::drop_ip_reasm_bad_length,
     [] {
       Frame d = good_syn_datagram();
       net::store_be16(d.data() + 6, 0x2000);  // MF
       fix_ip_checksum(d);
       return with_ip(d);
     }},
    {"udp", base::Counter::drop_ip_unknown_protocol,
     [] {
       return with_ip(pollux::testing::ipv4_datagram(kPeerIp, kOurIp, net::kIpProtoUdp, Frame(8)));
     }},
    {"icmp_truncated", base::Counter::drop_icmp_malformed,
     [] {
       return with_ip(pollux::testing::ipv4_datagram(kPeerIp, kOurIp, net::kIpProtoIcmp, Frame(7)));
     }},
    {"icmp_bad_checksum", base::Counter::drop_icmp_bad_checksum,
     [] {
       Frame icmp = pollux::testing::icmp_echo(8, 1, 1, Frame(16, 1));
       icmp[2] ^= 1;
       return with_ip(pollux::testing::ipv4_datagram(kPeerIp, kOurIp, net::kIpProtoIcmp, icmp));
     }},
    {"tcp_truncated", base::Counter::drop_tcp_malformed,
     [] {
       return with_ip(pollux::testing::ipv4_datagram(kPeerIp, kOurIp, net::kIpProtoTcp, Frame(19)));
     }},
    {"tcp_data_offset_4", base::Counter::drop_tcp_malformed,
     [] { return patched_tcp([](Frame& s) { s[12] = 0x40; }); }},
    {"tcp_data_offset_beyond_segment", base::Counter::drop_tcp_malformed,
     [] { return patched_tcp([](Frame& s) { s[12] = 0xf0; }); }},
    {"tcp_bad_checksum", base::Counter::drop_tcp_bad_checksum,
     [] {
       Frame seg = syn_from(kPeerIp);
       seg[16] ^= 0x11;
       return with_ip(pollux::testing::ipv4_datagram(kPeerIp, kOurIp, net::kIpProtoTcp, seg));
     }},
    {"tcp_option_length_zero", base::Counter::drop_tcp_bad_options,
     [] {
       return patched_tcp([](Frame& s) {
         s.insert(s.begin() + 20, {2, 0, 0, 0});
         s[12] = 0x60;
       });
     }},
    {"tcp_mss_length_3", base::Counter::drop_tcp_bad_options,
     [] {
       return patched_tcp([](Frame& s) {
         s.insert(s.begin() + 20, {2, 3, 5, 1});
         s[12] = 0x60;
       });
     }},
    {"tcp_source_port_zero", base::Counter::drop_tcp_bad_ports,
     [] { return patched_tcp([](Frame& s) { s[0] = s[1] = 0; }); }},
    // SYN+FIN and SYN+RST: no stack sends them (scans and firewall evasion do).
    {"tcp_syn_fin", base::Counter::drop_tcp_bad_flags,
     [] { return patched_tcp([](Frame& s) { s[13] = kSyn | net::tcp_flags::fin; }); }},
    {"tcp_syn_rst", base::Counter::drop_tcp_bad_flags,
     [] { return patched_tcp([](Frame& s) { s[13] = kSyn | net::tcp_flags::rst; }); }},
    {"tcp_syn_fin_psh_urg", base::Counter::drop_tcp_bad_flags,
     [] {
       return patched_tcp([](Frame& s) {
         s[13] = kSyn | net::tcp_flags::fin | net::tcp_flags::psh | net::tcp_flags::urg;
       });
     }},
};

class HostileFrame : public EngineTest, public ::testing::WithParamInterface<HostileCase> {};

TEST_P(HostileFrame, IsDroppedUnderItsNameAndNothingIsSent) {
  peer_arps_us();
  feed(GetParam().make());
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(GetParam().expected), 1u) << counter_name(GetParam().expected);
  EXPECT_EQ(engine_->counters().total_drops(), 1u) << "exactly one drop, under one name";
}

INSTANTIATE_TEST_SUITE_P(Engine, HostileFrame, ::testing::ValuesIn(kHostile),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Counters, EveryCounterHasADistinctName) {
  for (size_t i = 0; i < base::kCounterCount; ++i)
    for (size_t j = i + 1; j < base::kCounterCount; ++j) EXPECT_NE(base::kCounterNames[i], base::kCounterNames[j]);
}

}  // namespace
}  // namespace pollux::engine
