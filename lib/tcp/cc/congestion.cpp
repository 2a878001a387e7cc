// NewReno and CUBIC: see congestion.hpp.
#include "tcp/cc/congestion.hpp"

#include <algorithm>
#include <cmath>

namespace pollux::tcp::cc {

double cubic_k(double w_max, double cwnd_epoch) {
  // RFC 9438 eq. 2; a window already above W_max (cwnd_epoch > W_max) gives a negative K:
  // the curve is then past its plateau and convex from the start.
  return std::cbrt((w_max - cwnd_epoch) / kCubicC);
}

double cubic_w(double t, double k, double w_max) {
  const double d = t - k;
  return kCubicC * d * d * d + w_max;
}

void init(State& s, Algorithm a, bool hystart) {
  s = State{};
  s.algo = a;
  if (a == Algorithm::newreno) s.bytes_acked_ca = 0;  // its member of the shared word
  s.hystart.enabled = hystart;
}

namespace {

void newreno_avoidance(State& s, uint32_t& cwnd, uint32_t acked, uint32_t mss) {
  // RFC 5681 3.1: about one MSS per RTT, by byte counting (RFC 3465 3.1).
  s.bytes_acked_ca += acked;
  if (s.bytes_acked_ca >= cwnd) {
    s.bytes_acked_ca -= cwnd;
    cwnd += mss;
  }
}

// A byte count with a fraction, as CUBIC keeps it: whole bytes and 1/kFracOne parts, from
// a non-negative double (rounded to the nearest part).
struct FixedBytes {
  uint32_t whole;
  uint16_t frac;
};
// (A signed conversion: x86-64 has one instruction for it and none for an unsigned one.)
FixedBytes to_fixed(double bytes) {
  const auto p = static_cast<int64_t>(std::min(bytes, 4e9) * kFracOne + 0.5);
  return {static_cast<uint32_t>(p >> 16), static_cast<uint16_t>(p & (kFracOne - 1))};
}
double from_fixed(uint32_t whole, uint16_t frac) {
  return static_cast<double>((int64_t{whole} << 16) | frac) * (1.0 / kFracOne);
}

void cubic_avoidance(State& s, uint32_t& cwnd, uint32_t acked, uint32_t mss, uint64_t now,
                     uint64_t srtt_ns) {
  const double seg = static_cast<double>(mss);
  const double w = cwnd / seg;
  if (!s.in_epoch) {
    // RFC 9438 4.2: a new congestion avoidance stage. Without a reduction before it (slow
    // start ended by ssthresh), W_max is the current window and K = 0. cwnd_epoch (4.2) is
    // needed only for K, and K only for where the curve reaches W_max.
    s.in_epoch = true;
    if (s.w_max < cwnd) s.w_max = cwnd;
    const double k = cubic_k(s.w_max / seg, w);
    s.origin_ns = static_cast<int64_t>(now) + std::llround(k * 1e9);
    s.w_est = cwnd;
    s.frac.w_est = 0;
  }
  // t - K, seconds (eq. 1).
  const double tk = static_cast<double>(static_cast<int64_t>(now) - s.origin_ns) * 1e-9;
  const double rtt = static_cast<double>(srtt_ns) * 1e-9;
  const double w_max = s.w_max / seg;
  const double segs_acked = acked / seg;
  // 4.3 Reno-friendly region: W_est grows by alpha per window of ACKs (alpha = 1 once it
  // passed the window of the last reduction); alpha * segs_acked / w segments, in bytes.
  double w_est = from_fixed(s.w_est, s.frac.w_est);
  const double alpha = w_est >= s.cwnd_prior ? 1.0 : kCubicAlpha;
  w_est += alpha * acked / w;
  const FixedBytes est = to_fixed(w_est);
  s.w_est = est.whole;
  s.frac.w_est = est.frac;
  double next;
  if (cubic_w(tk, 0, w_max) < w_est / seg) {
    next = w_est / seg;
  } else {
    // 4.4 / 4.5: concave or convex region; the target is where the curve is one RTT from
    // now, clamped to [cwnd, 1.5 cwnd]; cwnd moves (target - cwnd) / cwnd per segment acked.
    const double target = std::clamp(cubic_w(tk + rtt, 0, w_max), w, 1.5 * w);
    next = w + (target - w) / w * segs_acked;
  }
  const double grow = (next - w) * seg + static_cast<double>(s.frac.cwnd) / kFracOne;
  if (grow <= 0) {
    s.frac.cwnd = 0;
    return;
  }
  const FixedBytes g = to_fixed(grow);
  s.frac.cwnd = g.frac;
  cwnd += std::min<uint32_t>(g.whole, 1'000'000'000);
}

}  // namespace

namespace {

// RFC 9406 4.2: one ACK in slow start. Returns the growth divisor (1 in slow start, 4 in
// conservative slow start) and ends slow start after CSS_ROUNDS rounds of CSS.
uint32_t hystart_on_ack(Hystart& h, uint32_t cwnd, uint32_t& ssthresh, const AckInfo& a) {
  if (!h.round_started || a.ack >= h.window_end) {
    // A new round: remember the last one's minimum.
    if (h.round_started && h.in_css && ++h.css_rounds >= kCssRounds) {
      ssthresh = cwnd;  // 4.2: enough rounds of CSS: congestion avoidance
      h.in_css = false;
      return 1;
    }
    h.round_started = true;
    h.window_end = a.snd_nxt;
    h.last_round_min_rtt = h.current_round_min_rtt;
    h.current_round_min_rtt = 0;
    h.rtt_samples = 0;
  }
  if (a.rtt_sample_ns != 0) {
    // Kept in 32 bits, held at the ceiling (Hystart's comment).
    const uint32_t sample =
        static_cast<uint32_t>(std::min<uint64_t>(a.rtt_sample_ns, kHystartRttCeilingNs));
    if (h.current_round_min_rtt == 0 || sample < h.current_round_min_rtt)
      h.current_round_min_rtt = sample;
    if (h.rtt_samples < kHystartRttSamples) ++h.rtt_samples;  // only compared with it
  }
  if (h.rtt_samples >= kHystartRttSamples && h.current_round_min_rtt != 0) {
    if (!h.in_css && h.last_round_min_rtt != 0) {
      const uint64_t thresh = std::clamp<uint64_t>(h.last_round_min_rtt / kHystartMinRttDivisor,
                                                   kHystartMinRttThreshNs, kHystartMaxRttThreshNs);
      if (h.current_round_min_rtt >= uint64_t{h.last_round_min_rtt} + thresh) {
        h.in_css = true;
        h.css_baseline_min_rtt = h.current_round_min_rtt;
        h.css_rounds = 0;
      }
    } else if (h.in_css && h.current_round_min_rtt < h.css_baseline_min_rtt) {
      h.in_css = false;  // 4.2: the RTT came back down: the rise was spurious
    }
  }
  return h.in_css ? kCssGrowthDivisor : 1;
}

}  // namespace

void on_ack(State& s, uint32_t& cwnd, uint32_t& ssthresh, const AckInfo& a) {
  // RFC 7661 4.3 (simplified): while less than half the window is in use the sender is
  // application-limited and the ACKs say nothing about a bigger window.
  if (a.flight_before < cwnd / 2) return;
  if (cwnd < ssthresh) {
    const uint32_t divisor = s.hystart.enabled ? hystart_on_ack(s.hystart, cwnd, ssthresh, a) : 1;
    if (cwnd < ssthresh)
      cwnd += std::min<uint32_t>(a.acked, 2u * a.mss) / divisor;  // RFC 3465 ABC with L = 2
    return;
  }
  switch (s.algo) {
    case Algorithm::newreno:
      return newreno_avoidance(s, cwnd, a.acked, a.mss);
    case Algorithm::cubic:
      return cubic_avoidance(s, cwnd, a.acked, a.mss, a.now_ns, a.srtt_ns);
  }
}

uint32_t on_congestion(State& s, uint32_t cwnd, uint32_t flight, uint32_t mss) {
  // RFC 9406 4.2: a loss ends HyStart++ for good (slow start after an RTO is not re-checked).
  s.hystart.enabled = false;
  s.hystart.in_css = false;
  switch (s.algo) {
    case Algorithm::newreno:
      s.bytes_acked_ca = 0;
      // RFC 5681 3.1 eq. 4.
      return std::max(flight / 2, 2u * mss);
    case Algorithm::cubic: {
      // RFC 9438 4.7 fast convergence: a window that did not regain the last W_max
      // releases bandwidth for newer flows. In bytes (State), rounded to the byte.
      s.w_max = cwnd < s.w_max
                    ? static_cast<uint32_t>(std::llround(cwnd * (1.0 + kCubicBeta) / 2.0))
                    : cwnd;
      s.cwnd_prior = cwnd;
      s.in_epoch = false;
      s.frac = {};
      // 4.6: ssthresh = flight * beta_cubic (at least 2 segments).
      return std::max(static_cast<uint32_t>(flight * kCubicBeta), 2u * mss);
    }
  }
  return std::max(flight / 2, 2u * mss);
}

}  // namespace pollux::tcp::cc
