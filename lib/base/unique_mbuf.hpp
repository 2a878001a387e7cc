// One owner for an mbuf chain (issue 11 item 4): a received segment travels down the input
// path in a UniqueMbuf, so that a branch that returns early, drops or forgets it cannot leak
// it, and a second free cannot happen. Whoever holds it owns the whole chain; the destructor
// frees it unless it was moved on (std::move into the next owner: a function that takes it
// by value, a queue) or released (handed to code that takes a raw rte_mbuf*: ip_output, a
// queue's node). Pointer-sized; a moved-from handle is null, so passing it down costs a
// null check at each destructor and nothing else.
//
// Why a handle and not FreeBSD's single exit (tcp_input's drop/dropafterack/dropwithreset
// labels, DESIGN.md's anchor): pollux's input is many short functions, one per RFC 9293
// 3.10.7 step group, and a label cannot span them; the handle's type says at every
// signature who owns the segment, and the compiler refuses a copy.
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <utility>

namespace pollux::base {

class UniqueMbuf {
 public:
  UniqueMbuf() = default;
  explicit UniqueMbuf(rte_mbuf* m) noexcept : m_(m) {}
  UniqueMbuf(const UniqueMbuf&) = delete;
  UniqueMbuf& operator=(const UniqueMbuf&) = delete;
  UniqueMbuf(UniqueMbuf&& other) noexcept : m_(std::exchange(other.m_, nullptr)) {}
  UniqueMbuf& operator=(UniqueMbuf&& other) noexcept {
    if (this != &other) reset(std::exchange(other.m_, nullptr));
    return *this;
  }
  ~UniqueMbuf() { reset(); }

  [[nodiscard]] rte_mbuf* get() const noexcept { return m_; }
  rte_mbuf* operator->() const noexcept { return m_; }
  explicit operator bool() const noexcept { return m_ != nullptr; }

  // Gives the chain up to a raw owner; the handle is empty afterwards.
  [[nodiscard]] rte_mbuf* release() noexcept { return std::exchange(m_, nullptr); }
  // Frees the chain held (if any) now, and holds `m` instead. reset() is the early free: a
  // segment given back to the pool before an answer is allocated, so that an exhausted pool
  // still has the buffer for it.
  void reset(rte_mbuf* m = nullptr) noexcept {
    rte_mbuf* old = std::exchange(m_, m);
    if (old != nullptr) rte_pktmbuf_free(old);
  }

  // A buffer to write a reply into, in place of the chain held: its first buffer alone (the
  // rest of the chain freed) when no one else references its bytes; otherwise (an indirect
  // mbuf, or one with other references) the chain is freed and a fresh buffer taken from
  // `pool`. Either way rte_pktmbuf_reset() is left to the caller. False, and empty, when the
  // pool has none.
  [[nodiscard]] bool make_writable(rte_mempool* pool) noexcept {
    if (m_ == nullptr) return false;
    if (m_->next != nullptr) {  // the segments after the first are not needed
      rte_pktmbuf_free(m_->next);
      m_->next = nullptr;
    }
    if (!RTE_MBUF_DIRECT(m_) || rte_mbuf_refcnt_read(m_) != 1) {
      reset();  // first: with the pool empty, the buffer given back is the one taken
      m_ = rte_pktmbuf_alloc(pool);
    }
    return m_ != nullptr;
  }

 private:
  rte_mbuf* m_ = nullptr;
};

static_assert(sizeof(UniqueMbuf) == sizeof(rte_mbuf*));

// One segment whose bytes are its own and no one else's (a direct mbuf, no attached or
// external buffer, one reference): after rte_pktmbuf_reset() it can be written as a buffer
// just allocated (a received segment's buffer carrying an answer).
[[nodiscard]] inline bool is_sole_plain_segment(const rte_mbuf* m) {
  return m->nb_segs == 1 && m->next == nullptr && RTE_MBUF_DIRECT(m) &&
         rte_mbuf_refcnt_read(m) == 1;
}

}  // namespace pollux::base
