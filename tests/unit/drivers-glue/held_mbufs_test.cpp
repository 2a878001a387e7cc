// How a port's pool is shared between what may hold its mbufs (drivers-glue/runtime.hpp,
// share_held_mbufs; issue 14 item 2): every holder is capped, and a reserve is left over.
#include <gtest/gtest.h>

#include "runtime.hpp"

namespace pollux::dpdk {
namespace {

uint32_t held_in_all(const engine::EngineConfig& ec) {
  return ec.tcp.rcv_mbuf_budget + ec.tcp.snd_mbuf_budget + ec.reasm.max_mbufs +
         ec.arp.max_pending_total + ec.nd.max_pending_total;
}

TEST(HeldMbufs, TheDefaultPoolOnOneLcoreKeepsTheDefaultNeighbourQueues) {
  engine::EngineConfig ec;
  share_held_mbufs(8192, 1, ec);
  EXPECT_EQ(ec.tcp.rcv_mbuf_budget, 4096u);
  EXPECT_EQ(ec.tcp.snd_mbuf_budget, 2048u);
  EXPECT_EQ(ec.arp.max_pending_total, 256u);
  EXPECT_EQ(ec.nd.max_pending_total, 256u);
}

TEST(HeldMbufs, NeighbourQueuesShrinkWithTheLcoresShareOfThePool) {
  engine::EngineConfig ec;
  share_held_mbufs(8192, 4, ec);  // 2048 mbufs per lcore
  EXPECT_EQ(ec.arp.max_pending_total, 64u);
  EXPECT_EQ(ec.nd.max_pending_total, 64u);
  EXPECT_EQ(ec.tcp.rcv_mbuf_budget, 1024u);
}

TEST(HeldMbufs, EveryLcoreWithAtLeast512MbufsLeavesASixteenthOfItsShareInReserve) {
  for (uint32_t extra : {2048u, 8192u, 65536u, 1u << 20})
    for (uint32_t lcores : {1u, 2u, 3u, 8u}) {
      engine::EngineConfig ec;
      share_held_mbufs(extra, lcores, ec);
      const uint32_t share = extra / lcores;
      if (share < 512) continue;  // below, the floors take over (the next test)
      EXPECT_LE(held_in_all(ec), share - share / 16) << "extra " << extra << " lcores " << lcores;
    }
}

TEST(HeldMbufs, ATinyPoolStillGivesEveryHolderItsFloor) {
  engine::EngineConfig ec;
  share_held_mbufs(256, 2, ec);
  EXPECT_EQ(ec.tcp.rcv_mbuf_budget, 64u);
  EXPECT_EQ(ec.tcp.snd_mbuf_budget, 64u);
  EXPECT_EQ(ec.reasm.max_mbufs, 16u);
  EXPECT_EQ(ec.arp.max_pending_total, 16u);
  EXPECT_EQ(ec.nd.max_pending_total, 16u);
}

TEST(HeldMbufs, WhatTheApplicationSetIsKeptOrOnlyLowered) {
  engine::EngineConfig ec;
  ec.tcp.rcv_mbuf_budget = 100;
  ec.arp.max_pending_total = 8;
  ec.nd.max_pending_total = 100000;
  share_held_mbufs(8192, 1, ec);
  EXPECT_EQ(ec.tcp.rcv_mbuf_budget, 100u);  // set: kept
  EXPECT_EQ(ec.arp.max_pending_total, 8u);  // below the share: kept
  EXPECT_EQ(ec.nd.max_pending_total, 256u);  // above it: brought down
}

}  // namespace
}  // namespace pollux::dpdk
