// The IP header in front of every segment the TCP layer builds, by the connection's family
// (net/ip_addr.hpp): IPv4 (RFC 791, DF set for PMTUD) or IPv6 (RFC 8200 3, no extension
// headers, hop limit 64 like IPv4's TTL). Checksums are left to the engine
// (prepare_tx_checksums: the IPv4 header's, and TCP's over the family's pseudo-header,
// RFC 9293 3.1 / RFC 8200 8.1), in software or by the NIC.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/flow_table.hpp"
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

}  // namespace pollux::tcp
