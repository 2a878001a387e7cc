#include "engine/arp_cache.hpp"

#include <algorithm>
#include <bit>

namespace pollux::engine {

namespace {
// How far from the least recently confirmed end to look for an entry that can be evicted:
// incomplete entries are never evicted (they hold packets), and a deep scan under a flood of
// unresolvable destinations would make every miss O(capacity).
constexpr int kEvictScan = 8;
}  // namespace

ArpCache::ArpCache(const ArpConfig& config)
    : config_(config),
      storage_(new Entry[std::max<uint32_t>(config.capacity, 1)]),
      buckets_(new ByIp::bucket_type[std::bit_ceil(std::max<uint32_t>(config.capacity, 1))]),
      by_ip_(ByIp::bucket_traits(buckets_.get(),
                                 std::bit_ceil(std::max<uint32_t>(config.capacity, 1)))),
      new_entries_(config.new_entry_rate, config.new_entry_burst) {
  config_.capacity = std::max<uint32_t>(config.capacity, 1);
  config_.max_pending = std::min<uint8_t>(config_.max_pending, kMaxPending);
  for (uint32_t i = 0; i < config_.capacity; ++i) free_.push_back(storage_[i]);
  // Static entries take their places first; ones beyond the capacity are not installed
  // (the options layer refuses more than it can hold).
  for (const StaticNeighbour& s : config_.static_entries) {
    Entry* e = find_mut(s.ip);
    if (!e) e = make_entry(s.ip);
    if (!e) break;
    e->mac = s.mac;
    e->state = State::reachable;
    e->is_static = true;
  }
}

ArpCache::~ArpCache() {
  for (Entry& e : lru_)
    for (uint8_t i = 0; i < e.pending_count; ++i) rte_pktmbuf_free(e.pending[i]);
  probing_.clear();
  lru_.clear();
  free_.clear();
  by_ip_.clear();
}

ArpCache::Entry* ArpCache::find_mut(net::Ipv4Addr ip) {
  auto it = by_ip_.find(ip);
  return it == by_ip_.end() ? nullptr : &*it;
}

const ArpCache::Entry* ArpCache::find(net::Ipv4Addr ip) const {
  auto it = by_ip_.find(ip);
  return it == by_ip_.end() ? nullptr : &*it;
}

void ArpCache::release(Entry& e) {
  by_ip_.erase(by_ip_.iterator_to(e));
  lru_.erase(lru_.iterator_to(e));
  if (e.probe.is_linked()) probing_.erase(probing_.iterator_to(e));
  free_.push_back(e);
}

ArpCache::Entry* ArpCache::make_entry(net::Ipv4Addr ip) {
  if (free_.empty()) {
    int scanned = 0;
    for (auto it = lru_.begin(); it != lru_.end() && scanned < kEvictScan; ++it, ++scanned) {
      if (it->state != State::incomplete && !it->is_static) {
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
  e.is_static = false;
  e.confirmed_at = 0;
  e.next_request_at = 0;
  by_ip_.insert(e);
  lru_.push_back(e);
  return &e;
}

ArpCache::Resolve ArpCache::resolve(net::Ipv4Addr ip, rte_mbuf* m, uint64_t now,
                                    net::MacAddr& mac) {
  Entry* e = find_mut(ip);
  if (e && e->state != State::incomplete) {
    mac = e->mac;
    // RFC 1122 2.3.2.1: validate a cached entry that has been in use for a while by
    // re-asking, while still using it (a stale entry is more likely right than wrong).
    if (e->state == State::reachable && !e->is_static &&
        now - e->confirmed_at >= config_.reachable_ns) {
      e->state = State::probing;
      e->requests_sent = 1;
      e->next_request_at = now + config_.retry_ns;
      probing_.push_back(*e);
      return Resolve::resolved_probe;
    }
    return Resolve::resolved;
  }
  if (!e) {
    if (!new_entries_.take(now)) return Resolve::drop_rate_limited;
    e = make_entry(ip);
    if (!e) return Resolve::drop_cache_full;
    e->requests_sent = 1;
    e->next_request_at = now + config_.retry_ns;
    e->pending[e->pending_count++] = m;
    probing_.push_back(*e);
    return Resolve::queued_request;
  }
  if (e->pending_count >= config_.max_pending) return Resolve::drop_pending_full;
  e->pending[e->pending_count++] = m;
  return Resolve::queued;
}

}  // namespace pollux::engine
