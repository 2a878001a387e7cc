#include "net/tcp_header.hpp"

namespace pollux::net {

TcpHeaderError parse_tcp(Bytes segment, TcpHeader& out) {
  if (segment.size() < kTcpMinHeaderLen) return TcpHeaderError::truncated;
  const uint8_t* p = segment.data();
  size_t off = static_cast<size_t>(p[12] >> 4) * 4;
  if (off < kTcpMinHeaderLen || off > segment.size()) return TcpHeaderError::bad_data_offset;
  out.src_port = load_be16(p);
  out.dst_port = load_be16(p + 2);
  out.seq = Seq(load_be32(p + 4));
  out.ack = Seq(load_be32(p + 8));
  out.header_len = static_cast<uint8_t>(off);
  out.flags = p[13];
  out.window = load_be16(p + 14);
  out.checksum = load_be16(p + 16);
  out.urgent = load_be16(p + 18);
  out.options = segment.subspan(kTcpMinHeaderLen, off - kTcpMinHeaderLen);
  out.payload = segment.subspan(off);
  return TcpHeaderError::ok;
}

size_t write_tcp_header(uint8_t* out, const TcpBuild& b) {
  size_t len = kTcpMinHeaderLen + b.options_len;
  store_be16(out, b.src_port);
  store_be16(out + 2, b.dst_port);
  store_be32(out + 4, b.seq.v);
  store_be32(out + 8, b.ack.v);
  out[12] = static_cast<uint8_t>((len / 4) << 4);
  out[13] = b.flags;
  store_be16(out + 14, b.window);
  store_be16(out + 16, 0);
  store_be16(out + 18, 0);
  return len;
}

}  // namespace pollux::net
