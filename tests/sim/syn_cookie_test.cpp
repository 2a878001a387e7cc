// SYN cookies (RFC 4987 3.6) between two real engines: a connection made from a cookie
// carries the options the cookie could encode and then behaves like any other, through loss.
#include <gtest/gtest.h>

#include "bulk_transfer.hpp"
#include "sim_seeds.hpp"

namespace pollux::sim {
namespace {

using tcp::SynCookieMode;

BulkSpec cookie_spec(uint64_t seed) {
  BulkSpec s;
  s.seed = seed;
  s.bytes = 2 << 20;
  s.b_syn_cookies = SynCookieMode::always;
  return s;
}

TEST(SimSynCookie, AlwaysOnTheHandshakeCarriesMssWscaleSackAndTimestampsAndDataArrivesIntact) {
  const BulkResult r = run_bulk_transfer(cookie_spec(1));
  ASSERT_TRUE(r.complete) << r.where;
  EXPECT_EQ(r.b_cookies_sent, 1u) << r.where;
  EXPECT_EQ(r.b_cookies_accepted, 1u) << r.where;
  EXPECT_EQ(r.b_cookies_rejected, 0u) << r.where;
  EXPECT_TRUE(r.at_peer_close.timestamps) << r.where;
  EXPECT_TRUE(r.at_peer_close.sack) << "SACK-permitted came back in TSecr; " << r.where;
  EXPECT_TRUE(r.at_peer_close.wscale) << r.where;
  EXPECT_EQ(r.at_peer_close.snd_mss, 1460u) << "the table holds 1460 exactly; " << r.where;
  EXPECT_EQ(r.leaked, 0u) << r.where;
}

TEST(SimSynCookie, WithoutTimestampsTheConnectionGoesOnWithoutWscaleAndSack) {
  BulkSpec s = cookie_spec(2);
  s.timestamps = false;
  const BulkResult r = run_bulk_transfer(s);
  ASSERT_TRUE(r.complete) << r.where;
  EXPECT_EQ(r.b_cookies_accepted, 1u) << r.where;
  EXPECT_FALSE(r.at_peer_close.timestamps) << r.where;
  EXPECT_FALSE(r.at_peer_close.sack) << "nowhere to carry it back; " << r.where;
  EXPECT_FALSE(r.at_peer_close.wscale) << r.where;
  EXPECT_EQ(r.leaked, 0u) << r.where;
}

TEST(SimSynCookie, AutomaticModeUsesCookiesOnlyWhenTheQueueIsFull) {
  BulkSpec s = cookie_spec(3);
  s.b_syn_cookies = SynCookieMode::automatic;
  const BulkResult room = run_bulk_transfer(s);
  ASSERT_TRUE(room.complete) << room.where;
  EXPECT_EQ(room.b_cookies_sent, 0u) << "a queue with room keeps state; " << room.where;
  s.b_backlog = 0;  // the SYN-RECEIVED queue is always full
  const BulkResult full = run_bulk_transfer(s);
  ASSERT_TRUE(full.complete) << full.where;
  EXPECT_EQ(full.b_cookies_accepted, 1u) << full.where;
}

TEST(SimSynCookie, NeverModeWithAFullQueueMakesNoConnection) {
  BulkSpec s = cookie_spec(4);
  s.b_syn_cookies = SynCookieMode::never;
  s.b_backlog = 0;
  s.max_ns = 10 * kSecond;
  const BulkResult r = run_bulk_transfer(s);
  EXPECT_FALSE(r.complete) << r.where;
  EXPECT_EQ(r.b_cookies_sent, 0u) << r.where;
}

TEST(SimSynCookie, CookieConnectionsSurviveLossOfTheHandshakeAndData) {
  // Loss on both links, including SYN-ACKs (a stateless server never resends: the client's
  // SYN retransmission draws a fresh cookie) and the ACK that carries the cookie back.
  for (uint64_t seed : sim_seeds(20)) {
    BulkSpec s = cookie_spec(seed);
    s.bytes = 256 << 10;
    s.ab.loss = 0.02;
    s.ba.loss = 0.02;
    const BulkResult r = run_bulk_transfer(s);
    ASSERT_TRUE(r.complete) << r.where;
    EXPECT_GE(r.b_cookies_accepted, 1u) << r.where;
    EXPECT_EQ(r.leaked, 0u) << r.where;
  }
}

}  // namespace
}  // namespace pollux::sim
