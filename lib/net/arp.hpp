// ARP for IPv4 over Ethernet (RFC 826). Only the hardware/protocol pair pollux speaks is
// accepted; anything else is malformed for our purposes.
#pragma once

#include <cstdint>
#include <optional>

#include "net/bytes.hpp"
#include "net/ethernet.hpp"
#include "net/ipv4_addr.hpp"

namespace pollux::net {

inline constexpr size_t kArpLen = 28;

enum class ArpOp : uint16_t { request = 1, reply = 2 };

enum class ArpError : uint8_t {
  ok,
  truncated,      // fewer than 28 bytes
  bad_format,     // hardware type != Ethernet, protocol != IPv4, or wrong address lengths
  bad_operation,  // neither request nor reply
};

struct ArpPacket {
  ArpOp op = ArpOp::request;
  MacAddr sender_mac;
  Ipv4Addr sender_ip;
  MacAddr target_mac;
  Ipv4Addr target_ip;
};

[[nodiscard]] ArpError parse_arp(Bytes payload, ArpPacket& out);

// Writes the 28-byte ARP body at `out`; returns the bytes written.
size_t write_arp(uint8_t* out, const ArpPacket& arp);

}  // namespace pollux::net
