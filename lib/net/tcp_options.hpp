// TCP options: EOL, NOP, MSS (RFC 9293 3.2), window scale and timestamps (RFC 7323),
// SACK-permitted and SACK blocks (RFC 2018). Unknown kinds are skipped by their length.
#pragma once

#include <array>
#include <cstdint>

#include "net/bytes.hpp"
#include "net/seq.hpp"

namespace pollux::net {

namespace tcp_opt {
inline constexpr uint8_t eol = 0;
inline constexpr uint8_t nop = 1;
inline constexpr uint8_t mss = 2;
inline constexpr uint8_t wscale = 3;
inline constexpr uint8_t sack_permitted = 4;
inline constexpr uint8_t sack = 5;
inline constexpr uint8_t timestamps = 8;
}  // namespace tcp_opt

inline constexpr uint8_t kMaxWindowScale = 14;   // RFC 7323 2.3
inline constexpr size_t kMaxSackBlocks = 4;      // 4 * 8 + 2 = 34 of the 40 option bytes
inline constexpr size_t kTcpMaxOptionsLen = 40;  // 60-byte header limit minus 20 fixed

struct SackBlock {
  Seq left;   // first sequence number of the block
  Seq right;  // sequence number just after the block
  friend constexpr bool operator==(const SackBlock&, const SackBlock&) = default;
};

enum class TcpOptError : uint8_t {
  ok,
  bad_length,       // length byte < 2 or running past the option space
  bad_known_length  // a known kind with the wrong fixed length (e.g. MSS with length 3)
};

struct TcpOptions {
  bool has_mss = false;
  uint16_t mss = 0;
  bool has_wscale = false;
  uint8_t wscale = 0;  // as received; callers clamp to kMaxWindowScale (RFC 7323 2.3)
  bool sack_permitted = false;
  bool has_timestamps = false;
  uint32_t ts_val = 0;
  uint32_t ts_ecr = 0;
  uint8_t sack_count = 0;
  std::array<SackBlock, kMaxSackBlocks> sack{};

  friend bool operator==(const TcpOptions&, const TcpOptions&) = default;
};

// NOP, NOP, timestamps (kind 8, length 10): the 12-byte option block of a segment with
// timestamps and nothing else, as its first word and length.
inline constexpr uint32_t kTsAppaWord = 0x0101080a;
inline constexpr size_t kTsAppaLen = 12;

// Writes that 12-byte block at `out`: the bytes write_tcp_options writes for timestamps
// alone (RFC 7323 Appendix A's layout), without its walk over every option; what nearly
// every segment after the handshake carries.
inline void write_ts_appa(uint8_t* out, uint32_t ts_val, uint32_t ts_ecr) {
  store_be32(out, kTsAppaWord);
  store_be32(out + 4, ts_val);
  store_be32(out + 8, ts_ecr);
}

// Parses the option bytes of a TCP header. A malformed list is rejected as a whole: the
// segment carrying it is dropped (RFC 9293 3.2 lets an implementation be strict here, and a
// half-parsed option list is a worse failure than a dropped segment).
[[nodiscard]] TcpOptError parse_tcp_options(Bytes options, TcpOptions& out);

// Bytes write_tcp_options would produce for `o` (always a multiple of 4, at most 40).
[[nodiscard]] size_t tcp_options_length(const TcpOptions& o);

// Writes `o` at `out` in the layout Linux uses, so captures look familiar and every option
// stays 4-byte aligned: MSS; SACK-permitted folded into the timestamp word when both are
// present; NOP+wscale; NOP NOP + SACK blocks. SACK blocks beyond what fits in the 40
// bytes left by the other options are dropped, the last ones first (at most 3 with
// timestamps, 2 with MSS + timestamps + window scale). Returns the bytes written.
size_t write_tcp_options(uint8_t* out, const TcpOptions& o);

}  // namespace pollux::net
