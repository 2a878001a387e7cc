// In-order received data waiting for the application: the payload mbufs of arrived segments,
// headers trimmed off, linked in sequence order. The application reads them in place and
// says how much it consumed; nothing is copied on the way in.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "base/unique_mbuf.hpp"
#include "pollux/tcp.hpp"

namespace pollux::tcp {

using pollux::ByteSpan;  // pollux/tcp.hpp

class RecvQueue {
 public:
  RecvQueue() = default;
  RecvQueue(const RecvQueue&) = delete;
  RecvQueue& operator=(const RecvQueue&) = delete;
  ~RecvQueue() { clear(); }

  // Takes a chain of payload mbufs (every segment's data_len counts). Once the queue holds
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
  rte_mbuf* head_ = nullptr;
  rte_mbuf* tail_ = nullptr;
  uint32_t bytes_ = 0;
  uint32_t mbufs_ = 0;
};

}  // namespace pollux::tcp
