// The receive queue's frees (issue 13): consume() gives back every buffer read whole, in
// batches, and no other; the queue's count of the mbufs it holds (the receive budget charges
// it, issue 14) follows exactly; a buffer referenced elsewhere (an LRO frame's indirect mbufs
// into a zero-copy sender's queue) is only dereferenced. Session 17: an arriving chain (an LRO
// frame) stays whole, its buffers behind the head untouched until they are freed; peek, copy
// and consume see the same stream across chain boundaries; the collapse still fills the last
// buffer of a whole chain.
#include "tcp/recv_queue.hpp"

#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace pollux::tcp {
namespace {

class RecvQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int serial = 0;
    // No per-lcore cache, so the counts are exact at every step.
    pool_ = rte_pktmbuf_pool_create(("rcvq_test_" + std::to_string(serial++)).c_str(), 1023, 0, 0,
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
  // Everything queued, read through peek(): the spans in order, joined.
  [[nodiscard]] std::vector<uint8_t> peeked() const {
    std::vector<ByteSpan> spans(q_.mbufs() + 1);
    std::vector<uint8_t> out;
    for (size_t i = 0, n = q_.peek(spans.data(), spans.size()); i < n; ++i)
      out.insert(out.end(), spans[i].data, spans[i].data + spans[i].len);
    return out;
  }
  // The stream's bytes [from, from + n).
  [[nodiscard]] static std::vector<uint8_t> expected(uint32_t from, uint32_t n) {
    std::vector<uint8_t> v(n);
    for (uint32_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>((from + i) % 251);
    return v;
  }
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

TEST_F(RecvQueueTest, ChainsOf1To64SegmentsComeOutAsOneStreamThroughPartialConsumes) {
  // Chains of every length up to an LRO frame's and more, consumed in pieces that end inside
  // buffers, on buffer ends and on chain ends, across many chains at once.
  const unsigned seed = 17;
  std::mt19937 rng(seed);
  uint32_t read = 0;
  for (int segs = 1; segs <= 64; ++segs) {
    q_.append(base::UniqueMbuf{chain(segs, static_cast<uint16_t>(1 + rng() % 200))});
    ASSERT_EQ(q_.mbufs(), in_use()) << "seed " << seed << " chain of " << segs;
    if (segs % 8 != 0) continue;  // let several chains queue up between reads
    while (q_.bytes() > 0) {
      ASSERT_EQ(peeked(), expected(read, q_.bytes())) << "seed " << seed << " at " << read;
      std::vector<uint8_t> copied(q_.bytes());
      ASSERT_EQ(q_.copy(copied.data(), copied.size()), copied.size());
      ASSERT_EQ(copied, expected(read, q_.bytes())) << "seed " << seed << " at " << read;
      const uint32_t n = std::min<uint32_t>(q_.bytes(), 1 + rng() % 3000);
      q_.consume(n);
      read += n;
      ASSERT_EQ(q_.mbufs(), in_use()) << "seed " << seed << " at " << read;
    }
  }
  EXPECT_EQ(read, stream_);
  EXPECT_EQ(in_use(), 0u);
}

TEST_F(RecvQueueTest, ConsumeEndsInsideTheNextChainAndKeepsItsRestQueued) {
  q_.append(base::UniqueMbuf{chain(3, 100)});  // bytes [0, 300)
  q_.append(base::UniqueMbuf{chain(3, 100)});  // [300, 600)
  q_.append(base::UniqueMbuf{chain(2, 100)});  // [600, 800)
  q_.consume(450);  // the first chain whole, the second's first buffer and half its second
  EXPECT_EQ(q_.bytes(), 350u);
  EXPECT_EQ(q_.mbufs(), 4u);
  EXPECT_EQ(in_use(), 4u);
  EXPECT_EQ(peeked(), expected(450, 350));
  q_.consume(150);  // exactly to the end of the second chain
  EXPECT_EQ(q_.mbufs(), 2u);
  EXPECT_EQ(peeked(), expected(600, 200));
  q_.append(base::UniqueMbuf{chain(1, 50)});  // behind a chain that was consumed into
  q_.consume(199);
  EXPECT_EQ(peeked(), expected(799, 51));
  EXPECT_EQ(q_.mbufs(), 2u);
  EXPECT_EQ(in_use(), 2u);
}

TEST_F(RecvQueueTest, AppendLeavesTheBuffersBehindAChainsHeadUntouched) {
  // The headers behind an LRO frame's head were written by another lcore: append() must
  // neither read nor write them. A value no queue would write stays where it was put.
  rte_mbuf* c = chain(30, 100);
  std::vector<rte_mbuf*> behind;
  for (rte_mbuf* m = c->next; m; m = m->next) {
    m->pkt_len = 0xdead;
    m->nb_segs = 7;
    behind.push_back(m);
  }
  q_.append(base::UniqueMbuf{c});
  q_.append(base::UniqueMbuf{chain(2, 100)});
  EXPECT_EQ(q_.mbufs(), 32u);
  EXPECT_EQ(q_.bytes(), 3200u);
  for (const rte_mbuf* m : behind) {
    EXPECT_EQ(m->pkt_len, 0xdeadu);
    EXPECT_EQ(m->nb_segs, 7u);
  }
  EXPECT_EQ(peeked(), expected(0, 3200));
  for (rte_mbuf* m : behind) m->nb_segs = 1;  // as a pool wants them back
  q_.consume(3200);
  EXPECT_EQ(in_use(), 0u);
}

TEST_F(RecvQueueTest, EmptySegmentsInsideAChainGiveNoSpanAndAreFreed) {
  rte_mbuf* c = chain(1, 10);
  rte_mbuf* empty = rte_pktmbuf_alloc(pool_);
  ASSERT_NE(empty, nullptr);
  ASSERT_EQ(rte_pktmbuf_chain(c, empty), 0);
  ASSERT_EQ(rte_pktmbuf_chain(c, chain(1, 10)), 0);
  q_.append(base::UniqueMbuf{c});
  ByteSpan spans[4];
  EXPECT_EQ(q_.peek(spans, 4), 2u);
  EXPECT_EQ(peeked(), expected(0, 20));
  q_.consume(15);
  EXPECT_EQ(q_.mbufs(), 1u);
  EXPECT_EQ(in_use(), 1u);
  EXPECT_EQ(peeked(), expected(15, 5));
}

TEST_F(RecvQueueTest, CollapseFillsTheLastBufferOfAWholeChain) {
  q_.append(base::UniqueMbuf{chain(4, 100)});  // whole: the collapse limit is far
  ASSERT_EQ(q_.mbufs(), 4u);
  ByteSpan before[4];
  ASSERT_EQ(q_.peek(before, 4), 4u);
  rte_mbuf* tiny = chain(1, 20);
  EXPECT_TRUE(q_.fits_behind(tiny));
  // Past its share (collapse_above 3 < 4 held): copied behind the chain's last buffer.
  EXPECT_EQ(q_.append(base::UniqueMbuf{tiny}, 3), 1u);
  EXPECT_EQ(q_.mbufs(), 4u);
  EXPECT_EQ(in_use(), 4u);
  EXPECT_EQ(q_.bytes(), 420u);
  EXPECT_EQ(peeked(), expected(0, 420));
  // The spans handed out before still show the same bytes.
  ByteSpan after[4];
  ASSERT_EQ(q_.peek(after, 4), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(after[i].data, before[i].data);
  EXPECT_EQ(after[3].len, 120u);
  // The chain's totals took the copied bytes: a consume into it and past it is exact.
  q_.consume(350);
  EXPECT_EQ(q_.mbufs(), 1u);
  EXPECT_EQ(peeked(), expected(350, 70));
  q_.consume(70);
  EXPECT_EQ(in_use(), 0u);
}

TEST_F(RecvQueueTest, AChainCrossingTheCollapseLimitIsTakenApartThere) {
  q_.append(base::UniqueMbuf{chain(2, 10)});
  // Limit 3: the chain's first two buffers are queued (3, then 4 held), the other two are
  // copied behind the second.
  EXPECT_EQ(q_.append(base::UniqueMbuf{chain(4, 10)}, 3), 2u);
  EXPECT_EQ(q_.mbufs(), 4u);
  EXPECT_EQ(in_use(), 4u);
  EXPECT_EQ(peeked(), expected(0, 60));
  q_.consume(25);
  EXPECT_EQ(peeked(), expected(25, 35));
  EXPECT_EQ(q_.mbufs(), 2u);
}

}  // namespace
}  // namespace pollux::tcp
