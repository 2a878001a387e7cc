#include "window_rule.hpp"

#include <algorithm>
#include <cstdio>

#include "net/ip_addr.hpp"
#include "net/seq.hpp"
#include "net/tcp_header.hpp"
#include "net/tcp_options.hpp"

namespace pollux::sim {

namespace {

uint16_t be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
uint32_t be32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}

}  // namespace

std::string WindowRule::check(const rte_mbuf* m) {
  // Ethernet (14) + IPv4 (up to 60) + TCP (up to 60): the headers fit in 134 octets.
  uint8_t buf[134];
  const uint32_t have = std::min<uint32_t>(rte_pktmbuf_pkt_len(m), sizeof buf);
  const auto* p = static_cast<const uint8_t*>(rte_pktmbuf_read(m, 0, have, buf));
  return p ? check(p, have) : std::string();
}

std::string WindowRule::check(const uint8_t* p, uint32_t have) {
  if (have < 14 + 20) return "";
  const uint8_t* ip = p + 14;
  uint32_t ihl = 0, ip_total = 0;
  net::IpAddr src, dst;
  if (be16(p + 12) == 0x0800) {
    ihl = (ip[0] & 0x0f) * 4u;
    if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != 6 || 14 + ihl + 20 > have) return "";
    ip_total = be16(ip + 2);
    src = net::Ipv4Addr{be32(ip + 12)};
    dst = net::Ipv4Addr{be32(ip + 16)};
  } else if (be16(p + 12) == 0x86dd) {
    // RFC 8200 3: the payload length leaves out the fixed header's 40 octets.
    ihl = 40;
    if ((ip[0] >> 4) != 6 || ip[6] != 6 || 14 + ihl + 20 > have) return "";
    ip_total = ihl + be16(ip + 4);
    std::copy_n(ip + 8, 16, src.bytes.begin());
    std::copy_n(ip + 24, 16, dst.bytes.begin());
  } else {
    return "";
  }
  const uint8_t* tcp = ip + ihl;
  const uint32_t doff = (tcp[12] >> 4) * 4u;
  if (doff < 20 || ip_total < ihl + doff || 14 + ihl + doff > have) return "";
  const uint16_t sport = be16(tcp), dport = be16(tcp + 2);
  const uint32_t seq = be32(tcp + 4), ack = be32(tcp + 8);
  const uint8_t flags = tcp[13];
  const uint32_t window = be16(tcp + 14);
  const uint32_t len = ip_total - ihl - doff;

  Side& me = sides_[Flow{src.bytes, sport, dst.bytes, dport}];
  Side& peer = sides_[Flow{dst.bytes, dport, src.bytes, sport}];
  if (flags & net::tcp_flags::syn) {
    if (!(flags & net::tcp_flags::ack)) {
      // A new connection on this 4-tuple: forget the old one's windows.
      me = Side{};
      peer = Side{};
    }
    net::TcpOptions o;
    const net::Bytes opts{tcp + 20, doff - 20};
    if (net::parse_tcp_options(opts, o) == net::TcpOptError::ok && o.has_wscale) {
      me.wscale_offered = true;
      me.wscale = std::min<uint8_t>(o.wscale, net::kMaxWindowScale);
    }
    me.syn_seen = true;
  }
  if (flags & net::tcp_flags::ack) {
    // RFC 7323 2.2: a SYN's window is never scaled; later ones are when both offered.
    const bool scaled = !(flags & net::tcp_flags::syn) && me.wscale_offered && peer.wscale_offered;
    const uint32_t edge = ack + (window << (scaled ? me.wscale : 0));
    if (!me.has_edge || net::Seq(edge) > net::Seq(me.edge)) me.edge = edge;
    me.has_edge = true;
  }
  if (len == 0 || (flags & (net::tcp_flags::syn | net::tcp_flags::rst)) || !peer.has_edge)
    return "";
  ++checked_;
  const net::Seq end = net::Seq(seq) + len;
  if (!(end > net::Seq(peer.edge))) return "";
  ++violations_;
  // RFC 5952 6: an IPv6 address with a port is bracketed.
  auto endpoint = [](const net::IpAddr& a, uint16_t port) {
    return (a.is_v4() ? a.to_string() : "[" + a.to_string() + "]") + ":" + std::to_string(port);
  };
  char line[200];
  std::snprintf(line, sizeof line,
                "segment %s > %s seq=%u len=%u ends %u octets past the "
                "receiver's advertised right edge %u (RFC 9293 3.8.6)",
                endpoint(src, sport).c_str(), endpoint(dst, dport).c_str(), seq, len,
                static_cast<uint32_t>(end - net::Seq(peer.edge)), peer.edge);
  return line;
}

}  // namespace pollux::sim
