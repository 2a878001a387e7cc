// The per-destination path MTU cache (tcp/path_mtu_cache.hpp): an MTU learnt for an address
// is found for it and no other, only lowered (RFC 8201 5.3's timer restarts when it is),
// forgotten after its lifetime, and the cache never holds more than its 64 entries: a new
// destination then evicts one, saying so, and the newest is always kept.
#include "tcp/path_mtu_cache.hpp"

#include <gtest/gtest.h>

namespace pollux::tcp {
namespace {

constexpr uint64_t kLife = 600ull * 1'000'000'000;  // RFC 8201 5.3: 10 minutes

net::IpAddr v6(uint32_t n) {
  net::Ipv6Addr a{};
  a.bytes = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0};
  a.bytes[12] = static_cast<uint8_t>(n >> 24);
  a.bytes[13] = static_cast<uint8_t>(n >> 16);
  a.bytes[14] = static_cast<uint8_t>(n >> 8);
  a.bytes[15] = static_cast<uint8_t>(n);
  return a;
}

TEST(PathMtuCache, AnEmptyCacheKnowsNothing) {
  const PathMtuCache c;
  EXPECT_EQ(c.find(v6(1), 0), 0);
  EXPECT_EQ(c.find(net::Ipv4Addr{0x0a000001}, 0), 0);
}

TEST(PathMtuCache, AnMtuIsFoundForItsDestinationOnlyAndEitherFamily) {
  PathMtuCache c;
  EXPECT_EQ(c.learn(v6(1), 1280, 0, kLife), PathMtuCache::Learnt::added);
  EXPECT_EQ(c.learn(net::Ipv4Addr{0x0a000001}, 1000, 0, kLife), PathMtuCache::Learnt::added);
  EXPECT_EQ(c.find(v6(1), 5), 1280);
  EXPECT_EQ(c.find(v6(2), 5), 0);
  EXPECT_EQ(c.find(net::Ipv4Addr{0x0a000001}, 5), 1000);
  // ::ffff:10.0.0.1 is how an IPv4 peer is held; the IPv6 address ::10.0.0.1 is another.
  net::Ipv6Addr compat{};
  compat.bytes[12] = 10;
  compat.bytes[15] = 1;
  EXPECT_EQ(c.find(compat, 5), 0);
}

TEST(PathMtuCache, AnEstimateIsOnlyLoweredAndALowerOneRestartsItsLifetime) {
  PathMtuCache c;
  ASSERT_EQ(c.learn(v6(1), 1400, 0, kLife), PathMtuCache::Learnt::added);
  EXPECT_EQ(c.learn(v6(1), 1450, 10, kLife), PathMtuCache::Learnt::unchanged);
  EXPECT_EQ(c.learn(v6(1), 1400, 10, kLife), PathMtuCache::Learnt::unchanged);
  EXPECT_EQ(c.find(v6(1), 20), 1400);
  EXPECT_EQ(c.learn(v6(1), 1280, 100, kLife), PathMtuCache::Learnt::updated);
  EXPECT_EQ(c.find(v6(1), kLife + 50), 1280) << "the lifetime counts from the lowering";
  EXPECT_EQ(c.find(v6(1), kLife + 100), 0);
}

TEST(PathMtuCache, AnExpiredEntryIsForgottenAndItsDestinationLearntAfresh) {
  PathMtuCache c;
  ASSERT_EQ(c.learn(v6(1), 1280, 0, kLife), PathMtuCache::Learnt::added);
  EXPECT_EQ(c.find(v6(1), kLife - 1), 1280);
  EXPECT_EQ(c.find(v6(1), kLife), 0);
  // Expired, a higher report is news again (the path may have grown and shrunk).
  EXPECT_EQ(c.learn(v6(1), 1400, kLife, kLife), PathMtuCache::Learnt::added);
  EXPECT_EQ(c.find(v6(1), kLife + 1), 1400);
}

TEST(PathMtuCache, ManyDestinationsKeepAtMost64AndEvictionsAreCountedNewestKept) {
  PathMtuCache c;
  constexpr uint32_t kDestinations = 1000;
  uint32_t evictions = 0;
  for (uint32_t i = 0; i < kDestinations; ++i) {
    const uint64_t now = 1000 + i;
    if (c.learn(v6(i), 1280, now, kLife) == PathMtuCache::Learnt::added_evicting) ++evictions;
    EXPECT_EQ(c.find(v6(i), now), 1280) << "destination " << i << " just learnt";
  }
  uint32_t held = 0;
  for (uint32_t i = 0; i < kDestinations; ++i) held += c.find(v6(i), 5000) != 0;
  EXPECT_LE(held, PathMtuCache::kEntries);
  EXPECT_GT(held, PathMtuCache::kEntries / 2) << "the sets are used evenly enough";
  EXPECT_EQ(evictions, kDestinations - held) << "every entry lost was an eviction";
  // An eviction takes the entry that would expire first, the oldest of its set: the newest
  // kWays destinations are all held whichever sets they fell in.
  for (uint32_t i = kDestinations - PathMtuCache::kWays; i < kDestinations; ++i)
    EXPECT_EQ(c.find(v6(i), 5000), 1280);
}

}  // namespace
}  // namespace pollux::tcp
