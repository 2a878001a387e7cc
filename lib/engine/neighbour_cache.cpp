#include "engine/neighbour_cache.hpp"

#include <algorithm>
#include <bit>

namespace pollux::engine {

namespace {
// How far from the least recently confirmed end to look for an entry that can be evicted
// (evictable() says which may be): a deep scan under a flood of unresolvable destinations
// would make every miss O(capacity).
constexpr int kEvictScan = 8;
}  // namespace

template <class Addr>
NeighbourCache<Addr>::NeighbourCache(const NeighbourConfig<Addr>& config)
    : config_(config),
      storage_(new Entry[std::max<uint32_t>(config.capacity, 1)]),
      buckets_(new
               typename ByIp::bucket_type[std::bit_ceil(std::max<uint32_t>(config.capacity, 1))]),
      by_ip_(typename ByIp::bucket_traits(buckets_.get(),
                                          std::bit_ceil(std::max<uint32_t>(config.capacity, 1)))),
      new_entries_(config.new_entry_rate, config.new_entry_burst) {
  config_.capacity = std::max<uint32_t>(config.capacity, 1);
  config_.max_pending = std::max<uint16_t>(config_.max_pending, 1);
  config_.max_pending_total = std::max<uint32_t>(config_.max_pending_total, 1);
  places_.reset(new Place[config_.max_pending_total]);
  for (uint32_t i = config_.max_pending_total; i-- > 0;) {
    places_[i].next = free_place_;
    free_place_ = i;
  }
  for (uint32_t i = 0; i < config_.capacity; ++i) free_.push_back(storage_[i]);
  // Static entries take their places first; ones beyond the capacity are not installed
  // (the options layer refuses more than it can hold).
  for (const StaticNeighbourOf<Addr>& s : config_.static_entries) {
    Entry* e = find_mut(s.ip);
    if (!e) e = make_entry(s.ip, 0);
    if (!e) break;
    e->mac = s.mac;
    e->state = State::reachable;
    e->is_static = true;
  }
}

template <class Addr>
NeighbourCache<Addr>::~NeighbourCache() {
  for (Entry& e : lru_) release_pending(e, [](rte_mbuf* m) { rte_pktmbuf_free(m); });
  probing_.clear();
  lru_.clear();
  free_.clear();
  by_ip_.clear();
}

template <class Addr>
typename NeighbourCache<Addr>::Entry* NeighbourCache<Addr>::find_mut(const Addr& ip) {
  auto it = by_ip_.find(ip);
  return it == by_ip_.end() ? nullptr : &*it;
}

template <class Addr>
const typename NeighbourCache<Addr>::Entry* NeighbourCache<Addr>::find(const Addr& ip) const {
  auto it = by_ip_.find(ip);
  return it == by_ip_.end() ? nullptr : &*it;
}

template <class Addr>
void NeighbourCache<Addr>::release(Entry& e) {
  by_ip_.erase(by_ip_.iterator_to(e));
  lru_.erase(lru_.iterator_to(e));
  if (e.probe.is_linked()) probing_.erase(probing_.iterator_to(e));
  free_.push_back(e);
}

// Which entries a new one may take the place of (issue 14). Never a static one, nor an
// incomplete one (it holds packets and is freed by poll() when it fails). Nor one confirmed
// less than reachable_ns ago: RFC 4861 7.3.2's REACHABLE, a neighbour known to be there,
// such as the client of an established connection. A new entry is only a guess made for a
// packet to an address nobody has answered for yet (under a flood of SYNs from spoofed
// on-link sources, nearly always a wrong one), and letting it evict a live neighbour would
// let the flood cut that neighbour off: its next segment would wait for a fresh ARP
// exchange, and under the new-entry budget might not even get one. Linux's forced garbage
// collection spares entries updated in the last 5 s for the same reason. What may go is an
// entry past its reachable time: unused since (a peer in use is re-probed and re-confirmed
// by resolve()) or being probed without an answer yet. When the scanned end holds none,
// the new neighbour's packet is dropped and counted (arp_cache_full).
template <class Addr>
bool NeighbourCache<Addr>::evictable(const Entry& e, uint64_t now) const {
  if (e.is_static || e.state == State::incomplete) return false;
  return e.state != State::reachable || e.stale || now - e.confirmed_at >= config_.reachable_ns;
}

template <class Addr>
typename NeighbourCache<Addr>::Entry* NeighbourCache<Addr>::make_entry(const Addr& ip,
                                                                       uint64_t now) {
  if (free_.empty()) {
    int scanned = 0;
    for (auto it = lru_.begin(); it != lru_.end() && scanned < kEvictScan; ++it, ++scanned) {
      if (evictable(*it, now)) {
        release(*it);
        break;
      }
    }
    if (free_.empty()) return nullptr;
  }
  Entry& e = free_.front();
  free_.pop_front();
  e.ip = ip;
  e.mac = {};
  e.state = State::incomplete;
  e.requests_sent = 0;
  e.pending_count = 0;
  e.pending_head = e.pending_tail = kNoPlace;
  e.is_static = false;
  e.stale = false;
  e.confirmed_at = 0;
  e.next_request_at = 0;
  by_ip_.insert(e);
  lru_.push_back(e);
  return &e;
}

template <class Addr>
typename NeighbourCache<Addr>::Resolve NeighbourCache<Addr>::resolve(const Addr& ip, rte_mbuf* m,
                                                                     uint64_t now,
                                                                     net::MacAddr& mac) {
  Entry* e = find_mut(ip);
  if (e && e->state != State::incomplete) {
    mac = e->mac;
    // RFC 1122 2.3.2.1: validate a cached entry that has been in use for a while by
    // re-asking, while still using it (a stale entry is more likely right than wrong).
    if (e->state == State::reachable && !e->is_static &&
        (e->stale || now - e->confirmed_at >= config_.reachable_ns)) {
      e->state = State::probing;
      if (config_.delay_first_probe_ns > 0) {
        // RFC 4861 7.3.3 DELAY: used as it is; probed later unless confirmed meanwhile.
        e->requests_sent = 0;
        e->next_request_at = now + config_.delay_first_probe_ns;
        probing_.push_back(*e);
        return Resolve::resolved;
      }
      e->requests_sent = 1;
      e->next_request_at = now + config_.retry_ns;
      probing_.push_back(*e);
      return Resolve::resolved_probe;
    }
    return Resolve::resolved;
  }
  // Held packets over the cache-wide cap go before anything is spent on them (an entry, a
  // new-entry token, a request): a neighbour that answers frees places for the others.
  if (pending_total_ >= config_.max_pending_total) return Resolve::drop_pending_total;
  if (!e) {
    if (!new_entries_.take(now)) return Resolve::drop_rate_limited;
    e = make_entry(ip, now);
    if (!e) return Resolve::drop_cache_full;
    e->requests_sent = 1;
    e->next_request_at = now + config_.retry_ns;
    hold(*e, m);
    probing_.push_back(*e);
    return Resolve::queued_request;
  }
  if (e->pending_count >= config_.max_pending) return Resolve::drop_pending_full;
  hold(*e, m);
  return Resolve::queued;
}

template <class Addr>
void NeighbourCache<Addr>::hold(Entry& e, rte_mbuf* m) {
  // pending_total_ < max_pending_total (checked by resolve): a place is free.
  const uint32_t i = free_place_;
  free_place_ = places_[i].next;
  places_[i] = Place{m, kNoPlace};
  if (e.pending_tail == kNoPlace)
    e.pending_head = i;
  else
    places_[e.pending_tail].next = i;
  e.pending_tail = i;
  ++e.pending_count;
  ++pending_total_;
}

template <class Addr>
bool NeighbourCache<Addr>::confirm(const Addr& ip, uint64_t now) {
  Entry* e = find_mut(ip);
  if (!e || e->state == State::incomplete || e->is_static) return false;
  e->confirmed_at = now;
  e->requests_sent = 0;
  e->state = State::reachable;
  e->stale = false;
  if (e->probe.is_linked()) probing_.erase(probing_.iterator_to(*e));
  lru_.erase(lru_.iterator_to(*e));
  lru_.push_back(*e);
  return true;
}

template class NeighbourCache<net::Ipv4Addr>;
template class NeighbourCache<net::Ipv6Addr>;

}  // namespace pollux::engine
