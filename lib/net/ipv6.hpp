// IPv6 header (RFC 8200 3) and its extension-header chain (RFC 8200 4): a validating parser
// that walks to the upper-layer header with every length checked, and a builder.
#pragma once

#include <cstdint>

#include "net/bytes.hpp"
#include "net/ipv6_addr.hpp"

namespace pollux::net {

inline constexpr size_t kIpv6HeaderLen = 40;
inline constexpr uint8_t kIpv6HopByHop = 0;
inline constexpr uint8_t kIpv6Routing = 43;
inline constexpr uint8_t kIpv6Fragment = 44;
inline constexpr uint8_t kIpv6NoNextHeader = 59;
inline constexpr uint8_t kIpv6DestOptions = 60;
inline constexpr uint8_t kIpProtoIcmpv6 = 58;
// More extension headers than any legitimate packet carries (RFC 8200 4.1 orders six kinds,
// destination options at most twice): a longer chain is an attack on the walker.
inline constexpr unsigned kIpv6MaxExtensionHeaders = 8;

enum class Ipv6Error : uint8_t {
  ok,
  truncated,             // shorter than 40 bytes
  bad_version,           // version field is not 6
  bad_payload_length,    // payload length beyond the buffer (trailing padding is fine)
  bad_extension_header,  // an extension header runs past the payload, or hop-by-hop not first
  too_many_extensions,   // more than kIpv6MaxExtensionHeaders
  routing_type0,         // RFC 5095: deprecated, always dropped
  bad_routing_header,    // an unknown routing type with segments left (RFC 8200 4.4)
  unknown_option,        // an option whose type says "discard if not recognised" (4.2)
  fragment,              // a fragment (RFC 8200 4.5): counted and dropped, as IPv4's are
};

struct Ipv6Header {
  uint8_t traffic_class = 0;
  uint32_t flow_label = 0;
  uint16_t payload_len = 0;
  uint8_t next_header = 0;  // the first header after the fixed one
  uint8_t hop_limit = 0;
  Ipv6Addr src;
  Ipv6Addr dst;
  uint8_t upper_protocol = 0;  // after the extension headers (kIpv6NoNextHeader: none)
  uint8_t extension_headers = 0;
  bool router_alert = false;  // a hop-by-hop Router Alert (RFC 2711), as MLD carries
  Bytes upper;                // the upper-layer header and data, padding cut off
};

// Validates and decodes `packet` (the Ethernet payload), walking hop-by-hop, routing,
// destination-options and fragment headers to the upper layer. `available` is how many bytes
// of the packet exist in all when `packet` is only its first contiguous part (a chained
// buffer); zero means packet.size(). The payload length is checked against it, and `upper`
// then holds only what of the upper layer lies in `packet` (as parse_ipv4's `available`).
[[nodiscard]] Ipv6Error parse_ipv6(Bytes packet, Ipv6Header& out, size_t available = 0);

struct Ipv6Build {
  Ipv6Addr src;
  Ipv6Addr dst;
  uint8_t next_header = 0;
  uint16_t payload_len = 0;
  uint8_t hop_limit = 64;
  uint8_t traffic_class = 0;
  uint32_t flow_label = 0;  // 20 bits
};

// Writes the 40-byte fixed header at `out`; returns the bytes written.
size_t write_ipv6_header(uint8_t* out, const Ipv6Build& b);

[[nodiscard]] const char* ipv6_error_name(Ipv6Error e);

}  // namespace pollux::net
