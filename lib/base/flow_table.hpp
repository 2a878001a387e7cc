// One lcore's shard of the connection table: TCBs keyed by the TCP 4-tuple (RFC 9293 3.4,
// "a connection is fully specified by the pair of sockets at its ends").
//
// Why this shape:
//  - Intrusive (Boost.Intrusive unordered_set): the entry *is* the TCB, which comes from a
//    fixed pool, so insert/find/erase never allocate. The bucket array is allocated once in
//    the constructor and never rehashed.
//  - A hard capacity: the shard refuses entries beyond the TCB pool it was sized for, and
//    says so (InsertResult::full) instead of degrading; the caller answers with a RST or a
//    SYN cookie.
//  - The shard choice (which lcore owns a flow) is the symmetric Toeplitz hash the NIC's RSS
//    uses; that lives elsewhere. Inside a shard all flows share that Toeplitz value's low bits,
//    so the bucket hash here must be an independent mix: flow_bucket_hash().
//
// The tuple is from this host's point of view: local = our address and port.
#pragma once

#include "net/four_tuple.hpp"

#include <boost/intrusive/unordered_set.hpp>

#include <algorithm>
#include <bit>
#include <cassert>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

namespace pollux::base {

// Bucket hash for one shard: the key bits folded to 64 (IPv4: the 96 bits of addresses and
// ports, exactly as before IPv6, so IPv4 buckets are unchanged; IPv6: the four address
// halves XORed into the same slot, each rotated apart so that swapped or equal halves do not
// cancel), then a multiply-xorshift finaliser (the constants are the murmur3/splitmix
// family's) so that every input bit reaches the low bits used as the bucket index.
// Sequential ports from one peer spread evenly.
[[nodiscard]] constexpr uint64_t flow_bucket_hash(const net::FourTuple& t) {
  const uint64_t ips = t.is_v4() ? (uint64_t{t.local_ip.v4().value} << 32) | t.remote_ip.v4().value
                                 : t.local_ip.high64() ^ std::rotl(t.local_ip.low64(), 16) ^
                                       std::rotl(t.remote_ip.high64(), 32) ^
                                       std::rotl(t.remote_ip.low64(), 48);
  const uint64_t ports = (uint64_t{t.local_port} << 16) | t.remote_port;
  uint64_t h = ips ^ (ports * 0x9e3779b97f4a7c15ull);
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93ull;
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93ull;
  h ^= h >> 32;
  return h;
}

struct FlowTableTag;

// What a table entry derives from: the bucket link plus the key it is filed under. The tuple
// must not change while the entry is in a table.
struct FlowLink : boost::intrusive::unordered_set_base_hook<boost::intrusive::tag<FlowTableTag>> {
  net::FourTuple tuple;

  [[nodiscard]] bool in_flow_table() const { return this->is_linked(); }
};

enum class InsertResult : uint8_t {
  inserted,
  duplicate,  // an entry with the same tuple is already present; nothing changed
  full,       // size() == capacity(); nothing changed
};

template <class Entry>
requires std::derived_from<Entry, FlowLink>
class FlowTable {
 public:
  // Buckets: the smallest power of two >= capacity, so the load factor never exceeds 1.
  explicit FlowTable(std::size_t capacity)
      : capacity_(capacity),
        buckets_(std::make_unique<Bucket[]>(std::bit_ceil(std::max<std::size_t>(capacity, 1)))),
        set_(BucketTraits(buckets_.get(), std::bit_ceil(std::max<std::size_t>(capacity, 1)))) {}

  // Bytes of the bucket array a table of `capacity` entries allocates (the entries' hooks
  // live in the entries).
  [[nodiscard]] static std::size_t memory_bytes(std::size_t capacity) {
    return std::bit_ceil(std::max<std::size_t>(capacity, 1)) * sizeof(Bucket);
  }

  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  // Unlinks whatever is left so that entries can be returned to their pool afterwards.
  ~FlowTable() { set_.clear(); }

  // Files `e` under e.tuple. One hash computation covers the duplicate check and the insert.
  [[nodiscard]] InsertResult insert(Entry& e) { return insert(e, flow_bucket_hash(e.tuple)); }
  // The same with flow_bucket_hash(e.tuple) already computed (a caller that looked the tuple
  // up first: an active open hashes its tuple once, issue 13).
  [[nodiscard]] InsertResult insert(Entry& e, uint64_t hash) {
    assert(!e.in_flow_table());
    assert(hash == flow_bucket_hash(e.tuple));
    typename Set::insert_commit_data commit;
    if (!set_.insert_check(e.tuple, Known{hash}, std::equal_to<net::FourTuple>{}, commit).second)
      return InsertResult::duplicate;
    if (set_.size() >= capacity_) return InsertResult::full;
    set_.insert_commit(e, commit);
    return InsertResult::inserted;
  }

  [[nodiscard]] Entry* find(const net::FourTuple& t) { return find(t, flow_bucket_hash(t)); }
  // `hash`: flow_bucket_hash(t), computed once for several lookups of one tuple.
  [[nodiscard]] Entry* find(const net::FourTuple& t, uint64_t hash) {
    assert(hash == flow_bucket_hash(t));
    auto it = set_.find(t, Known{hash}, std::equal_to<net::FourTuple>{});
    return it == set_.end() ? nullptr : &*it;
  }
  [[nodiscard]] const Entry* find(const net::FourTuple& t) const {
    auto it = set_.find(t);
    return it == set_.end() ? nullptr : &*it;
  }

  // Precondition: `e` is in this table.
  void erase(Entry& e) {
    assert(e.in_flow_table());
    set_.erase(set_.iterator_to(e));
  }

  void clear() { set_.clear(); }

  // Visits every entry; `f` must not insert or erase.
  template <std::invocable<Entry&> F>
  void for_each(F&& f) {
    for (Entry& e : set_) f(e);
  }

  [[nodiscard]] std::size_t size() const { return set_.size(); }
  [[nodiscard]] bool empty() const { return set_.empty(); }
  [[nodiscard]] std::size_t capacity() const { return capacity_; }
  [[nodiscard]] std::size_t bucket_count() const { return set_.bucket_count(); }
  // For tests and statistics: how many entries share bucket `i`.
  [[nodiscard]] std::size_t bucket_size(std::size_t i) const { return set_.bucket_size(i); }

 private:
  struct KeyOf {
    using type = net::FourTuple;
    const net::FourTuple& operator()(const Entry& e) const { return e.tuple; }
  };
  struct Hash {
    std::size_t operator()(const net::FourTuple& t) const {
      return static_cast<std::size_t>(flow_bucket_hash(t));
    }
  };
  // A hash already computed, handed to the lookups that take a hasher.
  struct Known {
    uint64_t hash;
    std::size_t operator()(const net::FourTuple&) const { return static_cast<std::size_t>(hash); }
  };

  using Set = boost::intrusive::unordered_set<
      Entry,
      boost::intrusive::base_hook<
          boost::intrusive::unordered_set_base_hook<boost::intrusive::tag<FlowTableTag>>>,
      boost::intrusive::key_of_value<KeyOf>, boost::intrusive::hash<Hash>,
      boost::intrusive::constant_time_size<true>, boost::intrusive::power_2_buckets<true>>;
  using Bucket = typename Set::bucket_type;
  using BucketTraits = typename Set::bucket_traits;

  std::size_t capacity_;
  std::unique_ptr<Bucket[]> buckets_;  // declared before set_: it must outlive it
  Set set_;
};

}  // namespace pollux::base
