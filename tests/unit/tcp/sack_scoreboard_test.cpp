// The sender's SACK scoreboard (RFC 6675). Sequence numbers are relative to an ISN near the
// 2^32 wrap so that every comparison is exercised modulo 2^32. SMSS is 1000 bytes and the
// segments of the examples are 1000 bytes: segment k is [k*1000, (k+1)*1000).
#include "tcp/sack_scoreboard.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace pollux::tcp {
namespace {

using net::SackBlock;
using net::Seq;

constexpr uint32_t kIsn = 0xfffff000u;  // wraps after 4 KiB
constexpr uint32_t kMss = 1000;

Seq at(uint32_t off) {
  return Seq(kIsn + off);
}
SackBlock seg(uint32_t first, uint32_t last_incl) {  // segments first..last_incl
  return SackBlock{at(first * kMss), at((last_incl + 1) * kMss)};
}

TEST(SackScoreboard, MergesSortsAndCountsBytes) {
  SackScoreboard sb;
  const Seq una = at(0), max = at(20 * kMss);
  std::vector<SackBlock> b{seg(5, 5)};
  auto r = sb.update(una, max, b);
  EXPECT_EQ(r.newly_sacked, 1000u);
  EXPECT_FALSE(r.dsack);
  b = {seg(2, 2), seg(5, 5)};  // a new block below, the old one repeated
  r = sb.update(una, max, b);
  EXPECT_EQ(r.newly_sacked, 1000u);
  b = {seg(3, 4), seg(2, 2), seg(5, 5)};  // fills between: one range 2..5
  r = sb.update(una, max, b);
  EXPECT_EQ(r.newly_sacked, 2000u);
  ASSERT_EQ(sb.size(), 1u);
  EXPECT_EQ(sb.ranges()[0], (SeqRange{at(2000), at(6000)}));
  EXPECT_EQ(sb.sacked_bytes(), 4000u);
  EXPECT_TRUE(sb.is_sacked(at(2000)));
  EXPECT_TRUE(sb.is_sacked(at(5999)));
  EXPECT_FALSE(sb.is_sacked(at(6000)));
  EXPECT_FALSE(sb.is_sacked(at(1999)));
  EXPECT_EQ(sb.high_sacked(una), at(6000));
}

// RFC 2018 3 and RFC 6675 5.1: a block may only report octets sent. One that ends past
// SND.MAX is invalid as a whole and ignored (not clipped to SND.MAX), and so is a first
// block that would otherwise be a D-SACK; the valid blocks of the same ACK still count.
TEST(SackScoreboard, ABlockEndingPastSndMaxIsIgnoredWhole) {
  SackScoreboard sb;
  const Seq una = at(1000), max = at(10000);
  std::vector<SackBlock> b{SackBlock{at(500), at(30000)}};  // below SND.UNA and past SND.MAX
  auto r = sb.update(una, max, b);
  EXPECT_FALSE(r.dsack) << "octets never sent duplicate nothing";
  EXPECT_EQ(r.invalid, 1u);
  EXPECT_TRUE(sb.empty());
  b = {seg(1, 1), SackBlock{at(9000), at(10001)}};  // one octet past SND.MAX
  r = sb.update(una, max, b);
  EXPECT_EQ(r.invalid, 1u);
  EXPECT_EQ(r.newly_sacked, 1000u) << "1000..2000 only, nothing of 9000..10001";
  EXPECT_EQ(sb.high_sacked(at(0)), at(2000));
  b = {SackBlock{at(9000), at(10000)}};  // ending at SND.MAX exactly: valid
  r = sb.update(una, max, b);
  EXPECT_EQ(r.invalid, 0u);
  EXPECT_EQ(r.newly_sacked, 1000u);
  EXPECT_EQ(sb.high_sacked(at(0)), at(10000));
}

// A block that begins below SND.UNA and is not the first (so no D-SACK) counts from SND.UNA.
TEST(SackScoreboard, ABlockStartingBelowSndUnaCountsFromSndUna) {
  SackScoreboard sb;
  std::vector<SackBlock> b{seg(5, 5), SackBlock{at(500), at(2000)}};
  auto r = sb.update(at(1000), at(10000), b);
  EXPECT_FALSE(r.dsack);
  EXPECT_EQ(r.invalid, 0u);
  EXPECT_EQ(r.newly_sacked, 2000u);  // 5000..6000 and 1000..2000
  ASSERT_EQ(sb.size(), 2u);
  EXPECT_EQ(sb.ranges()[0], (SeqRange{at(1000), at(2000)}));
}

TEST(SackScoreboard, DsackInsideSecondBlock) {
  SackScoreboard sb;
  std::vector<SackBlock> b{seg(4, 4), seg(3, 6)};  // RFC 2883 example: duplicate of a SACKed one
  auto r = sb.update(at(0), at(10 * kMss), b);
  ASSERT_TRUE(r.dsack);
  EXPECT_EQ(r.dsack->start, at(4000));
  EXPECT_EQ(sb.sacked_bytes(), 4000u);  // only the second block counts
}

TEST(SackScoreboard, AdvanceDropsAndTrims) {
  SackScoreboard sb;
  std::vector<SackBlock> b{seg(2, 3), seg(6, 7)};
  (void)sb.update(at(0), at(10 * kMss), b);
  sb.advance(at(2500));
  ASSERT_EQ(sb.size(), 2u);
  EXPECT_EQ(sb.ranges()[0].start, at(2500));
  EXPECT_EQ(sb.sacked_bytes(), 1500u + 2000u);
  sb.advance(at(8000));
  EXPECT_TRUE(sb.empty());
  EXPECT_EQ(sb.sacked_bytes(), 0u);
}

TEST(SackScoreboard, IsLostByRangesAndBytes) {
  SackScoreboard sb;
  // One lost segment 0, then SACKed 1 and 2: 2000 bytes above = 2 * SMSS, not more: not lost.
  std::vector<SackBlock> b{seg(1, 2)};
  (void)sb.update(at(0), at(10 * kMss), b);
  EXPECT_FALSE(sb.is_lost(at(0), kMss));
  // Segment 3 SACKed too: 3000 > (DupThresh - 1) * SMSS: lost.
  b = {seg(1, 3)};
  (void)sb.update(at(0), at(10 * kMss), b);
  EXPECT_TRUE(sb.is_lost(at(0), kMss));
  EXPECT_FALSE(sb.is_lost(at(4000), kMss));  // nothing SACKed above 4000

  // Three discontiguous small ranges above count even though they are few bytes.
  SackScoreboard sb2;
  b = {SackBlock{at(1000), at(1100)}, SackBlock{at(2000), at(2100)}, SackBlock{at(3000), at(3100)}};
  (void)sb2.update(at(0), at(10 * kMss), b);
  EXPECT_TRUE(sb2.is_lost(at(0), kMss));
  EXPECT_FALSE(sb2.is_lost(at(1500), kMss));  // only two ranges above
}

// A raised DupThresh (reordering seen) needs more SACKed data above a hole.
TEST(SackScoreboard, DupThreshRaisedNeedsMoreEvidence) {
  SackScoreboard sb;
  sb.set_dupthresh(6);
  std::vector<SackBlock> b{seg(1, 5)};  // 5000 bytes above segment 0, one range
  (void)sb.update(at(0), at(20 * kMss), b);
  EXPECT_FALSE(sb.is_lost(at(0), kMss));  // needs > 5 * SMSS
  EXPECT_EQ(sb.pipe(at(0), at(20 * kMss), at(0), kMss, false), 15000u);
  b = {seg(1, 6)};
  (void)sb.update(at(0), at(20 * kMss), b);
  EXPECT_TRUE(sb.is_lost(at(0), kMss));
  EXPECT_EQ(sb.pipe(at(0), at(20 * kMss), at(0), kMss, false), 13000u);  // 0 lost, 7-19 out
  sb.set_dupthresh(1);                                                   // never below RFC 6675's 3
  EXPECT_EQ(sb.dupthresh(), kDupThresh);
}

// RFC 6675 SetPipe, worked by hand. 10 segments out (0..9); 0 and 4 lost; 1-3 and 5-9 SACKed.
//   hole [0,1000): ranges above: 2 (1-3, 5-9) holding 8000 bytes > 2000 -> lost.
//   hole [4000,5000): 1 range above, 5000 bytes > 2000 -> lost.
//   no tail. pipe = 0 before any retransmission; 1000 after retransmitting segment 0
//   (HighRxt = 1000), 2000 after segment 4 too (HighRxt = 5000: [1000,4000) is SACKed and
//   [4000,5000) retransmitted).
TEST(SackScoreboard, PipeHandWorked) {
  SackScoreboard sb;
  const Seq una = at(0), max = at(10 * kMss);
  std::vector<SackBlock> b{seg(5, 9), seg(1, 3)};
  (void)sb.update(una, max, b);
  EXPECT_EQ(sb.pipe(una, max, una, kMss, false), 0u);
  EXPECT_EQ(sb.pipe(una, max, at(1000), kMss, false), 1000u);
  EXPECT_EQ(sb.pipe(una, max, at(5000), kMss, false), 2000u);
  EXPECT_EQ(sb.lost_bytes(una, max, kMss, false), 2000u);

  // Now 12 segments out and only 5-7 SACKed: hole 0-4 (3000 above: lost) and the tail 8-11
  // (nothing above: not lost, in flight). pipe = 4000 (tail); after retransmitting 0: 5000.
  SackScoreboard sc;
  const Seq max2 = at(12 * kMss);
  b = {seg(5, 7)};
  (void)sc.update(una, max2, b);
  EXPECT_EQ(sc.pipe(una, max2, una, kMss, false), 4000u);
  EXPECT_EQ(sc.pipe(una, max2, at(1000), kMss, false), 5000u);
  // After an RTO everything not SACKed is lost: only retransmissions count.
  EXPECT_EQ(sc.pipe(una, max2, una, kMss, true), 0u);
  EXPECT_EQ(sc.pipe(una, max2, at(2000), kMss, true), 2000u);
  EXPECT_EQ(sc.lost_bytes(una, max2, kMss, true), 9000u);
  // Data sent after the timeout (beyond the RTO point, here 10000) is not lost: two more
  // segments 10-11 in flight count in pipe.
  sc.set_rto_point(at(10 * kMss));
  EXPECT_EQ(sc.pipe(una, max2, una, kMss, true), 2000u);
  EXPECT_EQ(sc.lost_bytes(una, max2, kMss, true), 7000u);
  auto r = sc.next_lost(una, max2, at(8 * kMss), kMss, true);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (SeqRange{at(8000), at(9000)}));
  EXPECT_FALSE(sc.next_lost(una, max2, at(10 * kMss), kMss, true));
}

// NextSeg rules 1, 3 and 4 on the layout: 0 lost, 1 SACKed, 2 not, 3-5 SACKed, tail 6-7.
//   [0,1000):    above 2 ranges (1, 3-5), 4000 bytes -> lost
//   [2000,3000): above 1 range, 3000 bytes -> lost
//   tail [6000,8000): not lost.
TEST(SackScoreboard, NextSegRules) {
  SackScoreboard sb;
  const Seq una = at(0), max = at(8 * kMss);
  std::vector<SackBlock> b{seg(3, 5), seg(1, 1)};
  (void)sb.update(una, max, b);
  auto r = sb.next_lost(una, max, una, kMss, false);  // rule 1: the first hole
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (SeqRange{at(0), at(1000)}));
  r = sb.next_lost(una, max, at(1000), kMss, false);  // HighRxt past it: the second hole
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (SeqRange{at(2000), at(3000)}));
  EXPECT_FALSE(sb.next_lost(una, max, at(3000), kMss, false));  // the tail is not lost
  // Rule 3 never goes above HighSACK either.
  EXPECT_FALSE(sb.next_unsacked(una, at(3000), kMss));
  // In all-lost mode (after an RTO) the tail is lost and follows.
  r = sb.next_lost(una, max, at(3000), kMss, true);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (SeqRange{at(6000), at(7000)}));
  // Rule 4: the highest unSACKed octet is 7999, so the last segment.
  r = sb.highest_unsacked(una, max, kMss);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (SeqRange{at(7000), at(8000)}));

  // Rule 3 with a hole that is not lost: only 1 SACKed (1000 bytes above hole 0).
  SackScoreboard sc;
  b = {seg(1, 1)};
  (void)sc.update(una, max, b);
  EXPECT_FALSE(sc.next_lost(una, max, una, kMss, false));
  r = sc.next_unsacked(una, una, kMss);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (SeqRange{at(0), at(1000)}));
  // A partly retransmitted hole continues from HighRxt.
  r = sc.next_unsacked(una, at(400), kMss);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (SeqRange{at(400), at(1000)}));
}

TEST(SackScoreboard, FullBoardForgetsTheHighest) {
  SackScoreboard sb;
  const Seq una = at(0), max = at(1000 * kMss);
  for (uint32_t k = 0; k < SackScoreboard::kMaxRanges; ++k) {
    std::vector<SackBlock> b{seg(2 * k + 1, 2 * k + 1)};
    (void)sb.update(una, max, b);
  }
  ASSERT_EQ(sb.size(), SackScoreboard::kMaxRanges);
  const Seq top = sb.high_sacked(una);
  // A range above everything is not kept.
  std::vector<SackBlock> b{seg(500, 500)};
  EXPECT_EQ(sb.update(una, max, b).newly_sacked, 0u);
  EXPECT_EQ(sb.high_sacked(una), top);
  // A range below evicts the highest one.
  b = {SackBlock{at(100), at(200)}};
  (void)sb.update(una, max, b);
  EXPECT_EQ(sb.size(), SackScoreboard::kMaxRanges);
  EXPECT_LT(sb.high_sacked(una), top);
  EXPECT_TRUE(sb.is_sacked(at(150)));
}

// Against a bitmap model: random blocks, the union and the sum must match exactly.
TEST(SackScoreboard, MatchesBitmapModel) {
  std::mt19937 rng(42);
  for (int round = 0; round < 200; ++round) {
    SackScoreboard sb;
    std::vector<bool> model(4000, false);
    Seq una = at(0);
    const Seq max = at(4000);
    for (int step = 0; step < 20; ++step) {
      const uint32_t l = rng() % 3900 + 1, n = rng() % 100 + 1;
      std::vector<SackBlock> b{SackBlock{at(l), at(l + n)}};
      if (!(at(l) < una)) {
        (void)sb.update(una, max, b);
        for (uint32_t k = l; k < std::min(l + n, 4000u); ++k) model[k] = true;
      }
      if (rng() % 5 == 0) {
        const uint32_t u = static_cast<uint32_t>(una - at(0)) + rng() % 200;
        una = at(u);
        sb.advance(una);
        for (uint32_t k = 0; k < u && k < 4000; ++k) model[k] = false;
      }
      if (sb.size() == SackScoreboard::kMaxRanges) break;  // eviction: the model diverges
      uint32_t sum = 0;
      for (bool x : model) sum += x;
      ASSERT_EQ(sb.sacked_bytes(), sum) << "round " << round << " step " << step;
      for (uint32_t k = 0; k < 4000; k += 7) ASSERT_EQ(sb.is_sacked(at(k)), model[k]) << k;
    }
  }
}

// A cold block's scoreboard is reset, not rebuilt, when the block is lent again
// (TcpLayer::take_cold): reset() leaves the old ranges in the array behind size(). Whatever
// the board held before -- a full array, a raised DupThresh, RACK's and the timeout's marks
// -- it must then answer every question exactly as a new board does, through a random
// sequence of SACKs and cumulative ACKs (seed printed on failure).
TEST(SackScoreboard, AResetBoardAnswersAsANewOne) {
  for (const bool rule : {true, false}) {
    for (uint32_t seed = 1; seed <= 20; ++seed) {
      SCOPED_TRACE(testing::Message() << "seed " << seed << " dupthresh rule " << rule);
      std::mt19937 rng(seed);
      SackScoreboard used;
      const Seq una0 = at(0), max = at(200 * kMss);
      for (uint32_t k = 0; k < SackScoreboard::kMaxRanges; ++k) {  // every slot written
        std::vector<SackBlock> b{seg(2 * k + 1, 2 * k + 1)};
        (void)used.update(una0, max, b);
      }
      used.set_dupthresh(9);
      used.set_dupthresh_rule(!rule);
      used.mark_lost_below(at(150 * kMss));
      used.set_rto_point(at(120 * kMss));
      const uint32_t dupthresh = 3 + seed % 4;
      used.reset(dupthresh, rule);
      SackScoreboard fresh;
      fresh.set_dupthresh(dupthresh);
      fresh.set_dupthresh_rule(rule);
      Seq una = una0;
      for (int step = 0; step < 40; ++step) {
        if (rng() % 4 == 0) {
          una = una + rng() % (3 * kMss);
          used.advance(una);
          fresh.advance(una);
        } else {
          const uint32_t l = rng() % (100 * kMss), n = rng() % (4 * kMss) + 1;
          std::vector<SackBlock> b{SackBlock{at(l), at(l + n)}};
          const auto r1 = used.update(una, max, b);
          const auto r2 = fresh.update(una, max, b);
          ASSERT_EQ(r1.newly_sacked, r2.newly_sacked) << "step " << step;
          ASSERT_EQ(r1.dsack.has_value(), r2.dsack.has_value()) << "step " << step;
        }
        ASSERT_EQ(used.size(), fresh.size()) << "step " << step;
        ASSERT_EQ(used.sacked_bytes(), fresh.sacked_bytes()) << "step " << step;
        ASSERT_EQ(used.quiet(una), fresh.quiet(una)) << "step " << step;
        ASSERT_EQ(used.dupthresh(), fresh.dupthresh());
        ASSERT_EQ(used.high_sacked(una), fresh.high_sacked(una)) << "step " << step;
        for (const bool all_lost : {false, true})
          ASSERT_EQ(used.pipe(una, max, una, kMss, all_lost),
                    fresh.pipe(una, max, una, kMss, all_lost))
              << "step " << step << " all_lost " << all_lost;
        for (uint32_t k = 0; k < 100 * kMss; k += 97) {
          ASSERT_EQ(used.is_sacked(at(k)), fresh.is_sacked(at(k)))
              << "step " << step << " at " << k;
          ASSERT_EQ(used.is_lost(at(k), kMss), fresh.is_lost(at(k), kMss))
              << "step " << step << " at " << k;
        }
      }
    }
  }
}

}  // namespace
}  // namespace pollux::tcp
