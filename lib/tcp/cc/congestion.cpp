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

void init(State& s, Algorithm a) {
  s = State{};
  s.algo = a;
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

void cubic_avoidance(State& s, uint32_t& cwnd, uint32_t acked, uint32_t mss, uint64_t now,
                     uint64_t srtt_ns) {
  const double seg = static_cast<double>(mss);
  const double w = cwnd / seg;
  if (s.epoch_start_ns == 0) {
    // RFC 9438 4.2: a new congestion avoidance stage. Without a reduction before it (slow
    // start ended by ssthresh), W_max is the current window and K = 0.
    s.epoch_start_ns = now;
    s.cwnd_epoch = w;
    if (s.w_max < w) s.w_max = w;
    s.k = cubic_k(s.w_max, s.cwnd_epoch);
    s.w_est = w;
  }
  const double t = static_cast<double>(now - s.epoch_start_ns) * 1e-9;
  const double rtt = static_cast<double>(srtt_ns) * 1e-9;
  const double segs_acked = acked / seg;
  // 4.3 Reno-friendly region: W_est grows by alpha per window of ACKs (alpha = 1 once it
  // passed the window of the last reduction).
  const double alpha = s.w_est >= s.cwnd_prior ? 1.0 : kCubicAlpha;
  s.w_est += alpha * segs_acked / w;
  double next;
  const double w_cubic = cubic_w(t, s.k, s.w_max);
  if (w_cubic < s.w_est) {
    next = s.w_est;
  } else {
    // 4.4 / 4.5: concave or convex region; the target is where the curve is one RTT from
    // now, clamped to [cwnd, 1.5 cwnd]; cwnd moves (target - cwnd) / cwnd per segment acked.
    const double target = std::clamp(cubic_w(t + rtt, s.k, s.w_max), w, 1.5 * w);
    next = w + (target - w) / w * segs_acked;
  }
  const double grow = (next - w) * seg + s.frac_bytes;
  if (grow <= 0) {
    s.frac_bytes = 0;
    return;
  }
  const double whole = std::floor(grow);
  s.frac_bytes = grow - whole;
  cwnd += static_cast<uint32_t>(std::min(whole, 1e9));
}

}  // namespace

void on_ack(State& s, uint32_t& cwnd, uint32_t ssthresh, uint32_t acked, uint32_t mss,
            uint32_t flight_before, uint64_t now_ns, uint64_t srtt_ns) {
  // RFC 7661 4.3 (simplified): while less than half the window is in use the sender is
  // application-limited and the ACKs say nothing about a bigger window.
  if (flight_before < cwnd / 2) return;
  if (cwnd < ssthresh) {
    cwnd += std::min<uint32_t>(acked, 2u * mss);  // RFC 3465 ABC with L = 2
    return;
  }
  switch (s.algo) {
    case Algorithm::newreno:
      return newreno_avoidance(s, cwnd, acked, mss);
    case Algorithm::cubic:
      return cubic_avoidance(s, cwnd, acked, mss, now_ns, srtt_ns);
  }
}

uint32_t on_congestion(State& s, uint32_t cwnd, uint32_t flight, uint32_t mss) {
  s.bytes_acked_ca = 0;
  switch (s.algo) {
    case Algorithm::newreno:
      // RFC 5681 3.1 eq. 4.
      return std::max(flight / 2, 2u * mss);
    case Algorithm::cubic: {
      const double w = static_cast<double>(cwnd) / mss;
      // RFC 9438 4.7 fast convergence: a window that did not regain the last W_max
      // releases bandwidth for newer flows.
      s.w_max = w < s.w_max ? w * (1.0 + kCubicBeta) / 2.0 : w;
      s.cwnd_prior = w;
      s.epoch_start_ns = 0;
      s.frac_bytes = 0;
      // 4.6: ssthresh = flight * beta_cubic (at least 2 segments).
      return std::max(static_cast<uint32_t>(flight * kCubicBeta), 2u * mss);
    }
  }
  return std::max(flight / 2, 2u * mss);
}

}  // namespace pollux::tcp::cc
