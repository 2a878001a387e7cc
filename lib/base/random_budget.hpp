// A budget of events per one-second window whose size is drawn afresh for every window,
// uniformly from about limit/2 to limit*3/2 (mean `limit`): RFC 5961 section 7's throttle on
// challenge ACKs, randomised the way Linux answered CVE-2016-5696. With a fixed budget
// shared by every connection of an lcore, an off-path attacker can exhaust it with its own
// connection's challenges, add spoofed segments guessed for a victim's tuple, and count the
// challenge ACKs that come back to itself: one fewer means a guess hit a connection (Cao et
// al., "Off-Path TCP Exploits: Global Rate Limit Considered Dangerous", USENIX Security
// 2016). A budget the attacker cannot know hides that difference in its own variation.
// Per lcore, no clock read (the caller passes the time), no allocation.
#pragma once

#include <cstdint>

namespace pollux::base {

class RandomBudget {
 public:
  // limit == 0 means unlimited: take() always succeeds. `seed` should be secret (derived
  // from the lcore's ISN key); simulations pass theirs to replay exactly.
  constexpr RandomBudget(uint32_t limit, uint64_t seed) : limit_(limit), rng_(seed | 1) {}

  // One event, if this second's budget has any left.
  [[nodiscard]] constexpr bool take(uint64_t now_ns) {
    if (limit_ == 0) return true;
    const uint64_t window = now_ns / kSecond;
    if (!started_ || window != window_) {
      started_ = true;
      window_ = window;
      left_ = draw();
    }
    if (left_ == 0) return false;
    --left_;
    return true;
  }

  [[nodiscard]] constexpr uint32_t limit() const { return limit_; }
  // This window's size, as drawn (for tests).
  [[nodiscard]] constexpr uint32_t drawn() const { return drawn_; }

 private:
  static constexpr uint64_t kSecond = 1'000'000'000;
  // ceil(limit/2) + [0, limit): 1 stays 1, 1000 is 500..1499.
  constexpr uint32_t draw() {
    // xorshift64* (Vigna): enough to be unpredictable without the seed, one multiply.
    rng_ ^= rng_ >> 12;
    rng_ ^= rng_ << 25;
    rng_ ^= rng_ >> 27;
    const uint64_t x = (rng_ * 0x2545f4914f6cdd1dull) >> 32;
    drawn_ = (limit_ + 1) / 2 + static_cast<uint32_t>((x * limit_) >> 32);
    return drawn_;
  }
  uint32_t limit_;
  uint64_t rng_;
  uint64_t window_ = 0;
  uint32_t left_ = 0;
  uint32_t drawn_ = 0;
  bool started_ = false;
};

}  // namespace pollux::base
