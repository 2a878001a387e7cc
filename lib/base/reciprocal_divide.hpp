// Division of 64-bit integers by a divisor fixed at run time, by a multiply and shifts
// (Granlund & Montgomery, "Division by Invariant Integers using Multiplication", PLDI 1994,
// section 4, figure 4.1). A hardware 64-bit divide takes tens of cycles; the compiler
// replaces a division by a constant with this same sequence, but a divisor read from a
// configuration (the timer wheel's tick) stays a divide on every use (issue 13).
//
// Exact for every dividend and every divisor >= 1: with l = ceil(log2 d) and
// m = floor(2^64 * (2^l - d) / d) + 1 (which fits 64 bits), the quotient is
// (t + ((n - t) >> 1)) >> (l - 1) with t = the high half of m * n (l = 0, d = 1, shifts by 0).
#pragma once

#include <bit>
#include <cassert>
#include <cstdint>

namespace pollux::base {

class ReciprocalDivisor {
 public:
  explicit ReciprocalDivisor(uint64_t d) : d_(d) {
    assert(d >= 1);
    const unsigned l = d == 1 ? 0 : 64 - static_cast<unsigned>(std::countl_zero(d - 1));
    const unsigned __int128 two_l = static_cast<unsigned __int128>(1) << l;
    m_ = static_cast<uint64_t>(((two_l - d) << 64) / d + 1);
    shift1_ = l == 0 ? 0 : 1;
    shift2_ = l == 0 ? 0 : l - 1;
  }

  [[nodiscard]] uint64_t divisor() const { return d_; }

  // n / d.
  [[nodiscard]] uint64_t quotient(uint64_t n) const {
    const auto t = static_cast<uint64_t>((static_cast<unsigned __int128>(m_) * n) >> 64);
    return (t + ((n - t) >> shift1_)) >> shift2_;
  }

  // ceil(n / d) for n >= 1 (a deadline after some time, so never 0): one quotient, no
  // remainder to multiply back.
  [[nodiscard]] uint64_t ceil_quotient(uint64_t n) const {
    assert(n >= 1);
    return quotient(n - 1) + 1;
  }

 private:
  uint64_t d_;
  uint64_t m_;
  uint8_t shift1_;
  uint8_t shift2_;
};

}  // namespace pollux::base
