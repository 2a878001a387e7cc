// ICMP for IPv4 (RFC 792): echo, and destination-unreachable / fragmentation-needed
// (RFC 1191) which PMTUD consumes.
#pragma once

#include <cstdint>

#include "net/bytes.hpp"
#include "net/ipv4_addr.hpp"

namespace pollux::net {

inline constexpr size_t kIcmpHeaderLen = 8;

enum class IcmpType : uint8_t {
  echo_reply = 0,
  dest_unreachable = 3,
  echo_request = 8,
  time_exceeded = 11,
};
inline constexpr uint8_t kIcmpCodeFragNeeded = 4;

// RFC 1122 3.2.2: an ICMP error message is never sent about an ICMP error message. The query
// messages (RFC 792 echo, and timestamp, information and address-mask requests and replies:
// types 13-18) are the ones an error may be about; any other type, known or not, is treated
// as an error so that two hosts can never answer each other's errors forever.
[[nodiscard]] constexpr bool is_icmp_query(uint8_t type) {
  return type == static_cast<uint8_t>(IcmpType::echo_reply) ||
         type == static_cast<uint8_t>(IcmpType::echo_request) || (type >= 13 && type <= 18);
}
inline constexpr uint8_t kIcmpCodeReassemblyTimeExceeded = 1;  // type 11 (RFC 792)

enum class IcmpError : uint8_t { ok, truncated, bad_checksum };

struct IcmpMessage {
  uint8_t type = 0;
  uint8_t code = 0;
  uint32_t rest =
      0;       // the 4 bytes after the checksum: id+seq for echo, next-hop MTU for frag-needed
  Bytes body;  // after the 8-byte header
};

[[nodiscard]] IcmpError parse_icmp(Bytes message, IcmpMessage& out, bool verify_checksum = true);

// Next-hop MTU of a fragmentation-needed message (RFC 1191 section 4), 0 if the sender did
// not fill it in (an old router).
[[nodiscard]] inline uint16_t icmp_next_hop_mtu(const IcmpMessage& m) {
  return static_cast<uint16_t>(m.rest & 0xffff);
}

// Writes an ICMP header at `out` followed by nothing (the caller already placed `body_len`
// bytes of body right after the 8-byte header) and fills the checksum over header + body.
size_t write_icmp_header(uint8_t* out, uint8_t type, uint8_t code, uint32_t rest, size_t body_len);

}  // namespace pollux::net
