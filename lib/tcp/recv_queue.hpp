// In-order received data waiting for the application: the payload mbufs of arrived segments,
// headers trimmed off, in sequence order. The application reads them in place and says how
// much it consumed; nothing is copied on the way in.
//
// Each arriving chain (a segment, or an LRO frame of ~30 buffers) stays whole: a proper
// DPDK chain whose head knows its pkt_len and nb_segs, its last buffer's `next` null. The
// chains are linked head to head through a dynamic mbuf field of the head (rte_mbuf_dyn.h),
// so that append() touches only the head of what arrives, never the buffers behind it: those
// were last written by the lcore that built the frame (the in-memory link's sender), and
// every header visited here costs a cross-core cache miss (issue 13, bench/PROFILE.md
// "Bulk receive (session 17)"). consume() visits each buffer once, to free it.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "base/unique_mbuf.hpp"
#include "pollux/tcp.hpp"

namespace pollux::base {
class MbufFreeBatch;
}  // namespace pollux::base

namespace pollux::tcp {

using pollux::ByteSpan;  // pollux/tcp.hpp

class RecvQueue {
 public:
  RecvQueue() = default;
  RecvQueue(const RecvQueue&) = delete;
  RecvQueue& operator=(const RecvQueue&) = delete;
  ~RecvQueue() { clear(); }

  // Registers the dynamic mbuf field that links queued chains (once per process; later calls
  // only return the result). False if DPDK has no room for it. The first append() registers
  // it too; the engine calls this at start so that a failure is reported there.
  static bool register_link_field();

  // Takes a chain of payload mbufs (head's pkt_len and nb_segs exact). Once the queue holds
  // more than `collapse_above` mbufs, a segment that fits in the free room behind the last
  // one's data is copied there and its mbuf freed (Linux's collapse): a peer sending tiny
  // segments then fills 2 KB buffers instead of pinning one per segment. Returns how many
  // segments were copied so. The queue owns the chain from here (freed segments included).
  uint32_t append(base::UniqueMbuf chain, uint32_t collapse_above = UINT32_MAX);

  // Would append() copy `m` (one segment) behind the last mbuf rather than queue it?
  [[nodiscard]] bool fits_behind(const rte_mbuf* m) const;

  // Fills up to `max` spans with the data in order; returns how many were filled.
  size_t peek(ByteSpan* out, size_t max) const;
  // Copies up to `len` bytes out without consuming.
  size_t copy(uint8_t* out, size_t len) const;
  void consume(uint32_t n);
  void clear();

  [[nodiscard]] uint32_t bytes() const { return bytes_; }
  [[nodiscard]] uint32_t mbufs() const { return mbufs_; }

 private:
  void link_chain(rte_mbuf* c, uint32_t segs);
  uint32_t append_segments(rte_mbuf* m, uint32_t collapse_above);
  [[nodiscard]] rte_mbuf* last_segment() const;
  rte_mbuf* consume_within(rte_mbuf* c, uint32_t n, base::MbufFreeBatch& freed);

  rte_mbuf* head_ = nullptr;  // the first chain's head (its link leads to the next chain)
  rte_mbuf* tail_ = nullptr;  // the last chain's head (its link is null)
  uint32_t bytes_ = 0;
  uint32_t mbufs_ = 0;  // every buffer of every chain
};

}  // namespace pollux::tcp
