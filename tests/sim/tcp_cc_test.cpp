// Congestion control compared on the same paths (issue 4): CUBIC (RFC 9438) against NewReno
// (RFC 5681), both with SACK recovery (RFC 6675), host a sending to host b. Asserted are the
// orderings RFC 9438 predicts where the prediction does not hang on details:
//   1. the multiplicative decrease (4.6): after a loss ssthresh is 0.7 of the flight for
//      CUBIC, 0.5 for NewReno (RFC 5681 eq. 4);
//   2. after a loss on a long-fat path, CUBIC's window climbs back along the cubic curve,
//      concave towards W_max (4.2-4.4), in time that does not depend on the RTT, while
//      NewReno adds one segment per RTT (RFC 5681 3.1): more window, and the data sooner;
//   3. in the Reno-friendly region (4.3: short RTT, small window) CUBIC tracks the window an
//      AIMD flow with alpha_cubic and beta_cubic would have, which averages what Reno gets:
//      CUBIC is not worse than NewReno there beyond a small margin.
// Thresholds come from measurements (in the comments), with margin; each comment says what a
// swapped or broken algorithm does to the same numbers (tried once each).
//
// Not here: random loss on a long-fat path with a drop-tail queue. There the slow-start
// overshoot into the queue (thousands of drops, RTOs) decides the transfer more than the
// congestion avoidance does; over 4 seeds the means came out 29 vs 32 Mbit/s with a spread
// of 18-44 per run: no ordering to assert without many more seeds than a CI run can afford.
// The scenarios 1 and 2 use one scripted loss and nothing else random: one run each (the
// seed only moves the ISN).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "bulk_transfer.hpp"
#include "sim_seeds.hpp"

namespace pollux::sim {
namespace {

using tcp::cc::Algorithm;
using tcp::cc::algorithm_name;

constexpr uint32_t kSeg = 1448;  // MSS 1460 less 12 bytes of timestamps

// What the sender's snapshots showed around the first recovery of a transfer.
struct LossEpisode {
  bool seen = false, over = false;
  ConnInfo before;        // the last snapshot before recovery
  ConnInfo entry;         // the first snapshot in recovery
  ConnInfo exit;          // the first snapshot after it
  uint64_t exit_ns = 0;   // since connect()
  ConnInfo later;         // the snapshot `later_ns` after the exit
  uint64_t later_ns = 0;  // 0: not wanted
  bool later_seen = false;
  void watch(uint64_t t, const ConnInfo& i) {
    const bool recovering = std::string(i.ca_state) == "recovery";
    if (!seen && !recovering) {
      before = i;
    } else if (!seen && recovering) {
      seen = true;
      entry = i;
    } else if (seen && !over && !recovering) {
      over = true;
      exit = i;
      exit_ns = t;
    } else if (over && !later_seen && later_ns != 0 && t >= exit_ns + later_ns) {
      later_seen = true;
      later = i;
    }
  }
};

// A 100 Mbit/s path (serialization spaces the segments, so the receiver ACKs every other
// one as on a real wire) with an unbounded queue, one-way delay `owd`, large buffers, and the
// first transmission of the segment at stream offset `drop_at` lost: one congestion event.
BulkSpec one_loss(Algorithm cc, uint64_t owd, uint64_t drop_at, uint64_t bytes, LossEpisode* ep) {
  BulkSpec s;
  s.cc = cc;
  s.ab.delay_ns = s.ba.delay_ns = owd;
  s.ab.bandwidth_bps = s.ba.bandwidth_bps = 100'000'000;
  s.bytes = bytes;
  s.buf = 4 << 20;
  auto offsets = std::make_shared<StreamOffsets>();
  auto dropped = std::make_shared<bool>(false);
  s.drop_ab = [offsets, dropped, drop_at](const rte_mbuf* m, uint64_t) {
    if (*dropped || offsets->data_offset(m) != static_cast<int64_t>(drop_at)) return false;
    *dropped = true;
    return true;
  };
  s.watch = [ep](uint64_t t, const ConnInfo& i) { ep->watch(t, i); };
  return s;
}

// 1. One segment lost in slow start (RTT 40 ms). Up to the loss both runs are the same (slow
// start is common code), so both reduce from the same flight, and ssthresh is beta of it:
// CUBIC's must be 0.7 / 0.5 = 1.4 times NewReno's. Measured: flight 451776 at the loss
// for both, ssthresh 225888 and 316243 (exactly beta, rounded down), ratio 1.400. Swapped
// algorithms give 0.714; a wrong beta moves the ratio by more than the 0.03 allowed.
TEST(SimTcpCc, OneLossReducesByBeta) {
  LossEpisode ep[2];
  const Algorithm algos[2] = {Algorithm::newreno, Algorithm::cubic};
  for (int k = 0; k < 2; ++k) {
    const BulkSpec spec = one_loss(algos[k], 20 * kMillisecond, 300 * kSeg, 4 << 20, &ep[k]);
    const BulkResult r = run_bulk_transfer(spec);
    ASSERT_TRUE(r.complete) << r.where;
    EXPECT_EQ(r.leaked, 0u) << r.where;
    EXPECT_EQ(r.fast_recoveries, 1u) << r.where;
    EXPECT_EQ(r.timeouts, 0u) << r.where;
    ASSERT_TRUE(ep[k].seen && ep[k].over) << r.where;
    EXPECT_STREQ(ep[k].entry.cc, algorithm_name(algos[k]));
    std::printf("%s: flight %u at recovery, ssthresh %u, cwnd after recovery %u\n",
                algorithm_name(algos[k]), ep[k].entry.bytes_in_flight, ep[k].entry.ssthresh,
                ep[k].exit.cwnd);
    const double beta = algos[k] == Algorithm::cubic ? 0.7 : 0.5;  // 9438 4.6, 5681 eq. 4
    EXPECT_NEAR(double(ep[k].entry.ssthresh) / ep[k].entry.bytes_in_flight, beta, 0.01) << r.where;
    // Recovery never ends above ssthresh (RFC 6675 5, RFC 6582 3.2 step 6).
    EXPECT_LE(ep[k].exit.cwnd, ep[k].entry.ssthresh) << r.where;
  }
  const double ratio = double(ep[1].entry.ssthresh) / ep[0].entry.ssthresh;
  std::printf("ssthresh cubic / newreno = %.3f (0.7 / 0.5 = 1.4)\n", ratio);
  EXPECT_NEAR(ratio, 0.7 / 0.5, 0.03);  // RFC 9438 4.6, RFC 5681 eq. 4: literals, not the code's
}

// 1 over IPv6 (issue 16): the same reductions by beta (segments of 1440 - 12 octets).
TEST(SimTcpCc, OverIpv6OneLossReducesByBeta) {
  constexpr uint32_t kSeg6 = 1428;
  LossEpisode ep[2];
  const Algorithm algos[2] = {Algorithm::newreno, Algorithm::cubic};
  for (int k = 0; k < 2; ++k) {
    BulkSpec spec = one_loss(algos[k], 20 * kMillisecond, 300 * kSeg6, 4 << 20, &ep[k]);
    spec.family = Family::v6;
    const BulkResult r = run_bulk_transfer(spec);
    ASSERT_TRUE(r.complete) << r.where;
    EXPECT_EQ(r.leaked, 0u) << r.where;
    EXPECT_EQ(r.fast_recoveries, 1u) << r.where;
    EXPECT_EQ(r.timeouts, 0u) << r.where;
    ASSERT_TRUE(ep[k].seen && ep[k].over) << r.where;
    const double beta = algos[k] == Algorithm::cubic ? 0.7 : 0.5;  // 9438 4.6, 5681 eq. 4
    EXPECT_NEAR(double(ep[k].entry.ssthresh) / ep[k].entry.bytes_in_flight, beta, 0.01) << r.where;
    EXPECT_LE(ep[k].exit.cwnd, ep[k].entry.ssthresh) << r.where;
  }
  EXPECT_NEAR(double(ep[1].entry.ssthresh) / ep[0].entry.ssthresh, 0.7 / 0.5, 0.03);
}

// 2. The same single loss on a long-fat path: 100 Mbit/s, RTT 100 ms (BDP 1.25 MB, 863
// segments), the loss when slow start has the window at W = 610 segments. Then, for 3 s:
//   NewReno from W / 2, one segment per RTT (RFC 5681 3.1): 305 + 30 segments;
//   CUBIC from 0.7 W along W(t) = C (t - K)^3 + W_max (RFC 9438 4.2, eq. 1 and 2) with
//   W_max = W, C = 0.4, K = cbrt(W_max (1 - 0.7) / C) = 7.7 s: W(3 s) = 568 segments.
// Measured: newreno 306 -> 336, cubic 428 -> 568 (the curve to the segment); in those 3 s
// 13.8 MB vs 22.0 MB delivered, the 40 MiB complete after 9.1 s vs 6.2 s. Asserted: the
// curves within 3% of the RFCs', and CUBIC ahead on each measure by at least 20% (measured
// 50-70%). Swapped algorithms fail every line; so does a CUBIC that grows like Reno.
TEST(SimTcpCc, AfterALossCubicRegrowsFasterOnALongFatPath) {
  constexpr uint64_t kRtt = 100 * kMillisecond, kLater = 3 * kSecond;
  LossEpisode ep[2];
  BulkResult r[2];
  const Algorithm algos[2] = {Algorithm::newreno, Algorithm::cubic};
  for (int k = 0; k < 2; ++k) {
    ep[k].later_ns = kLater;
    const BulkSpec spec = one_loss(algos[k], kRtt / 2, 600 * kSeg, 40 << 20, &ep[k]);
    r[k] = run_bulk_transfer(spec);
    ASSERT_TRUE(r[k].complete) << r[k].where;
    EXPECT_EQ(r[k].leaked, 0u) << r[k].where;
    EXPECT_EQ(r[k].fast_recoveries, 1u) << r[k].where;
    EXPECT_EQ(r[k].timeouts, 0u) << r[k].where;
    ASSERT_TRUE(ep[k].later_seen) << r[k].where;
    std::printf(
        "%s: window %u at the loss, ssthresh %u, cwnd %u 3 s after recovery, %.1f MB "
        "delivered in those 3 s, %.3f s in all\n",
        algorithm_name(algos[k]), ep[k].before.cwnd / kSeg, ep[k].entry.ssthresh / kSeg,
        ep[k].later.cwnd / kSeg, (ep[k].later.bytes_acked - ep[k].exit.bytes_acked) / 1e6,
        r[k].elapsed_ns / 1e9);
  }
  // The windows 3 s on, in segments, against the RFCs' arithmetic (literals, not the code's).
  const double reno_start = double(ep[0].entry.ssthresh) / kSeg;
  const double reno_now = double(ep[0].later.cwnd) / kSeg;
  EXPECT_NEAR(reno_now, reno_start + double(kLater) / kRtt, 0.03 * reno_now);
  const double w_max = double(ep[1].before.cwnd) / kSeg;
  const double k_s = std::cbrt(w_max * (1 - 0.7) / 0.4);
  const double t = (ep[1].later_ns + 0.0) / kSecond;
  const double cubic_rfc = 0.4 * std::pow(t - k_s, 3) + w_max;
  const double cubic_now = double(ep[1].later.cwnd) / kSeg;
  std::printf("RFC 9438 eq. 1: W_max %.0f, K %.2f s, W(%.1f s) = %.0f segments\n", w_max, k_s, t,
              cubic_rfc);
  EXPECT_NEAR(cubic_now, cubic_rfc, 0.03 * cubic_rfc);
  // The orderings.
  EXPECT_GT(cubic_now, 1.2 * reno_now);
  EXPECT_GT(double(ep[1].later.bytes_acked - ep[1].exit.bytes_acked),
            1.2 * double(ep[0].later.bytes_acked - ep[0].exit.bytes_acked));
  EXPECT_LT(1.2 * double(r[1].elapsed_ns), double(r[0].elapsed_ns));
}

// 3. The Reno-friendly region (RFC 9438 4.3): RTT 4 ms, 100 Mbit/s, 256 KiB queue, 1% random
// loss on the data path. Reno's window is about 1.22 / sqrt(p) = 12 segments, the pure cubic
// curve's (5.1) below one: CUBIC runs on W_est, an AIMD with alpha 3 (1 - beta) / (1 + beta)
// and beta 0.7, which matches Reno's average, and with alpha 1 once W_est passes the window
// of the last reduction (hence ahead of Reno here). So CUBIC must not do worse than NewReno
// beyond a small margin.
// Measured over seeds 1-8 (8 MiB): newreno 32-38 Mbit/s (mean 35.8), cubic 43-51 (mean
// 46.7), every seed cubic ahead; over the default 4 seeds of 4 MiB: 38.4 and 53.8. Asserted: the
// mean of CUBIC at least 0.9 of NewReno's. A CUBIC without the Reno-friendly estimate (the
// bare curve from 0.7 W) measured 29.9, the two algorithms swapped 38.4 vs 53.8: both fail.
TEST(SimTcpCc, RenoFriendlyRegionCubicKeepsUpWithNewReno) {
  double mbps[2] = {0, 0};
  uint64_t runs = 0;
  const Algorithm algos[2] = {Algorithm::newreno, Algorithm::cubic};
  for (uint64_t seed : sim_seeds(4)) {
    for (int k = 0; k < 2; ++k) {
      BulkSpec spec;
      spec.seed = seed;
      spec.cc = algos[k];
      spec.ab.delay_ns = spec.ba.delay_ns = 2 * kMillisecond;
      for (Faults* f : {&spec.ab, &spec.ba}) {
        f->bandwidth_bps = 100'000'000;
        f->max_queue_bytes = 256 * 1024;
      }
      spec.ab.loss = 0.01;
      spec.bytes = 4 << 20;
      spec.buf = 1 << 20;
      const BulkResult r = run_bulk_transfer(spec);
      ASSERT_TRUE(r.complete) << r.where;
      EXPECT_EQ(r.leaked, 0u) << r.where;
      mbps[k] += r.goodput_mbps(spec.bytes);
    }
    ++runs;
  }
  std::printf("Reno-friendly region, mean of %lu seeds: newreno %.1f Mbit/s, cubic %.1f Mbit/s\n",
              (unsigned long)runs, mbps[0] / runs, mbps[1] / runs);
  EXPECT_GE(mbps[1], 0.9 * mbps[0]);
}

}  // namespace
}  // namespace pollux::sim
