#include "net/tcp_options.hpp"

#include <algorithm>

namespace pollux::net {

TcpOptError parse_tcp_options(Bytes options, TcpOptions& out) {
  out = TcpOptions{};
  size_t i = 0;
  const size_t n = options.size();
  const uint8_t* p = options.data();
  // The block nearly every segment of an established connection carries (RFC 7323
  // appendix A's layout, what Linux, the BSDs and pollux send): NOP, NOP, timestamps. One
  // compare of its length and first word, as 4.4BSD's header prediction does; anything else
  // takes the loop below, which reads this block the same way.
  if (n == kTsAppaLen && load_be32(p) == kTsAppaWord) {
    out.has_timestamps = true;
    out.ts_val = load_be32(p + 4);
    out.ts_ecr = load_be32(p + 8);
    return TcpOptError::ok;
  }
  while (i < n) {
    uint8_t kind = p[i];
    if (kind == tcp_opt::eol) break;
    if (kind == tcp_opt::nop) {
      ++i;
      continue;
    }
    if (i + 1 >= n) return TcpOptError::bad_length;
    uint8_t len = p[i + 1];
    if (len < 2 || i + len > n) return TcpOptError::bad_length;
    const uint8_t* v = p + i + 2;
    switch (kind) {
      case tcp_opt::mss:
        if (len != 4) return TcpOptError::bad_known_length;
        out.has_mss = true;
        out.mss = load_be16(v);
        break;
      case tcp_opt::wscale:
        if (len != 3) return TcpOptError::bad_known_length;
        out.has_wscale = true;
        out.wscale = v[0];
        break;
      case tcp_opt::sack_permitted:
        if (len != 2) return TcpOptError::bad_known_length;
        out.sack_permitted = true;
        break;
      case tcp_opt::timestamps:
        if (len != 10) return TcpOptError::bad_known_length;
        out.has_timestamps = true;
        out.ts_val = load_be32(v);
        out.ts_ecr = load_be32(v + 4);
        break;
      case tcp_opt::sack: {
        size_t body = len - 2u;
        if (body == 0 || body % 8 != 0 || body / 8 > kMaxSackBlocks)
          return TcpOptError::bad_known_length;
        out.sack_count = static_cast<uint8_t>(body / 8);
        for (size_t b = 0; b < out.sack_count; ++b)
          out.sack[b] = {Seq(load_be32(v + b * 8)), Seq(load_be32(v + b * 8 + 4))};
        break;
      }
      default:
        break;  // unknown kind: skipped by its length (RFC 9293 3.2, MUST-6)
    }
    i += len;
  }
  return TcpOptError::ok;
}

namespace {
// Option space taken by everything except the SACK blocks.
size_t fixed_options_length(const TcpOptions& o) {
  size_t len = 0;
  if (o.has_mss) len += 4;
  if (o.has_timestamps) {
    len += 12;  // [SACKOK|NOP NOP] TS
  } else if (o.sack_permitted) {
    len += 4;  // NOP NOP SACKOK
  }
  if (o.has_wscale) len += 4;  // NOP WS
  return len;
}

// SACK blocks that fit in what the other options leave of the 40 bytes, after the 4-byte
// NOP NOP kind length prefix: 4 alone, 3 with timestamps, fewer when MSS and window scale
// are present too (RFC 2018 section 3).
size_t sack_blocks_that_fit(const TcpOptions& o) {
  size_t used = fixed_options_length(o) + 4;
  size_t room = used < kTcpMaxOptionsLen ? (kTcpMaxOptionsLen - used) / 8 : 0;
  return std::min<size_t>({o.sack_count, room, kMaxSackBlocks});
}
}  // namespace

size_t tcp_options_length(const TcpOptions& o) {
  size_t len = fixed_options_length(o);
  if (size_t b = sack_blocks_that_fit(o)) len += 4 + 8 * b;  // NOP NOP SACK
  return len;
}

size_t write_tcp_options(uint8_t* out, const TcpOptions& o) {
  uint8_t* p = out;
  if (o.has_mss) {
    p[0] = tcp_opt::mss;
    p[1] = 4;
    store_be16(p + 2, o.mss);
    p += 4;
  }
  if (o.has_timestamps) {
    if (o.sack_permitted) {
      p[0] = tcp_opt::sack_permitted;
      p[1] = 2;
    } else {
      p[0] = tcp_opt::nop;
      p[1] = tcp_opt::nop;
    }
    p[2] = tcp_opt::timestamps;
    p[3] = 10;
    store_be32(p + 4, o.ts_val);
    store_be32(p + 8, o.ts_ecr);
    p += 12;
  } else if (o.sack_permitted) {
    p[0] = tcp_opt::nop;
    p[1] = tcp_opt::nop;
    p[2] = tcp_opt::sack_permitted;
    p[3] = 2;
    p += 4;
  }
  if (o.has_wscale) {
    p[0] = tcp_opt::nop;
    p[1] = tcp_opt::wscale;
    p[2] = 3;
    p[3] = o.wscale;
    p += 4;
  }
  if (size_t blocks = sack_blocks_that_fit(o)) {
    p[0] = tcp_opt::nop;
    p[1] = tcp_opt::nop;
    p[2] = tcp_opt::sack;
    p[3] = static_cast<uint8_t>(2 + 8 * blocks);
    p += 4;
    for (size_t b = 0; b < blocks; ++b) {
      store_be32(p, o.sack[b].left.v);
      store_be32(p + 4, o.sack[b].right.v);
      p += 8;
    }
  }
  return static_cast<size_t>(p - out);
}

}  // namespace pollux::net
