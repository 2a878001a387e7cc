// Software steering (stack/steering.hpp) on its own: which frames stay, which go where, in
// what order, and what a full ring costs. The lcores are played in turn on one thread (each
// ring still has one producer and one consumer).
#include "engine/steering.hpp"

#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <memory>
#include <vector>

#include "net/bytes.hpp"

namespace pollux::engine {
namespace {

struct PoolDeleter {
  void operator()(rte_mempool* p) const { rte_mempool_free(p); }
};

constexpr uint32_t kUs = 0x0a000002, kPeer = 0x0a000001;

// A TCP segment from the peer to us:80 with source port `sport`; `tag` in the IP ID field
// identifies the frame after it travelled.
rte_mbuf* segment(rte_mempool* pool, uint16_t sport, uint16_t tag, bool tcp = true) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (!m) return nullptr;
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, 14 + 20 + 20));
  std::fill(p, p + 54, 0);
  net::store_be16(p + 12, 0x0800);
  p[14] = 0x45;
  net::store_be16(p + 14 + 4, tag);
  p[14 + 9] = tcp ? 6 : 1;
  net::store_be32(p + 14 + 12, kPeer);
  net::store_be32(p + 14 + 16, kUs);
  net::store_be16(p + 34, sport);
  net::store_be16(p + 36, 80);
  return m;
}
uint16_t tag_of(rte_mbuf* m) {
  return net::load_be16(rte_pktmbuf_mtod(m, uint8_t*) + 14 + 4);
}

class Steering : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_.reset(rte_pktmbuf_pool_create(("steer" + std::to_string(serial_++)).c_str(), 1023, 0, 0,
                                        RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY));
    ASSERT_NE(pool_, nullptr);
  }
  // A source port whose segments lcore `owner` owns.
  uint16_t port_owned_by(const ShardMap& map, uint16_t owner, uint16_t from = 1024) {
    for (uint32_t p = from; p < 65536; ++p)
      if (map.shard_of(net::FourTuple{net::Ipv4Addr{kUs}, net::Ipv4Addr{kPeer}, 80,
                                 static_cast<uint16_t>(p)}) == owner)
        return static_cast<uint16_t>(p);
    return 0;
  }
  std::unique_ptr<rte_mempool, PoolDeleter> pool_;
  static inline int serial_ = 0;
};

TEST_F(Steering, KeepsOwnAndUnsteerableFramesInOrderAndPassesTheRestToTheirOwners) {
  const ShardMap map(3);
  std::string err;
  auto mesh = SteeringMesh::create("st_a", 3, 64, SOCKET_ID_ANY, err);
  ASSERT_NE(mesh, nullptr) << err;
  base::Counters c0, c1, c2;
  Steerer s0(*mesh, map, 0, c0), s1(*mesh, map, 1, c1), s2(*mesh, map, 2, c2);
  const uint16_t p0 = port_owned_by(map, 0), p1 = port_owned_by(map, 1), p2 = port_owned_by(map, 2);
  // Arrives at lcore 0: mine, lcore 1's, ICMP (stays), lcore 2's, mine, lcore 1's.
  rte_mbuf* burst[6] = {segment(pool_.get(), p0, 1),        segment(pool_.get(), p1, 2),
                        segment(pool_.get(), p1, 3, false), segment(pool_.get(), p2, 4),
                        segment(pool_.get(), p0, 5),        segment(pool_.get(), p1, 6)};
  const uint16_t kept = s0.distribute(burst, 6);
  ASSERT_EQ(kept, 3);
  EXPECT_EQ(tag_of(burst[0]), 1);
  EXPECT_EQ(tag_of(burst[1]), 3);
  EXPECT_EQ(tag_of(burst[2]), 5);
  EXPECT_EQ(c0.get(base::Counter::steered_out), 3u);
  rte_pktmbuf_free_bulk(burst, kept);

  rte_mbuf* got[8];
  ASSERT_EQ(s1.collect(got, 8), 2);
  EXPECT_EQ(tag_of(got[0]), 2);  // in the order lcore 0 received them
  EXPECT_EQ(tag_of(got[1]), 6);
  rte_pktmbuf_free_bulk(got, 2);
  ASSERT_EQ(s2.collect(got, 8), 1);
  EXPECT_EQ(tag_of(got[0]), 4);
  rte_pktmbuf_free_bulk(got, 1);
  EXPECT_EQ(s0.collect(got, 8), 0);
  EXPECT_EQ(c1.get(base::Counter::steered_in), 2u);
  EXPECT_EQ(c2.get(base::Counter::steered_in), 1u);
  EXPECT_EQ(rte_mempool_avail_count(pool_.get()), 1023u);
}

// Issue 16: IPv6/TCP segments go to the lcore that owns their connection too; ICMPv6
// (neighbour discovery, echo) stays where it arrived.
const net::Ipv6Addr kUs6 = *net::Ipv6Addr::parse("fd00:99::2");
const net::Ipv6Addr kPeer6 = *net::Ipv6Addr::parse("fd00:99::1");

rte_mbuf* segment6(rte_mempool* pool, uint16_t sport, uint8_t tag, uint8_t next = 6) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (!m) return nullptr;
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, 14 + 40 + 20));
  std::fill(p, p + 74, 0);
  net::store_be16(p + 12, 0x86dd);
  p[14] = 0x60;
  p[14 + 3] = tag;  // the flow label's low byte identifies the frame
  p[14 + 6] = next;
  p[14 + 7] = 64;
  std::copy(kPeer6.bytes.begin(), kPeer6.bytes.end(), p + 14 + 8);
  std::copy(kUs6.bytes.begin(), kUs6.bytes.end(), p + 14 + 24);
  net::store_be16(p + 54, sport);
  net::store_be16(p + 56, 80);
  return m;
}

TEST_F(Steering, Ipv6SegmentsGoToTheirConnectionsOwnerAndIcmpv6Stays) {
  const ShardMap map(2);
  std::string err;
  auto mesh = SteeringMesh::create("st_6", 2, 64, SOCKET_ID_ANY, err);
  ASSERT_NE(mesh, nullptr) << err;
  base::Counters c0, c1;
  Steerer s0(*mesh, map, 0, c0), s1(*mesh, map, 1, c1);
  uint16_t mine = 0, theirs = 0;
  for (uint32_t p = 1024; p < 65536 && (mine == 0 || theirs == 0); ++p) {
    const uint16_t owner = map.shard_of(net::FourTuple{kUs6, kPeer6, 80, static_cast<uint16_t>(p)});
    (owner == 0 ? mine : theirs) = static_cast<uint16_t>(p);
  }
  ASSERT_NE(mine, 0);
  ASSERT_NE(theirs, 0);
  rte_mbuf* burst[3] = {segment6(pool_.get(), mine, 1), segment6(pool_.get(), theirs, 2),
                        segment6(pool_.get(), theirs, 3, 58)};
  ASSERT_EQ(s0.distribute(burst, 3), 2);
  EXPECT_EQ(rte_pktmbuf_mtod(burst[0], uint8_t*)[14 + 3], 1);
  EXPECT_EQ(rte_pktmbuf_mtod(burst[1], uint8_t*)[14 + 3], 3) << "ICMPv6 stays";
  rte_pktmbuf_free_bulk(burst, 2);
  rte_mbuf* got[4];
  ASSERT_EQ(s1.collect(got, 4), 1);
  EXPECT_EQ(rte_pktmbuf_mtod(got[0], uint8_t*)[14 + 3], 2);
  rte_pktmbuf_free_bulk(got, 1);
  EXPECT_EQ(rte_mempool_avail_count(pool_.get()), 1023u);
}

TEST_F(Steering, AFullRingDropsAndCountsWithoutLeaking) {
  const ShardMap map(2);
  std::string err;
  // 8 slots: rte_ring holds size - 1 = 7.
  auto mesh = SteeringMesh::create("st_b", 2, 8, SOCKET_ID_ANY, err);
  ASSERT_NE(mesh, nullptr) << err;
  base::Counters c0, c1;
  Steerer s0(*mesh, map, 0, c0), s1(*mesh, map, 1, c1);
  uint16_t port = 1024;
  rte_mbuf* burst[Steerer::kBurst];
  for (uint16_t i = 0; i < 10; ++i) {
    port = port_owned_by(map, 1, static_cast<uint16_t>(port + 1));
    burst[i] = segment(pool_.get(), port, i);
  }
  EXPECT_EQ(s0.distribute(burst, 10), 0);
  EXPECT_EQ(c0.get(base::Counter::steered_out), 7u);
  EXPECT_EQ(c0.get(base::Counter::drop_steer_ring_full), 3u);
  rte_mbuf* got[Steerer::kBurst];
  ASSERT_EQ(s1.collect(got, Steerer::kBurst), 7);
  for (uint16_t i = 0; i < 7; ++i) EXPECT_EQ(tag_of(got[i]), i);  // the first seven
  rte_pktmbuf_free_bulk(got, 7);
  EXPECT_EQ(rte_mempool_avail_count(pool_.get()), 1023u);
  // What is still in flight when the mesh goes is freed with it.
  burst[0] = segment(pool_.get(), port, 99);
  EXPECT_EQ(s0.distribute(burst, 1), 0);
  mesh.reset();
  EXPECT_EQ(rte_mempool_avail_count(pool_.get()), 1023u);
}

}  // namespace
}  // namespace pollux::engine
