// KeyCounts: a count per key in a fixed open-addressing table (connections per source).
#include "base/key_counts.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace pollux::base {
namespace {

TEST(KeyCounts, CountsRiseAndFallPerKeyAndAKeyAtZeroIsGone) {
  KeyCounts k(16);
  EXPECT_EQ(k.get(7), 0u);
  EXPECT_TRUE(k.increment(7));
  EXPECT_TRUE(k.increment(7));
  EXPECT_TRUE(k.increment(9));
  EXPECT_EQ(k.get(7), 2u);
  EXPECT_EQ(k.get(9), 1u);
  EXPECT_EQ(k.keys(), 2u);
  k.decrement(7);
  k.decrement(7);
  k.decrement(7);      // below zero: ignored
  k.decrement(12345);  // never seen: ignored
  EXPECT_EQ(k.get(7), 0u);
  EXPECT_EQ(k.keys(), 1u);
}

TEST(KeyCounts, RefusesNewKeysBeyondItsCapacityButStillCountsKnownOnes) {
  KeyCounts k(8);  // 16 slots, at most 8 keys
  for (uint32_t i = 0; i < 8; ++i) EXPECT_TRUE(k.increment(i * 1000));
  EXPECT_FALSE(k.increment(424242));
  EXPECT_TRUE(k.increment(0));
  EXPECT_EQ(k.get(0), 2u);
}

// Random increments and decrements of keys that collide often (a small table), checked
// against std::map: backward-shift deletion must never lose a key behind a hole.
TEST(KeyCounts, AgreesWithAMapUnderRandomChurn) {
  const uint32_t seed = 20261206;
  std::mt19937 rng(seed);
  KeyCounts k(64);
  std::map<uint32_t, uint32_t> ref;
  for (int step = 0; step < 200000; ++step) {
    const uint32_t key = 0x0a000000u + rng() % 96;
    if (rng() % 2 == 0) {
      if (ref.size() < 64 || ref.count(key)) {
        ASSERT_TRUE(k.increment(key)) << "seed " << seed << " step " << step;
        ++ref[key];
      }
    } else {
      k.decrement(key);
      if (auto it = ref.find(key); it != ref.end() && --it->second == 0) ref.erase(it);
    }
    if (step % 997 == 0) {
      for (uint32_t q = 0x0a000000u; q < 0x0a000000u + 96; ++q)
        ASSERT_EQ(k.get(q), ref.count(q) ? ref[q] : 0u) << "seed " << seed << " step " << step;
    }
  }
  EXPECT_EQ(k.keys(), ref.size());
}

}  // namespace
}  // namespace pollux::base
