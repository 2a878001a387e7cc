#include "net/ipv4.hpp"

#include "net/checksum.hpp"

namespace pollux::net {

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
