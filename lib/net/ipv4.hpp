// IPv4 header (RFC 791): a validating parser and a builder.
#pragma once

#include <cstdint>

#include "net/bytes.hpp"
#include "net/checksum.hpp"
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
// Inline: every received datagram passes here, and in the engine's IPv4 input the call, its
// register saves and the zeroed header it filled cost about as much as the parse itself.
[[nodiscard]] inline Ipv4Error parse_ipv4(Bytes packet, Ipv4Header& out,
                                          bool verify_checksum = true, size_t available = 0) {
  if (available < packet.size()) available = packet.size();
  if (packet.size() < kIpv4MinHeaderLen) return Ipv4Error::truncated;
  const uint8_t* p = packet.data();
  if ((p[0] >> 4) != 4) return Ipv4Error::bad_version;
  const size_t ihl = size_t{p[0] & 0x0fu} * 4;
  if (ihl < kIpv4MinHeaderLen || ihl > packet.size()) return Ipv4Error::bad_header_length;
  const uint16_t total = load_be16(p + 2);
  if (total < ihl || total > available) return Ipv4Error::bad_total_length;
  if (verify_checksum && internet_checksum(packet.first(ihl)) != 0) return Ipv4Error::bad_checksum;

  const uint16_t frag = load_be16(p + 6);
  out.header_len = static_cast<uint8_t>(ihl);
  out.tos = p[1];
  out.total_len = total;
  out.id = load_be16(p + 4);
  out.dont_fragment = (frag & 0x4000) != 0;
  out.more_fragments = (frag & 0x2000) != 0;
  out.fragment_offset = frag & 0x1fff;
  out.ttl = p[8];
  out.protocol = p[9];
  out.src = Ipv4Addr{load_be32(p + 12)};
  out.dst = Ipv4Addr{load_be32(p + 16)};
  out.options = packet.subspan(kIpv4MinHeaderLen, ihl - kIpv4MinHeaderLen);
  out.payload = packet.subspan(ihl, (total < packet.size() ? total : packet.size()) - ihl);
  return Ipv4Error::ok;
}

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
