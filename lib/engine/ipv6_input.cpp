// IPv6 receive (RFC 8200) and what pollux answers over it so far: ICMPv6 echo (RFC 4443 4)
// and neighbour discovery for our own addresses (RFC 4861 7.2: solicitations answered,
// advertisements at start, duplicates noticed). TCP over IPv6 is not spoken yet: it is
// counted and dropped like any other unknown upper layer.
//
// Replies go back to the link-layer address the request came from (the solicitation's
// source link-layer option when it has one): every reply answers a frame that just arrived
// from that neighbour, so no neighbour cache is needed for them.
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
  if (!config_.iface.has_ipv6()) return drop(m, base::Counter::drop_ipv6);
  net::Ipv6Header ip;
  const net::Bytes packet{rte_pktmbuf_mtod_offset(m, const uint8_t*, net::kEthernetHeaderLen),
                          rte_pktmbuf_data_len(m) - net::kEthernetHeaderLen};
  switch (net::parse_ipv6(packet, ip)) {
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
  if (ip.src.is_multicast() || ip.src.is_loopback() || config_.iface.owns(ip.src))
    return drop(m, base::Counter::drop_ipv6_bad_source);
  if (!config_.iface.accepts(ip.dst)) return drop(m, base::Counter::drop_ipv6_not_for_us);
  if (ip.src.is_unspecified() && ip.upper_protocol != net::kIpProtoIcmpv6)
    return drop(m, base::Counter::drop_ipv6_bad_source);
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
    default:
      return drop(m, base::Counter::drop_icmpv6_malformed);
  }
  const auto* eth = rte_pktmbuf_mtod(m, const uint8_t*);
  net::MacAddr from;
  std::memcpy(from.bytes.data(), eth + 6, 6);

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
      send_icmpv6(from, src, dst, kDefaultHopLimit, net::kIcmpv6EchoReply, body);
      counters_.inc(base::Counter::icmpv6_echo_replies_sent);
      rte_pktmbuf_free(m);
      return;
    }
    case net::kIcmpv6NeighbourSolicit: {
      if (!config_.iface.owns(msg.target)) return drop(m, base::Counter::drop_nd_not_our_target);
      if (ip.src.is_unspecified()) {
        // RFC 4862 5.4.3: another node probing our address (DAD). We keep the address and
        // defend it: the advertisement goes to all-nodes, not solicited (RFC 4861 7.2.4).
        counters_.inc(base::Counter::nd_duplicate_address);
        send_neighbour_advert(msg.target, InterfaceConfig::all_nodes(), false);
        rte_pktmbuf_free(m);
        return;
      }
      counters_.inc(base::Counter::nd_solicitations_received);
      // RFC 4861 7.2.4: solicited, with our link-layer address; the override flag set since
      // the address is ours and not anycast. Sent to the solicitation's source, at the
      // link-layer address its option names (else the frame's source).
      if (msg.link_addr) std::memcpy(from.bytes.data(), msg.link_addr->data(), 6);
      const net::Ipv6Addr target = msg.target, to = ip.src;
      rte_pktmbuf_free(m);
      send_neighbour_advert(target, to, true, &from);
      return;
    }
    case net::kIcmpv6NeighbourAdvert:
      counters_.inc(base::Counter::nd_advertisements_received);
      // RFC 4862 5.4.4: an advertisement for one of our addresses that we did not send
      // means another node uses it.
      if (config_.iface.owns(msg.target)) counters_.inc(base::Counter::nd_duplicate_address);
      rte_pktmbuf_free(m);
      return;
    default:
      counters_.inc(base::Counter::icmpv6_other_received);
      rte_pktmbuf_free(m);
      return;
  }
}

void Engine::send_neighbour_advert(const net::Ipv6Addr& target, const net::Ipv6Addr& to,
                                   bool solicited, const net::MacAddr* to_mac) {
  uint8_t body[32];
  const size_t n =
      net::write_na_body(body, target, config_.iface.mac.bytes, false, solicited, true);
  const net::MacAddr mac = to_mac ? *to_mac : net::MacAddr{to.multicast_mac()};
  // The advertisement's source is the address it advertises (RFC 4861 7.2.4 allows any of
  // the interface's; Linux uses the target, and the peer then learns both at once).
  if (send_icmpv6(mac, target, to, kNdHopLimit, net::kIcmpv6NeighbourAdvert, {body, n}))
    counters_.inc(base::Counter::nd_advertisements_sent);
}

bool Engine::send_icmpv6(const net::MacAddr& eth_dst, const net::Ipv6Addr& src,
                         const net::Ipv6Addr& dst, uint8_t hop_limit, uint8_t type,
                         net::Bytes body) {
  const size_t icmp_len = 4 + body.size();
  const size_t frame_len = net::kEthernetHeaderLen + net::kIpv6HeaderLen + icmp_len;
  if (frame_len > net::kEthernetHeaderLen + config_.iface.mtu) {
    // An echo request larger than our MTU arrived whole (a jumbo peer): the reply cannot
    // leave without fragmenting, which pollux does not do.
    counters_.inc(base::Counter::drop_tx_oversize);
    return false;
  }
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (!m) {
    counters_.inc(base::Counter::drop_no_mbuf);
    return false;
  }
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(frame_len)));
  if (!p) {
    rte_pktmbuf_free(m);
    counters_.inc(base::Counter::drop_tx_oversize);
    return false;
  }
  eth_dst.store(p);
  config_.iface.mac.store(p + 6);
  net::store_be16(p + 12, static_cast<uint16_t>(net::EtherType::ipv6));
  net::Ipv6Build b;
  b.src = src;
  b.dst = dst;
  b.next_header = net::kIpProtoIcmpv6;
  b.payload_len = static_cast<uint16_t>(icmp_len);
  b.hop_limit = hop_limit;
  net::write_ipv6_header(p + net::kEthernetHeaderLen, b);
  net::write_icmpv6(p + net::kEthernetHeaderLen + net::kIpv6HeaderLen, src, dst, type, 0, body);
  tx_push(m);
  return true;
}

void Engine::announce_ipv6() {
  if (!config_.iface.has_ipv6()) return;
  // RFC 4861 7.2.6: unsolicited advertisements (override set) so that neighbours holding a
  // stale entry for our addresses learn our link-layer address now.
  send_neighbour_advert(config_.iface.link_local(), InterfaceConfig::all_nodes(), false);
  for (const auto& p : config_.iface.addrs6)
    send_neighbour_advert(p.addr, InterfaceConfig::all_nodes(), false);
}

}  // namespace pollux::engine
