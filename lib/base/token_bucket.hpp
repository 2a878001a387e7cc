// A token bucket (the rate limiter of RFC 5961 section 7's challenge ACK budget, of Linux's
// icmp_ratelimit and tcp_invalid_ratelimit): `rate` tokens per second accrue up to `burst`,
// and each event that is allowed takes one. Per lcore, integer arithmetic only, no clock read:
// the caller passes the time. A bucket that is full at start lets a burst through at once.
#pragma once

#include <algorithm>
#include <cstdint>

namespace pollux::base {

class TokenBucket {
 public:
  // rate == 0 means unlimited: take() always succeeds (and counts nothing).
  constexpr TokenBucket(uint32_t rate_per_s = 0, uint32_t burst = 1)
      : rate_(rate_per_s), burst_(std::max<uint32_t>(burst, 1)),
        credit_ns_(uint64_t{burst_} * kSecond) {}

  // One token if there is one. Tokens are kept as "nanoseconds of credit" scaled by the rate
  // (one token = 1 s of credit at rate 1/s), so refilling is one multiply per call.
  [[nodiscard]] constexpr bool take(uint64_t now_ns) {
    if (rate_ == 0) return true;
    if (now_ns > last_ns_) {
      // A gap of `burst` seconds refills the bucket at any rate >= 1/s; shorter gaps are
      // multiplied out (burst * rate * 1e9 stays far below 2^64 for any sane setting).
      const uint64_t cap = uint64_t{burst_} * kSecond;
      const uint64_t elapsed = now_ns - last_ns_;
      credit_ns_ = elapsed >= cap ? cap : std::min(cap, credit_ns_ + elapsed * rate_);
      last_ns_ = now_ns;
    }
    if (credit_ns_ < kSecond) return false;
    credit_ns_ -= kSecond;
    return true;
  }

  [[nodiscard]] constexpr uint32_t rate() const { return rate_; }
  [[nodiscard]] constexpr uint32_t burst() const { return burst_; }

 private:
  static constexpr uint64_t kSecond = 1'000'000'000;
  uint32_t rate_;
  uint32_t burst_;
  uint64_t credit_ns_;
  uint64_t last_ns_ = 0;
};

}  // namespace pollux::base
