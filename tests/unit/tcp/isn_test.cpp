// RFC 6528 ISNs: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), M the 4 us
// clock, F SipHash-2-4 under a 128-bit key (checked against the paper's vectors separately).
#include "tcp/isn.hpp"

#include <gtest/gtest.h>

#include <vector>

#include <array>
#include <cstdint>
#include <limits>
#include <random>
#include <set>

namespace pollux::tcp {
namespace {

using net::FourTuple;
using net::make_ipv4;
using net::Seq;

constexpr uint64_t kUs = 1000;
constexpr uint64_t kSec = 1'000'000'000;

constexpr std::array<uint8_t, 16> kKeyBytes = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                               0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
const SipKey kKey = SipKey::from_bytes(kKeyBytes);

net::FourTuple tuple(uint16_t remote_port = 40000) {
  return net::FourTuple{make_ipv4(10, 0, 0, 1), make_ipv4(10, 0, 0, 2), 80, remote_port};
}

TEST(IsnClock, FourMicrosecondTicks) {
  EXPECT_EQ(IsnGenerator::clock_component(0), 0u);
  EXPECT_EQ(IsnGenerator::clock_component(4 * kUs - 1), 0u);  // truncated, not rounded
  EXPECT_EQ(IsnGenerator::clock_component(4 * kUs), 1u);
  EXPECT_EQ(IsnGenerator::clock_component(8 * kUs), 2u);
  EXPECT_EQ(IsnGenerator::clock_component(1 * kSec), 250'000u);  // 1 s / 4 us
}

TEST(IsnClock, WrapsModulo2To32) {
  // 2^32 ticks of 4 us (about 4.77 hours) bring M back to 0.
  constexpr uint64_t kPeriod = (uint64_t{1} << 32) * 4 * kUs;
  EXPECT_EQ(IsnGenerator::clock_component(kPeriod - 4 * kUs), 0xffffffffu);
  EXPECT_EQ(IsnGenerator::clock_component(kPeriod), 0u);
  EXPECT_EQ(IsnGenerator::clock_component(kPeriod + 12 * kUs), 3u);
  // The largest now_ns: plain truncation of the tick count.
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  EXPECT_EQ(IsnGenerator::clock_component(kMax), static_cast<uint32_t>(kMax / 4000));
}

TEST(IsnGenerator, TupleMessageIsNetworkOrderInRfcArgumentOrder) {
  // local 10.0.0.1:80, remote 10.0.0.2:12345 -> 0a000001 0050 0a000002 3039.
  const auto m = IsnGenerator::tuple_message(tuple(12345));
  const std::vector<uint8_t> expected = {0x0a, 0x00, 0x00, 0x01, 0x00, 0x50,
                                         0x0a, 0x00, 0x00, 0x02, 0x30, 0x39};
  EXPECT_EQ(std::vector<uint8_t>(m.span().begin(), m.span().end()), expected);
}

TEST(IsnGenerator, Ipv6TupleMessageCarriesTheWholeAddresses) {
  // local [2001:db8::1]:80, remote [2001:db8::2]:12345: 16 + 2 + 16 + 2 bytes.
  const net::FourTuple t{*net::Ipv6Addr::parse("2001:db8::1"), *net::Ipv6Addr::parse("2001:db8::2"),
                         80, 12345};
  const auto m = IsnGenerator::tuple_message(t);
  std::vector<uint8_t> expected = {0x20, 0x01, 0x0d, 0xb8, 0,    0,    0,    0,    0, 0, 0, 0, 0, 0,
                                   0,    1,    0x00, 0x50, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0,
                                   0,    0,    0,    0,    0,    2,    0x30, 0x39};
  EXPECT_EQ(std::vector<uint8_t>(m.span().begin(), m.span().end()), expected);
  // Different from the IPv4 tuple's ISN offset, and keyed.
  const IsnGenerator gen(kKey);
  EXPECT_EQ(gen.hash_component(t), static_cast<uint32_t>(siphash24(kKey, m.span())));
}

TEST(IsnGenerator, IsClockPlusKeyedHash) {
  const IsnGenerator gen(kKey);
  const net::FourTuple t = tuple();
  const auto m = IsnGenerator::tuple_message(t);
  const uint32_t f = static_cast<uint32_t>(siphash24(kKey, m.span()));
  EXPECT_EQ(gen.hash_component(t), f);
  const uint64_t now = 123'456'789'012;
  EXPECT_EQ(gen.isn(t, now), Seq(IsnGenerator::clock_component(now) + f));
  EXPECT_EQ(gen.isn(t, 0), Seq(f));
}

TEST(IsnGenerator, Ipv4HashIsSipHashOfTheTupleMessageForAnyAddressesAndPorts) {
  // hash_component() hands an IPv4 tuple to SipHash as words, not bytes: still F of the
  // 12 bytes tuple_message() lays out, whatever the addresses' and ports' high bits.
  const IsnGenerator gen(kKey);
  std::mt19937_64 rng(14);
  for (int i = 0; i < 1000; ++i) {
    const uint64_t r = rng();
    const net::FourTuple t{net::Ipv4Addr{static_cast<uint32_t>(r)},
                           net::Ipv4Addr{static_cast<uint32_t>(r >> 32)},
                           static_cast<uint16_t>(rng()), static_cast<uint16_t>(rng())};
    ASSERT_EQ(gen.hash_component(t),
              static_cast<uint32_t>(siphash24(kKey, IsnGenerator::tuple_message(t).span())))
        << "draw " << i;
  }
}

TEST(IsnGenerator, DeterministicForSameKeyTupleAndTime) {
  const IsnGenerator a(kKey);
  const IsnGenerator b(kKey);
  for (uint64_t now : {uint64_t{0}, 5 * kSec, uint64_t{987'654'321'123'456}}) {
    EXPECT_EQ(a.isn(tuple(), now), a.isn(tuple(), now));
    EXPECT_EQ(a.isn(tuple(), now), b.isn(tuple(), now));
  }
}

TEST(IsnGenerator, AdvancesOnePerFourMicroseconds) {
  // Same 4-tuple: F is fixed, so successive incarnations move forward with M (RFC 9293 3.4.1).
  const IsnGenerator gen(kKey);
  const net::FourTuple t = tuple();
  const uint64_t t0 = 77 * kSec + 1234;
  const Seq base = gen.isn(t, t0);
  EXPECT_EQ(gen.isn(t, t0 + 4 * kUs) - base, 1);
  EXPECT_EQ(gen.isn(t, t0 + 40 * kUs) - base, 10);
  EXPECT_EQ(gen.isn(t, t0 + 1 * kSec) - base, 250'000);
  EXPECT_GT(gen.isn(t, t0 + 4 * kUs), base);
}

TEST(IsnGenerator, SumWrapsModulo2To32) {
  // Whatever F is, M wrapping from 2^32 - 1 to 0 moves the ISN on by exactly one.
  const IsnGenerator gen(kKey);
  const net::FourTuple t = tuple();
  const uint64_t last_tick = ((uint64_t{1} << 32) - 1) * 4 * kUs;
  const Seq before = gen.isn(t, last_tick);
  const Seq after = gen.isn(t, last_tick + 4 * kUs);
  EXPECT_EQ(after.v, before.v + 1u);  // unsigned wrap
  EXPECT_EQ(after - before, 1);
  EXPECT_EQ(before.v, 0xffffffffu + gen.hash_component(t));
}

TEST(IsnGenerator, DifferentTuplesGetUnrelatedIsns) {
  // At one instant, 2000 connections differing in one field each get distinct ISNs.
  const IsnGenerator gen(kKey);
  const uint64_t now = 42 * kSec;
  std::set<uint32_t> seen;
  for (uint16_t port = 40000; port < 41000; ++port) seen.insert(gen.isn(tuple(port), now).v);
  for (uint8_t host = 1; host <= 250; ++host) {
    for (uint8_t net = 0; net < 4; ++net) {
      const net::FourTuple t{make_ipv4(10, 0, 0, 1), make_ipv4(192, 168, net, host), 80, 40000};
      seen.insert(gen.isn(t, now).v);
    }
  }
  EXPECT_EQ(seen.size(), 2000u);
}

TEST(IsnGenerator, EachFieldAndDirectionMatters) {
  const IsnGenerator gen(kKey);
  const uint64_t now = 1 * kSec;
  const net::FourTuple t = tuple();
  const Seq base = gen.isn(t, now);
  net::FourTuple v = t;
  v.local_ip = make_ipv4(10, 0, 0, 3);
  EXPECT_NE(gen.isn(v, now), base);
  v = t;
  v.remote_ip = make_ipv4(10, 0, 0, 3);
  EXPECT_NE(gen.isn(v, now), base);
  v = t;
  v.local_port = 81;
  EXPECT_NE(gen.isn(v, now), base);
  v = t;
  v.remote_port = 40001;
  EXPECT_NE(gen.isn(v, now), base);
  // The peer's view of the same connection is another tuple: its ISN is unrelated to ours.
  const net::FourTuple swapped{t.remote_ip, t.local_ip, t.remote_port, t.local_port};
  EXPECT_NE(gen.isn(swapped, now), base);
}

TEST(IsnGenerator, KeyChangesOutput) {
  // Knowing one host's ISNs says nothing about another's (or a restarted one's).
  std::array<uint8_t, 16> other_bytes = kKeyBytes;
  other_bytes[15] ^= 0x80;
  const IsnGenerator a(kKey);
  const IsnGenerator b(SipKey::from_bytes(other_bytes));
  for (uint16_t port = 50000; port < 50064; ++port) {
    EXPECT_NE(a.isn(tuple(port), 7 * kSec), b.isn(tuple(port), 7 * kSec)) << port;
  }
}

TEST(IsnGenerator, RandomKeysDiffer) {
  // 128 bits from the OS: equal keys (or an all-zero key) would mean the source is broken.
  const SipKey a = IsnGenerator::random_key();
  const SipKey b = IsnGenerator::random_key();
  EXPECT_NE(a, b);
  EXPECT_NE(a, SipKey{});
  EXPECT_NE(IsnGenerator(a).isn(tuple(), 0), IsnGenerator(b).isn(tuple(), 0));
}

}  // namespace
}  // namespace pollux::tcp
