#include "sim_trace.hpp"

#include <array>
#include <cstdio>
#include <string>

#include "net/checksum.hpp"
#include "net/ethernet.hpp"
#include "net/icmp.hpp"
#include "net/ipv4.hpp"
#include "net/ipv6.hpp"
#include "net/tcp_header.hpp"

namespace pollux::sim {

namespace {

const char* ipv4_problem(net::Ipv4Error e) {
  switch (e) {
    case net::Ipv4Error::ok:
      return "";
    case net::Ipv4Error::truncated:
      return "IPv4 truncated";
    case net::Ipv4Error::bad_version:
      return "IPv4 bad version";
    case net::Ipv4Error::bad_header_length:
      return "IPv4 bad header length";
    case net::Ipv4Error::bad_total_length:
      return "IPv4 bad total length";
    case net::Ipv4Error::bad_checksum:
      return "IPv4 bad checksum";
  }
  return "IPv4 ?";
}

// `l4` is the TCP header and data; `checksum` their sum over the pseudo-header (0 when right).
// "IPv6 <error name>", one static string per error.
const char* ipv6_problem(net::Ipv6Error e) {
  static const auto names = [] {
    std::array<std::string, 256> n;
    for (size_t i = 0; i < n.size(); ++i)
      n[i] = std::string("IPv6 ") + net::ipv6_error_name(static_cast<net::Ipv6Error>(i));
    return n;
  }();
  return names[static_cast<uint8_t>(e)].c_str();
}

void summarize_tcp(net::Bytes l4, uint16_t checksum, FrameSummary& s) {
  net::TcpHeader t;
  if (net::parse_tcp(l4, t) != net::TcpHeaderError::ok) {
    s.kind = FrameKind::malformed;
    s.problem = "TCP header malformed";
    return;
  }
  s.kind = FrameKind::tcp;
  s.src_port = t.src_port;
  s.dst_port = t.dst_port;
  s.seq = t.seq.v;
  s.ack = t.ack.v;
  s.flags = t.flags;
  s.window = t.window;
  s.payload_len = static_cast<uint32_t>(t.payload.size());
  s.tcp_checksum_ok = checksum == 0;
  s.options_ok = net::parse_tcp_options(t.options, s.options) == net::TcpOptError::ok;
}

std::string addr(const net::IpAddr& a) {
  return a.to_string();
}

// IPv6 (RFC 8200): the fixed header and the extension headers walked by parse_ipv6; TCP's
// checksum over the IPv6 pseudo-header (8.1).
void summarize_ipv6(net::Bytes packet, FrameSummary& s) {
  net::Ipv6Header ip;
  if (net::Ipv6Error e = net::parse_ipv6(packet, ip); e != net::Ipv6Error::ok) {
    s.problem = ipv6_problem(e);
    return;
  }
  s.kind = FrameKind::ipv4;
  s.ipv6 = true;
  s.src = ip.src;
  s.dst = ip.dst;
  s.protocol = ip.upper_protocol;
  s.ip_len = ip.payload_len;
  if (ip.upper_protocol == net::kIpProtoTcp) {
    summarize_tcp(ip.upper, net::ipv6_l4_checksum(ip.src, ip.dst, net::kIpProtoTcp, ip.upper), s);
  } else if (ip.upper_protocol == net::kIpProtoIcmpv6 && ip.upper.size() >= 4) {
    s.kind = FrameKind::icmp;
    s.icmp_type = ip.upper[0];
    s.icmp_code = ip.upper[1];
  }
}

}  // namespace

FrameSummary summarize_frame(net::Bytes frame) {
  FrameSummary s;
  s.frame_len = static_cast<uint32_t>(frame.size());
  auto eth = net::EthernetView::parse(frame);
  if (!eth) {
    s.problem = "short Ethernet frame";
    return s;
  }
  s.ether_type = eth->ether_type();
  if (s.ether_type == static_cast<uint16_t>(net::EtherType::arp)) {
    if (net::parse_arp(eth->payload(), s.arp) != net::ArpError::ok) {
      s.problem = "ARP malformed";
      return s;
    }
    s.kind = FrameKind::arp;
    return s;
  }
  if (s.ether_type == static_cast<uint16_t>(net::EtherType::ipv6)) {
    summarize_ipv6(eth->payload(), s);
    return s;
  }
  if (s.ether_type != static_cast<uint16_t>(net::EtherType::ipv4)) {
    s.kind = FrameKind::other_ether;
    return s;
  }
  net::Ipv4Header ip;
  net::Ipv4Error e = net::parse_ipv4(eth->payload(), ip, true);
  if (e == net::Ipv4Error::bad_checksum) {
    s.ip_checksum_ok = false;
    e = net::parse_ipv4(eth->payload(), ip, false);
  }
  if (e != net::Ipv4Error::ok) {
    s.problem = ipv4_problem(e);
    return s;
  }
  s.kind = FrameKind::ipv4;
  s.src = ip.src;
  s.dst = ip.dst;
  s.protocol = ip.protocol;
  s.ip_len = ip.total_len;
  s.fragment = ip.is_fragment();
  if (s.fragment) return s;
  if (ip.protocol == net::kIpProtoTcp) {
    summarize_tcp(ip.payload, net::ipv4_l4_checksum(ip.src, ip.dst, net::kIpProtoTcp, ip.payload),
                  s);
  } else if (ip.protocol == net::kIpProtoIcmp && ip.payload.size() >= net::kIcmpHeaderLen) {
    s.kind = FrameKind::icmp;
    s.icmp_type = ip.payload[0];
    s.icmp_code = ip.payload[1];
  }
  return s;
}

FrameSummary summarize_frame(const rte_mbuf* m) {
  if (m->nb_segs == 1)
    return summarize_frame(net::Bytes{rte_pktmbuf_mtod(m, const uint8_t*), m->data_len});
  std::vector<uint8_t> flat(rte_pktmbuf_pkt_len(m));
  const void* p = rte_pktmbuf_read(m, 0, static_cast<uint32_t>(flat.size()), flat.data());
  return summarize_frame(net::Bytes{static_cast<const uint8_t*>(p), flat.size()});
}

std::string tcp_flags_string(uint8_t flags) {
  static constexpr struct {
    uint8_t bit;
    char c;
  } kOrder[] = {{net::tcp_flags::syn, 'S'}, {net::tcp_flags::fin, 'F'}, {net::tcp_flags::rst, 'R'},
                {net::tcp_flags::psh, 'P'}, {net::tcp_flags::ack, 'A'}, {net::tcp_flags::urg, 'U'},
                {net::tcp_flags::ece, 'E'}, {net::tcp_flags::cwr, 'C'}};
  std::string s;
  for (const auto& f : kOrder)
    if (flags & f.bit) s += f.c;
  return s.empty() ? "none" : s;
}

std::string FrameFormatter::format(const FrameSummary& s) {
  char buf[256];
  switch (s.kind) {
    case FrameKind::malformed:
      std::snprintf(buf, sizeof buf, "malformed (%s) len=%u", s.problem, s.frame_len);
      return buf;
    case FrameKind::other_ether:
      std::snprintf(buf, sizeof buf, "ether 0x%04x len=%u", s.ether_type, s.frame_len);
      return buf;
    case FrameKind::arp: {
      const auto& a = s.arp;
      if (a.op == net::ArpOp::reply)
        return "ARP reply " + addr(a.sender_ip) + " is-at " + a.sender_mac.to_string();
      if (a.sender_ip == a.target_ip)
        return "ARP announce " + addr(a.sender_ip) + " is-at " + a.sender_mac.to_string();
      return "ARP request who-has " + addr(a.target_ip) + " tell " + addr(a.sender_ip);
    }
    case FrameKind::ipv4: {
      std::snprintf(buf, sizeof buf, "%s %s > %s proto=%u len=%u%s%s", s.ipv6 ? "IPv6" : "IPv4",
                    addr(s.src).c_str(), addr(s.dst).c_str(), s.protocol, s.ip_len,
                    s.fragment ? " fragment" : "", s.ip_checksum_ok ? "" : " !ip-csum");
      return buf;
    }
    case FrameKind::icmp: {
      std::snprintf(buf, sizeof buf, "%s %s > %s type=%u code=%u len=%u%s",
                    s.ipv6 ? "ICMPv6" : "ICMP", addr(s.src).c_str(), addr(s.dst).c_str(),
                    s.icmp_type, s.icmp_code, s.ip_len, s.ip_checksum_ok ? "" : " !ip-csum");
      return buf;
    }
    case FrameKind::tcp:
      break;
  }

  const Flow mine{s.src.bytes, s.src_port, s.dst.bytes, s.dst_port};
  const Flow theirs{s.dst.bytes, s.dst_port, s.src.bytes, s.src_port};
  if (relative_ && (s.flags & net::tcp_flags::syn) && !(first_syn_only_ && isn_.count(mine)))
    isn_[mine] = s.seq;
  uint32_t seq_base = 0;
  uint32_t ack_base = 0;
  if (relative_) {
    if (auto it = isn_.find(mine); it != isn_.end()) seq_base = it->second;
    if (auto it = isn_.find(theirs); it != isn_.end()) ack_base = it->second;
  }
  // RFC 5952 6: an IPv6 address with a port is bracketed.
  auto endpoint = [&](const net::IpAddr& a, uint16_t port) {
    return (s.ipv6 ? "[" + addr(a) + "]" : addr(a)) + ":" + std::to_string(port);
  };
  std::string out = "TCP " + endpoint(s.src, s.src_port) + " > " + endpoint(s.dst, s.dst_port) +
                    " [" + tcp_flags_string(s.flags) + "] seq=" + std::to_string(s.seq - seq_base);
  if (s.flags & net::tcp_flags::ack) out += " ack=" + std::to_string(s.ack - ack_base);
  out += " win=" + std::to_string(s.window) + " len=" + std::to_string(s.payload_len);

  if (!s.options_ok) {
    out += " <bad options>";
  } else {
    const auto& o = s.options;
    std::string opts;
    auto add = [&opts](const std::string& x) {
      if (!opts.empty()) opts += ',';
      opts += x;
    };
    if (o.has_mss) add("mss " + std::to_string(o.mss));
    if (o.has_wscale) add("ws " + std::to_string(o.wscale));
    if (o.sack_permitted) add("sackOK");
    if (o.has_timestamps) add("ts " + std::to_string(o.ts_val) + " " + std::to_string(o.ts_ecr));
    if (o.sack_count > 0) {
      std::string blocks = "sack";
      for (uint8_t i = 0; i < o.sack_count && i < o.sack.size(); ++i)
        blocks += " " + std::to_string(o.sack[i].left.v - ack_base) + "-" +
                  std::to_string(o.sack[i].right.v - ack_base);
      add(blocks);
    }
    if (!opts.empty()) out += " <" + opts + ">";
  }
  if (!s.ip_checksum_ok) out += " !ip-csum";
  if (!s.tcp_checksum_ok) out += " !tcp-csum";
  return out;
}

std::string describe_frame(net::Bytes frame) {
  FrameFormatter f(false);
  return f.format(summarize_frame(frame));
}

std::vector<std::string> format_trace_lines(const std::vector<TraceEntry>& entries, uint64_t t0,
                                            const TraceOptions& o) {
  FrameFormatter fmt(o.relative_seq);
  std::vector<std::string> lines;
  lines.reserve(entries.size());
  for (const auto& e : entries) {
    std::string line;
    if (e.state) line += "state ";
    if (o.time) {
      const uint64_t us = (e.time_ns >= t0 ? e.time_ns - t0 : 0) / 1000;
      char buf[40];
      std::snprintf(buf, sizeof buf, "%llu.%06llu ", static_cast<unsigned long long>(us / 1000000),
                    static_cast<unsigned long long>(us % 1000000));
      line += buf;
    }
    if (e.state) {
      const StateChange& s = *e.state;
      line += s.host;
      // RFC 5952 6: an IPv6 address with a port is bracketed.
      auto endpoint = [](const net::IpAddr& a, uint16_t port) {
        return (a.is_v4() ? addr(a) : "[" + addr(a) + "]") + ':' + std::to_string(port);
      };
      line += ' ' + endpoint(s.local, s.local_port) + " < " + endpoint(s.remote, s.remote_port) +
              ' ' + s.from + " -> " + s.to + ' ' + s.why;
      lines.push_back(std::move(line));
      continue;
    }
    line += direction_name(e.dir);
    line += ' ';
    switch (e.event) {
      case LinkEvent::delivered:
        break;
      case LinkEvent::lost:
        line += "LOST ";
        break;
      case LinkEvent::burst_lost:
        line += "BURST-LOST ";
        break;
      case LinkEvent::queue_drop:
        line += "QUEUE-DROP ";
        break;
      case LinkEvent::fcs_drop:
        line += "FCS-DROP ";
        break;
      case LinkEvent::no_mbuf:
        line += "NO-MBUF ";
        break;
    }
    if (e.marks & link_mark::duplicate) line += "DUP ";
    if (e.marks & link_mark::reordered) line += "REORDERED ";
    if ((e.marks & link_mark::corrupted) && e.event == LinkEvent::delivered) line += "CORRUPTED ";
    line += fmt.format(e.frame);
    lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace pollux::sim
