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
#include <array>
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
// The parts, shared with FlowLink (which keeps an IPv4 key in exactly these words):
// `ips` the addresses folded to 64 bits, `ports` local port << 16 | remote port.
[[nodiscard]] constexpr uint64_t flow_bucket_mix(uint64_t ips, uint32_t ports) {
  uint64_t h = ips ^ (uint64_t{ports} * 0x9e3779b97f4a7c15ull);
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93ull;
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93ull;
  h ^= h >> 32;
  return h;
}
[[nodiscard]] constexpr uint64_t flow_ipv4_word(uint32_t local, uint32_t remote) {
  return (uint64_t{local} << 32) | remote;
}
[[nodiscard]] constexpr uint64_t flow_ipv6_word(const std::array<uint8_t, 16>& local,
                                                const std::array<uint8_t, 16>& remote) {
  // The halves read big-endian, as net::IpAddr::high64() and low64() do.
  return net::load_be64(local.data()) ^ std::rotl(net::load_be64(local.data() + 8), 16) ^
         std::rotl(net::load_be64(remote.data()), 32) ^
         std::rotl(net::load_be64(remote.data() + 8), 48);
}
[[nodiscard]] constexpr uint32_t flow_ports_word(uint16_t local, uint16_t remote) {
  return (uint32_t{local} << 16) | remote;
}
[[nodiscard]] constexpr uint64_t flow_bucket_hash(const net::FourTuple& t) {
  const uint64_t ips = t.is_v4() ? flow_ipv4_word(t.local_ip.v4().value, t.remote_ip.v4().value)
                                 : flow_ipv6_word(t.local_ip.bytes, t.remote_ip.bytes);
  return flow_bucket_mix(ips, flow_ports_word(t.local_port, t.remote_port));
}

struct FlowTableTag;

// An IPv6 connection's two addresses (32 B), kept outside its FlowLink in storage the
// entry's owner provides (TcpLayer: an array parallel to its TCB slab, indexed by the TCB's
// slot). Trivial, so that an array of them is not written when allocated: its pages stay
// untouched (not resident) while the connections are IPv4.
struct Ipv6AddrPair {
  std::array<uint8_t, 16> local;
  std::array<uint8_t, 16> remote;
};

// A tuple about to be looked up, in the form the links compare against (FlowLink::matches):
// built once per lookup, not once per entry of the bucket's chain. A received segment's is
// built straight from its headers (ipv4(): the IPv4 header's two address words; ipv6(): the
// addresses where the IPv6 header holds them), without the FourTuple of 16-byte IPv4-mapped
// addresses that nearly every lookup would only take apart again (issue 13: the IPv4 hash
// and key from that tuple cost ~250 instructions per connection); tuple() makes one for the
// paths that need it whole (a SYN to a listener, the CLOSED state's RST). An IPv6 probe
// points at its addresses: they must outlive it.
struct FlowProbe {
  explicit constexpr FlowProbe(const net::FourTuple& t)
      : FlowProbe(
            t.is_v4()
                ? ipv4(t.local_ip.v4().value, t.remote_ip.v4().value, t.local_port, t.remote_port)
                : ipv6(t.local_ip.bytes, t.remote_ip.bytes, t.local_port, t.remote_port)) {}
  // Ours first; the addresses in host order (net::Ipv4Addr::value).
  [[nodiscard]] static constexpr FlowProbe ipv4(uint32_t local, uint32_t remote,
                                                uint16_t local_port = 0, uint16_t remote_port = 0) {
    return FlowProbe(flow_ipv4_word(local, remote), nullptr, nullptr,
                     flow_ports_word(local_port, remote_port));
  }
  [[nodiscard]] static constexpr FlowProbe ipv6(const std::array<uint8_t, 16>& local,
                                                const std::array<uint8_t, 16>& remote,
                                                uint16_t local_port = 0, uint16_t remote_port = 0) {
    return FlowProbe(0, &local, &remote, flow_ports_word(local_port, remote_port));
  }
  // The ports, once the TCP header is parsed (the addresses come first, from the IP header).
  constexpr void set_ports(uint16_t local_port, uint16_t remote_port) {
    ports = flow_ports_word(local_port, remote_port);
  }

  [[nodiscard]] constexpr bool is_v4() const { return local6 == nullptr; }
  [[nodiscard]] constexpr uint16_t local_port() const { return static_cast<uint16_t>(ports >> 16); }
  [[nodiscard]] constexpr uint16_t remote_port() const { return static_cast<uint16_t>(ports); }
  // flow_bucket_hash(tuple()), from the words at hand.
  [[nodiscard]] constexpr uint64_t hash() const {
    return flow_bucket_mix(is_v4() ? v4 : flow_ipv6_word(*local6, *remote6), ports);
  }
  // The tuple, whole (ours first).
  [[nodiscard]] constexpr net::FourTuple tuple() const {
    net::FourTuple t;
    t.local_port = local_port();
    t.remote_port = remote_port();
    if (is_v4()) {
      t.local_ip = net::Ipv4Addr{static_cast<uint32_t>(v4 >> 32)};
      t.remote_ip = net::Ipv4Addr{static_cast<uint32_t>(v4)};
    } else {
      t.local_ip.bytes = *local6;
      t.remote_ip.bytes = *remote6;
    }
    return t;
  }

  uint64_t v4;                            // IPv4: local << 32 | remote (host order)
  const std::array<uint8_t, 16>* local6;  // IPv6: the addresses; null for IPv4
  const std::array<uint8_t, 16>* remote6;
  uint32_t ports;  // local << 16 | remote

 private:
  constexpr FlowProbe(uint64_t v4_word, const std::array<uint8_t, 16>* local,
                      const std::array<uint8_t, 16>* remote, uint32_t ports_word)
      : v4(v4_word), local6(local), remote6(remote), ports(ports_word) {}
};

// What a table entry derives from: the bucket link plus the key it is filed under, 24 B
// (issue 13 item 5; it was 48: hook 8, a tuple of two IPv6-sized addresses 36, padding 4).
// The key, compact: the ports as one word, and for IPv4 (nearly every connection) the two
// addresses inline as the bucket hash's own 64-bit word; for IPv6 a pointer to the pair's
// addresses (Ipv6AddrPair) in its owner's storage instead. Why a pointer and not an index
// into a table the link cannot see: tuple() stays answerable from the entry alone, as
// TcpLayer::tuple(const Conn*) needs, and the table's compare needs no storage of its own.
// The key must not change while the entry is in a table.
struct FlowLink : boost::intrusive::unordered_set_base_hook<boost::intrusive::tag<FlowTableTag>> {
  // The tuple, whole (ours first).
  [[nodiscard]] net::FourTuple tuple() const {
    net::FourTuple t;
    t.local_port = local_port();
    t.remote_port = remote_port();
    if (v6_) {
      t.local_ip.bytes = v6_pair_->local;
      t.remote_ip.bytes = v6_pair_->remote;
    } else {
      t.local_ip = local_v4();
      t.remote_ip = remote_v4();
    }
    return t;
  }
  // Files `t` as this entry's key. `room` holds an IPv6 tuple's addresses (IPv4 leaves it
  // untouched; it may be null when the owner has only IPv4 tuples) and must stay this
  // entry's while the key is.
  void set_tuple(const net::FourTuple& t, Ipv6AddrPair* room) {
    assert(!in_flow_table());
    ports_ = flow_ports_word(t.local_port, t.remote_port);
    v6_ = !t.is_v4();
    if (v6_) {
      assert(room);
      room->local = t.local_ip.bytes;
      room->remote = t.remote_ip.bytes;
      v6_pair_ = room;
    } else {
      v4_ = flow_ipv4_word(t.local_ip.v4().value, t.remote_ip.v4().value);
    }
  }

  [[nodiscard]] bool is_v4() const { return !v6_; }
  [[nodiscard]] uint16_t local_port() const { return static_cast<uint16_t>(ports_ >> 16); }
  [[nodiscard]] uint16_t remote_port() const { return static_cast<uint16_t>(ports_); }
  // The IPv4 addresses (meaningful when is_v4()).
  [[nodiscard]] net::Ipv4Addr local_v4() const {
    return net::Ipv4Addr{static_cast<uint32_t>(v4_ >> 32)};
  }
  [[nodiscard]] net::Ipv4Addr remote_v4() const {
    return net::Ipv4Addr{static_cast<uint32_t>(v4_)};
  }

  // flow_bucket_hash(tuple()), without building the tuple for IPv4.
  [[nodiscard]] uint64_t bucket_hash() const {
    return flow_bucket_mix(v6_ ? flow_ipv6_word(v6_pair_->local, v6_pair_->remote) : v4_, ports_);
  }
  // The key is the probe's tuple. IPv4: two word compares and the family; IPv6 reads its
  // pair only when the ports and family already agree.
  [[nodiscard]] bool matches(const FlowProbe& p) const {
    if (ports_ != p.ports || v6_ == p.is_v4()) return false;
    if (!v6_) return v4_ == p.v4;
    return v6_pair_->local == *p.local6 && v6_pair_->remote == *p.remote6;
  }
  [[nodiscard]] bool same_key(const FlowLink& o) const {
    if (ports_ != o.ports_ || v6_ != o.v6_) return false;
    if (!v6_) return v4_ == o.v4_;
    return v6_pair_->local == o.v6_pair_->local && v6_pair_->remote == o.v6_pair_->remote;
  }

  [[nodiscard]] bool in_flow_table() const { return this->is_linked(); }

 private:
  union {
    uint64_t v4_ = flow_ipv4_word(0, 0);  // IPv4: local << 32 | remote (host order)
    const Ipv6AddrPair* v6_pair_;         // IPv6: the pair's addresses
  };
  uint32_t ports_ = 0;  // local << 16 | remote
  bool v6_ = false;
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

  // Files `e` under e.tuple(). One hash computation covers the duplicate check and the insert.
  [[nodiscard]] InsertResult insert(Entry& e) { return insert(e, e.bucket_hash()); }
  // The same with flow_bucket_hash(e.tuple()) already computed (a caller that looked the tuple
  // up first: an active open hashes its tuple once, issue 13).
  [[nodiscard]] InsertResult insert(Entry& e, uint64_t hash) {
    assert(!e.in_flow_table());
    assert(hash == e.bucket_hash());
    typename Set::insert_commit_data commit;
    if (!set_.insert_check(static_cast<const FlowLink&>(e), Known{hash}, SameKey{}, commit).second)
      return InsertResult::duplicate;
    if (set_.size() >= capacity_) return InsertResult::full;
    set_.insert_commit(e, commit);
    return InsertResult::inserted;
  }

  [[nodiscard]] Entry* find(const net::FourTuple& t) { return find(t, flow_bucket_hash(t)); }
  // `hash`: flow_bucket_hash(t), computed once for several lookups of one tuple.
  [[nodiscard]] Entry* find(const net::FourTuple& t, uint64_t hash) {
    return find(FlowProbe(t), hash);
  }
  // `hash`: p.hash(), computed once for several lookups of one tuple.
  [[nodiscard]] Entry* find(const FlowProbe& p, uint64_t hash) {
    assert(hash == p.hash());
    auto it = set_.find(p, Known{hash}, Matches{});
    return it == set_.end() ? nullptr : &*it;
  }
  [[nodiscard]] const Entry* find(const net::FourTuple& t) const {
    auto it = set_.find(FlowProbe(t), Known{flow_bucket_hash(t)}, Matches{});
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
  // The key is the link itself (its compact tuple, FlowLink); erase hashes it again
  // (Boost.Intrusive keeps no hash in the hook), lookups compare a FlowProbe with it.
  struct KeyOf {
    using type = FlowLink;
    const FlowLink& operator()(const Entry& e) const { return e; }
  };
  struct Hash {
    std::size_t operator()(const FlowLink& l) const {
      return static_cast<std::size_t>(l.bucket_hash());
    }
  };
  struct SameKey {
    bool operator()(const FlowLink& a, const FlowLink& b) const { return a.same_key(b); }
  };
  struct Matches {
    bool operator()(const FlowProbe& p, const FlowLink& l) const { return l.matches(p); }
  };
  // A hash already computed, handed to the lookups that take a hasher.
  struct Known {
    uint64_t hash;
    template <class Key>
    std::size_t operator()(const Key&) const {
      return static_cast<std::size_t>(hash);
    }
  };

  using Set = boost::intrusive::unordered_set<
      Entry,
      boost::intrusive::base_hook<
          boost::intrusive::unordered_set_base_hook<boost::intrusive::tag<FlowTableTag>>>,
      boost::intrusive::key_of_value<KeyOf>, boost::intrusive::hash<Hash>,
      boost::intrusive::equal<SameKey>, boost::intrusive::constant_time_size<true>,
      boost::intrusive::power_2_buckets<true>>;
  using Bucket = typename Set::bucket_type;
  using BucketTraits = typename Set::bucket_traits;

  std::size_t capacity_;
  std::unique_ptr<Bucket[]> buckets_;  // declared before set_: it must outlive it
  Set set_;
};

}  // namespace pollux::base
