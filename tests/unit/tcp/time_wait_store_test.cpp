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

std::vector<uint16_t> ports_oldest_first(const TimeWaitStore& s) {
  std::vector<uint16_t> out;
  s.for_each([&](const TimeWaitRecord& r) { out.push_back(r.tuple.remote_port); });
  return out;
}

// 64 B before the tuple's addresses became IPv6-sized (issue 16): 36 B of tuple now.
TEST(TimeWaitStore, ARecordCostsAtMost88Bytes) {
  EXPECT_LE(TimeWaitStore::bytes_per_record(), 88u);
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
    if (TimeWaitRecord* r = s.find(tuple(port))) {
      if (i % 3 == 0)
        s.restart(*r, now + 200);
      else
        s.erase(*r);
    } else {
      s.insert(tuple(port), now + 200, evicted);
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
    EXPECT_EQ(s.find(r.tuple), &r);
    ++n;
  });
  EXPECT_EQ(n, s.size());
}

}  // namespace
}  // namespace pollux::tcp
