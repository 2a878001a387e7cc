// net/toeplitz.hpp against DPDK's own software RSS (rte_thash.h, header-only inline
// functions: no EAL): rte_softrss with the key as given, rte_softrss_be with the key
// converted by rte_convert_rss_key. Both take the tuple as host-order 32-bit words:
// source address, destination address, then (source port << 16 | destination port), which
// is how struct rte_ipv4_tuple lays the ports out on a little-endian machine.
#include <gtest/gtest.h>
#include <rte_thash.h>

#include <cstring>
#include <random>

#include "net/toeplitz.hpp"

namespace pollux::net {
namespace {

void check_against_dpdk(const RssKey& key, uint64_t seed) {
  const ToeplitzIpv4Tcp table(key);
  // DPDK reads the keys as 32-bit words: give it aligned copies.
  alignas(4) uint8_t raw_key[kRssKeyLen];
  alignas(4) uint8_t be_key[kRssKeyLen];
  std::memcpy(raw_key, key.data(), kRssKeyLen);
  rte_convert_rss_key(reinterpret_cast<const uint32_t*>(raw_key),
                      reinterpret_cast<uint32_t*>(be_key), kRssKeyLen);
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 20000; ++i) {
    const Ipv4Addr s{static_cast<uint32_t>(rng())}, d{static_cast<uint32_t>(rng())};
    const auto sp = static_cast<uint16_t>(rng()), dp = static_cast<uint16_t>(rng());
    rte_thash_tuple t{};
    t.v4.src_addr = s.value;
    t.v4.dst_addr = d.value;
    t.v4.sport = sp;
    t.v4.dport = dp;
    const uint32_t ours = table.hash(s, d, sp, dp);
    ASSERT_EQ(ours, rte_softrss(reinterpret_cast<uint32_t*>(&t), RTE_THASH_V4_L4_LEN, raw_key));
    ASSERT_EQ(ours, rte_softrss_be(reinterpret_cast<uint32_t*>(&t), RTE_THASH_V4_L4_LEN, be_key));
    const auto in = rss_ipv4_tcp_input(s, d, sp, dp);
    ASSERT_EQ(toeplitz_hash(key, std::span(in).first(8)),
              rte_softrss(reinterpret_cast<uint32_t*>(&t), RTE_THASH_V4_L3_LEN, raw_key));
  }
}

TEST(ToeplitzDpdk, MatchesRteSoftrssWithMicrosoftKey) {
  check_against_dpdk(kMicrosoftRssKey, 1);
}
TEST(ToeplitzDpdk, MatchesRteSoftrssWithSymmetricKey) {
  check_against_dpdk(kSymmetricRssKey, 2);
}
TEST(ToeplitzDpdk, MatchesRteSoftrssWithRandomKeys) {
  std::mt19937_64 rng(3);
  for (int k = 0; k < 4; ++k) {
    RssKey key;
    for (auto& b : key) b = static_cast<uint8_t>(rng());
    check_against_dpdk(key, rng());
  }
}

}  // namespace
}  // namespace pollux::net
