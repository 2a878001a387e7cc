// Toeplitz hash (net/toeplitz.hpp) against the verification table of Microsoft's RSS
// specification ("Verifying the RSS hash calculation", Microsoft Docs: five IPv4 flows with
// the default key, hashed over the addresses only and over addresses plus TCP ports), and
// the symmetric key's property that both directions of a connection hash alike.
#include <gtest/gtest.h>

#include <random>

#include "net/toeplitz.hpp"

namespace pollux::net {
namespace {

struct MsVector {
  const char* dst;
  uint16_t dport;
  const char* src;
  uint16_t sport;
  uint32_t ipv4_only;
  uint32_t ipv4_tcp;
};

// The spec's table, written as it is printed there (destination first).
constexpr MsVector kMsIpv4[] = {
    {"161.142.100.80", 1766, "66.9.149.187", 2794, 0x323e8fc2, 0x51ccc178},
    {"65.69.140.83", 4739, "199.92.111.2", 14230, 0xd718262a, 0xc626b0ea},
    {"12.22.207.184", 38024, "24.19.198.95", 12898, 0xd2d0a5de, 0x5c2b394a},
    {"209.142.163.6", 2217, "38.27.205.30", 48228, 0x82989176, 0xafc7327f},
    {"202.188.127.2", 1303, "153.39.163.191", 44251, 0x5d1809c5, 0x10e828a2},
};

Ipv4Addr ip(const char* s) {
  return *Ipv4Addr::parse(s);
}

TEST(Toeplitz, MicrosoftVectorsIpv4Only) {
  for (const auto& v : kMsIpv4) {
    auto in = rss_ipv4_tcp_input(ip(v.src), ip(v.dst), v.sport, v.dport);
    // NDIS_HASH_IPV4: source and destination address only, the first 8 input bytes.
    EXPECT_EQ(toeplitz_hash(kMicrosoftRssKey, std::span(in).first(8)), v.ipv4_only) << v.src;
  }
}

TEST(Toeplitz, MicrosoftVectorsIpv4Tcp) {
  const ToeplitzIpv4Tcp table(kMicrosoftRssKey);
  for (const auto& v : kMsIpv4) {
    auto in = rss_ipv4_tcp_input(ip(v.src), ip(v.dst), v.sport, v.dport);
    EXPECT_EQ(toeplitz_hash(kMicrosoftRssKey, in), v.ipv4_tcp) << v.src;
    EXPECT_EQ(table.hash(ip(v.src), ip(v.dst), v.sport, v.dport), v.ipv4_tcp) << v.src;
  }
}

TEST(Toeplitz, TableMatchesBitwiseDefinitionOnRandomTuplesAndKeys) {
  std::mt19937_64 rng(6);
  for (int k = 0; k < 8; ++k) {
    RssKey key;
    for (auto& b : key) b = static_cast<uint8_t>(rng());
    const ToeplitzIpv4Tcp table(key);
    for (int i = 0; i < 2000; ++i) {
      const Ipv4Addr s{static_cast<uint32_t>(rng())}, d{static_cast<uint32_t>(rng())};
      const auto sp = static_cast<uint16_t>(rng()), dp = static_cast<uint16_t>(rng());
      ASSERT_EQ(table.hash(s, d, sp, dp), toeplitz_hash(key, rss_ipv4_tcp_input(s, d, sp, dp)));
    }
  }
}

TEST(Toeplitz, SymmetricKeyHashesBothDirectionsAlike) {
  const ToeplitzIpv4Tcp sym(kSymmetricRssKey);
  const ToeplitzIpv4Tcp ms(kMicrosoftRssKey);
  std::mt19937_64 rng(42);
  int ms_asymmetric = 0;
  for (int i = 0; i < 100000; ++i) {
    const Ipv4Addr s{static_cast<uint32_t>(rng())}, d{static_cast<uint32_t>(rng())};
    const auto sp = static_cast<uint16_t>(rng()), dp = static_cast<uint16_t>(rng());
    ASSERT_EQ(sym.hash(s, d, sp, dp), sym.hash(d, s, dp, sp));
    ms_asymmetric += ms.hash(s, d, sp, dp) != ms.hash(d, s, dp, sp);
  }
  // The property is the key's, not the hash's: the Microsoft key is not symmetric.
  EXPECT_GT(ms_asymmetric, 99000);
}

TEST(Toeplitz, SymmetricKeyStillSpreadsFlows) {
  // Symmetry costs entropy (the hash is blind to swapping), but sequential source ports from
  // one client must still spread evenly over the low bits that index a RETA.
  const ToeplitzIpv4Tcp sym(kSymmetricRssKey);
  std::array<int, 16> buckets{};
  for (uint32_t p = 0; p < 16384; ++p)
    ++buckets[sym.hash(make_ipv4(10, 0, 0, 1), make_ipv4(10, 0, 0, 2),
                       static_cast<uint16_t>(32768 + p), 80) &
              15];
  for (int b : buckets) EXPECT_NEAR(b, 1024, 200);
}

// The spec's IPv6 table (destination first, as printed), hashed with the TCP ports
// (NDIS_HASH_TCP_IPV6).
struct MsVector6 {
  const char* dst;
  uint16_t dport;
  const char* src;
  uint16_t sport;
  uint32_t ipv6_tcp;
};
constexpr MsVector6 kMsIpv6[] = {
    {"3ffe:2501:200:3::1", 1766, "3ffe:2501:200:1fff::7", 2794, 0x40207d3d},
    {"ff02::1", 4739, "3ffe:501:8::260:97ff:fe40:efab", 14230, 0xdde51bbf},
    {"fe80::200:f8ff:fe21:67cf", 38024, "3ffe:1900:4545:3:200:f8ff:fe21:67cf", 44251, 0x02d1feef},
};

Ipv6Addr ip6(const char* s) {
  return *Ipv6Addr::parse(s);
}

TEST(Toeplitz, MicrosoftVectorsIpv6Tcp) {
  const ToeplitzIpv6Tcp table(kMicrosoftRssKey);
  for (const auto& v : kMsIpv6) {
    auto in = rss_ipv6_tcp_input(ip6(v.src), ip6(v.dst), v.sport, v.dport);
    EXPECT_EQ(toeplitz_hash(kMicrosoftRssKey, in), v.ipv6_tcp) << v.src;
    EXPECT_EQ(table.hash(ip6(v.src), ip6(v.dst), v.sport, v.dport), v.ipv6_tcp) << v.src;
  }
}

TEST(Toeplitz, Ipv6TableMatchesBitwiseDefinitionAndTheSymmetricKeyHoldsForIpv6) {
  std::mt19937_64 rng(16);
  RssKey key;
  for (auto& b : key) b = static_cast<uint8_t>(rng());
  const ToeplitzIpv6Tcp table(key), sym(kSymmetricRssKey);
  for (int i = 0; i < 2000; ++i) {
    Ipv6Addr s, d;
    for (auto& b : s.bytes) b = static_cast<uint8_t>(rng());
    for (auto& b : d.bytes) b = static_cast<uint8_t>(rng());
    const auto sp = static_cast<uint16_t>(rng()), dp = static_cast<uint16_t>(rng());
    ASSERT_EQ(table.hash(s, d, sp, dp), toeplitz_hash(key, rss_ipv6_tcp_input(s, d, sp, dp)));
    ASSERT_EQ(sym.hash(s, d, sp, dp), sym.hash(d, s, dp, sp));
  }
}

}  // namespace
}  // namespace pollux::net
