// IPv6 output: the next hop (on-link or the gateway, RFC 4861 5.2), neighbour resolution
// through the IPv6 neighbour cache (RFC 4861 7.2.2, 7.3), and duplicate address detection
// for our own addresses at start (RFC 4862 5.4), and the multicast listener reports that
// keep a snooping switch forwarding our solicited-node groups to us (RFC 3810).
#include <rte_random.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "engine/engine.hpp"
#include "net/ethernet.hpp"
#include "net/icmpv6.hpp"
#include "net/ipv6.hpp"

namespace pollux::engine {

namespace {
// RFC 3810 9.11: the Unsolicited Report Interval, between the repeats of a join.
constexpr uint64_t kMldUnsolicitedInterval = 1'000'000'000;
}  // namespace

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

// RFC 4862 5.4.2: join the tentative addresses' solicited-node groups before probing, so
// that a switch snooping MLD lets another node's probe for them reach us. Once per port, and
// again after RFC 3810 6.1's Unsolicited Report Interval (its robustness variable, 2).
void Engine::join_groups(uint64_t now) {
  if (!config_.mld || config_.lcore_index != 0) return;
  send_mld_report(net::Ipv6Addr{}, net::kMldChangeToExclude, now);
  mld_unsolicited_left_ = 1;
  mld_due_ = now + kMldUnsolicitedInterval;
}

void Engine::start_ipv6(uint64_t now) {
  if (addrs6_.empty()) return;
  if (config_.dad_probes == 0) {
    // No DAD: the addresses are ours at once (RFC 4862 5.4: DupAddrDetectTransmits 0).
    join_groups(now);
    if (config_.lcore_index == 0)
      for (const LocalAddrs6::Addr& a : addrs6_.all())
        send_neighbour_advert(a.addr, net::kIpv6AllNodes, false, now);
    return;
  }
  // RFC 4862 5.4: every address is tentative until its probes went unanswered: not used,
  // not answered for. Each engine keeps the state; the probes go out once per port.
  // The random delay before the first probe (5.4.2, MAX_RTR_SOLICITATION_DELAY) is left
  // out: pollux's ports do not all come up at once after a power cut, and start-up stays
  // short.
  for (LocalAddrs6::Addr& a : addrs6_.all()) a.state = LocalAddrs6::State::tentative;
  join_groups(now);
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

// --- Multicast listener discovery (RFC 3810 6, host side) --------------------------------

void Engine::mld_query_input(rte_mbuf* m, const net::Icmpv6Message& msg, uint64_t now) {
  rte_pktmbuf_free(m);
  // RFC 3810 6.2: a query about a group we do not listen to needs no answer; a general
  // query (unspecified group) asks about every group.
  const bool general = msg.group.is_unspecified();
  if (!general && (msg.group == net::kIpv6AllNodes || !addrs6_.accepts(msg.group))) {
    counters_.inc(base::Counter::icmpv6_other_received);
    return;
  }
  counters_.inc(base::Counter::mld_queries_received);
  // 6.2: the answer waits a random time within the query's Maximum Response Delay, so that
  // the hosts of a link do not answer at once; an answer already due sooner stands, and
  // covers this query too when it is for every group or for the same one.
  const uint64_t window_ns = std::max<uint64_t>(msg.max_response_ms, 1) * 1'000'000;
  const uint64_t due = now + 1 + rte_rand_max(window_ns);
  if (mld_answer_due_) {
    if (mld_answer_group_ != msg.group) mld_answer_group_ = net::Ipv6Addr{};  // both: all
    mld_due_ = std::min(mld_due_, due);
    return;
  }
  mld_answer_due_ = true;
  mld_answer_group_ = msg.group;
  mld_due_ = mld_due_ == 0 ? due : std::min(mld_due_, due);
}

void Engine::poll_mld(uint64_t now) {
  if (now < mld_due_) return;
  mld_due_ = 0;
  if (mld_answer_due_) {
    // RFC 3810 6.3: the current state of every group asked about.
    mld_answer_due_ = false;
    send_mld_report(mld_answer_group_, net::kMldModeIsExclude, now);
  } else if (mld_unsolicited_left_ > 0) {
    --mld_unsolicited_left_;
    send_mld_report(net::Ipv6Addr{}, net::kMldChangeToExclude, now);
  }
  if (mld_unsolicited_left_ > 0 && mld_due_ == 0) mld_due_ = now + kMldUnsolicitedInterval;
}

void Engine::send_mld_report(const net::Ipv6Addr& only, uint8_t record_type, uint64_t now) {
  // The groups: every solicited-node group of an address not found duplicate, each once
  // (addresses that share their low 24 bits share it), or only `only` when it is one.
  // All-nodes is never reported (RFC 3810 6).
  constexpr size_t kMaxGroups = 64;  // 4 + 64 x 20 bytes fit a 1,500-byte MTU with headers
  std::array<net::Ipv6Addr, kMaxGroups> groups;
  size_t n = 0;
  for (const LocalAddrs6::Addr& a : addrs6_.all()) {
    if (a.state == LocalAddrs6::State::duplicate) continue;
    if (!only.is_unspecified() && a.solicited != only) continue;
    if (std::find(groups.begin(), groups.begin() + n, a.solicited) != groups.begin() + n) continue;
    if (n == kMaxGroups) break;  // more addresses than one report holds: the first 64
    groups[n++] = a.solicited;
  }
  if (n == 0) return;
  // RFC 3810 5: hop limit 1, a Router Alert in a hop-by-hop header, to all MLDv2 routers,
  // from our link-local address, or from the unspecified one while it is still tentative
  // (RFC 3590 4).
  const LocalAddrs6::Addr& ll = addrs6_.all().front();
  const net::Ipv6Addr src =
      ll.state == LocalAddrs6::State::preferred ? ll.addr : net::Ipv6Addr{};
  uint8_t body[4 + 20 * kMaxGroups];
  const size_t body_len = net::write_mld2_report_body(body, {groups.data(), n}, record_type);
  const net::MacAddr mac = net::multicast_mac(net::kIpv6AllMldv2Routers);
  if (send_icmpv6(src, net::kIpv6AllMldv2Routers, 1, net::kIcmpv6MldV2Report, {body, body_len},
                  now, &mac, true))
    counters_.inc(base::Counter::mld_reports_sent);
}

}  // namespace pollux::engine
