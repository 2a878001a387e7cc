// The shard function (stack/rss.hpp): RETA indexing by the hash's low bits, agreement of
// both directions of a connection, and the frame parser that feeds software steering.
#include <gtest/gtest.h>

#include <random>
#include <span>
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

// --- IPv6 (issue 16): the same steering for IPv6/TCP ---------------------------------------

// Ethernet + IPv6 + `ext` (extension headers, each given as its next-header value and length
// in 8-byte units beyond the first) + the first bytes of a TCP header.
struct Ext {
  uint8_t type;
  uint8_t len8;
};
std::vector<uint8_t> frame6(const net::Ipv6Addr& src, const net::Ipv6Addr& dst, uint16_t sport,
                            uint16_t dport, std::vector<Ext> ext = {}, uint8_t upper = 6,
                            size_t l4_bytes = 20) {
  std::vector<uint8_t> f(14 + 40, 0);
  net::store_be16(f.data() + 12, 0x86dd);
  f[14] = 0x60;
  f[14 + 6] = ext.empty() ? upper : ext[0].type;
  f[14 + 7] = 64;
  std::copy(src.bytes.begin(), src.bytes.end(), f.begin() + 14 + 8);
  std::copy(dst.bytes.begin(), dst.bytes.end(), f.begin() + 14 + 24);
  for (size_t i = 0; i < ext.size(); ++i) {
    const size_t at = f.size();
    f.resize(at + (ext[i].len8 + 1u) * 8u, 0);
    f[at] = i + 1 < ext.size() ? ext[i + 1].type : upper;
    f[at + 1] = ext[i].len8;
  }
  const size_t l4 = f.size();
  f.resize(l4 + l4_bytes, 0);
  if (l4_bytes >= 4) {
    net::store_be16(f.data() + l4, sport);
    net::store_be16(f.data() + l4 + 2, dport);
  }
  return f;
}

const net::Ipv6Addr kA6 = *net::Ipv6Addr::parse("fd00:99::1");
const net::Ipv6Addr kB6 = *net::Ipv6Addr::parse("fd00:99::2");

TEST(RxTcpTuple, ParsesTcpOverIpv6AndThroughHopByHopRoutingAndDestinationOptions) {
  for (const std::vector<Ext>& ext :
       {std::vector<Ext>{}, {{0, 0}}, {{0, 0}, {60, 1}}, {{43, 2}, {60, 0}}}) {
    RxTuple t;
    ASSERT_TRUE(rx_tcp_tuple(frame6(kA6, kB6, 40000, 80, ext), t)) << ext.size();
    EXPECT_TRUE(t.v6);
    EXPECT_EQ(t.src6, kA6);
    EXPECT_EQ(t.dst6, kB6);
    EXPECT_EQ(t.sport, 40000);
    EXPECT_EQ(t.dport, 80);
  }
  RxTuple t;
  ASSERT_TRUE(rx_tcp_tuple(frame(5, 6, 0, 20), t));
  EXPECT_FALSE(t.v6) << "IPv4 is IPv4";
}

TEST(RxTcpTuple, LeavesIpv6FragmentsIcmpv6AndTruncatedHeadersWhereTheyArrived) {
  RxTuple t;
  EXPECT_FALSE(rx_tcp_tuple(frame6(kA6, kB6, 1, 2, {}, 58), t)) << "ICMPv6 (ND, echo)";
  EXPECT_FALSE(rx_tcp_tuple(frame6(kA6, kB6, 1, 2, {{44, 0}}), t)) << "a fragment (RFC 8200 4.5)";
  EXPECT_FALSE(rx_tcp_tuple(frame6(kA6, kB6, 1, 2, {{0, 0}, {44, 0}}), t)) << "one later";
  EXPECT_FALSE(rx_tcp_tuple(frame6(kA6, kB6, 1, 2, {{0, 0}, {0, 0}, {0, 0}, {0, 0}, {60, 0}}), t))
      << "more extension headers than a NIC would walk";
  EXPECT_FALSE(rx_tcp_tuple(frame6(kA6, kB6, 1, 2, {}, 6, 3), t)) << "ports cut short";
  auto f = frame6(kA6, kB6, 1, 2, {{60, 4}});
  f.resize(14 + 40 + 8);  // the option header claims 40 bytes
  EXPECT_FALSE(rx_tcp_tuple(f, t));
  f = frame6(kA6, kB6, 1, 2);
  f[14] = 0x40;  // IPv4's version in an IPv6 ether type
  EXPECT_FALSE(rx_tcp_tuple(f, t));
  EXPECT_FALSE(rx_tcp_tuple(std::span(f).first(14 + 39), t)) << "runt";
}

// The Microsoft RSS verification suite's IPv6/TCP vectors (as in net/toeplitz_test.cpp),
// now from frames: the steering path hashes a received frame as the NIC would.
TEST(ShardMap, AnIpv6FramesHashIsTheMicrosoftSuitesIpv6TcpValue) {
  struct V {
    const char *dst, *src;
    uint16_t dport, sport;
    uint32_t hash;
  };
  const ShardMap map(4, net::kMicrosoftRssKey, 128);
  for (const V& v : {V{"3ffe:2501:200:3::1", "3ffe:2501:200:1fff::7", 1766, 2794, 0x40207d3d},
                     V{"ff02::1", "3ffe:501:8::260:97ff:fe40:efab", 4739, 14230, 0xdde51bbf},
                     V{"fe80::200:f8ff:fe21:67cf", "3ffe:1900:4545:3:200:f8ff:fe21:67cf", 38024,
                       44251, 0x02d1feef}}) {
    RxTuple t;
    ASSERT_TRUE(rx_tcp_tuple(
        frame6(*net::Ipv6Addr::parse(v.src), *net::Ipv6Addr::parse(v.dst), v.sport, v.dport), t));
    EXPECT_EQ(map.hash_rx(t), v.hash) << v.src;
  }
}

// Software steering sends both directions of an IPv6 connection to one lcore: the frame we
// receive and the one the peer receives from us hash alike, and to shard_of(our tuple).
TEST(ShardMap, BothDirectionsOfAnIpv6ConnectionSteerToTheOwningLcore) {
  std::mt19937_64 rng(16);
  for (uint16_t n : {2, 3, 4, 8}) {
    const ShardMap map(n);
    for (int i = 0; i < 2000; ++i) {
      net::Ipv6Addr a, b;
      for (auto& x : a.bytes) x = static_cast<uint8_t>(rng());
      for (auto& x : b.bytes) x = static_cast<uint8_t>(rng());
      a.bytes[0] = b.bytes[0] = 0xfd;
      const auto pa = static_cast<uint16_t>(rng()), pb = static_cast<uint16_t>(rng());
      RxTuple in, out;
      ASSERT_TRUE(rx_tcp_tuple(frame6(a, b, pa, pb), in));   // a -> b, as b receives it
      ASSERT_TRUE(rx_tcp_tuple(frame6(b, a, pb, pa), out));  // b -> a
      ASSERT_EQ(map.hash_rx(in), map.hash_rx(out));
      ASSERT_EQ(map.shard_of_hash(map.hash_rx(in)), map.shard_of(net::FourTuple{b, a, pb, pa}));
    }
  }
}

}  // namespace
}  // namespace pollux::engine
