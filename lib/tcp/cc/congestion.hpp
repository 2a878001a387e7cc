// Congestion control behind one small interface: NewReno (RFC 5681) and CUBIC (RFC 9438,
// the default). Per-connection state is a plain struct in the TCB; the algorithm is an enum
// and every call is a switch on it -- no virtual call per packet. cwnd and ssthresh stay in
// the TCB (bytes); these functions decide how they move:
//   on_ack         cumulative ACK of new data outside fast recovery: slow start with ABC
//                  (RFC 3465, L = 2), then congestion avoidance of the algorithm. An
//                  application-limited sender (flight below half of cwnd, RFC 7661's
//                  non-validated phase) does not grow cwnd.
//   on_congestion  loss detected (fast retransmit or RTO): returns the new ssthresh.
// Slow start uses HyStart++ (RFC 9406; RFC 9438 4.10 recommends it for CUBIC) with both
// algorithms: when a round's smallest RTT rises clearly above the previous round's, a queue
// is building, and slow start turns conservative (a quarter of the growth) and then ends
// after five rounds, instead of doubling until the queue overflows. An overshoot costs a
// window of losses, and a reduction by CUBIC's 0.7 from there leaves the queue still
// overflowing through recovery.
// Loss recovery itself (RFC 6675 / RFC 6582) and the undo of spurious reductions are the
// TCB's business; an undo restores a saved copy of this state.
#pragma once

#include <cstdint>

#include "net/seq.hpp"
#include "pollux/cc.hpp"

namespace pollux::tcp::cc {

// The public choice (pollux/cc.hpp) under the protocol's name.
using Algorithm = pollux::CongestionControl;
[[nodiscard]] constexpr const char* algorithm_name(Algorithm a) {
  return congestion_control_name(a);
}

// RFC 9438 constants (4.1, 4.6) and the Reno-friendly slope (4.3).
inline constexpr double kCubicC = 0.4;
inline constexpr double kCubicBeta = 0.7;
inline constexpr double kCubicAlpha = 3.0 * (1.0 - kCubicBeta) / (1.0 + kCubicBeta);

// RFC 9438 4.2, in segments and seconds.
//   eq. 1  W_cubic(t) = C (t - K)^3 + W_max
//   eq. 2  K = cbrt((W_max - cwnd_epoch) / C)
[[nodiscard]] double cubic_k(double w_max, double cwnd_epoch);
[[nodiscard]] double cubic_w(double t, double k, double w_max);

// RFC 9406 4.3 constants.
inline constexpr uint64_t kHystartMinRttThreshNs = 4'000'000;
inline constexpr uint64_t kHystartMaxRttThreshNs = 16'000'000;
inline constexpr uint32_t kHystartMinRttDivisor = 8;
inline constexpr uint32_t kHystartRttSamples = 8;  // N_RTT_SAMPLE
inline constexpr uint32_t kCssGrowthDivisor = 4;
inline constexpr uint32_t kCssRounds = 5;

// RFC 9406 4.2, per connection. A round ends when the ACK passes window_end (SND.NXT when
// the round began).
// 20 B (issue 13 item 5: this is in every TCB and every undo record; was 32). The counts are
// 4-bit fields: css_rounds never exceeds kCssRounds (5, where CSS ends), and rtt_samples is
// only compared with kHystartRttSamples (8), so it stops counting there -- the same decisions
// as a full count. The flags are bits. The round minima are nanoseconds in 32 bits, held at
// kHystartRttCeilingNs (4.29 s): every decision is the same as with 64 bits while the RTTs
// stay below that; above it a round's minimum reads as the ceiling, so a rise between two
// such rounds goes unseen and slow start goes on as without HyStart++ (RFC 9406's thresholds
// are 4-16 ms; paths with a 4 s minimum RTT are not what it was made for).
inline constexpr uint32_t kHystartRttCeilingNs = 0xffffffff;

struct Hystart {
  bool enabled : 1 = true;
  bool in_css : 1 = false;  // conservative slow start
  bool round_started : 1 = false;
  uint8_t rtt_samples : 4 = 0;  // this round's samples, up to kHystartRttSamples
  uint8_t css_rounds : 4 = 0;   // rounds of CSS so far, up to kCssRounds
  net::Seq window_end;
  uint32_t last_round_min_rtt = 0;     // ns; 0: none yet (RFC: infinity)
  uint32_t current_round_min_rtt = 0;  // ns; 0: none yet
  uint32_t css_baseline_min_rtt = 0;   // ns
};

// What one ACK tells congestion control.
struct AckInfo {
  uint32_t acked = 0;  // bytes newly acknowledged
  uint32_t mss = 0;
  uint32_t flight_before = 0;  // bytes in flight before this ACK (RFC 7661 validation)
  uint64_t now_ns = 0;
  uint64_t srtt_ns = 0;
  uint64_t rtt_sample_ns = 0;  // this ACK's RTT measurement, 0 if none
  net::Seq ack;                // SEG.ACK
  net::Seq snd_nxt;            // for HyStart++ rounds
};

// CUBIC's carried fractions, in 1/65536 byte (kFracOne): of W_est, and of cwnd's growth
// below one byte.
inline constexpr uint32_t kFracOne = 1u << 16;
struct CubicFrac {
  uint16_t w_est;
  uint16_t cwnd;
};

// 48 B (issue 13 item 5; was 120, then 96, then 72): the algorithm's byte, CUBIC's epoch
// flag and HyStart++ (20 B) share the first 24 bytes; NewReno's byte count and CUBIC's
// carried fractions share a word, as a connection's algorithm never changes (init alone
// sets it; an undo restores a state of the same connection).
// CUBIC's windows are bytes in 32 bits, as cwnd is, where they were doubles in segments
// (RFC 9438 counts segments; pollux converts with the MSS on every ACK, as before): W_max
// rounded to the byte (only a fast-convergence reduction, 0.85 cwnd, has a fraction),
// cwnd_prior exact (a cwnd), W_est with 16 fraction bits. K and the epoch's start are one
// number, the time at which the curve reaches W_max (`origin_ns` = epoch start + K, eq. 1
// reads only t - K), rounded to the nanosecond. The arithmetic is the RFC's in doubles, as
// before; only what is kept between ACKs is narrower. congestion_test.cpp's
// Cubic.FixedPointStateFollowsTheDoubleArithmeticOverLongRandomAckSequences drives this and
// the double-state version through long random ACK sequences and bounds cwnd's difference.
struct State {
  Algorithm algo = Algorithm::cubic;
  bool in_epoch = false;  // CUBIC: a congestion avoidance stage is under way (origin_ns set)
  Hystart hystart;
  // CUBIC (RFC 9438); the epoch is the current congestion avoidance stage.
  int64_t origin_ns = 0;    // epoch start + K (eq. 2): where W_cubic(t) = W_max (eq. 1)
  uint32_t w_max = 0;       // bytes: window before the last reduction
  uint32_t cwnd_prior = 0;  // bytes: cwnd at the last reduction (alpha switches to 1, 4.3)
  uint32_t w_est = 0;       // bytes: Reno-friendly estimate (4.3), its fraction in frac
  union {
    CubicFrac frac = {};      // CUBIC: W_est's and cwnd's fractions of a byte
    uint32_t bytes_acked_ca;  // NewReno: RFC 5681 3.1 byte counting
  };
};

static_assert(sizeof(Hystart) == 20 && sizeof(State) == 48, "see the layout comments above");

void init(State& s, Algorithm a, bool hystart = true);

// A cumulative ACK of new data outside fast recovery. HyStart++ may end slow start (it then
// sets ssthresh to cwnd).
void on_ack(State& s, uint32_t& cwnd, uint32_t& ssthresh, const AckInfo& a);

// A congestion event with `flight` bytes outstanding; returns ssthresh (at least 2 MSS).
[[nodiscard]] uint32_t on_congestion(State& s, uint32_t cwnd, uint32_t flight, uint32_t mss);

}  // namespace pollux::tcp::cc
