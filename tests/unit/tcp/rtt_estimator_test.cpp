// RFC 6298 RTO computation. Expected values are worked by hand from the RFC's formulas in the
// comments next to them (times in ms unless stated):
//   first sample (2.2):  SRTT = R,  RTTVAR = R/2
//   later samples (2.3): RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R'|  (old SRTT), then
//                        SRTT   = 7/8 SRTT   + 1/8 R'
//   RTO = SRTT + max(G, 4 RTTVAR), clamped to [min_rto, max_rto] (2.4, 2.5)
#include "tcp/rtt_estimator.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

namespace pollux::tcp {
namespace {

constexpr uint64_t kUs = 1000;
constexpr uint64_t kMs = kNsPerMs;
constexpr uint64_t kSec = kNsPerSec;
constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();

// No clamping and no granularity floor: exposes the bare 2.2/2.3 formulas. One object that
// outlives every estimator: an estimator keeps a pointer to its configuration.
const RttConfig& unclamped() {
  static const RttConfig c = [] {
    RttConfig u;
    u.min_rto_ns = 0;
    u.max_rto_ns = kU64Max;
    u.granularity_ns = 0;
    return u;
  }();
  return c;
}

TEST(RttEstimator, DefaultsAreTheDocumentedOnes) {
  const RttConfig c;
  EXPECT_EQ(c.min_rto_ns, 200 * kMs);
  EXPECT_EQ(c.max_rto_ns, 120 * kSec);
  EXPECT_EQ(c.initial_rto_ns, 1 * kSec);
  EXPECT_EQ(c.granularity_ns, 1 * kMs);
}

TEST(RttEstimator, BeforeAnySampleRtoIsInitial) {
  // RFC 6298 2.1: RTO <- 1 second until the first measurement.
  const RttEstimator e;
  EXPECT_FALSE(e.has_sample());
  EXPECT_EQ(e.rto(), 1 * kSec);
  EXPECT_EQ(e.srtt(), 0u);
  EXPECT_EQ(e.rttvar(), 0u);
  EXPECT_EQ(e.backoff_count(), 0u);
}

TEST(RttEstimator, InitialRtoIsClamped) {
  RttConfig c;
  c.initial_rto_ns = 50 * kMs;  // below min_rto 200 ms
  EXPECT_EQ(RttEstimator(c).rto(), 200 * kMs);
  c.initial_rto_ns = 500 * kSec;  // above max_rto 120 s
  EXPECT_EQ(RttEstimator(c).rto(), 120 * kSec);
}

TEST(RttEstimator, HandWorkedSequenceWithDefaults) {
  RttEstimator e;

  // R = 100: SRTT = 100, RTTVAR = 50, RTO = 100 + max(1, 4*50 = 200) = 300.
  e.on_rtt_sample(100 * kMs);
  EXPECT_TRUE(e.has_sample());
  EXPECT_EQ(e.srtt(), 100 * kMs);
  EXPECT_EQ(e.rttvar(), 50 * kMs);
  EXPECT_EQ(e.rto(), 300 * kMs);

  // R' = 200: RTTVAR = 3/4*50 + 1/4*|100 - 200| = 37.5 + 25 = 62.5
  //           SRTT   = 7/8*100 + 1/8*200 = 87.5 + 25 = 112.5
  //           RTO    = 112.5 + 4*62.5 = 362.5
  e.on_rtt_sample(200 * kMs);
  EXPECT_EQ(e.rttvar(), 62'500 * kUs);
  EXPECT_EQ(e.srtt(), 112'500 * kUs);
  EXPECT_EQ(e.rto(), 362'500 * kUs);

  // R' = 80:  RTTVAR = 3/4*62.5 + 1/4*|112.5 - 80| = 46.875 + 8.125 = 55
  //           SRTT   = 7/8*112.5 + 1/8*80 = 98.4375 + 10 = 108.4375
  //           RTO    = 108.4375 + 4*55 = 328.4375
  e.on_rtt_sample(80 * kMs);
  EXPECT_EQ(e.rttvar(), 55 * kMs);
  EXPECT_EQ(e.srtt(), 108'437'500u);
  EXPECT_EQ(e.rto(), 328'437'500u);

  // R' = 300: RTTVAR = 3/4*55 + 1/4*|108.4375 - 300| = 41.25 + 47.890625 = 89.140625
  //           SRTT   = 7/8*108.4375 + 1/8*300 = 94.8828125 + 37.5 = 132.3828125
  //           RTO    = 132.3828125 + 4*89.140625 = 132.3828125 + 356.5625 = 488.9453125
  // In ns SRTT is 132382812.5: srtt() truncates, the RTO (488945312.5 ns) rounds up.
  e.on_rtt_sample(300 * kMs);
  EXPECT_EQ(e.rttvar(), 89'140'625u);
  EXPECT_EQ(e.srtt(), 132'382'812u);
  EXPECT_EQ(e.rto(), 488'945'313u);
}

TEST(RttEstimator, SampleBelowSrttStillRaisesVariance) {
  // RTTVAR uses |SRTT - R'|: a faster sample is as much a deviation as a slower one.
  // R = 400: SRTT 400, RTTVAR 200, RTO 1200.
  // R' = 240: RTTVAR = 150 + 1/4*160 = 190; SRTT = 350 + 30 = 380; RTO = 380 + 760 = 1140.
  RttEstimator e;
  e.on_rtt_sample(400 * kMs);
  EXPECT_EQ(e.rto(), 1200 * kMs);
  e.on_rtt_sample(240 * kMs);
  EXPECT_EQ(e.rttvar(), 190 * kMs);
  EXPECT_EQ(e.srtt(), 380 * kMs);
  EXPECT_EQ(e.rto(), 1140 * kMs);
}

TEST(RttEstimator, RttvarUsesSrttBeforeItsUpdate) {
  // RFC 6298 2.3 orders the updates. R = 8, then R' = 16 (unclamped, G = 0):
  //   right: RTTVAR = 3/4*4 + 1/4*|8 - 16| = 3 + 2 = 5, SRTT = 7 + 2 = 9, RTO = 9 + 20 = 29
  //   wrong order would give SRTT 9 first and RTTVAR = 3 + 7/4 = 4.75.
  RttEstimator e(unclamped());
  e.on_rtt_sample(8 * kMs);
  e.on_rtt_sample(16 * kMs);
  EXPECT_EQ(e.rttvar(), 5 * kMs);
  EXPECT_EQ(e.srtt(), 9 * kMs);
  EXPECT_EQ(e.rto(), 29 * kMs);
}

TEST(RttEstimator, RtoIsClampedToMinimum) {
  // R = 1: SRTT 1, RTTVAR 0.5, RTO = 1 + max(1, 2) = 3, below min_rto: 200 (2.4).
  RttEstimator e;
  e.on_rtt_sample(1 * kMs);
  EXPECT_EQ(e.srtt(), 1 * kMs);
  EXPECT_EQ(e.rto(), 200 * kMs);

  // With the RFC's own 1 s minimum.
  RttConfig rfc;
  rfc.min_rto_ns = 1 * kSec;
  RttEstimator r(rfc);
  r.on_rtt_sample(100 * kMs);  // 100 + 200 = 300 -> 1000
  EXPECT_EQ(r.rto(), 1 * kSec);
}

TEST(RttEstimator, RtoIsClampedToMaximum) {
  // R = 100 s: RTO = 100 + 4*50 = 300 s, above max_rto: 120 s (2.5).
  RttEstimator e;
  e.on_rtt_sample(100 * kSec);
  EXPECT_EQ(e.srtt(), 100 * kSec);
  EXPECT_EQ(e.rto(), 120 * kSec);
}

TEST(RttEstimator, GranularityFloorsTheVarianceTerm) {
  // G = 50: R = 10 gives RTTVAR 5, 4*RTTVAR = 20 < G, RTO = 10 + 50 = 60.
  RttConfig c = unclamped();
  c.granularity_ns = 50 * kMs;
  RttEstimator e(c);
  e.on_rtt_sample(10 * kMs);
  EXPECT_EQ(e.rto(), 60 * kMs);
  // Exactly at the boundary: G = 20 = 4*RTTVAR, either branch gives 30.
  c.granularity_ns = 20 * kMs;
  RttEstimator b(c);
  b.on_rtt_sample(10 * kMs);
  EXPECT_EQ(b.rto(), 30 * kMs);
}

TEST(RttEstimator, SteadyRttDecaysToSrttPlusGranularity) {
  // G = 1, no clamping. R = 10 every time: SRTT stays 10 exactly, RTTVAR = 5 * (3/4)^n after
  // n further samples, so 4*RTTVAR = 20 * 0.75^n:
  //   n = 10: 20 * 0.0563 = 1.126 > G  -> RTO = 11.126...
  //   n = 11: 20 * 0.0422 = 0.845 < G  -> RTO = 10 + 1 = 11 exactly
  RttConfig c = unclamped();
  c.granularity_ns = 1 * kMs;
  RttEstimator e(c);
  e.on_rtt_sample(10 * kMs);
  EXPECT_EQ(e.rto(), 30 * kMs);
  for (int n = 1; n <= 10; ++n) e.on_rtt_sample(10 * kMs);
  EXPECT_EQ(e.srtt(), 10 * kMs);
  EXPECT_GT(e.rto(), 11 * kMs);
  EXPECT_NEAR(static_cast<double>(e.rto()), 10e6 + 20e6 * std::pow(0.75, 10), 2.0);
  e.on_rtt_sample(10 * kMs);
  EXPECT_EQ(e.rto(), 11 * kMs);
  for (int n = 0; n < 1000; ++n) e.on_rtt_sample(10 * kMs);
  EXPECT_EQ(e.srtt(), 10 * kMs);
  EXPECT_EQ(e.rttvar(), 0u);
  EXPECT_EQ(e.rto(), 11 * kMs);
}

TEST(RttEstimator, TinySamples) {
  RttEstimator e(unclamped());
  // R = 0: SRTT 0, RTTVAR 0, RTO 0 (nothing floors it in this config).
  e.on_rtt_sample(0);
  EXPECT_TRUE(e.has_sample());
  EXPECT_EQ(e.rto(), 0u);

  // R = 1 ns first: SRTT 1, RTTVAR 0.5 (rttvar() truncates to 0), RTO = 1 + 2 = 3 ns.
  RttEstimator t(unclamped());
  t.on_rtt_sample(1);
  EXPECT_EQ(t.srtt(), 1u);
  EXPECT_EQ(t.rttvar(), 0u);
  EXPECT_EQ(t.rto(), 3u);
  // R' = 1 ns: RTTVAR = 3/4*0.5 = 0.375, SRTT 1, RTO = 1 + 1.5 = 2.5 -> rounded up to 3 ns.
  t.on_rtt_sample(1);
  EXPECT_EQ(t.srtt(), 1u);
  EXPECT_EQ(t.rto(), 3u);

  // With defaults the 1 ms granularity and 200 ms floor take over.
  RttEstimator d;
  d.on_rtt_sample(0);
  EXPECT_EQ(d.rto(), 200 * kMs);
}

TEST(RttEstimator, LargeSamples) {
  RttEstimator e(unclamped());
  // R = 60 s: SRTT 60, RTTVAR 30, RTO = 60 + 120 = 180 s.
  e.on_rtt_sample(60 * kSec);
  EXPECT_EQ(e.rto(), 180 * kSec);
  // R' = 3600 s (the sample cap): RTTVAR = 3/4*30 + 1/4*3540 = 22.5 + 885 = 907.5 s
  //                               SRTT   = 7/8*60 + 1/8*3600 = 52.5 + 450 = 502.5 s
  //                               RTO    = 502.5 + 3630 = 4132.5 s
  e.on_rtt_sample(RttEstimator::kMaxRttSampleNs);
  EXPECT_EQ(e.rttvar(), 907'500 * kMs);
  EXPECT_EQ(e.srtt(), 502'500 * kMs);
  EXPECT_EQ(e.rto(), 4'132'500 * kMs);
}

TEST(RttEstimator, SamplesAboveTheCapAreClamped) {
  RttEstimator a(unclamped());
  RttEstimator b(unclamped());
  a.on_rtt_sample(kU64Max);
  b.on_rtt_sample(RttEstimator::kMaxRttSampleNs);
  EXPECT_EQ(a.srtt(), RttEstimator::kMaxRttSampleNs);
  EXPECT_EQ(a.rto(), b.rto());
  // SRTT + 4*RTTVAR = 3600 + 4*1800 s: no overflow.
  EXPECT_EQ(a.rto(), 3 * RttEstimator::kMaxRttSampleNs);
}

TEST(RttEstimator, NoOverflowWithExtremeConfigAndSamples) {
  RttConfig c;
  c.min_rto_ns = 0;
  c.max_rto_ns = kU64Max;
  c.granularity_ns = kU64Max;  // SRTT + G saturates instead of wrapping
  RttEstimator e(c);
  e.on_rtt_sample(kU64Max);
  EXPECT_EQ(e.rto(), kU64Max);
  EXPECT_EQ(e.backoff(), kU64Max);

  // Alternating extremes keep the estimates within [0, cap].
  RttEstimator f(unclamped());
  for (int i = 0; i < 1000; ++i) {
    f.on_rtt_sample(i % 2 ? kU64Max : 0);
    ASSERT_LE(f.srtt(), RttEstimator::kMaxRttSampleNs);
    ASSERT_LE(f.rttvar(), RttEstimator::kMaxRttSampleNs);
    ASSERT_LE(f.rto(), 5 * RttEstimator::kMaxRttSampleNs);
  }
}

TEST(RttEstimator, BackoffDoublesAndSaturatesAtMax) {
  // RFC 6298 5.5 from the initial 1 s: 2, 4, 8, 16, 32, 64, then 128 > 120 -> 120, stays.
  RttEstimator e;
  const uint64_t expected[] = {2, 4, 8, 16, 32, 64, 120, 120, 120};
  uint32_t n = 0;
  for (uint64_t s : expected) {
    EXPECT_EQ(e.backoff(), s * kSec);
    EXPECT_EQ(e.rto(), s * kSec);
    EXPECT_EQ(e.backoff_count(), ++n);
  }
}

TEST(RttEstimator, BackoffFromComputedRto) {
  // R = 100 -> RTO 300; backoff: 600, 1200.
  RttEstimator e;
  e.on_rtt_sample(100 * kMs);
  EXPECT_EQ(e.backoff(), 600 * kMs);
  EXPECT_EQ(e.backoff(), 1200 * kMs);
  EXPECT_EQ(e.backoff_count(), 2u);
  e.reset_backoff();
  EXPECT_EQ(e.backoff_count(), 0u);
  EXPECT_EQ(e.rto(), 300 * kMs);
}

TEST(RttEstimator, BackoffSaturatesWithoutOverflowAtHugeMax) {
  RttConfig c = unclamped();
  c.initial_rto_ns = 1;
  RttEstimator e(c);
  uint64_t prev = e.rto();
  for (int i = 0; i < 100; ++i) {
    const uint64_t r = e.backoff();
    ASSERT_GE(r, prev) << "backoff " << i;
    prev = r;
  }
  EXPECT_EQ(e.rto(), kU64Max);
  EXPECT_EQ(e.backoff_count(), 100u);
}

// The count is one byte (it lives in the TCB, issue 13 item 5): it stops at 255, never wraps
// to 0, and the RTO stays saturated at the maximum throughout.
TEST(RttEstimator, BackoffCountSaturatesAt255) {
  RttEstimator e;
  for (int i = 0; i < 300; ++i) e.backoff();
  EXPECT_EQ(e.backoff_count(), 255u);
  EXPECT_EQ(e.rto(), RttConfig{}.max_rto_ns);
  e.reset_backoff();
  EXPECT_EQ(e.backoff_count(), 0u);
}

TEST(RttEstimator, NewSampleEndsBackoff) {
  // Backed off to 4 s, then R = 100: SRTT 100, RTTVAR 50, RTO 300, count 0.
  RttEstimator e;
  e.backoff();
  e.backoff();
  EXPECT_EQ(e.rto(), 4 * kSec);
  e.on_rtt_sample(100 * kMs);
  EXPECT_EQ(e.backoff_count(), 0u);
  EXPECT_EQ(e.rto(), 300 * kMs);
}

TEST(RttEstimator, ResetBackoffBeforeAnySampleReturnsToInitial) {
  RttEstimator e;
  e.backoff();
  e.reset_backoff();
  EXPECT_EQ(e.rto(), 1 * kSec);
}

TEST(RttEstimator, SynTimeoutFallbackToThreeSeconds) {
  // RFC 6298 5.7: SYN timed out (RTO 1 s -> backed off to 2 s), handshake completes: 3 s.
  RttEstimator e;
  e.backoff();
  e.on_handshake_complete(true);
  EXPECT_EQ(e.rto(), 3 * kSec);
  EXPECT_EQ(e.backoff_count(), 0u);
  EXPECT_FALSE(e.has_sample());
  // The next sample is a first one (2.2): R = 100 -> RTO 300.
  e.on_rtt_sample(100 * kMs);
  EXPECT_EQ(e.rto(), 300 * kMs);
}

TEST(RttEstimator, SynFallbackOnlyWhenTheTimerExpired) {
  RttEstimator e;
  e.on_handshake_complete(false);
  EXPECT_EQ(e.rto(), 1 * kSec);
}

TEST(RttEstimator, SynFallbackKeepsALargerRto) {
  // "using an RTO less than 3 seconds": a timestamp-timed R = 2 s gives RTO = 2 + 4 = 6 s,
  // which stays.
  RttEstimator e;
  e.on_rtt_sample(2 * kSec);
  e.backoff();
  e.on_handshake_complete(true);
  EXPECT_EQ(e.rto(), 6 * kSec);
}

TEST(RttEstimator, SynFallbackRespectsMaxRto) {
  RttConfig c;
  c.max_rto_ns = 2 * kSec;
  RttEstimator e(c);
  e.backoff();
  e.on_handshake_complete(true);
  EXPECT_EQ(e.rto(), 2 * kSec);
}

TEST(RttEstimator, ForgetEstimatesMakesTheNextSampleAFirstOne) {
  RttEstimator e;
  e.on_rtt_sample(100 * kMs);
  e.on_rtt_sample(200 * kMs);
  e.backoff();
  const uint64_t backed_off = e.rto();
  e.forget_estimates();
  EXPECT_FALSE(e.has_sample());
  EXPECT_EQ(e.rto(), backed_off);
  // R = 500 as a first sample (2.2): SRTT 500, RTTVAR 250, RTO 1500.
  e.on_rtt_sample(500 * kMs);
  EXPECT_EQ(e.srtt(), 500 * kMs);
  EXPECT_EQ(e.rttvar(), 250 * kMs);
  EXPECT_EQ(e.rto(), 1500 * kMs);
}

TEST(RttEstimator, NoDriftAgainstExactArithmetic) {
  // A long run of awkward samples (odd ns values, 1 ns .. 10 s) against the formulas in
  // long double: the fixed-point error stays bounded (a few ns), it does not grow.
  std::mt19937_64 rng(6298);
  std::uniform_int_distribution<uint64_t> dist(1, 10 * kSec);
  RttEstimator e(unclamped());
  long double srtt = 0, rttvar = 0;
  long double worst = 0;
  for (int i = 0; i < 200'000; ++i) {
    const uint64_t r = dist(rng) | 1;
    const long double rl = static_cast<long double>(r);
    if (i == 0) {
      srtt = rl;
      rttvar = rl / 2;
    } else {
      rttvar = 0.75L * rttvar + 0.25L * std::fabs(srtt - rl);
      srtt = 0.875L * srtt + 0.125L * rl;
    }
    e.on_rtt_sample(r);
    const long double rto = srtt + 4 * rttvar;
    // Bounds from the header: internal error < 1 ns (SRTT), < 1.5 ns (RTTVAR), plus < 1 ns
    // for srtt()/rttvar() truncating to whole ns; the RTO adds 4x the RTTVAR error.
    ASSERT_LT(std::fabs(static_cast<long double>(e.srtt()) - srtt), 2.0L) << "sample " << i;
    ASSERT_LT(std::fabs(static_cast<long double>(e.rttvar()) - rttvar), 2.5L) << "sample " << i;
    ASSERT_LT(std::fabs(static_cast<long double>(e.rto()) - rto), 8.0L) << "sample " << i;
    worst = std::max(worst, std::fabs(static_cast<long double>(e.rto()) - rto));
  }
  RecordProperty("worst_rto_error_ns", std::to_string(static_cast<double>(worst)));
}

TEST(RttSampleUsable, KarnsRule) {
  EXPECT_TRUE(rtt_sample_usable(false, false));
  EXPECT_TRUE(rtt_sample_usable(false, true));
  EXPECT_FALSE(rtt_sample_usable(true, false));  // ambiguous ACK of a retransmission
  EXPECT_TRUE(rtt_sample_usable(true, true));    // RFC 7323 4: the echo names the transmission
}

}  // namespace
}  // namespace pollux::tcp
