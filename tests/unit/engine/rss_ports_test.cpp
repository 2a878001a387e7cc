// Active opens on a sharded stack (issue 6): the engine of shard s picks only ephemeral
// ports whose replies the RSS hash maps back to s, for any number of shards, and running out
// of its share is an error returned at once.
#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <memory>
#include <random>
#include <set>

#include "engine/engine.hpp"
#include "engine/rss.hpp"

namespace pollux::engine {
namespace {

using net::make_ipv4;
constexpr net::Ipv4Addr kOurIp = make_ipv4(10, 0, 0, 2);
const net::Ipv6Addr kOurIp6 = *net::Ipv6Addr::parse("fd00:6::2");

struct PoolDeleter {
  void operator()(rte_mempool* p) const { rte_mempool_free(p); }
};

class ShardedConnect : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_.reset(
        rte_pktmbuf_pool_create("rss_ports", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY));
    ASSERT_NE(pool_, nullptr);
  }
  std::unique_ptr<Engine> engine(const ShardMap& map, uint16_t shard, uint32_t max_conns,
                                 uint16_t first = 32768, uint16_t last = 60999) {
    EngineConfig c;
    c.iface.mac = net::MacAddr{{0x02, 0, 0, 0, 0, 2}};
    c.iface.addrs = {net::Ipv4Prefix{kOurIp, 8}};
    c.iface.addrs6 = {net::Ipv6Prefix{kOurIp6, 64}};
    c.tcp.max_connections = max_conns;
    c.tcp.ooo_queues = 4;
    c.tcp.ephemeral_first = first;
    c.tcp.ephemeral_last = last;
    c.lcore_index = shard;
    c.shards = &map;
    return std::make_unique<Engine>(c, pool_.get());
  }
  std::unique_ptr<rte_mempool, PoolDeleter> pool_;
  const AppEvents events_{};
};

TEST_F(ShardedConnect, ChosenPortsLandOnTheCallingShardForEveryShardCount) {
  std::mt19937_64 rng(16);
  for (uint16_t n = 1; n <= 16; ++n) {
    const ShardMap map(n);
    for (uint16_t s = 0; s < n; ++s) {
      auto e = engine(map, s, 32);
      for (int i = 0; i < 24; ++i) {
        // Random peers on the subnet (so that no gateway is needed), random service ports.
        const net::Ipv4Addr remote{0x0a000000u | static_cast<uint32_t>(rng() % 0xfffffe + 1)};
        if (remote == kOurIp) continue;
        const auto rport = static_cast<uint16_t>(rng() % 65535 + 1);
        TcpError err;
        Conn* c = e->tcp().connect(kOurIp, remote, rport, &events_, nullptr, 0, {}, err, 0);
        ASSERT_NE(c, nullptr) << "n=" << n << " s=" << s << " err=" << int(err);
        const net::FourTuple& t = tcp::TcpLayer::tuple(c);
        EXPECT_EQ(map.shard_of(t), s) << "n=" << n << " port " << t.local_port;
        EXPECT_GE(t.local_port, 32768);
        EXPECT_LE(t.local_port, 60999);
        // The peer, hashing what it receives with the same key, agrees (symmetric key).
        EXPECT_EQ(
            map.shard_of_hash(map.hash_rx(t.local_ip.v4(), t.remote_ip.v4(), t.local_port, t.remote_port)),
            s);
      }
    }
  }
}

// Issue 16: the same over IPv6, where the shard is the IPv6/TCP Toeplitz hash of the tuple
// (RFC 6056 ports for both families, the owning lcore's share only).
TEST_F(ShardedConnect, ChosenPortsLandOnTheCallingShardOverIpv6Too) {
  std::mt19937_64 rng(616);
  for (uint16_t n : {2, 3, 4, 8}) {
    const ShardMap map(n);
    for (uint16_t s = 0; s < n; ++s) {
      auto e = engine(map, s, 32);
      for (int i = 0; i < 24; ++i) {
        // Random peers on our /64, random service ports.
        net::Ipv6Addr remote = kOurIp6;
        for (size_t b = 8; b < 16; ++b) remote.bytes[b] = static_cast<uint8_t>(rng());
        if (remote == kOurIp6) continue;
        const auto rport = static_cast<uint16_t>(rng() % 65535 + 1);
        TcpError err;
        Conn* c = e->tcp().connect(kOurIp6, remote, rport, &events_, nullptr, 0, {}, err, 0);
        ASSERT_NE(c, nullptr) << "n=" << n << " s=" << s << " err=" << int(err);
        const net::FourTuple& t = tcp::TcpLayer::tuple(c);
        EXPECT_FALSE(t.is_v4());
        EXPECT_EQ(map.shard_of(t), s) << "n=" << n << " port " << t.local_port;
        EXPECT_GE(t.local_port, 32768);
        EXPECT_LE(t.local_port, 60999);
        // The reply, as the NIC (or software steering) hashes it, lands on shard s.
        EXPECT_EQ(map.shard_of_hash(
                      map.hash_rx6(t.remote_ip.v6(), t.local_ip.v6(), t.remote_port, t.local_port)),
                  s);
      }
    }
  }
}

TEST_F(ShardedConnect, ExhaustingTheShardsShareIsAnErrorNotAHang) {
  const ShardMap map(4);
  const net::Ipv4Addr remote = make_ipv4(10, 0, 0, 1);
  for (uint16_t s = 0; s < 4; ++s) {
    // 256 ports in the range; this shard owns those whose tuple toward remote:80 maps to it.
    std::set<uint16_t> owned;
    for (uint32_t p = 40000; p <= 40255; ++p)
      if (map.shard_of(net::FourTuple{kOurIp, remote, static_cast<uint16_t>(p), 80}) == s)
        owned.insert(static_cast<uint16_t>(p));
    ASSERT_GT(owned.size(), 30u);  // roughly a quarter
    ASSERT_LT(owned.size(), 100u);
    auto e = engine(map, s, 512, 40000, 40255);
    std::set<uint16_t> got;
    TcpError err = TcpError::ok;
    for (int i = 0; i < 300; ++i) {
      Conn* c = e->tcp().connect(kOurIp, remote, 80, &events_, nullptr, 0, {}, err, 0);
      if (!c) break;
      got.insert(tcp::TcpLayer::tuple(c).local_port);
    }
    EXPECT_EQ(err, TcpError::no_ephemeral_port);
    EXPECT_EQ(got, owned) << "shard " << s;  // every owned port used, nothing else
    // Another destination port is a separate space: it still works.
    Conn* c = e->tcp().connect(kOurIp, remote, 81, &events_, nullptr, 0, {}, err, 0);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(map.shard_of(tcp::TcpLayer::tuple(c)), s);
  }
}

TEST_F(ShardedConnect, OneShardOrNoMapUsesTheWholeRange) {
  const ShardMap one(1);
  const net::Ipv4Addr remote = make_ipv4(10, 0, 0, 1);
  auto e = engine(one, 0, 512, 40000, 40063);
  int opened = 0;
  TcpError err = TcpError::ok;
  while (e->tcp().connect(kOurIp, remote, 80, &events_, nullptr, 0, {}, err, 0)) ++opened;
  EXPECT_EQ(opened, 64);
  EXPECT_EQ(err, TcpError::no_ephemeral_port);
}

}  // namespace
}  // namespace pollux::engine
