// Spec for engine/ipv4_addrs.hpp: the engine's IPv4 address table answers exactly as
// InterfaceConfig's definitions do (owns, on_link, and RFC 1122 3.2.1.3's martian sources,
// is_bad_source, with our own addresses apart as LAND), for every class of source and for
// random addresses, on ports with one address, several on one subnet, several subnets, and
// /31, /32 and /0 prefixes.
#include "engine/ipv4_addrs.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace pollux::engine {
namespace {

using Source = LocalAddrs4::Source;
using net::make_ipv4;

InterfaceConfig iface_with(std::vector<net::Ipv4Prefix> addrs) {
  InterfaceConfig c;
  c.addrs = std::move(addrs);
  return c;
}

// What the engine did before the table: is_bad_source, then owns.
Source by_definition(const InterfaceConfig& c, net::Ipv4Addr a) {
  if (c.is_bad_source(a)) return Source::martian;
  return c.owns(a) ? Source::ours : Source::peer;
}

// Every class of address a datagram's source or destination can be, for this port: its
// addresses, their neighbours, its subnets' networks and broadcasts, and each martian class.
std::vector<net::Ipv4Addr> interesting(const InterfaceConfig& c) {
  std::vector<net::Ipv4Addr> v = {
      net::Ipv4Addr{0},          make_ipv4(0, 1, 2, 3),         make_ipv4(127, 0, 0, 1),
      make_ipv4(224, 0, 0, 9),   make_ipv4(239, 255, 255, 255), make_ipv4(240, 0, 0, 7),
      net::Ipv4Addr{0xffffffff}, make_ipv4(8, 8, 8, 8),         make_ipv4(223, 255, 255, 254)};
  for (const auto& p : c.addrs) {
    for (int d = -2; d <= 2; ++d)
      v.push_back(net::Ipv4Addr{p.addr.value + static_cast<uint32_t>(d)});
    v.push_back(p.network());
    v.push_back(p.directed_broadcast());
    v.push_back(net::Ipv4Addr{p.directed_broadcast().value + 1});
  }
  return v;
}

void expect_as_defined(const std::vector<net::Ipv4Prefix>& addrs, uint32_t seed) {
  const InterfaceConfig c = iface_with(addrs);
  const LocalAddrs4 t(c);
  std::vector<net::Ipv4Addr> probe = interesting(c);
  std::mt19937 rng(seed);
  for (int i = 0; i < 20000; ++i) probe.push_back(net::Ipv4Addr{static_cast<uint32_t>(rng())});
  // Random addresses in our subnets too: a random draw rarely lands in a /24.
  for (const auto& p : c.addrs)
    for (int i = 0; i < 2000; ++i)
      probe.push_back(
          net::Ipv4Addr{p.network().value | (static_cast<uint32_t>(rng()) & ~p.mask())});
  for (net::Ipv4Addr a : probe) {
    ASSERT_EQ(t.classify_source(a), by_definition(c, a))
        << a.to_string() << " (seed " << seed << ")";
    ASSERT_EQ(t.owns(a), c.owns(a)) << a.to_string() << " (seed " << seed << ")";
    ASSERT_EQ(t.on_link(a), c.on_link(a)) << a.to_string() << " (seed " << seed << ")";
  }
}

net::Ipv4Prefix pfx(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t len) {
  return net::Ipv4Prefix{make_ipv4(a, b, c, d), len};
}

TEST(LocalAddrs4, EveryMartianClassIsMartianAndOurAddressesAreOurs) {
  const LocalAddrs4 t(iface_with({pfx(10, 0, 0, 2, 24)}));
  for (net::Ipv4Addr a :
       {net::Ipv4Addr{0}, make_ipv4(0, 1, 2, 3), make_ipv4(127, 0, 0, 1), make_ipv4(224, 0, 0, 9),
        make_ipv4(240, 0, 0, 7), net::Ipv4Addr{0xffffffff}, make_ipv4(10, 0, 0, 255)})
    EXPECT_EQ(t.classify_source(a), Source::martian) << a.to_string();
  EXPECT_EQ(t.classify_source(make_ipv4(10, 0, 0, 2)), Source::ours);
  EXPECT_EQ(t.classify_source(make_ipv4(10, 0, 0, 1)), Source::peer);
  EXPECT_EQ(t.classify_source(make_ipv4(10, 0, 0, 0)), Source::peer) << "the network is a host";
  EXPECT_EQ(t.classify_source(make_ipv4(192, 0, 2, 1)), Source::peer);
}

TEST(LocalAddrs4, OneAddressAnswersAsTheInterfaceDefinitions) {
  expect_as_defined({pfx(10, 0, 0, 2, 24)}, 1);
}

TEST(LocalAddrs4, SeveralAddressesOnOneSubnetAnswerAsTheInterfaceDefinitions) {
  // pollux-gen's sources: 198.18.0.2/24 (+3).
  expect_as_defined({pfx(198, 18, 0, 2, 24), pfx(198, 18, 0, 3, 24), pfx(198, 18, 0, 4, 24),
                     pfx(198, 18, 0, 5, 24)},
                    2);
}

TEST(LocalAddrs4, SeveralSubnetsAndOddPrefixesAnswerAsTheInterfaceDefinitions) {
  // A /31 (RFC 3021) and a /32 have no broadcast; a /0 puts everything on link; an address
  // configured twice and one that is another subnet's broadcast.
  expect_as_defined({pfx(10, 0, 0, 2, 24), pfx(172, 16, 5, 1, 16), pfx(192, 0, 2, 0, 31),
                     pfx(203, 0, 113, 7, 32), pfx(10, 0, 0, 2, 24), pfx(172, 16, 255, 255, 20)},
                    3);
  expect_as_defined({pfx(100, 64, 0, 1, 0)}, 4);
}

TEST(LocalAddrs4, NoAddressesOwnNothingAndOnlyMartiansAreRefused) {
  expect_as_defined({}, 5);
}

}  // namespace
}  // namespace pollux::engine
