// The out-of-order queue as the receive side of RFC 9293 3.10.7.4 sees it: segment text in,
// in-order chains out, SACK blocks (RFC 2018 4) and D-SACK reports (RFC 2883 4) on the side.
// Every test checks payload bytes against the sender's stream and, at teardown, that every
// mbuf went back to the pool.
#include "tcp/reassembly.hpp"

#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

namespace pollux::tcp {
namespace {

using net::SackBlock;
using net::Seq;

constexpr unsigned kPoolSize = 4095;

// The sender's byte stream: pseudo-random so that a byte delivered at the wrong offset shows.
const std::vector<uint8_t>& stream() {
  static const std::vector<uint8_t> s = [] {
    std::vector<uint8_t> v(256 * 1024);
    std::mt19937 rng(12345);
    for (auto& b : v) b = static_cast<uint8_t>(rng());
    return v;
  }();
  return s;
}

class ReassemblyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int serial = 0;
    const std::string name = "reasm_test_" + std::to_string(serial++);
    // No per-lcore cache, so the available count is exact.
    pool_ = rte_pktmbuf_pool_create(name.c_str(), kPoolSize, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
  }
  void TearDown() override {
    EXPECT_EQ(rte_mempool_avail_count(pool_), kPoolSize) << "mbufs leaked";
    rte_mempool_free(pool_);
  }

  [[nodiscard]] unsigned in_use() const { return rte_mempool_in_use_count(pool_); }

  // Stream bytes [from, to) as a chain of mbufs holding at most `per_mbuf` bytes each, built
  // the way the engine hands payload over: a 54-byte header in front, removed with
  // rte_pktmbuf_adj, so pkt_len is the payload length and data_off is not the default.
  rte_mbuf* chain(uint32_t from, uint32_t to, uint32_t per_mbuf = 1900) {
    constexpr uint16_t kHeader = 54;
    rte_mbuf* head = nullptr;
    uint32_t at = from;
    while (at < to || head == nullptr) {
      rte_mbuf* m = rte_pktmbuf_alloc(pool_);
      EXPECT_NE(m, nullptr);
      if (m == nullptr) return head;
      uint16_t header = head == nullptr ? kHeader : 0;
      const uint32_t n = std::min(per_mbuf, to - at);
      auto* p =
          reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(header + n)));
      EXPECT_NE(p, nullptr) << "per_mbuf too large for the mbuf's data room";
      if (p == nullptr) {
        rte_pktmbuf_free(m);
        return head;
      }
      std::memset(p, 0xee, header);
      std::memcpy(p + header, stream().data() + at, n);
      at += n;
      if (head == nullptr) {
        head = m;
      } else {
        EXPECT_EQ(rte_pktmbuf_chain(head, m), 0);
      }
    }
    EXPECT_NE(rte_pktmbuf_adj(head, kHeader), nullptr);
    EXPECT_EQ(head->pkt_len, to - from);
    return head;
  }

  // Sequence number of stream offset `off`.
  [[nodiscard]] Seq at(uint32_t off) const { return isn_ + off; }

  ReassemblyInsert put(ReassemblyQueue& q, uint32_t from, uint32_t to, uint32_t per_mbuf = 1900) {
    return q.insert(at(from), base::UniqueMbuf{chain(from, to, per_mbuf)}, rcv_nxt_);
  }

  // Payload of a chain (checking its pkt_len and nb_segs), then frees it.
  static std::vector<uint8_t> take(rte_mbuf* m) {
    std::vector<uint8_t> out;
    uint32_t segs = 0;
    for (rte_mbuf* s = m; s != nullptr; s = s->next) {
      const auto* p = rte_pktmbuf_mtod(s, const uint8_t*);
      out.insert(out.end(), p, p + s->data_len);
      ++segs;
    }
    EXPECT_EQ(m->pkt_len, out.size());
    EXPECT_EQ(m->nb_segs, segs);
    rte_pktmbuf_free(m);
    return out;
  }

  // Pops everything now in order; checks it is the stream from the old rcv_nxt on and returns
  // how many bytes and chains came out.
  struct Popped {
    uint32_t bytes = 0;
    uint32_t chains = 0;
  };
  Popped pop(ReassemblyQueue& q) {
    Popped p;
    const uint32_t from = static_cast<uint32_t>(rcv_nxt_ - isn_);
    std::vector<uint8_t> got;
    while (rte_mbuf* m = q.pop_in_order(rcv_nxt_)) {
      auto part = take(m);
      got.insert(got.end(), part.begin(), part.end());
      ++p.chains;
    }
    p.bytes = static_cast<uint32_t>(got.size());
    EXPECT_EQ(static_cast<uint32_t>(rcv_nxt_ - isn_), from + p.bytes);
    EXPECT_TRUE(std::equal(got.begin(), got.end(), stream().begin() + from))
        << "payload differs from the stream at offset " << from;
    return p;
  }

  // The blocks of an ACK: `dsack` is the D-SACK the caller (the TCB) has pending.
  std::vector<SackBlock> sacks(const ReassemblyQueue& q, std::optional<SackBlock> dsack = {},
                               size_t room = net::kMaxSackBlocks) {
    std::array<SackBlock, net::kMaxSackBlocks> out{};
    const size_t n = q.sack_blocks(std::span(out.data(), room), dsack);
    return {out.begin(), out.begin() + static_cast<ptrdiff_t>(n)};
  }
  [[nodiscard]] SackBlock blk(uint32_t from, uint32_t to) const { return {at(from), at(to)}; }

  rte_mempool* pool_ = nullptr;
  Seq isn_{1'000'000};
  Seq rcv_nxt_{1'000'000};
};

// --- In order and holes (RFC 9293 3.10.7.4) ---

TEST_F(ReassemblyTest, SegmentAtRcvNxtPopsAtOnce) {
  ReassemblyQueue q;
  const auto r = put(q, 0, 1000);
  EXPECT_EQ(r.status, InsertStatus::queued);
  EXPECT_EQ(r.new_bytes, 1000u);
  EXPECT_FALSE(r.dsack);
  const auto p = pop(q);
  EXPECT_EQ(p.bytes, 1000u);
  EXPECT_EQ(p.chains, 1u);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(q.mbufs(), 0u);
  EXPECT_EQ(q.pop_in_order(rcv_nxt_), nullptr);
}

TEST_F(ReassemblyTest, DataBeyondAHoleWaitsUntilTheHoleIsFilled) {
  ReassemblyQueue q;
  EXPECT_EQ(put(q, 1000, 2000).status, InsertStatus::queued);
  EXPECT_EQ(put(q, 3000, 4000).status, InsertStatus::queued);
  EXPECT_EQ(q.nodes(), 2u);
  EXPECT_EQ(q.bytes(), 2000u);
  EXPECT_EQ(q.first_seq(), at(1000));
  EXPECT_EQ(q.last_seq(), at(4000));
  EXPECT_EQ(q.pop_in_order(rcv_nxt_), nullptr);
  EXPECT_EQ(rcv_nxt_, at(0));

  EXPECT_EQ(put(q, 0, 1000).new_bytes, 1000u);  // fills the first hole, merges with [1000,2000)
  EXPECT_EQ(q.nodes(), 2u);
  auto p = pop(q);
  EXPECT_EQ(p.bytes, 2000u);
  EXPECT_EQ(p.chains, 1u);  // one merged chain, no copy
  EXPECT_EQ(q.nodes(), 1u);

  EXPECT_EQ(put(q, 2000, 3000).new_bytes, 1000u);
  p = pop(q);
  EXPECT_EQ(p.bytes, 2000u);
  EXPECT_TRUE(q.empty());
}

TEST_F(ReassemblyTest, SegmentClosingTheGapBetweenTwoRangesJoinsAllThree) {
  ReassemblyQueue q;
  (void)put(q, 100, 200);
  (void)put(q, 300, 400);
  const auto r = put(q, 200, 300);
  EXPECT_EQ(r.new_bytes, 100u);
  EXPECT_EQ(q.nodes(), 1u);
  EXPECT_EQ(sacks(q), (std::vector{blk(100, 400)}));
  (void)put(q, 0, 100);
  EXPECT_EQ(pop(q).bytes, 400u);
}

// --- Overlaps: what we hold wins, the new segment is trimmed (no copies) ---

TEST_F(ReassemblyTest, OverlapOnTheLeftOfAHeldRangeKeepsOnlyTheNewFront) {
  ReassemblyQueue q;
  (void)put(q, 100, 200);
  const auto r = put(q, 50, 150);
  EXPECT_EQ(r.status, InsertStatus::queued);
  EXPECT_EQ(r.new_bytes, 50u);
  EXPECT_EQ(r.dsack, blk(100, 150));
  EXPECT_EQ(q.bytes(), 150u);
  EXPECT_EQ(q.nodes(), 1u);
  EXPECT_EQ(q.first_seq(), at(50));
  (void)put(q, 0, 50);
  EXPECT_EQ(pop(q).bytes, 200u);
}

TEST_F(ReassemblyTest, OverlapOnTheRightOfAHeldRangeKeepsOnlyTheNewTail) {
  ReassemblyQueue q;
  (void)put(q, 100, 200);
  const auto r = put(q, 150, 250);
  EXPECT_EQ(r.new_bytes, 50u);
  EXPECT_EQ(r.dsack, blk(150, 200));
  EXPECT_EQ(q.bytes(), 150u);
  EXPECT_EQ(q.nodes(), 1u);
  EXPECT_EQ(q.last_seq(), at(250));
  (void)put(q, 0, 100);
  EXPECT_EQ(pop(q).bytes, 250u);
}

TEST_F(ReassemblyTest, OverlapOnBothSidesFillsTheGapAndReportsTheFirstDuplicate) {
  ReassemblyQueue q;
  (void)put(q, 100, 200);
  (void)put(q, 300, 400);
  const auto r = put(q, 150, 350);
  EXPECT_EQ(r.new_bytes, 100u);
  EXPECT_EQ(r.dsack, blk(150, 200));  // RFC 2883 4: one contiguous range, the first
  EXPECT_EQ(q.bytes(), 300u);
  EXPECT_EQ(q.nodes(), 1u);
  EXPECT_EQ(q.stats().duplicate_bytes, 100u);
  (void)put(q, 0, 100);
  EXPECT_EQ(pop(q).bytes, 400u);
}

TEST_F(ReassemblyTest, SegmentContainedInAHeldRangeIsADuplicate) {
  ReassemblyQueue q;
  (void)put(q, 100, 300);
  const unsigned before = in_use();
  const auto r = put(q, 150, 250);
  EXPECT_EQ(r.status, InsertStatus::duplicate);
  EXPECT_EQ(r.new_bytes, 0u);
  EXPECT_EQ(r.dsack, blk(150, 250));
  EXPECT_EQ(in_use(), before) << "the duplicate's mbufs are freed";
  EXPECT_EQ(q.bytes(), 200u);
  (void)put(q, 0, 100);
  EXPECT_EQ(pop(q).bytes, 300u);
}

TEST_F(ReassemblyTest, SegmentContainingHeldRangesReplacesThem) {
  ReassemblyQueue q;
  (void)put(q, 110, 120);
  (void)put(q, 130, 140);
  (void)put(q, 160, 170);
  const auto r = put(q, 100, 200);
  EXPECT_EQ(r.status, InsertStatus::queued);
  EXPECT_EQ(r.new_bytes, 70u);
  EXPECT_EQ(r.dsack, blk(110, 120));
  EXPECT_EQ(q.nodes(), 1u);
  EXPECT_EQ(q.bytes(), 100u);
  EXPECT_EQ(q.mbufs(), 1u) << "the contained chains were freed";
  (void)put(q, 0, 100);
  EXPECT_EQ(pop(q).bytes, 200u);
}

TEST_F(ReassemblyTest, SegmentCoveredByAdjacentRangesIsADuplicate) {
  ReassemblyLimits l;
  l.max_chain_bytes = 100;  // [100,200) and [200,300) cannot merge
  ReassemblyQueue q(l);
  (void)put(q, 100, 200);
  (void)put(q, 200, 300);
  EXPECT_EQ(q.nodes(), 2u);
  const auto r = put(q, 150, 250);
  EXPECT_EQ(r.status, InsertStatus::duplicate);
  EXPECT_EQ(r.dsack, blk(150, 250));
  EXPECT_EQ(q.bytes(), 200u);
}

TEST_F(ReassemblyTest, OverlapsAcrossMbufBoundariesKeepEveryByte) {
  ReassemblyQueue q;
  // Small mbufs so every trim lands inside or on the edge of a chain segment.
  (void)put(q, 100, 400, 7);
  (void)put(q, 500, 800, 13);
  EXPECT_EQ(put(q, 37, 123, 5).new_bytes, 63u);     // front trimmed mid-segment
  EXPECT_EQ(put(q, 390, 521, 10).new_bytes, 100u);  // both ends trimmed
  EXPECT_EQ(put(q, 799, 1000, 1).new_bytes, 200u);  // 1-byte mbufs, first one trimmed
  EXPECT_EQ(q.nodes(), 1u);
  EXPECT_EQ(q.mbufs(), in_use());
  (void)put(q, 0, 40, 3);
  EXPECT_EQ(pop(q).bytes, 1000u);
}

// --- Duplicates and D-SACK (RFC 2883) ---

TEST_F(ReassemblyTest, ExactDuplicateIsReportedAsDsackBeforeItsBlock) {
  ReassemblyQueue q;
  (void)put(q, 100, 200);
  (void)put(q, 300, 400);
  const auto r = put(q, 100, 200);
  EXPECT_EQ(r.status, InsertStatus::duplicate);
  EXPECT_EQ(r.dsack, blk(100, 200));
  // RFC 2883 4: D-SACK first, then the block containing it (it was just touched).
  EXPECT_EQ(sacks(q, r.dsack), (std::vector{blk(100, 200), blk(100, 200), blk(300, 400)}));
  // The queue itself keeps no D-SACK: once the caller reported it, only the runs remain.
  EXPECT_EQ(sacks(q), (std::vector{blk(100, 200), blk(300, 400)}));
  EXPECT_EQ(q.bytes(), 200u);
}

TEST_F(ReassemblyTest, DuplicateTheCallerDroppedItselfCanBeReported) {
  ReassemblyQueue q;
  (void)put(q, 300, 400);
  const SackBlock below{at(0) - 100, at(0)};
  EXPECT_EQ(sacks(q, below), (std::vector{below, blk(300, 400)}));
}

TEST_F(ReassemblyTest, DataBelowRcvNxtIsTrimmedAndReported) {
  ReassemblyQueue q;
  rcv_nxt_ = at(500);
  auto r = put(q, 450, 550);
  EXPECT_EQ(r.status, InsertStatus::queued);
  EXPECT_EQ(r.new_bytes, 50u);
  EXPECT_EQ(r.dsack, blk(450, 500));  // RFC 2883 4.1.1-style report below the ACK
  EXPECT_EQ(pop(q).bytes, 50u);
  EXPECT_EQ(rcv_nxt_, at(550));

  r = put(q, 100, 550);  // wholly old
  EXPECT_EQ(r.status, InsertStatus::duplicate);
  EXPECT_EQ(r.dsack, blk(100, 550));
  EXPECT_TRUE(q.empty());
}

TEST_F(ReassemblyTest, RangesTheCallerDeliveredItselfAreFreedOrTrimmedOnPop) {
  ReassemblyQueue q;
  (void)put(q, 100, 200);
  (void)put(q, 300, 400, 30);
  rcv_nxt_ = at(250);  // the engine delivered [0,250) directly
  EXPECT_EQ(q.pop_in_order(rcv_nxt_), nullptr);
  EXPECT_EQ(q.nodes(), 1u) << "[100,200) was freed";
  rcv_nxt_ = at(350);
  const auto p = pop(q);
  EXPECT_EQ(p.bytes, 50u);  // [350,400): the chain was trimmed across its mbufs
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(q.mbufs(), 0u);
}

TEST_F(ReassemblyTest, ZeroLengthPayloadIsFreed) {
  ReassemblyQueue q;
  const auto r = put(q, 100, 100);
  EXPECT_EQ(r.status, InsertStatus::empty);
  EXPECT_TRUE(q.empty());
}

// --- Sequence space wrap (RFC 9293 3.4) ---

TEST_F(ReassemblyTest, RangesAcrossTheWrapOfSequenceSpaceOrderAndMerge) {
  isn_ = Seq(0xffffffffu - 150);
  rcv_nxt_ = isn_;
  ReassemblyQueue q;
  (void)put(q, 300, 400);  // after the wrap
  (void)put(q, 100, 200);  // straddles it (seq 2^32 - 51 .. 49)
  const auto resent = put(q, 50, 120);
  EXPECT_EQ(q.nodes(), 2u);
  EXPECT_EQ(q.first_seq(), at(50));
  // [50,120) re-sent [100,120) across the wrap: D-SACK first, then the runs.
  EXPECT_EQ(sacks(q, resent.dsack), (std::vector{blk(100, 120), blk(50, 200), blk(300, 400)}));
  (void)put(q, 0, 60);
  EXPECT_EQ(pop(q).bytes, 200u);
  (void)put(q, 150, 350);
  EXPECT_EQ(pop(q).bytes, 200u);
  EXPECT_EQ(rcv_nxt_, Seq(249));
}

// --- Limits: drop the newest, never what may have been SACKed (RFC 2018 8) ---

TEST_F(ReassemblyTest, ByteLimitDropsTheNewSegmentAndRecoversAfterPop) {
  ReassemblyLimits l;
  l.max_bytes = 2000;
  ReassemblyQueue q(l);
  (void)put(q, 1000, 2000);
  (void)put(q, 3000, 4000);
  const auto r = put(q, 5000, 5001);
  EXPECT_EQ(r.status, InsertStatus::dropped);
  EXPECT_EQ(q.stats().dropped_segments, 1u);
  EXPECT_EQ(q.stats().dropped_bytes, 1u);
  EXPECT_EQ(q.bytes(), 2000u);
  EXPECT_EQ(sacks(q), (std::vector{blk(3000, 4000), blk(1000, 2000)}));

  // The retransmission that fills the first hole is taken over the limit: it is the only
  // segment that can ever free the queue.
  EXPECT_EQ(put(q, 0, 1000).status, InsertStatus::queued);
  EXPECT_EQ(q.bytes(), 3000u);
  EXPECT_EQ(pop(q).bytes, 2000u);
  EXPECT_EQ(put(q, 5000, 5001).status, InsertStatus::queued);
}

TEST_F(ReassemblyTest, NodeLimitDropsANewRangeButNotOneThatMerges) {
  ReassemblyLimits l;
  l.max_nodes = 2;
  ReassemblyQueue q(l);
  (void)put(q, 100, 200);
  (void)put(q, 300, 400);
  EXPECT_EQ(put(q, 500, 600).status, InsertStatus::dropped);
  EXPECT_EQ(put(q, 400, 450).status, InsertStatus::queued);  // extends [300,400)
  EXPECT_EQ(put(q, 50, 100).status, InsertStatus::queued);   // prepends to [100,200)
  EXPECT_EQ(put(q, 200, 300).status, InsertStatus::queued);  // joins both
  EXPECT_EQ(q.nodes(), 1u);
  EXPECT_EQ(put(q, 500, 600).status, InsertStatus::queued);
  EXPECT_EQ(put(q, 0, 50).status, InsertStatus::queued);  // reserve node not needed: merges
  EXPECT_EQ(pop(q).bytes, 450u);
  EXPECT_EQ(q.nodes(), 1u);
}

TEST_F(ReassemblyTest, NodeLimitLeavesRoomForTheSegmentAtRcvNxt) {
  ReassemblyLimits l;
  l.max_nodes = 2;
  ReassemblyQueue q(l);
  (void)put(q, 100, 200);
  (void)put(q, 300, 400);
  EXPECT_EQ(put(q, 0, 50).status, InsertStatus::queued);  // uses the reserve node
  EXPECT_EQ(q.nodes(), 3u);
  EXPECT_EQ(pop(q).bytes, 50u);
  EXPECT_EQ(q.nodes(), 2u);
}

TEST_F(ReassemblyTest, MbufLimitBoundsTinySegments) {
  ReassemblyLimits l;
  l.max_mbufs = 10;
  ReassemblyQueue q(l);
  for (uint32_t i = 0; i < 10; ++i)
    EXPECT_EQ(put(q, 100 + i, 101 + i).status, InsertStatus::queued);
  EXPECT_EQ(q.nodes(), 1u);
  EXPECT_EQ(q.mbufs(), 10u);
  EXPECT_EQ(put(q, 110, 111).status, InsertStatus::dropped);
  // A segment replacing held chains is judged by the net change: 10 mbufs out, 1 in.
  EXPECT_EQ(put(q, 99, 111).status, InsertStatus::queued);
  EXPECT_EQ(q.mbufs(), 1u);
  (void)put(q, 0, 99);
  EXPECT_EQ(pop(q).bytes, 111u);
}

TEST_F(ReassemblyTest, ChainLimitsKeepAdjacentRangesApartButContiguous) {
  ReassemblyLimits l;
  l.max_chain_bytes = 150;
  l.max_chain_segs = 3;
  ReassemblyQueue q(l);
  (void)put(q, 100, 200);
  (void)put(q, 200, 300);      // 200 bytes would exceed 150: a second, adjacent node
  (void)put(q, 300, 340, 10);  // 4 mbufs: too many segments to join either neighbour
  EXPECT_EQ(q.nodes(), 3u);
  EXPECT_EQ(sacks(q), (std::vector{blk(100, 340)})) << "one SACK block per contiguous run";
  (void)put(q, 0, 100);
  const auto p = pop(q);
  EXPECT_EQ(p.bytes, 340u);
  EXPECT_EQ(p.chains, 4u);
  EXPECT_TRUE(q.empty());
}

// --- SACK blocks (RFC 2018 4) ---

TEST_F(ReassemblyTest, SackBlocksAreMostRecentFirst) {
  ReassemblyQueue q;
  (void)put(q, 100, 200);
  (void)put(q, 300, 400);
  (void)put(q, 500, 600);
  EXPECT_EQ(sacks(q), (std::vector{blk(500, 600), blk(300, 400), blk(100, 200)}));
  (void)put(q, 200, 250);  // grows the oldest block: it becomes the first
  EXPECT_EQ(sacks(q), (std::vector{blk(100, 250), blk(500, 600), blk(300, 400)}));
  (void)put(q, 700, 800);
  (void)put(q, 900, 1000);
  // Five runs, four slots: the least recently changed one is left out.
  EXPECT_EQ(sacks(q), (std::vector{blk(900, 1000), blk(700, 800), blk(100, 250), blk(500, 600)}));
  const auto dsack = put(q, 500, 550).dsack;  // duplicate: D-SACK, its block, the most recent
  EXPECT_EQ(sacks(q, dsack),
            (std::vector{blk(500, 550), blk(500, 600), blk(900, 1000), blk(700, 800)}));
  EXPECT_EQ(sacks(q, dsack, 2), (std::vector{blk(500, 550), blk(500, 600)}));
  EXPECT_EQ(sacks(q, dsack, 1), (std::vector{blk(500, 550)}));
  EXPECT_EQ(sacks(q, dsack, 0), (std::vector<SackBlock>{}));
  EXPECT_EQ(sacks(q), (std::vector{blk(500, 600), blk(900, 1000), blk(700, 800), blk(100, 250)}));
}

TEST_F(ReassemblyTest, AdjacentUnmergedRangesShareOneBlockAndTheNewestRecency) {
  ReassemblyLimits l;
  l.max_chain_bytes = 100;
  ReassemblyQueue q(l);
  (void)put(q, 200, 300);
  (void)put(q, 500, 600);
  (void)put(q, 100, 200);  // a separate node, but the run [100,300) is now the most recent
  EXPECT_EQ(q.nodes(), 3u);
  EXPECT_EQ(sacks(q), (std::vector{blk(100, 300), blk(500, 600)}));
}

TEST_F(ReassemblyTest, ClearFreesEverything) {
  ReassemblyQueue q;
  (void)put(q, 100, 200, 10);
  (void)put(q, 300, 400);
  (void)put(q, 300, 400);
  q.clear();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(q.mbufs(), 0u);
  EXPECT_EQ(in_use(), 0u);
  (void)put(q, 100, 200);  // usable again; the destructor frees this one
}

// --- Chain surgery helpers ---

TEST_F(ReassemblyTest, TrimHelpersCutAcrossSegmentsAndFreeEmptyOnes) {
  rte_mbuf* m = chain(0, 100, 10);  // 10 segments of 10 bytes
  ASSERT_EQ(m->nb_segs, 10);
  m = mbuf_trim_front(m, 25);
  EXPECT_EQ(m->nb_segs, 8);
  EXPECT_EQ(m->pkt_len, 75u);
  rte_mbuf* last = mbuf_trim_back(m, 30);
  EXPECT_EQ(m->nb_segs, 5);
  EXPECT_EQ(m->pkt_len, 45u);
  EXPECT_EQ(last, rte_pktmbuf_lastseg(m));
  EXPECT_EQ(last->data_len, 10);
  EXPECT_EQ(in_use(), 5u);
  const auto bytes = take(m);
  EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), stream().begin() + 25));
}

// --- Randomized: a lossy, reordering, duplicating sender ---

// A 200 KB stream crossing the sequence wrap, cut into random segments; each round the
// "sender" emits 8 segments from the window at random (its own segments reordered,
// repacketized ranges, old duplicates, the retransmission of the first missing one), then the
// receiver pops. Each parameter runs kSeedsPerCase seeds under one set of limits.
struct RandomCase {
  const char* name;
  ReassemblyLimits limits;
};

void PrintTo(const RandomCase& c, std::ostream* os) {
  *os << c.name;
}

constexpr uint32_t kSeedsPerCase = 20;

class ReassemblyRandomTest : public ReassemblyTest,
                             public ::testing::WithParamInterface<RandomCase> {
 protected:
  void run(uint32_t seed, const ReassemblyLimits& limits);
};

void ReassemblyRandomTest::run(uint32_t seed, const ReassemblyLimits& limits) {
  std::mt19937 rng(seed);
  auto uni = [&](uint32_t lo, uint32_t hi) {  // [lo, hi]
    return std::uniform_int_distribution<uint32_t>(lo, hi)(rng);
  };
  constexpr uint32_t kLen = 200 * 1024;
  constexpr uint32_t kWindow = 64 * 1024;
  isn_ = Seq(0xffffffffu - uni(0, 100'000));  // the stream crosses the wrap
  rcv_nxt_ = isn_;

  // The sender's segmentation, as it would retransmit it.
  std::vector<std::pair<uint32_t, uint32_t>> segs;
  for (uint32_t off = 0; off < kLen;) {
    const uint32_t n = std::min(kLen - off, uni(1, 100) <= 90 ? uni(500, 1460) : uni(1, 4000));
    segs.emplace_back(off, off + n);
    off += n;
  }

  ReassemblyQueue q(limits);
  uint64_t dups = 0;
  uint64_t drops = 0;
  int rounds = 0;
  for (; rcv_nxt_ != at(kLen) && rounds < 20'000; ++rounds) {
    const uint32_t base = static_cast<uint32_t>(rcv_nxt_ - isn_);
    const uint32_t limit = std::min(kLen, base + kWindow);
    // Segments the sender may have in flight: those starting within the window.
    const auto first = std::upper_bound(segs.begin(), segs.end(), base,
                                        [](uint32_t v, const auto& s) { return v < s.second; });
    const auto last = std::lower_bound(segs.begin(), segs.end(), limit,
                                       [](const auto& s, uint32_t v) { return s.first < v; });
    const auto in_flight = static_cast<uint32_t>(last - first);
    for (int k = 0; k < 8; ++k) {
      uint32_t from = 0;
      uint32_t to = 0;
      const uint32_t kind = uni(1, 100);
      if (kind <= 60) {  // one of the sender's segments, reordered
        const auto& s = *(first + uni(0, in_flight - 1));
        from = s.first;
        to = s.second;
      } else if (kind <= 80) {  // a repacketized retransmission: arbitrary range
        from = uni(base, limit - 1);
        to = std::min(limit, from + uni(1, 3000));
      } else if (kind <= 90 && base > 0) {  // an old duplicate, maybe overlapping rcv_nxt
        from = base - std::min(base, uni(1, 3000));
        to = std::min(limit, from + uni(1, 4000));
      } else {  // the retransmission of the first missing segment
        from = first->first;
        to = first->second;
      }
      const auto r = put(q, from, to, uni(1, 100) <= 20 ? uni(64, 600) : 1900);
      if (r.status == InsertStatus::dropped) ++drops;
      if (r.dsack) ++dups;
      ASSERT_LE(q.nodes(), limits.max_nodes + 1);
      // Held data stays within the window the sender was allowed to fill (a segment may
      // start inside it and run one segment past it).
      if (!q.empty()) {
        ASSERT_LE(q.last_seq() - rcv_nxt_, static_cast<int32_t>(kWindow + 4000));
      }
    }
    (void)pop(q);
    ASSERT_FALSE(HasFailure()) << "seed " << seed << " round " << rounds;
    // Everything not held was freed: the queue's count is the pool's.
    ASSERT_EQ(q.mbufs(), in_use()) << "seed " << seed;
    ASSERT_LE(q.bytes(), limits.max_bytes);
    ASSERT_LE(q.mbufs(), limits.max_mbufs);
    std::array<SackBlock, net::kMaxSackBlocks> blocks{};
    const size_t n = q.sack_blocks(blocks);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_GT(blocks[i].left - rcv_nxt_, 0) << "SACK block at or below RCV.NXT";
      ASSERT_GT(blocks[i].right - blocks[i].left, 0);
    }
  }
  EXPECT_EQ(rcv_nxt_, at(kLen)) << "seed " << seed << " did not finish in " << rounds;
  EXPECT_TRUE(q.empty());
  EXPECT_GT(dups, 0u);
  if (limits.max_nodes < 64) {
    EXPECT_GT(drops, 0u) << "limits never exercised";
  }
  EXPECT_EQ(q.stats().dropped_segments, drops);
  EXPECT_EQ(in_use(), q.mbufs());
}

TEST_P(ReassemblyRandomTest, ShuffledDuplicatedOverlappingSegmentsReassembleExactly) {
  for (uint32_t seed = 1; seed <= kSeedsPerCase; ++seed) {
    run(seed, GetParam().limits);
    ASSERT_FALSE(HasFailure()) << "seed " << seed;
    EXPECT_EQ(in_use(), 0u) << "seed " << seed;
  }
}

ReassemblyLimits limits(uint32_t bytes, uint32_t nodes, uint32_t mbufs, uint32_t chain_bytes,
                        uint16_t chain_segs) {
  ReassemblyLimits l;
  l.max_bytes = bytes;
  l.max_nodes = nodes;
  l.max_mbufs = mbufs;
  l.max_chain_bytes = chain_bytes;
  l.max_chain_segs = chain_segs;
  return l;
}

INSTANTIATE_TEST_SUITE_P(
    Limits, ReassemblyRandomTest,
    ::testing::Values(RandomCase{"roomy", limits(256 * 1024, 1024, 2048, 65535, 65535)},
                      RandomCase{"tight_nodes", limits(64 * 1024, 8, 256, 65535, 65535)},
                      RandomCase{"short_chains", limits(32 * 1024, 4, 128, 4096, 8)},
                      RandomCase{"no_merging", limits(64 * 1024, 16, 512, 1500, 2)},
                      RandomCase{"starved", limits(16 * 1024, 2, 64, 65535, 65535)}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace pollux::tcp
