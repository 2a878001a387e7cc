// base::MbufFreeBatch, the queues' batched free (issue 13): what goes through it returns to
// the pool exactly as rte_pktmbuf_free_seg would return each buffer one at a time -- a
// buffer someone else still references stays out, an indirect mbuf gives its direct buffer
// back when it held the last reference, each buffer returns to its own pool -- and all of
// it by the time the batch is flushed or goes out of scope.
#include "base/mbuf_free_batch.hpp"

#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <string>
#include <vector>

namespace pollux::base {
namespace {

class MbufFreeBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = make_pool();
    b_ = make_pool();
    ASSERT_NE(a_, nullptr);
    ASSERT_NE(b_, nullptr);
  }
  void TearDown() override {
    EXPECT_EQ(rte_mempool_in_use_count(a_), 0u) << "mbufs leaked from pool a";
    EXPECT_EQ(rte_mempool_in_use_count(b_), 0u) << "mbufs leaked from pool b";
    rte_mempool_free(a_);
    rte_mempool_free(b_);
  }
  static rte_mempool* make_pool() {
    static int serial = 0;
    const std::string name = "free_batch_test_" + std::to_string(serial++);
    // No per-lcore cache, so the counts are exact at every step.
    return rte_pktmbuf_pool_create(name.c_str(), 127, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                   SOCKET_ID_ANY);
  }
  static rte_mbuf* alloc(rte_mempool* p) {
    rte_mbuf* m = rte_pktmbuf_alloc(p);
    EXPECT_NE(m, nullptr);
    return m;
  }

  rte_mempool* a_ = nullptr;
  rte_mempool* b_ = nullptr;
};

TEST_F(MbufFreeBatchTest, BuffersReturnWhenTheBatchFillsAndTheRestWhenItEnds) {
  {
    MbufFreeBatch batch;
    for (int i = 0; i < 40; ++i) batch.add(alloc(a_));
    // 32 went back when the batch filled; 8 wait for the end of the scope.
    EXPECT_EQ(batch.size(), 8u);
    EXPECT_EQ(rte_mempool_in_use_count(a_), 8u);
  }
  EXPECT_EQ(rte_mempool_in_use_count(a_), 0u);
}

TEST_F(MbufFreeBatchTest, FlushGivesBackWhatItHoldsNowEvenOneBuffer) {
  MbufFreeBatch batch;
  batch.add(alloc(a_));
  EXPECT_EQ(rte_mempool_in_use_count(a_), 1u);
  batch.flush();
  EXPECT_EQ(batch.size(), 0u);
  EXPECT_EQ(rte_mempool_in_use_count(a_), 0u);
  batch.flush();  // an empty batch frees nothing
  EXPECT_EQ(rte_mempool_in_use_count(a_), 0u);
}

TEST_F(MbufFreeBatchTest, ABufferStillReferencedElsewhereStaysOutAndForgetsItsNeighbour) {
  rte_mbuf* before = alloc(a_);
  rte_mbuf* shared = alloc(a_);
  rte_mbuf* after = alloc(a_);
  before->next = shared;  // linked as a queue links them
  shared->next = after;
  rte_mbuf_refcnt_update(shared, 1);  // a second owner
  {
    MbufFreeBatch batch;
    batch.add(before);
    batch.add(shared);
    batch.add(after);
  }
  EXPECT_EQ(rte_mempool_in_use_count(a_), 1u);
  EXPECT_EQ(rte_mbuf_refcnt_read(shared), 1u);
  // The other owner's free must not reach the queue's old neighbour, freed already.
  EXPECT_EQ(shared->next, nullptr);
  rte_pktmbuf_free(shared);
}

TEST_F(MbufFreeBatchTest, IndirectMbufsReturnTheirDirectBufferWithTheLastReference) {
  rte_mbuf* direct = alloc(a_);
  ASSERT_NE(rte_pktmbuf_append(direct, 100), nullptr);
  // Two references into it from another pool (a receiver's queue holding a zero-copy
  // sender's bytes); the direct buffer's own owner lets go first.
  rte_mbuf* r1 = rte_pktmbuf_clone(direct, b_);
  rte_mbuf* r2 = rte_pktmbuf_clone(direct, b_);
  ASSERT_NE(r1, nullptr);
  ASSERT_NE(r2, nullptr);
  rte_pktmbuf_free(direct);
  {
    MbufFreeBatch batch;
    batch.add(r1);
    batch.add(alloc(b_));
  }
  EXPECT_EQ(rte_mempool_in_use_count(a_), 1u) << "r2 still references the direct buffer";
  EXPECT_EQ(rte_mempool_in_use_count(b_), 1u);
  {
    MbufFreeBatch batch;
    batch.add(alloc(a_));
    batch.add(r2);
  }
  EXPECT_EQ(rte_mempool_in_use_count(a_), 0u);
  EXPECT_EQ(rte_mempool_in_use_count(b_), 0u);
}

TEST_F(MbufFreeBatchTest, BuffersOfTwoPoolsInterleavedEachGoHome) {
  {
    MbufFreeBatch batch;
    for (int i = 0; i < 45; ++i) batch.add(alloc(i % 3 == 0 ? b_ : a_));
  }
  EXPECT_EQ(rte_mempool_in_use_count(a_), 0u);
  EXPECT_EQ(rte_mempool_avail_count(a_), 127u);
  EXPECT_EQ(rte_mempool_avail_count(b_), 127u);
}

}  // namespace
}  // namespace pollux::base
