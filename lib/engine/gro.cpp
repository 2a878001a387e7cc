#include "engine/gro.hpp"

#include <algorithm>
#include <cstring>

#include "engine/checksum_offload.hpp"
#include "net/bytes.hpp"
#include "net/checksum.hpp"
#include "net/ethernet.hpp"
#include "net/ipv4.hpp"
#include "net/tcp_header.hpp"

namespace pollux::engine {
namespace {

constexpr uint32_t kIp = net::kEthernetHeaderLen;  // IPv4 header offset
constexpr uint32_t kTcp = kIp + 20;                // TCP header offset (no IP options)

// A frame that may join a run: where its headers are and what it carries.
struct Candidate {
  uint8_t* frame = nullptr;
  uint32_t hdr = 0;      // Ethernet + IPv4 + TCP header octets
  uint32_t payload = 0;  // TCP payload octets
  uint32_t seq = 0;
  uint8_t flags = 0;
};

bool parse(rte_mbuf* m, Candidate& c) {
  if (m->nb_segs != 1) return false;
  const uint32_t len = rte_pktmbuf_data_len(m);
  auto* p = rte_pktmbuf_mtod(m, uint8_t*);
  if (len < kTcp + net::kTcpMinHeaderLen) return false;
  if (net::load_be16(p + 12) != static_cast<uint16_t>(net::EtherType::ipv4)) return false;
  const uint8_t* ip = p + kIp;
  if (ip[0] != 0x45) return false;                     // IPv4 without options
  if (net::load_be16(ip + 6) & 0x3fffu) return false;  // a fragment (MF or an offset)
  if (ip[9] != net::kIpProtoTcp) return false;
  const uint32_t total = net::load_be16(ip + 2);
  const uint32_t doff = (p[kTcp + 12] >> 4) * 4u;
  if (doff < net::kTcpMinHeaderLen || kIp + total > len || 20 + doff >= total) return false;
  const uint8_t flags = p[kTcp + 13];
  if ((flags & ~net::tcp_flags::psh) != net::tcp_flags::ack) return false;
  c = {p, kTcp + doff, total - 20 - doff, net::load_be32(p + kTcp + 4), flags};
  return true;
}

// `b` continues the run that `a` began and that ends at `next_seq`: the same connection,
// IP TOS, TTL and DF (Linux's GRO flushes on these too), ACK number, window and options.
bool continues(const Candidate& a, uint32_t next_seq, const Candidate& b) {
  const uint8_t* x = a.frame;
  const uint8_t* y = b.frame;
  return b.seq == next_seq && a.hdr == b.hdr && x[kIp + 1] == y[kIp + 1] &&
         x[kIp + 8] == y[kIp + 8] && (x[kIp + 6] & 0x40) == (y[kIp + 6] & 0x40) &&
         std::memcmp(x + kIp + 12, y + kIp + 12, 8) == 0 &&                  // addresses
         std::memcmp(x + kTcp, y + kTcp, 4) == 0 &&                          // ports
         std::memcmp(x + kTcp + 8, y + kTcp + 8, 4) == 0 &&                  // ACK number
         std::memcmp(x + kTcp + 14, y + kTcp + 14, 2) == 0 &&                // window
         std::memcmp(x + kTcp + 20, y + kTcp + 20, a.hdr - kTcp - 20) == 0;  // options
}

// The device's verdict where it gave one, else verified here (RFC 1071, RFC 9293 3.1).
bool checksums_good(const rte_mbuf* m, const Candidate& c, const Offloads& o) {
  const uint8_t* ip = c.frame + kIp;
  switch (rx_ip_checksum(m, o)) {
    case RxChecksum::bad:
      return false;
    case RxChecksum::good:
      break;
    case RxChecksum::unknown:
      if (net::internet_checksum({ip, 20}) != 0) return false;
  }
  switch (rx_l4_checksum(m, o)) {
    case RxChecksum::bad:
      return false;
    case RxChecksum::good:
      return true;
    case RxChecksum::unknown:
      break;
  }
  const uint32_t l4 = net::load_be16(ip + 2) - 20u;
  return net::ipv4_l4_checksum(net::Ipv4Addr{net::load_be32(ip + 12)},
                               net::Ipv4Addr{net::load_be32(ip + 16)}, net::kIpProtoTcp,
                               {c.frame + kTcp, l4}) == 0;
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
  net::store_be16(ip + 2, static_cast<uint16_t>(first.hdr - kIp + payload));
  net::store_be16(ip + 10, 0);
  net::store_be16(ip + 10, net::internet_checksum({ip, 20}));
  // RFC 9293 3.9 (SEND, PUSH): the push belongs to the run's last octet.
  first.frame[kTcp + 13] |= last_flags & net::tcp_flags::psh;
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
      (void)rte_pktmbuf_adj(m, static_cast<uint16_t>(c.hdr));      // its payload only
      [[maybe_unused]] const int rc = rte_pktmbuf_chain(head, m);  // nb_segs checked above
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
