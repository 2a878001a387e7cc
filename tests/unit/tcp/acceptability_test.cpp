// RFC 9293 3.10.7.4's segment acceptability table, case by case (tcp/acceptability.hpp).
#include "tcp/acceptability.hpp"

#include <gtest/gtest.h>

namespace pollux::tcp {
namespace {

using net::Seq;

// The window lies across the wrap: RCV.NXT 2^32 - 10, RCV.WND 20, so octets 2^32 - 10 .. 9.
const Seq kNxt(0xfffffff6u);

TEST(SegmentAcceptable, AnEmptySegmentInAZeroWindowOnlyAtRcvNxt) {
  EXPECT_TRUE(segment_acceptable(kNxt, 0, kNxt, 0));
  EXPECT_FALSE(segment_acceptable(kNxt, 0, kNxt + 1, 0));
  EXPECT_FALSE(segment_acceptable(kNxt, 0, kNxt - 1, 0));
}

TEST(SegmentAcceptable, AnEmptySegmentInAnOpenWindowAnywhereInsideIt) {
  EXPECT_TRUE(segment_acceptable(kNxt, 20, kNxt, 0));
  EXPECT_TRUE(segment_acceptable(kNxt, 20, kNxt + 19, 0));
  EXPECT_FALSE(segment_acceptable(kNxt, 20, kNxt + 20, 0));
  EXPECT_FALSE(segment_acceptable(kNxt, 20, kNxt - 1, 0));
}

TEST(SegmentAcceptable, DataIntoAZeroWindowNeverEvenAtRcvNxt) {
  EXPECT_FALSE(segment_acceptable(kNxt, 0, kNxt, 1));
  EXPECT_FALSE(segment_acceptable(kNxt, 0, kNxt - 1, 2));
}

TEST(SegmentAcceptable, DataIntoAnOpenWindowWhenItsFirstOrLastOctetIsInside) {
  EXPECT_TRUE(segment_acceptable(kNxt, 20, kNxt - 5, 6));     // last octet at RCV.NXT
  EXPECT_FALSE(segment_acceptable(kNxt, 20, kNxt - 5, 5));    // wholly below: a duplicate
  EXPECT_TRUE(segment_acceptable(kNxt, 20, kNxt + 19, 100));  // first octet the window's last
  EXPECT_FALSE(segment_acceptable(kNxt, 20, kNxt + 20, 1));   // just past the right edge
  // Neither end inside (it starts below RCV.NXT and ends past the right edge): the table
  // refuses it, and so does pollux; Linux would trim it and keep the middle.
  EXPECT_FALSE(segment_acceptable(kNxt, 20, kNxt - 5, 1000));
}

}  // namespace
}  // namespace pollux::tcp
