#include "tcp/send_queue.hpp"

#include <algorithm>
#include <cstring>

#include "base/mbuf_free_batch.hpp"

namespace pollux::tcp {

size_t SendQueue::append(std::span<const uint8_t> data, uint32_t limit, rte_mempool* pool,
                         uint32_t max_new_mbufs) {
  size_t taken = 0;
  while (taken < data.size() && bytes_ < limit) {
    uint32_t want = static_cast<uint32_t>(std::min<size_t>(data.size() - taken, limit - bytes_));
    if (!tail_ || rte_pktmbuf_tailroom(tail_) == 0) {
      if (max_new_mbufs == 0 || mbufs() == kMaxMbufs) break;
      rte_mbuf* m = rte_pktmbuf_alloc(pool);
      if (!m) break;
      --max_new_mbufs;
      // No headroom needed: headers are built in separate mbufs at transmit time.
      m->data_off = 0;
      m->next = nullptr;
      if (tail_) {
        tail_->next = m;
        ++head_->nb_segs;  // the chain's count (mbufs())
      } else {
        head_ = m;
        m->nb_segs = 1;
      }
      tail_ = m;
    }
    uint32_t room = std::min<uint32_t>(rte_pktmbuf_tailroom(tail_), want);
    uint8_t* dst = rte_pktmbuf_mtod_offset(tail_, uint8_t*, rte_pktmbuf_data_len(tail_));
    std::memcpy(dst, data.data() + taken, room);
    tail_->data_len = static_cast<uint16_t>(tail_->data_len + room);
    tail_->pkt_len = tail_->data_len;
    bytes_ += room;
    taken += room;
  }
  return taken;
}

void SendQueue::seek(uint32_t pos) {
  if (!cursor_ || pos < cursor_base_) {
    cursor_ = head_;
    cursor_base_ = 0;
  }
  while (cursor_ && pos >= cursor_base_ + rte_pktmbuf_data_len(cursor_)) {
    cursor_base_ += rte_pktmbuf_data_len(cursor_);
    cursor_ = cursor_->next;
  }
}

void SendQueue::copy_out(uint32_t offset, uint32_t len, uint8_t* out) {
  const uint32_t pos = offset;  // the queue's first byte is head_'s first
  seek(pos);
  rte_mbuf* m = cursor_;
  uint32_t in = pos - cursor_base_;
  while (len > 0 && m) {
    uint32_t n = std::min<uint32_t>(len, rte_pktmbuf_data_len(m) - in);
    std::memcpy(out, rte_pktmbuf_mtod_offset(m, const uint8_t*, in), n);
    out += n;
    len -= n;
    in = 0;
    if (len > 0) {
      // Keep the cursor on the mbuf where the next sequential read starts.
      cursor_base_ += rte_pktmbuf_data_len(m);
      m = m->next;
      cursor_ = m;
    }
  }
}

rte_mbuf* SendQueue::share(uint32_t offset, uint32_t len, rte_mempool* pool) {
  const uint32_t pos = offset;
  seek(pos);
  rte_mbuf* first = nullptr;
  rte_mbuf* last = nullptr;
  uint16_t segs = 0;
  const uint32_t total = len;
  uint32_t in = pos - cursor_base_;
  for (rte_mbuf* m = cursor_; len > 0 && m; m = m->next) {
    const uint32_t n = std::min<uint32_t>(len, rte_pktmbuf_data_len(m) - in);
    rte_mbuf* r = rte_pktmbuf_alloc(pool);
    if (!r) {
      rte_pktmbuf_free(first);
      return nullptr;
    }
    // The queue's bytes are only ever appended to, never rewritten, so a reference to a
    // range stays valid while send() fills the room after it.
    rte_pktmbuf_attach(r, m);
    r->data_off = static_cast<uint16_t>(r->data_off + in);
    r->data_len = static_cast<uint16_t>(n);
    r->pkt_len = n;
    if (last)
      last->next = r;
    else
      first = r;
    last = r;
    ++segs;
    len -= n;
    in = 0;
    if (len > 0) {
      // Keep the cursor on the mbuf where the next sequential read starts.
      cursor_base_ += rte_pktmbuf_data_len(m);
      cursor_ = m->next;
    }
  }
  first->nb_segs = segs;
  first->pkt_len = total;
  return first;
}

void SendQueue::drop_front(uint32_t n) {
  n = std::min(n, bytes_);
  bytes_ -= n;
  uint32_t pos = n;  // counted from head_'s first byte
  // The acknowledged buffers go back to the pool in batches (base/mbuf_free_batch.hpp); a
  // segment in flight that still references one keeps it alive.
  base::MbufFreeBatch freed;
  while (head_ && pos >= rte_pktmbuf_data_len(head_) &&
         (head_ != tail_ || pos == rte_pktmbuf_data_len(head_))) {
    const uint32_t len = rte_pktmbuf_data_len(head_);
    rte_mbuf* next = head_->next;
    if (cursor_ == head_) cursor_ = nullptr;
    else if (cursor_) cursor_base_ -= len;
    if (next) next->nb_segs = static_cast<uint16_t>(head_->nb_segs - 1);  // the count moves on
    freed.add(head_);
    head_ = next;
    pos -= len;
    if (!head_) {
      tail_ = nullptr;
      pos = 0;
      break;
    }
  }
  if (pos != 0) {
    // The head's acknowledged bytes leave its data (as rte_pktmbuf_adj takes them): the
    // queue's first byte stays the head's first. A segment sharing them holds its own
    // data_off (share), so it is not moved.
    head_->data_off = static_cast<uint16_t>(head_->data_off + pos);
    head_->data_len = static_cast<uint16_t>(head_->data_len - pos);
    head_->pkt_len = head_->data_len;
    if (cursor_ && cursor_ != head_) cursor_base_ -= pos;
  }
  if (bytes_ == 0 && head_) {
    // Everything acknowledged but the tail still has room: keep it, reading from its end.
    cursor_ = nullptr;
    cursor_base_ = 0;
  }
}

void SendQueue::clear() {
  base::MbufFreeBatch freed;
  while (head_) {
    rte_mbuf* next = head_->next;
    freed.add(head_);
    head_ = next;
  }
  tail_ = cursor_ = nullptr;
  bytes_ = cursor_base_ = 0;
}

}  // namespace pollux::tcp
