// The wire parsers of lib/net on arbitrary bytes: every parse is bounds-checked and never
// reads outside its input (ASan), and what parses survives a build -> parse round trip with
// the same fields (the builders are what the engine sends with).
//
// The first byte picks the parser; the rest is the input.
#include <cstring>
#include <vector>

#include "fuzz_support.hpp"
#include "net/arp.hpp"
#include "net/checksum.hpp"
#include "net/ethernet.hpp"
#include "net/icmp.hpp"
#include "net/ipv4.hpp"
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const net::Bytes in{data + 1, size - 1};
  switch (data[0] % 8) {
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
  }
  return 0;
}
