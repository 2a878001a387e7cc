// Spec for net/ipv4_addr.hpp: IPv4 addresses (RFC 791 3.1 "Addressing") and prefixes in
// CIDR notation (RFC 4632 3.1), as configuration values.
//
// Text forms accepted: exactly the dotted-decimal quad "A.B.C.D", each part 0..255 in
// decimal without leading zeros. Refused: shorthand ("1.2.3" is 1.2.0.3 to inet_aton(3)),
// leading zeros ("01.2.3.4" is octal to inet_aton(3), decimal to others: ambiguous, and
// glibc's inet_pton(3) refuses it too), hex, signs, surrounding spaces.
#include "net/ipv4_addr.hpp"

#include <gtest/gtest.h>

#include <string>

namespace pollux::net {
namespace {

TEST(Ipv4Addr, ParsesDottedQuad) {
  EXPECT_EQ(Ipv4Addr::parse("10.0.0.1"), Ipv4Addr{0x0a000001});
  EXPECT_EQ(Ipv4Addr::parse("10.99.0.2"), make_ipv4(10, 99, 0, 2));
  EXPECT_EQ(Ipv4Addr::parse("192.168.1.254"), Ipv4Addr{0xc0a801fe});
  EXPECT_EQ(Ipv4Addr::parse("0.0.0.0"), Ipv4Addr{0});
  EXPECT_EQ(Ipv4Addr::parse("255.255.255.255"), Ipv4Addr{0xffffffff});
  EXPECT_EQ(Ipv4Addr::parse("1.20.199.0"), make_ipv4(1, 20, 199, 0));
}

TEST(Ipv4Addr, RejectsEverythingElse) {
  for (const char* bad : {
           "",            // empty
           "1.2.3",       // three parts (inet_aton shorthand)
           "1.2.3.4.5",   // five parts
           "1",           // one part (inet_aton: a 32-bit number)
           "256.1.1.1",   // octet out of range
           "1.2.3.256",   //
           "1000.1.1.1",  // four digits
           "01.2.3.4",    // leading zero: ambiguous (octal to inet_aton)
           "1.2.3.04",    //
           "1.2.00.4",    //
           "0x7f.0.0.1",  // hex
           " 1.2.3.4",    // surrounding spaces
           "1.2.3.4 ",    //
           "1.2. 3.4",    //
           "1..3.4",      // empty parts
           ".1.2.3",      //
           "1.2.3.",      //
           "1.2.3.4.",    //
           "...",         //
           "a.b.c.d",     // not digits
           "-1.2.3.4",    // signs
           "+1.2.3.4",    //
           "1.2.3.-0",    //
           "1.2.3.4/24",  // a prefix is not an address
           "1.2.3.4:80",  // nor an endpoint
           "::1",         // nor IPv6
       }) {
    EXPECT_EQ(Ipv4Addr::parse(bad), std::nullopt) << '"' << bad << '"';
  }
  // An embedded NUL is part of the text, not a terminator.
  EXPECT_EQ(Ipv4Addr::parse(std::string_view("1.2.3.4\0", 8)), std::nullopt);
  EXPECT_EQ(Ipv4Addr::parse(std::string_view("1.2.3.4\0", 7)), make_ipv4(1, 2, 3, 4));
}

TEST(Ipv4Addr, ToStringRoundTrips) {
  EXPECT_EQ(make_ipv4(10, 99, 0, 1).to_string(), "10.99.0.1");
  EXPECT_EQ(Ipv4Addr{}.to_string(), "0.0.0.0");
  EXPECT_EQ(Ipv4Addr{0xffffffff}.to_string(), "255.255.255.255");
  for (uint32_t v : {0u, 1u, 0x7f000001u, 0x0a630002u, 0xc0a80100u, 0xe00000fbu, 0xfffffffeu}) {
    auto back = Ipv4Addr::parse(Ipv4Addr{v}.to_string());
    ASSERT_TRUE(back.has_value()) << v;
    EXPECT_EQ(back->value, v);
  }
}

// RFC 1122 3.2.1.3 (0.0.0.0 "this host", 255.255.255.255 limited broadcast, 127/8
// loopback), RFC 5771 (224/4 multicast).
TEST(Ipv4Addr, Classification) {
  EXPECT_TRUE(Ipv4Addr{}.is_unspecified());
  EXPECT_FALSE(make_ipv4(0, 0, 0, 1).is_unspecified());
  EXPECT_TRUE(make_ipv4(255, 255, 255, 255).is_broadcast());
  EXPECT_FALSE(make_ipv4(10, 99, 0, 255).is_broadcast());  // directed: needs the prefix
  EXPECT_TRUE(make_ipv4(224, 0, 0, 0).is_multicast());
  EXPECT_TRUE(make_ipv4(224, 0, 0, 251).is_multicast());
  EXPECT_TRUE(make_ipv4(239, 255, 255, 255).is_multicast());
  EXPECT_FALSE(make_ipv4(223, 255, 255, 255).is_multicast());
  EXPECT_FALSE(make_ipv4(240, 0, 0, 0).is_multicast());
  EXPECT_FALSE(make_ipv4(255, 255, 255, 255).is_multicast());
  EXPECT_TRUE(make_ipv4(127, 0, 0, 1).is_loopback());
  EXPECT_TRUE(make_ipv4(127, 255, 255, 255).is_loopback());
  EXPECT_FALSE(make_ipv4(128, 0, 0, 1).is_loopback());
  EXPECT_FALSE(make_ipv4(126, 255, 255, 255).is_loopback());
}

// One predicate for the martian sources the engine drops and the peers connect() refuses.
TEST(Ipv4Addr, OnlyAddressesAUnicastHostCanHaveArePeers) {
  for (const auto a :
       {make_ipv4(10, 0, 0, 1), make_ipv4(1, 0, 0, 0), make_ipv4(126, 255, 255, 255),
        make_ipv4(128, 0, 0, 1), make_ipv4(192, 168, 1, 255), make_ipv4(223, 255, 255, 255)})
    EXPECT_TRUE(a.is_unicast_peer()) << a.to_string();
  for (const auto a : {Ipv4Addr{}, make_ipv4(0, 1, 2, 3), make_ipv4(127, 0, 0, 1),
                       make_ipv4(127, 9, 9, 9), make_ipv4(224, 0, 0, 1), make_ipv4(239, 1, 1, 1),
                       make_ipv4(240, 0, 0, 1), make_ipv4(255, 255, 255, 255)})
    EXPECT_FALSE(a.is_unicast_peer()) << a.to_string();
}

TEST(Ipv4Addr, OrdersNumerically) {
  static_assert(make_ipv4(10, 0, 0, 1) < make_ipv4(10, 0, 0, 2));
  static_assert(make_ipv4(9, 255, 255, 255) < make_ipv4(10, 0, 0, 0));
  static_assert(make_ipv4(1, 2, 3, 4) == Ipv4Addr{0x01020304});
  static_assert(make_ipv4(1, 2, 3, 4) != make_ipv4(4, 3, 2, 1));
}

TEST(Ipv4Prefix, ParsesAndKeepsHostBits) {
  auto p = Ipv4Prefix::parse("10.99.0.1/24");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->addr, make_ipv4(10, 99, 0, 1));  // the interface address, not the network
  EXPECT_EQ(p->length, 24);
  EXPECT_EQ(p->mask(), 0xffffff00u);
  EXPECT_EQ(p->network(), make_ipv4(10, 99, 0, 0));
  EXPECT_EQ(p->directed_broadcast(), make_ipv4(10, 99, 0, 255));
  EXPECT_EQ(p->to_string(), "10.99.0.1/24");
}

// RFC 4632 3.1: the prefix length counts the leading one bits of the mask, 0..32.
TEST(Ipv4Prefix, MaskAtEveryLength) {
  for (unsigned len = 0; len <= 32; ++len) {
    auto p = Ipv4Prefix::parse("192.168.1.77/" + std::to_string(len));
    ASSERT_TRUE(p.has_value()) << len;
    EXPECT_EQ(p->length, len);
    uint32_t expect = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
    EXPECT_EQ(p->mask(), expect) << len;
    EXPECT_EQ(p->network().value, 0xc0a8014du & expect) << len;
    EXPECT_EQ(p->directed_broadcast().value, 0xc0a8014du | ~expect) << len;
  }
}

TEST(Ipv4Prefix, Contains) {
  const auto p = *Ipv4Prefix::parse("10.99.0.1/24");
  EXPECT_TRUE(p.contains(make_ipv4(10, 99, 0, 0)));
  EXPECT_TRUE(p.contains(make_ipv4(10, 99, 0, 2)));
  EXPECT_TRUE(p.contains(make_ipv4(10, 99, 0, 255)));
  EXPECT_FALSE(p.contains(make_ipv4(10, 99, 1, 0)));
  EXPECT_FALSE(p.contains(make_ipv4(10, 98, 255, 255)));
  // /0 contains everything (the default route); /32 only the address itself.
  const auto any = *Ipv4Prefix::parse("0.0.0.0/0");
  EXPECT_EQ(any.mask(), 0u);
  EXPECT_TRUE(any.contains(make_ipv4(255, 255, 255, 255)));
  EXPECT_TRUE(any.contains(Ipv4Addr{}));
  const auto host = *Ipv4Prefix::parse("10.0.0.7/32");
  EXPECT_EQ(host.mask(), 0xffffffffu);
  EXPECT_TRUE(host.contains(make_ipv4(10, 0, 0, 7)));
  EXPECT_FALSE(host.contains(make_ipv4(10, 0, 0, 6)));
  EXPECT_EQ(host.network(), host.directed_broadcast());
  // An odd length: /23 spans two /24s.
  const auto p23 = *Ipv4Prefix::parse("172.16.3.9/23");
  EXPECT_TRUE(p23.contains(make_ipv4(172, 16, 2, 0)));
  EXPECT_TRUE(p23.contains(make_ipv4(172, 16, 3, 255)));
  EXPECT_FALSE(p23.contains(make_ipv4(172, 16, 4, 0)));
}

TEST(Ipv4Prefix, RejectsBadText) {
  for (const char* bad : {
           "",              //
           "1.2.3.4",       // the length is required
           "1.2.3.4/",      //
           "/24",           //
           "1.2.3.4/33",    // beyond 32
           "1.2.3.4/100",   //
           "1.2.3.4/1000",  //
           "1.2.3.4/-1",    // signs
           "1.2.3.4/+8",    //
           "1.2.3.4/08",    // leading zero, as for octets
           "1.2.3.4/00",    //
           "1.2.3.4/24/8",  // two slashes
           "1.2.3.4/ 24",   // spaces
           "1.2.3.4 /24",   //
           " 1.2.3.4/24",   //
           "1.2.3.4/24 ",   //
           "1.2.3/24",      // a bad address
           "256.2.3.4/8",   //
           "1.2.3.4/0x10",  // hex
           "1.2.3.4\\24",   // wrong separator
       }) {
    EXPECT_EQ(Ipv4Prefix::parse(bad), std::nullopt) << '"' << bad << '"';
  }
}

}  // namespace
}  // namespace pollux::net
