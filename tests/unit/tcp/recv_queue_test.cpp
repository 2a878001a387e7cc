// The receive queue's frees (issue 13): consume() gives back every buffer read whole, in
// batches, and no other; the queue's count of the mbufs it holds (the receive budget charges
// it, issue 14) follows exactly; a buffer referenced elsewhere (an LRO frame's indirect mbufs
// into a zero-copy sender's queue) is only dereferenced.
#include "tcp/recv_queue.hpp"

#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <string>
#include <vector>

namespace pollux::tcp {
namespace {

class RecvQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int serial = 0;
    // No per-lcore cache, so the counts are exact at every step.
    pool_ = rte_pktmbuf_pool_create(("rcvq_test_" + std::to_string(serial++)).c_str(), 255, 0, 0,
                                    RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
  }
  void TearDown() override {
    q_.clear();
    EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u) << "mbufs leaked";
    rte_mempool_free(pool_);
  }
  // A segment's payload chain: `n` buffers of `len` bytes, byte i of the stream = i % 251.
  rte_mbuf* chain(int n, uint16_t len) {
    rte_mbuf* head = nullptr;
    for (int i = 0; i < n; ++i) {
      rte_mbuf* m = rte_pktmbuf_alloc(pool_);
      EXPECT_NE(m, nullptr);
      auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, len));
      for (uint16_t k = 0; k < len; ++k) p[k] = static_cast<uint8_t>((stream_++) % 251);
      if (head == nullptr)
        head = m;
      else
        EXPECT_EQ(rte_pktmbuf_chain(head, m), 0);
    }
    return head;
  }
  [[nodiscard]] unsigned in_use() const { return rte_mempool_in_use_count(pool_); }
  [[nodiscard]] uint8_t first_byte() const {
    ByteSpan s[1];
    EXPECT_EQ(q_.peek(s, 1), 1u);
    return s[0].data[0];
  }

  rte_mempool* pool_ = nullptr;
  RecvQueue q_;
  uint32_t stream_ = 0;
};

TEST_F(RecvQueueTest, ConsumeFreesTheBuffersReadWholeAndKeepsThePartlyReadOne) {
  q_.append(base::UniqueMbuf{chain(5, 100)});
  ASSERT_EQ(q_.mbufs(), 5u);
  q_.consume(250);  // two buffers whole, half of the third
  EXPECT_EQ(q_.bytes(), 250u);
  EXPECT_EQ(q_.mbufs(), 3u);
  EXPECT_EQ(in_use(), 3u);
  EXPECT_EQ(first_byte(), 250u % 251);
  q_.consume(50);  // the rest of the third, exactly
  EXPECT_EQ(q_.mbufs(), 2u);
  EXPECT_EQ(in_use(), 2u);
  EXPECT_EQ(first_byte(), 300u % 251);
}

TEST_F(RecvQueueTest, ConsumingMoreBuffersThanOneBatchFreesThemAll) {
  q_.append(base::UniqueMbuf{chain(45, 64)});  // an LRO frame's worth: 45 segments
  q_.append(base::UniqueMbuf{chain(30, 64)});
  ASSERT_EQ(q_.mbufs(), 75u);
  q_.consume(70 * 64 + 1);
  EXPECT_EQ(q_.mbufs(), 5u);
  EXPECT_EQ(in_use(), 5u);
  EXPECT_EQ(q_.bytes(), 5u * 64 - 1);
  q_.consume(UINT32_MAX);  // more than it holds: all of it
  EXPECT_EQ(q_.mbufs(), 0u);
  EXPECT_EQ(q_.bytes(), 0u);
  EXPECT_EQ(in_use(), 0u);
  // An emptied queue takes data again.
  q_.append(base::UniqueMbuf{chain(1, 10)});
  EXPECT_EQ(q_.mbufs(), 1u);
  EXPECT_EQ(first_byte(), (70u * 64 + 5 * 64 + 0) % 251);
}

TEST_F(RecvQueueTest, BuffersReferencedElsewhereAreOnlyDereferenced) {
  // The sender's queue: three direct buffers. The receiver holds indirect mbufs into them.
  rte_mbuf* sender = chain(3, 100);
  rte_mbuf* refs = nullptr;
  for (rte_mbuf* d = sender; d; d = d->next) {
    rte_mbuf* r = rte_pktmbuf_alloc(pool_);
    ASSERT_NE(r, nullptr);
    rte_pktmbuf_attach(r, d);
    if (refs == nullptr)
      refs = r;
    else
      ASSERT_EQ(rte_pktmbuf_chain(refs, r), 0);
  }
  q_.append(base::UniqueMbuf{refs});
  ASSERT_EQ(in_use(), 6u);
  q_.consume(200);
  // Two indirect mbufs went back; the buffers they referenced are the sender's still.
  EXPECT_EQ(in_use(), 4u);
  EXPECT_EQ(rte_mbuf_refcnt_read(sender), 1u);
  EXPECT_EQ(rte_mbuf_refcnt_read(sender->next), 1u);
  EXPECT_EQ(rte_mbuf_refcnt_read(sender->next->next), 2u);
  rte_pktmbuf_free(sender);  // the sender's ACK: its first two go, the third lives on
  EXPECT_EQ(in_use(), 2u);
  q_.clear();
  EXPECT_EQ(in_use(), 0u);
}

}  // namespace
}  // namespace pollux::tcp
