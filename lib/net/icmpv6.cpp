#include "net/icmpv6.hpp"

#include <cstring>

#include "net/checksum.hpp"

namespace pollux::net {

namespace {

constexpr uint8_t kOptSourceLinkAddr = 1;
constexpr uint8_t kOptTargetLinkAddr = 2;

// The ND options after a message's fixed part (RFC 4861 4.6): every length is in units of 8
// bytes and never 0; the one link-layer option asked for, when it is there, is returned.
Icmpv6Error nd_options(Bytes opts, uint8_t wanted, std::optional<MacBytes>& link_addr) {
  size_t i = 0;
  while (i < opts.size()) {
    if (i + 2 > opts.size()) return Icmpv6Error::bad_nd_option;
    const size_t len = 8 * static_cast<size_t>(opts[i + 1]);
    if (len == 0 || i + len > opts.size()) return Icmpv6Error::bad_nd_option;
    if (opts[i] == wanted && len == 8) {
      MacBytes mac;
      std::memcpy(mac.data(), opts.data() + i + 2, 6);
      link_addr = mac;
    }
    i += len;
  }
  return Icmpv6Error::ok;
}

}  // namespace

Icmpv6Error parse_icmpv6(const Ipv6Header& ip, Icmpv6Message& out, bool verify_checksum) {
  const Bytes m = ip.upper;
  if (m.size() < 4) return Icmpv6Error::truncated;
  if (verify_checksum && ipv6_l4_checksum(ip.src, ip.dst, kIpProtoIcmpv6, m) != 0)
    return Icmpv6Error::bad_checksum;
  out.type = m[0];
  out.code = m[1];
  out.body = m.subspan(4);
  out.link_addr.reset();
  switch (out.type) {
    case kIcmpv6EchoRequest:
    case kIcmpv6EchoReply:
      if (m.size() < 8) return Icmpv6Error::truncated;
      out.id = load_be16(m.data() + 4);
      out.seq = load_be16(m.data() + 6);
      out.data = m.subspan(8);
      break;
    case kIcmpv6PacketTooBig:
      if (m.size() < 8) return Icmpv6Error::truncated;
      out.mtu = load_be32(m.data() + 4);
      out.invoking = m.subspan(8);
      break;
    case kIcmpv6NeighbourSolicit:
    case kIcmpv6NeighbourAdvert: {
      // RFC 4861 7.1.1 and 7.1.2: from a neighbour (hop limit 255, so no router forwarded
      // it), code 0, 24 bytes or more, a unicast target.
      if (m.size() < 24) return Icmpv6Error::truncated;
      if (ip.hop_limit != 255 || out.code != 0) return Icmpv6Error::bad_nd;
      std::memcpy(out.target.bytes.data(), m.data() + 8, 16);
      if (out.target.is_multicast()) return Icmpv6Error::bad_nd;
      const bool ns = out.type == kIcmpv6NeighbourSolicit;
      if (!ns) {
        out.router = m[4] & 0x80;
        out.solicited = m[4] & 0x40;
        out.override_flag = m[4] & 0x20;
        if (out.solicited && ip.dst.is_multicast()) return Icmpv6Error::bad_nd;
      }
      if (Icmpv6Error e = nd_options(m.subspan(24), ns ? kOptSourceLinkAddr : kOptTargetLinkAddr,
                                     out.link_addr);
          e != Icmpv6Error::ok)
        return e;
      // A solicitation from the unspecified address (duplicate address detection) must
      // not carry a source link-layer address, and must go to a solicited-node group.
      if (ns && ip.src.is_unspecified() && (out.link_addr || ip.dst != out.target.solicited_node()))
        return Icmpv6Error::bad_nd;
      break;
    }
    case kIcmpv6MldQuery: {
      // RFC 3810 5.1: 24 bytes for MLDv1's query (RFC 2710 3), 28 and the sources for
      // MLDv2's. 6.2: a host ignores a query not from a link-local source; 5: every MLD
      // message travels with hop limit 1, so one with more crossed a router or was forged.
      if (m.size() < 24) return Icmpv6Error::truncated;
      if (!ip.src.is_link_local() || ip.hop_limit != 1) return Icmpv6Error::bad_mld;
      const uint16_t code = load_be16(m.data() + 4);
      // 5.1.3: below 32768 the code is the delay in ms; above, a floating-point form.
      out.max_response_ms = code < 0x8000 ? code
                                          : static_cast<uint32_t>((code & 0x0fff) | 0x1000)
                                                << (((code >> 12) & 0x7) + 3);
      std::memcpy(out.group.bytes.data(), m.data() + 8, 16);
      if (!out.group.is_unspecified() && !out.group.is_multicast()) return Icmpv6Error::bad_mld;
      break;
    }
    default:
      break;
  }
  return Icmpv6Error::ok;
}

size_t write_mld2_report_body(uint8_t* out, std::span<const Ipv6Addr> groups,
                              uint8_t record_type) {
  store_be16(out, 0);  // reserved
  store_be16(out + 2, static_cast<uint16_t>(groups.size()));
  uint8_t* r = out + 4;
  for (const Ipv6Addr& g : groups) {
    r[0] = record_type;
    r[1] = 0;             // no auxiliary data
    store_be16(r + 2, 0);  // no sources: EXCLUDE of nothing, every source
    std::memcpy(r + 4, g.bytes.data(), 16);
    r += 20;
  }
  return static_cast<size_t>(r - out);
}

size_t write_icmpv6(uint8_t* out, const Ipv6Addr& src, const Ipv6Addr& dst, uint8_t type,
                    uint8_t code, Bytes body) {
  out[0] = type;
  out[1] = code;
  store_be16(out + 2, 0);
  if (!body.empty()) std::memmove(out + 4, body.data(), body.size());
  const size_t len = 4 + body.size();
  store_be16(out + 2, ipv6_l4_checksum(src, dst, kIpProtoIcmpv6, Bytes(out, len)));
  return len;
}

size_t write_ns_body(uint8_t* out, const Ipv6Addr& target, const MacBytes& our_mac) {
  std::memset(out, 0, 4);  // reserved
  std::memcpy(out + 4, target.bytes.data(), 16);
  out[20] = kOptSourceLinkAddr;
  out[21] = 1;
  std::memcpy(out + 22, our_mac.data(), 6);
  return 28;
}

size_t write_na_body(uint8_t* out, const Ipv6Addr& target, const MacBytes& our_mac, bool router,
                     bool solicited, bool override_flag) {
  std::memset(out, 0, 4);
  out[0] = static_cast<uint8_t>((router ? 0x80 : 0) | (solicited ? 0x40 : 0) |
                                (override_flag ? 0x20 : 0));
  std::memcpy(out + 4, target.bytes.data(), 16);
  out[20] = kOptTargetLinkAddr;
  out[21] = 1;
  std::memcpy(out + 22, our_mac.data(), 6);
  return 28;
}

const char* icmpv6_error_name(Icmpv6Error e) {
  switch (e) {
    case Icmpv6Error::ok:
      return "ok";
    case Icmpv6Error::truncated:
      return "truncated";
    case Icmpv6Error::bad_checksum:
      return "bad_checksum";
    case Icmpv6Error::bad_nd:
      return "bad_nd";
    case Icmpv6Error::bad_nd_option:
      return "bad_nd_option";
    case Icmpv6Error::bad_mld:
      return "bad_mld";
  }
  return "?";
}

}  // namespace pollux::net
