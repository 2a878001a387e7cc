// The interned option sets (tcp/option_sets.hpp): connections with equal options share one
// set, a change copies on write, and a full table refuses a new set without touching any.
#include "tcp/option_sets.hpp"

#include <gtest/gtest.h>

namespace pollux::tcp {
namespace {

ConnOptions with_rcvbuf(uint32_t rcvbuf) {
  ConnOptions o;
  o.rcvbuf = rcvbuf;
  return o;
}

TEST(OptionSets, ConnectionsWithEqualOptionsShareOneSetUntilTheLastLetsGo) {
  OptionSets sets(4);
  const OptionSets::Id a = sets.acquire(ConnOptions{});
  const OptionSets::Id b = sets.acquire(ConnOptions{});
  const OptionSets::Id c = sets.acquire(with_rcvbuf(65536));
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(sets.live(), 2u);
  sets.release(a);
  EXPECT_EQ(sets.live(), 2u);  // b still holds it
  EXPECT_EQ(sets.get(b).rcvbuf, ConnOptions{}.rcvbuf);
  sets.release(b);
  EXPECT_EQ(sets.live(), 1u);
  sets.hold(c);  // an accepted connection takes its listener's set
  sets.release(c);
  EXPECT_EQ(sets.get(c).rcvbuf, 65536u);
  sets.release(c);
  EXPECT_EQ(sets.live(), 0u);
}

TEST(OptionSets, ASetHoldsTheBoundedBuffersAndEqualsWhatBoundsToTheSame) {
  OptionSets sets(4);
  ConnOptions tiny;
  tiny.rcvbuf = tiny.sndbuf = 1;
  const OptionSets::Id a = sets.acquire(tiny);
  EXPECT_EQ(sets.get(a).rcvbuf, 4096u);  // the buffers' lower bound
  EXPECT_EQ(sets.get(a).sndbuf, 4096u);
  ConnOptions least;
  least.rcvbuf = least.sndbuf = 4096;
  EXPECT_EQ(sets.acquire(least), a) << "options that bound to the same are the same set";
  const OptionSets::Id huge = sets.acquire(with_rcvbuf(0xffffffffu));
  EXPECT_EQ(sets.get(huge).rcvbuf, 1u << 30);  // RFC 7323 2.3: a shift of 14
}

TEST(OptionSets, AChangeToASharedSetCopiesOnWriteAndTheOthersKeepTheirs) {
  OptionSets sets(4);
  const OptionSets::Id shared = sets.acquire(ConnOptions{});
  sets.hold(shared);  // two connections
  ConnOptions nodelay;
  nodelay.nodelay = true;
  const OptionSets::Id mine = sets.change(shared, nodelay);
  ASSERT_NE(mine, OptionSets::kNone);
  EXPECT_NE(mine, shared);
  EXPECT_TRUE(sets.get(mine).nodelay);
  EXPECT_FALSE(sets.get(shared).nodelay) << "the other connection's options are untouched";
  EXPECT_EQ(sets.live(), 2u);
  // Alone in a set, a change writes it in place.
  ConnOptions keepalive = nodelay;
  keepalive.keepalive = true;
  EXPECT_EQ(sets.change(mine, keepalive), mine);
  EXPECT_TRUE(sets.get(mine).keepalive);
  // A change to options another set has joins it, and the one left empty goes back.
  EXPECT_EQ(sets.change(mine, ConnOptions{}), shared);
  EXPECT_EQ(sets.live(), 1u);
  sets.release(shared);
  sets.release(shared);
  EXPECT_EQ(sets.live(), 0u);
}

TEST(OptionSets, AFullTableRefusesANewSetButStillSharesLiveOnesAndFreesRoomOnRelease) {
  OptionSets sets(2);
  const OptionSets::Id a = sets.acquire(with_rcvbuf(10000));
  const OptionSets::Id b = sets.acquire(with_rcvbuf(20000));
  sets.hold(b);
  EXPECT_EQ(sets.acquire(with_rcvbuf(30000)), OptionSets::kNone);
  EXPECT_EQ(sets.acquire(with_rcvbuf(10000)), a) << "a live set is still shared";
  // A change that needs a new set is refused and leaves the holder where it was.
  EXPECT_EQ(sets.change(b, with_rcvbuf(30000)), OptionSets::kNone);
  EXPECT_EQ(sets.get(b).rcvbuf, 20000u);
  sets.release(a);
  sets.release(a);
  const OptionSets::Id c = sets.change(b, with_rcvbuf(30000));
  ASSERT_NE(c, OptionSets::kNone) << "room again once a set is let go";
  EXPECT_EQ(sets.get(c).rcvbuf, 30000u);
  EXPECT_EQ(sets.get(b).rcvbuf, 20000u) << "b's other holder keeps its options";
}

}  // namespace
}  // namespace pollux::tcp
