// The shard function (stack/rss.hpp): RETA indexing by the hash's low bits, agreement of
// both directions of a connection, and the frame parser that feeds software steering.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "engine/rss.hpp"
#include "net/ethernet.hpp"

namespace pollux::engine {
namespace {

net::FourTuple random_tuple(std::mt19937_64& rng) {
  return net::FourTuple{net::Ipv4Addr{static_cast<uint32_t>(rng())},
                        net::Ipv4Addr{static_cast<uint32_t>(rng())}, static_cast<uint16_t>(rng()),
                        static_cast<uint16_t>(rng())};
}

TEST(ShardMap, DefaultRetaIsRoundRobinAndIndexedByLowBits) {
  ShardMap map(3, net::kSymmetricRssKey, 128);
  ASSERT_EQ(map.reta().size(), 128u);
  for (size_t i = 0; i < 128; ++i) EXPECT_EQ(map.reta()[i], i % 3);
  // Bits above the table size do not matter (Microsoft RSS: the low bits index the table).
  EXPECT_EQ(map.shard_of_hash(0x00000005), 5 % 3);
  EXPECT_EQ(map.shard_of_hash(0xffffff85), 5 % 3);
  EXPECT_EQ(map.shard_of_hash(0x0000007f), 127 % 3);
}

TEST(ShardMap, ShardIsTheRetaEntryOfTheReceivedSegmentsHash) {
  const net::ToeplitzIpv4Tcp ms(net::kMicrosoftRssKey);
  ShardMap map(4, net::kMicrosoftRssKey, 64);
  std::vector<uint16_t> reta(64);
  for (size_t i = 0; i < reta.size(); ++i) reta[i] = static_cast<uint16_t>((i * 7 + 1) % 4);
  ASSERT_TRUE(map.set_reta(reta));
  std::mt19937_64 rng(1);
  for (int i = 0; i < 10000; ++i) {
    const net::FourTuple t = random_tuple(rng);
    const uint32_t h = ms.hash(t.remote_ip.v4(), t.local_ip.v4(), t.remote_port, t.local_port);
    ASSERT_EQ(map.shard_of(t), reta[h & 63]);
  }
}

TEST(ShardMap, BothEndsOfAConnectionAgreeWithTheSymmetricKey) {
  std::mt19937_64 rng(2);
  for (uint16_t n = 1; n <= 16; ++n) {
    ShardMap map(n);
    for (int i = 0; i < 2000; ++i) {
      const net::FourTuple t = random_tuple(rng);
      const net::FourTuple peer{t.remote_ip, t.local_ip, t.remote_port, t.local_port};
      ASSERT_EQ(map.shard_of(t), map.shard_of(peer));
      ASSERT_LT(map.shard_of(t), n);
    }
  }
}

TEST(ShardMap, Ipv6TuplesTakeTheIpv6TcpHashAndBothEndsAgree) {
  std::mt19937_64 rng(6);
  ShardMap map(4);
  for (int i = 0; i < 2000; ++i) {
    net::Ipv6Addr a, b;
    for (auto& x : a.bytes) x = static_cast<uint8_t>(rng());
    for (auto& x : b.bytes) x = static_cast<uint8_t>(rng());
    a.bytes[0] = b.bytes[0] = 0x20;  // never IPv4-mapped
    const net::FourTuple t{a, b, static_cast<uint16_t>(rng()), static_cast<uint16_t>(rng())};
    const net::FourTuple peer{t.remote_ip, t.local_ip, t.remote_port, t.local_port};
    ASSERT_FALSE(t.is_v4());
    ASSERT_EQ(map.shard_of(t), map.shard_of_hash(map.hash_rx6(b, a, t.remote_port, t.local_port)));
    ASSERT_EQ(map.shard_of(t), map.shard_of(peer));
  }
}

TEST(ShardMap, RefusesBadRetas) {
  ShardMap map(2);
  const std::vector<uint16_t> not_pow2(96, 0), out_of_range(64, 2), empty;
  EXPECT_FALSE(map.set_reta(not_pow2));
  EXPECT_FALSE(map.set_reta(out_of_range));
  EXPECT_FALSE(map.set_reta(empty));
  EXPECT_EQ(map.reta().size(), 128u);  // unchanged
  EXPECT_EQ(map.reta()[1], 1);
}

// Ethernet + IPv4 (+ options) + the first bytes of a TCP header.
std::vector<uint8_t> frame(uint8_t ihl_words, uint8_t proto, uint16_t frag, size_t l4_bytes) {
  std::vector<uint8_t> f(14 + ihl_words * 4u + l4_bytes, 0);
  net::store_be16(f.data() + 12, 0x0800);
  uint8_t* ip = f.data() + 14;
  ip[0] = static_cast<uint8_t>(0x40 | ihl_words);
  net::store_be16(ip + 6, frag);
  ip[9] = proto;
  net::store_be32(ip + 12, 0x0a000001);
  net::store_be32(ip + 16, 0x0a000002);
  if (l4_bytes >= 4) {
    net::store_be16(ip + ihl_words * 4, 40000);
    net::store_be16(ip + ihl_words * 4 + 2, 80);
  }
  return f;
}

TEST(RxTcpTuple, ParsesTcpOverIpv4WithAndWithoutOptions) {
  for (uint8_t ihl : {5, 6, 15}) {
    auto f = frame(ihl, 6, 0x4000 /* DF is fine */, 20);
    RxTuple t;
    ASSERT_TRUE(rx_tcp_tuple(f, t)) << int(ihl);
    EXPECT_EQ(t.src.value, 0x0a000001u);
    EXPECT_EQ(t.dst.value, 0x0a000002u);
    EXPECT_EQ(t.sport, 40000);
    EXPECT_EQ(t.dport, 80);
  }
}

TEST(RxTcpTuple, LeavesEverythingElseWhereItArrived) {
  RxTuple t;
  EXPECT_FALSE(rx_tcp_tuple(frame(5, 1, 0, 20), t));       // ICMP
  EXPECT_FALSE(rx_tcp_tuple(frame(5, 6, 0x2000, 20), t));  // first fragment (MF)
  EXPECT_FALSE(rx_tcp_tuple(frame(5, 6, 0x0010, 20), t));  // later fragment
  EXPECT_FALSE(rx_tcp_tuple(frame(4, 6, 0, 20), t));       // IHL below 5
  auto f = frame(5, 6, 0, 3);                              // ports cut off
  EXPECT_FALSE(rx_tcp_tuple(f, t));
  f = frame(5, 6, 0, 20);
  net::store_be16(f.data() + 12, 0x0806);  // ARP
  EXPECT_FALSE(rx_tcp_tuple(f, t));
  f = frame(5, 6, 0, 20);
  f[14] = 0x65;  // version 6
  EXPECT_FALSE(rx_tcp_tuple(f, t));
  EXPECT_FALSE(rx_tcp_tuple(std::span(f).first(20), t));  // runt
}

// An ICMP destination unreachable (type 3, code 4: fragmentation needed) from a router,
// quoting `quoted_proto` datagram 10.0.0.2:40000 -> 10.0.0.1:80 that we sent.
std::vector<uint8_t> icmp_error(uint8_t type, uint8_t quoted_proto, size_t quoted_l4_bytes) {
  std::vector<uint8_t> f(14 + 20 + 8 + 20 + quoted_l4_bytes, 0);
  net::store_be16(f.data() + 12, 0x0800);
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x45;
  ip[9] = 1;                             // ICMP
  net::store_be32(ip + 12, 0x0a0000fe);  // the router
  net::store_be32(ip + 16, 0x0a000002);  // us
  uint8_t* icmp = ip + 20;
  icmp[0] = type;
  icmp[1] = 4;
  uint8_t* q = icmp + 8;
  q[0] = 0x45;
  q[9] = quoted_proto;
  net::store_be32(q + 12, 0x0a000002);  // quoted source: us
  net::store_be32(q + 16, 0x0a000001);  // quoted destination: the peer
  if (quoted_l4_bytes >= 4) {
    net::store_be16(q + 20, 40000);
    net::store_be16(q + 22, 80);
  }
  return f;
}

TEST(RxSteerTuple, IcmpErrorsGoWhereTheQuotedConnectionsSegmentsGo) {
  RxTuple t;
  ASSERT_TRUE(rx_steer_tuple(icmp_error(3, 6, 8), t));
  // As the connection's own segments arrive: from the peer 10.0.0.1:80 to us 10.0.0.2:40000.
  EXPECT_EQ(t.src.value, 0x0a000001u);
  EXPECT_EQ(t.dst.value, 0x0a000002u);
  EXPECT_EQ(t.sport, 80);
  EXPECT_EQ(t.dport, 40000);
  for (uint16_t n = 2; n <= 8; ++n) {
    ShardMap map(n);
    const net::FourTuple conn{net::Ipv4Addr{0x0a000002}, net::Ipv4Addr{0x0a000001}, 40000, 80};
    EXPECT_EQ(map.shard_of_hash(map.hash_rx(t.src, t.dst, t.sport, t.dport)), map.shard_of(conn));
  }
  // TCP itself still goes by its own tuple.
  ASSERT_TRUE(rx_steer_tuple(frame(5, 6, 0, 20), t));
  EXPECT_EQ(t.sport, 40000);
}

TEST(RxSteerTuple, OtherIcmpStaysWhereItArrived) {
  RxTuple t;
  EXPECT_FALSE(rx_steer_tuple(icmp_error(8, 6, 8), t));   // echo request
  EXPECT_FALSE(rx_steer_tuple(icmp_error(11, 6, 8), t));  // time exceeded: not for PMTUD
  EXPECT_FALSE(rx_steer_tuple(icmp_error(3, 17, 8), t));  // quotes UDP
  EXPECT_FALSE(rx_steer_tuple(icmp_error(3, 6, 2), t));   // quoted ports cut off
  auto f = icmp_error(3, 6, 8);
  f[14 + 20 + 8] = 0x65;  // quoted version 6
  EXPECT_FALSE(rx_steer_tuple(f, t));
}

}  // namespace
}  // namespace pollux::engine
