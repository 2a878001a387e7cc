// IPv6 output: the next hop (on-link or the gateway, RFC 4861 5.2), neighbour resolution
// through the IPv6 neighbour cache (RFC 4861 7.2.2, 7.3), and duplicate address detection
// for our own addresses at start (RFC 4862 5.4).
#include <cstring>

#include "engine/engine.hpp"
#include "net/ethernet.hpp"
#include "net/icmpv6.hpp"
#include "net/ipv6.hpp"

namespace pollux::engine {

void Engine::ip6_output(rte_mbuf* m, uint64_t now) {
  net::Ipv6Addr dst;
  std::memcpy(dst.bytes.data(),
              rte_pktmbuf_mtod_offset(m, const uint8_t*, net::kEthernetHeaderLen + 24), 16);
  // RFC 4861 7.2.1: multicast needs no resolution, its group maps to a MAC (RFC 2464 7).
  if (dst.is_multicast()) return enqueue_frame(m, net::multicast_mac(dst), net::EtherType::ipv6);
  net::Ipv6Addr next_hop = dst;
  if (!addrs6_.on_link(dst)) {
    if (!config_.iface.gateway6) return drop(m, base::Counter::drop_no_route);
    next_hop = *config_.iface.gateway6;
  }
  net::MacAddr mac;
  switch (nd_.resolve(next_hop, m, now, mac)) {
    case NdCache::Resolve::resolved:
      return enqueue_frame(m, mac, net::EtherType::ipv6);
    case NdCache::Resolve::resolved_probe:  // not with a DELAY (NdConfig), but handled
      enqueue_frame(m, mac, net::EtherType::ipv6);
      return send_neighbour_solicit(next_hop, &mac, now);
    case NdCache::Resolve::queued_request:
      return send_neighbour_solicit(next_hop, nullptr, now);
    case NdCache::Resolve::queued:
      return;
    case NdCache::Resolve::drop_cache_full:
      counters_.inc(base::Counter::nd_cache_full);
      return drop(m, base::Counter::drop_nd_unresolved);
    case NdCache::Resolve::drop_pending_full:
      return drop(m, base::Counter::drop_nd_pending_overflow);
    case NdCache::Resolve::drop_pending_total:
      return drop(m, base::Counter::drop_nd_pending_total);
    case NdCache::Resolve::drop_rate_limited:
      return drop(m, base::Counter::drop_nd_new_entry_rate_limited);
  }
}

void Engine::publish_neighbour6(const net::Ipv6Addr& ip, const net::MacAddr& mac, bool confirmed) {
  if (neighbour_out_count_ == kNeighbourOutbox) {
    counters_.inc(base::Counter::neighbour_sync_overflow);
    return;
  }
  NeighbourUpdate u{};
  u.mac = mac;
  u.is_ipv6 = 1;
  u.confirmed = confirmed ? 1 : 0;
  u.ip6 = ip;
  neighbour_out_[neighbour_out_count_++] = u;
}

// --- Duplicate address detection (RFC 4862 5.4) ------------------------------------------

void Engine::start_ipv6(uint64_t now) {
  if (addrs6_.empty()) return;
  if (config_.dad_probes == 0) {
    // No DAD: the addresses are ours at once (RFC 4862 5.4: DupAddrDetectTransmits 0).
    if (config_.lcore_index == 0)
      for (const LocalAddrs6::Addr& a : addrs6_.all())
        send_neighbour_advert(a.addr, net::kIpv6AllNodes, false, now);
    return;
  }
  // RFC 4862 5.4: every address is tentative until its probes went unanswered: not used,
  // not answered for. Each engine keeps the state; the probes go out once per port.
  // The random delay before the first probe (5.4.2, MAX_RTR_SOLICITATION_DELAY) is left
  // out: pollux's ports do not all come up at once after a power cut, and start-up stays
  // short. So is joining the groups with MLD (a snooping switch may need it).
  for (LocalAddrs6::Addr& a : addrs6_.all()) a.state = LocalAddrs6::State::tentative;
  dad_probes_left_ = config_.dad_probes;
  dad_running_ = true;
  dad_due_ = now;
  poll_dad(now);
}

void Engine::poll_dad(uint64_t now) {
  if (!dad_running_ || now < dad_due_) return;
  if (dad_probes_left_ > 0) {
    --dad_probes_left_;
    dad_due_ = now + config_.dad_retrans_ns;
    if (config_.lcore_index != 0) return;
    for (const LocalAddrs6::Addr& a : addrs6_.all()) {
      if (a.state != LocalAddrs6::State::tentative) continue;
      // RFC 4862 5.4.2: from the unspecified address, to the tentative address's
      // solicited-node group, without a source link-layer option (RFC 4861 4.3), hop
      // limit 255 like every ND message.
      uint8_t body[32];
      (void)net::write_ns_body(body, a.addr, config_.iface.mac.bytes);
      const net::MacAddr mac = net::multicast_mac(a.solicited);
      if (send_icmpv6(net::Ipv6Addr{}, a.solicited, 255, net::kIcmpv6NeighbourSolicit, {body, 20},
                      now, &mac))
        counters_.inc(base::Counter::nd_dad_probes_sent);
    }
    return;
  }
  // RetransTimer after the last probe and no conflict: the addresses are ours (5.4.5 did
  // not happen). Announce them (RFC 4861 7.2.6) now that they may be advertised.
  dad_running_ = false;
  for (LocalAddrs6::Addr& a : addrs6_.all()) {
    if (a.state != LocalAddrs6::State::tentative) continue;
    a.state = LocalAddrs6::State::preferred;
    if (config_.lcore_index == 0) send_neighbour_advert(a.addr, net::kIpv6AllNodes, false, now);
  }
}

void Engine::dad_conflict(LocalAddrs6::Addr& a) {
  // RFC 4862 5.4.5: the tentative address is a duplicate and is not assigned. Counted by
  // name; the runtime reports the counter (there is no logging in the engine).
  a.state = LocalAddrs6::State::duplicate;
  counters_.inc(base::Counter::nd_duplicate_address);
  counters_.inc(base::Counter::nd_dad_duplicate);
}

}  // namespace pollux::engine
