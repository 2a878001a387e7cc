// The Internet checksum (RFC 1071), its incremental update (RFC 1624) and the IPv4 and IPv6
// pseudo-header sums used by TCP and ICMPv6: complete for software, partial for NIC offload.
#pragma once

#include <cstdint>

#include "net/bytes.hpp"
#include "net/ipv4_addr.hpp"
#include "net/ipv6_addr.hpp"

namespace pollux::net {

// One's-complement accumulation of 16-bit big-endian words into a 32-bit carry-save sum.
// An odd trailing byte is padded with zero (RFC 1071 4.1). `sum` chains partial sums; chained
// buffers other than the last must have even length.
[[nodiscard]] uint32_t checksum_accumulate(Bytes data, uint32_t sum = 0);

// Folds the carries back in, giving a 16-bit one's-complement sum (not yet inverted).
// Four end-around-carry folds, no loop (every sum on the send and receive paths is folded
// here, most of them 32-bit: inlined, the compiler drops the two 64-bit steps for those).
// Each fold keeps the value modulo 0xffff (2^16 and 2^32 are 1 modulo 0xffff) and keeps a
// nonzero sum nonzero. The bounds: x < 2^64 -> lo32 + hi32 <= 2 * (2^32 - 1) = 2^33 - 2;
// a fold of x <= 2^33 - 2 is x itself below 2^32, else (x - 2^32) + 1 <= 2^32 - 1; the same
// two steps at 16 bits give <= 0x1fffe, then <= 0xffff. So the result is 0 for a zero sum
// and otherwise the one value of [1, 0xffff] congruent to the sum: what RFC 1071's
// "while (sum >> 16)" loop gives (checksum_test compares the two on edges and at random).
[[nodiscard]] constexpr uint16_t checksum_fold(uint64_t sum) {
  sum = (sum & 0xffffffff) + (sum >> 32);  // <= 2^33 - 2
  sum = (sum & 0xffffffff) + (sum >> 32);  // <= 2^32 - 1
  sum = (sum & 0xffff) + (sum >> 16);      // <= 0x1fffe
  sum = (sum & 0xffff) + (sum >> 16);      // <= 0xffff
  return static_cast<uint16_t>(sum);
}

// The value to put in a checksum field: the complement of the folded sum, in host order.
// Store it with store_be16. Verifying a received header: internet_checksum(header) == 0.
[[nodiscard]] inline uint16_t internet_checksum(Bytes data, uint32_t sum = 0) {
  return static_cast<uint16_t>(~checksum_fold(checksum_accumulate(data, sum)));
}

// Sum of the IPv4 pseudo-header (RFC 9293 3.1: src, dst, zero, protocol, TCP length).
[[nodiscard]] constexpr uint32_t ipv4_pseudo_header_sum(Ipv4Addr src, Ipv4Addr dst,
                                                        uint8_t protocol, uint16_t l4_length) {
  return (src.value >> 16) + (src.value & 0xffff) + (dst.value >> 16) + (dst.value & 0xffff) +
         protocol + l4_length;
}

// Full TCP (or UDP) checksum over an IPv4 pseudo-header and the L4 bytes (header + payload),
// with the segment's checksum field taken as whatever it holds: zero it first when building,
// leave it when verifying (then a correct segment yields 0).
[[nodiscard]] inline uint16_t ipv4_l4_checksum(Ipv4Addr src, Ipv4Addr dst, uint8_t protocol,
                                               Bytes l4) {
  return internet_checksum(
      l4, ipv4_pseudo_header_sum(src, dst, protocol, static_cast<uint16_t>(l4.size())));
}

// Sum of the IPv6 pseudo-header (RFC 8200 8.1: source, destination, the upper-layer packet
// length as 32 bits, three zero bytes and the next header). The destination is the final
// one, which pollux, forwarding no source routes, always is.
[[nodiscard]] constexpr uint32_t ipv6_pseudo_header_sum(const Ipv6Addr& src, const Ipv6Addr& dst,
                                                        uint8_t next_header, uint32_t l4_length) {
  uint32_t sum = 0;
  for (size_t i = 0; i < 16; i += 2) {
    sum += static_cast<uint32_t>(src.bytes[i] << 8 | src.bytes[i + 1]);
    sum += static_cast<uint32_t>(dst.bytes[i] << 8 | dst.bytes[i + 1]);
  }
  return sum + (l4_length >> 16) + (l4_length & 0xffff) + next_header;
}

// TCP, UDP or ICMPv6 checksum over the IPv6 pseudo-header and the upper-layer bytes (the
// same convention as ipv4_l4_checksum: a correct received packet yields 0).
[[nodiscard]] inline uint16_t ipv6_l4_checksum(const Ipv6Addr& src, const Ipv6Addr& dst,
                                               uint8_t next_header, Bytes l4) {
  return internet_checksum(
      l4, ipv6_pseudo_header_sum(src, dst, next_header, static_cast<uint32_t>(l4.size())));
}

// The offload form for IPv6 (DPDK's rte_ipv6_phdr_cksum): folded, not inverted; with TSO
// the length is left out.
[[nodiscard]] constexpr uint16_t ipv6_offload_pseudo_checksum(const Ipv6Addr& src,
                                                              const Ipv6Addr& dst,
                                                              uint8_t next_header,
                                                              uint32_t l4_length, bool tso) {
  return checksum_fold(ipv6_pseudo_header_sum(src, dst, next_header, tso ? 0 : l4_length));
}

// What a NIC doing TCP checksum offload expects in the checksum field: the folded,
// NOT inverted pseudo-header sum (the NIC adds the L4 bytes and inverts). With TSO the
// length is left out because the NIC inserts it per segment (DPDK's rte_ipv4_phdr_cksum).
[[nodiscard]] constexpr uint16_t ipv4_offload_pseudo_checksum(Ipv4Addr src, Ipv4Addr dst,
                                                              uint8_t protocol, uint16_t l4_length,
                                                              bool tso) {
  return checksum_fold(ipv4_pseudo_header_sum(src, dst, protocol, tso ? 0 : l4_length));
}

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for a 16-bit field changing from old_word to
// new_word. Takes and returns the checksum field value in host order. Avoids the -0 result
// of eqn. 2 that RFC 1624 section 3 warns about.
[[nodiscard]] constexpr uint16_t checksum_update16(uint16_t checksum, uint16_t old_word,
                                                   uint16_t new_word) {
  uint32_t sum = static_cast<uint16_t>(~checksum);
  sum += static_cast<uint16_t>(~old_word);
  sum += new_word;
  return static_cast<uint16_t>(~checksum_fold(sum));
}

[[nodiscard]] constexpr uint16_t checksum_update32(uint16_t checksum, uint32_t old_value,
                                                   uint32_t new_value) {
  checksum = checksum_update16(checksum, static_cast<uint16_t>(old_value >> 16),
                               static_cast<uint16_t>(new_value >> 16));
  return checksum_update16(checksum, static_cast<uint16_t>(old_value),
                           static_cast<uint16_t>(new_value));
}

}  // namespace pollux::net
