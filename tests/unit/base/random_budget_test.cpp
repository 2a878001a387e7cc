// The challenge-ACK budget (base/random_budget.hpp): a per-second allowance drawn at random
// around the configured limit, so that an off-path attacker cannot count it exactly.
#include "base/random_budget.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <set>

namespace pollux::base {
namespace {

constexpr uint64_t kSecond = 1'000'000'000;

// How many of `tries` events one window lets through.
uint32_t allowed_in_window(RandomBudget& b, uint64_t second, uint32_t tries) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < tries; ++i) n += b.take(second * kSecond + i) ? 1 : 0;
  return n;
}

TEST(RandomBudget, EachSecondAllowsBetweenHalfAndOneAndAHalfTimesTheLimitAveragingTheLimit) {
  RandomBudget b(1000, 0x1234'5678'9abc'def0ull);
  std::set<uint32_t> seen;
  uint64_t sum = 0;
  for (uint64_t s = 0; s < 200; ++s) {
    const uint32_t n = allowed_in_window(b, s, 5000);
    EXPECT_EQ(n, b.drawn()) << "second " << s;
    EXPECT_GE(n, 500u) << "second " << s;
    EXPECT_LT(n, 1500u) << "second " << s;
    seen.insert(n);
    sum += n;
  }
  // Unpredictable: nearly every second differs; on average the configured limit.
  EXPECT_GT(seen.size(), 150u);
  EXPECT_NEAR(static_cast<double>(sum) / 200, 1000.0, 60.0);
}

TEST(RandomBudget, TheBudgetIsRenewedOnlyWhenTheSecondChanges) {
  RandomBudget b(10, 42);
  const uint32_t first = allowed_in_window(b, 7, 100);
  EXPECT_EQ(allowed_in_window(b, 7, 100), 0u) << "the same second: nothing left";
  EXPECT_GE(first, 5u);
  EXPECT_LT(first, 15u);
  EXPECT_GE(allowed_in_window(b, 8, 100), 5u) << "the next second: a fresh budget";
}

TEST(RandomBudget, DifferentSeedsDrawDifferentBudgets) {
  RandomBudget a(1000, 1), b(1000, 2);
  uint32_t differ = 0;
  for (uint64_t s = 0; s < 20; ++s) differ += allowed_in_window(a, s, 2000) != allowed_in_window(b, s, 2000);
  EXPECT_GE(differ, 15u);
}

TEST(RandomBudget, ALimitOfOneAllowsExactlyOneAndZeroMeansUnlimited) {
  RandomBudget one(1, 99);
  for (uint64_t s = 0; s < 20; ++s) EXPECT_EQ(allowed_in_window(one, s, 10), 1u);
  RandomBudget unlimited(0, 99);
  EXPECT_EQ(allowed_in_window(unlimited, 0, 100000), 100000u);
}

}  // namespace
}  // namespace pollux::base
