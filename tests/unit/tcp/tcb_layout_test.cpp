// The grouped TCB (issue 11 item 5): each part's reset forgets the previous connection, and
// the fields every segment touches stay in the first two cache lines, ready for the hot/cold
// split (issue 13 item 5).
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <type_traits>
#include <vector>

#include "tcp/tcb.hpp"
#include "tcp/tcp_layer.hpp"

namespace pollux::tcp {
namespace {

// Everything before Congestion::cc is the hot part (see tcb.hpp): two cache lines. (It spilled
// 24 B into a third while the tuple held two IPv6-sized addresses inline, issue 16; the key
// is compact again, base::FlowLink, issue 13 item 5.)
inline constexpr size_t kHotBound = 128;
static_assert(sizeof(base::FlowLink) + sizeof(Status) + sizeof(SendSpace) + sizeof(RecvSpace) +
                      sizeof(Negotiated) + offsetof(Congestion, cc) <=
                  kHotBound,
              "the fields every segment touches must fit in two cache lines");
// The connection's key: the bucket hook 8, the ports 4, the family 1 (+3), and the IPv4
// addresses inline or a pointer to the IPv6 ones in the layer's array 8.
static_assert(sizeof(base::FlowLink) == 24, "the key with its hook in 24 B (issue 13 item 5)");

using t_hook_type = decltype(Tcb::dirty_hook);

size_t offset_in(const Tcb& t, const void* field) {
  return static_cast<size_t>(static_cast<const char*>(field) - reinterpret_cast<const char*>(&t));
}

TEST(TcbLayout, HotFieldsFitInTheFirstTwoCacheLines) {
  auto t = std::make_unique<Tcb>();
  const size_t hot = offset_in(*t, &t->cc);
  std::printf(
      "sizeof(Tcb) %zu, hot %zu: FlowLink %zu Status %zu SendSpace %zu RecvSpace %zu "
      "Negotiated %zu Congestion %zu | Timing %zu Data %zu AppState %zu | Recovery %zu "
      "RackTlp %zu Stats %zu\n",
      sizeof(Tcb), hot, sizeof(base::FlowLink), sizeof(Status), sizeof(SendSpace),
      sizeof(RecvSpace), sizeof(Negotiated), sizeof(Congestion), sizeof(Timing), sizeof(Data),
      sizeof(AppState), sizeof(Recovery), sizeof(RackTlp), sizeof(Stats));
  EXPECT_LE(hot, kHotBound);
  // Each hot field lies below the bound, whatever order the parts are declared in.
  const base::FlowLink* key = t.get();  // the tuple's key
  for (const void* f :
       {static_cast<const void*>(key), static_cast<const void*>(&t->state),
        static_cast<const void*>(&t->snd_una), static_cast<const void*>(&t->snd_wnd),
        static_cast<const void*>(&t->rcv_nxt), static_cast<const void*>(&t->rcv_adv),
        static_cast<const void*>(&t->ts_recent), static_cast<const void*>(&t->ts_offset),
        static_cast<const void*>(&t->cwnd), static_cast<const void*>(&t->partial_acked)})
    EXPECT_LT(offset_in(*t, f), kHotBound);
  // The parts a segment need not touch lie beyond it.
  EXPECT_GE(offset_in(*t, &t->high_rxt), kHotBound);
  EXPECT_GE(offset_in(*t, &t->rack), kHotBound);
  EXPECT_GE(offset_in(*t, &t->counts), kHotBound);
}

// The cold block is not in the TCB: without one, a TCB reads an empty scoreboard and log.
TEST(TcbLayout, AConnectionWithoutAColdBlockReadsAnEmptyScoreboardAndKeepsItsDupThresh) {
  auto t = std::make_unique<Tcb>();
  t->Recovery::reset(Seq(1000));
  EXPECT_EQ(t->cold, nullptr);
  EXPECT_TRUE(t->scoreboard().empty());
  EXPECT_EQ(t->sent_log().size(), 0u);
  EXPECT_EQ(t->dupthresh(), kDupThresh);
  t->kept_dupthresh = 9;  // raised by a spurious fast retransmit, kept while the block is away
  EXPECT_EQ(t->dupthresh(), 9u);
  ColdBlock c;
  c.scoreboard.set_dupthresh(12);
  t->cold = &c;
  EXPECT_EQ(t->dupthresh(), 12u);  // the lent block's, while lent
}

// What an idle established connection costs (issue 13 item 5; target 256 B): its TCB (the
// timers and queue heads are inside it) and its share of every table sized by
// max_connections, and separately the pools it borrows from only while busy (cold blocks,
// reassembly queues), shared out per connection.
TEST(TcbLayout, WhatAnIdleConnectionCostsIsItsTcbAndItsShareOfEveryTable) {
  TcpConfig cfg;
  cfg.max_connections = 1 << 20;
  const TcpLayer::Memory m = TcpLayer::memory(cfg);
  const double conns = cfg.max_connections;
  const double own = (m.tcbs + m.flow_buckets + m.per_source) / conns;
  const double pools = (m.cold_blocks + m.undo_records + m.ooo_queues) / conns;
  std::printf(
      "per connection at %u: TCB %zu B + table slot %.1f B + per-source %.1f B = %.1f B; "
      "pools' share %.1f B (cold block %zu B x %u, reassembly queue %zu B x %u); TIME-WAIT "
      "%.1f B per record with its index (%zu B of it an IPv6 pair's addresses, untouched by IPv4); "
      "undo record %zu B x %u\n",
      cfg.max_connections, sizeof(Tcb), m.flow_buckets / conns, m.per_source / conns, own, pools,
      sizeof(ColdBlock), TcpLayer::cold_block_count(cfg), sizeof(ReassemblyQueue), cfg.ooo_queues,
      static_cast<double>(m.time_wait) / cfg.time_wait_records,
      TimeWaitStore::bytes_per_ipv6_pair(), sizeof(UndoRecord), TcpLayer::undo_record_count(cfg));
  EXPECT_EQ(m.tcbs, size_t{cfg.max_connections} * sizeof(Tcb));
  EXPECT_EQ(m.flow_buckets / cfg.max_connections, sizeof(void*));  // one bucket head each
  // The cold block left the TCB: what it held (scoreboard and send-time log, 584 B) is
  // borrowed only while data is in flight; so did the undo record (the window and CUBIC
  // state before a reduction, 144 B), borrowed from a loss episode on. 1048 -> 912 B. Then
  // the five timers of 40 B became one wheel entry and five kept deadlines (Timing::due_ns,
  // issue 13 item 5): 912 -> 792 B, + 24 B when the tuple's addresses became IPv6-sized
  // (net/ip_addr.hpp, issue 16). Then the parts were measured and packed (tcb.hpp's layout
  // comment): the RTT estimator points at the layer's RttConfig (-24), CUBIC's and HyStart's
  // state packs (-24, also in the undo record), ConnOptions is ordered by size (-8), the
  // application's flags are bits (-8), the D-SACK to report lost std::optional's flag (-8)
  // and the free list shares the dirty list's hook (-16): 816 -> 728 B. Then the wheel entry
  // lost its owner pointer and kind (the TCB is the entry's derived class): 728 -> 712 B;
  // the tail loss probe's details and RACK's resend marks went to the cold block: 696 B.
  // Then the TIME-WAIT and stall starts shared a word (they never overlap) and RACK's flags
  // became bits, which let RackTlp's own flags and Stats' alignment share its padding: 680 B.
  // Then the five deadlines became 32-bit ticks (TimerTicks): 664 B; and the stall and
  // TIME-WAIT starts 32-bit ms: 656 B. Then the connection's options became a 2-byte
  // reference to a set in the layer's table of interned sets (OptionSets), in what was the
  // application flags' padding: 624 B; and the listener's pointer a 2-byte slot there too,
  // which took the last padding of the parts after AppState with it: 616 B. Then the RTT
  // estimator's and RACK's tail padding took their parts' small fields ([[no_unique_address]],
  // the estimator's backoff count one byte) and RackTlp moved up beside Recovery: 600 B;
  // and the dirty (and free) list's hook became singly linked: 592 B.
  // Then the tuple's key became compact (base::FlowLink: an IPv4 tuple inline in 12 B, an
  // IPv6 one's addresses in the layer's array at the TCB's slot, untouched by IPv4): 568 B.
  // Then CUBIC's and HyStart's state packed further (cc::State 96 -> 72: HyStart's flags
  // bits and its RTTs 32-bit, cwnd_epoch not kept, NewReno's count and CUBIC's fraction one
  // word): 544 B; and the byte counts became the sequence numbers' distances plus 21-bit
  // wrap counts (Stats 56 -> 40): 528 B. Then (session 17, branch cubic) the hot parts lost
  // 16 B (SND.FIN derived, the FINs' flags in Status' padding, Negotiated's shifts and flags
  // bits): 512 B; CUBIC's windows became 32-bit bytes and K with the epoch's start one time
  // (cc::State 72 -> 48): 488 B; the send queue kept no offset into its head and counts its
  // mbufs in the head's nb_segs (40 -> 32): 480 B.
  // Then (branch lean) the eight event counts went to a record lent from a connection's
  // first event on (EventCounts; Stats 40 -> 16), and the application's (events, ctx) became
  // a 2-byte reference to an interned pair (AppBindings) and the close reason 3 bits in the
  // flags' byte (AppState 32 -> 16): 440 B.
  // Then (session 18, branch idle) the undo record's pointer moved into the event counts'
  // record (a loss episode is an event: EventCounts::undo, in its free-list link's place):
  // 432 B.
  // What is left between this and 256 B is listed there.
  EXPECT_GE(sizeof(ColdBlock), sizeof(SackScoreboard) + sizeof(SendTimeLog));
  EXPECT_GE(sizeof(UndoRecord), sizeof(cc::State) + 2 * sizeof(uint32_t));
  // HyStart++ in 20 B, CUBIC's windows 32-bit bytes and K with the epoch's start one time,
  // one shared word (congestion.hpp; was 72 with five doubles and a 64-bit start)
  EXPECT_EQ(sizeof(cc::State), 48u);
  EXPECT_EQ(sizeof(RttEstimator), 40u);
  EXPECT_EQ(sizeof(ConnOptions), 40u);
  static_assert(std::is_base_of_v<base::TimerLink, Tcb>, "the wheel entry is the TCB's base");
  EXPECT_EQ(sizeof(Timing), 104u);   // the flags and rtt_seq in the estimator's tail (was 112)
  EXPECT_EQ(sizeof(Rack), 28u);      // flags as bits, after the 32-bit fields
  EXPECT_EQ(sizeof(RackTlp), 28u);   // its flags in Rack's last byte (was 32)
  EXPECT_EQ(sizeof(AppState), 16u);  // user; flags, ids of options and (events, ctx), listener
  EXPECT_EQ(sizeof(t_hook_type), sizeof(void*));  // the dirty/free lists' hook: singly linked
  EXPECT_EQ(sizeof(Stats), 16u);  // the event counts' record, three wrap counts (byte counts)
  // Eight counts and, in one word, the free list's link or the undo record's pointer.
  EXPECT_EQ(sizeof(EventCounts), 40u);
  EXPECT_LE(sizeof(Tcb), 432u);
  EXPECT_LE(own, 441.0);  // 432 + 8, and a per-source table of one
  // The hot parts (session 17): the FINs' flags in Status' padding, SND.FIN derived
  // (SND.MAX - 1 once sent), Negotiated's shifts and flags bits; Congestion's state then
  // begins 16 B earlier.
  EXPECT_EQ(sizeof(Status), 7u);
  EXPECT_EQ(sizeof(SendSpace), 32u);
  EXPECT_EQ(sizeof(RecvSpace), 16u);
  EXPECT_EQ(sizeof(Negotiated), 20u);
  const auto probe = std::make_unique<Tcb>();
  EXPECT_EQ(offset_in(*probe, &probe->cc), 112u);
  EXPECT_LE(sizeof(UndoRecord), 80u);  // follows cc::State (was 104)
  EXPECT_EQ(sizeof(SendQueue), 32u);   // no offset into the head, the count in its nb_segs
  // An IPv6 connection's addresses: reserved beside the TCBs, written only for IPv6.
  EXPECT_EQ(m.ipv6_addrs, size_t{cfg.max_connections} * sizeof(base::Ipv6AddrPair));
  EXPECT_EQ(sizeof(base::Ipv6AddrPair), 32u);
}

// The byte counts are distances from ISS and IRS plus 2^32 per wrap, counted where the
// sequence number moves, as the layer moves them (less than 2^31 at a time). Here from an
// ISS 16 below the wrap of the sequence space, through five wraps of the distance, to the
// FINs; tests/sim/tcp_stats_test.cpp moves 2^32 + bytes through the real layer.
TEST(TcbStats, TheByteCountsAreSequenceDistancesWithEveryWrapCounted) {
  auto t = std::make_unique<Tcb>();
  t->SendSpace::reset(Seq(0xfffffff0u));
  t->RecvSpace::reset();
  t->Stats::reset();
  EXPECT_EQ(t->bytes_sent(), 0u);
  EXPECT_EQ(t->bytes_acked(), 0u);
  EXPECT_EQ(t->bytes_received(), 0u);  // no SYN from the peer yet
  auto send_to = [&](Seq to) {
    if (Stats::wraps(t->iss, t->snd_max, to)) ++t->sent_wraps;
    t->snd_max = to;
  };
  auto ack_to = [&](Seq to) {
    if (Stats::wraps(t->iss, t->snd_una, to)) ++t->acked_wraps;
    t->snd_una = to;
  };
  auto receive_to = [&](Seq to) {
    if (Stats::wraps(t->irs, t->rcv_nxt, to)) ++t->received_wraps;
    t->rcv_nxt = to;
  };
  send_to(t->iss + 1);  // the SYN
  EXPECT_EQ(t->bytes_sent(), 1u);
  EXPECT_EQ(t->bytes_acked(), 0u);
  ack_to(t->iss + 1);
  EXPECT_EQ(t->bytes_acked(), 0u);  // the SYN is not data
  t->irs = Seq(7);
  t->rcv_nxt = Seq(8);  // the peer's SYN
  EXPECT_EQ(t->bytes_received(), 0u);
  constexpr uint32_t kStep = (1u << 30) + 12345;  // under 2^31, as every move is
  uint64_t data = 0;
  for (int i = 0; i < 21; ++i) {  // 21 * kStep: past 5 * 2^32
    send_to(t->snd_max + kStep);
    ack_to(t->snd_una + kStep);
    receive_to(t->rcv_nxt + kStep);
    data += kStep;
    ASSERT_EQ(t->bytes_sent(), data + 1) << "step " << i;
    ASSERT_EQ(t->bytes_acked(), data) << "step " << i;
    ASSERT_EQ(t->bytes_received(), data) << "step " << i;
  }
  EXPECT_EQ(t->sent_wraps, 5u);
  // Our FIN: sent, then acknowledged; counted in bytes_sent only.
  send_to(t->snd_max + 1);
  t->fin_sent = true;  // as send_segment: the FIN is the last octet sent, snd_max - 1
  EXPECT_EQ(t->snd_fin(), t->snd_max - 1);
  EXPECT_EQ(t->bytes_sent(), data + 2);
  EXPECT_EQ(t->bytes_acked(), data);
  ack_to(t->snd_una + 1);
  EXPECT_EQ(t->bytes_acked(), data);
  // The peer's FIN (process_fin): not data either.
  receive_to(t->rcv_nxt + 1);
  t->fin_received = true;
  EXPECT_EQ(t->bytes_received(), data);
}

// A deadline is kept as the low 32 bits of its tick and read back against the wheel's tick:
// exact within 2^31 ticks either side, across the wrap of the low bits in both directions.
TEST(TimerTicks, ADeadlineReadsBackExactlyWithinTheHorizonEitherSideOfNowAcrossTheWrap) {
  constexpr uint64_t kWrap = uint64_t{1} << 32;
  for (const uint64_t now : {uint64_t{5}, kWrap - 3, kWrap, kWrap + 2, 7 * kWrap - 1}) {
    for (const int64_t delta :
         {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{40}, int64_t{-5},
          int64_t{TimerTicks::kHorizonTicks}, -int64_t{now < 1000 ? 5 : 1000}}) {
      const uint64_t deadline = now + static_cast<uint64_t>(delta);
      EXPECT_EQ(TimerTicks::unpack(TimerTicks::pack(deadline), now), deadline)
          << "now " << now << " delta " << delta;
    }
  }
  // 2^31 ticks ahead it would read as 2^31 behind: TcpLayer::set_timer never keeps one there.
  const uint64_t now = 5 * kWrap;
  EXPECT_EQ(TimerTicks::unpack(TimerTicks::pack(now + (uint64_t{1} << 31)), now),
            now - (uint64_t{1} << 31));
  // 1 ms ticks: the horizon is 24.8 days.
  EXPECT_EQ(TimerTicks::kHorizonTicks * TimerTicks::kTickNs / (24ull * 3600 * 1'000'000'000), 24u);
}

// The estimator reads the configuration it was given, not a copy: a TCB's follows its
// layer's TcpConfig::rtt, which is why Timing::reset refuses a temporary.
TEST(TcbLayout, TheRttEstimatorUsesTheLayersConfigurationNotACopy) {
  RttConfig c;
  c.initial_rto_ns = 2 * kNsPerSec;
  auto t = std::make_unique<Tcb>();
  t->Timing::reset(c, 0);
  EXPECT_EQ(&t->rtt.config(), &c);
  EXPECT_EQ(t->rtt.rto(), 2 * kNsPerSec);
  EXPECT_EQ(RttEstimator().rto(), RttConfig{}.initial_rto_ns);  // the defaults without one
  static_assert(!std::is_constructible_v<RttEstimator, RttConfig&&>, "a temporary would dangle");
}

// The estimator and Rack are [[no_unique_address]] members, so their parts' own fields live in
// their tail padding: updating or resetting either must leave those fields as they were.
TEST(TcbLayout, FieldsInTheEstimatorsAndRacksTailPaddingSurviveTheirUpdatesAndResets) {
  auto t = std::make_unique<Tcb>();
  const RttConfig c;
  t->Timing::reset(c, 0);
  t->RackTlp::reset(Seq(0));
  // Where the fields are: inside the estimator's and Rack's sizeof, past their data.
  EXPECT_LT(offset_in(*t, &t->rtt_seq), offset_in(*t, &t->rtt) + sizeof(RttEstimator));
  EXPECT_LT(offset_in(*t, &t->due_set), offset_in(*t, &t->rtt) + sizeof(RttEstimator));
  EXPECT_EQ(offset_in(*t, &t->rack) + sizeof(Rack), offset_in(*t, &t->rack) + sizeof(RackTlp));
  t->rtt_timing = true;
  t->due_set = 0x15;
  t->rtt_seq = Seq(0xdeadbeef);
  t->rack_on = t->tlp_on = t->tlp_out = true;
  t->rtt.on_rtt_sample(30 * kNsPerMs);
  t->rtt.backoff();
  t->rtt.forget_estimates();
  t->rtt.on_handshake_complete(true);
  t->rtt = RttEstimator(c);  // what Timing::reset does first
  t->rack.reset();
  t->rack.min_rtt_us = 7;
  t->rack.reo_wnd_persist = 16;
  t->rack.dsack_round_set = true;
  EXPECT_TRUE(t->rtt_timing);
  EXPECT_EQ(t->due_set, 0x15);
  EXPECT_EQ(t->rtt_seq, Seq(0xdeadbeef));
  EXPECT_TRUE(t->rack_on && t->tlp_on && t->tlp_out);
  EXPECT_EQ(t->rtt.rto(), c.initial_rto_ns);
  // And the other way round: the part's fields leave the estimator's and Rack's bytes alone.
  t->rtt.on_rtt_sample(30 * kNsPerMs);
  t->rtt.backoff();
  t->rtt_timing = false;
  t->due_set = 0xff;
  t->rtt_seq = Seq(0xffffffff);
  t->rack_on = t->tlp_on = t->tlp_out = false;
  EXPECT_EQ(t->rtt.srtt(), 30 * kNsPerMs);
  EXPECT_TRUE(t->rtt.has_sample());
  EXPECT_EQ(t->rtt.backoff_count(), 1u);
  EXPECT_EQ(t->rack.reo_wnd_persist, 16);
  EXPECT_TRUE(t->rack.dsack_round_set);
  EXPECT_EQ(t->rack.min_rtt_us, 7u);
}

// The dirty list is singly linked (8 B a TCB): taking a TCB out of its middle or either end
// (release_tcb of a TCB still dirty) walks it, and leaves the others in the order marked
// with the last still known, so that the next push_back goes behind the right one.
TEST(TcbList, UnlinkingATcbFromAnyPlaceKeepsTheOthersInOrderAndTheTailRight) {
  for (size_t gone = 0; gone < 4; ++gone) {
    std::vector<std::unique_ptr<Tcb>> tcbs;
    for (int i = 0; i < 5; ++i) tcbs.push_back(std::make_unique<Tcb>());
    TcbList list;
    for (size_t i = 0; i < 4; ++i) list.push_back(*tcbs[i]);
    EXPECT_FALSE(unlink_from(list, *tcbs[4])) << "not in it";
    EXPECT_FALSE(tcbs[4]->dirty_hook.is_linked());
    ASSERT_TRUE(unlink_from(list, *tcbs[gone])) << "gone " << gone;
    EXPECT_FALSE(tcbs[gone]->dirty_hook.is_linked()) << "gone " << gone;
    list.push_back(*tcbs[4]);  // behind the last, whichever that is now
    std::vector<const Tcb*> expected;
    for (size_t i = 0; i < 5; ++i)
      if (i != gone) expected.push_back(tcbs[i].get());
    std::vector<const Tcb*> got;
    for (const Tcb& t : list) got.push_back(&t);
    EXPECT_EQ(got, expected) << "gone " << gone;
    EXPECT_EQ(&list.back(), tcbs[4].get()) << "gone " << gone;
    list.clear();
  }
  TcbList empty;
  Tcb lone;
  EXPECT_FALSE(unlink_from(empty, lone));
}

// A D-SACK to report is an 8-byte block; empty means none (note_dsack never stores one).
TEST(TcbLayout, APendingDsackIsTheBlockOrNothing) {
  PendingDsack d;
  EXPECT_FALSE(d.has_value());
  EXPECT_FALSE(d.get().has_value());
  d = net::SackBlock{Seq(100), Seq(200)};
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, (net::SackBlock{Seq(100), Seq(200)}));
  EXPECT_EQ(d.get(), (net::SackBlock{Seq(100), Seq(200)}));
  d.reset();
  EXPECT_FALSE(d);
  static_assert(sizeof(PendingDsack) == sizeof(net::SackBlock));
}

TEST(TcbParts, EachResetForgetsThePreviousConnection) {
  auto t = std::make_unique<Tcb>();
  // A previous incarnation left its marks everywhere.
  t->ack_now = true;
  t->segs_since_ack = 7;
  t->snd_wnd = t->max_snd_wnd = 9000;
  t->fin_sent = t->fin_queued = true;
  t->rcv_nxt = Seq(77);
  t->fin_in_ooo = true;
  t->snd_mss = 1460;
  t->ts_ok = t->sack_ok = true;
  t->ts_recent = 5;
  t->cwnd = 100;
  t->in_recovery = t->partial_acked = true;
  t->dupacks = 3;
  t->rexmt_count = 4;
  t->rtt_timing = true;
  t->pending_dsack = net::SackBlock{Seq(1), Seq(2)};
  t->opts_id = 3;
  t->closed_pending = true;
  t->kept_dupthresh = 40;
  t->tlp_out = true;
  t->rack_on = true;
  t->sent_wraps = 5;
  t->fin_received = true;
  EventCounts counts;
  counts.rack_losses = 2;
  t->counts = &counts;  // release_tcb gives the record back before the reset

  const Seq isn(1000);
  t->Status::reset();
  t->SendSpace::reset(isn);
  t->RecvSpace::reset();
  t->Negotiated::reset(1460, 3, 42);
  t->Congestion::reset(536, isn, cc::Algorithm::newreno, false);
  const RttConfig rtt_config;
  t->Timing::reset(rtt_config, 17);
  t->Data::reset();
  t->AppState::reset(5);
  t->Recovery::reset(isn);
  t->RackTlp::reset(isn);
  t->Stats::reset();

  EXPECT_EQ(t->state, State::closed);  // set_state alone changes it
  EXPECT_FALSE(t->ack_now);
  EXPECT_EQ(t->segs_since_ack, 0);
  EXPECT_EQ(t->snd_una, isn);
  EXPECT_EQ(t->snd_max, isn);
  EXPECT_EQ(t->snd_wnd, 0u);
  EXPECT_EQ(t->max_snd_wnd, 0u);
  EXPECT_FALSE(t->fin_sent || t->fin_queued || t->fin_in_ooo);
  EXPECT_EQ(t->rcv_nxt, Seq(0));
  EXPECT_EQ(t->snd_mss, 536);  // RFC 9293 3.7.1 default until the peer's option
  EXPECT_EQ(t->rcv_mss, 1460);
  EXPECT_EQ(t->rcv_wscale, 3);
  EXPECT_EQ(t->ts_offset, 42u);
  EXPECT_FALSE(t->ts_ok || t->sack_ok || t->ws_ok);
  EXPECT_EQ(t->ts_recent, 0u);
  EXPECT_EQ(t->cwnd, 536u);
  EXPECT_EQ(t->ssthresh, 0xffffffffu);
  EXPECT_EQ(t->recover, isn);
  EXPECT_FALSE(t->in_recovery || t->partial_acked || t->rto_recovery);
  EXPECT_EQ(t->dupacks, 0);
  EXPECT_EQ(t->cc.algo, cc::Algorithm::newreno);
  EXPECT_EQ(t->rexmt_count, 0);
  EXPECT_FALSE(t->rtt_timing);
  EXPECT_EQ(t->ts_rto_mark, 17u);
  EXPECT_FALSE(t->pending_dsack.has_value());
  EXPECT_EQ(t->opts_id, 5);  // the reference the caller took for the new connection
  EXPECT_FALSE(t->closed_pending);
  EXPECT_EQ(t->dupthresh(), kDupThresh);
  EXPECT_EQ(t->high_rxt, isn);
  EXPECT_FALSE(t->undo_valid());
  EXPECT_FALSE(t->eifel_pending());
  EXPECT_FALSE(t->tlp_out || t->rack_on);
  EXPECT_EQ(t->sent_wraps, 0u);
  EXPECT_FALSE(t->fin_received);
  EXPECT_EQ(t->bytes_sent(), 0u);
  EXPECT_EQ(t->bytes_received(), 0u);
  EXPECT_EQ(t->counts, nullptr);
  EXPECT_EQ(t->event_count(&EventCounts::rack_losses), 0u);
}

}  // namespace
}  // namespace pollux::tcp
