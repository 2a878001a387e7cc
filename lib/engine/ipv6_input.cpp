// IPv6 receive (RFC 8200) and what pollux answers over it so far: ICMPv6 echo (RFC 4443 4)
// and neighbour discovery (RFC 4861 7.2: solicitations answered, advertisements learnt from,
// duplicates noticed; RFC 4862 5.4: our addresses checked for duplicates at start), and TCP,
// handed to the same TCP input as IPv4's (tcp_segment_input.cpp).
// Replies leave through ip6_output (ipv6_output.cpp) and its neighbour cache.
#include <cstring>

#include "engine/engine.hpp"
#include "net/ethernet.hpp"
#include "net/icmpv6.hpp"
#include "net/ipv6.hpp"

namespace pollux::engine {

namespace {
// RFC 4861 6.1.2/7.1: neighbour discovery travels with hop limit 255, which no router
// forwards, so a received 255 proves the sender is on our link.
constexpr uint8_t kNdHopLimit = 255;
constexpr uint8_t kDefaultHopLimit = 64;
}  // namespace

void Engine::ipv6_input(rte_mbuf* m, uint64_t now) {
  if (addrs6_.empty()) return drop(m, base::Counter::drop_ipv6);
  net::Ipv6Header ip;
  const net::Bytes packet{rte_pktmbuf_mtod_offset(m, const uint8_t*, net::kEthernetHeaderLen),
                          rte_pktmbuf_data_len(m) - net::kEthernetHeaderLen};
  // A chain (input_one let only TCP through unflattened) is checked against its whole length.
  switch (net::parse_ipv6(packet, ip, rte_pktmbuf_pkt_len(m) - net::kEthernetHeaderLen)) {
    case net::Ipv6Error::ok:
      break;
    case net::Ipv6Error::routing_type0:
      return drop(m, base::Counter::drop_ipv6_routing_type0);
    case net::Ipv6Error::fragment:
      return drop(m, base::Counter::drop_ipv6_fragment);
    default:
      return drop(m, base::Counter::drop_ipv6_malformed);
  }
  // RFC 4291 2.5.2/2.7: the unspecified address is a source only while a node probes for
  // its address (checked with the solicitation itself); multicast and loopback never are.
  // Our own address as a source is a spoofed or looped frame (as IPv4's LAND check).
  // An IPv4-mapped source (RFC 4291 2.5.5.2) never travels in an IPv6 header; TCP would
  // take it for an IPv4 peer (net/ip_addr.hpp); the deprecated IPv4-compatible form
  // (::a.b.c.d, RFC 4291 2.5.5.1) is no longer assigned, and RFC 6890 lists ::/96 as not
  // forwardable: only a spoofer or an automatic tunnel's stray sends it. (The unspecified
  // source is judged below, once the destination says whether it can be a probe.)
  if ((!ip.src.is_unicast_peer() && !ip.src.is_unspecified()) || addrs6_.owns(ip.src))
    return drop(m, base::Counter::drop_ipv6_bad_source);
  if (!addrs6_.accepts(ip.dst)) return drop(m, base::Counter::drop_ipv6_not_for_us);
  if (ip.src.is_unspecified() && ip.upper_protocol != net::kIpProtoIcmpv6)
    return drop(m, base::Counter::drop_ipv6_bad_source);
  if (ip.upper_protocol == net::kIpProtoTcp) return tcp6_input(base::UniqueMbuf{m}, ip, now);
  if (ip.upper_protocol != net::kIpProtoIcmpv6)
    return drop(m, base::Counter::drop_ipv6_unknown_protocol);
  icmpv6_input(m, ip, now);
}

void Engine::icmpv6_input(rte_mbuf* m, const net::Ipv6Header& ip, uint64_t now) {
  net::Icmpv6Message msg;
  switch (net::parse_icmpv6(ip, msg)) {
    case net::Icmpv6Error::ok:
      break;
    case net::Icmpv6Error::bad_checksum:
      return drop(m, base::Counter::drop_icmpv6_bad_checksum);
    case net::Icmpv6Error::bad_nd:
      return drop(m, base::Counter::drop_icmpv6_bad_nd);
    case net::Icmpv6Error::bad_mld:
      return drop(m, base::Counter::drop_icmpv6_bad_mld);
    default:
      return drop(m, base::Counter::drop_icmpv6_malformed);
  }
  switch (msg.type) {
    case net::kIcmpv6EchoRequest: {
      counters_.inc(base::Counter::icmpv6_echo_requests);
      // As for IPv4 broadcasts (icmp_input.cpp), a ping to a group is not answered: one
      // request must not draw a reply from every host of the link.
      if (ip.dst.is_multicast()) return drop(m, base::Counter::drop_ipv6_not_for_us);
      if (!icmp_echo_budget_.take(now)) return drop(m, base::Counter::drop_icmpv6_rate_limited);
      // RFC 4443 4.2: the reply carries the request's identifier, sequence number and data,
      // from the address the request was sent to.
      const net::Bytes body = msg.body;
      const net::Ipv6Addr src = ip.dst, dst = ip.src;
      if (send_icmpv6(src, dst, kDefaultHopLimit, net::kIcmpv6EchoReply, body, now))
        counters_.inc(base::Counter::icmpv6_echo_replies_sent);
      rte_pktmbuf_free(m);
      return;
    }
    case net::kIcmpv6NeighbourSolicit:
      return nd_solicit_input(m, ip, msg, now);
    case net::kIcmpv6NeighbourAdvert:
      return nd_advert_input(m, msg, now);
    case net::kIcmpv6PacketTooBig:
      return packet_too_big_input(m, msg, now);  // icmp_input.cpp, beside IPv4's PMTUD
    case net::kIcmpv6MldQuery:
      if (config_.mld) return mld_query_input(m, msg, now);  // ipv6_output.cpp
      break;
    default:
      break;
  }
  counters_.inc(base::Counter::icmpv6_other_received);
  rte_pktmbuf_free(m);
}

void Engine::nd_solicit_input(rte_mbuf* m, const net::Ipv6Header& ip, const net::Icmpv6Message& msg,
                              uint64_t now) {
  LocalAddrs6::Addr* a = addrs6_.find(msg.target);
  if (!a || a->state == LocalAddrs6::State::duplicate)
    return drop(m, base::Counter::drop_nd_not_our_target);
  const net::MacAddr from = net::MacAddr::load(rte_pktmbuf_mtod_offset(m, const uint8_t*, 6));
  if (ip.src.is_unspecified()) {
    if (a->state == LocalAddrs6::State::tentative) {
      // RFC 4862 5.4.3: another node probes the address we are probing; neither may use
      // it. Our own probe looped back by the device (our source MAC) is no evidence.
      if (from == config_.iface.mac) return drop(m, base::Counter::drop_nd_looped);
      rte_pktmbuf_free(m);
      return dad_conflict(*a);
    }
    // RFC 4862 5.4.3: another node probing our address (DAD). We keep the address and
    // defend it: the advertisement goes to all-nodes, not solicited (RFC 4861 7.2.4).
    counters_.inc(base::Counter::nd_duplicate_address);
    const net::Ipv6Addr target = msg.target;
    rte_pktmbuf_free(m);
    return send_neighbour_advert(target, net::kIpv6AllNodes, false, now);
  }
  // RFC 4862 5.4.3: a solicitation for a tentative address from a node with an address
  // is silently discarded (it is not ours yet).
  if (a->state == LocalAddrs6::State::tentative)
    return drop(m, base::Counter::drop_nd_tentative_target);
  counters_.inc(base::Counter::nd_solicitations_received);
  // RFC 4861 7.2.3: the sender's source link-layer option makes or updates its entry, as
  // STALE when new or changed (the solicitation proves nothing about the path back); the
  // advertisement below then leaves without resolving.
  if (msg.link_addr) {
    net::MacAddr mac;
    mac.bytes = *msg.link_addr;
    const NdCache::Learned l =
        nd_.learn(ip.src, mac, NeighbourNews{.create = true, .override = true, .confirmed = false},
                  now, [this](rte_mbuf* p, const net::MacAddr& to) {
                    enqueue_frame(p, to, net::EtherType::ipv6);
                  });
    if (l == NdCache::Learned::changed) counters_.inc(base::Counter::nd_mac_changed);
    if (l == NdCache::Learned::updated || l == NdCache::Learned::changed)
      publish_neighbour6(ip.src, mac, false);
  }
  // RFC 4861 7.2.4: solicited, with our link-layer address, override set since the address
  // is ours and not anycast; unicast to the solicitation's source through the cache (a
  // solicitation without the option is answered once its sender is resolved).
  const net::Ipv6Addr target = msg.target, to = ip.src;
  rte_pktmbuf_free(m);
  send_neighbour_advert(target, to, true, now);
}

void Engine::nd_advert_input(rte_mbuf* m, const net::Icmpv6Message& msg, uint64_t now) {
  counters_.inc(base::Counter::nd_advertisements_received);
  const net::MacAddr from = net::MacAddr::load(rte_pktmbuf_mtod_offset(m, const uint8_t*, 6));
  if (LocalAddrs6::Addr* a = addrs6_.find(msg.target)) {
    if (from == config_.iface.mac) return drop(m, base::Counter::drop_nd_looped);
    // RFC 4862 5.4.4: an advertisement for one of our addresses that we did not send means
    // another node uses it: during DAD the address is a duplicate and is not used.
    if (a->state == LocalAddrs6::State::tentative)
      dad_conflict(*a);
    else
      counters_.inc(base::Counter::nd_duplicate_address);
    rte_pktmbuf_free(m);
    return;
  }
  // RFC 4861 7.2.5: an advertisement updates an existing entry only (none is made); its
  // solicited flag confirms reachability, its override flag lets it replace a known
  // address. Without a target link-layer option it can only confirm.
  if (msg.link_addr) {
    net::MacAddr mac;
    mac.bytes = *msg.link_addr;
    const NeighbourNews news{
        .create = false, .override = msg.override_flag, .confirmed = msg.solicited};
    const NdCache::Learned l =
        nd_.learn(msg.target, mac, news, now, [this](rte_mbuf* p, const net::MacAddr& to) {
          enqueue_frame(p, to, net::EtherType::ipv6);
        });
    if (l == NdCache::Learned::changed) counters_.inc(base::Counter::nd_mac_changed);
    if (l == NdCache::Learned::refused) counters_.inc(base::Counter::nd_update_refused);
    if (l == NdCache::Learned::updated || l == NdCache::Learned::changed)
      publish_neighbour6(msg.target, mac, msg.solicited);
  } else if (msg.solicited) {
    (void)nd_.confirm(msg.target, now);
  }
  rte_pktmbuf_free(m);
}

void Engine::send_neighbour_advert(const net::Ipv6Addr& target, const net::Ipv6Addr& to,
                                   bool solicited, uint64_t now) {
  uint8_t body[32];
  const size_t n =
      net::write_na_body(body, target, config_.iface.mac.bytes, false, solicited, true);
  // The advertisement's source is the address it advertises (RFC 4861 7.2.4 allows any of
  // the interface's; Linux uses the target, and the peer then learns both at once).
  if (send_icmpv6(target, to, kNdHopLimit, net::kIcmpv6NeighbourAdvert, {body, n}, now))
    counters_.inc(base::Counter::nd_advertisements_sent);
}

void Engine::send_neighbour_solicit(const net::Ipv6Addr& target, const net::MacAddr* unicast,
                                    uint64_t now) {
  // RFC 4861 7.2.2: from one of our addresses (the one facing the target), with our
  // link-layer address; to the target's solicited-node group, or to the target itself when
  // re-validating the address we hold (7.3.3 PROBE).
  const net::Ipv6Addr* src = addrs6_.source_for(target);
  if (src == nullptr) return;  // every address of ours is tentative or a duplicate
  uint8_t body[32];
  const size_t n = net::write_ns_body(body, target, config_.iface.mac.bytes);
  const net::Ipv6Addr dst = unicast ? target : target.solicited_node();
  const net::MacAddr mac = unicast ? *unicast : net::multicast_mac(dst);
  if (send_icmpv6(*src, dst, kNdHopLimit, net::kIcmpv6NeighbourSolicit, {body, n}, now, &mac))
    counters_.inc(base::Counter::nd_solicitations_sent);
}

bool Engine::send_icmpv6(const net::Ipv6Addr& src, const net::Ipv6Addr& dst, uint8_t hop_limit,
                         uint8_t type, net::Bytes body, uint64_t now, const net::MacAddr* eth_dst,
                         bool router_alert) {
  // RFC 2711's Router Alert in an 8-byte hop-by-hop header: next header ICMPv6, length 0,
  // the option (type 5, length 2, value 0: MLD), PadN of two bytes to the 8-byte boundary.
  static constexpr uint8_t kRouterAlert[8] = {net::kIpProtoIcmpv6, 0, 5, 2, 0, 0, 1, 0};
  const size_t ext_len = router_alert ? sizeof kRouterAlert : 0;
  const size_t icmp_len = 4 + body.size();
  const size_t frame_len = net::kEthernetHeaderLen + net::kIpv6HeaderLen + ext_len + icmp_len;
  if (frame_len > net::kEthernetHeaderLen + config_.iface.mtu) {
    // An echo request larger than our MTU arrived whole (a jumbo peer): the reply cannot
    // leave without fragmenting, which pollux's IPv6 output does not do (RFC 8200 5 lets
    // the source fragment; it need not).
    counters_.inc(base::Counter::drop_icmpv6_reply_too_big);
    return false;
  }
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (!m) {
    counters_.inc(base::Counter::drop_no_mbuf);
    return false;
  }
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(frame_len)));
  if (!p) {  // within the MTU but not one buffer of this pool
    rte_pktmbuf_free(m);
    counters_.inc(base::Counter::drop_icmpv6_reply_too_big);
    return false;
  }
  net::write_ethernet_header(p, eth_dst ? *eth_dst : net::MacAddr{}, config_.iface.mac,
                             net::EtherType::ipv6);
  net::Ipv6Build b;
  b.src = src;
  b.dst = dst;
  b.next_header = router_alert ? net::kIpv6HopByHop : net::kIpProtoIcmpv6;
  b.payload_len = static_cast<uint16_t>(ext_len + icmp_len);
  b.hop_limit = hop_limit;
  uint8_t* h = p + net::kEthernetHeaderLen;
  h += net::write_ipv6_header(h, b);
  if (router_alert) std::memcpy(h, kRouterAlert, ext_len);
  net::write_icmpv6(h + ext_len, src, dst, type, 0, body);
  if (eth_dst)
    tx_push(m);
  else
    ip6_output(m, now);
  return true;
}

}  // namespace pollux::engine
