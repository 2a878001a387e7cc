#include "net/icmp.hpp"

#include "net/checksum.hpp"

namespace pollux::net {

IcmpError parse_icmp(Bytes message, IcmpMessage& out, bool verify_checksum) {
  if (message.size() < kIcmpHeaderLen) return IcmpError::truncated;
  if (verify_checksum && internet_checksum(message) != 0) return IcmpError::bad_checksum;
  const uint8_t* p = message.data();
  out.type = p[0];
  out.code = p[1];
  out.rest = load_be32(p + 4);
  out.body = message.subspan(kIcmpHeaderLen);
  return IcmpError::ok;
}

size_t write_icmp_header(uint8_t* out, uint8_t type, uint8_t code, uint32_t rest, size_t body_len) {
  out[0] = type;
  out[1] = code;
  store_be16(out + 2, 0);
  store_be32(out + 4, rest);
  store_be16(out + 2, internet_checksum({out, kIcmpHeaderLen + body_len}));
  return kIcmpHeaderLen;
}

}  // namespace pollux::net
