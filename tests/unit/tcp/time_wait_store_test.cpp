// The TIME-WAIT record store (tcp/time_wait_store.hpp): found by tuple, expired oldest first,
// a restart moves a record to the back, and a full store drops its oldest record, saying so.
#include "tcp/time_wait_store.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace pollux::tcp {
namespace {

net::FourTuple tuple(uint16_t port) {
  return net::FourTuple{net::Ipv4Addr{0x0a000002}, net::Ipv4Addr{0x0a000001}, 80, port};
}

net::FourTuple tuple6(uint16_t port) {
  net::Ipv6Addr local{}, remote{};
  local.bytes = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  remote.bytes = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return net::FourTuple{local, remote, 80, port};
}

std::vector<uint16_t> ports_oldest_first(const TimeWaitStore& s) {
  std::vector<uint16_t> out;
  s.for_each([&](const TimeWaitRecord& r) { out.push_back(r.remote_port); });
  return out;
}

// Issue 13's bound: 64 B a record, whichever the family. An IPv6 pair adds its 32 B of
// addresses in the parallel array.
TEST(TimeWaitStore, ARecordCostsAtMost64Bytes) {
  EXPECT_LE(TimeWaitStore::bytes_per_record(), 64u);
  EXPECT_EQ(TimeWaitStore::bytes_per_ipv6_pair(), 32u);
}

TEST(TimeWaitStore, GivesBackTheWholeTupleOfEitherFamily) {
  TimeWaitStore s(8);
  bool evicted = false;
  TimeWaitRecord& a = s.insert(tuple(1000), 500, evicted);
  TimeWaitRecord& b = s.insert(tuple6(1000), 500, evicted);
  EXPECT_EQ(s.tuple_of(a), tuple(1000));
  EXPECT_EQ(s.tuple_of(b), tuple6(1000));
  EXPECT_FALSE(a.v6);
  EXPECT_TRUE(b.v6);
}

// The same ports under either family are two pairs, and IPv6 pairs differing in one address
// byte are two records.
TEST(TimeWaitStore, KeepsPairsOfTheTwoFamiliesApart) {
  TimeWaitStore s(8);
  bool evicted = false;
  s.insert(tuple(1000), 500, evicted).rcv_nxt = net::Seq(4);
  s.insert(tuple6(1000), 600, evicted).rcv_nxt = net::Seq(6);
  ASSERT_NE(s.find(tuple(1000)), nullptr);
  ASSERT_NE(s.find(tuple6(1000)), nullptr);
  EXPECT_EQ(s.find(tuple(1000))->rcv_nxt, net::Seq(4));
  EXPECT_EQ(s.find(tuple6(1000))->rcv_nxt, net::Seq(6));
  net::FourTuple other = tuple6(1000);
  other.remote_ip.bytes[7] = 9;
  EXPECT_EQ(s.find(other), nullptr);
  s.erase(*s.find(tuple6(1000)));
  EXPECT_EQ(s.find(tuple6(1000)), nullptr);
  EXPECT_NE(s.find(tuple(1000)), nullptr);
  EXPECT_EQ(s.size(), 1u);
}

TEST(TimeWaitStore, FindsARecordByItsTupleUntilItIsErased) {
  TimeWaitStore s(8);
  bool evicted = true;
  TimeWaitRecord& r = s.insert(tuple(1000), 500, evicted);
  EXPECT_FALSE(evicted);
  r.rcv_nxt = net::Seq(42);
  s.insert(tuple(1001), 600, evicted);
  ASSERT_NE(s.find(tuple(1000)), nullptr);
  EXPECT_EQ(s.find(tuple(1000))->rcv_nxt, net::Seq(42));
  EXPECT_EQ(s.find(tuple(1002)), nullptr);
  s.erase(*s.find(tuple(1000)));
  EXPECT_EQ(s.find(tuple(1000)), nullptr);
  EXPECT_NE(s.find(tuple(1001)), nullptr);
  EXPECT_EQ(s.size(), 1u);
}

TEST(TimeWaitStore, ExpiresOldestFirstAndOnlyWhatIsDue) {
  TimeWaitStore s(8);
  bool evicted = false;
  for (uint16_t p = 0; p < 5; ++p) s.insert(tuple(p), 100 * (p + 1), evicted);
  EXPECT_EQ(s.expire(250), 2u);  // 100 and 200
  EXPECT_EQ(ports_oldest_first(s), (std::vector<uint16_t>{2, 3, 4}));
  EXPECT_EQ(s.expire(250), 0u);
  EXPECT_EQ(s.expire(10'000), 3u);
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.oldest(), nullptr);
}

TEST(TimeWaitStore, ARestartMovesTheRecordToTheBackWithItsNewExpiry) {
  TimeWaitStore s(8);
  bool evicted = false;
  for (uint16_t p = 0; p < 3; ++p) s.insert(tuple(p), 100 * (p + 1), evicted);
  s.restart(*s.find(tuple(0)), 1000);  // the peer's FIN again (RFC 9293 3.10.7.4)
  EXPECT_EQ(ports_oldest_first(s), (std::vector<uint16_t>{1, 2, 0}));
  EXPECT_EQ(s.expire(999), 2u);
  EXPECT_NE(s.find(tuple(0)), nullptr);
}

TEST(TimeWaitStore, AFullStoreDropsItsOldestRecordAndSaysSo) {
  TimeWaitStore s(4);
  bool evicted = false;
  for (uint16_t p = 0; p < 4; ++p) {
    s.insert(tuple(p), p + 1, evicted);
    EXPECT_FALSE(evicted);
  }
  s.insert(tuple(4), 5, evicted);
  EXPECT_TRUE(evicted);
  EXPECT_EQ(s.size(), 4u);
  EXPECT_EQ(s.find(tuple(0)), nullptr);
  EXPECT_EQ(ports_oldest_first(s), (std::vector<uint16_t>{1, 2, 3, 4}));
}

TEST(TimeWaitStore, ThousandsOfCyclesThroughASmallStoreKeepItConsistent) {
  // Many tuples sharing few buckets, inserted, restarted, expired and evicted in turn.
  TimeWaitStore s(64);
  bool evicted = false;
  uint32_t evictions = 0;
  uint64_t now = 0;
  for (uint32_t i = 0; i < 20'000; ++i) {
    now += 1;
    const uint16_t port = static_cast<uint16_t>(i % 5000);
    const net::FourTuple t = i % 7 == 0 ? tuple6(port) : tuple(port);  // both families mixed
    if (TimeWaitRecord* r = s.find(t)) {
      if (i % 3 == 0)
        s.restart(*r, now + 200);
      else
        s.erase(*r);
    } else {
      s.insert(t, now + 200, evicted);
      evictions += evicted;
    }
    s.expire(now);
    ASSERT_LE(s.size(), s.capacity());
  }
  EXPECT_GT(evictions, 0u);
  uint32_t n = 0;
  uint64_t last = 0;
  s.for_each([&](const TimeWaitRecord& r) {
    EXPECT_GE(r.expiry_ns, last);  // FIFO order is expiry order
    last = r.expiry_ns;
    EXPECT_EQ(s.find(s.tuple_of(r)), &r);
    ++n;
  });
  EXPECT_EQ(n, s.size());
}

}  // namespace
}  // namespace pollux::tcp
