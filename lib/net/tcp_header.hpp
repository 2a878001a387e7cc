// TCP header (RFC 9293 3.1): a validating parser and a builder. Options live in
// tcp_options.hpp.
#pragma once

#include <cstdint>

#include "net/bytes.hpp"
#include "net/seq.hpp"

namespace pollux::net {

inline constexpr size_t kTcpMinHeaderLen = 20;
inline constexpr size_t kTcpMaxHeaderLen = 60;

namespace tcp_flags {
inline constexpr uint8_t fin = 0x01;
inline constexpr uint8_t syn = 0x02;
inline constexpr uint8_t rst = 0x04;
inline constexpr uint8_t psh = 0x08;
inline constexpr uint8_t ack = 0x10;
inline constexpr uint8_t urg = 0x20;
inline constexpr uint8_t ece = 0x40;
inline constexpr uint8_t cwr = 0x80;
}  // namespace tcp_flags

enum class TcpHeaderError : uint8_t {
  ok,
  truncated,        // fewer than 20 bytes
  bad_data_offset,  // data offset < 5 or beyond the segment
};

struct TcpHeader {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  Seq seq;
  Seq ack;
  uint8_t header_len = 0;  // bytes, 20..60
  uint8_t flags = 0;
  uint16_t window = 0;  // unscaled, as on the wire
  uint16_t checksum = 0;
  uint16_t urgent = 0;
  Bytes options;
  Bytes payload;  // the payload bytes that follow the header contiguously
  // A segment received as a chain of buffers (a header buffer followed by payload buffers,
  // as a zero-copy sender or LRO builds it) has only its first buffer's part in `payload`;
  // the receiver sets its whole payload length here. Zero: `payload` is all of it.
  uint32_t chained_payload_len = 0;

  [[nodiscard]] bool has(uint8_t f) const { return (flags & f) != 0; }
  // Bytes of payload, wherever they are.
  [[nodiscard]] uint32_t payload_len() const {
    return chained_payload_len != 0 ? chained_payload_len : static_cast<uint32_t>(payload.size());
  }
  // Sequence space the segment occupies (RFC 9293 3.4: SYN and FIN count as one each).
  [[nodiscard]] uint32_t seg_len() const {
    return payload_len() + has(tcp_flags::syn) + has(tcp_flags::fin);
  }
};

// Decodes `segment` (the IPv4 payload, exactly total length - IHL bytes). The checksum is
// verified by the caller with ipv4_l4_checksum, which needs the pseudo-header.
[[nodiscard]] TcpHeaderError parse_tcp(Bytes segment, TcpHeader& out);

struct TcpBuild {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  Seq seq;
  Seq ack;
  uint8_t flags = 0;
  uint16_t window = 0;
  uint8_t options_len = 0;  // bytes of options already written after the header, multiple of 4
};

// Writes the 20-byte fixed header at `out` with a zero checksum field; options (if any) are
// written by write_tcp_options at out + 20 before or after this call. Returns the full
// header length (20 + options_len).
size_t write_tcp_header(uint8_t* out, const TcpBuild& b);

}  // namespace pollux::net
