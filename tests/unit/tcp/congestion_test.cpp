// Congestion control math (lib/tcp/cc). CUBIC values are worked by hand from RFC 9438 with
// C = 0.4 and beta_cubic = 0.7, windows in segments:
//   W_max = 100 reduced to cwnd_epoch = 70:  K = cbrt((100 - 70) / 0.4) = cbrt(75) = 4.2172 s
//   W_cubic(0) = 0.4 (0 - K)^3 + 100 = -0.4 * 75 + 100 = 70
//   W_cubic(K) = 100, W_cubic(K + 1) = 100.4, W_cubic(K + 2) = 103.2, W_cubic(K - 2) = 96.8
//   W_max = 10, cwnd_epoch = 7:  K = cbrt(7.5) = 1.9574 s
//   alpha_cubic = 3 (1 - 0.7) / (1 + 0.7) = 0.9 / 1.7 = 0.52941
#include "tcp/cc/congestion.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>

namespace pollux::tcp::cc {
namespace {

constexpr uint32_t kMss = 1000;
constexpr uint64_t kMs = 1'000'000;

// One cumulative ACK without an RTT sample (HyStart++ then never acts).
void ack(State& s, uint32_t& cwnd, uint32_t ssthresh, uint32_t acked, uint32_t mss,
         uint32_t flight_before, uint64_t now, uint64_t srtt) {
  AckInfo a;
  a.acked = acked;
  a.mss = mss;
  a.flight_before = flight_before;
  a.now_ns = now;
  a.srtt_ns = srtt;
  on_ack(s, cwnd, ssthresh, a);
}

TEST(Cubic, CurvePointsByHand) {
  const double k = cubic_k(100, 70);
  EXPECT_NEAR(k, 4.2172, 1e-4);
  EXPECT_NEAR(cubic_w(0, k, 100), 70.0, 1e-9);
  EXPECT_NEAR(cubic_w(k, k, 100), 100.0, 1e-9);
  EXPECT_NEAR(cubic_w(k + 1, k, 100), 100.4, 1e-9);
  EXPECT_NEAR(cubic_w(k + 2, k, 100), 103.2, 1e-9);
  EXPECT_NEAR(cubic_w(k - 2, k, 100), 96.8, 1e-9);
  EXPECT_NEAR(cubic_k(10, 7), 1.9574, 1e-4);
  EXPECT_NEAR(kCubicAlpha, 0.52941, 1e-5);
  // Above W_max already: K is negative and the curve grows from the start.
  EXPECT_LT(cubic_k(50, 60), 0.0);
}

TEST(Cubic, ReductionIsBetaAndFastConvergence) {
  State s;
  init(s, Algorithm::cubic);
  // 100 segments in flight: ssthresh = 0.7 * 100 = 70 segments, W_max = 100.
  EXPECT_EQ(on_congestion(s, 100 * kMss, 100 * kMss, kMss), 70 * kMss);
  EXPECT_EQ(s.w_max, 100 * kMss);  // bytes
  // Next loss before regaining W_max (at 80): W_max = 80 (1 + 0.7) / 2 = 68.
  EXPECT_EQ(on_congestion(s, 80 * kMss, 80 * kMss, kMss), 56 * kMss);
  EXPECT_EQ(s.w_max, 68 * kMss);
  // Never below two segments.
  EXPECT_EQ(on_congestion(s, kMss, kMss, kMss), 2 * kMss);
}

TEST(NewReno, HalvesTheFlightAndAddsOneSegmentPerWindow) {
  State s;
  init(s, Algorithm::newreno);
  EXPECT_EQ(on_congestion(s, 100 * kMss, 60 * kMss, kMss), 30 * kMss);
  uint32_t cwnd = 30 * kMss;
  // One window of ACKs (30 segments) in congestion avoidance: exactly one MSS more.
  for (int i = 0; i < 30; ++i) ack(s, cwnd, 30 * kMss, kMss, kMss, cwnd, 0, 100 * kMs);
  EXPECT_EQ(cwnd, 31 * kMss);
}

TEST(CongestionControl, SlowStartIsAbcWithLimitTwo) {
  for (Algorithm a : {Algorithm::newreno, Algorithm::cubic}) {
    State s;
    init(s, a);
    uint32_t cwnd = 10 * kMss;
    ack(s, cwnd, 0xffffffff, 1 * kMss, kMss, cwnd, 0, 0);  // one segment: +1
    EXPECT_EQ(cwnd, 11 * kMss);
    ack(s, cwnd, 0xffffffff, 5 * kMss, kMss, cwnd, 0, 0);  // stretch ACK: at most +2 (RFC 3465)
    EXPECT_EQ(cwnd, 13 * kMss);
  }
}

TEST(CongestionControl, ApplicationLimitedSenderDoesNotGrow) {
  // RFC 7661: less than half the window in flight -> no growth, slow start or not.
  for (Algorithm a : {Algorithm::newreno, Algorithm::cubic}) {
    State s;
    init(s, a);
    uint32_t cwnd = 40 * kMss;
    ack(s, cwnd, 0xffffffff, 2 * kMss, kMss, 10 * kMss, 0, 0);
    EXPECT_EQ(cwnd, 40 * kMss);
    ack(s, cwnd, 0xffffffff, 2 * kMss, kMss, 20 * kMss, 0, 0);  // half: validated
    EXPECT_EQ(cwnd, 42 * kMss);
  }
}

// A CUBIC sender just reduced from 100 segments in flight (W_max 100, cwnd 70), whose round
// trips of 100 ms each deliver one window of ACKs, one segment each, from 1 s on.
struct ReducedAt100 {
  State s;
  uint32_t ssthresh = 0, cwnd = 0;
  uint64_t now = 1'000'000'000;
  static constexpr uint64_t kRtt = 100 * kMs;
  ReducedAt100() {
    init(s, Algorithm::cubic);
    ssthresh = cwnd = on_congestion(s, 100 * kMss, 100 * kMss, kMss);
  }
  void round_trip(uint32_t mss) {
    const uint32_t segs = cwnd / mss;
    for (uint32_t i = 0; i < segs; ++i) ack(s, cwnd, ssthresh, mss, mss, cwnd, now, kRtt);
    now += kRtt;
  }
};

// After a reduction from 100 to 70 segments with a 100 ms RTT, CUBIC regrows along the
// curve: concave below W_max, about W_max at t = K (4.2 s), then convex -- until the
// Reno-friendly estimate takes over. By hand: W_est = 70 + 0.529 per RTT reaches
// cwnd_prior = 100 after 57 RTTs (5.7 s); alpha is 1 from then on (RFC 9438 4.3), so W_est
// grows one segment per RTT and, from about 5.9 s, exceeds the curve (W_cubic(6.5) =
// 104.7, W_est(6.5) = 106.7): cwnd follows W_est. Each round trip delivers one window of
// ACKs, one segment each.
TEST(Cubic, RegrowsAlongTheCurve) {
  ReducedAt100 r;
  const uint32_t& cwnd = r.cwnd;
  const double k = cubic_k(100, 70);
  double prev = cwnd;
  double at_k = 0, at_60 = 0, at_70 = 0;
  for (int round = 0; round < 70; ++round) {
    r.round_trip(kMss);
    const double t = (round + 1) * 0.1;  // time since the epoch began (first ACK at round 0)
    EXPECT_GE(cwnd, prev);
    prev = cwnd;
    const double w = double(cwnd) / kMss;
    if (t < k - 0.5) {
      EXPECT_LT(w, 100.0) << "t=" << t;
    }
    if (std::fabs(t - k) < 0.05) at_k = w;
    if (round + 1 == 60) at_60 = w;
    if (round + 1 == 70) at_70 = w;
    // On the curve while it leads: never beyond the target one RTT ahead, never below
    // W_cubic(t) minus the lag of window-by-window updates.
    if (t <= 5.5) {
      EXPECT_LE(w, cubic_w(t + 0.1, k, 100) + 1.0) << "t=" << t;
      EXPECT_GE(w, cubic_w(t - 0.2, k, 100) - 1.0) << "t=" << t;
    }
  }
  EXPECT_NEAR(at_k, 100.0, 1.5);
  // Reno-friendly with alpha = 1: one segment per RTT over the last ten RTTs.
  EXPECT_NEAR(at_70 - at_60, 10.0, 1.0);
}

// PMTUD lowers the MSS in the middle of an epoch (path_mtu.cpp: SND.MSS only; cwnd, W_max,
// cwnd_prior and W_est stay in bytes). RFC 9438 counts windows in segments of SMSS and says
// nothing of an SMSS that changes; what is kept here is the window the path held before the
// reduction, in bytes, and the epoch's time to regain it (K, from the segments at the
// reduction). So the curve still reaches the same bytes at the same time, eq. 1's cubic term
// now in smaller segments (W_max is 125 of them instead of 100 of the old). Counted in
// segments, as Linux counts them, the plateau would fall to 100 x 800 B with the MSS: 20%
// below the window the path carried.
TEST(Cubic, AnMssLoweredMidEpochKeepsThePlateauInBytesAndItsTime) {
  ReducedAt100 r;
  const uint32_t& cwnd = r.cwnd;
  const double k = cubic_k(100, 70);  // 4.2172 s, in the segments of the reduction
  constexpr uint32_t kLower = 800;    // from round 20 (t = 2 s) on
  double at_k = 0;
  uint32_t prev = cwnd;
  for (int round = 0; round < 50; ++round) {
    const uint32_t mss = round < 20 ? kMss : kLower;
    r.round_trip(mss);
    const double t = (round + 1) * 0.1;
    EXPECT_GE(cwnd, prev) << "t=" << t;
    EXPECT_LE(cwnd, prev + prev / 2 + mss) << "at most 1.5 cwnd a round (4.4), t=" << t;
    prev = cwnd;
    if (t < k - 0.5) {
      EXPECT_LT(cwnd, 100 * kMss) << "W_max in bytes is not passed early, t=" << t;
    }
    if (std::fabs(t - k) < 0.05) at_k = cwnd;
  }
  EXPECT_EQ(r.s.w_max, 100 * kMss) << "W_max is the bytes before the reduction, whatever the MSS";
  EXPECT_NEAR(at_k, 100.0 * kMss, 1.5 * kLower) << "the plateau's bytes at the epoch's own K";
}

// Short RTT: the Reno-friendly estimate (RFC 9438 4.3) wins over the flat cubic plateau.
TEST(Cubic, RenoFriendlyRegionWithShortRtt) {
  State s;
  init(s, Algorithm::cubic);
  const uint32_t ssthresh = on_congestion(s, 100 * kMss, 100 * kMss, kMss);
  uint32_t cwnd = ssthresh;
  const uint64_t rtt = 1 * kMs;
  uint64_t now = 1'000'000'000;
  for (int round = 0; round < 40; ++round) {  // 40 ms: the cubic curve has barely moved
    const uint32_t segs = cwnd / kMss;
    for (uint32_t i = 0; i < segs; ++i) ack(s, cwnd, ssthresh, kMss, kMss, cwnd, now, rtt);
    now += rtt;
  }
  // W_est grew by about alpha = 0.53 segments per RTT: 70 + 40 * 0.53 = 91 (the cubic
  // curve alone would give W_cubic(0.04) = 70.4).
  EXPECT_NEAR(double(cwnd) / kMss, 70 + 40 * kCubicAlpha, 1.5);
}

}  // namespace
}  // namespace pollux::tcp::cc

namespace pollux::tcp::cc {
namespace {

// HyStart++ (RFC 9406): rounds of 10 ACKs, each ACK carrying an RTT sample. The first
// rounds see 20 ms; then a queue builds and the minimum of a round rises to 25 ms, above
// 20 + max(4, 20/8) ms: conservative slow start (growth / 4), and five rounds later
// congestion avoidance with ssthresh = cwnd.
struct Rounds {
  State s;
  uint32_t cwnd = 10 * kMss, ssthresh = 0xffffffff;
  net::Seq nxt{1000};
  uint64_t now = 0;
  // One round: n ACKs of one segment each with the given RTT; returns cwnd's growth.
  uint32_t round(uint64_t rtt, uint32_t n = 10) {
    const uint32_t before = cwnd;
    const net::Seq end = nxt + n * kMss;
    for (uint32_t i = 0; i < n; ++i) {
      AckInfo a;
      a.acked = kMss;
      a.mss = kMss;
      a.flight_before = cwnd;
      a.now_ns = now += kMs;
      a.srtt_ns = rtt;
      a.rtt_sample_ns = rtt;
      a.ack = nxt + (i + 1) * kMss;
      a.snd_nxt = end + (i + 1) * kMss;
      on_ack(s, cwnd, ssthresh, a);
    }
    nxt = end;
    return cwnd - before;
  }
};

TEST(Hystart, ARisingRoundMinimumTurnsSlowStartConservativeThenEndsIt) {
  Rounds r;
  r.s = State{};
  init(r.s, Algorithm::cubic);
  EXPECT_EQ(r.round(20 * kMs), 10 * kMss);  // slow start: +1 MSS per MSS acked
  EXPECT_EQ(r.round(20 * kMs), 10 * kMss);
  EXPECT_FALSE(r.s.hystart.in_css);
  // The delay rises by 5 ms (threshold: clamp(20/8, 4, 16) = 4 ms). CSS begins with the
  // 8th sample of the round: from that ACK on, growth is a quarter.
  const uint32_t g = r.round(25 * kMs);
  EXPECT_TRUE(r.s.hystart.in_css);
  EXPECT_EQ(g, 7 * kMss + 3 * kMss / 4);
  // Five CSS rounds, then avoidance: ssthresh is the cwnd reached.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(r.round(25 * kMs), 10 * kMss / 4) << i;
  EXPECT_EQ(r.ssthresh, 0xffffffffu);
  // The first ACK of the sixth round ends slow start at the cwnd reached; the rest of the
  // round is congestion avoidance (well under one MSS of growth).
  const uint32_t reached = r.cwnd;
  r.round(25 * kMs);
  EXPECT_EQ(r.ssthresh, reached);
  EXPECT_LT(r.cwnd - reached, kMss);
  EXPECT_FALSE(r.s.hystart.in_css);
}

TEST(Hystart, ARiseBelowTheThresholdOrAFallBackLeavesSlowStartAlone) {
  Rounds r;
  init(r.s, Algorithm::newreno);
  r.round(20 * kMs);
  EXPECT_EQ(r.round(23 * kMs), 10 * kMss);  // +3 ms < 4 ms
  EXPECT_FALSE(r.s.hystart.in_css);
  r.round(30 * kMs);  // +7 ms: CSS
  EXPECT_TRUE(r.s.hystart.in_css);
  r.round(20 * kMs);  // below the CSS baseline (30 ms): the rise was spurious
  EXPECT_FALSE(r.s.hystart.in_css);
  EXPECT_EQ(r.round(20 * kMs), 10 * kMss);
  EXPECT_EQ(r.ssthresh, 0xffffffffu);
}

// The round minima are kept as 32-bit nanoseconds (issue 13 item 5): a rise seen below the
// 4.29 s ceiling is seen as before; rounds whose minima are both above it read as equal.
TEST(Hystart, RoundMinimaBelowTheCeilingDecideAsBeforeAndAboveItReadAsTheCeiling) {
  constexpr uint64_t kSec = 1'000 * kMs;
  Rounds below;
  init(below.s, Algorithm::cubic);
  below.round(4 * kSec);
  below.round(4 * kSec + 20 * kMs);  // +20 ms >= the 16 ms threshold (clamp(4 s / 8, 4, 16))
  EXPECT_TRUE(below.s.hystart.in_css);
  EXPECT_EQ(below.s.hystart.css_baseline_min_rtt, 4 * kSec + 20 * kMs);

  Rounds above;
  init(above.s, Algorithm::cubic);
  above.round(5 * kSec);
  EXPECT_EQ(above.round(6 * kSec), 10 * kMss);  // both held at the ceiling: no rise seen
  EXPECT_FALSE(above.s.hystart.in_css);
  EXPECT_EQ(above.s.hystart.current_round_min_rtt, kHystartRttCeilingNs);
}

// NewReno's byte count and CUBIC's carried fraction share a word: each algorithm starts it
// at zero and a reduction zeroes its own.
TEST(CcState, EachAlgorithmStartsAndResetsItsOwnMemberOfTheSharedWord) {
  State s;
  init(s, Algorithm::newreno);
  uint32_t cwnd = 10 * kMss;
  ack(s, cwnd, 5 * kMss, 4 * kMss, kMss, cwnd, kMs, 20 * kMs);
  EXPECT_EQ(s.bytes_acked_ca, 4 * kMss);
  (void)on_congestion(s, cwnd, cwnd, kMss);
  EXPECT_EQ(s.bytes_acked_ca, 0u);
  init(s, Algorithm::cubic);
  EXPECT_EQ(s.frac.cwnd, 0);
  EXPECT_EQ(s.frac.w_est, 0);
  EXPECT_EQ(s.algo, Algorithm::cubic);
}

TEST(Hystart, ALossEndsIt) {
  Rounds r;
  init(r.s, Algorithm::cubic);
  r.round(20 * kMs);
  r.ssthresh = on_congestion(r.s, r.cwnd, r.cwnd, kMss);
  r.cwnd = kMss;  // as after a timeout: slow start again, without HyStart++
  r.round(20 * kMs);
  EXPECT_EQ(r.round(40 * kMs, 3), 3 * kMss);
  EXPECT_FALSE(r.s.hystart.in_css);
}

// The double-state CUBIC that State replaced (session 17): W_max, cwnd_prior, W_est and the
// carried fraction as doubles in segments (bytes for the fraction), K and the epoch's start
// apart. The reference the fixed-point state is held to.
struct DoubleCubic {
  double w_max = 0, cwnd_prior = 0, k = 0, w_est = 0, frac_bytes = 0;
  uint64_t epoch_start_ns = 0;
  bool in_epoch = false;

  void on_ack(uint32_t& cwnd, uint32_t acked, uint32_t mss, uint64_t now, uint64_t srtt_ns) {
    const double seg = mss;
    const double w = cwnd / seg;
    if (!in_epoch) {
      in_epoch = true;
      epoch_start_ns = now;
      if (w_max < w) w_max = w;
      k = cubic_k(w_max, w);
      w_est = w;
    }
    const double t = static_cast<double>(now - epoch_start_ns) * 1e-9;
    const double rtt = static_cast<double>(srtt_ns) * 1e-9;
    const double segs_acked = acked / seg;
    w_est += (w_est >= cwnd_prior ? 1.0 : kCubicAlpha) * segs_acked / w;
    double next;
    if (cubic_w(t, k, w_max) < w_est) {
      next = w_est;
    } else {
      const double target = std::clamp(cubic_w(t + rtt, k, w_max), w, 1.5 * w);
      next = w + (target - w) / w * segs_acked;
    }
    const double grow = (next - w) * seg + frac_bytes;
    if (grow <= 0) {
      frac_bytes = 0;
      return;
    }
    const double whole = std::floor(grow);
    frac_bytes = grow - whole;
    cwnd += static_cast<uint32_t>(std::min(whole, 1e9));
  }
  uint32_t on_congestion(uint32_t cwnd, uint32_t flight, uint32_t mss) {
    const double w = static_cast<double>(cwnd) / mss;
    w_max = w < w_max ? w * (1.0 + kCubicBeta) / 2.0 : w;
    cwnd_prior = w;
    in_epoch = false;
    frac_bytes = 0;
    return std::max(static_cast<uint32_t>(flight * kCubicBeta), 2u * mss);
  }
};

// CUBIC's state in 32-bit bytes with 16-bit fractions and one origin time (State) against
// the doubles it replaced, over long random sequences of ACKs in congestion avoidance:
// stretch and partial ACKs, RTTs from 1 ms to 300 ms with jitter, three MSSs, reductions at
// random and whenever the window outgrows a random "buffer". Each side keeps its own cwnd.
// What the narrower state loses per ACK is below 2^-16 byte (W_est's and cwnd's fractions,
// K rounded to the nanosecond, W_max to the byte); a flooring may then land one byte apart,
// and the windows stay within a few bytes of each other -- far below one segment, the unit
// in which cwnd decides anything.
TEST(Cubic, FixedPointStateFollowsTheDoubleArithmeticOverLongRandomAckSequences) {
  constexpr uint32_t kMsses[] = {536, 1448, 8948};
  uint32_t worst = 0;
  uint64_t acks = 0, differing = 0;
  for (uint64_t seed = 1; seed <= 24; ++seed) {
    std::mt19937_64 rng(seed);
    const uint32_t mss = kMsses[seed % 3];
    const uint64_t srtt = (1 + rng() % 300) * kMs;
    State s;
    init(s, Algorithm::cubic, false);
    DoubleCubic d;
    uint32_t cwnd_f = static_cast<uint32_t>(10 + rng() % 500) * mss, cwnd_d = cwnd_f;
    uint32_t ssthresh_f = on_congestion(s, cwnd_f, cwnd_f, mss);
    const uint32_t ssthresh_d = d.on_congestion(cwnd_d, cwnd_d, mss);
    ASSERT_EQ(ssthresh_f, ssthresh_d);
    cwnd_f = ssthresh_f;
    cwnd_d = ssthresh_d;
    uint32_t buffer = static_cast<uint32_t>(200 + rng() % 20000) * mss;
    uint64_t now = 1'000'000'000 + rng() % 1'000'000'000;
    for (int i = 0; i < 100'000; ++i) {
      const uint32_t acked = rng() % 4 == 0 ? 1 + static_cast<uint32_t>(rng() % (3 * mss))
                                            : mss * (1 + static_cast<uint32_t>(rng() % 2));
      // One window of ACKs per RTT, with jitter.
      now += (srtt * acked / cwnd_f) * (50 + rng() % 100) / 100 + 1;
      const uint64_t srtt_now = srtt + rng() % (srtt / 8 + 1);
      ack(s, cwnd_f, ssthresh_f, acked, mss, cwnd_f, now, srtt_now);
      d.on_ack(cwnd_d, acked, mss, now, srtt_now);
      const uint32_t diff = cwnd_f > cwnd_d ? cwnd_f - cwnd_d : cwnd_d - cwnd_f;
      ++acks;
      if (diff != 0) ++differing;
      worst = std::max(worst, diff);
      ASSERT_LE(diff, 16u) << "seed " << seed << " ack " << i << " mss " << mss << " cwnd "
                           << cwnd_d << " (double) " << cwnd_f << " (fixed)";
      if (cwnd_f > buffer || rng() % 30'000 == 0) {
        ssthresh_f = on_congestion(s, cwnd_f, cwnd_f, mss);
        cwnd_d = d.on_congestion(cwnd_d, cwnd_d, mss);
        cwnd_f = ssthresh_f;
        buffer = static_cast<uint32_t>(200 + rng() % 20000) * mss;
      }
    }
  }
  std::printf("%llu ACKs: cwnd differed on %llu, by at most %u bytes\n",
              static_cast<unsigned long long>(acks), static_cast<unsigned long long>(differing),
              worst);
}
}  // namespace
}  // namespace pollux::tcp::cc
