// ICMPv6 (RFC 4443) and the Neighbor Discovery messages pollux needs (RFC 4861 4.3, 4.4):
// a validating parser with the checks RFC 4861 7.1 requires of NS and NA, and builders for
// echo replies, solicitations and advertisements.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "net/bytes.hpp"
#include "net/ipv6.hpp"

namespace pollux::net {

inline constexpr uint8_t kIcmpv6DestUnreachable = 1;
inline constexpr uint8_t kIcmpv6PacketTooBig = 2;
inline constexpr uint8_t kIcmpv6TimeExceeded = 3;
inline constexpr uint8_t kIcmpv6ParamProblem = 4;
inline constexpr uint8_t kIcmpv6EchoRequest = 128;
inline constexpr uint8_t kIcmpv6EchoReply = 129;
inline constexpr uint8_t kIcmpv6MldQuery = 130;     // RFC 3810 5.1 (and MLDv1's, RFC 2710)
inline constexpr uint8_t kIcmpv6MldV1Report = 131;  // RFC 2710 3.7
inline constexpr uint8_t kIcmpv6MldV2Report = 143;  // RFC 3810 5.2
inline constexpr uint8_t kIcmpv6RouterSolicit = 133;
inline constexpr uint8_t kIcmpv6RouterAdvert = 134;
inline constexpr uint8_t kIcmpv6NeighbourSolicit = 135;
inline constexpr uint8_t kIcmpv6NeighbourAdvert = 136;
// The IPv6 minimum link MTU (RFC 8200 5). RFC 8201 4: no path MTU estimate goes below it,
// whatever a Packet Too Big reports.
inline constexpr uint32_t kIpv6MinMtu = 1280;

enum class Icmpv6Error : uint8_t {
  ok,
  truncated,  // shorter than its type's fixed part
  bad_checksum,
  bad_nd,         // an NS/NA failing RFC 4861 7.1 (hop limit, code, target, flags)
  bad_nd_option,  // an ND option of length 0 or past the end (RFC 4861 4.6)
  bad_mld,        // an MLD query failing RFC 3810 6.2 (not from a link-local router, hop limit)
};

using MacBytes = std::array<uint8_t, 6>;

struct Icmpv6Message {
  uint8_t type = 0;
  uint8_t code = 0;
  Bytes body;  // everything after the 4-byte type, code, checksum
  // Echo request/reply
  uint16_t id = 0, seq = 0;
  Bytes data;
  // Packet Too Big: the MTU and as much of the packet that did not fit as came back
  uint32_t mtu = 0;
  Bytes invoking;
  // Neighbor Solicitation / Advertisement
  Ipv6Addr target;
  bool router = false, solicited = false, override_flag = false;
  std::optional<MacBytes> link_addr;  // NS: source link-layer option; NA: target's
  // MLD query (RFC 3810 5.1): the group asked about (unspecified: a general query) and how
  // long the answer may wait, in milliseconds (its Maximum Response Code decoded, 5.1.3).
  Ipv6Addr group;
  uint32_t max_response_ms = 0;
};

// Validates the ICMPv6 message in `ip.upper` (its checksum over the pseudo-header unless
// verify_checksum is false) and decodes the types above; others get type, code and body.
[[nodiscard]] Icmpv6Error parse_icmpv6(const Ipv6Header& ip, Icmpv6Message& out,
                                       bool verify_checksum = true);

// Writes an ICMPv6 message (type, code, checksum, body) at `out` with its checksum for
// src -> dst; returns the bytes written (4 + body.size()).
size_t write_icmpv6(uint8_t* out, const Ipv6Addr& src, const Ipv6Addr& dst, uint8_t type,
                    uint8_t code, Bytes body);

// The body of a Neighbor Solicitation for `target` with our link-layer address,
// and of an advertisement (flags, target, target link-layer option): 28 bytes each.
size_t write_ns_body(uint8_t* out, const Ipv6Addr& target, const MacBytes& our_mac);
size_t write_na_body(uint8_t* out, const Ipv6Addr& target, const MacBytes& our_mac, bool router,
                     bool solicited, bool override_flag);

// MLDv2 Multicast Address Record types (RFC 3810 5.2.12): the current state, as a query's
// answer states it, and the change a host reports unsolicited when it joins.
inline constexpr uint8_t kMldModeIsExclude = 2;
inline constexpr uint8_t kMldChangeToExclude = 4;
// The body (after type, code, checksum) of an MLDv2 Report with one record of `record_type`
// and no sources per group: a listener for each of `groups` (RFC 3810 5.2). `out` holds
// 4 + 20 x groups bytes; returns that.
size_t write_mld2_report_body(uint8_t* out, std::span<const Ipv6Addr> groups,
                              uint8_t record_type);

[[nodiscard]] const char* icmpv6_error_name(Icmpv6Error e);

}  // namespace pollux::net
