#include "tcp/recv_queue.hpp"

#include <algorithm>
#include <cstring>

namespace pollux::tcp {

void RecvQueue::append(rte_mbuf* chain) {
  for (rte_mbuf* m = chain; m;) {
    rte_mbuf* next = m->next;
    m->next = nullptr;
    if (rte_pktmbuf_data_len(m) == 0) {
      rte_pktmbuf_free_seg(m);
    } else {
      // Each segment stands alone in this list: keep per-mbuf lengths self-consistent.
      m->nb_segs = 1;
      m->pkt_len = m->data_len;
      if (tail_) tail_->next = m;
      else head_ = m;
      tail_ = m;
      bytes_ += m->data_len;
      ++mbufs_;
    }
    m = next;
  }
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
  while (n > 0 && head_) {
    const uint32_t len = rte_pktmbuf_data_len(head_);
    if (n < len) {
      rte_pktmbuf_adj(head_, static_cast<uint16_t>(n));
      return;
    }
    n -= len;
    rte_mbuf* next = head_->next;
    head_->next = nullptr;
    rte_pktmbuf_free_seg(head_);
    --mbufs_;
    head_ = next;
  }
  if (!head_) tail_ = nullptr;
}

void RecvQueue::clear() { consume(bytes_); }

}  // namespace pollux::tcp
