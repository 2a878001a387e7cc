// IPv4 reassembly (RFC 791 3.2, RFC 1122 3.3.2: a host MUST reassemble), one table per lcore.
//
// Fragments are held, never copied: each keeps its mbuf (Ethernet and IPv4 header included)
// until its datagram is complete; then the first fragment's mbuf becomes the head of a chain
// whose other buffers are the later fragments with their headers cut off, and its IPv4 header
// is rewritten to describe the whole datagram. The engine hands that chain on like any frame.
//
// Bounded and preallocated (the vectors are sized once, at construction): at most
// `max_datagrams` datagrams in reassembly and `max_mbufs` mbufs held, a pool of its own that
// TCP's receive budget (TcpConfig::rcv_mbuf_budget) never shares. A datagram not complete
// `timeout_ns` after its first fragment arrived is dropped with everything it holds. When the
// table or the memory is full, fragments of new datagrams are refused (counted); the old ones
// complete or time out, and the table recovers by itself.
//
// Hostile fragment sets are refused whole (every rule its own counter, each counting the
// fragments it discards, so that every received frame is accounted for exactly once):
//   - overlapping fragments: the datagram is dropped (RFC 5722's rule for IPv6, applied to
//     IPv4 as Linux does: overlaps exist only to evade filters). Exact duplicates (same
//     offset and length) are ignored and the first copy kept (RFC 8200 4.5 allows it:
//     networks duplicate packets);
//   - a fragment ending beyond 65535 bytes of datagram (the "ping of death"), or beyond the
//     configured maximum;
//   - a zero-length fragment, or one with More Fragments whose length is not a multiple of
//     8 (RFC 791 3.2: every fragment but the last carries a multiple of 8 octets);
//   - a second last fragment that disagrees, or data beyond the last fragment's end.
// A dropped datagram's entry stays until its timeout, holding no mbufs, so that its remaining
// fragments are discarded too rather than starting a new reassembly.
//
// The hash that finds a datagram uses the (source, destination, protocol, identification)
// key of RFC 791; a per-table random seed is not needed for a table this small (a bucket
// chain is at most max_datagrams long).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <vector>

#include "base/counters.hpp"
#include "net/ipv4.hpp"

namespace pollux::engine {

struct ReassemblyConfig {
  // Datagrams in reassembly at once, per lcore (0 turns reassembly off: fragments are then
  // dropped as drop_ip_fragment).
  uint16_t max_datagrams = 64;
  // Fragment mbufs held at once, per lcore: a datagram of 64 KB at MTU 1500 is 45 of them.
  uint16_t max_mbufs = 256;
  // Largest datagram (header and payload) accepted; 65535 is all IPv4 can express.
  uint32_t max_datagram_len = 65535;
  // RFC 791 suggests 15 s, RFC 1122 3.3.2 60-120 s, Linux uses 30 s (ipfrag_time). 30 s:
  // at today's rates a source's 16-bit identification space wraps within seconds, so a
  // longer wait only raises the chance of joining fragments of different datagrams (RFC
  // 4963), and under a flood it holds memory longer; a real peer's fragments all arrive
  // within a round trip.
  uint64_t timeout_ns = 30'000'000'000;
};

class Ipv4Reassembly {
 public:
  Ipv4Reassembly(const ReassemblyConfig& config, base::Counters& counters);
  ~Ipv4Reassembly();
  Ipv4Reassembly(const Ipv4Reassembly&) = delete;
  Ipv4Reassembly& operator=(const Ipv4Reassembly&) = delete;

  [[nodiscard]] bool enabled() const { return !datagrams_.empty(); }

  // Takes a fragment: `m` is its Ethernet frame, cut to the datagram's end (no padding), and
  // `ip` its parsed header. Returns the reassembled datagram (a chain headed by the first
  // fragment, IPv4 header rewritten: no fragment bits, full total length, checksum filled;
  // receive checksum flags cleared so that the L4 checksum is verified in software) when
  // this fragment completed one; else null (held, or freed and counted).
  [[nodiscard]] rte_mbuf* add(rte_mbuf* m, const net::Ipv4Header& ip, uint64_t now_ns);

  // Drops every datagram whose time is up. Cheap when none is (one comparison, inline: the
  // engine asks on every poller turn, and the call's register saves cost ten times the
  // test; issue 13).
  void expire(uint64_t now_ns) {
    if (oldest_ != kNone && datagrams_[oldest_].deadline <= now_ns) expire_due(now_ns);
  }

  // Told, just before a timed-out datagram is dropped, about its first fragment when that
  // one (offset 0) had arrived: RFC 1122 3.3.2 then wants an ICMP Time Exceeded sent to the
  // source, quoting it. The mbuf is only lent (it is freed right after). Set once.
  using TimeoutHook = void (*)(void* ctx, const rte_mbuf* first_fragment, uint64_t now_ns);
  void on_timeout(TimeoutHook hook, void* ctx) {
    hook_ = hook;
    hook_ctx_ = ctx;
  }

  [[nodiscard]] uint32_t datagrams_held() const { return datagrams_used_; }
  [[nodiscard]] uint32_t mbufs_held() const { return mbufs_held_; }

 private:
  static constexpr int32_t kNone = -1;
  struct Key {
    uint32_t src = 0, dst = 0;
    uint16_t id = 0;
    uint8_t protocol = 0;
    bool operator==(const Key&) const = default;
  };
  struct Fragment {
    rte_mbuf* m = nullptr;
    uint32_t start = 0, end = 0;  // payload bytes [start, end) of the datagram
    int32_t next = kNone;         // by start, ascending; or the free list
  };
  struct Datagram {
    Key key;
    uint64_t deadline = 0;
    int32_t fragments = kNone;             // sorted by start
    int32_t hash_next = kNone;             // bucket chain, or the free list
    int32_t older = kNone, newer = kNone;  // the age list (creation order = deadline order)
    uint32_t received = 0;                 // payload bytes held (no overlaps, so coverage)
    uint32_t end = 0;                      // payload length, once the last fragment came
    uint16_t mbufs = 0;
    bool have_last = false;
    bool dead = false;  // dropped: discards its fragments until the deadline
  };

  void expire_due(uint64_t now_ns);  // expire() when the oldest datagram's time is up
  [[nodiscard]] size_t bucket_of(const Key& k) const;
  [[nodiscard]] int32_t find(const Key& k) const;
  [[nodiscard]] int32_t create(const Key& k, uint64_t now_ns);
  void release(int32_t d);  // unlinks and frees the entry (its fragments must be gone)
  void kill(int32_t d, base::Counter why);  // frees its fragments (counted), marks it dead
  [[nodiscard]] rte_mbuf* assemble(int32_t d);
  void discard(rte_mbuf* m, base::Counter why);

  ReassemblyConfig config_;
  base::Counters& counters_;
  std::vector<Datagram> datagrams_;
  std::vector<Fragment> fragments_;
  std::vector<int32_t> buckets_;
  int32_t free_datagram_ = kNone, free_fragment_ = kNone;
  int32_t oldest_ = kNone, newest_ = kNone;
  uint32_t datagrams_used_ = 0;
  uint32_t mbufs_held_ = 0;
  TimeoutHook hook_ = nullptr;
  void* hook_ctx_ = nullptr;
};

}  // namespace pollux::engine
