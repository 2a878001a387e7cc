// The path MTUs this lcore learnt, per destination (RFC 8201 5.2: "the IP layer ... should
// associate each PMTU value that it has learned with a specific path", a destination
// address being the simplest such path). A validated Packet Too Big (or IPv4 fragmentation
// needed) for one connection is remembered for its remote address, and a later connection
// to that address starts with the smaller MSS instead of learning it again from its own
// lost segments and the router's messages. Entries age out (RFC 8201 5.3: try a larger
// PMTU again after 10 minutes at the earliest; RFC 1191 6.3 likewise), so that a path that
// grew is used again.
//
// Bounded and preallocated: kEntries slots in sets of kWays (the set by a hash of the
// address); a new destination takes a free or expired way of its set, else the way that
// would expire first is evicted (counted, tcp_pmtu_cache_evictions). Consulted once per
// connection open and written once per believed message: never on the per-segment path.
#pragma once

#include <array>
#include <cstdint>

#include "net/ip_addr.hpp"

namespace pollux::tcp {

class PathMtuCache {
 public:
  static constexpr uint32_t kEntries = 64;
  static constexpr uint32_t kWays = 4;

  // The MTU learnt for `dst` and still valid at `now`, else 0.
  [[nodiscard]] uint16_t find(const net::IpAddr& dst, uint64_t now) const {
    if (live_hint_ == 0) return 0;  // nothing ever learnt: the common case costs one compare
    const Entry* set = set_of(dst);
    for (uint32_t w = 0; w < kWays; ++w)
      if (set[w].mtu != 0 && set[w].expires_ns > now && set[w].dst == dst) return set[w].mtu;
    return 0;
  }

  enum class Learnt : uint8_t { unchanged, updated, added, added_evicting };

  // Remembers `mtu` for `dst` until now + lifetime_ns. A live entry already at or below
  // `mtu` is left as it is (its estimate stands, its timer runs on: RFC 8201 5.3 restarts
  // it only when the estimate decreases).
  Learnt learn(const net::IpAddr& dst, uint16_t mtu, uint64_t now, uint64_t lifetime_ns) {
    Entry* set = set_of(dst);
    Entry* free = nullptr;    // a way never used or expired
    Entry* oldest = nullptr;  // else the live way that would expire first
    for (uint32_t w = 0; w < kWays; ++w) {
      Entry& e = set[w];
      const bool live = e.mtu != 0 && e.expires_ns > now;
      if (live && e.dst == dst) {
        if (e.mtu <= mtu) return Learnt::unchanged;
        e.mtu = mtu;
        e.expires_ns = now + lifetime_ns;
        return Learnt::updated;
      }
      if (!live) {
        if (!free) free = &e;
      } else if (!oldest || e.expires_ns < oldest->expires_ns) {
        oldest = &e;
      }
    }
    *(free ? free : oldest) = Entry{dst, mtu, now + lifetime_ns};
    live_hint_ = 1;
    return free ? Learnt::added : Learnt::added_evicting;
  }

 private:
  struct Entry {
    net::IpAddr dst;
    uint16_t mtu = 0;  // 0: free
    uint64_t expires_ns = 0;
  };
  static uint32_t set_index(const net::IpAddr& a) {
    // Fibonacci hashing of the address's two halves: the set is the product's top bits.
    const uint64_t h = (a.high64() * 0x9e3779b97f4a7c15ull) ^ (a.low64() * 0xc2b2ae3d27d4eb4full);
    return static_cast<uint32_t>(h >> 60) % (kEntries / kWays);
  }
  const Entry* set_of(const net::IpAddr& a) const { return &entries_[set_index(a) * kWays]; }
  Entry* set_of(const net::IpAddr& a) { return &entries_[set_index(a) * kWays]; }

  std::array<Entry, kEntries> entries_{};
  uint32_t live_hint_ = 0;  // 1 once anything was learnt
};

}  // namespace pollux::tcp
