// TCP sequence numbers: 32-bit values compared modulo 2^32 (RFC 9293 3.4). A strong type so
// that a sequence number is never compared with `<` on raw integers by accident.
#pragma once

#include <cstdint>

namespace pollux::net {

struct Seq {
  uint32_t v = 0;

  constexpr Seq() = default;
  constexpr explicit Seq(uint32_t value) : v(value) {}

  // Signed distance from b to a: positive when a is "after" b. Valid while the two are less
  // than 2^31 apart, which the window limits guarantee (RFC 7323 2.3 bounds wscale to 14).
  friend constexpr int32_t operator-(Seq a, Seq b) { return static_cast<int32_t>(a.v - b.v); }
  friend constexpr Seq operator+(Seq a, uint32_t n) { return Seq(a.v + n); }
  friend constexpr Seq operator-(Seq a, uint32_t n) { return Seq(a.v - n); }
  constexpr Seq& operator+=(uint32_t n) {
    v += n;
    return *this;
  }

  friend constexpr bool operator==(Seq a, Seq b) = default;
  friend constexpr bool operator<(Seq a, Seq b) { return (a - b) < 0; }
  friend constexpr bool operator<=(Seq a, Seq b) { return (a - b) <= 0; }
  friend constexpr bool operator>(Seq a, Seq b) { return (a - b) > 0; }
  friend constexpr bool operator>=(Seq a, Seq b) { return (a - b) >= 0; }
};

// a <= x < b, the "in window" test of RFC 9293 3.4 and 3.10.7.4 (empty when a == b).
[[nodiscard]] constexpr bool seq_in_range(Seq a, Seq x, Seq b) {
  return a <= x && x < b;
}

[[nodiscard]] constexpr Seq seq_max(Seq a, Seq b) {
  return a < b ? b : a;
}
[[nodiscard]] constexpr Seq seq_min(Seq a, Seq b) {
  return a < b ? a : b;
}

}  // namespace pollux::net
