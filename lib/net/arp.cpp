#include "net/arp.hpp"

namespace pollux::net {

namespace {
constexpr uint16_t kHtypeEthernet = 1;
constexpr uint16_t kPtypeIpv4 = 0x0800;
}  // namespace

ArpError parse_arp(Bytes payload, ArpPacket& out) {
  if (payload.size() < kArpLen) return ArpError::truncated;
  const uint8_t* p = payload.data();
  if (load_be16(p) != kHtypeEthernet || load_be16(p + 2) != kPtypeIpv4 || p[4] != 6 || p[5] != 4)
    return ArpError::bad_format;
  uint16_t op = load_be16(p + 6);
  if (op != static_cast<uint16_t>(ArpOp::request) && op != static_cast<uint16_t>(ArpOp::reply))
    return ArpError::bad_operation;
  out.op = static_cast<ArpOp>(op);
  out.sender_mac = MacAddr::load(p + 8);
  out.sender_ip = Ipv4Addr{load_be32(p + 14)};
  out.target_mac = MacAddr::load(p + 18);
  out.target_ip = Ipv4Addr{load_be32(p + 24)};
  return ArpError::ok;
}

size_t write_arp(uint8_t* out, const ArpPacket& arp) {
  store_be16(out, kHtypeEthernet);
  store_be16(out + 2, kPtypeIpv4);
  out[4] = 6;
  out[5] = 4;
  store_be16(out + 6, static_cast<uint16_t>(arp.op));
  arp.sender_mac.store(out + 8);
  store_be32(out + 14, arp.sender_ip.value);
  arp.target_mac.store(out + 18);
  store_be32(out + 24, arp.target_ip.value);
  return kArpLen;
}

}  // namespace pollux::net
