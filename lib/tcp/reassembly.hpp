// The receive side's out-of-order queue: segment text that arrived beyond RCV.NXT, held as
// mbuf chains until the hole before it is filled (RFC 9293 3.10.7.4, "segment text ... placed
// in the receive buffer"; 3.8.6.3 asks for an immediate ACK carrying the holes), plus the SACK
// blocks that describe it (RFC 2018 4) and D-SACK reports of duplicates (RFC 2883 4).
//
// Why this shape:
//  - Zero copy: a queued range is the peer's own mbufs, trimmed in place (data_off/data_len)
//    where it overlaps what we already hold, and chained to its neighbours when it touches
//    them. Payload bytes are never copied.
//  - No allocation after construction: ranges live in Nodes from a pool sized once
//    (max_nodes + 1), filed in a Boost.Intrusive red-black tree keyed by their first sequence
//    number. The hook lives in the Node, not in the mbuf: an mbuf's headroom and dynfields
//    belong to the driver and to other libraries, and a pool of small nodes is simple to bound.
//  - Keys are compared with Seq's modular order. That order is only consistent while every
//    key lies within 2^31 of every other, which holds because the caller trims segments to the
//    receive window (RFC 9293 3.10.7.4) and RFC 7323 2.3 keeps the window below 2^30.
//  - Bounded: bytes, nodes and mbufs held each have a limit (the mbuf limit is the "truesize"
//    guard: a peer sending 1-byte segments would otherwise pin one 2 KB mbuf per byte). An
//    out-of-order insert that would exceed a limit is dropped whole, and the peer's
//    retransmission brings it back later. Dropping the newest rather than evicting queued data
//    is deliberate: what is queued may already have been SACKed, and RFC 2018 8 lets a
//    receiver renege on SACKed data but says it should not; throwing it away makes the sender
//    wait for a retransmission timeout instead of the fast retransmit SACK buys.
//  - One exception keeps the connection from deadlocking: a range starting exactly at RCV.NXT
//    (the retransmission that fills the first hole) is accepted even over the limits, using a
//    node reserved for it, because the caller pops it (and everything after) right away.
//    Refusing it would refuse the only segment that can ever free the queue.
//  - Chains are merged only while they stay within max_chain_bytes and max_chain_segs
//    (nb_segs is 16 bits in rte_mbuf; 65535 bytes keeps a chain describable by a 16-bit
//    length). Ranges that touch but would exceed a limit stay as separate, adjacent nodes;
//    SACK blocks and pops treat them as one contiguous run.
//
// Ownership: insert() always takes `payload` (a base::UniqueMbuf moved in: it is queued or
// freed, whatever the status);
// pop_in_order() hands a chain back to the caller; clear() and the destructor free everything.
// The caller must have removed headers already (pkt_len == payload length) and must not hold
// on to the mbuf after insert().
//
// D-SACK (RFC 2883): insert() reports the first contiguous duplicate range of the segment it
// was given; it keeps no D-SACK state. The caller holds the one pending D-SACK (Tcb, which
// also has duplicates that never reach insert(), such as a segment wholly below RCV.NXT),
// passes it to sack_blocks() to be written first, and forgets it once an ACK carried it, so
// each duplicate is reported once (RFC 2883 4).
#pragma once

#include <rte_mbuf.h>

#include <boost/intrusive/set.hpp>
#include <boost/intrusive/slist.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "base/unique_mbuf.hpp"
#include "net/seq.hpp"
#include "net/tcp_options.hpp"

namespace pollux::tcp {

struct ReassemblyLimits {
  uint32_t max_bytes = 256 * 1024;   // payload bytes held; at least the advertised window
  uint32_t max_nodes = 64;           // separate ranges held (holes + 1, roughly)
  uint32_t max_mbufs = 512;          // mbuf segments held: bounds pool usage, not just bytes
  uint32_t max_chain_bytes = 65535;  // a merged chain's pkt_len
  uint16_t max_chain_segs = RTE_MBUF_MAX_NB_SEGS;  // a merged chain's nb_segs
};

enum class InsertStatus : uint8_t {
  queued,     // some bytes were new and are now held (duplicate parts were trimmed off)
  duplicate,  // nothing new: every byte was below rcv_nxt or already held
  dropped,    // the new bytes would exceed a limit: the segment was freed (counted)
  empty,      // zero-length payload: freed, nothing to do
};

struct ReassemblyInsert {
  InsertStatus status = InsertStatus::empty;
  uint32_t new_bytes = 0;  // bytes added to the queue (0 unless queued)
  // The lowest contiguous range of the segment that was a duplicate (below rcv_nxt or already
  // held), whatever the status; RFC 2883 reports one such range per ACK.
  std::optional<net::SackBlock> dsack;
};

struct ReassemblyStats {
  uint64_t dropped_segments = 0;  // inserts refused by a limit
  uint64_t dropped_bytes = 0;     // new bytes those inserts would have added
  uint64_t duplicate_bytes = 0;   // bytes received twice (trimmed or freed)
};

class ReassemblyQueue {
 public:
  explicit ReassemblyQueue(const ReassemblyLimits& limits = {});
  ~ReassemblyQueue();
  ReassemblyQueue(const ReassemblyQueue&) = delete;
  ReassemblyQueue& operator=(const ReassemblyQueue&) = delete;

  // Queues the segment text [seq, seq + payload->pkt_len). Bytes below rcv_nxt and bytes
  // already held are trimmed off (the copy we hold wins, so what we SACKed never changes).
  // Takes ownership of `payload` in every case. Precondition: the segment was trimmed to the
  // receive window (seq + len - rcv_nxt < 2^31).
  [[nodiscard]] ReassemblyInsert insert(net::Seq seq, base::UniqueMbuf payload, net::Seq rcv_nxt);

  // Removes the chain that starts at or below rcv_nxt, trimmed to start exactly at rcv_nxt,
  // advances rcv_nxt past it and returns it (the caller owns it); nullptr when the first held
  // byte is beyond rcv_nxt (a hole) or the queue is empty. Ranges wholly below rcv_nxt (the
  // caller advanced it itself, e.g. by delivering an in-order segment directly) are freed on
  // the way. Adjacent ranges that could not be merged come out in consecutive calls:
  //     while (rte_mbuf* m = q.pop_in_order(rcv_nxt)) deliver(m);
  [[nodiscard]] rte_mbuf* pop_in_order(net::Seq& rcv_nxt);

  // As above, calling deliver(rte_mbuf*) for every chain now in order; returns bytes popped.
  template <class Deliver>
  uint32_t pop_in_order(net::Seq& rcv_nxt, Deliver&& deliver) {
    const net::Seq from = rcv_nxt;
    while (rte_mbuf* m = pop_in_order(rcv_nxt)) deliver(m);
    return static_cast<uint32_t>(rcv_nxt - from);
  }

  // Fills `out` (at most kMaxSackBlocks entries are used) and returns how many were written:
  // the caller's pending D-SACK block `dsack` first (RFC 2883 4), then the contiguous runs held,
  // most recently changed first (RFC 2018 4: the first block contains the segment that triggered
  // this ACK, the rest repeat the most recently reported blocks). Recency is per run, refreshed
  // whenever an insert adds to or duplicates data in it, which is what "most recently reported"
  // amounts to when every ACK carries the freshest blocks first. Call after pop_in_order(), so that
  // no run starts at or below RCV.NXT.
  [[nodiscard]] size_t sack_blocks(std::span<net::SackBlock> out,
                                   const std::optional<net::SackBlock>& dsack = {}) const;

  [[nodiscard]] uint32_t bytes() const { return bytes_; }
  [[nodiscard]] uint32_t nodes() const { return node_count_; }
  [[nodiscard]] uint32_t mbufs() const { return mbuf_count_; }
  [[nodiscard]] bool empty() const { return node_count_ == 0; }
  // First and one-past-last sequence numbers held (meaningless when empty()).
  [[nodiscard]] net::Seq first_seq() const;
  [[nodiscard]] net::Seq last_seq() const;
  [[nodiscard]] const ReassemblyLimits& limits() const { return limits_; }
  [[nodiscard]] const ReassemblyStats& stats() const { return stats_; }

  // Frees every held mbuf (connection reset or close).
  void clear();

  // The layer's pool of queues (base::FreeList) links the free ones through this.
  ReassemblyQueue* next_free = nullptr;

 private:
  struct Node {
    boost::intrusive::set_member_hook<> tree_hook;
    boost::intrusive::slist_member_hook<> free_hook;
    net::Seq start;
    uint32_t len = 0;  // == head->pkt_len
    rte_mbuf* head = nullptr;
    rte_mbuf* tail = nullptr;  // last segment, for O(1) chaining
    uint64_t recency = 0;      // recency_clock_ value when last touched
    [[nodiscard]] net::Seq end() const { return start + len; }
  };
  struct NodeStart {
    using type = net::Seq;
    net::Seq operator()(const Node& n) const { return n.start; }
  };
  using Tree = boost::intrusive::set<
      Node, boost::intrusive::key_of_value<NodeStart>,
      boost::intrusive::member_hook<Node, boost::intrusive::set_member_hook<>, &Node::tree_hook>,
      boost::intrusive::constant_time_size<false>>;
  using FreeList = boost::intrusive::slist<
      Node,
      boost::intrusive::member_hook<Node, boost::intrusive::slist_member_hook<>, &Node::free_hook>>;

  // Frees n's chain and returns n to the pool; n must already be out of the tree.
  void release(Node& n);
  [[nodiscard]] bool fits(uint32_t a_len, uint32_t a_segs, uint32_t b_len, uint32_t b_segs) const;

  ReassemblyLimits limits_;
  std::unique_ptr<Node[]> pool_;  // declared first: outlives the containers linking its nodes
  FreeList free_;
  Tree tree_;
  uint32_t bytes_ = 0;
  uint32_t node_count_ = 0;
  uint32_t mbuf_count_ = 0;
  uint64_t recency_clock_ = 0;
  ReassemblyStats stats_;
};

// Chain surgery without copying, exposed for the engine's own trimming (RFC 9293 3.10.7.4
// "trim to the window"). Both keep head's pkt_len and nb_segs exact and free the segments
// that become empty. Precondition: 0 < n < head->pkt_len (never trims a chain to nothing).
// Returns the new head.
[[nodiscard]] rte_mbuf* mbuf_trim_front(rte_mbuf* head, uint32_t n);
// The same on a chain in a handle, which holds the new head afterwards.
inline void mbuf_trim_front(base::UniqueMbuf& m, uint32_t n) {
  m = base::UniqueMbuf{mbuf_trim_front(m.release(), n)};
}
// Returns the new last segment.
rte_mbuf* mbuf_trim_back(rte_mbuf* head, uint32_t n);

}  // namespace pollux::tcp
