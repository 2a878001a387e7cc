// Big-endian loads and stores on raw bytes. Wire formats are read through these so that no
// code ever casts a packet pointer to a struct (alignment and aliasing stay well defined).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

namespace pollux::net {

using Bytes = std::span<const uint8_t>;
using MutBytes = std::span<uint8_t>;

constexpr uint16_t load_be16(const uint8_t* p) {
  return static_cast<uint16_t>((uint16_t{p[0]} << 8) | p[1]);
}
// At run time on a little-endian host: one (unaligned) load and a byte swap, as store_be32.
constexpr uint32_t load_be32(const uint8_t* p) {
  if (!std::is_constant_evaluated() && std::endian::native == std::endian::little) {
    uint32_t be = 0;
    std::memcpy(&be, p, sizeof be);
    return __builtin_bswap32(be);
  }
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
constexpr uint64_t load_be64(const uint8_t* p) {
  return (uint64_t{load_be32(p)} << 32) | load_be32(p + 4);
}
// At run time on a little-endian host a store is one byte swap and one (unaligned) store:
// g++ merged the byte stores into none of the header writes of the send path, where they
// cost about 70 instructions per segment (issue 13 item 4). The same bytes either way
// (bytes_test).
constexpr void store_be16(uint8_t* p, uint16_t v) {
  if (!std::is_constant_evaluated() && std::endian::native == std::endian::little) {
    const uint16_t be = __builtin_bswap16(v);
    std::memcpy(p, &be, sizeof be);
    return;
  }
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
constexpr void store_be32(uint8_t* p, uint32_t v) {
  if (!std::is_constant_evaluated() && std::endian::native == std::endian::little) {
    const uint32_t be = __builtin_bswap32(v);
    std::memcpy(p, &be, sizeof be);
    return;
  }
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// The value of a hex digit in either case, or -1: for the text forms of MAC and IPv6
// addresses.
constexpr int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace pollux::net
