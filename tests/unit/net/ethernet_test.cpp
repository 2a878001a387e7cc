// Spec for net/ethernet.hpp: Ethernet II framing (IEEE 802.3 clause 3.2.6 "Length/Type":
// values >= 0x0600 are EtherTypes) and MAC address text (IEEE 802 "canonical" colon form,
// as ip(8) prints it).
#include "net/ethernet.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <vector>

#include "linux_captures.hpp"

namespace pollux::net {
namespace {

using namespace capture;

constexpr MacAddr kA{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0a}};
constexpr MacAddr kB{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0b}};

TEST(MacAddr, ParsesEitherCase) {
  EXPECT_EQ(MacAddr::parse("02:00:00:00:00:0a"), kA);
  EXPECT_EQ(MacAddr::parse("ff:ff:ff:ff:ff:ff"), MacAddr::broadcast());
  EXPECT_EQ(MacAddr::parse("00:00:00:00:00:00"), MacAddr{});
  const MacAddr mixed{{0xde, 0xad, 0xbe, 0xef, 0x01, 0x9a}};
  EXPECT_EQ(MacAddr::parse("de:ad:be:ef:01:9a"), mixed);
  EXPECT_EQ(MacAddr::parse("DE:AD:BE:EF:01:9A"), mixed);
  EXPECT_EQ(MacAddr::parse("De:aD:Be:eF:01:9a"), mixed);
}

TEST(MacAddr, RejectsBadText) {
  for (const char* bad : {
           "",                    //
           "02:00:00:00:00",      // five groups
           "02:00:00:00:00:0a:",  // trailing separator
           "02:00:00:00:00:0a:0b",
           "02:00:00:00:00:a",    // a one-digit group (16 chars)
           "2:0:0:0:0:a",         //
           "02-00-00-00-00-0a",   // other separators
           "02.00.00.00.00.0a",   //
           "0200.0000.000a",      //
           "02000000000a",        //
           "02:00:00:00:00:0g",   // not hex
           "0x:00:00:00:00:0a",   //
           " 02:00:00:00:00:0a",  // spaces
           "02:00:00:00:00:0a ",  //
           "02:00:00:00:00: a",   //
           "020:0:00:00:00:0a",   // misplaced separator, right length
           "02:00:00:00:000a:",   //
           "+2:00:00:00:00:0a",   //
       }) {
    EXPECT_EQ(MacAddr::parse(bad), std::nullopt) << '"' << bad << '"';
  }
}

TEST(MacAddr, ToStringIsLowercaseColonForm) {
  EXPECT_EQ(kA.to_string(), "02:00:00:00:00:0a");
  EXPECT_EQ(MacAddr({{0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x9A}}).to_string(), "de:ad:be:ef:01:9a");
  EXPECT_EQ(MacAddr::broadcast().to_string(), "ff:ff:ff:ff:ff:ff");
  for (const MacAddr& m : {kA, kB, MacAddr{}, MacAddr::broadcast()})
    EXPECT_EQ(MacAddr::parse(m.to_string()), m);
}

// IEEE 802 I/G bit: the least significant bit of the first octet marks group addresses.
TEST(MacAddr, Classification) {
  EXPECT_TRUE(MacAddr::broadcast().is_broadcast());
  EXPECT_TRUE(MacAddr::broadcast().is_multicast());
  EXPECT_FALSE(kA.is_broadcast());
  EXPECT_FALSE(kA.is_multicast());  // 0x02: locally administered, individual
  EXPECT_TRUE(MacAddr::parse("33:33:00:00:00:02")->is_multicast());  // IPv6 mcast (RFC 2464)
  EXPECT_TRUE(MacAddr::parse("01:00:5e:00:00:fb")->is_multicast());  // IPv4 mcast (RFC 1112)
  EXPECT_FALSE(MacAddr::parse("01:00:5e:00:00:fb")->is_broadcast());
  EXPECT_TRUE(MacAddr{}.is_zero());
  EXPECT_FALSE(kA.is_zero());
}

TEST(MacAddr, LoadStore) {
  const MacAddr m = MacAddr::load(kTcpSyn + 6);
  EXPECT_EQ(m, kA);
  std::array<uint8_t, 8> out{};
  m.store(out.data() + 1);
  EXPECT_EQ(out, (std::array<uint8_t, 8>{0, 0x02, 0, 0, 0, 0, 0x0a, 0}));
}

// The EtherType registry values pollux uses (IEEE 802 numbers, RFC 894, RFC 826).
TEST(EtherType, Values) {
  static_assert(static_cast<uint16_t>(EtherType::ipv4) == 0x0800);
  static_assert(static_cast<uint16_t>(EtherType::arp) == 0x0806);
  static_assert(static_cast<uint16_t>(EtherType::vlan) == 0x8100);
  static_assert(static_cast<uint16_t>(EtherType::ipv6) == 0x86dd);
  static_assert(kEthernetHeaderLen == 14);
  static_assert(kEthernetMinFrame == 60);
}

TEST(EthernetView, ParsesKernelArpBroadcast) {
  auto eth = EthernetView::parse(kArpRequest);
  ASSERT_TRUE(eth.has_value());
  EXPECT_TRUE(eth->dst().is_broadcast());
  EXPECT_EQ(eth->src(), kA);
  EXPECT_EQ(eth->ether_type(), static_cast<uint16_t>(EtherType::arp));
  EXPECT_EQ(eth->payload().size(), 28u);
  EXPECT_EQ(eth->payload().data(), kArpRequest + 14);
}

TEST(EthernetView, ParsesKernelIpv4Frame) {
  auto eth = EthernetView::parse(kTcpSynAck);
  ASSERT_TRUE(eth.has_value());
  EXPECT_EQ(eth->dst(), kA);
  EXPECT_EQ(eth->src(), kB);
  EXPECT_EQ(eth->ether_type(), 0x0800);
  EXPECT_EQ(eth->payload().size(), sizeof kTcpSynAck - 14);
  EXPECT_EQ(eth->payload()[0], 0x45);
}

// A frame shorter than the 14-byte header is refused at every length; exactly 14 bytes is
// a header with an empty payload (the IPv4/ARP parsers then reject it).
TEST(EthernetView, TruncatedAtEveryLength) {
  for (size_t n = 0; n < kEthernetHeaderLen; ++n)
    EXPECT_FALSE(EthernetView::parse(Bytes(kArpRequest, n)).has_value()) << n;
  auto eth = EthernetView::parse(Bytes(kArpRequest, 14));
  ASSERT_TRUE(eth.has_value());
  EXPECT_TRUE(eth->payload().empty());
}

// The view only reports the type field; 802.1Q tags and 802.3 lengths (< 0x0600) are left
// to the classifier to count and drop.
TEST(EthernetView, ReportsTagsAndLengthsRaw) {
  std::vector<uint8_t> f(std::begin(kArpRequest), std::end(kArpRequest));
  f[12] = 0x81;
  f[13] = 0x00;
  EXPECT_EQ(EthernetView::parse(f)->ether_type(), static_cast<uint16_t>(EtherType::vlan));
  f[12] = 0x00;
  f[13] = 0x2e;
  EXPECT_EQ(EthernetView::parse(f)->ether_type(), 0x002e);
}

// The builder reproduces the kernel's headers byte for byte.
TEST(EthernetBuild, MatchesKernelHeaders) {
  std::array<uint8_t, 14> out{};
  EXPECT_EQ(write_ethernet_header(out.data(), MacAddr::broadcast(), kA, EtherType::arp), 14u);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), kArpRequest));
  write_ethernet_header(out.data(), kB, kA, EtherType::ipv4);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), kTcpSyn));
  write_ethernet_header(out.data(), kA, kB, EtherType::ipv4);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), kIcmpEchoReply));
}

TEST(EthernetBuild, RoundTrip) {
  std::array<uint8_t, 20> buf{};
  const MacAddr dst{{0x33, 0x33, 0, 0, 0, 1}}, src{{0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54}};
  write_ethernet_header(buf.data(), dst, src, EtherType::ipv6);
  auto eth = EthernetView::parse(buf);
  ASSERT_TRUE(eth.has_value());
  EXPECT_EQ(eth->dst(), dst);
  EXPECT_EQ(eth->src(), src);
  EXPECT_EQ(eth->ether_type(), 0x86dd);
  EXPECT_EQ(eth->payload().size(), 6u);
}

}  // namespace
}  // namespace pollux::net
