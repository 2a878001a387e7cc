// The packets an engine produced during one loop iteration, flushed with one tx_burst.
#pragma once

#include <rte_mbuf.h>

#include <array>
#include <cstdint>

namespace pollux::base {

class TxBatch {
 public:
  static constexpr uint16_t kCapacity = 1024;

  [[nodiscard]] bool push(rte_mbuf* m) {
    if (count_ == kCapacity) return false;
    pkts_[count_++] = m;
    return true;
  }
  [[nodiscard]] rte_mbuf** data() { return pkts_.data(); }
  [[nodiscard]] uint16_t size() const { return count_; }
  [[nodiscard]] bool empty() const { return count_ == 0; }

  // Drops the first `n` packets (they were sent), keeping the rest in order for next time.
  void consume(uint16_t n) {
    for (uint16_t i = n; i < count_; ++i) pkts_[i - n] = pkts_[i];
    count_ = static_cast<uint16_t>(count_ - n);
  }
  void free_all() {
    for (uint16_t i = 0; i < count_; ++i) rte_pktmbuf_free(pkts_[i]);
    count_ = 0;
  }

 private:
  std::array<rte_mbuf*, kCapacity> pkts_{};
  uint16_t count_ = 0;
};

}  // namespace pollux::base
