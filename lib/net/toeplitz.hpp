// The Toeplitz hash of Microsoft's Receive Side Scaling specification ("RSS hashing
// functions", Microsoft Docs), the hash every multi-queue NIC computes to pick a receive
// queue. pollux computes the same value in software so that it knows, for any TCP 4-tuple,
// which lcore the NIC delivers it to (and picks ephemeral ports accordingly, and steers in
// software on devices without RSS).
//
// Definition (spec, "Toeplitz hash"): for every bit b of the input, most significant bit of
// the first byte first, if b is set XOR into the result the 32 key bits that start at the
// same bit position in the key. The key must be at least input length + 4 bytes long.
//
// IPv4/TCP input (spec, "Hash type NDIS_HASH_TCP_IPV4"): source address, destination
// address, source port, destination port, 12 bytes in network byte order, from the point of
// view of the received packet.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "net/ipv4_addr.hpp"
#include "net/ipv6_addr.hpp"

namespace pollux::net {

inline constexpr size_t kRssKeyLen = 40;  // the length Microsoft specifies and NICs take
using RssKey = std::array<uint8_t, kRssKeyLen>;

// The key of the Microsoft verification suite (and many drivers' default).
inline constexpr RssKey kMicrosoftRssKey = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};

// A symmetric key: 0x6d5a repeated (Woo and Park, "Scalable TCP Session Monitoring with
// Symmetric Receive-side Scaling", 2012). Because the key repeats every 16 bits, the 32-bit
// window XORed for an input bit at position p equals the one at p + 16k. Swapping source and
// destination moves each address bit by 32 and each port bit by 16, so both directions of a
// connection hash alike: a connection is owned by one queue whichever way its packets go.
inline constexpr RssKey make_symmetric_rss_key() {
  RssKey k{};
  for (size_t i = 0; i < k.size(); i += 2) {
    k[i] = 0x6d;
    k[i + 1] = 0x5a;
  }
  return k;
}
inline constexpr RssKey kSymmetricRssKey = make_symmetric_rss_key();

// Bit-by-bit reference implementation of the definition above, for any input length up to
// key length - 4. Slow; for tests and one-off uses.
[[nodiscard]] uint32_t toeplitz_hash(std::span<const uint8_t> key, std::span<const uint8_t> input);

// The 12 input bytes of an IPv4/TCP tuple as the NIC sees a received packet.
[[nodiscard]] std::array<uint8_t, 12> rss_ipv4_tcp_input(Ipv4Addr src, Ipv4Addr dst, uint16_t sport,
                                                         uint16_t dport);

// Table-driven Toeplitz for the 12-byte IPv4/TCP input: one 32-bit table entry per input byte
// value and position, 12 loads and XORs per hash (12 KiB of tables, built once, then only
// read, so one instance may be shared by every lcore).
class ToeplitzIpv4Tcp {
 public:
  explicit ToeplitzIpv4Tcp(const RssKey& key);

  [[nodiscard]] uint32_t hash(Ipv4Addr src, Ipv4Addr dst, uint16_t sport, uint16_t dport) const {
    uint32_t h = 0;
    h ^= word(0, src.value);
    h ^= word(4, dst.value);
    h ^= word(8, (uint32_t{sport} << 16) | dport);
    return h;
  }
  [[nodiscard]] const RssKey& key() const { return key_; }

 private:
  // Four input bytes starting at byte `at`, most significant first.
  [[nodiscard]] uint32_t word(size_t at, uint32_t v) const {
    return table_[at][v >> 24] ^ table_[at + 1][(v >> 16) & 0xff] ^
           table_[at + 2][(v >> 8) & 0xff] ^ table_[at + 3][v & 0xff];
  }
  RssKey key_;
  std::array<std::array<uint32_t, 256>, 12> table_;
};

// The 36 input bytes of an IPv6/TCP tuple (spec, "NDIS_HASH_TCP_IPV6": source address,
// destination address, source port, destination port; no extension-header addresses).
[[nodiscard]] std::array<uint8_t, 36> rss_ipv6_tcp_input(const Ipv6Addr& src, const Ipv6Addr& dst,
                                                         uint16_t sport, uint16_t dport);

// Table-driven Toeplitz for the 36-byte IPv6/TCP input, as ToeplitzIpv4Tcp (36 KiB of tables,
// built once, read-only). The symmetric key keeps both directions alike here too: addresses
// move by 128 bits, ports by 16.
class ToeplitzIpv6Tcp {
 public:
  explicit ToeplitzIpv6Tcp(const RssKey& key);

  [[nodiscard]] uint32_t hash(const Ipv6Addr& src, const Ipv6Addr& dst, uint16_t sport,
                              uint16_t dport) const {
    uint32_t h = 0;
    for (size_t i = 0; i < 16; ++i) h ^= table_[i][src.bytes[i]] ^ table_[16 + i][dst.bytes[i]];
    h ^= table_[32][sport >> 8] ^ table_[33][sport & 0xff];
    h ^= table_[34][dport >> 8] ^ table_[35][dport & 0xff];
    return h;
  }

 private:
  std::array<std::array<uint32_t, 256>, 36> table_;
};

}  // namespace pollux::net
