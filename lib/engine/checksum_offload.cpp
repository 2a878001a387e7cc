#include "engine/checksum_offload.hpp"

#include <algorithm>
#include <cstring>

#include "net/checksum.hpp"
#include "net/ethernet.hpp"
#include "net/ipv4.hpp"
#include "net/ipv6.hpp"

namespace pollux::engine {

uint32_t mbuf_checksum_accumulate(const rte_mbuf* m, uint32_t offset, uint32_t len, uint32_t sum) {
  uint64_t acc = sum;
  bool odd = false;  // the next byte sits at an odd position of the summed range
  for (; m != nullptr && len > 0; m = m->next) {
    uint32_t seg_len = rte_pktmbuf_data_len(m);
    if (offset >= seg_len) {
      offset -= seg_len;
      continue;
    }
    uint32_t take = std::min(seg_len - offset, len);
    const uint8_t* p = rte_pktmbuf_mtod_offset(m, const uint8_t*, offset);
    uint16_t part = net::checksum_fold(net::checksum_accumulate({p, take}));
    acc += odd ? static_cast<uint16_t>((part << 8) | (part >> 8)) : part;
    odd ^= (take & 1) != 0;
    len -= take;
    offset = 0;
  }
  return net::checksum_fold(acc);
}

// A frame GRO made (gro.hpp: RX_LRO on a port whose device has no LRO) was checked segment
// by segment before it was coalesced, and its flags say so.
static bool gro_frame(const rte_mbuf* m, const Offloads& o) {
  return o.rx_gro && (m->ol_flags & RTE_MBUF_F_RX_LRO) != 0;
}

RxChecksum rx_ip_checksum(const rte_mbuf* m, const Offloads& o) {
  if (!o.rx_ipv4_checksum && !gro_frame(m, o)) return RxChecksum::unknown;
  switch (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) {
    case RTE_MBUF_F_RX_IP_CKSUM_GOOD:
    case RTE_MBUF_F_RX_IP_CKSUM_NONE:  // field not filled in but the header was verified
      return RxChecksum::good;
    case RTE_MBUF_F_RX_IP_CKSUM_BAD:
      return RxChecksum::bad;
    default:
      return RxChecksum::unknown;
  }
}

RxChecksum rx_l4_checksum(const rte_mbuf* m, const Offloads& o) {
  if (!o.rx_tcp_checksum && !gro_frame(m, o)) return RxChecksum::unknown;
  switch (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) {
    case RTE_MBUF_F_RX_L4_CKSUM_GOOD:
    case RTE_MBUF_F_RX_L4_CKSUM_NONE:
      return RxChecksum::good;
    case RTE_MBUF_F_RX_L4_CKSUM_BAD:
      return RxChecksum::bad;
    default:
      return RxChecksum::unknown;
  }
}

// Whether every buffer of a chain but the last holds an even number of bytes. A device
// that finishes the TCP checksum in software may sum each buffer on its own, as if it began
// at an even offset of the segment (RFC 1071 2(B) byte order), which is right only then:
// net_tap's "offload" sums per iovec. A zero-copy segment's payload buffers end where the
// send queue's mbufs end, so an odd one happens; such a frame is summed here instead.
static bool chain_sums_evenly(const rte_mbuf* m) {
  for (; m->next != nullptr; m = m->next)
    if (rte_pktmbuf_data_len(m) & 1u) return false;
  return true;
}

// IPv6 (RFC 8200 8.1): no header checksum; TCP's over the IPv6 pseudo-header, by the
// device when it takes TCP checksums (the field seeded with the pseudo-header sum, as
// rte_ipv6_phdr_cksum gives it) or here. A TSO frame gets what DPDK's TSO contract asks
// for IPv6: TX_IPV6 (TCP_SEG implies TCP_CKSUM), l2/l3/l4 lengths (l3 40: pollux sends no
// extension headers) and in the TCP field the pseudo-header sum without the length, since
// every segment the device cuts has its own.
static void prepare_tx_checksums6(rte_mbuf* m, uint8_t* ip, const Offloads& o) {
  m->l2_len = net::kEthernetHeaderLen;
  m->l3_len = net::kIpv6HeaderLen;
  m->ol_flags |= RTE_MBUF_F_TX_IPV6;
  if (ip[6] != net::kIpProtoTcp) return;
  net::Ipv6Addr src, dst;
  std::memcpy(src.bytes.data(), ip + 8, 16);
  std::memcpy(dst.bytes.data(), ip + 24, 16);
  const uint16_t l4_len = net::load_be16(ip + 4);
  uint8_t* tcp = ip + net::kIpv6HeaderLen;
  m->l4_len = static_cast<uint64_t>(tcp[12] >> 4) * 4;
  if (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) {
    net::store_be16(tcp + 16,
                    net::ipv6_offload_pseudo_checksum(src, dst, net::kIpProtoTcp, l4_len, true));
  } else if (o.tx_tcp_checksum && chain_sums_evenly(m)) {
    m->ol_flags |= RTE_MBUF_F_TX_TCP_CKSUM;
    net::store_be16(tcp + 16,
                    net::ipv6_offload_pseudo_checksum(src, dst, net::kIpProtoTcp, l4_len, false));
  } else {
    net::store_be16(tcp + 16, 0);
    const uint32_t sum = mbuf_checksum_accumulate(
        m, static_cast<uint32_t>(net::kEthernetHeaderLen + net::kIpv6HeaderLen), l4_len,
        net::ipv6_pseudo_header_sum(src, dst, net::kIpProtoTcp, l4_len));
    net::store_be16(tcp + 16, static_cast<uint16_t>(~net::checksum_fold(sum)));
  }
}

void prepare_tx_checksums(rte_mbuf* m, const Offloads& o) {
  uint8_t* ip = rte_pktmbuf_mtod_offset(m, uint8_t*, net::kEthernetHeaderLen);
  if ((ip[0] >> 4) == 6) return prepare_tx_checksums6(m, ip, o);
  const uint32_t ihl = (ip[0] & 0x0fu) * 4u;
  const uint16_t total = net::load_be16(ip + 2);
  const uint8_t proto = ip[9];
  m->l2_len = net::kEthernetHeaderLen;
  m->l3_len = ihl;
  net::store_be16(ip + 10, 0);
  // A TSO frame (the TCP layer asked for it: RTE_MBUF_F_TX_TCP_SEG, tso_segsz) gets what
  // DPDK's TSO contract asks: RTE_MBUF_F_TX_IP_CKSUM with the field left 0, and in the TCP
  // field the pseudo-header sum without the length, since every segment the device cuts has
  // its own length and checksums (TCP_SEG implies TCP_CKSUM).
  const bool tso = (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) != 0;
  if (o.tx_ipv4_checksum || tso) {
    m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
  } else {
    m->ol_flags |= RTE_MBUF_F_TX_IPV4;
    net::store_be16(ip + 10, net::internet_checksum({ip, ihl}));
  }
  if (proto != net::kIpProtoTcp) return;

  const net::Ipv4Addr src{net::load_be32(ip + 12)};
  const net::Ipv4Addr dst{net::load_be32(ip + 16)};
  const auto l4_len = static_cast<uint16_t>(total - ihl);
  uint8_t* tcp = ip + ihl;  // the TCP header is always in the first segment
  m->l4_len = static_cast<uint64_t>(tcp[12] >> 4) * 4;
  if (tso) {
    net::store_be16(tcp + 16,
                    net::ipv4_offload_pseudo_checksum(src, dst, net::kIpProtoTcp, l4_len, true));
  } else if (o.tx_tcp_checksum && chain_sums_evenly(m)) {
    m->ol_flags |= RTE_MBUF_F_TX_TCP_CKSUM;
    net::store_be16(tcp + 16,
                    net::ipv4_offload_pseudo_checksum(src, dst, net::kIpProtoTcp, l4_len, false));
  } else {
    net::store_be16(tcp + 16, 0);
    uint32_t sum =
        mbuf_checksum_accumulate(m, static_cast<uint32_t>(net::kEthernetHeaderLen + ihl), l4_len,
                                 net::ipv4_pseudo_header_sum(src, dst, net::kIpProtoTcp, l4_len));
    net::store_be16(tcp + 16, static_cast<uint16_t>(~net::checksum_fold(sum)));
  }
}

}  // namespace pollux::engine
