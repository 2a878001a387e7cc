// The wire parsers of lib/net on arbitrary bytes: every parse is bounds-checked and never
// reads outside its input (ASan), and what parses survives a build -> parse round trip with
// the same fields (the builders are what the engine sends with).
//
// The first byte picks the parser (modulo 12: 0-7 Ethernet, ARP, IPv4, TCP, TCP options, ICMP;
// 8 IPv6; 9-11 ICMPv6 and ND); the rest is the input.
#include <cstring>
#include <vector>

#include "fuzz_support.hpp"
#include "net/arp.hpp"
#include "net/checksum.hpp"
#include "net/ethernet.hpp"
#include "net/icmp.hpp"
#include "net/icmpv6.hpp"
#include "net/ipv4.hpp"
#include "net/ipv6.hpp"
#include "net/tcp_header.hpp"
#include "net/tcp_options.hpp"

using namespace pollux;
using pollux::fuzz::require;

namespace {

void ethernet(net::Bytes in) {
  auto e = net::EthernetView::parse(in);
  require(e.has_value() == (in.size() >= net::kEthernetHeaderLen), "ethernet: length rule");
  if (!e) return;
  std::vector<uint8_t> out(net::kEthernetHeaderLen);
  net::write_ethernet_header(out.data(), e->dst(), e->src(),
                             static_cast<net::EtherType>(e->ether_type()));
  require(std::memcmp(out.data(), in.data(), out.size()) == 0, "ethernet: round trip");
  require(e->payload().size() == in.size() - net::kEthernetHeaderLen, "ethernet: payload");
}

void arp(net::Bytes in) {
  net::ArpPacket a;
  if (net::parse_arp(in, a) != net::ArpError::ok) return;
  std::vector<uint8_t> out(net::kArpLen);
  net::write_arp(out.data(), a);
  net::ArpPacket b;
  require(net::parse_arp(out, b) == net::ArpError::ok, "arp: built packet does not parse");
  require(a.op == b.op && a.sender_mac == b.sender_mac && a.sender_ip == b.sender_ip &&
              a.target_mac == b.target_mac && a.target_ip == b.target_ip,
          "arp: round trip");
}

void ipv4(net::Bytes in, bool verify) {
  net::Ipv4Header h;
  if (net::parse_ipv4(in, h, verify) != net::Ipv4Error::ok) return;
  require(h.header_len >= 20 && h.header_len <= 60 && h.header_len <= in.size(), "ipv4: IHL");
  require(h.payload.size() == size_t{h.total_len} - h.header_len, "ipv4: payload length");
  require(
      h.payload.data() >= in.data() && h.payload.data() + h.payload.size() <= in.data() + in.size(),
      "ipv4: payload outside the input");
  // Rebuilt without options (the builder writes none), it parses with a valid checksum.
  net::Ipv4Build b;
  b.src = h.src;
  b.dst = h.dst;
  b.protocol = h.protocol;
  b.payload_len = static_cast<uint16_t>(h.payload.size() > 65515 ? 65515 : h.payload.size());
  b.id = h.id;
  b.ttl = h.ttl;
  b.tos = h.tos;
  b.dont_fragment = h.dont_fragment;
  std::vector<uint8_t> out(net::kIpv4MinHeaderLen + b.payload_len);
  net::write_ipv4_header(out.data(), b);
  net::Ipv4Header r;
  require(net::parse_ipv4(out, r, true) == net::Ipv4Error::ok, "ipv4: built header does not parse");
  require(r.src == h.src && r.dst == h.dst && r.protocol == h.protocol && r.id == h.id &&
              r.ttl == h.ttl && r.tos == h.tos && r.dont_fragment == h.dont_fragment &&
              r.payload.size() == b.payload_len,
          "ipv4: round trip");
}

void tcp_header(net::Bytes in) {
  net::TcpHeader h;
  if (net::parse_tcp(in, h) != net::TcpHeaderError::ok) return;
  require(h.header_len >= 20 && h.header_len <= 60 && h.header_len <= in.size(), "tcp: offset");
  require(h.options.size() == size_t{h.header_len} - 20u, "tcp: options length");
  require(h.payload.size() == in.size() - h.header_len, "tcp: payload length");
  net::TcpOptions o;
  const bool opts_ok = net::parse_tcp_options(h.options, o) == net::TcpOptError::ok;
  net::TcpBuild b;
  b.src_port = h.src_port;
  b.dst_port = h.dst_port;
  b.seq = h.seq;
  b.ack = h.ack;
  b.flags = h.flags;
  b.window = h.window;
  b.options_len = static_cast<uint8_t>(opts_ok ? net::tcp_options_length(o) : 0);
  require(b.options_len % 4 == 0 && b.options_len <= net::kTcpMaxOptionsLen, "tcp: options size");
  std::vector<uint8_t> out(net::kTcpMinHeaderLen + b.options_len);
  net::write_tcp_header(out.data(), b);
  if (opts_ok)
    require(net::write_tcp_options(out.data() + net::kTcpMinHeaderLen, o) == b.options_len,
            "tcp: options length mismatch");
  net::TcpHeader r;
  require(net::parse_tcp(out, r) == net::TcpHeaderError::ok, "tcp: built header does not parse");
  require(r.src_port == h.src_port && r.dst_port == h.dst_port && r.seq == h.seq &&
              r.ack == h.ack && r.flags == h.flags && r.window == h.window,
          "tcp: header round trip");
  if (!opts_ok) return;
  net::TcpOptions ro;
  require(net::parse_tcp_options(r.options, ro) == net::TcpOptError::ok,
          "tcp: built options do not parse");
  // The builder keeps every option but may drop trailing SACK blocks that do not fit.
  require(ro.has_mss == o.has_mss && ro.mss == o.mss && ro.has_wscale == o.has_wscale &&
              ro.wscale == o.wscale && ro.sack_permitted == o.sack_permitted &&
              ro.has_timestamps == o.has_timestamps && ro.ts_val == o.ts_val &&
              ro.ts_ecr == o.ts_ecr && ro.sack_count <= o.sack_count,
          "tcp: options round trip");
  for (size_t i = 0; i < ro.sack_count; ++i)
    require(ro.sack[i] == o.sack[i], "tcp: SACK block round trip");
}

void tcp_options(net::Bytes in) {
  if (in.size() > net::kTcpMaxOptionsLen) in = in.first(net::kTcpMaxOptionsLen);
  net::TcpOptions o;
  if (net::parse_tcp_options(in, o) != net::TcpOptError::ok) return;
  require(o.sack_count <= net::kMaxSackBlocks, "options: SACK count");
  std::vector<uint8_t> out(net::tcp_options_length(o));
  require(net::write_tcp_options(out.data(), o) == out.size(), "options: written length");
  net::TcpOptions r;
  require(net::parse_tcp_options(out, r) == net::TcpOptError::ok, "options: rebuilt parse");
  require(r.sack_count <= o.sack_count, "options: SACK blocks grew");
  r.sack_count = o.sack_count;
  for (size_t i = 0; i < net::kMaxSackBlocks; ++i)
    if (i >= r.sack_count || i < o.sack_count) r.sack[i] = o.sack[i];
  require(r == o, "options: round trip");
}

void icmp(net::Bytes in, bool verify) {
  net::IcmpMessage m;
  if (net::parse_icmp(in, m, verify) != net::IcmpError::ok) return;
  require(m.body.size() + net::kIcmpHeaderLen == in.size(), "icmp: body length");
  std::vector<uint8_t> out(net::kIcmpHeaderLen + m.body.size());
  if (!m.body.empty()) std::memcpy(out.data() + net::kIcmpHeaderLen, m.body.data(), m.body.size());
  net::write_icmp_header(out.data(), m.type, m.code, m.rest, m.body.size());
  net::IcmpMessage r;
  require(net::parse_icmp(out, r, true) == net::IcmpError::ok,
          "icmp: built message does not parse");
  require(r.type == m.type && r.code == m.code && r.rest == m.rest, "icmp: round trip");
  (void)net::icmp_next_hop_mtu(m);
}

// The IPv6 header and its extension-header walk (RFC 8200 3, 4): the upper layer lies inside
// the payload, after the fixed header; with no extension header it is the whole payload. The
// fixed header rebuilt with the upper-layer protocol as its next header parses to the same
// fields and the same upper-layer bytes.
void ipv6(net::Bytes in) {
  net::Ipv6Header h;
  const net::Ipv6Error e = net::parse_ipv6(in, h);
  if (e != net::Ipv6Error::ok) {
    require(net::ipv6_error_name(e)[0] != '?', "ipv6: unnamed error");
    return;
  }
  require(in.size() >= net::kIpv6HeaderLen + h.payload_len, "ipv6: payload past the input");
  require(h.extension_headers <= net::kIpv6MaxExtensionHeaders, "ipv6: too many extensions");
  const uint8_t up = h.upper_protocol;
  require(up != net::kIpv6HopByHop && up != net::kIpv6Routing && up != net::kIpv6Fragment &&
              up != net::kIpv6DestOptions,
          "ipv6: the walk stopped on an extension header");
  const uint8_t* payload = in.data() + net::kIpv6HeaderLen;
  if (up == net::kIpv6NoNextHeader) {
    require(h.upper.empty(), "ipv6: data after No Next Header");
  } else {
    require(h.upper.data() >= payload && h.upper.data() + h.upper.size() == payload + h.payload_len,
            "ipv6: upper layer not at the end of the payload");
  }
  // The chain walked again the simplest way (RFC 8200 4: each header's next-header byte and
  // length in 8-byte units beyond the first; the parser has already rejected fragments and
  // chains that do not fit): the upper layer starts where this walk ends, after as many
  // headers as the parser counted.
  {
    size_t at = 0, count = 0;
    uint8_t nh = h.next_header;
    while (nh == net::kIpv6HopByHop || nh == net::kIpv6Routing || nh == net::kIpv6DestOptions) {
      require(at + 8 <= h.payload_len, "ipv6: accepted a chain that runs past the payload");
      nh = payload[at];
      at += 8 * (size_t{payload[at + 1]} + 1);
      ++count;
    }
    require(at <= h.payload_len && nh == up && count == h.extension_headers,
            "ipv6: the walk ended elsewhere than a plain walk of the chain");
    if (up != net::kIpv6NoNextHeader)
      require(h.upper.data() == payload + at, "ipv6: upper layer not after the last header");
  }
  if (h.extension_headers == 0)
    require(
        up == h.next_header && (up == net::kIpv6NoNextHeader || h.upper.size() == h.payload_len),
        "ipv6: no extension header but the upper layer moved");
  require(h.extension_headers > 0 || !h.router_alert, "ipv6: router alert without hop-by-hop");
  net::Ipv6Build b;
  b.src = h.src;
  b.dst = h.dst;
  b.next_header = up;
  b.payload_len = static_cast<uint16_t>(h.upper.size());
  b.hop_limit = h.hop_limit;
  b.traffic_class = h.traffic_class;
  b.flow_label = h.flow_label;
  std::vector<uint8_t> out(net::kIpv6HeaderLen + h.upper.size());
  require(net::write_ipv6_header(out.data(), b) == net::kIpv6HeaderLen, "ipv6: header length");
  if (!h.upper.empty())
    std::memcpy(out.data() + net::kIpv6HeaderLen, h.upper.data(), h.upper.size());
  net::Ipv6Header r;
  require(net::parse_ipv6(out, r) == net::Ipv6Error::ok, "ipv6: built header does not parse");
  require(r.src == h.src && r.dst == h.dst && r.hop_limit == h.hop_limit &&
              r.traffic_class == h.traffic_class && r.flow_label == h.flow_label &&
              r.upper_protocol == up && r.extension_headers == 0 &&
              r.upper.size() == h.upper.size() &&
              (h.upper.empty() || std::memcmp(r.upper.data(), h.upper.data(), h.upper.size()) == 0),
          "ipv6: round trip");
}

// ICMPv6 (RFC 4443) and Neighbor Discovery (RFC 4861 4.3, 4.4, 4.6, 7.1) in an IPv6 header
// made from the input: hop limit, source and destination, then the message. `mode` 0 does
// not verify the checksum, 1 fixes it first, 2 also makes the message a valid-looking NS or
// NA (hop limit 255, code 0) so the option walk is reached. What parses is rebuilt with
// write_icmpv6 (and write_ns_body/write_na_body for NS/NA) and parses to the same fields.
void icmpv6(net::Bytes in, int mode) {
  if (in.size() < 33) return;
  net::Ipv6Header ip;
  ip.hop_limit = mode == 2 ? 255 : in[0];
  std::memcpy(ip.src.bytes.data(), in.data() + 1, 16);
  std::memcpy(ip.dst.bytes.data(), in.data() + 17, 16);
  ip.upper_protocol = net::kIpProtoIcmpv6;
  std::vector<uint8_t> msg(in.begin() + 33, in.end());
  if (mode == 2 && msg.size() >= 2) {
    msg[0] = (msg[0] & 1) ? net::kIcmpv6NeighbourAdvert : net::kIcmpv6NeighbourSolicit;
    msg[1] = 0;
  }
  if (mode >= 1 && msg.size() >= 4) {
    msg[2] = msg[3] = 0;
    net::store_be16(msg.data() + 2,
                    net::ipv6_l4_checksum(ip.src, ip.dst, net::kIpProtoIcmpv6, msg));
  }
  ip.upper = msg;
  net::Icmpv6Message m;
  const net::Icmpv6Error e = net::parse_icmpv6(ip, m, mode >= 1);
  if (e != net::Icmpv6Error::ok) {
    require(net::icmpv6_error_name(e)[0] != '?', "icmpv6: unnamed error");
    require(!(mode >= 1 && msg.size() >= 4 && e == net::Icmpv6Error::bad_checksum),
            "icmpv6: a fixed checksum failed");
    return;
  }
  require(msg.size() >= 4 && m.body.size() == msg.size() - 4, "icmpv6: body length");
  const bool nd = m.type == net::kIcmpv6NeighbourSolicit || m.type == net::kIcmpv6NeighbourAdvert;
  if (m.type == net::kIcmpv6EchoRequest || m.type == net::kIcmpv6EchoReply)
    require(m.data.size() + 8 == msg.size(), "icmpv6: echo data length");
  if (m.type == net::kIcmpv6PacketTooBig)
    require(m.invoking.size() + 8 == msg.size(), "icmpv6: PTB invoking length");
  if (nd) {
    require(msg.size() >= 24 && ip.hop_limit == 255 && m.code == 0 && !m.target.is_multicast(),
            "icmpv6: an NS/NA accepted against RFC 4861 7.1");
    require(!(m.type == net::kIcmpv6NeighbourAdvert && m.solicited && ip.dst.is_multicast()),
            "icmpv6: a solicited NA to a multicast group accepted");
  }
  std::vector<uint8_t> out(msg.size());
  require(net::write_icmpv6(out.data(), ip.src, ip.dst, m.type, m.code, m.body) == msg.size(),
          "icmpv6: written length");
  net::Ipv6Header rip = ip;
  rip.upper = out;
  net::Icmpv6Message r;
  require(net::parse_icmpv6(rip, r, true) == net::Icmpv6Error::ok,
          "icmpv6: built message does not parse");
  require(r.type == m.type && r.code == m.code && r.id == m.id && r.seq == m.seq &&
              r.mtu == m.mtu && r.target == m.target && r.router == m.router &&
              r.solicited == m.solicited && r.override_flag == m.override_flag &&
              r.link_addr == m.link_addr,
          "icmpv6: round trip");
  if (!nd || !m.link_addr) return;
  // The builders the engine answers with: one link-layer option, the same target and flags.
  std::vector<uint8_t> body(28);
  if (m.type == net::kIcmpv6NeighbourSolicit)
    net::write_ns_body(body.data(), m.target, *m.link_addr);
  else
    net::write_na_body(body.data(), m.target, *m.link_addr, m.router, m.solicited, m.override_flag);
  std::vector<uint8_t> nd_out(4 + body.size());
  net::write_icmpv6(nd_out.data(), ip.src, ip.dst, m.type, 0, body);
  rip.upper = nd_out;
  require(net::parse_icmpv6(rip, r, true) == net::Icmpv6Error::ok,
          "icmpv6: built NS/NA does not parse");
  require(r.target == m.target && r.link_addr == m.link_addr && r.router == m.router &&
              r.solicited == m.solicited && r.override_flag == m.override_flag,
          "icmpv6: NS/NA builder round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const net::Bytes in{data + 1, size - 1};
  switch (data[0] % 12) {
    case 0:
      ethernet(in);
      break;
    case 1:
      arp(in);
      break;
    case 2:
      ipv4(in, true);
      break;
    case 3:
      ipv4(in, false);
      break;
    case 4:
      tcp_header(in);
      break;
    case 5:
      tcp_options(in);
      break;
    case 6:
      icmp(in, true);
      break;
    case 7:
      icmp(in, false);
      break;
    case 8:
      ipv6(in);
      break;
    case 9:
    case 10:
    case 11:
      icmpv6(in, data[0] % 12 - 9);
      break;
  }
  return 0;
}
