// An address of either family, as TCP keys its connections with it (net::FourTuple).
//
// Representation: 16 bytes in network order, an IPv4 address held IPv4-mapped
// (::ffff:a.b.c.d, RFC 4291 2.5.5.2), the form dual-stack sockets already use (RFC 3493 3.7).
// Why this and not a family tag beside a union of the two address types:
//  - the family is in the value (the mapped prefix), so there is no tag to keep consistent
//    and equality is one 16-byte compare for both families;
//  - a tagged union costs the same 16 bytes plus a tag (20 with alignment), so it saves
//    nothing: a tuple is 36 bytes either way (12 before IPv6);
//  - IPv4 code keeps working unchanged: an Ipv4Addr converts implicitly, v4() gives the exact
//    host-order value back, so every IPv4 hash (flow buckets, Toeplitz, the RFC 6528 ISN and
//    SYN-cookie messages) is computed from the same bits as before and stays byte-identical.
// An IPv4-mapped address never appears in a valid IPv6 header (RFC 4291 2.5.5.2 reserves it
// for stacks' internal use; lib/engine/ipv6_input.cpp drops it as a bad source or
// destination), so a mapped value always means IPv4.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#include "net/bytes.hpp"
#include "net/ipv4_addr.hpp"
#include "net/ipv6_addr.hpp"

namespace pollux::net {

struct IpAddr {
  // The default is IPv4's unspecified address 0.0.0.0, as a default tuple's was.
  std::array<uint8_t, 16> bytes{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0};

  constexpr IpAddr() = default;
  // The mapped prefix is the default's: one 16-byte constant, then the address's 4 bytes (a
  // byte-by-byte initialiser of all 16 cost about 200 instructions per connection, issue 13
  // item 4).
  // At run time the 4 bytes are one byte swap and one store (store_be32): g++ composed them
  // from shifted bytes, ~12 instructions per address, two per received segment.
  constexpr IpAddr(Ipv4Addr a) {  // NOLINT(google-explicit-constructor): IPv4 callers unchanged
    store_be32(bytes.data() + 12, a.value);
  }
  constexpr IpAddr(const Ipv6Addr& a) : bytes(a.bytes) {}  // NOLINT(google-explicit-constructor)

  // The mapped prefix ::ffff:0:0/96. Two word compares, not twelve byte compares: every
  // segment asks this several times (issue 13 item 4: ~900 instructions per connection).
  [[nodiscard]] constexpr bool is_v4() const {
    if (std::is_constant_evaluated()) {
      for (size_t i = 0; i < 10; ++i)
        if (bytes[i] != 0) return false;
      return bytes[10] == 0xff && bytes[11] == 0xff;
    }
    constexpr uint32_t kMappedTail =
        std::bit_cast<uint32_t>(std::array<uint8_t, 4>{0, 0, 0xff, 0xff});
    uint64_t head = 0;
    uint32_t tail = 0;
    std::memcpy(&head, bytes.data(), sizeof head);
    std::memcpy(&tail, bytes.data() + sizeof head, sizeof tail);
    return head == 0 && tail == kMappedTail;
  }
  // The IPv4 address (meaningful when is_v4()).
  [[nodiscard]] constexpr Ipv4Addr v4() const { return Ipv4Addr{load_be32(bytes.data() + 12)}; }
  [[nodiscard]] constexpr Ipv6Addr v6() const { return Ipv6Addr{bytes}; }
  // The two halves as integers (network order read big-endian), for hashing.
  [[nodiscard]] constexpr uint64_t high64() const { return load_be64(bytes.data()); }
  [[nodiscard]] constexpr uint64_t low64() const { return load_be64(bytes.data() + 8); }

  // Either family's is_unicast_peer(): a peer TCP can talk to, a source the engine accepts.
  [[nodiscard]] bool is_unicast_peer() const {
    return is_v4() ? v4().is_unicast_peer() : v6().is_unicast_peer();
  }
  // Dotted quad for IPv4, RFC 5952 text for IPv6.
  [[nodiscard]] std::string to_string() const {
    return is_v4() ? v4().to_string() : v6().to_string();
  }

  friend constexpr bool operator==(const IpAddr&, const IpAddr&) = default;
};

// A 32-bit key for counting connections per source (base::KeyCounts): the IPv4 address
// itself (as before), for IPv6 the /64 prefix folded, since one host is normally given a
// whole /64 (RFC 7421) and could otherwise take a new source address per connection.
[[nodiscard]] constexpr uint32_t source_key(const IpAddr& a) {
  if (a.is_v4()) return a.v4().value;
  const uint64_t p = a.high64();
  return static_cast<uint32_t>(p >> 32) ^ static_cast<uint32_t>(p) ^ 0x9e3779b9u;
}

}  // namespace pollux::net
