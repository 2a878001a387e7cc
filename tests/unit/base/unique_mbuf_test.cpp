// base::UniqueMbuf, the one owner of a received segment (issue 11 item 4): whatever path the
// segment takes -- queued, dropped, handed on, answered in place -- it goes back to the pool
// exactly once. Each test counts the pool's buffers in use; none may be left at teardown.
#include "base/unique_mbuf.hpp"

#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <string>
#include <type_traits>
#include <utility>

namespace pollux::base {
namespace {

constexpr unsigned kPoolSize = 63;

static_assert(!std::is_copy_constructible_v<UniqueMbuf>, "one owner: no copies");
static_assert(!std::is_copy_assignable_v<UniqueMbuf>, "one owner: no copies");
static_assert(std::is_nothrow_move_constructible_v<UniqueMbuf>);
static_assert(std::is_nothrow_move_assignable_v<UniqueMbuf>);
static_assert(sizeof(UniqueMbuf) == sizeof(void*), "pointer-sized");

class UniqueMbufTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int serial = 0;
    const std::string name = "unique_mbuf_test_" + std::to_string(serial++);
    // No per-lcore cache, so the counts are exact.
    pool_ = rte_pktmbuf_pool_create(name.c_str(), kPoolSize, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
  }
  void TearDown() override {
    EXPECT_EQ(in_use(), 0u) << "mbufs leaked";
    rte_mempool_free(pool_);
  }
  [[nodiscard]] unsigned in_use() const { return rte_mempool_in_use_count(pool_); }
  [[nodiscard]] rte_mbuf* alloc() {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    EXPECT_NE(m, nullptr);
    return m;
  }
  // A chain of `n` buffers, 10 bytes each.
  [[nodiscard]] rte_mbuf* chain(int n) {
    rte_mbuf* head = nullptr;
    for (int i = 0; i < n; ++i) {
      rte_mbuf* m = alloc();
      EXPECT_NE(rte_pktmbuf_append(m, 10), nullptr);
      if (head == nullptr)
        head = m;
      else
        EXPECT_EQ(rte_pktmbuf_chain(head, m), 0);
    }
    return head;
  }

  rte_mempool* pool_ = nullptr;
};

// A function that takes the segment by value: the input path's sink.
void sink(UniqueMbuf m) {
  (void)m;
}

TEST_F(UniqueMbufTest, AnEmptyHandleOwnsNothingAndFreesNothing) {
  UniqueMbuf m;
  EXPECT_FALSE(m);
  EXPECT_EQ(m.get(), nullptr);
  m.reset();
  EXPECT_EQ(in_use(), 0u);
}

TEST_F(UniqueMbufTest, TheDestructorFreesTheWholeChainOnce) {
  {
    UniqueMbuf m{chain(3)};
    EXPECT_TRUE(m);
    EXPECT_EQ(m->nb_segs, 3);
    EXPECT_EQ(in_use(), 3u);
  }
  EXPECT_EQ(in_use(), 0u);
}

TEST_F(UniqueMbufTest, AMoveHandsOwnershipOnAndLeavesTheSourceEmpty) {
  UniqueMbuf a{alloc()};
  rte_mbuf* raw = a.get();
  UniqueMbuf b{std::move(a)};
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  EXPECT_EQ(b.get(), raw);
  EXPECT_EQ(in_use(), 1u);
  sink(std::move(b));  // the callee's copy is the owner: freed when it returns
  EXPECT_FALSE(b);     // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(in_use(), 0u);
}

TEST_F(UniqueMbufTest, MoveAssignmentFreesWhatTheTargetHeldAndTakesTheSource) {
  UniqueMbuf a{alloc()};
  UniqueMbuf b{chain(2)};
  rte_mbuf* raw = a.get();
  EXPECT_EQ(in_use(), 3u);
  b = std::move(a);
  EXPECT_EQ(b.get(), raw);
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(in_use(), 1u);
  // Assigning a handle to itself keeps the buffer (no free, no leak).
  UniqueMbuf& alias = b;
  b = std::move(alias);
  EXPECT_EQ(b.get(), raw);
  EXPECT_EQ(in_use(), 1u);
}

TEST_F(UniqueMbufTest, ReleaseGivesTheChainToARawOwnerWithoutFreeingIt) {
  rte_mbuf* raw = nullptr;
  {
    UniqueMbuf m{chain(2)};
    raw = m.release();
    EXPECT_FALSE(m);
  }
  EXPECT_EQ(in_use(), 2u) << "released: the handle's end must not free it";
  rte_pktmbuf_free(raw);  // the raw owner's job now
  EXPECT_EQ(in_use(), 0u);
}

TEST_F(UniqueMbufTest, ResetFreesNowAndASecondResetFreesNothing) {
  UniqueMbuf m{chain(2)};
  m.reset();
  EXPECT_FALSE(m);
  EXPECT_EQ(in_use(), 0u);
  m.reset();  // no double free: the pool's count would go wrong (or the debug build abort)
  EXPECT_EQ(in_use(), 0u);
  m.reset(alloc());  // and it can hold another
  EXPECT_TRUE(m);
  EXPECT_EQ(in_use(), 1u);
}

TEST_F(UniqueMbufTest, AnEarlyResetGivesTheBufferBackBeforeTheNextAllocationNeedsIt) {
  // The input path frees a segment before it allocates the answer: with every other buffer
  // taken, the answer still gets one.
  rte_mbuf* all[kPoolSize - 1];
  for (auto& b : all) b = alloc();
  UniqueMbuf seg{alloc()};
  EXPECT_EQ(rte_pktmbuf_alloc(pool_), nullptr);
  seg.reset();
  UniqueMbuf answer{rte_pktmbuf_alloc(pool_)};
  EXPECT_TRUE(answer);
  rte_pktmbuf_free_bulk(all, kPoolSize - 1);
}

TEST_F(UniqueMbufTest, MakeWritableKeepsADirectFirstBufferAndFreesTheRestOfTheChain) {
  UniqueMbuf m{chain(3)};
  rte_mbuf* first = m.get();
  ASSERT_TRUE(m.make_writable(pool_));
  EXPECT_EQ(m.get(), first);
  EXPECT_EQ(m->next, nullptr);
  EXPECT_EQ(in_use(), 1u);
}

TEST_F(UniqueMbufTest, MakeWritableReplacesABufferWhoseBytesAreShared) {
  rte_mbuf* shared = alloc();
  rte_mbuf_refcnt_update(shared, 1);  // someone else holds it too (a send queue, say)
  UniqueMbuf m{shared};
  ASSERT_TRUE(m.make_writable(pool_));
  EXPECT_NE(m.get(), shared);
  EXPECT_EQ(rte_mbuf_refcnt_read(shared), 1) << "our reference dropped, theirs kept";
  EXPECT_EQ(in_use(), 2u);
  rte_pktmbuf_free(shared);
}

TEST_F(UniqueMbufTest, MakeWritableWithAnEmptyPoolAndASharedBufferLeavesTheHandleEmpty) {
  rte_mbuf* all[kPoolSize - 1];
  for (auto& b : all) b = alloc();
  rte_mbuf* shared = alloc();
  rte_mbuf_refcnt_update(shared, 1);
  UniqueMbuf m{shared};
  EXPECT_FALSE(m.make_writable(pool_)) << "the pool is empty and the buffer is not ours alone";
  EXPECT_FALSE(m);
  rte_pktmbuf_free(shared);
  rte_pktmbuf_free_bulk(all, kPoolSize - 1);
}

}  // namespace
}  // namespace pollux::base
