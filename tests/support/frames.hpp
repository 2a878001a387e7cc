// Builders of whole Ethernet frames for engine tests, so each test states only what matters
// to it (the fields it varies), and a decoder for what the engine sends back.
#pragma once

#include <rte_mbuf.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "net/arp.hpp"
#include "net/checksum.hpp"
#include "net/ethernet.hpp"
#include "net/icmp.hpp"
#include "net/icmpv6.hpp"
#include "net/ipv4.hpp"
#include "net/ipv6.hpp"
#include "net/tcp_header.hpp"
#include "net/tcp_options.hpp"

namespace pollux::testing {

using Frame = std::vector<uint8_t>;

inline Frame eth_frame(const net::MacAddr& dst, const net::MacAddr& src, uint16_t type,
                       const Frame& payload) {
  Frame f(net::kEthernetHeaderLen + payload.size());
  dst.store(f.data());
  src.store(f.data() + 6);
  net::store_be16(f.data() + 12, type);
  if (!payload.empty())
    std::memcpy(f.data() + net::kEthernetHeaderLen, payload.data(), payload.size());
  return f;
}

inline Frame arp_body(const net::ArpPacket& a) {
  Frame f(net::kArpLen);
  net::write_arp(f.data(), a);
  return f;
}

// IPv4 datagram with a correct header checksum around `l4`.
inline Frame ipv4_datagram(net::Ipv4Addr src, net::Ipv4Addr dst, uint8_t proto, const Frame& l4,
                           uint8_t ttl = 64) {
  Frame f(net::kIpv4MinHeaderLen + l4.size());
  net::Ipv4Build b;
  b.src = src;
  b.dst = dst;
  b.protocol = proto;
  b.payload_len = static_cast<uint16_t>(l4.size());
  b.ttl = ttl;
  b.dont_fragment = true;
  net::write_ipv4_header(f.data(), b);
  if (!l4.empty()) std::memcpy(f.data() + net::kIpv4MinHeaderLen, l4.data(), l4.size());
  return f;
}

// IPv6 datagram: a fixed header (no extension headers) around `upper`.
inline Frame ipv6_datagram(const net::Ipv6Addr& src, const net::Ipv6Addr& dst, uint8_t next,
                           const Frame& upper, uint8_t hop_limit = 64) {
  Frame f(net::kIpv6HeaderLen + upper.size());
  net::Ipv6Build b;
  b.src = src;
  b.dst = dst;
  b.next_header = next;
  b.payload_len = static_cast<uint16_t>(upper.size());
  b.hop_limit = hop_limit;
  net::write_ipv6_header(f.data(), b);
  std::copy(upper.begin(), upper.end(), f.begin() + net::kIpv6HeaderLen);
  return f;
}

// An ICMPv6 message with a correct checksum for src -> dst (RFC 4443 2.3).
inline Frame icmpv6_message(const net::Ipv6Addr& src, const net::Ipv6Addr& dst, uint8_t type,
                            const Frame& body) {
  Frame out(4 + body.size());
  net::write_icmpv6(out.data(), src, dst, type, 0, {body.data(), body.size()});
  return out;
}

inline Frame icmp_echo(uint8_t type, uint16_t id, uint16_t seq, const Frame& data) {
  Frame f(net::kIcmpHeaderLen + data.size());
  if (!data.empty()) std::memcpy(f.data() + net::kIcmpHeaderLen, data.data(), data.size());
  net::write_icmp_header(f.data(), type, 0, (uint32_t{id} << 16) | seq, data.size());
  return f;
}

// TCP segment with a correct checksum for the given addresses.
inline Frame tcp_segment(net::Ipv4Addr src, net::Ipv4Addr dst, const net::TcpBuild& t,
                         const net::TcpOptions* opts = nullptr, const Frame& payload = {}) {
  size_t opt_len = opts ? net::tcp_options_length(*opts) : 0;
  Frame f(net::kTcpMinHeaderLen + opt_len + payload.size());
  net::TcpBuild b = t;
  b.options_len = static_cast<uint8_t>(opt_len);
  net::write_tcp_header(f.data(), b);
  if (opts) net::write_tcp_options(f.data() + net::kTcpMinHeaderLen, *opts);
  if (!payload.empty())
    std::memcpy(f.data() + net::kTcpMinHeaderLen + opt_len, payload.data(), payload.size());
  net::store_be16(f.data() + 16, net::ipv4_l4_checksum(src, dst, net::kIpProtoTcp, f));
  return f;
}

// TCP segment with a correct checksum over the IPv6 pseudo-header (RFC 8200 8.1).
inline Frame tcp6_segment(const net::Ipv6Addr& src, const net::Ipv6Addr& dst,
                          const net::TcpBuild& t, const net::TcpOptions* opts = nullptr,
                          const Frame& payload = {}) {
  Frame f = tcp_segment(net::Ipv4Addr{}, net::Ipv4Addr{}, t, opts, payload);
  net::store_be16(f.data() + 16, 0);
  net::store_be16(f.data() + 16, net::ipv6_l4_checksum(src, dst, net::kIpProtoTcp, f));
  return f;
}

// A frame longer than one buffer (an LRO frame) becomes a chain.
inline rte_mbuf* to_mbuf(rte_mempool* pool, const Frame& f) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (!m) return nullptr;
  size_t done = std::min<size_t>(f.size(), rte_pktmbuf_tailroom(m));
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(done)));
  if (done > 0) std::memcpy(p, f.data(), done);  // an empty vector's data() may be null
  while (done < f.size()) {
    rte_mbuf* s = rte_pktmbuf_alloc(pool);
    if (!s) {
      rte_pktmbuf_free(m);
      return nullptr;
    }
    const size_t n = std::min<size_t>(f.size() - done, rte_pktmbuf_tailroom(s));
    std::memcpy(rte_pktmbuf_append(s, static_cast<uint16_t>(n)), f.data() + done, n);
    if (rte_pktmbuf_chain(m, s) != 0) {
      rte_pktmbuf_free(s);
      rte_pktmbuf_free(m);
      return nullptr;
    }
    done += n;
  }
  return m;
}

// The bytes of a (possibly chained) mbuf.
inline Frame bytes_of(const rte_mbuf* m) {
  Frame f;
  for (; m; m = m->next) {
    auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
    f.insert(f.end(), p, p + rte_pktmbuf_data_len(m));
  }
  return f;
}

}  // namespace pollux::testing
