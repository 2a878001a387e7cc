// The fixture the engine's black-box tests share: a pool of mbufs, one engine over it, frames
// fed in as they would arrive and the frames it queued for transmission taken back out.
#pragma once

#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <memory>
#include <string>
#include <vector>

#include "../../support/frames.hpp"
#include "engine/engine.hpp"

namespace pollux::engine {

class EngineFrames : public ::testing::Test {
 public:
  struct PoolDeleter {
    void operator()(rte_mempool* p) const { rte_mempool_free(p); }
  };
  using Frame = pollux::testing::Frame;

 protected:
  // A fresh pool of `size` mbufs (DPDK pool names are process-wide: each gets a serial).
  void make_pool(unsigned size) {
    engine_.reset();
    pool_size_ = size;
    pool_.reset(rte_pktmbuf_pool_create(("engine_frames_" + std::to_string(serial_++)).c_str(),
                                        size, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY));
    ASSERT_NE(pool_, nullptr);
  }
  // The engine under test, replacing any earlier one (on the same pool).
  void start_engine(const EngineConfig& c, uint64_t now_ns = 0) {
    engine_.reset();
    engine_ = std::make_unique<Engine>(c, pool_.get(), now_ns);
  }

  void feed(const Frame& f, uint64_t now = 0, uint64_t ol_flags = 0) {
    rte_mbuf* m = pollux::testing::to_mbuf(pool_.get(), f);
    ASSERT_NE(m, nullptr);
    m->ol_flags = ol_flags;
    engine_->input(&m, 1, now);
  }
  void feed_all(const std::vector<Frame>& fs, uint64_t now = 0) {
    for (const Frame& f : fs) feed(f, now);
  }
  // Takes every frame the engine queued for transmission (last_flags_: the last one's
  // offload flags).
  std::vector<Frame> sent() {
    std::vector<Frame> out;
    base::TxBatch& tx = engine_->tx();
    for (uint16_t i = 0; i < tx.size(); ++i) {
      out.push_back(pollux::testing::bytes_of(tx.data()[i]));
      last_flags_ = tx.data()[i]->ol_flags;
    }
    tx.free_all();
    return out;
  }
  [[nodiscard]] uint64_t count(base::Counter c) const { return engine_->counters().get(c); }
  // mbufs out of the pool: held by the engine, or leaked.
  [[nodiscard]] uint32_t held() const { return pool_size_ - rte_mempool_avail_count(pool_.get()); }
  // Every mbuf back once the engine is gone: nothing held, nothing leaked.
  void expect_pool_whole() {
    engine_.reset();
    if (pool_) {
      EXPECT_EQ(held(), 0u) << "mbufs leaked";
    }
  }

  static inline int serial_ = 0;
  unsigned pool_size_ = 0;
  std::unique_ptr<rte_mempool, PoolDeleter> pool_;
  std::unique_ptr<Engine> engine_;
  uint64_t last_flags_ = 0;
};

}  // namespace pollux::engine
