// RACK (RFC 8985): the send-time log and the timing rules. Sequence numbers start near the
// 2^32 wrap and times near the 2^32 microsecond wrap, so that every comparison is modular.
// Segments are 1000 bytes: segment k is [k*1000, (k+1)*1000).
#include "tcp/rack.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <vector>

#include "tcp/sack_scoreboard.hpp"

namespace pollux::tcp {
namespace {

using net::Seq;

constexpr uint32_t kIsn = 0xfffff000u;
constexpr uint32_t kMss = 1000;
constexpr uint32_t kT0 = 0xfffffc00u;  // microseconds: wraps 1 ms in
constexpr uint32_t kNever = std::numeric_limits<uint32_t>::max();

Seq at(uint32_t seg) { return Seq(kIsn + seg * kMss); }
uint32_t us(uint32_t t) { return kT0 + t; }

std::vector<SendTimeLog::Range> ranges(const SendTimeLog& log) {
  std::vector<SendTimeLog::Range> v;
  for (size_t i = 0; i < log.size(); ++i) v.push_back(log.at(i));
  return v;
}

TEST(SendTimeLog, SegmentsOfOneBurstShareARangeAndLaterBurstsGetTheirOwn) {
  SendTimeLog log;
  log.reset(at(0));
  for (uint32_t k = 0; k < 4; ++k) log.on_send(at(k), at(k + 1), us(0));
  for (uint32_t k = 4; k < 6; ++k) log.on_send(at(k), at(k + 1), us(50));
  const auto v = ranges(log);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].start, at(0));
  EXPECT_EQ(v[0].end, at(4));
  EXPECT_EQ(v[0].sent_us, us(0));
  EXPECT_FALSE(v[0].retransmitted);
  EXPECT_EQ(v[1].start, at(4));
  EXPECT_EQ(v[1].end, at(6));
  EXPECT_EQ(v[1].sent_us, us(50));
}

TEST(SendTimeLog, ARetransmissionSplitsItsRangeAndCarriesTheNewTimeAndFlag) {
  SendTimeLog log;
  log.reset(at(0));
  log.on_send(at(0), at(6), us(0));
  log.on_send(at(2), at(3), us(900));  // segment 2 again
  const auto v = ranges(log);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].end, at(2));
  EXPECT_EQ(v[0].sent_us, us(0));
  EXPECT_EQ(v[1].start, at(2));
  EXPECT_EQ(v[1].end, at(3));
  EXPECT_EQ(v[1].sent_us, us(900));
  EXPECT_TRUE(v[1].retransmitted);
  EXPECT_EQ(v[2].end, at(6));
  EXPECT_EQ(v[2].sent_us, us(0));
  EXPECT_FALSE(v[2].retransmitted);
  // New data after a retransmission is a new range, not merged into the retransmitted one.
  log.on_send(at(6), at(7), us(900));
  EXPECT_EQ(ranges(log).back().start, at(6));
  EXPECT_FALSE(ranges(log).back().retransmitted);
}

TEST(SendTimeLog, AdvanceDropsAcknowledgedRangesAndTrimsTheFirst) {
  SendTimeLog log;
  log.reset(at(0));
  log.on_send(at(0), at(2), us(0));
  log.on_send(at(2), at(4), us(10));
  log.advance(at(3));
  const auto v = ranges(log);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].start, at(3));
  EXPECT_EQ(v[0].end, at(4));
  EXPECT_EQ(v[0].sent_us, us(10));
  // A retransmission reaching below SND.UNA only logs what is still outstanding.
  log.on_send(at(2), at(4), us(20));
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log.at(0).start, at(3));
  EXPECT_TRUE(log.at(0).retransmitted);
}

// What a keep-alive exchange does to the log: its reply's ACK covers everything logged
// (a retransmitted range too), the log empties, and the next flight's first segment is its
// one range, new data, whatever the ranges before it were.
TEST(SendTimeLog, AnAckOfEverythingLoggedEmptiesItAndTheNextFlightStartsAfresh) {
  SendTimeLog log;
  log.reset(at(0));
  log.on_send(at(0), at(2), us(0));
  log.on_send(at(2), at(4), us(10));
  log.on_send(at(1), at(2), us(20));  // a retransmission: ranges [0,1) [1,2)* [2,4)
  ASSERT_EQ(log.size(), 3u);
  ASSERT_TRUE(log.at(1).retransmitted);
  log.advance(at(3));  // inside the last range: it is trimmed, not dropped
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log.at(0).start, at(3));
  log.advance(at(4));  // at the logged end: nothing left
  EXPECT_EQ(log.size(), 0u);
  EXPECT_EQ(log.end(), at(4));
  log.advance(at(4));  // again: nothing changes
  EXPECT_EQ(log.end(), at(4));
  // An ACK past the logged end (our FIN, say, occupies sequence space but is not logged).
  log.advance(at(5));
  EXPECT_EQ(log.end(), at(5));

  log.on_send(at(5), at(6), us(30));
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log.at(0).start, at(5));
  EXPECT_EQ(log.at(0).end, at(6));
  EXPECT_EQ(log.at(0).sent_us, us(30));
  EXPECT_FALSE(log.at(0).retransmitted) << "the retransmitted range's flag went with it";
  // The next segment of the same instant joins it; a later one is a range of its own.
  log.on_send(at(6), at(7), us(30));
  log.on_send(at(7), at(8), us(40));
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log.at(0).end, at(7));
  EXPECT_FALSE(log.at(1).retransmitted);
  // On an empty log, a segment reaching below the log's start logs only what is above it,
  // and one wholly below it logs nothing.
  log.advance(at(8));
  log.on_send(at(6), at(7), us(50));
  EXPECT_EQ(log.size(), 0u);
  log.on_send(at(7), at(9), us(50));
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log.at(0).start, at(8));
  EXPECT_EQ(log.at(0).end, at(9));
  EXPECT_FALSE(log.at(0).retransmitted) << "[8,9) was not logged before: new data";
}

TEST(SendTimeLog, WhenFullTheClosestNeighboursMergeKeepingTheLaterTime) {
  SendTimeLog log;
  log.reset(at(0));
  // 40 bursts one segment each, all 100 us apart except 7 and 8 (1 us apart).
  uint32_t t = 0;
  std::vector<uint32_t> sent;
  for (uint32_t k = 0; k < 40; ++k) {
    t += (k == 8) ? 1 : 100;
    sent.push_back(t);
    log.on_send(at(k), at(k + 1), us(t));
  }
  ASSERT_EQ(log.size(), SendTimeLog::kMaxRanges);
  // Coverage is unbroken from SND.UNA to the last octet sent.
  Seq expect = at(0);
  for (const auto& r : ranges(log)) {
    EXPECT_EQ(r.start, expect);
    expect = r.end;
  }
  EXPECT_EQ(expect, at(40));
  // The closest pair (7, 8) merged: one range holds both.
  bool found = false;
  for (const auto& r : ranges(log))
    if (r.start <= at(7) && at(9) <= r.end) found = true;
  EXPECT_TRUE(found);
  // No range looks older than any octet in it really is (merges keep the later time).
  for (const auto& r : ranges(log))
    for (Seq s = r.start; s < r.end; s = s + kMss)
      EXPECT_GE(static_cast<int32_t>(r.sent_us - us(sent[(s - at(0)) / kMss])), 0);
}

TEST(SendTimeLog, RandomSendsAndAcksKeepCoverageContiguousAndBounded) {
  std::mt19937 rng(7);
  SendTimeLog log;
  Seq una = at(0), max = at(0);
  log.reset(una);
  uint32_t t = 0;
  for (int step = 0; step < 20000; ++step) {
    t += rng() % 50;
    const int what = static_cast<int>(rng() % 4);
    if (what < 2) {
      log.on_send(max, max + kMss, us(t));
      max = max + kMss;
    } else if (what == 2 && una < max) {
      const uint32_t span = static_cast<uint32_t>(max - una);
      const Seq s = una + (rng() % span);
      log.on_send(s, net::seq_min(s + kMss, max), us(t));
    } else if (una < max) {
      una = una + (rng() % (static_cast<uint32_t>(max - una) + 1));
      log.advance(una);
    }
    ASSERT_LE(log.size(), SendTimeLog::kMaxRanges);
    Seq expect = una;
    for (size_t i = 0; i < log.size(); ++i) {
      ASSERT_EQ(log.at(i).start, expect) << "step " << step;
      ASSERT_LT(log.at(i).start, log.at(i).end);
      expect = log.at(i).end;
    }
    if (log.size() > 0) {
      ASSERT_EQ(expect, max);
    }
  }
}

// RFC 8985 6.2 step 5: with RACK.rtt = 10 ms and a reordering window of 2.5 ms, a segment
// sent before the delivered one is lost 12.5 ms after it was sent.
TEST(Rack, ASegmentSentBeforeTheDeliveredOneIsLostARoundTripAndAWindowAfterItsSend) {
  Rack rack;
  const SendTimeLog::Range hole{at(0), at(1), us(0), false};
  const SendTimeLog::Range later{at(1), at(2), us(1000), false};
  rack.on_delivered(later, us(11000), false);
  EXPECT_EQ(rack.rtt_us, 10000u);
  EXPECT_EQ(rack.min_rtt_us, 10000u);
  EXPECT_EQ(rack.reo_wnd_us(false, false, 10000), 2500u);
  EXPECT_EQ(rack.time_to_loss(hole, us(11000), 2500), 1500u);
  EXPECT_EQ(rack.time_to_loss(hole, us(12499), 2500), 1u);
  EXPECT_EQ(rack.time_to_loss(hole, us(12500), 2500), 0u);
  // A segment sent after RACK.xmit_ts gets no verdict at all.
  const SendTimeLog::Range newer{at(2), at(3), us(2000), false};
  EXPECT_EQ(rack.time_to_loss(newer, us(50000), 0), kNever);
  // Same send time: the lower sequence counts as sent before.
  const SendTimeLog::Range same_time_lower{at(0), at(1), us(1000), false};
  EXPECT_NE(rack.time_to_loss(same_time_lower, us(50000), 0), kNever);
}

TEST(Rack, ReorderingWindowIsZeroInRecoveryOrWithDupThreshSackedUntilReorderingIsSeen) {
  Rack rack;
  rack.on_delivered({at(1), at(2), us(0), false}, us(8000), false);
  EXPECT_EQ(rack.reo_wnd_us(true, false, 8000), 0u);
  EXPECT_EQ(rack.reo_wnd_us(false, true, 8000), 0u);
  EXPECT_EQ(rack.reo_wnd_us(false, false, 8000), 2000u);
  // Segment 0, never retransmitted, delivered after segment 1: the network reorders.
  rack.on_delivered({at(0), at(1), us(0), false}, us(9000), false);
  EXPECT_TRUE(rack.reord);
  EXPECT_EQ(rack.reo_wnd_us(true, true, 8000), 2000u);
  // Capped by SRTT.
  EXPECT_EQ(rack.reo_wnd_us(false, false, 1500), 1500u);
}

TEST(Rack, DsacksWidenTheWindowOncePerRoundTripAndSixteenRecoveriesResetIt) {
  Rack rack;
  rack.on_delivered({at(0), at(1), us(0), false}, us(4000), false);
  EXPECT_EQ(rack.reo_wnd_us(false, false, 100000), 1000u);
  rack.on_dsack(at(1), at(10));
  EXPECT_EQ(rack.reo_wnd_mult, 2);
  rack.on_dsack(at(5), at(12));  // same round trip (SND.UNA below the round's end)
  EXPECT_EQ(rack.reo_wnd_mult, 2);
  rack.on_dsack(at(10), at(20));  // next round trip
  EXPECT_EQ(rack.reo_wnd_mult, 3);
  EXPECT_EQ(rack.reo_wnd_us(false, false, 100000), 3000u);
  for (int i = 0; i < 15; ++i) rack.on_recovery_end();
  EXPECT_EQ(rack.reo_wnd_mult, 3);
  rack.on_recovery_end();
  EXPECT_EQ(rack.reo_wnd_mult, 1);
}

TEST(Rack, AnAmbiguousRetransmissionGivesNoRttSample) {
  Rack rack;
  rack.on_delivered({at(5), at(6), us(0), false}, us(10000), false);
  ASSERT_EQ(rack.min_rtt_us, 10000u);
  // Acknowledged 3 ms after the retransmission: faster than any round trip, so the
  // original was delivered. RACK.xmit_ts does not move to the retransmission.
  rack.on_delivered({at(0), at(1), us(20000), true}, us(23000), false);
  EXPECT_EQ(rack.xmit_us, us(0));
  EXPECT_EQ(rack.min_rtt_us, 10000u);
  // The timestamp echo says the same even when the time would be plausible.
  rack.on_delivered({at(1), at(2), us(20000), true}, us(40000), true);
  EXPECT_EQ(rack.xmit_us, us(0));
  // A genuine one counts, and is not reordering (it was retransmitted).
  rack.on_delivered({at(2), at(3), us(20000), true}, us(31000), false);
  EXPECT_EQ(rack.xmit_us, us(20000));
  EXPECT_EQ(rack.rtt_us, 11000u);
  EXPECT_FALSE(rack.reord);
}

// The scoreboard side of RACK: marked octets are lost whatever DupThresh says, and with the
// DupThresh rule off only RACK's marks count.
TEST(Rack, ScoreboardLossIsRacksVerdictWhenTheDupThreshRuleIsOff) {
  SackScoreboard sb;
  sb.set_dupthresh_rule(false);
  const Seq una = at(0), max = at(10);
  std::vector<net::SackBlock> b{{at(5), at(9)}};  // four segments SACKed above 0-4
  sb.update(una, max, b);
  EXPECT_FALSE(sb.is_lost(at(0), kMss));
  EXPECT_EQ(sb.lost_bytes(una, max, kMss, false), 0u);
  sb.mark_lost_below(at(3));
  EXPECT_TRUE(sb.is_lost(at(2), kMss));
  EXPECT_FALSE(sb.is_lost(at(3), kMss));
  EXPECT_EQ(sb.lost_bytes(una, max, kMss, false), 3 * kMss);
  auto next = sb.next_lost(una, max, una, kMss, false);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->start, at(0));
  // Pipe: 0-2 lost (not counted), 3-4 and the tail 9 in flight.
  EXPECT_EQ(sb.pipe(una, max, una, kMss, false), 3 * kMss);
  // With the rule on, four SACKed segments above make 0-4 lost as RFC 6675 says.
  sb.set_dupthresh_rule(true);
  EXPECT_EQ(sb.lost_bytes(una, max, kMss, false), 5 * kMss);
}

TEST(Rack, TheScoreboardReportsOnlyNewlySackedPieces) {
  SackScoreboard sb;
  const Seq una = at(0), max = at(20);
  std::vector<net::SackBlock> b1{{at(5), at(7)}};
  auto r1 = sb.update(una, max, b1);
  ASSERT_EQ(r1.newly_count, 1u);
  EXPECT_EQ(r1.newly[0], (SeqRange{at(5), at(7)}));
  // The next ACK repeats 5-7 inside a bigger block 3-9 and adds 12-13.
  std::vector<net::SackBlock> b2{{at(12), at(13)}, {at(3), at(9)}};
  auto r2 = sb.update(una, max, b2);
  ASSERT_EQ(r2.newly_count, 3u);
  EXPECT_EQ(r2.newly[0], (SeqRange{at(12), at(13)}));
  EXPECT_EQ(r2.newly[1], (SeqRange{at(3), at(5)}));
  EXPECT_EQ(r2.newly[2], (SeqRange{at(7), at(9)}));
}

}  // namespace
}  // namespace pollux::tcp
