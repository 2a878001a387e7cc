// IPv4 output: route (on-link or gateway, RFC 1122 3.3.1), neighbour resolution, checksums,
// the TX batch.
#include <algorithm>
#include <array>
#include <cstring>

#include "engine/checksum_offload.hpp"
#include "engine/engine.hpp"
#include "engine/tso_cut.hpp"
#include "net/ethernet.hpp"
#include "net/ipv4.hpp"
#include "net/ipv6.hpp"

namespace pollux::engine {

net::Ipv4Addr Engine::source_for(net::Ipv4Addr dst) const {
  for (const auto& p : config_.iface.addrs)
    if (p.contains(dst)) return p.addr;
  return config_.iface.addrs.empty() ? net::Ipv4Addr{} : config_.iface.addrs.front().addr;
}

void Engine::ip_output(rte_mbuf* m, uint64_t now, bool prepared) {
  const uint8_t* ip = rte_pktmbuf_mtod_offset(m, const uint8_t*, net::kEthernetHeaderLen);
  // Larger than the link takes and allowed to fragment (an echo reply to a reassembled
  // request): RFC 1122 3.3.3, a host may fragment what it sends. TCP never is (DF, and its
  // checksum would have to be final first); tx_push refuses an oversize frame.
  if (rte_pktmbuf_pkt_len(m) > config_.iface.mtu + net::kEthernetHeaderLen &&
      (net::load_be16(ip + 6) & 0x4000) == 0 && ip[9] != net::kIpProtoTcp)
    return fragment_output(m, now);
  const net::Ipv4Addr dst{net::load_be32(ip + 16)};
  net::Ipv4Addr next_hop = dst;
  if (!addrs4_.on_link(dst)) {
    if (!config_.iface.gateway) return drop(m, base::Counter::drop_no_route);
    next_hop = *config_.iface.gateway;
  }
  // On a port whose device TSO cannot be used (net_tap) a TSO frame is cut here into the
  // segments a device would make (tso_cut.hpp); each then takes the ordinary path.
  if ((m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) && config_.iface.offloads.tx_tso_in_engine)
    return tso_software_cut(m, now);
  // Checksums first: a packet parked while its neighbour resolves leaves complete.
  if (!prepared) prepare_tx_checksums(m, config_.iface.offloads);

  // The next hop's MAC comes from the neighbour cache, never from the source address of the
  // frame being answered (issue 14 asked whether a SYN-ACK to an unresolved on-link source
  // could simply go back to the SYN's Ethernet source, as it would skip one ARP exchange
  // per spoofed source). It could not, and Linux does not either: the SYN-ACK carries the
  // cookie, and a cookie is only worth something because it reaches the owner of the
  // source address, not whoever put that address in a frame (RFC 4987 3.6: the handshake
  // then proves the return path). Sent to the frame's source, a spoofer on the link would
  // receive every cookie and complete connections as any address of the subnet. The cost
  // it would save is bounded anyway: new entries are budgeted, held packets capped, and a
  // new entry never takes a reachable neighbour's place (neighbour_cache.cpp).
  net::MacAddr mac;
  switch (arp_.resolve(next_hop, m, now, mac)) {
    case ArpCache::Resolve::resolved:
      return enqueue_frame(m, mac);
    case ArpCache::Resolve::resolved_probe:
      enqueue_frame(m, mac);
      return send_arp_request(next_hop);
    case ArpCache::Resolve::queued_request:
      return send_arp_request(next_hop);
    case ArpCache::Resolve::queued:
      return;
    case ArpCache::Resolve::drop_cache_full:
      counters_.inc(base::Counter::arp_cache_full);
      return drop(m, base::Counter::drop_arp_unresolved);
    case ArpCache::Resolve::drop_pending_full:
      return drop(m, base::Counter::drop_arp_pending_overflow);
    case ArpCache::Resolve::drop_pending_total:
      return drop(m, base::Counter::drop_arp_pending_total);
    case ArpCache::Resolve::drop_rate_limited:
      return drop(m, base::Counter::drop_arp_new_entry_rate_limited);
  }
}

void Engine::tso_software_cut(rte_mbuf* m, uint64_t now) {
  std::array<rte_mbuf*, kTsoMaxSegments> segs;
  const uint16_t n = tso_cut(m, pool_, segs);
  rte_pktmbuf_free(m);
  if (n == 0) return counters_.inc(base::Counter::drop_tcp_no_mbuf);  // TCP's RTO resends
  counters_.inc(base::Counter::tcp_tso_software_cuts);
  for (uint16_t i = 0; i < n; ++i) tcp_output(segs[i], now);  // by each one's IP version
}

void Engine::fragment_output(rte_mbuf* m, uint64_t now) {
  const uint8_t* hdr = rte_pktmbuf_mtod_offset(m, const uint8_t*, net::kEthernetHeaderLen);
  const uint32_t ihl = (hdr[0] & 0x0fu) * 4u;
  const uint32_t total = net::load_be16(hdr + 2);
  // RFC 791 3.2: every fragment but the last carries a multiple of 8 octets, and fits both
  // the MTU and one buffer of the pool (fragments are copied into fresh single buffers, so
  // a device without multi-segment TX sends them too).
  const uint32_t room = rte_pktmbuf_data_room_size(pool_) - RTE_PKTMBUF_HEADROOM;
  const uint32_t frame_max = std::min<uint32_t>(config_.iface.mtu + net::kEthernetHeaderLen, room);
  const uint32_t unit = (frame_max - net::kEthernetHeaderLen - net::kIpv4MinHeaderLen) & ~7u;
  if (frame_max < net::kEthernetHeaderLen + ihl + 8 || unit < 8)
    return drop(m, base::Counter::drop_tx_oversize);
  for (uint32_t off = 0; off < total - ihl;) {
    // Options (never sent by pollux today) would stay in the first fragment only; the later
    // ones carry the 20-byte header (RFC 791 3.1: only "copied" options repeat).
    const uint32_t h = off == 0 ? ihl : net::kIpv4MinHeaderLen;
    const uint32_t max_payload =
        off == 0 ? (frame_max - net::kEthernetHeaderLen - ihl) & ~7u : unit;
    const uint32_t len = std::min(max_payload, total - ihl - off);
    const bool more = off + len < total - ihl;
    rte_mbuf* f = rte_pktmbuf_alloc(pool_);
    uint8_t* p = f ? reinterpret_cast<uint8_t*>(rte_pktmbuf_append(
                         f, static_cast<uint16_t>(net::kEthernetHeaderLen + h + len)))
                   : nullptr;
    if (p == nullptr) {
      if (f) rte_pktmbuf_free(f);
      return drop(m, base::Counter::drop_no_mbuf);  // the rest is not sent: the datagram is lost
    }
    uint8_t* ip = p + net::kEthernetHeaderLen;
    std::memcpy(ip, hdr, net::kIpv4MinHeaderLen);
    if (off == 0)
      std::memcpy(ip + net::kIpv4MinHeaderLen, hdr + net::kIpv4MinHeaderLen,
                  ihl - net::kIpv4MinHeaderLen);
    ip[0] = static_cast<uint8_t>(0x40 | (h / 4));
    net::store_be16(ip + 2, static_cast<uint16_t>(h + len));
    net::store_be16(ip + 6, static_cast<uint16_t>((more ? 0x2000 : 0) | (off / 8)));
    net::store_be16(ip + 10, 0);
    uint8_t* dst = ip + h;
    const void* src = rte_pktmbuf_read(m, net::kEthernetHeaderLen + ihl + off, len, dst);
    if (src != dst) std::memcpy(dst, src, len);
    counters_.inc(base::Counter::ip_fragments_created);
    ip_output(f, now);
    off += len;
  }
  rte_pktmbuf_free(m);
}

void Engine::enqueue_frame(rte_mbuf* m, const net::MacAddr& dst, net::EtherType type) {
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  dst.store(p);
  config_.iface.mac.store(p + 6);
  net::store_be16(p + 12, static_cast<uint16_t>(type));
  tx_push(m);
}

void Engine::tx_push(rte_mbuf* m) {
  const uint32_t len = rte_pktmbuf_pkt_len(m);
  // Never hand the device a frame above the MTU: some drivers (net_tap) refuse it without
  // consuming it, and it would block the queue behind it forever. Counted: it is a bug. A
  // TSO frame on a port that does TSO may hold up to an IPv4 datagram's 64 KB, or an IPv6
  // header and 64 KB of payload (RFC 8200 3: the payload length leaves the header out).
  const bool tso = (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) && config_.iface.offloads.tx_tso;
  const bool v6 =
      (rte_pktmbuf_mtod_offset(m, const uint8_t*, net::kEthernetHeaderLen)[0] >> 4) == 6;
  const uint32_t max = tso ? 0xffffu + (v6 ? net::kIpv6HeaderLen : 0) : config_.iface.mtu;
  if (len > max + net::kEthernetHeaderLen) return drop(m, base::Counter::drop_tx_oversize);
  if (!tx_.push(m)) return drop(m, base::Counter::drop_tx_full);
  counters_.inc(base::Counter::tx_packets);
  counters_.inc(base::Counter::tx_bytes, len);
}

}  // namespace pollux::engine
