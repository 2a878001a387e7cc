#include "engine/gro.hpp"

#include <algorithm>
#include <cstring>

#include "engine/checksum_offload.hpp"
#include "net/bytes.hpp"
#include "net/checksum.hpp"
#include "net/ethernet.hpp"
#include "net/ipv4.hpp"
#include "net/ipv6.hpp"
#include "net/tcp_header.hpp"

namespace pollux::engine {
namespace {

constexpr uint32_t kIp = net::kEthernetHeaderLen;  // IP header offset
constexpr uint32_t kIp4Len = 20;                   // IPv4 without options
constexpr uint32_t kIp6Len = net::kIpv6HeaderLen;  // IPv6 without extension headers

// A frame that may join a run: where its headers are and what it carries.
struct Candidate {
  uint8_t* frame = nullptr;
  bool v6 = false;
  uint32_t tcp = 0;      // TCP header offset: kIp + 20 (IPv4) or kIp + 40 (IPv6)
  uint32_t hdr = 0;      // Ethernet + IP + TCP header octets
  uint32_t payload = 0;  // TCP payload octets
  uint32_t seq = 0;
  uint8_t flags = 0;
};

// The IP part of a candidate: IPv4 without options and not a fragment, or IPv6 with TCP
// right after the fixed header (RFC 8200 4: an extension header is left to the engine's
// walk, as Linux's GRO leaves it). Sets the TCP offset and the IP payload's length.
bool parse_ip(const uint8_t* p, uint32_t len, Candidate& c, uint32_t& ip_payload) {
  const uint8_t* ip = p + kIp;
  switch (net::load_be16(p + 12)) {
    case static_cast<uint16_t>(net::EtherType::ipv4):
      if (len < kIp + kIp4Len) return false;
      if (ip[0] != 0x45) return false;                     // IPv4 without options
      if (net::load_be16(ip + 6) & 0x3fffu) return false;  // a fragment (MF or an offset)
      if (ip[9] != net::kIpProtoTcp) return false;
      if (net::load_be16(ip + 2) < kIp4Len) return false;
      c.v6 = false;
      c.tcp = kIp + kIp4Len;
      ip_payload = net::load_be16(ip + 2) - kIp4Len;
      return true;
    case static_cast<uint16_t>(net::EtherType::ipv6):
      if (len < kIp + kIp6Len) return false;
      if ((ip[0] >> 4) != 6 || ip[6] != net::kIpProtoTcp) return false;
      c.v6 = true;
      c.tcp = kIp + kIp6Len;
      ip_payload = net::load_be16(ip + 4);  // 0 is a jumbogram's (RFC 2675): refused below
      return true;
    default:
      return false;
  }
}

bool parse(rte_mbuf* m, Candidate& c) {
  if (m->nb_segs != 1) return false;
  const uint32_t len = rte_pktmbuf_data_len(m);
  auto* p = rte_pktmbuf_mtod(m, uint8_t*);
  uint32_t ip_payload = 0;
  if (!parse_ip(p, len, c, ip_payload)) return false;
  if (len < c.tcp + net::kTcpMinHeaderLen) return false;
  const uint32_t doff = (p[c.tcp + 12] >> 4) * 4u;
  if (doff < net::kTcpMinHeaderLen || c.tcp + ip_payload > len || doff >= ip_payload) return false;
  const uint8_t flags = p[c.tcp + 13];
  if ((flags & ~net::tcp_flags::psh) != net::tcp_flags::ack) return false;
  c.frame = p;
  c.hdr = c.tcp + doff;
  c.payload = ip_payload - doff;
  c.seq = net::load_be32(p + c.tcp + 4);
  c.flags = flags;
  return true;
}

// The IP fields a run shares. IPv4: TOS, TTL, DF and the addresses (Linux's GRO flushes on
// these too). IPv6: the first word (version, traffic class, flow label: RFC 6437 keeps a
// flow's label), the hop limit and the addresses, as Linux's ipv6_gro_receive compares.
bool same_ip(const Candidate& a, const Candidate& b) {
  const uint8_t* x = a.frame + kIp;
  const uint8_t* y = b.frame + kIp;
  if (a.v6 != b.v6) return false;
  if (a.v6) return std::memcmp(x, y, 4) == 0 && x[7] == y[7] && std::memcmp(x + 8, y + 8, 32) == 0;
  return x[1] == y[1] && x[8] == y[8] && (x[6] & 0x40) == (y[6] & 0x40) &&
         std::memcmp(x + 12, y + 12, 8) == 0;
}

// `b` continues the run that `a` began and that ends at `next_seq`: the same connection,
// IP fields, ACK number, window and options.
bool continues(const Candidate& a, uint32_t next_seq, const Candidate& b) {
  const uint8_t* x = a.frame + a.tcp;
  const uint8_t* y = b.frame + b.tcp;
  return b.seq == next_seq && a.hdr == b.hdr && same_ip(a, b) &&
         std::memcmp(x, y, 4) == 0 &&                           // ports
         std::memcmp(x + 8, y + 8, 4) == 0 &&                   // ACK number
         std::memcmp(x + 14, y + 14, 2) == 0 &&                 // window
         std::memcmp(x + 20, y + 20, a.hdr - a.tcp - 20) == 0;  // options
}

// The device's verdict where it gave one, else verified here (RFC 1071, RFC 9293 3.1; for
// IPv6 over the RFC 8200 8.1 pseudo-header: IPv6 has no header checksum).
bool checksums_good(const rte_mbuf* m, const Candidate& c, const Offloads& o) {
  const uint8_t* ip = c.frame + kIp;
  if (!c.v6) {
    switch (rx_ip_checksum(m, o)) {
      case RxChecksum::bad:
        return false;
      case RxChecksum::good:
        break;
      case RxChecksum::unknown:
        if (net::internet_checksum({ip, kIp4Len}) != 0) return false;
    }
  }
  switch (rx_l4_checksum(m, o)) {
    case RxChecksum::bad:
      return false;
    case RxChecksum::good:
      return true;
    case RxChecksum::unknown:
      break;
  }
  const net::Bytes l4{c.frame + c.tcp, c.hdr - c.tcp + c.payload};
  if (c.v6) {
    net::Ipv6Addr src, dst;
    std::memcpy(src.bytes.data(), ip + 8, 16);
    std::memcpy(dst.bytes.data(), ip + 24, 16);
    return net::ipv6_l4_checksum(src, dst, net::kIpProtoTcp, l4) == 0;
  }
  return net::ipv4_l4_checksum(net::Ipv4Addr{net::load_be32(ip + 12)},
                               net::Ipv4Addr{net::load_be32(ip + 16)}, net::kIpProtoTcp, l4) == 0;
}

// Cuts what follows the datagram (Ethernet padding) so that the frame ends with its payload.
void trim_to_datagram(rte_mbuf* m, const Candidate& c) {
  const uint32_t frame = c.hdr + c.payload;
  if (rte_pktmbuf_pkt_len(m) > frame)
    (void)rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_pkt_len(m) - frame));
}

void finish(rte_mbuf* head, const Candidate& first, uint32_t payload, uint32_t largest,
            uint8_t last_flags) {
  uint8_t* ip = first.frame + kIp;
  if (first.v6) {
    // RFC 8200 3: the payload length counts what follows the fixed header.
    net::store_be16(ip + 4, static_cast<uint16_t>(first.hdr - first.tcp + payload));
  } else {
    net::store_be16(ip + 2, static_cast<uint16_t>(first.hdr - kIp + payload));
    net::store_be16(ip + 10, 0);
    net::store_be16(ip + 10, net::internet_checksum({ip, kIp4Len}));
  }
  // RFC 9293 3.9 (SEND, PUSH): the push belongs to the run's last octet.
  first.frame[first.tcp + 13] |= last_flags & net::tcp_flags::psh;
  head->ol_flags = (head->ol_flags & ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK)) |
                   RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD | RTE_MBUF_F_RX_LRO;
  // As a NIC's LRO says: the segment size, so that the frame counts as the segments it was.
  head->tso_segsz = static_cast<uint16_t>(largest);
}

}  // namespace

uint16_t gro_merge(rte_mbuf** pkts, uint16_t n, const Offloads& o, base::Counters& counters) {
  uint16_t out = 0;
  for (uint16_t i = 0; i < n;) {
    rte_mbuf* head = pkts[i++];
    pkts[out++] = head;
    Candidate first;
    if (!parse(head, first)) continue;
    uint32_t payload = first.payload, largest = first.payload;
    uint8_t last_flags = first.flags;
    uint16_t merged = 0;
    bool head_checked = false;
    // The run's last buffer: each segment joins behind it, where rte_pktmbuf_chain would
    // walk the run from its head to find the end again (quadratic in the run's length).
    rte_mbuf* last = head;
    while (i < n && !(last_flags & net::tcp_flags::psh)) {
      Candidate c;
      rte_mbuf* m = pkts[i];
      if (!parse(m, c) || !continues(first, first.seq + payload, c) ||
          payload + c.payload > kGroMaxPayload || head->nb_segs >= RTE_MBUF_MAX_NB_SEGS)
        break;
      if (!head_checked) {
        if (!checksums_good(head, first, o)) break;
        head_checked = true;
        trim_to_datagram(head, first);
      }
      if (!checksums_good(m, c, o)) break;
      trim_to_datagram(m, c);
      (void)rte_pktmbuf_adj(m, static_cast<uint16_t>(c.hdr));  // its payload only
      last->next = m;  // one buffer (parse), nb_segs checked above
      last = m;
      head->nb_segs = static_cast<uint16_t>(head->nb_segs + 1);
      head->pkt_len += rte_pktmbuf_pkt_len(m);
      payload += c.payload;
      largest = std::max(largest, c.payload);
      last_flags = c.flags;
      ++merged;
      ++i;
    }
    if (merged == 0) continue;
    finish(head, first, payload, largest, last_flags);
    counters.inc(base::Counter::gro_frames);
    counters.inc(base::Counter::gro_segments_merged, merged);
  }
  return out;
}

}  // namespace pollux::engine
