#include "tcp/recv_queue.hpp"

#include <rte_mbuf_dyn.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "base/mbuf_free_batch.hpp"

namespace pollux::tcp {

namespace {

// The offset of the link field in every mbuf, once registered (-1 before). Written once by
// whichever lcore registers first; DPDK returns the same offset to every later caller.
std::atomic<int> link_offset{-1};

int register_link() {
  static const rte_mbuf_dynfield desc = {.name = "pollux_rcvq_next_chain",
                                         .size = sizeof(rte_mbuf*),
                                         .align = alignof(rte_mbuf*),
                                         .flags = 0};
  const int off = rte_mbuf_dynfield_register(&desc);
  if (off >= 0) link_offset.store(off, std::memory_order_relaxed);
  return off;
}

int link_field() {
  const int off = link_offset.load(std::memory_order_relaxed);
  if (off >= 0) [[likely]]
    return off;
  const int now = register_link();
  // Registered here where start-up did not (unit tests, the simulator). A failure here
  // means DPDK has no room for the field: nothing to link queued data with, and no way to
  // refuse it safely. A real start-up registers first (dpdk::init_eal) and exits cleanly.
  if (now < 0) rte_panic("pollux: cannot register the receive queue's mbuf field\n");
  return now;
}

// The head of the chain queued after `c`'s (`c` a chain head in the queue).
rte_mbuf* next_chain(const rte_mbuf* c) {
  return *RTE_MBUF_DYNFIELD(c, link_offset.load(std::memory_order_relaxed), rte_mbuf* const*);
}

void set_next_chain(rte_mbuf* c, rte_mbuf* next) {
  *RTE_MBUF_DYNFIELD(c, link_field(), rte_mbuf**) = next;
}

// May `len` more bytes be written behind `last`'s data? Only into a buffer this queue alone
// owns: a direct mbuf (no attached or external buffer) with one reference.
bool room_behind(const rte_mbuf* last, uint16_t len) {
  return last != nullptr && RTE_MBUF_DIRECT(last) && rte_mbuf_refcnt_read(last) == 1 &&
         rte_pktmbuf_tailroom(last) >= len;
}

// Frees a whole chain in one pass. Each header is a miss (the sending lcore wrote it last),
// and its `next` is the only way to the one after: ask for the next header's two lines as
// soon as its address is known, so that the miss overlaps the work on this one (its
// reference dropped, an indirect mbuf's detach from the buffer it referenced). Both lines
// will be written (the detach resets the first, the free clears `next` in the second): ask
// for them with intent to write (PREFETCHW where the target has it), so that each comes
// over once, owned, rather than shared first and then claimed from the other core.
void free_chain(rte_mbuf* m, base::MbufFreeBatch& freed) {
  while (m != nullptr) {
    rte_mbuf* next = m->next;
    if (next != nullptr) {
      __builtin_prefetch(next, 1, 3);
      __builtin_prefetch(RTE_PTR_ADD(next, RTE_CACHE_LINE_MIN_SIZE), 1, 3);
    }
    freed.add(m);
    m = next;
  }
}

}  // namespace

bool RecvQueue::register_link_field() {
  return link_offset.load(std::memory_order_relaxed) >= 0 || register_link() >= 0;
}

rte_mbuf* RecvQueue::last_segment() const {
  // A walk, for the collapse (under pressure or with a queue past its share) only.
  rte_mbuf* m = tail_;
  while (m != nullptr && m->next != nullptr) m = m->next;
  return m;
}

bool RecvQueue::fits_behind(const rte_mbuf* m) const {
  return m->next == nullptr && room_behind(last_segment(), rte_pktmbuf_data_len(m));
}

void RecvQueue::link_chain(rte_mbuf* c, uint32_t segs) {
  set_next_chain(c, nullptr);
  if (tail_)
    set_next_chain(tail_, c);
  else
    head_ = c;
  tail_ = c;
  bytes_ += rte_pktmbuf_pkt_len(c);
  mbufs_ += segs;
}

uint32_t RecvQueue::append(base::UniqueMbuf chain, uint32_t collapse_above) {
  rte_mbuf* c = chain.release();
  if (c == nullptr) return 0;
  if (rte_pktmbuf_pkt_len(c) == 0) {
    rte_pktmbuf_free(c);
    return 0;
  }
  // With every segment linked, the queue would hold at most collapse_above + 1 mbufs before
  // the last of them: none would be collapsed, so the chain goes in whole, unvisited.
  const uint32_t segs = c->nb_segs;
  if (uint64_t{mbufs_} + segs - 1 <= collapse_above) {
    link_chain(c, segs);
    return 0;
  }
  return append_segments(c, collapse_above);
}

uint32_t RecvQueue::append_segments(rte_mbuf* m, uint32_t collapse_above) {
  uint32_t collapsed = 0;
  rte_mbuf* last = last_segment();
  // Taken apart segment by segment: each is queued as a chain of its own, or copied and freed.
  while (m != nullptr) {
    rte_mbuf* next = m->next;
    m->next = nullptr;
    const uint16_t len = rte_pktmbuf_data_len(m);
    if (len == 0) {
      rte_pktmbuf_free_seg(m);
    } else if (mbufs_ > collapse_above && room_behind(last, len)) {
      // The application may hold spans into `last` (peek): they stay valid, the bytes before
      // the room are not moved.
      std::memcpy(rte_pktmbuf_mtod_offset(last, uint8_t*, last->data_len),
                  rte_pktmbuf_mtod(m, const uint8_t*), len);
      last->data_len = static_cast<uint16_t>(last->data_len + len);
      tail_->pkt_len += len;  // `last` ends the chain that tail_ heads
      bytes_ += len;
      ++collapsed;
      rte_pktmbuf_free_seg(m);
    } else {
      m->nb_segs = 1;
      m->pkt_len = m->data_len;
      link_chain(m, 1);
      last = m;
    }
    m = next;
  }
  return collapsed;
}

size_t RecvQueue::peek(ByteSpan* out, size_t max) const {
  size_t n = 0;
  for (const rte_mbuf* c = head_; c && n < max; c = next_chain(c))
    for (const rte_mbuf* m = c; m && n < max; m = m->next)
      if (const uint16_t len = rte_pktmbuf_data_len(m); len != 0)
        out[n++] = {rte_pktmbuf_mtod(m, const uint8_t*), len};
  return n;
}

size_t RecvQueue::copy(uint8_t* out, size_t len) const {
  size_t done = 0;
  for (const rte_mbuf* c = head_; c && done < len; c = next_chain(c))
    for (const rte_mbuf* m = c; m && done < len; m = m->next) {
      const size_t n = std::min<size_t>(len - done, rte_pktmbuf_data_len(m));
      if (n != 0) std::memcpy(out + done, rte_pktmbuf_mtod(m, const uint8_t*), n);
      done += n;
    }
  return done;
}

rte_mbuf* RecvQueue::consume_within(rte_mbuf* c, uint32_t n, base::MbufFreeBatch& freed) {
  // 0 < n < c's pkt_len: the buffers read whole go, the rest of the chain stays queued with
  // its first remaining buffer as its head.
  uint32_t left = rte_pktmbuf_pkt_len(c);
  uint16_t segs = c->nb_segs;
  rte_mbuf* const after = next_chain(c);
  rte_mbuf* m = c;
  while (n >= rte_pktmbuf_data_len(m)) {
    const uint32_t len = rte_pktmbuf_data_len(m);
    n -= len;
    left -= len;
    --segs;
    --mbufs_;
    rte_mbuf* next = m->next;
    freed.add(m);
    m = next;
  }
  if (m != c) {
    m->pkt_len = left;
    m->nb_segs = segs;
    set_next_chain(m, after);
    if (tail_ == c) tail_ = m;
  }
  if (n > 0) rte_pktmbuf_adj(m, static_cast<uint16_t>(n));
  return m;
}

void RecvQueue::consume(uint32_t n) {
  n = std::min(n, bytes_);
  bytes_ -= n;
  base::MbufFreeBatch freed;  // the buffers read whole, back to the pool in batches
  while (n > 0 && head_) {
    rte_mbuf* c = head_;
    const uint32_t len = rte_pktmbuf_pkt_len(c);
    if (n < len) {
      head_ = consume_within(c, n, freed);
      return;
    }
    // The whole chain was read: its head's totals say so, no buffer of it is looked at
    // before it is freed.
    n -= len;
    mbufs_ -= c->nb_segs;
    head_ = next_chain(c);
    free_chain(c, freed);
  }
  if (!head_) tail_ = nullptr;
}

void RecvQueue::clear() {
  base::MbufFreeBatch freed;
  while (head_) {
    rte_mbuf* c = head_;
    head_ = next_chain(c);
    free_chain(c, freed);
  }
  tail_ = nullptr;
  bytes_ = 0;
  mbufs_ = 0;
}

}  // namespace pollux::tcp
