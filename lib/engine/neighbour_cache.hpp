// The neighbour caches: one design for IPv4 (ARP: RFC 826 resolution with RFC 1122 2.3.2.1
// cache validation) and IPv6 (neighbour discovery: RFC 4861 7.2-7.3). Bounded: a fixed
// number of entries allocated at start, a bounded queue of packets per unresolved neighbour
// (its places drawn from one cache-wide pool of max_pending_total), bounded retries. It never sends
// anything itself: it tells the engine what to send, so that all packet building stays in one
// place.
//
// RFC 4861 7.3.2's five states map onto three: INCOMPLETE is `incomplete`; REACHABLE is
// `reachable`; STALE is `reachable` with `stale` set (or its reachable time past), used
// as it is; DELAY and PROBE are `probing` (a stale entry in use waits
// delay_first_probe_ns, then is probed max_requests times at retry_ns, unicast to the
// address it holds, and goes when none is answered). ARP has no DELAY (0): it probes at once.
#pragma once

#include <rte_mbuf.h>

#include <array>
#include <boost/intrusive/list.hpp>
#include <boost/intrusive/unordered_set.hpp>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/token_bucket.hpp"

#include "net/ethernet.hpp"
#include "net/ipv4_addr.hpp"
#include "net/ipv6_addr.hpp"

namespace pollux::engine {

// A neighbour configured by hand (`--arp IP=MAC`): used without resolving, never probed,
// expired, evicted or changed by what arrives from the wire.
template <class Addr>
struct StaticNeighbourOf {
  Addr ip;
  net::MacAddr mac;
};
using StaticNeighbour = StaticNeighbourOf<net::Ipv4Addr>;

template <class Addr>
struct NeighbourConfig {
  uint32_t capacity = 1024;                       // neighbours
  uint64_t reachable_ns = 60ull * 1'000'000'000;  // after this a used entry is re-probed
  uint64_t retry_ns = 1'000'000'000;              // between requests (RFC 1122: at most 1/s)
  uint8_t max_requests = 3;                       // before giving up on a neighbour
  // Packets held for one neighbour while it resolves. A burst to a neighbour heard from but
  // not yet resolved is as long as the connections the peer opens at once: a load generator
  // that starts on a new source address has its first SYNs answered by as many SYN-ACKs
  // within a round trip, and with 4 places a 32-connection burst lost 28 of them to the
  // 1 s retransmission timer (issue 13). Linux holds up to 101 (neigh unres_qlen). The
  // places come from the cache-wide max_pending_total below, which bounds the mbufs held
  // however many neighbours are unresolved; this only keeps one neighbour from taking
  // them all. At least 1.
  uint16_t max_pending = 128;
  // Packets held over all unresolved neighbours at once (issue 14): max_pending alone lets
  // capacity x max_pending mbufs (4096 by default) wait, and traffic naming many on-link
  // addresses that never answer (spoofed sources we reply to) would pin them, outside every
  // other mbuf budget, for the max_requests x retry_ns a resolution takes. Packets over it
  // are dropped and counted (drop_pending_total); the place comes back as a neighbour
  // answers (its packets leave) or fails (they are freed). At least 1.
  uint32_t max_pending_total = 256;
  // Linux's locktime (net.ipv4.neigh.*.locktime, 1 s): an entry confirmed less than this long
  // ago keeps its MAC when an ARP packet we did not ask for (no request of ours outstanding)
  // names another. Two answers racing for one address (a spoofer and the real owner, or a
  // proxy) then cannot flip the entry at packet rate; the first stays for at least this long.
  uint64_t locktime_ns = 1'000'000'000;
  // New (incomplete) entries per second and burst, each costing an entry and a broadcast
  // request: packets from spoofed on-link sources make us resolve every source they name,
  // and without a budget a flood turns into a broadcast storm and churns the cache. Packets
  // to new neighbours over the budget are dropped and counted; 0 lifts the limit.
  uint32_t new_entry_rate = 100;
  uint32_t new_entry_burst = 100;
  // RFC 4861 7.3.3 DELAY_FIRST_PROBE_TIME: a stale entry in use is sent to for this long
  // before the first probe, so that an answer already under way can confirm it for free.
  // 0 (ARP): the first probe goes at once.
  uint64_t delay_first_probe_ns = 0;
  std::vector<StaticNeighbourOf<Addr>> static_entries;  // installed at construction
};
using ArpConfig = NeighbourConfig<net::Ipv4Addr>;
using NdConfig = NeighbourConfig<net::Ipv6Addr>;

// Neighbour discovery's constants (RFC 4861 10): REACHABLE_TIME 30 s, RETRANS_TIMER 1 s,
// MAX_MULTICAST_SOLICIT and MAX_UNICAST_SOLICIT 3, DELAY_FIRST_PROBE_TIME 5 s. No locktime:
// the advertisement's override flag decides whether a known address may be replaced.
[[nodiscard]] inline NdConfig nd_defaults() {
  NdConfig c;
  c.reachable_ns = 30ull * 1'000'000'000;
  c.locktime_ns = 0;
  c.delay_first_probe_ns = 5ull * 1'000'000'000;
  return c;
}

// What a received packet says about a neighbour, for NeighbourCache::learn().
struct NeighbourNews {
  bool create = false;    // make an entry when there is none
  bool override = true;   // may replace a different cached address (ND's O flag; ARP: yes)
  bool confirmed = true;  // proves the neighbour reachable (ARP: any packet, RFC 826 merge;
                          // ND: a solicited advertisement, RFC 4861 7.3.1)
};

template <class Addr>
struct NeighbourHash;
template <>
struct NeighbourHash<net::Ipv4Addr> {
  size_t operator()(net::Ipv4Addr a) const {
    return static_cast<size_t>((a.value * 0x9e3779b97f4a7c15ull) >> 32);
  }
};
template <>
struct NeighbourHash<net::Ipv6Addr> {
  // The interface identifier (low 64 bits) differs between neighbours of one link.
  size_t operator()(const net::Ipv6Addr& a) const {
    uint64_t v = 0;
    for (size_t i = 8; i < 16; ++i) v = v << 8 | a.bytes[i];
    return static_cast<size_t>((v * 0x9e3779b97f4a7c15ull) >> 32);
  }
};

template <class Addr>
class NeighbourCache {
 public:
  static constexpr uint32_t kNoPlace = UINT32_MAX;

  enum class State : uint8_t {
    incomplete,  // request sent, no answer yet: packets queue
    reachable,   // answer fresh
    probing,     // answer older than reachable_ns: still used, a request is out to refresh it
  };

  struct Entry {
    boost::intrusive::unordered_set_member_hook<> by_ip;
    boost::intrusive::list_member_hook<> lru;    // least recently confirmed first
    boost::intrusive::list_member_hook<> probe;  // member while incomplete or probing
    Addr ip;
    net::MacAddr mac;
    State state = State::incomplete;
    uint8_t requests_sent = 0;
    uint16_t pending_count = 0;
    bool is_static = false;
    bool stale = false;            // RFC 4861 STALE: learnt unconfirmed, probed when next used
    uint64_t confirmed_at = 0;     // last reply/request from the neighbour
    uint64_t next_request_at = 0;  // when to retry while incomplete/probing
    // The packets held while incomplete, oldest first: a list through the cache's places.
    uint32_t pending_head = kNoPlace, pending_tail = kNoPlace;
  };

  enum class Resolve : uint8_t {
    resolved,            // `mac` is valid: send now
    resolved_probe,      // as resolved, and also send a refresh request for `ip`
    queued_request,      // the packet is held; send a request for `ip` now (first miss)
    queued,              // the packet is held; a request is already out
    drop_cache_full,     // no entry could be made: the caller frees the packet
    drop_pending_full,   // too many packets already held for this neighbour: caller frees
    drop_pending_total,  // max_pending_total packets held over all neighbours: caller frees
    drop_rate_limited,   // a new entry was needed over the new-entry budget: caller frees
  };

  // What learn() did with a <protocol address, hardware address> pair.
  enum class Learned : uint8_t {
    ignored,  // no entry for the address and none made
    updated,  // the entry holds this MAC now (new, confirmed, or resolved)
    changed,  // as updated, replacing a different MAC
    refused,  // a different MAC not taken: a static entry, or locktime (see ArpConfig)
  };

  explicit NeighbourCache(const NeighbourConfig<Addr>& config);
  ~NeighbourCache();
  NeighbourCache(const NeighbourCache&) = delete;
  NeighbourCache& operator=(const NeighbourCache&) = delete;

  // Looks up the next hop for an outgoing packet. On a miss the packet `m` is taken over and
  // handed back later through learn()'s or poll()'s callbacks.
  [[nodiscard]] Resolve resolve(const Addr& ip, rte_mbuf* m, uint64_t now, net::MacAddr& mac);

  // RFC 826 "merge": an ARP packet from `ip` at `mac`. Updates an existing entry; makes a new
  // one only when `create` (the packet was a request for one of our addresses). Packets that
  // waited for this neighbour are passed to `send(rte_mbuf*, const MacAddr&)` in order.
  // Static entries never change; `from_wire` applies the locktime (a sibling engine's update
  // was checked by the engine that heard it).
  template <class Send>
  Learned learn(const Addr& ip, const net::MacAddr& mac, bool create, uint64_t now, Send&& send,
                bool from_wire = true) {
    return learn(ip, mac, NeighbourNews{create, true, true}, now, send, from_wire);
  }
  // The general form (RFC 4861 7.2.3, 7.2.5): `news` says whether an entry is made, whether
  // a different known address may be replaced (else a reachable entry only turns stale),
  // and whether the neighbour is confirmed reachable (else a new or changed entry is stale).
  template <class Send>
  Learned learn(const Addr& ip, const net::MacAddr& mac, NeighbourNews news, uint64_t now,
                Send&& send, bool from_wire = true);
  // Reachability confirmed without an address (RFC 4861 7.2.5: a solicited advertisement
  // without a target link-layer option). Returns whether an entry was confirmed.
  bool confirm(const Addr& ip, uint64_t now);

  // Due work: `request(ip, mac)` for every neighbour whose retry time has come (`mac`: the
  // address being re-validated, or nullptr while unresolved), and `fail(rte_mbuf*)` for
  // every packet of a neighbour that never answered (the entry goes).
  template <class Request, class Fail>
  void poll(uint64_t now, Request&& request, Fail&& fail);

  [[nodiscard]] const Entry* find(const Addr& ip) const;
  [[nodiscard]] size_t size() const { return lru_.size(); }
  [[nodiscard]] size_t capacity() const { return config_.capacity; }
  // Packets held now over all unresolved neighbours (at most max_pending_total).
  [[nodiscard]] uint32_t pending_total() const { return pending_total_; }

 private:
  struct IpKey {
    using type = Addr;
    const type& operator()(const Entry& e) const { return e.ip; }
  };
  using IpHash = NeighbourHash<Addr>;
  using ByIp = boost::intrusive::unordered_set<
      Entry,
      boost::intrusive::member_hook<Entry, boost::intrusive::unordered_set_member_hook<>,
                                    &Entry::by_ip>,
      boost::intrusive::key_of_value<IpKey>, boost::intrusive::hash<IpHash>,
      boost::intrusive::power_2_buckets<true>, boost::intrusive::constant_time_size<true>>;
  using Lru = boost::intrusive::list<
      Entry,
      boost::intrusive::member_hook<Entry, boost::intrusive::list_member_hook<>, &Entry::lru>>;
  using ProbeList = boost::intrusive::list<
      Entry,
      boost::intrusive::member_hook<Entry, boost::intrusive::list_member_hook<>, &Entry::probe>>;

  // A place for a held packet: max_pending_total of them, allocated at start, threaded into
  // each unresolved neighbour's FIFO (or the free list).
  struct Place {
    rte_mbuf* m = nullptr;
    uint32_t next = kNoPlace;
  };
  void hold(Entry& e, rte_mbuf* m);  // the caller checked both caps
  // Empties `e`'s queue first (so that `fn` may resolve the same neighbour again), then hands
  // each packet to `fn` in the order it was queued.
  template <class Fn>
  void release_pending(Entry& e, Fn&& fn);

  Entry* find_mut(const Addr& ip);
  // nullptr when full and nothing can be evicted (see evictable() in the .cpp)
  Entry* make_entry(const Addr& ip, uint64_t now);
  // Whether a new entry may take `e`'s place: not static, not incomplete, not REACHABLE.
  [[nodiscard]] bool evictable(const Entry& e, uint64_t now) const;
  void release(Entry& e);             // unlink everywhere, back to the free pool

  NeighbourConfig<Addr> config_;
  std::unique_ptr<Entry[]> storage_;
  std::unique_ptr<typename ByIp::bucket_type[]> buckets_;
  ByIp by_ip_;
  Lru lru_;
  ProbeList probing_;
  Lru free_;  // unused entries, threaded through the lru hook
  uint32_t pending_total_ = 0;
  std::unique_ptr<Place[]> places_;
  uint32_t free_place_ = kNoPlace;
  base::TokenBucket new_entries_;
};

template <class Addr>
template <class Send>
typename NeighbourCache<Addr>::Learned NeighbourCache<Addr>::learn(const Addr& ip,
                                                                   const net::MacAddr& mac,
                                                                   NeighbourNews news, uint64_t now,
                                                                   Send&& send, bool from_wire) {
  Entry* e = find_mut(ip);
  if (!e) {
    if (!news.create) return Learned::ignored;
    e = make_entry(ip, now);
    if (!e) return Learned::ignored;
  }
  const bool had_mac = e->state != State::incomplete;
  const bool differs = had_mac && e->mac != mac;
  if (e->is_static) return differs ? Learned::refused : Learned::updated;
  // Unasked (reachable: no request of ours is out) and recently confirmed: keep the MAC.
  if (differs && from_wire && e->state == State::reachable &&
      now - e->confirmed_at < config_.locktime_ns)
    return Learned::refused;
  if (differs && !news.override) {
    // RFC 4861 7.2.5: an advertisement without override does not replace a known address;
    // it only makes a reachable entry stale (probed when next used).
    if (e->state == State::reachable) e->stale = true;
    return Learned::refused;
  }
  // RFC 4861 7.2.5: unconfirmed news of the address already held changes nothing.
  if (had_mac && !differs && !news.confirmed) return Learned::updated;
  e->mac = mac;
  e->confirmed_at = now;
  e->requests_sent = 0;
  e->state = State::reachable;
  e->stale = !news.confirmed;
  if (e->probe.is_linked()) probing_.erase(probing_.iterator_to(*e));
  lru_.erase(lru_.iterator_to(*e));
  lru_.push_back(*e);
  // Packets leave in the order they were queued.
  release_pending(*e, [&](rte_mbuf* m) { send(m, static_cast<const net::MacAddr&>(e->mac)); });
  return differs ? Learned::changed : Learned::updated;
}

template <class Addr>
template <class Request, class Fail>
void NeighbourCache<Addr>::poll(uint64_t now, Request&& request, Fail&& fail) {
  for (auto it = probing_.begin(); it != probing_.end();) {
    Entry& e = *it++;
    if (now < e.next_request_at) continue;
    if (e.requests_sent >= config_.max_requests) {
      release_pending(e, fail);
      release(e);
      continue;
    }
    ++e.requests_sent;
    e.next_request_at = now + config_.retry_ns;
    request(static_cast<const Addr&>(e.ip),
            e.state == State::probing ? static_cast<const net::MacAddr*>(&e.mac) : nullptr);
  }
}

template <class Addr>
template <class Fn>
void NeighbourCache<Addr>::release_pending(Entry& e, Fn&& fn) {
  uint32_t i = e.pending_head;
  pending_total_ -= e.pending_count;
  e.pending_count = 0;
  e.pending_head = e.pending_tail = kNoPlace;
  while (i != kNoPlace) {
    Place& p = places_[i];
    rte_mbuf* m = p.m;
    const uint32_t next = p.next;
    p.m = nullptr;
    p.next = free_place_;  // free before `fn`, which may hold a packet again
    free_place_ = i;
    i = next;
    fn(m);
  }
}

using ArpCache = NeighbourCache<net::Ipv4Addr>;
using NdCache = NeighbourCache<net::Ipv6Addr>;
extern template class NeighbourCache<net::Ipv4Addr>;
extern template class NeighbourCache<net::Ipv6Addr>;

}  // namespace pollux::engine
