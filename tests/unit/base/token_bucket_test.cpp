// The token bucket behind pollux's rate limits (ICMP replies, RSTs, challenge ACKs).
#include "base/token_bucket.hpp"

#include <gtest/gtest.h>

namespace pollux::base {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t t0 = 5'000 * kMs;

int take_all(TokenBucket& b, uint64_t now, int max = 1'000'000) {
  int n = 0;
  while (n < max && b.take(now)) ++n;
  return n;
}

TEST(TokenBucket, AFullBucketLetsTheBurstThroughThenRefusesUntilTimePasses) {
  TokenBucket b(1000, 50);
  EXPECT_EQ(take_all(b, t0), 50);
  EXPECT_FALSE(b.take(t0));
}

TEST(TokenBucket, TokensAccrueAtTheRate) {
  TokenBucket b(1000, 50);
  take_all(b, t0);
  EXPECT_EQ(take_all(b, t0 + 10 * kMs), 10) << "1000/s for 10 ms";
  EXPECT_EQ(take_all(b, t0 + 10 * kMs + 500'000), 0) << "half a token is not a token";
  EXPECT_EQ(take_all(b, t0 + 11 * kMs), 1);
}

TEST(TokenBucket, AccrualStopsAtTheBurst) {
  TokenBucket b(1000, 50);
  take_all(b, t0);
  EXPECT_EQ(take_all(b, t0 + 3'600'000 * kMs), 50) << "an hour idle still gives one burst";
}

TEST(TokenBucket, OverOneSecondTheRateIsHeldWhateverTheCallPattern) {
  TokenBucket b(200, 10);
  take_all(b, t0);
  int allowed = 0;
  for (uint64_t us = 1; us <= 1'000'000; us += 7) allowed += b.take(t0 + us * 1000);
  EXPECT_GE(allowed, 199);
  EXPECT_LE(allowed, 201);
}

TEST(TokenBucket, RateZeroMeansUnlimited) {
  TokenBucket b(0, 1);
  EXPECT_EQ(take_all(b, t0, 10'000), 10'000);
}

TEST(TokenBucket, TimeGoingBackwardsGivesNothing) {
  TokenBucket b(1000, 5);
  take_all(b, t0);
  EXPECT_EQ(take_all(b, t0 - 100 * kMs), 0);
  EXPECT_EQ(take_all(b, t0 + 1 * kMs), 1);
}

}  // namespace
}  // namespace pollux::base
