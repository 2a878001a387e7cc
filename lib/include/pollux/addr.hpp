// IPv4 addresses and prefixes as values (host byte order inside, network order on the wire):
// what an application names its interface addresses, gateway and peers with. The parsers
// and printers are in lib/net/ipv4_addr.cpp.
//
// IPv6 addresses and prefixes (RFC 4291), network order inside, with the text forms of
// RFC 5952: parsing takes every form RFC 4291 2.2 allows (full, "::"-compressed, a dotted
// IPv4 tail); formatting gives the one canonical form (lower case, no leading zeros, the
// longest run of two or more zero groups as "::", the first of equal runs, an IPv4-mapped
// address with a dotted tail). lib/net/ipv6_addr.cpp.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pollux {

struct Ipv4Addr {
  uint32_t value = 0;  // host byte order: 10.0.0.1 is 0x0a000001

  constexpr auto operator<=>(const Ipv4Addr&) const = default;
  [[nodiscard]] constexpr bool is_unspecified() const { return value == 0; }
  [[nodiscard]] constexpr bool is_broadcast() const { return value == 0xffffffffu; }
  [[nodiscard]] constexpr bool is_multicast() const { return (value >> 28) == 0xe; }
  [[nodiscard]] constexpr bool is_loopback() const { return (value >> 24) == 127; }
  // An address a unicast peer can have (RFC 1122 3.2.1.3): not in "this network" 0/8 (which
  // holds the unspecified 0.0.0.0), loopback 127/8 (never outside a host), multicast 224/4 or
  // the reserved 240/4 (RFC 1112 4, ending in the limited broadcast). The engine drops a
  // datagram from any other source (a martian) and connect() refuses any other peer.
  [[nodiscard]] constexpr bool is_unicast_peer() const {
    const uint32_t top = value >> 24;
    return top != 0 && top != 127 && top < 224;
  }

  // Dotted quad, exactly four decimal octets 0..255 without leading zeros ("01.2.3.4" is
  // ambiguous: octal to inet_aton); no spaces, signs, hex or shorthand forms.
  [[nodiscard]] static std::optional<Ipv4Addr> parse(std::string_view text);
  [[nodiscard]] std::string to_string() const;
};

constexpr Ipv4Addr make_ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return Ipv4Addr{(uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | d};
}

struct Ipv4Prefix {
  Ipv4Addr addr;       // the interface address itself (host bits kept)
  uint8_t length = 0;  // 0..32

  [[nodiscard]] constexpr uint32_t mask() const {
    return length == 0 ? 0 : ~uint32_t{0} << (32 - length);
  }
  [[nodiscard]] constexpr bool contains(Ipv4Addr a) const {
    return (a.value & mask()) == (addr.value & mask());
  }
  [[nodiscard]] constexpr Ipv4Addr network() const { return {addr.value & mask()}; }
  [[nodiscard]] constexpr Ipv4Addr directed_broadcast() const { return {addr.value | ~mask()}; }

  // "A.B.C.D/N" with N in 0..32 (decimal, no leading zeros); the "/N" part is required.
  [[nodiscard]] static std::optional<Ipv4Prefix> parse(std::string_view text);
  [[nodiscard]] std::string to_string() const;
};

struct Ipv6Addr {
  std::array<uint8_t, 16> bytes{};  // network order

  [[nodiscard]] static std::optional<Ipv6Addr> parse(std::string_view text);
  [[nodiscard]] std::string to_string() const;

  [[nodiscard]] uint16_t group(size_t i) const {
    return static_cast<uint16_t>(bytes[2 * i] << 8 | bytes[2 * i + 1]);
  }
  [[nodiscard]] bool is_unspecified() const { return *this == Ipv6Addr{}; }
  [[nodiscard]] bool is_loopback() const;
  [[nodiscard]] bool is_multicast() const { return bytes[0] == 0xff; }
  [[nodiscard]] bool is_link_local() const { return bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80; }
  [[nodiscard]] bool is_v4_mapped() const;  // ::ffff:a.b.c.d (RFC 4291 2.5.5.2)
  // ::a.b.c.d other than :: and ::1, the deprecated IPv4-compatible form (RFC 4291 2.5.5.1).
  [[nodiscard]] bool is_v4_compatible() const;
  // An address a unicast peer can have: not unspecified, loopback or multicast (RFC 4291
  // 2.5.2, 2.5.3, 2.7), nor IPv4-mapped (never in an IPv6 header, 2.5.5.2) or the deprecated
  // IPv4-compatible form (no longer assigned, 2.5.5.1); link-local is. As Ipv4Addr's, for
  // the engine's sources and connect()'s peers alike.
  [[nodiscard]] bool is_unicast_peer() const;
  // ff02::1:ffXX:XXXX, the group a Neighbor Solicitation for this address goes to
  // (RFC 4291 2.7.1).
  [[nodiscard]] Ipv6Addr solicited_node() const;
  // fe80::/64 with the modified EUI-64 of `mac` (RFC 4291 2.5.1, appendix A).
  [[nodiscard]] static Ipv6Addr link_local_from_mac(const std::array<uint8_t, 6>& mac);
  // 33:33 and the low 32 bits: the Ethernet group of a multicast address (RFC 2464 7).
  [[nodiscard]] std::array<uint8_t, 6> multicast_mac() const;

  friend bool operator==(const Ipv6Addr&, const Ipv6Addr&) = default;
};

struct Ipv6Prefix {
  Ipv6Addr addr;
  uint8_t len = 128;

  // "ADDR/N" (N in 0..128; no /N: 128). Bits beyond N may be set: a host address with its
  // on-link prefix, as `ip -6 addr` writes it.
  [[nodiscard]] static std::optional<Ipv6Prefix> parse(std::string_view text);
  [[nodiscard]] bool contains(const Ipv6Addr& a) const;
  // The prefix with the bits beyond len cleared (fd00::1/8 -> fd00::/8).
  [[nodiscard]] Ipv6Prefix network() const;
  [[nodiscard]] std::string to_string() const;
};

}  // namespace pollux
