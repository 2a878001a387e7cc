// TX zero-copy end to end (issue 13 item 4): host a's data segments are a header mbuf
// chained to indirect mbufs referencing its send queue, and the link hands them to host b
// as they are (Faults::hand_over, the in-memory link's behaviour), so b parses and queues
// chains without flattening them. With loss, reordering, duplication and corruption (the
// link copies a frame before flipping a bit) every byte must arrive and no mbuf leak: the
// references taken by segments, retransmissions and b's queues all come back.
#include <gtest/gtest.h>

#include "bulk_transfer.hpp"
#include "sim_seeds.hpp"

namespace pollux::sim {
namespace {

TEST(ZeroCopy, ChainedSegmentsHandedOverUnflattenedArriveIntactWithoutLeaks) {
  for (uint64_t seed : sim_seeds(20)) {
    BulkSpec spec;
    spec.seed = seed;
    spec.bytes = 1 << 20;
    spec.ab.hand_over = true;
    spec.ab.loss = 0.01;
    spec.ab.duplicate = 0.01;
    spec.ab.reorder = 0.02;
    spec.ab.reorder_delay_ns = 2'000'000;
    spec.ab.corrupt = 0.005;
    spec.ab.delay_ns = 1'000'000;
    spec.ba.delay_ns = 1'000'000;
    spec.ba.loss = 0.01;
    uint64_t chained = 0;
    spec.drop_ab = [&](const rte_mbuf* m, uint64_t) {
      if (m->nb_segs > 1) ++chained;
      return false;
    };
    const BulkResult r = run_bulk_transfer(spec);
    EXPECT_TRUE(r.complete) << r.where;
    EXPECT_EQ(r.leaked, 0u) << r.where;
    // Most data segments crossed as chains (corrupted ones were copied flat first).
    EXPECT_GT(chained, spec.bytes / 1448 / 2) << repro(seed);
  }
}

}  // namespace
}  // namespace pollux::sim
