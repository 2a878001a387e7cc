// The simulated link's fault model, and the first scenarios of two real engines over it:
// ARP resolution, a SYN to a closed port answered with RST (RFC 9293 3.10.7.1), loss,
// corruption caught by checksums, and a readable packet trace.
#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "../support/frames.hpp"
#include "net/checksum.hpp"
#include "sim_link.hpp"
#include "sim_seeds.hpp"
#include "sim_trace.hpp"
#include "sim_world.hpp"
#include "engine/checksum_offload.hpp"

namespace pollux::sim {
namespace {

using pollux::testing::Frame;
using base::Counter;

struct PoolDeleter {
  void operator()(rte_mempool* p) const { rte_mempool_free(p); }
};
using PoolPtr = std::unique_ptr<rte_mempool, PoolDeleter>;

PoolPtr make_pool(unsigned n) {
  static unsigned serial = 0;
  return PoolPtr(rte_pktmbuf_pool_create(("link_test_" + std::to_string(serial++)).c_str(), n, 0, 0,
                                         RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY));
}

// |observed - p| within `sigmas` standard deviations of a binomial(n, p) proportion.
void expect_proportion(uint64_t hits, uint64_t n, double p, const char* what, double sigmas = 5) {
  ASSERT_GT(n, 0u);
  const double observed = static_cast<double>(hits) / static_cast<double>(n);
  const double sd = std::sqrt(p * (1 - p) / static_cast<double>(n));
  EXPECT_NEAR(observed, p, sigmas * sd + 1e-12)
      << what << ": " << hits << " of " << n << " (configured " << p << ")";
}

// A 14 + 20 + 8 + `payload` byte IPv4/UDP-shaped frame whose payload starts with `id`.
Frame numbered_frame(uint32_t id, size_t payload = 58) {
  Frame l4(8 + payload, 0);
  net::store_be32(l4.data() + 8, id);
  for (size_t i = 12; i < l4.size(); ++i) l4[i] = static_cast<uint8_t>(i * 7 + id);
  return pollux::testing::eth_frame(kMacB, kMacA, 0x0800,
                                    pollux::testing::ipv4_datagram(kIpA, kIpB, 17, l4));
}
uint32_t frame_id(const Frame& f) {
  return net::load_be32(f.data() + 14 + 20 + 8);
}

int bits_differing(const Frame& x, const Frame& y, size_t& where) {
  int n = 0;
  for (size_t i = 0; i < std::min(x.size(), y.size()); ++i) {
    const int d = std::popcount(static_cast<unsigned>(x[i] ^ y[i]));
    if (d) where = i;
    n += d;
  }
  return n;
}

struct Delivery {
  uint64_t at;
  uint32_t id;
  uint8_t marks;
  Frame bytes;
  bool operator==(const Delivery&) const = default;
};

// Sends `n` numbered frames, one every `gap_ns`, and collects every delivery.
std::vector<Delivery> run_link(SimLink& link, rte_mempool* pool, uint32_t n, uint64_t gap_ns,
                               uint64_t t = 1'000'000) {
  std::vector<Delivery> out;
  uint8_t last_marks = 0;
  link.set_observer([&](LinkEvent e, uint64_t, const rte_mbuf*, uint8_t marks) {
    if (e == LinkEvent::delivered) last_marks = marks;
  });
  auto collect = [&](uint64_t now) {
    rte_mbuf* burst[32];
    uint16_t k;
    while ((k = link.receive(now, burst, 1)) > 0) {
      Frame f = pollux::testing::bytes_of(burst[0]);
      out.push_back(Delivery{now, frame_id(f), last_marks, std::move(f)});
      rte_pktmbuf_free(burst[0]);
    }
  };
  for (uint32_t i = 0; i < n; ++i, t += gap_ns) {
    collect(t);
    rte_mbuf* m = pollux::testing::to_mbuf(pool, numbered_frame(i));
    EXPECT_NE(m, nullptr);
    if (!m) break;
    link.send(m, t);
  }
  while (link.in_flight() > 0) collect(link.next_delivery());
  link.set_observer(nullptr);
  return out;
}

// --- The link alone ------------------------------------------------------------------------

TEST(SimLink, FaultStatisticsMatchTheConfiguredProbabilities) {
  auto pool = make_pool(8191);
  Faults f;
  f.loss = 0.1;
  f.duplicate = 0.05;
  f.reorder = 0.2;
  f.reorder_delay_ns = 50'000;
  f.corrupt = 0.03;
  f.delay_ns = 10'000;
  SimLink link(f, 42, pool.get());
  constexpr uint32_t kFrames = 100'000;
  const auto got = run_link(link, pool.get(), kFrames, 1'000);
  const LinkStats& s = link.stats();

  EXPECT_EQ(s.sent, kFrames);
  expect_proportion(s.lost, s.sent, f.loss, "lost");
  const uint64_t survived = s.sent - s.lost;
  expect_proportion(s.duplicated, survived, f.duplicate, "duplicated");
  expect_proportion(s.corrupted, survived, f.corrupt, "corrupted");
  expect_proportion(s.reordered, survived + s.duplicated, f.reorder, "reordered");
  EXPECT_EQ(s.delivered, survived + s.duplicated);
  EXPECT_EQ(got.size(), s.delivered);
  EXPECT_EQ(s.fcs_drops, 0u) << "every frame is IPv4: corruption reaches the receiver";
  EXPECT_EQ(s.burst_lost + s.queue_drops + s.nombuf_drops, 0u);

  // Each delivery is the frame sent, or that frame with exactly one bit flipped inside the
  // IPv4 datagram; frames do overtake each other.
  uint64_t corrupted = 0, overtaken = 0;
  uint32_t max_id = 0;
  for (const auto& d : got) {
    size_t where = 0;
    int flipped = bits_differing(numbered_frame(d.id), d.bytes, where);
    for (int k = 0; k < 32 && flipped != 1 && (d.marks & link_mark::corrupted); ++k) {
      // The flipped bit may be in the id itself: compare with the frame it came from.
      flipped = bits_differing(numbered_frame(d.id ^ (1u << k)), d.bytes, where);
    }
    if (d.marks & link_mark::corrupted) {
      ++corrupted;
      ASSERT_EQ(flipped, 1) << "frame " << d.id;
      EXPECT_GE(where, net::kEthernetHeaderLen) << "the Ethernet header is covered by the FCS";
      continue;
    }
    ASSERT_EQ(flipped, 0) << "frame " << d.id << " changed without the corrupted mark";
    if (d.id < max_id) ++overtaken;
    max_id = std::max(max_id, d.id);
  }
  EXPECT_GT(overtaken, 1000u) << "reordering should make later frames overtake earlier ones";
  EXPECT_GE(corrupted, s.corrupted) << "duplicates of a corrupted frame carry the damage too";
  pool.reset();
}

TEST(SimLink, CorruptionFlipsExactlyOneBitInsideTheDatagram) {
  auto pool = make_pool(4095);
  Faults f;
  f.corrupt = 1.0;
  SimLink link(f, 7, pool.get());
  const auto got = run_link(link, pool.get(), 3000, 1'000);
  ASSERT_EQ(got.size(), 3000u);
  std::vector<unsigned> hits(numbered_frame(0).size(), 0);
  for (size_t i = 0; i < got.size(); ++i) {
    size_t where = 0;
    ASSERT_EQ(bits_differing(numbered_frame(static_cast<uint32_t>(i)), got[i].bytes, where), 1);
    ASSERT_GE(where, net::kEthernetHeaderLen);
    ++hits[where];
  }
  // Uniform over the 86 datagram bytes: every byte is hit some time in 3000 tries.
  for (size_t i = net::kEthernetHeaderLen; i < hits.size(); ++i) EXPECT_GT(hits[i], 0u) << i;
}

// IPv6 has no header checksum (RFC 8200): the damage still goes inside the datagram, header
// (40 octets) and payload, for TCP's and ICMPv6's pseudo-header sums or the parse to catch.
TEST(SimLink, CorruptionOfIpv6FramesFlipsOneBitInsideTheDatagram) {
  auto pool = make_pool(1023);
  Faults f;
  f.corrupt = 1.0;
  SimLink link(f, 3, pool.get());
  const Frame frame = pollux::testing::eth_frame(
      kMacB, kMacA, 0x86dd,
      pollux::testing::ipv6_datagram(kIp6A, kIp6B, net::kIpProtoTcp, Frame(20, 0x55)));
  std::vector<unsigned> hits(frame.size(), 0);
  for (int i = 0; i < 1000; ++i) {
    link.send(pollux::testing::to_mbuf(pool.get(), frame), static_cast<uint64_t>(i));
    rte_mbuf* m = nullptr;
    ASSERT_EQ(link.receive(static_cast<uint64_t>(i), &m, 1), 1u);
    size_t where = 0;
    EXPECT_EQ(bits_differing(frame, pollux::testing::bytes_of(m), where), 1);
    ++hits[where];
    rte_pktmbuf_free(m);
  }
  EXPECT_EQ(link.stats().fcs_drops, 0u);
  for (size_t i = 0; i < hits.size(); ++i)
    EXPECT_EQ(hits[i] > 0, i >= net::kEthernetHeaderLen) << "octet " << i;
  EXPECT_EQ(rte_mempool_in_use_count(pool.get()), 0u);
}

TEST(SimLink, CorruptedNonIpv4FramesAreDroppedAsByTheEthernetFcs) {
  auto pool = make_pool(1023);
  Faults f;
  f.corrupt = 1.0;
  SimLink link(f, 1, pool.get());
  for (int i = 0; i < 100; ++i) {
    net::ArpPacket a{net::ArpOp::request, kMacA, kIpA, {}, kIpB};
    link.send(pollux::testing::to_mbuf(
                  pool.get(), pollux::testing::eth_frame(net::MacAddr::broadcast(), kMacA, 0x0806,
                                                         pollux::testing::arp_body(a))),
              static_cast<uint64_t>(i));
  }
  EXPECT_EQ(link.in_flight(), 0u);
  EXPECT_EQ(link.stats().corrupted, 100u);
  EXPECT_EQ(link.stats().fcs_drops, 100u);
  EXPECT_EQ(rte_mempool_in_use_count(pool.get()), 0u);
}

TEST(SimLink, GilbertElliottLossComesInBursts) {
  auto pool = make_pool(4095);
  Faults f;
  f.p_good_to_bad = 0.01;
  f.p_bad_to_good = 0.25;
  f.loss_in_bad = 1.0;
  SimLink link(f, 3, pool.get());
  constexpr uint32_t kFrames = 200'000;
  const auto got = run_link(link, pool.get(), kFrames, 100);
  // Stationary share of the bad state: p_gb / (p_gb + p_bg); mean stay there: 1 / p_bg.
  const double expected_loss = f.p_good_to_bad / (f.p_good_to_bad + f.p_bad_to_good);
  const auto& s = link.stats();
  EXPECT_EQ(s.lost, 0u);
  EXPECT_NEAR(static_cast<double>(s.burst_lost) / kFrames, expected_loss, 0.15 * expected_loss);
  uint64_t bursts = 0;
  uint32_t next = 0;
  for (const auto& d : got) {
    if (d.id != next) ++bursts;
    next = d.id + 1;
  }
  ASSERT_GT(bursts, 0u);
  const double mean_burst = static_cast<double>(s.burst_lost) / static_cast<double>(bursts);
  EXPECT_NEAR(mean_burst, 1 / f.p_bad_to_good, 0.15 / f.p_bad_to_good);
}

TEST(SimLink, SameSeedSameFatesOtherSeedsOtherFates) {
  auto pool = make_pool(4095);
  Faults f;
  f.loss = 0.2;
  f.duplicate = 0.1;
  f.reorder = 0.3;
  f.reorder_delay_ns = 20'000;
  f.corrupt = 0.1;
  f.delay_ns = 5'000;
  f.p_good_to_bad = 0.02;
  f.p_bad_to_good = 0.3;
  f.bandwidth_bps = 1'000'000'000;
  f.max_queue_bytes = 4'000;
  auto run = [&](uint64_t seed) {
    SimLink link(f, seed, pool.get());
    return run_link(link, pool.get(), 5000, 300);
  };
  const auto first = run(11);
  EXPECT_EQ(first, run(11));
  EXPECT_NE(first, run(12));
  EXPECT_NE(first, run(derive_seed(11, 1)));
  // Changing one probability leaves the others' decisions alone: with corruption off the
  // same frames are lost (the loss draws do not shift).
  Faults g = f;
  g.corrupt = 0;
  SimLink x(f, 99, pool.get()), y(g, 99, pool.get());
  auto lost_ids = [&](SimLink& l) {
    std::vector<uint32_t> ids;
    uint32_t id = 0;
    l.set_observer([&](LinkEvent e, uint64_t, const rte_mbuf*, uint8_t) {
      if (e == LinkEvent::lost || e == LinkEvent::burst_lost) ids.push_back(id);
    });
    for (; id < 2000; ++id) l.send(pollux::testing::to_mbuf(pool.get(), numbered_frame(id)), id);
    l.set_observer(nullptr);
    return ids;
  };
  EXPECT_EQ(lost_ids(x), lost_ids(y));
}

TEST(SimLink, BandwidthSerializesFramesBackToBack) {
  auto pool = make_pool(1023);
  Faults f;
  f.bandwidth_bps = 1'000'000'000;  // 1000-byte frames take 8 us each
  f.delay_ns = 5'000;
  SimLink link(f, 1, pool.get());
  const uint64_t t = 1'000'000'000;
  for (uint32_t i = 0; i < 10; ++i)
    link.send(pollux::testing::to_mbuf(pool.get(), numbered_frame(i, 1000 - 42)), t);
  for (uint32_t i = 0; i < 10; ++i) {
    const uint64_t due = t + 8'000 * (i + 1) + 5'000;
    EXPECT_EQ(link.next_delivery(), due) << i;
    rte_mbuf* m = nullptr;
    EXPECT_EQ(link.receive(due - 1, &m, 1), 0);
    ASSERT_EQ(link.receive(due, &m, 1), 1);
    EXPECT_EQ(rte_pktmbuf_pkt_len(m), 1000u);
    EXPECT_EQ(frame_id(pollux::testing::bytes_of(m)), i);
    rte_pktmbuf_free(m);
  }
  // An idle wire starts serializing at once.
  link.send(pollux::testing::to_mbuf(pool.get(), numbered_frame(10, 1000 - 42)), t + 1'000'000);
  EXPECT_EQ(link.next_delivery(), t + 1'000'000 + 8'000 + 5'000);
  // Overhead bytes count as wire time: 1000 + 24 bytes at 1 Gbit/s is 8192 ns.
  f.overhead_bytes = 24;
  link.set_faults(f);
  link.send(pollux::testing::to_mbuf(pool.get(), numbered_frame(11, 1000 - 42)), t + 2'000'000);
  rte_mbuf* m[2];
  EXPECT_EQ(link.receive(t + 1'013'000, m, 2), 1);
  EXPECT_EQ(link.next_delivery(), t + 2'000'000 + 8'192 + 5'000);
  rte_pktmbuf_free(m[0]);
  EXPECT_EQ(link.stats().max_queue_bytes_seen, 10'000u);
}

TEST(SimLink, FullTransmitQueueDropsAtTheTail) {
  auto pool = make_pool(1023);
  Faults f;
  f.bandwidth_bps = 1'000'000'000;
  f.max_queue_bytes = 5'000;  // five 1000-byte frames, the one on the wire included
  SimLink link(f, 1, pool.get());
  std::vector<std::pair<LinkEvent, uint32_t>> events;
  link.set_observer([&](LinkEvent e, uint64_t, const rte_mbuf* m, uint8_t) {
    events.emplace_back(e, frame_id(pollux::testing::bytes_of(m)));
  });
  const uint64_t t = 1'000'000'000;
  for (uint32_t i = 0; i < 8; ++i)
    link.send(pollux::testing::to_mbuf(pool.get(), numbered_frame(i, 1000 - 42)), t);
  EXPECT_EQ(link.stats().queue_drops, 3u);
  // 16 us later two frames have left the transmitter: room for two more.
  for (uint32_t i = 8; i < 11; ++i)
    link.send(pollux::testing::to_mbuf(pool.get(), numbered_frame(i, 1000 - 42)), t + 16'000);
  EXPECT_EQ(link.stats().queue_drops, 4u);
  rte_mbuf* m[16];
  uint16_t n = link.receive(t + 1'000'000, m, 16);
  ASSERT_EQ(n, 7);
  for (uint16_t i = 0; i < n; ++i) rte_pktmbuf_free(m[i]);
  const std::vector<std::pair<LinkEvent, uint32_t>> expected = {
      {LinkEvent::queue_drop, 5},  {LinkEvent::queue_drop, 6}, {LinkEvent::queue_drop, 7},
      {LinkEvent::queue_drop, 10}, {LinkEvent::delivered, 0},  {LinkEvent::delivered, 1},
      {LinkEvent::delivered, 2},   {LinkEvent::delivered, 3},  {LinkEvent::delivered, 4},
      {LinkEvent::delivered, 8},   {LinkEvent::delivered, 9}};
  EXPECT_EQ(events, expected);
  // Frame 8 waited for the five before it: it leaves at 6 * 8 us.
  EXPECT_EQ(link.stats().delivered, 7u);
}

TEST(SimLink, SimultaneousDeliveriesKeepSendOrder) {
  auto pool = make_pool(1023);
  SimLink link(Faults{.delay_ns = 1'000}, 1, pool.get());
  for (uint32_t i = 0; i < 100; ++i)
    link.send(pollux::testing::to_mbuf(pool.get(), numbered_frame(i)), 5);
  rte_mbuf* m[100];
  ASSERT_EQ(link.receive(1'005, m, 100), 100);
  for (uint32_t i = 0; i < 100; ++i) {
    EXPECT_EQ(frame_id(pollux::testing::bytes_of(m[i])), i);
    rte_pktmbuf_free(m[i]);
  }
}

TEST(SimLink, OwnsWhatItCarriesAndFinishesOffloadedChecksums) {
  auto pool = make_pool(1023);
  SimLink link(Faults{}, 1, pool.get());
  // A frame the sender still references (a retransmission queue would): copied, not shared.
  rte_mbuf* shared = pollux::testing::to_mbuf(pool.get(), numbered_frame(1));
  rte_mbuf_refcnt_update(shared, 1);
  link.send(shared, 0);
  rte_mbuf* got = nullptr;
  ASSERT_EQ(link.receive(0, &got, 1), 1);
  EXPECT_NE(got, shared);
  EXPECT_EQ(rte_mbuf_refcnt_read(shared), 1);
  EXPECT_EQ(pollux::testing::bytes_of(got), pollux::testing::bytes_of(shared));
  rte_pktmbuf_free(got);
  rte_pktmbuf_free(shared);

  // A chain arrives as one segment.
  const Frame whole = numbered_frame(2, 600);
  rte_mbuf* head = pollux::testing::to_mbuf(pool.get(), Frame(whole.begin(), whole.begin() + 100));
  rte_mbuf* tail = pollux::testing::to_mbuf(pool.get(), Frame(whole.begin() + 100, whole.end()));
  ASSERT_EQ(rte_pktmbuf_chain(head, tail), 0);
  link.send(head, 0);
  ASSERT_EQ(link.receive(0, &got, 1), 1);
  EXPECT_EQ(got->nb_segs, 1);
  EXPECT_EQ(pollux::testing::bytes_of(got), whole);
  rte_pktmbuf_free(got);

  // TX checksum offload requested by the stack is done on the way, as a NIC would.
  net::TcpBuild t;
  t.src_port = 1234;
  t.dst_port = 80;
  t.seq = net::Seq(77);
  t.flags = net::tcp_flags::syn;
  t.window = 1000;
  Frame f = pollux::testing::eth_frame(
      kMacB, kMacA, 0x0800,
      pollux::testing::ipv4_datagram(kIpA, kIpB, net::kIpProtoTcp,
                                     pollux::testing::tcp_segment(kIpA, kIpB, t)));
  const Frame correct = f;
  rte_mbuf* m = pollux::testing::to_mbuf(pool.get(), f);
  engine::Offloads off;
  off.tx_ipv4_checksum = true;
  off.tx_tcp_checksum = true;
  engine::prepare_tx_checksums(m, off);
  ASSERT_NE(pollux::testing::bytes_of(m), correct) << "the checksums are left to the NIC";
  link.send(m, 0);
  ASSERT_EQ(link.receive(0, &got, 1), 1);
  EXPECT_EQ(pollux::testing::bytes_of(got), correct);
  EXPECT_EQ(got->ol_flags, 0u);
  rte_pktmbuf_free(got);
  EXPECT_EQ(rte_mempool_in_use_count(pool.get()), 0u);
}

// --- Two engines ---------------------------------------------------------------------------

// A SYN from a (10.0.0.1:sport) to b's closed port 9, as ip_output wants it: an Ethernet slot,
// an IPv4 header and the segment, checksum fields zero (ip_output fills them and the MACs).
rte_mbuf* syn_datagram(rte_mempool* pool, uint16_t sport, uint32_t isn = 1000) {
  net::TcpBuild t;
  t.src_port = sport;
  t.dst_port = 9;
  t.seq = net::Seq(isn);
  t.flags = net::tcp_flags::syn;
  t.window = 64240;
  net::TcpOptions o;
  o.has_mss = true;
  o.mss = 1460;
  o.has_wscale = true;
  o.wscale = 7;
  o.sack_permitted = true;
  o.has_timestamps = true;
  o.ts_val = 12345;
  Frame dg = pollux::testing::ipv4_datagram(kIpA, kIpB, net::kIpProtoTcp,
                                            pollux::testing::tcp_segment(kIpA, kIpB, t, &o));
  net::store_be16(dg.data() + 10, 0);                           // IPv4 header checksum
  net::store_be16(dg.data() + net::kIpv4MinHeaderLen + 16, 0);  // TCP checksum
  return pollux::testing::to_mbuf(pool, pollux::testing::eth_frame({}, {}, 0x0800, dg));
}

uint64_t count(engine::Engine& e, Counter c) {
  return e.counters().get(c);
}

TEST(SimWorld, SynToClosedPortIsAnsweredWithRstAfterArp) {
  SimWorld w(WorldConfig{});
  w.a().ip_output(syn_datagram(w.pool(), 40000), w.now());
  ASSERT_TRUE(
      w.run_until([&] { return count(w.a(), Counter::drop_tcp_rst_to_closed) > 0; }, kSecond))
      << w.describe();
  EXPECT_EQ(count(w.a(), Counter::arp_requests_sent), 1u);
  EXPECT_EQ(count(w.b(), Counter::arp_replies_sent), 1u);
  EXPECT_EQ(count(w.b(), Counter::tcp_rst_sent), 1u);
  EXPECT_EQ(count(w.a(), Counter::drop_tcp_rst_to_closed), 1u);
  EXPECT_EQ(count(w.a(), Counter::drop_arp_unresolved), 0u);
  EXPECT_LT(w.elapsed(), kMillisecond) << "no delay configured: done within a few steps";
  EXPECT_GE(w.now(), kSecond) << "virtual time starts at t0, not 0";
  w.run_for(10 * kSecond);  // nothing else happens: no stray retries, no leaks
  EXPECT_EQ(count(w.a(), Counter::tx_packets), 3u);  // announcement, ARP request, SYN
  EXPECT_EQ(count(w.b(), Counter::tx_packets), 3u);  // announcement, ARP reply, RST
  EXPECT_EQ(w.shutdown(), 0u);
}

// The SYN is re-sent by the "application" (as TCP would retransmit it) until a RST comes
// back; ARP is the engine's own business (three requests a second apart, then the packets
// waiting for it are dropped). Every seed ends one way or the other, never both, never
// neither. A resolution fails only when b's announcement (which updates a's pending entry,
// RFC 826 merge) is lost and so are all three request/reply exchanges: 0.3 * 0.51^3 = 4%.
TEST(SimWorld, SynOverLossyLinksEndsInRstOrArpFailure) {
  const SeedRange seeds = sim_seeds(1000);
  uint64_t unresolved_seeds = 0;
  auto pool = make_pool(1023);
  for (uint64_t seed : seeds) {
    WorldConfig c;
    c.seed = seed;
    c.a_to_b.loss = 0.3;
    c.b_to_a.loss = 0.3;
    c.pool = pool.get();
    c.tick_ns = kMillisecond;  // the engine looks at its ARP timers once a millisecond
    SimWorld w(c);
    engine::Engine& a = w.a();
    a.ip_output(syn_datagram(w.pool(), 40000), w.now());
    uint64_t next_syn = w.now() + 200 * kMillisecond;
    uint64_t syns = 1;
    w.set_on_step([&](uint64_t now) {
      const auto* e = a.arp_cache().find(kIpB);
      if (now < next_syn || !e || e->state != engine::ArpCache::State::reachable) return;
      if (count(a, Counter::drop_tcp_rst_to_closed) > 0) return;
      a.ip_output(syn_datagram(w.pool(), 40000), now);
      ++syns;
      next_syn = now + 200 * kMillisecond;
    });
    const bool ended = w.run_until(
        [&] {
          return count(a, Counter::drop_tcp_rst_to_closed) > 0 ||
                 count(a, Counter::drop_arp_unresolved) > 0;
        },
        30 * kSecond);
    w.run_for(10 * kMillisecond);  // anything still on the wire lands
    const uint64_t rst = count(a, Counter::drop_tcp_rst_to_closed);
    const uint64_t unresolved = count(a, Counter::drop_arp_unresolved);
    EXPECT_TRUE(ended) << repro(seed) << " " << w.describe();
    EXPECT_NE(rst > 0, unresolved > 0) << "rst=" << rst << " unresolved=" << unresolved << " "
                                       << repro(seed) << " " << w.describe();
    EXPECT_LE(unresolved, 1u) << repro(seed);
    EXPECT_LE(rst, syns) << repro(seed);
    EXPECT_LE(count(w.b(), Counter::tcp_rst_sent), syns) << repro(seed);
    EXPECT_LE(count(a, Counter::arp_requests_sent), 3u) << repro(seed);
    EXPECT_EQ(w.shutdown(), 0u) << "mbufs leaked, " << repro(seed);
    if (unresolved) ++unresolved_seeds;
    if (::testing::Test::HasFailure()) break;
  }
  if (seeds.size() >= 200)
    expect_proportion(unresolved_seeds, seeds.size(), 0.3 * 0.51 * 0.51 * 0.51,
                      "seeds where ARP failed");
}

TEST(SimWorld, CorruptedSegmentsAreAllDroppedByTheReceiver) {
  SimWorld w(WorldConfig{});
  // Resolve first over a clean wire.
  w.a().ip_output(syn_datagram(w.pool(), 40000), w.now());
  ASSERT_TRUE(
      w.run_until([&] { return count(w.a(), Counter::drop_tcp_rst_to_closed) > 0; }, kSecond));
  const uint64_t b_drops = w.b().counters().total_drops();
  const uint64_t b_rx = count(w.b(), Counter::rx_packets);

  w.link_ab().set_faults(Faults{.corrupt = 1.0});
  constexpr uint16_t kSyns = 2000;
  for (uint16_t i = 0; i < kSyns; ++i) {
    w.a().ip_output(syn_datagram(w.pool(), static_cast<uint16_t>(1000 + i), i * 7919u), w.now());
    if (i % 100 == 99) w.run_for(kMillisecond);
  }
  w.run_for(kMillisecond);
  EXPECT_EQ(w.link_ab().stats().corrupted, kSyns);
  EXPECT_EQ(count(w.b(), Counter::rx_packets) - b_rx, kSyns);
  EXPECT_EQ(w.b().counters().total_drops() - b_drops, kSyns) << "every one dropped";
  EXPECT_EQ(count(w.b(), Counter::tcp_rst_sent), 1u) << "none answered";
  const uint64_t ip_csum = count(w.b(), Counter::drop_ip_bad_checksum);
  const uint64_t tcp_csum = count(w.b(), Counter::drop_tcp_bad_checksum);
  // Half the datagram is IPv4 header (20 of 60 bytes here: a third), the rest TCP; a few
  // flips land in version, IHL or total length and are caught by those checks first.
  EXPECT_GT(ip_csum, kSyns / 5);
  EXPECT_GT(tcp_csum, kSyns / 2);
  EXPECT_GT(ip_csum + tcp_csum, kSyns * 9 / 10);
  EXPECT_EQ(w.shutdown(), 0u);
}

// With corruption and loss in both directions, over many seeds: every frame that arrives
// damaged is dropped by the receiver (the drop total equals the damaged deliveries, plus the
// one announcement each side ignores), and every intact SYN is answered.
TEST(SimWorld, DamagedFramesNeverGetThroughOverManySeeds) {
  for (uint64_t seed : sim_seeds(200)) {
    WorldConfig c;
    c.seed = seed;
    c.trace = true;
    c.pool_size = 1023;
    c.tick_ns = kMillisecond;
    c.a_to_b = Faults{.loss = 0.1, .corrupt = 0.25, .delay_ns = 20 * kMicrosecond};
    c.b_to_a = c.a_to_b;
    SimWorld w(c);
    engine::Engine& a = w.a();
    a.ip_output(syn_datagram(w.pool(), 40000), w.now());
    uint16_t port = 40000;
    uint64_t next_syn = w.now() + 100 * kMillisecond;
    w.set_on_step([&](uint64_t now) {
      const auto* e = a.arp_cache().find(kIpB);
      if (now < next_syn || !e || e->state != engine::ArpCache::State::reachable) return;
      a.ip_output(syn_datagram(w.pool(), ++port), now);
      next_syn = now + 100 * kMillisecond;
    });
    w.run_for(5 * kSecond);
    w.set_on_step(nullptr);
    w.run_for(100 * kMillisecond);

    uint64_t damaged[2] = {0, 0}, announcements[2] = {0, 0}, intact_syns = 0, intact_rsts = 0;
    for (const auto& e : w.trace_entries()) {
      if (e.event != LinkEvent::delivered) continue;
      const int to = e.dir == Direction::a_to_b ? 1 : 0;
      if (e.marks & link_mark::corrupted) {
        ++damaged[to];
      } else if (e.frame.kind == FrameKind::arp && e.frame.arp.sender_ip == e.frame.arp.target_ip) {
        ++announcements[to];  // ignored, counted as not for us
      } else if (e.frame.kind == FrameKind::tcp) {
        ++(to == 1 ? intact_syns : intact_rsts);
      }
    }
    // Packets a host dropped while it could not resolve the other are not the link's doing.
    auto drops = [](engine::Engine& e) {
      return e.counters().total_drops() - count(e, Counter::drop_arp_unresolved) -
             count(e, Counter::drop_arp_pending_overflow);
    };
    EXPECT_EQ(drops(w.b()), announcements[1] + damaged[1]) << repro(seed) << " " << w.describe();
    EXPECT_EQ(count(w.b(), Counter::tcp_rst_sent), intact_syns) << repro(seed);
    EXPECT_EQ(count(a, Counter::drop_tcp_rst_to_closed), intact_rsts) << repro(seed);
    EXPECT_EQ(drops(a), announcements[0] + damaged[0] + intact_rsts)
        << repro(seed) << " " << w.describe();
    EXPECT_EQ(w.shutdown(), 0u) << repro(seed);
    if (::testing::Test::HasFailure()) break;
  }
}

// A world is a function of its seed and configuration: the same seed replays the same
// trace, frame for frame and nanosecond for nanosecond; another seed does not.
TEST(SimWorld, SameSeedReplaysExactly) {
  auto run = [](uint64_t seed) {
    WorldConfig c;
    c.seed = seed;
    c.trace = true;
    c.pool_size = 1023;
    c.a_to_b = Faults{.loss = 0.1,
                      .duplicate = 0.1,
                      .reorder = 0.2,
                      .reorder_delay_ns = 300 * kMicrosecond,
                      .corrupt = 0.05,
                      .delay_ns = 50 * kMicrosecond,
                      .bandwidth_bps = 10'000'000,
                      .max_queue_bytes = 600};
    c.b_to_a = c.a_to_b;
    SimWorld w(c);
    for (uint16_t i = 0; i < 40; ++i) {
      w.a().ip_output(syn_datagram(w.pool(), static_cast<uint16_t>(2000 + i)), w.now());
      if (i % 10 == 9) w.run_for(20 * kMillisecond);  // bursts of ten overflow the queue
    }
    w.run_for(kSecond);
    std::string t = w.format_trace();
    EXPECT_EQ(w.shutdown(), 0u);
    return t;
  };
  const std::string first = run(5);
  EXPECT_GT(std::count(first.begin(), first.end(), '\n'), 40);
  for (const char* word : {"LOST", "QUEUE-DROP", "DUP", "REORDERED", "CORRUPTED"})
    EXPECT_NE(first.find(word), std::string::npos) << word << " in\n" << first;
  EXPECT_EQ(first, run(5));
  EXPECT_NE(first, run(6));
}

// --- Traces ----------------------------------------------------------------------------------

TEST(SimTrace, ArpSynRstExchangeReadsLikeAPacketTrace) {
  WorldConfig c;
  c.trace = true;
  c.a_to_b.delay_ns = 10 * kMicrosecond;
  c.b_to_a.delay_ns = 10 * kMicrosecond;
  SimWorld w(c);
  w.a().ip_output(syn_datagram(w.pool(), 40000), w.now());
  w.run_for(kMillisecond);
  const std::vector<std::string> expected = {
      "0.000010 b>a ARP announce 10.0.0.2 is-at 02:00:00:00:00:0b",
      "0.000010 a>b ARP announce 10.0.0.1 is-at 02:00:00:00:00:0a",
      "0.000010 a>b ARP request who-has 10.0.0.2 tell 10.0.0.1",
      // b's announcement already answered a's question (RFC 826 merge into the pending
      // entry): the SYN leaves then, and the reply to the request only refreshes the entry.
      "0.000020 b>a ARP reply 10.0.0.2 is-at 02:00:00:00:00:0b",
      "0.000020 a>b TCP 10.0.0.1:40000 > 10.0.0.2:9 [S] seq=0 win=64240 len=0 "
      "<mss 1460,ws 7,sackOK,ts 12345 0>",
      "0.000030 b>a TCP 10.0.0.2:9 > 10.0.0.1:40000 [RA] seq=0 ack=1 win=0 len=0",
  };
  EXPECT_EQ(w.trace(), expected) << w.format_trace();
  const std::vector<std::string> absolute = {
      "a>b TCP 10.0.0.1:40000 > 10.0.0.2:9 [S] seq=1000 win=64240 len=0 "
      "<mss 1460,ws 7,sackOK,ts 12345 0>",
      "b>a TCP 10.0.0.2:9 > 10.0.0.1:40000 [RA] seq=0 ack=1001 win=0 len=0",
  };
  const auto lines = w.trace({.time = false, .relative_seq = false});
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(std::vector<std::string>(lines.begin() + 4, lines.end()), absolute);
  EXPECT_EQ(w.shutdown(), 0u);
}

TEST(SimTrace, DropsAndRetriesShowInTheTrace) {
  WorldConfig c;
  c.trace = true;
  c.b_to_a.loss = 1.0;  // b is deaf to nobody but mute to a
  SimWorld w(c);
  w.a().ip_output(syn_datagram(w.pool(), 40000), w.now());
  w.run_for(4 * kSecond);
  const std::vector<std::string> expected = {
      "0.000000 b>a LOST ARP announce 10.0.0.2 is-at 02:00:00:00:00:0b",
      "0.000000 a>b ARP announce 10.0.0.1 is-at 02:00:00:00:00:0a",
      "0.000000 a>b ARP request who-has 10.0.0.2 tell 10.0.0.1",
      "0.000000 b>a LOST ARP reply 10.0.0.2 is-at 02:00:00:00:00:0b",
      "1.000000 a>b ARP request who-has 10.0.0.2 tell 10.0.0.1",
      "1.000000 b>a LOST ARP reply 10.0.0.2 is-at 02:00:00:00:00:0b",
      "2.000000 a>b ARP request who-has 10.0.0.2 tell 10.0.0.1",
      "2.000000 b>a LOST ARP reply 10.0.0.2 is-at 02:00:00:00:00:0b",
  };
  EXPECT_EQ(w.trace(), expected) << w.format_trace();
  EXPECT_EQ(count(w.a(), Counter::drop_arp_unresolved), 1u);
  EXPECT_EQ(w.shutdown(), 0u);
}

TEST(SimTrace, DescribesDamagedAndForeignFrames) {
  Frame f = pollux::testing::eth_frame(
      kMacB, kMacA, 0x0800,
      pollux::testing::ipv4_datagram(kIpA, kIpB, net::kIpProtoTcp,
                                     pollux::testing::tcp_segment(
                                         kIpA, kIpB,
                                         [] {
                                           net::TcpBuild t;
                                           t.src_port = 5;
                                           t.dst_port = 6;
                                           t.seq = net::Seq(1);
                                           t.ack = net::Seq(2);
                                           t.flags = net::tcp_flags::ack | net::tcp_flags::psh;
                                           t.window = 3;
                                           return t;
                                         }(),
                                         nullptr, Frame(10, 0xaa))));
  EXPECT_EQ(describe_frame(f), "TCP 10.0.0.1:5 > 10.0.0.2:6 [PA] seq=1 ack=2 win=3 len=10");
  f.back() ^= 1;
  EXPECT_EQ(describe_frame(f),
            "TCP 10.0.0.1:5 > 10.0.0.2:6 [PA] seq=1 ack=2 win=3 len=10 !tcp-csum");
  f[14 + 8] ^= 1;  // TTL
  EXPECT_EQ(describe_frame(f),
            "TCP 10.0.0.1:5 > 10.0.0.2:6 [PA] seq=1 ack=2 win=3 len=10 !ip-csum !tcp-csum");
  f[14] = 0x65;
  EXPECT_EQ(describe_frame(f), "malformed (IPv4 bad version) len=64");
  EXPECT_EQ(describe_frame(Frame(10, 0)), "malformed (short Ethernet frame) len=10");
  EXPECT_EQ(describe_frame(pollux::testing::eth_frame(kMacB, kMacA, 0x88cc, Frame(40, 0))),
            "ether 0x88cc len=54");
  EXPECT_EQ(describe_frame(pollux::testing::eth_frame(kMacB, kMacA, 0x86dd, Frame(40, 0))),
            "malformed (IPv6 bad_version) len=54");
}

// IPv6 frames (issue 16): TCP with bracketed addresses and the checksum over the IPv6
// pseudo-header (RFC 8200 8.1), ICMPv6 by type.
TEST(SimTrace, DescribesIpv6Frames) {
  net::TcpBuild t;
  t.src_port = 5;
  t.dst_port = 6;
  t.seq = net::Seq(1);
  t.ack = net::Seq(2);
  t.flags = net::tcp_flags::ack | net::tcp_flags::psh;
  t.window = 3;
  Frame f = pollux::testing::eth_frame(
      kMacB, kMacA, 0x86dd,
      pollux::testing::ipv6_datagram(
          kIp6A, kIp6B, net::kIpProtoTcp,
          pollux::testing::tcp6_segment(kIp6A, kIp6B, t, nullptr, Frame(10, 0xaa))));
  EXPECT_EQ(describe_frame(f), "TCP [fd00::a]:5 > [fd00::b]:6 [PA] seq=1 ack=2 win=3 len=10");
  f[14 + 8 + 15] ^= 1;  // the source address: only TCP's pseudo-header sum can tell
  EXPECT_EQ(describe_frame(f),
            "TCP [fd00::b]:5 > [fd00::b]:6 [PA] seq=1 ack=2 win=3 len=10 !tcp-csum");
  EXPECT_EQ(describe_frame(pollux::testing::eth_frame(
                kMacB, kMacA, 0x86dd,
                pollux::testing::ipv6_datagram(
                    kIp6A, kIp6B, net::kIpProtoIcmpv6,
                    pollux::testing::icmpv6_message(kIp6A, kIp6B, 128, Frame(4, 0)), 64))),
            "ICMPv6 fd00::a > fd00::b type=128 code=0 len=8");
}

}  // namespace
}  // namespace pollux::sim
