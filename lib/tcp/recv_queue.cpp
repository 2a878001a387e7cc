#include "tcp/recv_queue.hpp"

#include <algorithm>
#include <cstring>

#include "base/mbuf_free_batch.hpp"

namespace pollux::tcp {

namespace {

// May `len` more bytes be written behind `tail`'s data? Only into a buffer this queue alone
// owns: a direct mbuf (no attached or external buffer) with one reference.
bool room_behind(const rte_mbuf* tail, uint16_t len) {
  return tail != nullptr && RTE_MBUF_DIRECT(tail) && rte_mbuf_refcnt_read(tail) == 1 &&
         rte_pktmbuf_tailroom(tail) >= len;
}

}  // namespace

bool RecvQueue::fits_behind(const rte_mbuf* m) const {
  return m->next == nullptr && room_behind(tail_, rte_pktmbuf_data_len(m));
}

uint32_t RecvQueue::append(base::UniqueMbuf chain, uint32_t collapse_above) {
  uint32_t collapsed = 0;
  // Taken apart segment by segment: each is linked into the list, or copied and freed.
  for (rte_mbuf* m = chain.release(); m;) {
    rte_mbuf* next = m->next;
    m->next = nullptr;
    const uint16_t len = rte_pktmbuf_data_len(m);
    if (len == 0) {
      rte_pktmbuf_free_seg(m);
    } else if (mbufs_ > collapse_above && room_behind(tail_, len)) {
      // The application may hold spans into tail_ (peek): they stay valid, the bytes before
      // the room are not moved.
      std::memcpy(rte_pktmbuf_mtod_offset(tail_, uint8_t*, tail_->data_len),
                  rte_pktmbuf_mtod(m, const uint8_t*), len);
      tail_->data_len = static_cast<uint16_t>(tail_->data_len + len);
      tail_->pkt_len += len;
      bytes_ += len;
      ++collapsed;
      rte_pktmbuf_free_seg(m);
    } else {
      // Each segment stands alone in this list: keep per-mbuf lengths self-consistent.
      m->nb_segs = 1;
      m->pkt_len = m->data_len;
      if (tail_)
        tail_->next = m;
      else
        head_ = m;
      tail_ = m;
      bytes_ += m->data_len;
      ++mbufs_;
    }
    m = next;
  }
  return collapsed;
}

size_t RecvQueue::peek(ByteSpan* out, size_t max) const {
  size_t n = 0;
  for (const rte_mbuf* m = head_; m && n < max; m = m->next)
    out[n++] = {rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_data_len(m)};
  return n;
}

size_t RecvQueue::copy(uint8_t* out, size_t len) const {
  size_t done = 0;
  for (const rte_mbuf* m = head_; m && done < len; m = m->next) {
    size_t n = std::min<size_t>(len - done, rte_pktmbuf_data_len(m));
    std::memcpy(out + done, rte_pktmbuf_mtod(m, const uint8_t*), n);
    done += n;
  }
  return done;
}

void RecvQueue::consume(uint32_t n) {
  n = std::min(n, bytes_);
  bytes_ -= n;
  base::MbufFreeBatch freed;  // the buffers read whole, back to the pool in batches
  while (n > 0 && head_) {
    const uint32_t len = rte_pktmbuf_data_len(head_);
    if (n < len) {
      rte_pktmbuf_adj(head_, static_cast<uint16_t>(n));
      return;
    }
    n -= len;
    rte_mbuf* next = head_->next;
    freed.add(head_);
    --mbufs_;
    head_ = next;
  }
  if (!head_) tail_ = nullptr;
}

void RecvQueue::clear() {
  consume(bytes_);
}

}  // namespace pollux::tcp
