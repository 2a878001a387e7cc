// IPv4 output: route (on-link or gateway, RFC 1122 3.3.1), neighbour resolution, checksums,
// the TX batch.
#include "net/ethernet.hpp"
#include "net/ipv4.hpp"
#include "engine/checksum_offload.hpp"
#include "engine/engine.hpp"

namespace pollux::engine {

net::Ipv4Addr Engine::source_for(net::Ipv4Addr dst) const {
  for (const auto& p : config_.iface.addrs)
    if (p.contains(dst)) return p.addr;
  return config_.iface.addrs.empty() ? net::Ipv4Addr{} : config_.iface.addrs.front().addr;
}

void Engine::ip_output(rte_mbuf* m, uint64_t now) {
  const uint8_t* ip = rte_pktmbuf_mtod_offset(m, const uint8_t*, net::kEthernetHeaderLen);
  const net::Ipv4Addr dst{net::load_be32(ip + 16)};
  net::Ipv4Addr next_hop = dst;
  if (!config_.iface.on_link(dst)) {
    if (!config_.iface.gateway) return drop(m, base::Counter::drop_no_route);
    next_hop = *config_.iface.gateway;
  }
  // Checksums first: a packet parked while its neighbour resolves leaves complete.
  prepare_tx_checksums(m, config_.iface.offloads);

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
    case ArpCache::Resolve::drop_rate_limited:
      return drop(m, base::Counter::drop_arp_new_entry_rate_limited);
  }
}

void Engine::enqueue_frame(rte_mbuf* m, const net::MacAddr& dst) {
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  dst.store(p);
  config_.iface.mac.store(p + 6);
  net::store_be16(p + 12, static_cast<uint16_t>(net::EtherType::ipv4));
  tx_push(m);
}

void Engine::tx_push(rte_mbuf* m) {
  const uint32_t len = rte_pktmbuf_pkt_len(m);
  // Never hand the device a frame above the MTU: some drivers (net_tap) refuse it without
  // consuming it, and it would block the queue behind it forever. Counted: it is a bug. A
  // TSO frame on a port that does TSO may hold up to an IPv4 datagram's 64 KB.
  const bool tso = (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) && config_.iface.offloads.tx_tso;
  const uint32_t max = tso ? 0xffffu : config_.iface.mtu;
  if (len > max + net::kEthernetHeaderLen) return drop(m, base::Counter::drop_tx_oversize);
  if (!tx_.push(m)) return drop(m, base::Counter::drop_tx_full);
  counters_.inc(base::Counter::tx_packets);
  counters_.inc(base::Counter::tx_bytes, len);
}

}  // namespace pollux::engine
