// IPv4 addresses and prefixes as values (host byte order inside, network order on the wire):
// what an application names its interface addresses, gateway and peers with. The parsers
// and printers are in lib/net/ipv4_addr.cpp.
#pragma once

#include <compare>
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

}  // namespace pollux
