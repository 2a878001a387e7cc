#include "net/ipv4.hpp"

#include <algorithm>

#include "net/checksum.hpp"

namespace pollux::net {

Ipv4Error parse_ipv4(Bytes packet, Ipv4Header& out, bool verify_checksum, size_t available) {
  if (available < packet.size()) available = packet.size();
  if (packet.size() < kIpv4MinHeaderLen) return Ipv4Error::truncated;
  const uint8_t* p = packet.data();
  if ((p[0] >> 4) != 4) return Ipv4Error::bad_version;
  size_t ihl = size_t{p[0] & 0x0fu} * 4;
  if (ihl < kIpv4MinHeaderLen || ihl > packet.size()) return Ipv4Error::bad_header_length;
  uint16_t total = load_be16(p + 2);
  if (total < ihl || total > available) return Ipv4Error::bad_total_length;
  if (verify_checksum && internet_checksum(packet.first(ihl)) != 0) return Ipv4Error::bad_checksum;

  uint16_t frag = load_be16(p + 6);
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
  out.payload = packet.subspan(ihl, std::min<size_t>(total, packet.size()) - ihl);
  return Ipv4Error::ok;
}

size_t write_ipv4_header(uint8_t* out, const Ipv4Build& b) {
  out[0] = 0x45;
  out[1] = b.tos;
  store_be16(out + 2, static_cast<uint16_t>(kIpv4MinHeaderLen + b.payload_len));
  store_be16(out + 4, b.id);
  store_be16(out + 6, b.dont_fragment ? 0x4000 : 0);
  out[8] = b.ttl;
  out[9] = b.protocol;
  store_be16(out + 10, 0);
  store_be32(out + 12, b.src.value);
  store_be32(out + 16, b.dst.value);
  if (b.fill_checksum) store_be16(out + 10, internet_checksum({out, kIpv4MinHeaderLen}));
  return kIpv4MinHeaderLen;
}

}  // namespace pollux::net
