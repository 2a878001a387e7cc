// The IP header in front of every segment the TCP layer builds, by the connection's family
// (net/ip_addr.hpp): IPv4 (RFC 791, DF set for PMTUD) or IPv6 (RFC 8200 3, no extension
// headers, hop limit 64 like IPv4's TTL). Checksums (the IPv4 header's, and TCP's over the
// family's pseudo-header, RFC 9293 3.1 / RFC 8200 8.1), in software or by the NIC: a data
// segment's by prepare_segment_checksums below, from what send_segment knows; every other
// frame's by the engine (engine/checksum_offload.hpp, prepare_tx_checksums).
#pragma once

#include <rte_mbuf.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "base/flow_table.hpp"
#include "net/checksum.hpp"
#include "net/ethernet.hpp"
#include "net/four_tuple.hpp"
#include "net/ipv4.hpp"
#include "net/ipv6.hpp"

namespace pollux::tcp {

[[nodiscard]] inline constexpr size_t ip_header_len(bool v4) {
  return v4 ? net::kIpv4MinHeaderLen : net::kIpv6HeaderLen;
}
[[nodiscard]] inline constexpr size_t ip_header_len(const net::FourTuple& t) {
  return ip_header_len(t.is_v4());
}
// A connection's, from its compact key (base::FlowLink): no whole tuple built per segment.
[[nodiscard]] inline size_t ip_header_len(const base::FlowLink& l) {
  return ip_header_len(l.is_v4());
}

// The largest MSS for an IP MTU: MTU - 40 for IPv4, MTU - 60 for IPv6 (RFC 9293 3.7.1,
// RFC 8200 8.3: the IPv6 header is 40 octets).
[[nodiscard]] inline constexpr uint16_t mss_for(uint16_t mtu, const net::FourTuple& t) {
  return static_cast<uint16_t>(mtu - ip_header_len(t) - 20);
}

// Writes the header at `p` (just past Ethernet) for a TCP segment of `tcp_len` octets
// (header and data); `ip_id` is used by IPv4 only (IPv6 has no identification outside a
// fragment header). Returns the header's length.
inline size_t write_ipv4_header_for(uint8_t* p, net::Ipv4Addr src, net::Ipv4Addr dst,
                                    uint16_t tcp_len, uint16_t ip_id) {
  net::Ipv4Build b;
  b.src = src;
  b.dst = dst;
  b.protocol = net::kIpProtoTcp;
  b.payload_len = tcp_len;
  b.id = ip_id;
  b.fill_checksum = false;  // the engine prepares both checksums (software or NIC)
  return net::write_ipv4_header(p, b);
}
inline size_t write_ipv6_header_for(uint8_t* p, const net::Ipv6Addr& src, const net::Ipv6Addr& dst,
                                    uint16_t tcp_len) {
  net::Ipv6Build b;
  b.src = src;
  b.dst = dst;
  b.next_header = net::kIpProtoTcp;
  b.payload_len = tcp_len;
  return net::write_ipv6_header(p, b);
}
inline size_t write_ip_header(uint8_t* p, const net::FourTuple& t, uint16_t tcp_len,
                              uint16_t ip_id) {
  if (t.is_v4()) return write_ipv4_header_for(p, t.local_ip.v4(), t.remote_ip.v4(), tcp_len, ip_id);
  return write_ipv6_header_for(p, t.local_ip.v6(), t.remote_ip.v6(), tcp_len);
}
// The same for a connection, from its compact key: IPv4 reads the addresses it holds inline;
// only IPv6 builds the whole tuple (its addresses are in the layer's array).
inline size_t write_ip_header(uint8_t* p, const base::FlowLink& l, uint16_t tcp_len,
                              uint16_t ip_id) {
  if (l.is_v4()) return write_ipv4_header_for(p, l.local_v4(), l.remote_v4(), tcp_len, ip_id);
  const net::FourTuple t = l.tuple();
  return write_ipv6_header_for(p, t.local_ip.v6(), t.remote_ip.v6(), tcp_len);
}

// The port's checksum offloads as send_segment needs them (TcpConfig::tx_checksums; the
// engine sets it from its Offloads). `prepare` off: every frame is left to the engine.
struct TxChecksums {
  bool prepare = false;
  bool ipv4 = false;  // the device fills the IPv4 header checksum (RTE_MBUF_F_TX_IP_CKSUM)
  bool tcp = false;   // the device completes TCP's from a pseudo-header seed (TX_TCP_CKSUM)
};

// Completes a segment just built here as the engine's prepare_tx_checksums would (the same
// mbuf fields, the same bytes: engine_test compares the two), without reading back what the
// layer knows: the family, the 20/40-octet IP header, the TCP header's and segment's
// lengths (issue 13: the engine's version parsed them again, ~81 instructions a segment).
// `ip` is the IP header, followed in the same buffer by the TCP header; the checksum fields
// hold zero (write_ip_header, write_tcp_header). A TSO frame (RTE_MBUF_F_TX_TCP_SEG already
// set) gets DPDK's TSO contract: the IPv4 checksum and TCP's with the pseudo-header seed
// without the length, by the device. Returns false, touching nothing, for what it leaves to
// the engine: a chain of more than one payload buffer (whether the device may sum it buffer
// by buffer depends on each buffer's length), or a chain summed in software.
inline bool prepare_segment_checksums(rte_mbuf* m, uint8_t* ip, bool v4, uint16_t tcp_hdr_len,
                                      uint16_t tcp_len, TxChecksums c) {
  const bool tso = (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) != 0;
  // The header buffer is even (14 + 20/40 + a TCP header of whole words): with at most one
  // payload buffer the device's per-buffer sum is right (RFC 1071 2(B)).
  const bool one_payload_buffer = m->next == nullptr || m->next->next == nullptr;
  if (!tso && !(c.tcp ? one_payload_buffer : m->next == nullptr)) return false;
  const size_t ip_len = ip_header_len(v4);
  uint8_t* tcp = ip + ip_len;
  uint32_t pseudo;
  m->l2_len = net::kEthernetHeaderLen;
  m->l3_len = ip_len;
  m->l4_len = tcp_hdr_len;
  const uint16_t seed_len = tso ? 0 : tcp_len;
  if (v4) {
    const net::Ipv4Addr src{net::load_be32(ip + 12)}, dst{net::load_be32(ip + 16)};
    m->ol_flags |= RTE_MBUF_F_TX_IPV4;
    if (c.ipv4 || tso)
      m->ol_flags |= RTE_MBUF_F_TX_IP_CKSUM;
    else
      net::store_be16(ip + 10, net::internet_checksum({ip, ip_len}));
    pseudo = net::ipv4_pseudo_header_sum(src, dst, net::kIpProtoTcp, seed_len);
  } else {
    net::Ipv6Addr src, dst;
    std::memcpy(src.bytes.data(), ip + 8, 16);
    std::memcpy(dst.bytes.data(), ip + 24, 16);
    m->ol_flags |= RTE_MBUF_F_TX_IPV6;
    pseudo = net::ipv6_pseudo_header_sum(src, dst, net::kIpProtoTcp, seed_len);
  }
  if (tso) {
    net::store_be16(tcp + 16, net::checksum_fold(pseudo));
  } else if (c.tcp) {
    m->ol_flags |= RTE_MBUF_F_TX_TCP_CKSUM;
    net::store_be16(tcp + 16, net::checksum_fold(pseudo));
  } else {  // one buffer, summed as mbuf_checksum_accumulate sums it
    const uint64_t sum = uint64_t{pseudo} + net::checksum_fold(net::checksum_accumulate({tcp, tcp_len}));
    net::store_be16(tcp + 16, static_cast<uint16_t>(~net::checksum_fold(sum)));
  }
  return true;
}

}  // namespace pollux::tcp
