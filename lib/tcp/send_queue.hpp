// The send queue: bytes the application handed over that the peer has not acknowledged yet,
// held as a list of mbufs (RFC 9293 3.3.1: the bytes from SND.UNA on). send() copies into
// the tail's free room; an ACK frees whole mbufs from the head. Segments are cut from it at
// transmit time at whatever MSS is in force, so PMTUD never needs to re-split anything. A
// segment either copies its bytes out (copy_out) or references them in place (share).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <span>

namespace pollux::tcp {

class SendQueue {
 public:
  SendQueue() = default;
  SendQueue(const SendQueue&) = delete;
  SendQueue& operator=(const SendQueue&) = delete;
  ~SendQueue() { clear(); }

  // Copies up to `data.size()` bytes (bounded by `limit` bytes in the queue in all, and by
  // `max_new_mbufs` mbufs taken from the pool for it); returns how many were taken. Stops
  // early, without error, if the pool runs dry.
  size_t append(std::span<const uint8_t> data, uint32_t limit, rte_mempool* pool,
                uint32_t max_new_mbufs = UINT32_MAX);

  // Copies `len` bytes starting `offset` bytes after the head (offset 0 = SND.UNA) to `out`.
  // Sequential reads are O(1) thanks to a cursor; the caller guarantees the range exists.
  void copy_out(uint32_t offset, uint32_t len, uint8_t* out);

  // The same bytes without copying them: a chain of indirect mbufs from `pool`, each attached
  // to (and holding a reference on) the queue's mbuf it covers, so the bytes outlive an ACK
  // that drops them from the queue while a segment still carries them. Null when the pool
  // runs dry (nothing is left allocated). Same range contract and cursor as copy_out.
  [[nodiscard]] rte_mbuf* share(uint32_t offset, uint32_t len, rte_mempool* pool);

  // Forgets the first `n` bytes (they were acknowledged).
  void drop_front(uint32_t n);

  void clear();
  [[nodiscard]] uint32_t bytes() const { return bytes_; }
  [[nodiscard]] bool empty() const { return bytes_ == 0; }
  // Mbufs the queue holds (its memory, whatever they carry), and the free room after the
  // last byte (what append() takes without a new mbuf). The count is the chain's, kept where
  // DPDK keeps it, in the first mbuf's nb_segs; so a queue holds at most kMaxMbufs (at the
  // default 2 KiB data room, 128 MiB: far beyond any send buffer's bound, and append() takes
  // no more, as when the pool runs dry).
  static constexpr uint32_t kMaxMbufs = UINT16_MAX;
  [[nodiscard]] uint32_t mbufs() const { return head_ ? head_->nb_segs : 0; }
  [[nodiscard]] uint32_t tail_room() const {
    return tail_ ? static_cast<uint32_t>(rte_pktmbuf_tailroom(tail_)) : 0;
  }

 private:
  // 32 B (issue 13 item 5; was 40): the head's acknowledged bytes leave its data as
  // rte_pktmbuf_adj would take them (its data_off moves on), so the queue's first byte is
  // always the head's first and no offset into it is kept; the mbuf count is the head's
  // nb_segs (mbufs()).
  rte_mbuf* head_ = nullptr;
  rte_mbuf* tail_ = nullptr;
  // Read cursor: the mbuf holding queue offset cursor_base_ (offset of its first byte,
  // counted from the head's first byte).
  rte_mbuf* cursor_ = nullptr;
  uint32_t cursor_base_ = 0;
  uint32_t bytes_ = 0;

  // Moves the cursor to the mbuf holding `pos` (counted from head_'s first byte).
  void seek(uint32_t pos);
};

}  // namespace pollux::tcp
