// The send queue's two ways of handing bytes to a segment (issue 13 item 4): copy_out copies
// them, share references them in place with indirect mbufs whose references keep the queue's
// buffers alive after an ACK has dropped them from the queue.
#include "tcp/send_queue.hpp"

#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <memory>
#include <vector>

namespace pollux::tcp {
namespace {

struct PoolDeleter {
  void operator()(rte_mempool* p) const { rte_mempool_free(p); }
};

class SendQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_.reset(rte_pktmbuf_pool_create(("sndq_test_" + std::to_string(serial_++)).c_str(), 255, 0,
                                        0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY));
    ASSERT_NE(pool_, nullptr);
    data_.resize(10000);
    for (size_t i = 0; i < data_.size(); ++i) data_[i] = static_cast<uint8_t>(i * 7 + i / 251);
    ASSERT_EQ(q_.append(data_, 1 << 20, pool_.get()), data_.size());
    baseline_ = rte_mempool_avail_count(pool_.get());
  }
  void TearDown() override { q_.clear(); }

  static std::vector<uint8_t> bytes_of(const rte_mbuf* m) {
    std::vector<uint8_t> out;
    for (; m; m = m->next) {
      auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
      out.insert(out.end(), p, p + rte_pktmbuf_data_len(m));
    }
    return out;
  }
  std::vector<uint8_t> expected(size_t from, size_t len) const {
    return {data_.begin() + static_cast<long>(from), data_.begin() + static_cast<long>(from + len)};
  }

  static inline int serial_ = 0;
  std::unique_ptr<rte_mempool, PoolDeleter> pool_;
  SendQueue q_;
  std::vector<uint8_t> data_;
  unsigned baseline_ = 0;
};

TEST_F(SendQueueTest, SharedSegmentReferencesTheQueuesBytesWithoutCopyingThem) {
  // 1460 bytes from offset 1000 straddle the first two queue mbufs (2176 bytes each: the
  // queue's mbufs keep no headroom).
  rte_mbuf* seg = q_.share(1000, 1460, pool_.get());
  ASSERT_NE(seg, nullptr);
  EXPECT_EQ(rte_pktmbuf_pkt_len(seg), 1460u);
  ASSERT_EQ(seg->nb_segs, 2);
  EXPECT_EQ(bytes_of(seg), expected(1000, 1460));
  for (rte_mbuf* r = seg; r; r = r->next) {
    EXPECT_TRUE(RTE_MBUF_CLONED(r));
    rte_mbuf* direct = rte_mbuf_from_indirect(r);
    // Same buffer as the queue's mbuf, now referenced twice: by the queue and the segment.
    EXPECT_EQ(r->buf_addr, direct->buf_addr);
    EXPECT_EQ(rte_mbuf_refcnt_read(direct), 2u);
  }
  rte_mbuf* direct0 = rte_mbuf_from_indirect(seg);
  rte_pktmbuf_free(seg);
  EXPECT_EQ(rte_mbuf_refcnt_read(direct0), 1u);  // back to the queue alone
  EXPECT_EQ(rte_mempool_avail_count(pool_.get()), baseline_);
}

TEST_F(SendQueueTest, AckDroppingSharedBytesKeepsThemAliveUntilTheSegmentIsFreed) {
  const uint32_t room = rte_pktmbuf_data_room_size(pool_.get());
  rte_mbuf* seg = q_.share(0, 3000, pool_.get());  // over the first two queue mbufs
  ASSERT_NE(seg, nullptr);
  ASSERT_EQ(seg->nb_segs, 2);
  // The peer acknowledges both queue mbufs whole: the queue lets go of them.
  q_.drop_front(2 * room);
  EXPECT_EQ(q_.bytes(), data_.size() - 2 * room);
  // The segment still reads the original bytes: its references hold the buffers, which
  // are not back in the pool yet (only the segment's two indirect mbufs are out of it).
  EXPECT_EQ(bytes_of(seg), expected(0, 3000));
  EXPECT_EQ(rte_mempool_avail_count(pool_.get()), baseline_ - 2);
  rte_pktmbuf_free(seg);
  // Now the two dropped queue mbufs and the segment's are all back in the pool.
  EXPECT_EQ(rte_mempool_avail_count(pool_.get()), baseline_ + 2);
}

TEST_F(SendQueueTest, RetransmissionAfterAPartialAckSharesFromTheNewHead) {
  rte_mbuf* first = q_.share(0, 1448, pool_.get());
  rte_mbuf* second = q_.share(1448, 1448, pool_.get());
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  q_.drop_front(1000);  // SND.UNA moves into the first segment
  // Offset 0 is SND.UNA now: the retransmission starts at byte 1000 of the stream.
  rte_mbuf* rexmit = q_.share(0, 1448, pool_.get());
  ASSERT_NE(rexmit, nullptr);
  EXPECT_EQ(bytes_of(rexmit), expected(1000, 1448));
  // And the sequential cursor still finds what follows.
  rte_mbuf* next = q_.share(1448, 2000, pool_.get());
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(bytes_of(next), expected(2448, 2000));
  std::vector<uint8_t> copied(2000);
  q_.copy_out(1448, 2000, copied.data());
  EXPECT_EQ(copied, expected(2448, 2000));
  for (rte_mbuf* m : {first, second, rexmit, next}) rte_pktmbuf_free(m);
  EXPECT_EQ(rte_mempool_avail_count(pool_.get()), baseline_);
}

TEST_F(SendQueueTest, BytesAppendedAfterASharedRangeDoNotChangeIt) {
  SendQueue q;
  std::vector<uint8_t> a(100, 0xaa), b(100, 0xbb);
  ASSERT_EQ(q.append(a, 1 << 20, pool_.get()), 100u);
  rte_mbuf* seg = q.share(0, 100, pool_.get());
  ASSERT_NE(seg, nullptr);
  // send() fills the room after the shared range in the same mbuf.
  ASSERT_EQ(q.append(b, 1 << 20, pool_.get()), 100u);
  EXPECT_EQ(bytes_of(seg), a);
  rte_pktmbuf_free(seg);
  q.clear();
}

TEST_F(SendQueueTest, AnEmptyPoolYieldsNoSegmentAndLeaksNothing) {
  std::vector<rte_mbuf*> held;
  while (rte_mbuf* m = rte_pktmbuf_alloc(pool_.get())) held.push_back(m);
  // One mbuf left: a range over two queue mbufs needs two references.
  rte_pktmbuf_free(held.back());
  held.pop_back();
  EXPECT_EQ(q_.share(1000, 1460, pool_.get()), nullptr);
  EXPECT_EQ(rte_mempool_avail_count(pool_.get()), 1u);
  for (rte_mbuf* m : held) rte_pktmbuf_free(m);
}

// The queue counts the mbufs it holds (the send budget charges them, issue 14 item 2) and
// takes no more new ones than it is allowed; the room left in its last one is always used.
TEST_F(SendQueueTest, AppendTakesAtMostTheNewMbufsItIsAllowedAndCountsWhatItHolds) {
  const uint32_t room = rte_pktmbuf_data_room_size(pool_.get());
  SendQueue q;
  std::vector<uint8_t> big(10 * size_t{room}, 0x5a);
  EXPECT_EQ(q.append(big, 1 << 20, pool_.get(), 0), 0u);
  EXPECT_EQ(q.mbufs(), 0u);
  EXPECT_EQ(q.append({big.data(), 10}, 1 << 20, pool_.get(), 1), 10u);
  EXPECT_EQ(q.mbufs(), 1u);
  EXPECT_EQ(q.tail_room(), room - 10);
  // The last mbuf's room, then two new mbufs' worth.
  EXPECT_EQ(q.append(big, 1 << 20, pool_.get(), 2), size_t{room} * 3 - 10);
  EXPECT_EQ(q.mbufs(), 3u);
  EXPECT_EQ(q.tail_room(), 0u);
  q.drop_front(room + 5);  // frees the first mbuf only
  EXPECT_EQ(q.mbufs(), 2u);
  q.append({big.data(), 10}, 1 << 20, pool_.get(), 1);
  EXPECT_EQ(q.mbufs(), 3u);
  q.clear();
  EXPECT_EQ(q.mbufs(), 0u);
  EXPECT_EQ(rte_mempool_avail_count(pool_.get()), baseline_);
}

// The queue keeps no offset into its head (issue 13 item 5: SendQueue 40 -> 32 B): an ACK
// that ends inside the head takes those bytes off the head's data, as rte_pktmbuf_adj does,
// and one that ends at or past it frees it; the count of mbufs held is the chain's (the
// head's nb_segs) and moves to the next head. Reads and shares after either start at the
// first unacknowledged byte.
TEST_F(SendQueueTest, AnAckIntoTheHeadMovesItsDataStartAndTheCountMovesWithTheHead) {
  const uint32_t room = rte_pktmbuf_data_room_size(pool_.get());
  const uint32_t held = (10000 + room - 1) / room;
  ASSERT_EQ(q_.mbufs(), held);
  rte_mbuf* before = q_.share(0, 300, pool_.get());  // a segment in flight over the head
  ASSERT_NE(before, nullptr);
  q_.drop_front(100);
  EXPECT_EQ(q_.mbufs(), held);  // nothing freed
  EXPECT_EQ(q_.bytes(), 9900u);
  std::vector<uint8_t> out(500);
  q_.copy_out(0, 500, out.data());
  EXPECT_EQ(out, expected(100, 500));
  EXPECT_EQ(bytes_of(before), expected(0, 300));  // the shared segment kept its own start
  // A read across the head's end, then an ACK of the head's rest: it is freed, the count
  // moves to the new head, and the cursor (beyond the head) still reads the right bytes.
  q_.copy_out(room - 200, 400, out.data());
  EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.begin() + 400), expected(room - 100, 400));
  q_.drop_front(room - 100);
  EXPECT_EQ(q_.mbufs(), held - 1);
  q_.copy_out(300, 400, out.data());
  EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.begin() + 400), expected(room + 300, 400));
  rte_mbuf* after = q_.share(0, 1448, pool_.get());
  ASSERT_NE(after, nullptr);
  EXPECT_EQ(bytes_of(after), expected(room, 1448));
  for (rte_mbuf* m : {before, after}) rte_pktmbuf_free(m);
  // Everything acknowledged: nothing held, every buffer back.
  q_.drop_front(q_.bytes());
  EXPECT_EQ(q_.mbufs(), 0u);
  EXPECT_TRUE(q_.empty());
  EXPECT_EQ(rte_mempool_avail_count(pool_.get()), baseline_ + held);
}

// The count's width bounds a queue: at kMaxMbufs mbufs append() takes no more (as when the
// pool runs dry), and takes again once an ACK has freed one. Small buffers keep the pool
// within the test's memory.
TEST(SendQueueBound, AQueueHoldsAtMostKMaxMbufsAndTakesMoreAfterAnAck) {
  constexpr uint16_t kRoom = 64;
  std::unique_ptr<rte_mempool, PoolDeleter> pool(rte_pktmbuf_pool_create(
      "sndq_test_bound", SendQueue::kMaxMbufs + 16, 0, 0, kRoom, SOCKET_ID_ANY));
  ASSERT_NE(pool, nullptr);
  SendQueue q;
  std::vector<uint8_t> big((size_t{SendQueue::kMaxMbufs} + 2) * kRoom, 0x42);
  EXPECT_EQ(q.append(big, UINT32_MAX, pool.get()), size_t{SendQueue::kMaxMbufs} * kRoom);
  EXPECT_EQ(q.mbufs(), SendQueue::kMaxMbufs);
  EXPECT_EQ(q.append({big.data(), 1}, UINT32_MAX, pool.get()), 0u);
  q.drop_front(kRoom);
  EXPECT_EQ(q.mbufs(), SendQueue::kMaxMbufs - 1);
  EXPECT_EQ(q.append({big.data(), 10}, UINT32_MAX, pool.get()), 10u);
  EXPECT_EQ(q.mbufs(), SendQueue::kMaxMbufs);
  q.clear();
  EXPECT_EQ(rte_mempool_avail_count(pool.get()), SendQueue::kMaxMbufs + 16u);
}

// An ACK of many buffers frees them in batches (issue 13): exactly the buffers acknowledged
// go back, the count of those held follows, and a buffer a segment in flight still
// references stays out of the pool until that segment is freed.
TEST_F(SendQueueTest, AnAckOfMoreBuffersThanOneBatchFreesExactlyThoseNotReferenced) {
  const uint32_t room = rte_pktmbuf_data_room_size(pool_.get());
  SendQueue q;
  std::vector<uint8_t> big(40 * size_t{room}, 0x3c);
  ASSERT_EQ(q.append(big, 1 << 30, pool_.get()), big.size());
  ASSERT_EQ(q.mbufs(), 40u);
  const unsigned avail = rte_mempool_avail_count(pool_.get());
  // A segment in flight over buffers 30 and 31.
  rte_mbuf* seg = q.share(30 * room + 10, room, pool_.get());
  ASSERT_NE(seg, nullptr);
  ASSERT_EQ(seg->nb_segs, 2);
  q.drop_front(35 * room);
  EXPECT_EQ(q.mbufs(), 5u);
  EXPECT_EQ(q.bytes(), 5 * room);
  // 35 acknowledged, 2 of them still referenced; the segment's own 2 are out.
  EXPECT_EQ(rte_mempool_avail_count(pool_.get()), avail + 33 - 2);
  rte_pktmbuf_free(seg);
  EXPECT_EQ(rte_mempool_avail_count(pool_.get()), avail + 35);
  q.clear();
  EXPECT_EQ(q.mbufs(), 0u);
  EXPECT_EQ(rte_mempool_avail_count(pool_.get()), avail + 40);
}

}  // namespace
}  // namespace pollux::tcp
