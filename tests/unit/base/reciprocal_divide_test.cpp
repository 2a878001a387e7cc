// The reciprocal divide (base/reciprocal_divide.hpp) equals the hardware divide for every
// dividend tried: the edges of each divisor's range (0, 1, multiples of it and their
// neighbours, 2^63, 2^64 - 1) and seeded random dividends, for divisors from 1 to 2^64 - 1
// (powers of two, their neighbours, the wheel's 1 ms tick in ns, primes, random).
#include "base/reciprocal_divide.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace pollux::base {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

std::vector<uint64_t> divisors_to_try(std::mt19937_64& rng) {
  std::vector<uint64_t> ds = {1,
                              2,
                              3,
                              5,
                              7,
                              10,
                              641,
                              1'000,
                              1'000'000,
                              999'999,
                              1'000'001,
                              1'000'000'000,
                              6'700'417,
                              (uint64_t{1} << 63) - 1,
                              uint64_t{1} << 63,
                              (uint64_t{1} << 63) + 1,
                              kMax - 1,
                              kMax};
  for (unsigned k = 1; k < 64; ++k) {
    ds.push_back(uint64_t{1} << k);
    ds.push_back((uint64_t{1} << k) + 1);
    ds.push_back((uint64_t{1} << k) - 1);
  }
  for (int i = 0; i < 200; ++i) ds.push_back(rng() >> (rng() % 64) | 1);
  return ds;
}

std::vector<uint64_t> dividends_to_try(uint64_t d, std::mt19937_64& rng) {
  std::vector<uint64_t> ns = {
      0, 1, 2, d - 1, d, d + 1, kMax, kMax - 1, uint64_t{1} << 63, (uint64_t{1} << 63) - 1};
  // Around the last multiples of d below 2^64 and a few in the middle.
  const uint64_t last = (kMax / d) * d;
  for (uint64_t m : {last, last - d, (kMax / d / 2) * d}) {
    ns.push_back(m);
    ns.push_back(m - 1);
    ns.push_back(m + 1);
  }
  for (int i = 0; i < 2'000; ++i) ns.push_back(rng() >> (rng() % 64));
  return ns;
}

TEST(ReciprocalDivisor, QuotientEqualsTheHardwareDivideForEveryDivisorAndDividendTried) {
  const uint64_t seed = 20261207;
  std::mt19937_64 rng(seed);
  for (uint64_t d : divisors_to_try(rng)) {
    const ReciprocalDivisor r(d);
    ASSERT_EQ(r.divisor(), d);
    for (uint64_t n : dividends_to_try(d, rng)) {
      ASSERT_EQ(r.quotient(n), n / d) << n << " / " << d << " (seed " << seed << ")";
      if (n >= 1) {
        ASSERT_EQ(r.ceil_quotient(n), n / d + (n % d != 0 ? 1 : 0))
            << "ceil " << n << " / " << d << " (seed " << seed << ")";
      }
    }
  }
}

TEST(ReciprocalDivisor, OneMillisecondInNanosecondsRoundsDeadlinesUpToTheirTick) {
  const ReciprocalDivisor ms(1'000'000);
  EXPECT_EQ(ms.ceil_quotient(1), 1u);
  EXPECT_EQ(ms.ceil_quotient(999'999), 1u);
  EXPECT_EQ(ms.ceil_quotient(1'000'000), 1u);
  EXPECT_EQ(ms.ceil_quotient(1'000'001), 2u);
  EXPECT_EQ(ms.quotient(2'999'999), 2u);
  EXPECT_EQ(ms.ceil_quotient(kMax), kMax / 1'000'000 + 1);
}

}  // namespace
}  // namespace pollux::base
