// Frees mbufs with batched puts into their pool (issue 13). rte_pktmbuf_free_seg drops a
// buffer's reference and, if it was the last, puts it into its pool's lcore cache: one put
// per buffer. Here the reference is dropped the same way at once (rte_pktmbuf_prefree_seg:
// a buffer someone else still references is only dereferenced, an indirect mbuf detaches
// and frees its direct buffer if it held the last reference), and the buffers left to free
// wait in a small array on the stack for one rte_mempool_put_bulk per run of one pool. The
// queues flush it before they return: the pool holds what it held before, sooner.
//
// Not rte_pktmbuf_free_bulk: it does the same, but out of line in the DPDK library, and
// measured dearer per buffer than the inlined loop it would replace (bench/PROFILE.md).
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <array>
#include <cstdint>

namespace pollux::base {

class MbufFreeBatch {
 public:
  MbufFreeBatch() = default;
  MbufFreeBatch(const MbufFreeBatch&) = delete;
  MbufFreeBatch& operator=(const MbufFreeBatch&) = delete;
  ~MbufFreeBatch() { flush(); }

  // Takes one buffer, unlinked from whatever followed it: a buffer another owner still
  // references keeps no pointer to the queue's next one (which may be freed meanwhile).
  // Written only when set, as rte_pktmbuf_prefree_seg writes it: `next` sits in the header's
  // second cache line, and a store where it is null already (a chain's last buffer, a buffer
  // the queue unlinked) would dirty that line, or take it from the lcore that wrote it last,
  // for nothing.
  void add(rte_mbuf* m) noexcept {
    if (m->next != nullptr) m->next = nullptr;
    m = rte_pktmbuf_prefree_seg(m);
    if (m == nullptr) return;  // referenced elsewhere still
    if (n_ == bufs_.size() || (n_ != 0 && bufs_[0]->pool != m->pool)) flush();
    bufs_[n_++] = m;
  }
  // Gives back what it holds now. Inline for the cases most calls end in (nothing, or the
  // one buffer of a request or an ACK): one buffer goes back by a put of constant size, as
  // rte_pktmbuf_free_seg would put it; a run is copied into the pool's cache in one put.
  [[gnu::always_inline]] void flush() noexcept {
    if (n_ == 0) return;
    if (n_ == 1)
      rte_mempool_put(bufs_[0]->pool, bufs_[0]);
    else
      put_run();
    n_ = 0;
  }
  // Buffers waiting for the put.
  [[nodiscard]] uint32_t size() const noexcept { return n_; }

 private:
  [[gnu::noinline]] void put_run() noexcept {
    rte_mempool_put_bulk(bufs_[0]->pool, reinterpret_cast<void* const*>(bufs_.data()), n_);
  }

  // 32 pointers on the stack: a 64 KB TSO frame's worth of 2 KB buffers per put.
  std::array<rte_mbuf*, 32> bufs_;
  uint32_t n_ = 0;
};

}  // namespace pollux::base
