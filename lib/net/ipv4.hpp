// IPv4 header (RFC 791): a validating parser and a builder.
#pragma once

#include <cstdint>

#include "net/bytes.hpp"
#include "net/ipv4_addr.hpp"

namespace pollux::net {

inline constexpr size_t kIpv4MinHeaderLen = 20;
inline constexpr uint8_t kIpProtoIcmp = 1;
inline constexpr uint8_t kIpProtoTcp = 6;
inline constexpr uint8_t kIpProtoUdp = 17;

enum class Ipv4Error : uint8_t {
  ok,
  truncated,          // shorter than 20 bytes
  bad_version,        // version field is not 4
  bad_header_length,  // IHL < 5 or beyond the buffer
  bad_total_length,   // total length < IHL*4 or beyond the buffer (trailing padding is fine)
  bad_checksum,
};

struct Ipv4Header {
  uint8_t header_len = 0;  // bytes, 20..60
  uint8_t tos = 0;
  uint16_t total_len = 0;
  uint16_t id = 0;
  bool dont_fragment = false;
  bool more_fragments = false;
  uint16_t fragment_offset = 0;  // in 8-byte units
  uint8_t ttl = 0;
  uint8_t protocol = 0;
  Ipv4Addr src;
  Ipv4Addr dst;
  Bytes options;  // raw, header_len - 20 bytes
  Bytes payload;  // exactly total_len - header_len bytes (Ethernet padding cut off)

  [[nodiscard]] bool is_fragment() const { return more_fragments || fragment_offset != 0; }
};

// Validates and decodes `packet` (the Ethernet payload). With verify_checksum false the
// checksum field is not checked (the NIC already did). `available` is how many bytes of the
// datagram exist in all when `packet` is only its first contiguous part (a chained buffer);
// zero means packet.size(). The total length is checked against it, and `payload` then holds
// only what of the payload lies in `packet`.
[[nodiscard]] Ipv4Error parse_ipv4(Bytes packet, Ipv4Header& out, bool verify_checksum = true,
                                   size_t available = 0);

struct Ipv4Build {
  Ipv4Addr src;
  Ipv4Addr dst;
  uint8_t protocol = 0;
  uint16_t payload_len = 0;  // at most 65515 (Total Length is 16 bits, RFC 791 3.1)
  uint16_t id = 0;
  uint8_t ttl = 64;
  uint8_t tos = 0;
  bool dont_fragment = true;  // pollux sends with DF for PMTUD (RFC 1191)
  bool fill_checksum = true;  // false when the NIC computes it (the field is left zero)
};

// Writes a 20-byte header (no options) at `out`; returns the bytes written.
size_t write_ipv4_header(uint8_t* out, const Ipv4Build& b);

}  // namespace pollux::net
