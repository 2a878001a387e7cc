// ARP receive and transmit (RFC 826), with the cache rules of RFC 1122 2.3.2.
#include <cstring>

#include "net/arp.hpp"
#include "engine/engine.hpp"

namespace pollux::engine {

void Engine::arp_input(rte_mbuf* m, uint64_t now) {
  net::ArpPacket a;
  net::Bytes body{rte_pktmbuf_mtod_offset(m, const uint8_t*, net::kEthernetHeaderLen),
                  rte_pktmbuf_data_len(m) - net::kEthernetHeaderLen};
  if (net::parse_arp(body, a) != net::ArpError::ok) return drop(m, base::Counter::drop_arp_malformed);
  counters_.inc(a.op == net::ArpOp::request ? base::Counter::arp_requests_received
                                            : base::Counter::arp_replies_received);

  const bool probe = a.sender_ip.is_unspecified();  // RFC 5227 probe: sender has no address yet
  if (!probe && (a.sender_ip.is_broadcast() || a.sender_ip.is_multicast() ||
                 a.sender_mac.is_multicast() || config_.iface.owns(a.sender_ip)))
    return drop(m, base::Counter::drop_arp_bad_sender);

  const bool for_us = config_.iface.owns(a.target_ip);
  // RFC 826 merge: refresh what we know about the sender; make a new entry only when the
  // sender is talking to us (it is about to need us, and we it).
  // A refused update is not passed to the siblings either: they trust what we publish.
  if (!probe) {
    const ArpCache::Learned l =
        arp_.learn(a.sender_ip, a.sender_mac, for_us, now,
                   [this](rte_mbuf* p, const net::MacAddr& mac) { enqueue_frame(p, mac); });
    if (l == ArpCache::Learned::changed) counters_.inc(base::Counter::arp_mac_changed);
    if (l == ArpCache::Learned::refused) counters_.inc(base::Counter::arp_update_refused);
    if (l == ArpCache::Learned::updated || l == ArpCache::Learned::changed)
      publish_neighbour(a.sender_ip, a.sender_mac);
  }
  if (!for_us) return drop(m, base::Counter::drop_arp_not_for_us);
  if (a.op != net::ArpOp::request) {
    rte_pktmbuf_free(m);
    return;
  }
  // Answer in the request's own mbuf: no allocation, and the reply goes straight back to
  // the asker's hardware address (a probe's reply too, so its conflict check works).
  net::ArpPacket reply{net::ArpOp::reply, config_.iface.mac, a.target_ip, a.sender_mac,
                       a.sender_ip};
  send_arp(a.sender_mac, reply, m);
  counters_.inc(base::Counter::arp_replies_sent);
}

void Engine::publish_neighbour(net::Ipv4Addr ip, const net::MacAddr& mac) {
  if (neighbour_out_count_ == kNeighbourOutbox) {
    counters_.inc(base::Counter::neighbour_sync_overflow);
    return;
  }
  neighbour_out_[neighbour_out_count_++] = NeighbourUpdate{ip, mac};
}

void Engine::neighbour_update(const NeighbourUpdate& u, uint64_t now) {
  counters_.inc(base::Counter::neighbour_sync_received);
  if (u.is_ipv6) {
    // As for ARP below; the entry is made (the sibling may be the one that will need it)
    // and keeps the reachability the sibling saw.
    const NdCache::Learned l = nd_.learn(
        u.ip6, u.mac,
        NeighbourNews{.create = true, .override = true, .confirmed = u.confirmed != 0}, now,
        [this](rte_mbuf* p, const net::MacAddr& mac) {
          enqueue_frame(p, mac, net::EtherType::ipv6);
        },
        /*from_wire=*/false);
    if (l == NdCache::Learned::changed) counters_.inc(base::Counter::nd_mac_changed);
    return;
  }
  // A sibling heard it from the wire: as good as hearing it ourselves, and packets we hold
  // for this neighbour can leave now.
  const ArpCache::Learned l = arp_.learn(
      u.ip, u.mac, true, now,
      [this](rte_mbuf* p, const net::MacAddr& mac) { enqueue_frame(p, mac); },
      /*from_wire=*/false);
  if (l == ArpCache::Learned::changed) counters_.inc(base::Counter::arp_mac_changed);
}

void Engine::send_arp(const net::MacAddr& eth_dst, const net::ArpPacket& body,
                      rte_mbuf* reuse) {
  rte_mbuf* m = reuse ? reuse : rte_pktmbuf_alloc(pool_);
  if (!m) {
    counters_.inc(base::Counter::drop_no_mbuf);
    return;
  }
  if (reuse) rte_pktmbuf_reset(m);
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, net::kEthernetMinFrame));
  if (!p) return drop(m, base::Counter::drop_no_mbuf);
  std::memset(p, 0, net::kEthernetMinFrame);  // padding must not leak old buffer contents
  size_t off = net::write_ethernet_header(p, eth_dst, config_.iface.mac, net::EtherType::arp);
  net::write_arp(p + off, body);
  tx_push(m);
}

void Engine::send_arp_request(net::Ipv4Addr target) {
  net::ArpPacket a{net::ArpOp::request, config_.iface.mac, source_for(target), net::MacAddr{},
                   target};
  send_arp(net::MacAddr::broadcast(), a, nullptr);
  counters_.inc(base::Counter::arp_requests_sent);
}

}  // namespace pollux::engine
