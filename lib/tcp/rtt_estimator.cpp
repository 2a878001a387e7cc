#include "tcp/rtt_estimator.hpp"

#include <cassert>
#include <limits>

namespace pollux::tcp {
namespace {

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();

[[nodiscard]] constexpr uint64_t add_saturating(uint64_t a, uint64_t b) {
  return a > kU64Max - b ? kU64Max : a + b;
}

}  // namespace

RttEstimator::RttEstimator(const RttConfig& config) : config_(&config) {
  assert(config_->min_rto_ns <= config_->max_rto_ns);
  rto_ns_ = base_rto();
}

void RttEstimator::on_rtt_sample(uint64_t rtt_ns) {
  const uint64_t r8 = 8 * std::min(rtt_ns, kMaxRttSampleNs);  // 8 * R
  if (!has_sample_) {
    // RFC 6298 2.2: SRTT <- R, RTTVAR <- R/2. Exact in eighths.
    srtt8_ = r8;
    rttvar8_ = r8 / 2;
    has_sample_ = true;
  } else {
    // RFC 6298 2.3, in this order ("the value of SRTT used in the update to RTTVAR is its
    // value before updating SRTT itself"):
    //   RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|   beta  = 1/4
    //   SRTT   <- (1 - alpha) * SRTT + alpha * R'            alpha = 1/8
    // Scaled by 8: rttvar8 <- (3 * rttvar8 + |srtt8 - 8R'|) / 4, srtt8 <- 7 * srtt8 / 8 + R'.
    const uint64_t err8 = srtt8_ > r8 ? srtt8_ - r8 : r8 - srtt8_;
    rttvar8_ = (3 * rttvar8_ + err8) / kBetaInverse;
    srtt8_ = (7 * srtt8_) / kAlphaInverse + r8 / 8;
  }
  reset_backoff();
}

uint64_t RttEstimator::base_rto() const {
  if (!has_sample_) return clamp_rto(config_->initial_rto_ns);  // RFC 6298 2.1
  // RFC 6298 2.2/2.3: RTO <- SRTT + max(G, K*RTTVAR), with K*RTTVAR = 4 * rttvar8 / 8 =
  // rttvar8 / 2. Rounded up to whole ns (see the header) in one step.
  const uint64_t g = config_->granularity_ns;
  uint64_t rto;
  if (g >= (rttvar8_ + 1) / 2) {  // G >= K*RTTVAR, i.e. 2G >= rttvar8 without overflow
    rto = add_saturating((srtt8_ + 7) / 8, g);
  } else {
    rto = (srtt8_ + kK * rttvar8_ + 7) / 8;  // both below 2^46: no overflow
  }
  return clamp_rto(rto);  // RFC 6298 2.4 (minimum), 2.5 (maximum)
}

uint64_t RttEstimator::backoff() {
  // RFC 6298 5.5: RTO <- RTO * 2, bounded by the maximum of 2.5. Written so that the
  // doubling cannot overflow whatever max_rto is.
  rto_ns_ = rto_ns_ > config_->max_rto_ns / 2 ? config_->max_rto_ns : 2 * rto_ns_;
  if (backoff_count_ != std::numeric_limits<uint8_t>::max()) ++backoff_count_;
  return rto_ns_;
}

void RttEstimator::reset_backoff() {
  backoff_count_ = 0;
  rto_ns_ = base_rto();
}

void RttEstimator::on_handshake_complete(bool syn_timer_expired) {
  if (!syn_timer_expired) return;
  reset_backoff();
  if (rto_ns_ < kSynTimeoutFallbackRtoNs) rto_ns_ = clamp_rto(kSynTimeoutFallbackRtoNs);
}

void RttEstimator::forget_estimates() {
  srtt8_ = 0;
  rttvar8_ = 0;
  has_sample_ = false;
}

}  // namespace pollux::tcp
