#include "engine/tso_cut.hpp"

#include <algorithm>
#include <cstring>

#include "net/bytes.hpp"
#include "net/ethernet.hpp"
#include "net/ipv6.hpp"
#include "net/tcp_header.hpp"

namespace pollux::engine {
namespace {

bool is_ipv6(const uint8_t* ip) {
  return (ip[0] >> 4) == 6;
}

// The IP header's length: IPv4's IHL, or IPv6's fixed 40 octets.
uint32_t ip_header_len(const uint8_t* ip) {
  return is_ipv6(ip) ? static_cast<uint32_t>(net::kIpv6HeaderLen) : (ip[0] & 0x0fu) * 4u;
}

// Ethernet + IP + TCP header length of a frame whose headers are in its first mbuf.
uint32_t header_len(const rte_mbuf* m) {
  const auto* ip = rte_pktmbuf_mtod_offset(m, const uint8_t*, net::kEthernetHeaderLen);
  const uint32_t ihl = ip_header_len(ip);
  return net::kEthernetHeaderLen + ihl + (ip[ihl + 12] >> 4) * 4u;
}

}  // namespace

uint16_t tso_cut(const rte_mbuf* m, rte_mempool* pool, std::span<rte_mbuf*> out) {
  const uint32_t hdr = header_len(m);
  const uint32_t total = rte_pktmbuf_pkt_len(m);
  const uint32_t segsz = m->tso_segsz;
  if (segsz == 0 || total <= hdr) return 0;
  const uint32_t payload = total - hdr;
  const uint32_t n = (payload + segsz - 1) / segsz;
  if (n > out.size()) return 0;
  const auto* h = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint32_t l3 = net::kEthernetHeaderLen;
  const bool v6 = is_ipv6(h + l3);
  const uint32_t l4 = l3 + ip_header_len(h + l3);
  const uint16_t id = v6 ? 0 : net::load_be16(h + l3 + 4);
  const uint32_t seq = net::load_be32(h + l4 + 4);
  const uint8_t flags = h[l4 + 13];
  for (uint32_t k = 0; k < n; ++k) {
    const uint32_t len = std::min(segsz, payload - k * segsz);
    rte_mbuf* s = rte_pktmbuf_alloc(pool);
    uint8_t* p =
        s ? reinterpret_cast<uint8_t*>(rte_pktmbuf_append(s, static_cast<uint16_t>(hdr + len)))
          : nullptr;
    if (!p) {
      if (s) rte_pktmbuf_free(s);
      for (uint32_t j = 0; j < k; ++j) rte_pktmbuf_free(out[j]);
      return 0;
    }
    std::copy_n(h, hdr, p);
    const void* src = rte_pktmbuf_read(m, hdr + k * segsz, len, p + hdr);
    if (src != p + hdr) std::memcpy(p + hdr, src, len);
    if (v6) {
      net::store_be16(p + l3 + 4, static_cast<uint16_t>(hdr - l4 + len));  // payload length
    } else {
      net::store_be16(p + l3 + 2, static_cast<uint16_t>(hdr - l3 + len));
      net::store_be16(p + l3 + 4, static_cast<uint16_t>(id + k));
      net::store_be16(p + l3 + 10, 0);
    }
    net::store_be32(p + l4 + 4, seq + k * segsz);
    // RFC 9293 3.1: PSH and FIN belong to the last octet sent; every earlier piece clears them.
    const bool last = k + 1 == n;
    p[l4 + 13] =
        last ? flags : static_cast<uint8_t>(flags & ~(net::tcp_flags::psh | net::tcp_flags::fin));
    net::store_be16(p + l4 + 16, 0);
    s->ol_flags = 0;
    out[k] = s;
  }
  return static_cast<uint16_t>(n);
}

}  // namespace pollux::engine
