// The retransmission timeout of RFC 6298: SRTT/RTTVAR estimation from RTT samples, the RTO
// formula, clamping, exponential backoff and the SYN-timeout fallback. All times are
// nanoseconds (the engine's now_ns domain).
//
// Arithmetic (why integers, and why no drift): SRTT and RTTVAR are kept in eighths of a
// nanosecond (srtt8_ = 8*SRTT, rttvar8_ = 8*RTTVAR), the fixed-point trick of the BSD stacks
// (there with SRTT scaled by 8 and RTTVAR by 4) carried to ns resolution. With
// alpha = 1/8 and beta = 1/4 (RFC 6298 2.3) each update truncates at most once, by less than
// 1/8 ns, and the filters are contractions (factors 7/8 and 3/4), so the error stays bounded
// (under 1 ns for SRTT, 1.5 ns for RTTVAR) instead of accumulating; whenever no division
// leaves a remainder (e.g. a few whole-millisecond samples) the results are exactly the RFC's.
// The RTO is rounded up to the next ns, never down: a timer a fraction of a ns late is
// harmless, one early would be a spurious retransmission.
//
// Karn's algorithm (RFC 6298 section 3, RFC 9293 3.8.1) is the caller's job: an ACK that
// covers a retransmitted segment is ambiguous and must not be fed to on_rtt_sample(), unless
// the sample comes from a timestamp echo (RFC 7323 section 4), which names the transmission
// it measures. rtt_sample_usable() states the rule in one place.
#pragma once

#include <algorithm>
#include <cstdint>

namespace pollux::tcp {

inline constexpr uint64_t kNsPerMs = 1'000'000;
inline constexpr uint64_t kNsPerSec = 1'000'000'000;

struct RttConfig {
  // Lower bound on the RTO. RFC 6298 2.4 says 1 s ("SHOULD be rounded up to 1 second"); like
  // Linux (TCP_RTO_MIN) we use 200 ms: with microsecond RTTs in a data centre a 1 s floor
  // turns every tail loss into a second of dead air, and RFC 6298 2.4 itself notes that the
  // 1 s value is conservative. Configurable for those who want the RFC value.
  uint64_t min_rto_ns = 200 * kNsPerMs;
  // Upper bound (RFC 6298 2.5: "MAY be placed ... provided it is at least 60 seconds"); 120 s
  // as Linux (TCP_RTO_MAX). Also where backoff saturates.
  uint64_t max_rto_ns = 120 * kNsPerSec;
  // RTO before the first sample (RFC 6298 2.1: "SHOULD set RTO <- 1 second").
  uint64_t initial_rto_ns = 1 * kNsPerSec;
  // Clock granularity G (RFC 6298 2.2/2.3): the floor of the variance term K*RTTVAR, so that a
  // perfectly steady RTT does not leave RTO == SRTT. Our clock reads ns, but what limits a
  // sample's precision is coarser: RFC 7323 timestamp clocks tick at 1 ms to 1 s (5.4), and
  // the peer's ACK timing jitters by far more than a ns. 1 ms is that floor.
  uint64_t granularity_ns = 1 * kNsPerMs;
};

// RFC 6298 3 / RFC 7323 4: whether an ACK may produce an RTT sample. A segment that was
// retransmitted cannot be timed from its ACK (which transmission is being acknowledged?)
// unless the echoed timestamp identifies the transmission.
[[nodiscard]] constexpr bool rtt_sample_usable(bool segment_was_retransmitted,
                                               bool timed_by_timestamp_echo) {
  return !segment_was_retransmitted || timed_by_timestamp_echo;
}

class RttEstimator {
 public:
  // RFC 6298 constants. K = 4 and the 1/8, 1/4 gains are baked into the fixed-point
  // representation above; they are named here for readers, not knobs.
  static constexpr uint64_t kK = 4;
  static constexpr uint64_t kAlphaInverse = 8;  // alpha = 1/8
  static constexpr uint64_t kBetaInverse = 4;   // beta = 1/4
  // RFC 6298 5.7: the RTO used once data transmission begins after a SYN timed out.
  static constexpr uint64_t kSynTimeoutFallbackRtoNs = 3 * kNsPerSec;
  // Samples above this are clamped. No real path has an RTT of an hour; such a value means a
  // broken clock or a bogus echo, and the bound keeps the scaled arithmetic (8x, 3x, sums)
  // tens of bits away from overflow whatever the input.
  static constexpr uint64_t kMaxRttSampleNs = 3600 * kNsPerSec;

  // Precondition: config.min_rto_ns <= config.max_rto_ns. Any values are accepted otherwise
  // (including UINT64_MAX bounds and granularity): every sum saturates.
  // The estimator keeps a pointer to `config`, which must outlive it (a TCB's points at its
  // layer's TcpConfig::rtt): one copy per connection was 32 of the TCB's bytes (issue 13
  // item 5). A temporary is refused at compile time; without an argument, the defaults.
  explicit RttEstimator(const RttConfig& config = kDefaultConfig);
  explicit RttEstimator(const RttConfig&& config) = delete;

  // Feed one RTT measurement R (RFC 6298 2.2 for the first, 2.3 afterwards) and recompute the
  // RTO. A new sample also ends any backoff: the RTO is computed afresh from the estimates,
  // which is how RFC 6298 5.5-5.7 backoff "collapses" once the path answers again.
  void on_rtt_sample(uint64_t rtt_ns);

  // The current RTO: the computed value clamped to [min_rto, max_rto] (RFC 6298 2.4, 2.5),
  // times 2^backoff_count(), saturating at max_rto (5.5).
  [[nodiscard]] uint64_t rto() const { return rto_ns_; }

  // RFC 6298 5.5: the retransmission timer expired, "back off the timer" by doubling the RTO,
  // bounded by max_rto. Returns the new RTO.
  uint64_t backoff();
  // Drop the backoff: the RTO returns to the value computed from SRTT/RTTVAR (or the initial
  // RTO before any sample). on_rtt_sample() does this itself.
  void reset_backoff();
  // How many times backoff() was called since the last reset (saturates at 255, never wraps).
  [[nodiscard]] uint32_t backoff_count() const { return backoff_count_; }

  // RFC 6298 5.7: "If the timer expires awaiting the ACK of a SYN segment and the TCP
  // implementation is using an RTO less than 3 seconds, the RTO MUST be re-initialized to 3
  // seconds when data transmission begins (i.e., after the three-way handshake completes)."
  // Call when the handshake completes, saying whether a SYN (or SYN-ACK) retransmission timer
  // expired. Our reading: the handshake's backoff ends (its segment was answered), and if the
  // RTO computed from the estimates (or the initial RTO) is below 3 s, 3 s is used until the
  // next sample. The estimates are kept; the next sample recomputes the RTO per 2.2/2.3.
  void on_handshake_complete(bool syn_timer_expired);

  // RFC 6298 section 5, after 5.7: an implementation "MAY clear SRTT and RTTVAR after backing
  // off the timer multiple times"; the next sample is then taken as a first one (2.2). The
  // current RTO (with its backoff) is left alone.
  void forget_estimates();

  [[nodiscard]] bool has_sample() const { return has_sample_; }
  // SRTT and RTTVAR, truncated to whole ns; 0 before the first sample.
  [[nodiscard]] uint64_t srtt() const { return srtt8_ / 8; }
  [[nodiscard]] uint64_t rttvar() const { return rttvar8_ / 8; }
  [[nodiscard]] const RttConfig& config() const { return *config_; }

 private:
  static constexpr RttConfig kDefaultConfig{};

  // The RTO without backoff: initial RTO or SRTT + max(G, K*RTTVAR), clamped.
  [[nodiscard]] uint64_t base_rto() const;
  [[nodiscard]] uint64_t clamp_rto(uint64_t rto_ns) const {
    return std::clamp(rto_ns, config_->min_rto_ns, config_->max_rto_ns);
  }

  const RttConfig* config_;
  uint64_t srtt8_ = 0;    // 8 * SRTT, in ns
  uint64_t rttvar8_ = 0;  // 8 * RTTVAR, in ns
  uint64_t rto_ns_ = 0;
  // One byte each after the four words (issue 13 item 5): the estimator is 34 B of data in
  // 40, and Timing holds it [[no_unique_address]], so that its own one-byte fields and the
  // timed segment's sequence number fill the 6 B of tail padding (Timing 112 -> 104 B). The
  // count saturates at 255: TcpConfig's retry limits stop a connection long before.
  uint8_t backoff_count_ = 0;
  bool has_sample_ = false;
};

}  // namespace pollux::tcp
