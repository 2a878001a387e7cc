// The poller's clock (drivers-glue/poller.hpp, TscToNs): TSC cycles to nanoseconds by a
// fixed-point multiply, against the exact quotient floor(cycles * 1e9 / hz) in 128 bits.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>

#include "poller.hpp"

namespace pollux::dpdk {
namespace {

__extension__ using U128 = unsigned __int128;

uint64_t exact_ns(uint64_t cycles, uint64_t hz) {
  return static_cast<uint64_t>(U128{cycles} * 1'000'000'000u / hz);
}

// TSC rates of real machines and awkward ones: round, prime, below 1 GHz (1e9 / hz has a
// whole part then), and the 1 ns tick of a 1 GHz counter.
constexpr uint64_t kRates[] = {1'000'000'000ull, 2'100'000'000ull, 2'899'999'999ull,
                               3'000'000'007ull, 4'999'999'937ull, 999'999'937ull,
                               25'000'000ull,    19'200'000ull,    10'000'000'000ull};

TEST(TscToNs, EveryCountGivesTheExactQuotientOrOneNanosecondLessOverTheWholeRange) {
  std::mt19937_64 rng(20261207);
  for (const uint64_t hz : kRates) {
    const TscToNs to_ns(hz);
    // Counts whose exact result fits in 64 bits: all of them when hz >= 1e9.
    const uint64_t max_cycles =
        hz >= 1'000'000'000ull ? UINT64_MAX
                               : static_cast<uint64_t>((U128{UINT64_MAX} * hz) / 1'000'000'000u);
    const uint64_t special[] = {0, 1, hz - 1, hz, hz + 1, 3 * hz - 1, max_cycles, max_cycles - 1};
    for (const uint64_t c : special) {
      const uint64_t want = exact_ns(c, hz);
      const uint64_t got = to_ns(c);
      EXPECT_TRUE(got == want || got + 1 == want)
          << "hz " << hz << " cycles " << c << ": " << got << " for " << want;
    }
    for (int i = 0; i < 100'000; ++i) {
      const uint64_t c = rng() % max_cycles;
      const uint64_t want = exact_ns(c, hz);
      const uint64_t got = to_ns(c);
      ASSERT_TRUE(got == want || got + 1 == want)
          << "hz " << hz << " cycles " << c << ": " << got << " for " << want;
    }
  }
}

TEST(TscToNs, TheClockNeverGoesBackAsTheCountGrows) {
  for (const uint64_t hz : kRates) {
    const TscToNs to_ns(hz);
    // A week of uptime at this rate, then a stretch of consecutive counts.
    const uint64_t start = hz * 7 * 86'400;
    uint64_t prev = to_ns(start);
    for (uint64_t c = start + 1; c < start + 200'000; ++c) {
      const uint64_t now = to_ns(c);
      ASSERT_GE(now, prev) << "hz " << hz << " cycles " << c;
      prev = now;
    }
  }
}

}  // namespace
}  // namespace pollux::dpdk
