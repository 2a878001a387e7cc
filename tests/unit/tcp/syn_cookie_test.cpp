// SYN cookies (RFC 4987 3.6): what a cookie carries, when it is accepted and when refused.
#include "tcp/syn_cookie.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <vector>

#include "tcp/isn.hpp"

namespace pollux::tcp {
namespace {

using net::FourTuple;
using net::Seq;

constexpr uint64_t kSecond = 1'000'000'000;
constexpr uint64_t t0 = 1000 * kSecond;

const SipKey kKey{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};

FourTuple tuple(uint16_t remote_port = 40000) {
  return FourTuple{net::Ipv4Addr{0x0a000001}, net::Ipv4Addr{0x0a000002}, 80, remote_port};
}

TEST(SynCookie, ACookieReturnedInTimeGivesBackTheMssIndexItCarried) {
  SynCookies c(kKey);
  for (uint16_t mss : {536, 1200, 1360, 1400, 1440, 1452, 1460, 8960}) {
    const Seq cookie = c.make(tuple(), Seq(12345), mss, t0);
    const auto got = c.check(tuple(), Seq(12345), cookie, t0 + kSecond);
    ASSERT_TRUE(got.has_value()) << "mss " << mss;
    EXPECT_EQ(*got, mss);
  }
}

TEST(SynCookie, TheMacIsSipHashOfTupleIsnPeriodAndIndexInNetworkOrder) {
  // syn_cookie.hpp's layout, byte for byte: the RFC 6528 tuple message (isn.hpp), the peer's
  // ISN, the period T and the MSS index; the cookie's low 24 bits are SipHash's. Over random
  // addresses, ports and ISNs (an IPv4 MAC is computed from words, not these bytes).
  SynCookies c(kKey);
  std::mt19937_64 rng(14);
  for (int i = 0; i < 1000; ++i) {
    const uint64_t r = rng();
    const FourTuple t{net::Ipv4Addr{static_cast<uint32_t>(r)},
                      net::Ipv4Addr{static_cast<uint32_t>(r >> 32)}, static_cast<uint16_t>(rng()),
                      static_cast<uint16_t>(rng())};
    const Seq isn(static_cast<uint32_t>(rng()));
    const uint64_t now = rng() % (1000 * SynCookies::kPeriodNs);
    const uint16_t mss = SynCookies::kMssTable[rng() % SynCookies::kMssTable.size()];
    const auto period = static_cast<uint32_t>(now / SynCookies::kPeriodNs);
    const IsnGenerator::TupleMessage tm = IsnGenerator::tuple_message(t);
    std::vector<uint8_t> m(tm.bytes.begin(), tm.bytes.begin() + static_cast<long>(tm.len));
    for (const uint32_t v : {isn.v, period})
      for (int shift = 24; shift >= 0; shift -= 8) m.push_back(static_cast<uint8_t>(v >> shift));
    m.push_back(SynCookies::mss_index(mss));
    ASSERT_EQ(c.make(t, isn, mss, now).v & 0xffffffu, siphash24(kKey, m) & 0xffffffu)
        << "draw " << i;
  }
}

TEST(SynCookie, TheMssIsRoundedDownToTheTableNeverUp) {
  EXPECT_EQ(SynCookies::kMssTable[SynCookies::mss_index(1459)], 1452);
  EXPECT_EQ(SynCookies::kMssTable[SynCookies::mss_index(65535)], 8960);
  EXPECT_EQ(SynCookies::kMssTable[SynCookies::mss_index(100)], 536)
      << "below the smallest entry the RFC 9293 default is used";
}

TEST(SynCookie, ACookieIsValidForTheNextPeriodAndExpiresAfter) {
  SynCookies c(kKey);
  const Seq cookie = c.make(tuple(), Seq(7), 1460, t0);
  EXPECT_TRUE(c.check(tuple(), Seq(7), cookie, t0 + SynCookies::kPeriodNs).has_value());
  EXPECT_FALSE(c.check(tuple(), Seq(7), cookie, t0 + 3 * SynCookies::kPeriodNs).has_value());
  EXPECT_FALSE(c.check(tuple(), Seq(7), cookie, t0 + 32 * SynCookies::kPeriodNs).has_value())
      << "a cookie 32 periods old has the same low period bits and must still fail";
}

TEST(SynCookie, ACookieFromTheFutureIsRefused) {
  SynCookies c(kKey);
  const Seq cookie = c.make(tuple(), Seq(7), 1460, t0 + 2 * SynCookies::kPeriodNs);
  EXPECT_FALSE(c.check(tuple(), Seq(7), cookie, t0).has_value());
}

TEST(SynCookie, ACookieIsBoundToItsTupleAndThePeersIsn) {
  SynCookies c(kKey);
  const Seq cookie = c.make(tuple(), Seq(1000), 1460, t0);
  EXPECT_FALSE(c.check(tuple(40001), Seq(1000), cookie, t0).has_value());
  EXPECT_FALSE(c.check(tuple(), Seq(1001), cookie, t0).has_value());
  EXPECT_FALSE(SynCookies(SipKey{1, 2}).check(tuple(), Seq(1000), cookie, t0).has_value())
      << "another key (another start) refuses it";
}

TEST(SynCookie, TamperingWithTheMssIndexOrTheMacIsDetected) {
  SynCookies c(kKey);
  const Seq cookie = c.make(tuple(), Seq(99), 536, t0);
  for (uint32_t bit = 0; bit < 27; ++bit)
    EXPECT_FALSE(c.check(tuple(), Seq(99), Seq(cookie.v ^ (1u << bit)), t0).has_value())
        << "bit " << bit;
}

TEST(SynCookie, RandomGuessesAlmostNeverPass) {
  // 2^24 MAC values: 200k blind guesses at a fixed tuple should pass about 0.012 times.
  SynCookies c(kKey);
  std::mt19937 rng(42);
  int passed = 0;
  for (int i = 0; i < 200000; ++i)
    passed += c.check(tuple(), Seq(5), Seq(static_cast<uint32_t>(rng())), t0).has_value();
  EXPECT_LE(passed, 2) << "seed 42";
}

TEST(SynCookie, OptionsRideInTheLowBitsOfTsvalAndComeBackInTsecr) {
  for (bool sack : {false, true}) {
    for (int ws = -1; ws <= 14; ++ws) {
      CookieOptions o;
      o.sack_permitted = sack;
      if (ws >= 0) o.wscale = static_cast<uint8_t>(ws);
      const uint32_t tsval = 0x12345678;
      const uint32_t enc = SynCookies::encode_ts(tsval, o);
      EXPECT_LE(static_cast<int32_t>(enc - tsval), 0) << "never ahead of the clock";
      EXPECT_GT(static_cast<int32_t>(enc - tsval), -128) << "at most two 64-tick steps back";
      CookieOptions back;
      SynCookies::decode_ts(enc, back);
      EXPECT_EQ(back.sack_permitted, sack);
      EXPECT_EQ(back.wscale, o.wscale);
    }
  }
}

TEST(SynCookie, TheEncodedTsvalWrapsLikeAnyTimestamp) {
  CookieOptions o;
  o.sack_permitted = true;
  o.wscale = 7;
  const uint32_t enc = SynCookies::encode_ts(5, o);  // just after a wrap
  EXPECT_LE(static_cast<int32_t>(enc - 5u), 0);
  CookieOptions back;
  SynCookies::decode_ts(enc, back);
  EXPECT_TRUE(back.sack_permitted);
  EXPECT_EQ(back.wscale, 7);
}

}  // namespace
}  // namespace pollux::tcp
