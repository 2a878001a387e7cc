// Spec for net/seq.hpp: TCP sequence numbers are compared modulo 2^32 (RFC 9293 3.4
// "Sequence Numbers": "the comparison operators must be read as modulo 2^32"; the serial
// number arithmetic of RFC 1982 3.2 with SERIAL_BITS = 32).
#include "net/seq.hpp"

#include <gtest/gtest.h>

#include <climits>
#include <random>

namespace pollux::net {
namespace {

// The type is usable in constant expressions.
static_assert(Seq(1) < Seq(2));
static_assert(Seq(0xffffffff) < Seq(0));
static_assert(Seq(0) - Seq(0xffffffff) == 1);
static_assert(Seq(0xffffffff) + 1 == Seq(0));

TEST(Seq, OrdinaryComparisons) {
  EXPECT_LT(Seq(100), Seq(200));
  EXPECT_LE(Seq(100), Seq(200));
  EXPECT_LE(Seq(100), Seq(100));
  EXPECT_GT(Seq(200), Seq(100));
  EXPECT_GE(Seq(200), Seq(100));
  EXPECT_GE(Seq(200), Seq(200));
  EXPECT_EQ(Seq(7), Seq(7));
  EXPECT_NE(Seq(7), Seq(8));
  EXPECT_FALSE(Seq(100) < Seq(100));
  EXPECT_FALSE(Seq(100) > Seq(100));
}

// The reason the type exists: 0xffffffff is *before* 0, and 0x7fffffff before 0x80000000.
TEST(Seq, ComparisonsAcrossTheWrap) {
  EXPECT_LT(Seq(0xffffffff), Seq(0));
  EXPECT_GT(Seq(0), Seq(0xffffffff));
  EXPECT_LT(Seq(0xfffffff0), Seq(0x10));
  EXPECT_LE(Seq(0xfffffff0), Seq(0x10));
  EXPECT_GE(Seq(0x10), Seq(0xfffffff0));
  EXPECT_FALSE(Seq(0) < Seq(0xffffffff));
  EXPECT_LT(Seq(0x7fffffff), Seq(0x80000000));  // the signed midpoint is not special
  EXPECT_LT(Seq(0x80000000), Seq(0x80000001));
}

// operator- is the signed distance: positive when the left side is later.
TEST(Seq, DifferenceSign) {
  EXPECT_EQ(Seq(200) - Seq(100), 100);
  EXPECT_EQ(Seq(100) - Seq(200), -100);
  EXPECT_EQ(Seq(0) - Seq(0xffffffff), 1);
  EXPECT_EQ(Seq(0xffffffff) - Seq(0), -1);
  EXPECT_EQ(Seq(0x10) - Seq(0xfffffff0), 0x20);
  EXPECT_EQ(Seq(0xfffffff0) - Seq(0x10), -0x20);
  EXPECT_EQ(Seq(5) - Seq(5), 0);
  // The largest distances that still compare correctly: 2^31 - 1 either way.
  EXPECT_EQ(Seq(0x7fffffff) - Seq(0), INT32_MAX);
  EXPECT_EQ(Seq(0) - Seq(0x7fffffff), -INT32_MAX);
  EXPECT_LT(Seq(0), Seq(0x7fffffff));
  EXPECT_LT(Seq(0x80000000), Seq(0xffffffff));
}

// RFC 1982 3.2: for two numbers exactly 2^31 apart the comparison is undefined. Seq gives
// INT32_MIN both ways, so each side is "less" than the other; callers must keep distances
// below 2^31, which the window limit guarantees (RFC 7323 2.3: wscale <= 14).
TEST(Seq, HalfSpaceApartIsUndefinedAndDocumented) {
  EXPECT_EQ(Seq(0x80000000) - Seq(0), INT32_MIN);
  EXPECT_EQ(Seq(0) - Seq(0x80000000), INT32_MIN);
}

TEST(Seq, AdditionAndSubtractionWrap) {
  EXPECT_EQ(Seq(0xffffffff) + 1, Seq(0));
  EXPECT_EQ(Seq(0xfffffff0) + 0x20, Seq(0x10));
  EXPECT_EQ(Seq(0) - 1u, Seq(0xffffffff));
  EXPECT_EQ(Seq(0x10) - 0x20u, Seq(0xfffffff0));
  Seq s(0xfffffffe);
  s += 3;
  EXPECT_EQ(s, Seq(1));
  EXPECT_EQ(s.v, 1u);
  EXPECT_EQ((s += 0xffffffff), Seq(0));
  EXPECT_EQ(Seq().v, 0u);
}

// Property: for any a and any 0 < d < 2^31, a < a + d, a + d > a and (a + d) - a == d,
// wherever a is (so the wrap is crossed about half the time for large d).
TEST(Seq, RandomDistancesBelowHalfSpace) {
  std::mt19937 rng(9293);
  for (int i = 0; i < 10000; ++i) {
    Seq a(static_cast<uint32_t>(rng()));
    uint32_t d = 1 + static_cast<uint32_t>(rng()) % 0x7fffffffu;
    Seq b = a + d;
    ASSERT_LT(a, b) << a.v << " + " << d;
    ASSERT_GT(b, a);
    ASSERT_LE(a, b);
    ASSERT_FALSE(b <= a);
    ASSERT_EQ(b - a, static_cast<int32_t>(d));
    ASSERT_EQ(a - b, -static_cast<int32_t>(d));
    ASSERT_EQ(b - d, a);
  }
}

// RFC 9293 3.4: the acceptability tests are of the form a <= x < b; seq_in_range is
// exactly that, half-open.
TEST(SeqInRange, HalfOpen) {
  EXPECT_TRUE(seq_in_range(Seq(100), Seq(100), Seq(200)));
  EXPECT_TRUE(seq_in_range(Seq(100), Seq(199), Seq(200)));
  EXPECT_FALSE(seq_in_range(Seq(100), Seq(200), Seq(200)));
  EXPECT_FALSE(seq_in_range(Seq(100), Seq(99), Seq(200)));
  // a == b is the empty window: nothing is inside (RFC 9293 3.10.7.4, zero RCV.WND).
  EXPECT_FALSE(seq_in_range(Seq(100), Seq(100), Seq(100)));
  EXPECT_FALSE(seq_in_range(Seq(0), Seq(0), Seq(0)));
}

TEST(SeqInRange, AcrossTheWrap) {
  const Seq a(0xfffffff0), b(0x10);
  EXPECT_TRUE(seq_in_range(a, Seq(0xfffffff0), b));
  EXPECT_TRUE(seq_in_range(a, Seq(0xffffffff), b));
  EXPECT_TRUE(seq_in_range(a, Seq(0), b));
  EXPECT_TRUE(seq_in_range(a, Seq(0xf), b));
  EXPECT_FALSE(seq_in_range(a, Seq(0x10), b));
  EXPECT_FALSE(seq_in_range(a, Seq(0xffffffef), b));
  EXPECT_FALSE(seq_in_range(a, Seq(0x80000000), b));
  // The window ending exactly at the wrap.
  EXPECT_TRUE(seq_in_range(Seq(0xffffff00), Seq(0xffffffff), Seq(0)));
  EXPECT_FALSE(seq_in_range(Seq(0xffffff00), Seq(0), Seq(0)));
}

TEST(SeqMinMax, AcrossTheWrap) {
  EXPECT_EQ(seq_max(Seq(0xffffffff), Seq(1)), Seq(1));
  EXPECT_EQ(seq_max(Seq(1), Seq(0xffffffff)), Seq(1));
  EXPECT_EQ(seq_min(Seq(0xffffffff), Seq(1)), Seq(0xffffffff));
  EXPECT_EQ(seq_min(Seq(1), Seq(0xffffffff)), Seq(0xffffffff));
  EXPECT_EQ(seq_max(Seq(5), Seq(5)), Seq(5));
  EXPECT_EQ(seq_min(Seq(100), Seq(200)), Seq(100));
  EXPECT_EQ(seq_max(Seq(100), Seq(200)), Seq(200));
}

}  // namespace
}  // namespace pollux::net
