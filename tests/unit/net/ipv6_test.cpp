// IPv6 wire formats (issue 16): addresses and their text forms (RFC 4291, RFC 5952), the
// header and its extension-header chain (RFC 8200), the pseudo-header checksum (RFC 8200
// 8.1) and ICMPv6 with Neighbor Discovery (RFC 4443, RFC 4861), against frames Linux sent
// (linux_captures_v6.hpp) and hostile ones built here.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "linux_captures_v6.hpp"
#include "net/checksum.hpp"
#include "net/ethernet.hpp"
#include "net/icmpv6.hpp"
#include "net/ip_addr.hpp"
#include "net/ipv4.hpp"
#include "net/ipv6.hpp"
#include "net/ipv6_addr.hpp"
#include "net/tcp_header.hpp"

namespace pollux::net {
namespace {

Ipv6Addr A(const char* s) {
  auto a = Ipv6Addr::parse(s);
  EXPECT_TRUE(a) << s;
  return a.value_or(Ipv6Addr{});
}

template <size_t N>
Bytes ip_of(const uint8_t (&frame)[N]) {
  return Bytes(frame, N).subspan(kEthernetHeaderLen);
}

// --- addresses -------------------------------------------------------------------------------

TEST(Ipv6Addr, EveryRfc4291FormParsesToTheSameBits) {
  const Ipv6Addr full = A("2001:0db8:0000:0000:0008:0800:200c:417a");
  EXPECT_EQ(A("2001:DB8:0:0:8:800:200C:417A"), full);
  EXPECT_EQ(A("2001:db8::8:800:200c:417a"), full);
  EXPECT_EQ(A("::"), Ipv6Addr{});
  EXPECT_EQ(A("::1").bytes[15], 1);
  EXPECT_TRUE(A("::1").is_loopback());
  EXPECT_EQ(A("1::").bytes[1], 1);
  EXPECT_EQ(A("1:2:3:4:5:6:7::").group(6), 7);
  EXPECT_EQ(A("::2:3:4:5:6:7:8").group(0), 0);
  const Ipv6Addr mapped = A("::ffff:192.0.2.33");
  EXPECT_TRUE(mapped.is_v4_mapped());
  EXPECT_EQ(mapped.bytes[12], 192);
  EXPECT_EQ(mapped.bytes[15], 33);
  EXPECT_EQ(A("64:ff9b::192.0.2.33").bytes[12], 192);
}

// IpAddr keeps IPv4 as ::ffff:a.b.c.d (RFC 4291 2.5.5.2): is_v4() must accept exactly that
// prefix. Its run-time form compares words, its compile-time form bytes: both are held to
// every address that differs from the prefix in one bit.
TEST(IpAddr, IsV4AcceptsExactlyTheMappedPrefix) {
  static_assert(IpAddr{Ipv4Addr{0xc6120001u}}.is_v4());
  static_assert(!IpAddr{Ipv6Addr{}}.is_v4());
  static_assert(IpAddr{}.is_v4());  // the default, 0.0.0.0
  for (const uint32_t v : {0u, 0xc6120001u, 0xffffffffu}) {
    const IpAddr a{Ipv4Addr{v}};
    EXPECT_TRUE(a.is_v4()) << v;
    EXPECT_EQ(a.v4().value, v);
    for (size_t byte = 0; byte < 12; ++byte) {
      for (int bit = 0; bit < 8; ++bit) {
        IpAddr b = a;
        b.bytes[byte] = static_cast<uint8_t>(b.bytes[byte] ^ (1u << bit));
        EXPECT_FALSE(b.is_v4()) << "byte " << byte << " bit " << bit;
      }
    }
  }
  EXPECT_TRUE(IpAddr{A("::ffff:198.18.0.1")}.is_v4());
  EXPECT_FALSE(IpAddr{A("2001:db8::ffff:c612:1")}.is_v4());
  EXPECT_FALSE(IpAddr{A("::198.18.0.1")}.is_v4());  // IPv4-compatible (deprecated), not mapped
}

// The IPv4 constructor's run-time form (one byte swap) writes the bytes its compile-time
// form writes: network order after the mapped prefix, a.b.c.d as ::ffff:a.b.c.d.
TEST(IpAddr, TheIpv4ConstructorWritesNetworkOrderAtRunAndCompileTime) {
  constexpr IpAddr at_compile{make_ipv4(198, 18, 0, 1)};
  static_assert(at_compile.bytes[12] == 198 && at_compile.bytes[15] == 1);
  volatile uint32_t hidden = make_ipv4(198, 18, 0, 1).value;  // not a constant expression
  const IpAddr at_run{Ipv4Addr{hidden}};
  EXPECT_EQ(at_run, at_compile);
  EXPECT_EQ(at_run, IpAddr{A("::ffff:198.18.0.1")});
  for (uint32_t v = 1; v != 0; v <<= 1) {
    hidden = v | 0x01020304u;
    const IpAddr a{Ipv4Addr{hidden}};
    const uint32_t w = v | 0x01020304u;
    EXPECT_EQ(a.bytes[12], w >> 24) << w;
    EXPECT_EQ(a.bytes[13], (w >> 16) & 0xff) << w;
    EXPECT_EQ(a.bytes[14], (w >> 8) & 0xff) << w;
    EXPECT_EQ(a.bytes[15], w & 0xff) << w;
    EXPECT_EQ(a.v4().value, w);
    EXPECT_TRUE(a.is_v4());
  }
}

TEST(Ipv6Addr, MalformedTextIsRefused) {
  for (const char* bad : {"",
                          ":",
                          ":::",
                          "1:::2",
                          "1::2::3",
                          "1:2:3:4:5:6:7:8:9",
                          "1:2:3:4:5:6:7",
                          ":1:2:3:4:5:6:7",
                          "1:2:3:4:5:6:7:",
                          "12345::",
                          "g::",
                          "1:2:3:4:5:6:7:8::",
                          "::1.2.3",
                          "::1.2.3.256",
                          "::01.2.3.4",
                          "1.2.3.4",
                          "::1.2.3.4:5",
                          "fe80::1%eth0",
                          " ::1",
                          "::1 "})
    EXPECT_FALSE(Ipv6Addr::parse(bad)) << bad;
}

TEST(Ipv6Addr, TextIsTheRfc5952CanonicalForm) {
  EXPECT_EQ(A("2001:0DB8:0000:0000:0000:0000:0000:0001").to_string(), "2001:db8::1");  // 4.1, 4.3
  EXPECT_EQ(A("2001:db8:0:0:1:0:0:1").to_string(), "2001:db8::1:0:0:1");     // 4.2.3: the first run
  EXPECT_EQ(A("2001:0:0:1:0:0:0:1").to_string(), "2001:0:0:1::1");           // 4.2.3: the longest
  EXPECT_EQ(A("2001:db8:0:1:1:1:1:1").to_string(), "2001:db8:0:1:1:1:1:1");  // 4.2.2: one zero
  EXPECT_EQ(A("::").to_string(), "::");
  EXPECT_EQ(A("::1").to_string(), "::1");
  EXPECT_EQ(A("fe80::").to_string(), "fe80::");
  EXPECT_EQ(A("::ffff:c000:0221").to_string(), "::ffff:192.0.2.33");  // 5
  // Round trip of every shape of zero run.
  for (const char* s : {"1::", "::1:0:0:0:0:1", "1:0:1:0:1:0:1:0", "1:0:0:1:0:0:1:1"})
    EXPECT_EQ(A(A(s).to_string().c_str()), A(s)) << s;
}

TEST(Ipv6Addr, DerivedAddressesAreTheOnesLinuxUses) {
  // Linux's link-local address for 02:00:00:00:00:0b (kMldReportHopByHop's source).
  EXPECT_EQ(Ipv6Addr::link_local_from_mac({0x02, 0, 0, 0, 0, 0x0b}).to_string(), "fe80::ff:fe00:b");
  // fd00:99::2's solicited-node group, as kNeighbourSolicitation is sent to.
  EXPECT_EQ(A("fd00:99::2").solicited_node().to_string(), "ff02::1:ff00:2");
  EXPECT_EQ(A("ff02::1:ff00:2").multicast_mac(), (MacBytes{0x33, 0x33, 0xff, 0, 0, 2}));
  EXPECT_TRUE(A("fe80::1").is_link_local());
  EXPECT_FALSE(A("fd00::1").is_link_local());
}

// One predicate for the sources the engine drops and the peers connect() refuses; an
// IpAddr asks its own family's.
TEST(Ipv6Addr, OnlyAddressesAUnicastHostCanHaveArePeers) {
  for (const char* s : {"fd00:99::1", "2001:db8::1", "fe80::1", "::2:0:0:1", "::ffff:0:a00:1"})
    EXPECT_TRUE(A(s).is_unicast_peer()) << s;
  for (const char* s : {"::", "::1", "ff02::1", "ff05::2", "::ffff:10.0.0.1", "::10.0.0.1"})
    EXPECT_FALSE(A(s).is_unicast_peer()) << s;
  EXPECT_TRUE(IpAddr(A("fd00::1")).is_unicast_peer());
  EXPECT_FALSE(IpAddr(A("::1")).is_unicast_peer());
  EXPECT_TRUE(IpAddr(make_ipv4(10, 0, 0, 1)).is_unicast_peer());
  EXPECT_FALSE(IpAddr(make_ipv4(127, 0, 0, 1)).is_unicast_peer()) << "taken as IPv4";
  EXPECT_FALSE(IpAddr(make_ipv4(0, 0, 0, 0)).is_unicast_peer());
}

TEST(Ipv6Prefix, ParsesContainsAndRefuses) {
  auto p = Ipv6Prefix::parse("fd00:99::1/64");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->len, 64);
  EXPECT_TRUE(p->contains(A("fd00:99::ffff")));
  EXPECT_FALSE(p->contains(A("fd00:98::1")));
  auto odd = Ipv6Prefix::parse("2001:db8::/29");
  ASSERT_TRUE(odd);
  EXPECT_TRUE(odd->contains(A("2001:dbf::1")));
  EXPECT_FALSE(odd->contains(A("2001:dc0::1")));
  EXPECT_EQ(Ipv6Prefix::parse("::1")->len, 128);
  EXPECT_EQ(Ipv6Prefix::parse("::/0")->to_string(), "::/0");
  for (const char* bad : {"::1/129", "::1/", "::1/064", "::1/x", "zz/64"})
    EXPECT_FALSE(Ipv6Prefix::parse(bad)) << bad;
}

// --- the header and its chain ----------------------------------------------------------------

TEST(Ipv6Header, LinuxsEchoRequestParses) {
  Ipv6Header h;
  ASSERT_EQ(parse_ipv6(ip_of(captures6::kIcmp6EchoRequest), h), Ipv6Error::ok);
  EXPECT_EQ(h.src.to_string(), "fd00:99::1");
  EXPECT_EQ(h.dst.to_string(), "fd00:99::2");
  EXPECT_EQ(h.hop_limit, 64);
  EXPECT_EQ(h.next_header, kIpProtoIcmpv6);
  EXPECT_EQ(h.upper_protocol, kIpProtoIcmpv6);
  EXPECT_EQ(h.extension_headers, 0);
  EXPECT_EQ(h.payload_len, 24u);  // 8 bytes of echo header + ping -s 16
  EXPECT_EQ(h.upper.size(), 24u);
}

TEST(Ipv6Header, AHopByHopRouterAlertIsWalkedToTheMldReportBehindIt) {
  Ipv6Header h;
  ASSERT_EQ(parse_ipv6(ip_of(captures6::kMldReportHopByHop), h), Ipv6Error::ok);
  EXPECT_EQ(h.next_header, kIpv6HopByHop);
  EXPECT_EQ(h.extension_headers, 1);
  EXPECT_TRUE(h.router_alert);
  EXPECT_EQ(h.upper_protocol, kIpProtoIcmpv6);
  EXPECT_EQ(h.upper[0], 143);  // MLDv2 report (RFC 3810)
  EXPECT_EQ(h.upper.size(), h.payload_len - 8u);
  EXPECT_EQ(ipv6_l4_checksum(h.src, h.dst, kIpProtoIcmpv6, h.upper), 0);
}

TEST(Ipv6Header, TcpOverIpv6FromLinuxHasAValidPseudoHeaderChecksum) {
  for (Bytes ip : {ip_of(captures6::kTcp6Syn), ip_of(captures6::kTcp6Data)}) {
    Ipv6Header h;
    ASSERT_EQ(parse_ipv6(ip, h), Ipv6Error::ok);
    ASSERT_EQ(h.upper_protocol, kIpProtoTcp);
    EXPECT_EQ(ipv6_l4_checksum(h.src, h.dst, kIpProtoTcp, h.upper), 0);
    TcpHeader t;
    ASSERT_EQ(parse_tcp(h.upper, t), TcpHeaderError::ok);
    EXPECT_EQ(t.dst_port, 5000);
  }
  // The offload form is the folded sum without the L4 bytes: completing it by hand gives the
  // same field Linux wrote.
  Ipv6Header h;
  ASSERT_EQ(parse_ipv6(ip_of(captures6::kTcp6Data), h), Ipv6Error::ok);
  std::vector<uint8_t> seg(h.upper.begin(), h.upper.end());
  const uint16_t linux_field = load_be16(seg.data() + 16);
  store_be16(seg.data() + 16,
             ipv6_offload_pseudo_checksum(h.src, h.dst, kIpProtoTcp,
                                          static_cast<uint32_t>(seg.size()), false));
  EXPECT_EQ(static_cast<uint16_t>(~checksum_fold(checksum_accumulate(Bytes(seg)))), linux_field);
}

TEST(Ipv6Header, BuildThenParseRoundTrips) {
  uint8_t buf[kIpv6HeaderLen + 4] = {};
  Ipv6Build b;
  b.src = A("2001:db8::1");
  b.dst = A("2001:db8::2");
  b.next_header = kIpProtoTcp;
  b.payload_len = 4;
  b.hop_limit = 17;
  b.traffic_class = 0xb8;
  b.flow_label = 0xabcde;
  ASSERT_EQ(write_ipv6_header(buf, b), kIpv6HeaderLen);
  Ipv6Header h;
  ASSERT_EQ(parse_ipv6(Bytes(buf), h), Ipv6Error::ok);
  EXPECT_EQ(h.src, b.src);
  EXPECT_EQ(h.dst, b.dst);
  EXPECT_EQ(h.traffic_class, 0xb8);
  EXPECT_EQ(h.flow_label, 0xabcdeu);
  EXPECT_EQ(h.hop_limit, 17);
  EXPECT_EQ(h.upper.size(), 4u);
}

// A fixed header for `next` and `payload` bytes after it, for the hostile cases.
std::vector<uint8_t> packet(uint8_t next, std::vector<uint8_t> payload) {
  std::vector<uint8_t> p(kIpv6HeaderLen);
  Ipv6Build b;
  b.src = A("fd00::1");
  b.dst = A("fd00::2");
  b.next_header = next;
  b.payload_len = static_cast<uint16_t>(payload.size());
  write_ipv6_header(p.data(), b);
  p.insert(p.end(), payload.begin(), payload.end());
  return p;
}

Ipv6Error parse(const std::vector<uint8_t>& p) {
  Ipv6Header h;
  return parse_ipv6(Bytes(p), h);
}

TEST(Ipv6Header, HostileHeadersAreRefusedWithTheirReason) {
  auto ok = packet(kIpProtoTcp, std::vector<uint8_t>(20));
  EXPECT_EQ(parse(ok), Ipv6Error::ok);
  EXPECT_EQ(parse(std::vector<uint8_t>(ok.begin(), ok.begin() + 39)), Ipv6Error::truncated);
  auto v4 = ok;
  v4[0] = 0x45;
  EXPECT_EQ(parse(v4), Ipv6Error::bad_version);
  auto longer = ok;
  store_be16(longer.data() + 4, 21);  // claims one byte more than there is
  EXPECT_EQ(parse(longer), Ipv6Error::bad_payload_length);
  auto padded = ok;  // Ethernet padding after the payload is cut off, not an error
  padded.insert(padded.end(), 6, 0);
  Ipv6Header h;
  ASSERT_EQ(parse_ipv6(Bytes(padded), h), Ipv6Error::ok);
  EXPECT_EQ(h.upper.size(), 20u);
}

TEST(Ipv6Header, ExtensionChainsAreBoundedAndCheckedHeaderByHeader) {
  // Destination options, 8 bytes, PadN filling it: fine.
  EXPECT_EQ(parse(packet(kIpv6DestOptions, {kIpProtoTcp, 0, 1, 4, 0, 0, 0, 0})), Ipv6Error::ok);
  // Its length runs past the payload.
  EXPECT_EQ(parse(packet(kIpv6DestOptions, {kIpProtoTcp, 1, 1, 4, 0, 0, 0, 0})),
            Ipv6Error::bad_extension_header);
  // Shorter than the 8 bytes every extension header has.
  EXPECT_EQ(parse(packet(kIpv6DestOptions, {kIpProtoTcp, 0, 1})), Ipv6Error::bad_extension_header);
  // An option whose length runs past its header.
  EXPECT_EQ(parse(packet(kIpv6DestOptions, {kIpProtoTcp, 0, 1, 9, 0, 0, 0, 0})),
            Ipv6Error::bad_extension_header);
  // An unknown option: type 0x1e (top bits 00) is skipped, 0x5e (01: discard) is not.
  EXPECT_EQ(parse(packet(kIpv6DestOptions, {kIpProtoTcp, 0, 0x1e, 4, 0, 0, 0, 0})), Ipv6Error::ok);
  EXPECT_EQ(parse(packet(kIpv6DestOptions, {kIpProtoTcp, 0, 0x5e, 4, 0, 0, 0, 0})),
            Ipv6Error::unknown_option);
  EXPECT_EQ(parse(packet(kIpv6DestOptions, {kIpProtoTcp, 0, 0xde, 4, 0, 0, 0, 0})),
            Ipv6Error::unknown_option);
  // Hop-by-hop anywhere but first.
  EXPECT_EQ(parse(packet(kIpv6DestOptions,
                         {kIpv6HopByHop, 0, 1, 4, 0, 0, 0, 0, kIpProtoTcp, 0, 1, 4, 0, 0, 0, 0})),
            Ipv6Error::bad_extension_header);
  // Nine destination-options headers in a row: more than any real packet has.
  std::vector<uint8_t> chain;
  for (int i = 0; i < 9; ++i)
    chain.insert(chain.end(), {static_cast<uint8_t>(i < 8 ? kIpv6DestOptions : kIpProtoTcp), 0, 1,
                               4, 0, 0, 0, 0});
  EXPECT_EQ(parse(packet(kIpv6DestOptions, chain)), Ipv6Error::too_many_extensions);
  chain.resize(8 * 8);
  chain[7 * 8] = kIpProtoTcp;
  EXPECT_EQ(parse(packet(kIpv6DestOptions, chain)), Ipv6Error::ok);
  // No next header: nothing above.
  Ipv6Header h;
  auto none = packet(kIpv6DestOptions, {kIpv6NoNextHeader, 0, 1, 4, 0, 0, 0, 0});
  ASSERT_EQ(parse_ipv6(Bytes(none), h), Ipv6Error::ok);
  EXPECT_EQ(h.upper_protocol, kIpv6NoNextHeader);
  EXPECT_TRUE(h.upper.empty());
}

TEST(Ipv6Header, RoutingType0AndSourceRoutesThroughUsAreDropped) {
  // RFC 5095: type 0 is refused whatever its segments left.
  EXPECT_EQ(parse(packet(kIpv6Routing, {kIpProtoTcp, 0, 0, 0, 0, 0, 0, 0})),
            Ipv6Error::routing_type0);
  // Another type with segments left: we are asked to forward.
  EXPECT_EQ(parse(packet(kIpv6Routing, {kIpProtoTcp, 0, 4, 1, 0, 0, 0, 0})),
            Ipv6Error::bad_routing_header);
  // Segments left 0: we are the final destination; the header is skipped.
  EXPECT_EQ(parse(packet(kIpv6Routing, {kIpProtoTcp, 0, 4, 0, 0, 0, 0, 0})), Ipv6Error::ok);
}

TEST(Ipv6Header, FragmentsAreReportedForACountedDrop) {
  EXPECT_EQ(parse(packet(kIpv6Fragment, {kIpProtoTcp, 0, 0, 1, 0, 0, 0, 42})), Ipv6Error::fragment);
  EXPECT_EQ(parse(packet(kIpv6Fragment, {kIpProtoTcp, 0, 0})), Ipv6Error::bad_extension_header);
}

// --- ICMPv6 and Neighbor Discovery -----------------------------------------------------------

TEST(Icmpv6, LinuxsEchoRequestAndReplyParseWithValidChecksums) {
  for (Bytes ip : {ip_of(captures6::kIcmp6EchoRequest), ip_of(captures6::kIcmp6EchoReply)}) {
    Ipv6Header h;
    ASSERT_EQ(parse_ipv6(ip, h), Ipv6Error::ok);
    Icmpv6Message m;
    ASSERT_EQ(parse_icmpv6(h, m), Icmpv6Error::ok);
    EXPECT_EQ(m.id, 0x3e84);
    EXPECT_EQ(m.seq, 1);
    EXPECT_EQ(m.data.size(), 16u);
  }
  // Our own echo reply to Linux's request is byte for byte the reply Linux sent.
  Ipv6Header req;
  ASSERT_EQ(parse_ipv6(ip_of(captures6::kIcmp6EchoRequest), req), Ipv6Error::ok);
  std::vector<uint8_t> out(req.upper.size());
  write_icmpv6(out.data(), req.dst, req.src, kIcmpv6EchoReply, 0, req.upper.subspan(4));
  Ipv6Header rep;
  ASSERT_EQ(parse_ipv6(ip_of(captures6::kIcmp6EchoReply), rep), Ipv6Error::ok);
  EXPECT_EQ(std::vector<uint8_t>(rep.upper.begin(), rep.upper.end()), out);
}

TEST(Icmpv6, LinuxsSolicitationAndAdvertisementParse) {
  Ipv6Header h;
  ASSERT_EQ(parse_ipv6(ip_of(captures6::kNeighbourSolicitation), h), Ipv6Error::ok);
  EXPECT_EQ(h.dst.to_string(), "ff02::1:ff00:2");
  EXPECT_EQ(h.hop_limit, 255);
  Icmpv6Message ns;
  ASSERT_EQ(parse_icmpv6(h, ns), Icmpv6Error::ok);
  EXPECT_EQ(ns.type, kIcmpv6NeighbourSolicit);
  EXPECT_EQ(ns.target.to_string(), "fd00:99::2");
  EXPECT_EQ(ns.link_addr, (MacBytes{0x02, 0, 0, 0, 0, 0x0a}));

  Ipv6Header ha;
  ASSERT_EQ(parse_ipv6(ip_of(captures6::kNeighbourAdvertisement), ha), Ipv6Error::ok);
  Icmpv6Message na;
  ASSERT_EQ(parse_icmpv6(ha, na), Icmpv6Error::ok);
  EXPECT_EQ(na.type, kIcmpv6NeighbourAdvert);
  EXPECT_TRUE(na.solicited);
  EXPECT_TRUE(na.override_flag);
  EXPECT_FALSE(na.router);
  EXPECT_EQ(na.link_addr, (MacBytes{0x02, 0, 0, 0, 0, 0x0b}));
  // Our advertisement for the same target, flags and address is Linux's, byte for byte.
  uint8_t body[28], msg[32];
  write_na_body(body, na.target, MacBytes{0x02, 0, 0, 0, 0, 0x0b}, false, true, true);
  ASSERT_EQ(write_icmpv6(msg, ha.src, ha.dst, kIcmpv6NeighbourAdvert, 0, Bytes(body)), 32u);
  EXPECT_EQ(std::vector<uint8_t>(ha.upper.begin(), ha.upper.end()),
            std::vector<uint8_t>(msg, msg + 32));
  // And our solicitation is Linux's.
  write_ns_body(body, ns.target, MacBytes{0x02, 0, 0, 0, 0, 0x0a});
  ASSERT_EQ(write_icmpv6(msg, h.src, h.dst, kIcmpv6NeighbourSolicit, 0, Bytes(body)), 32u);
  EXPECT_EQ(std::vector<uint8_t>(h.upper.begin(), h.upper.end()),
            std::vector<uint8_t>(msg, msg + 32));
}

// A copy of Linux's NS with one change, its checksum made right again.
std::vector<uint8_t> ns_with(void (*change)(std::vector<uint8_t>& ip)) {
  Bytes orig = ip_of(captures6::kNeighbourSolicitation);
  std::vector<uint8_t> ip(orig.begin(), orig.end());
  change(ip);
  Ipv6Header h;
  EXPECT_EQ(parse_ipv6(Bytes(ip), h), Ipv6Error::ok);
  store_be16(ip.data() + kIpv6HeaderLen + 2, 0);
  const uint16_t c =
      ipv6_l4_checksum(h.src, h.dst, kIpProtoIcmpv6, Bytes(ip).subspan(kIpv6HeaderLen));
  store_be16(ip.data() + kIpv6HeaderLen + 2, c);
  return ip;
}

Icmpv6Error parse_icmp(const std::vector<uint8_t>& ip) {
  Ipv6Header h;
  if (parse_ipv6(Bytes(ip), h) != Ipv6Error::ok) return Icmpv6Error::truncated;
  Icmpv6Message m;
  return parse_icmpv6(h, m);
}

TEST(Icmpv6, NeighbourDiscoveryFailingRfc4861Section7IsRefused) {
  EXPECT_EQ(parse_icmp(ns_with([](std::vector<uint8_t>&) {})), Icmpv6Error::ok);
  // Forwarded by a router: hop limit below 255.
  EXPECT_EQ(parse_icmp(ns_with([](std::vector<uint8_t>& p) { p[7] = 254; })), Icmpv6Error::bad_nd);
  // A nonzero code.
  EXPECT_EQ(parse_icmp(ns_with([](std::vector<uint8_t>& p) { p[41] = 1; })), Icmpv6Error::bad_nd);
  // A multicast target.
  EXPECT_EQ(parse_icmp(ns_with([](std::vector<uint8_t>& p) { p[48] = 0xff; })),
            Icmpv6Error::bad_nd);
  // An option of length 0 (the walker would never advance).
  EXPECT_EQ(parse_icmp(ns_with([](std::vector<uint8_t>& p) { p[65] = 0; })),
            Icmpv6Error::bad_nd_option);
  // An option longer than the message.
  EXPECT_EQ(parse_icmp(ns_with([](std::vector<uint8_t>& p) { p[65] = 2; })),
            Icmpv6Error::bad_nd_option);
  // Duplicate address detection (from ::) must not carry a source link-layer address.
  EXPECT_EQ(parse_icmp(ns_with([](std::vector<uint8_t>& p) { std::memset(p.data() + 8, 0, 16); })),
            Icmpv6Error::bad_nd);
  // A flipped bit anywhere fails the checksum.
  Bytes orig = ip_of(captures6::kNeighbourSolicitation);
  std::vector<uint8_t> flipped(orig.begin(), orig.end());
  flipped[50] ^= 1;
  EXPECT_EQ(parse_icmp(flipped), Icmpv6Error::bad_checksum);
}

TEST(Icmpv6, PacketTooBigCarriesTheMtuAndTheInvokingPacket) {
  Ipv6Header h;
  h.src = A("2001:db8::fe");
  h.dst = A("2001:db8::2");
  uint8_t body[4 + 48] = {0, 0, 0x05, 0x00};  // MTU 1280, then the start of our packet
  uint8_t msg[sizeof body + 4];
  const size_t n = write_icmpv6(msg, h.src, h.dst, kIcmpv6PacketTooBig, 0, Bytes(body));
  h.upper = Bytes(msg, n);
  Icmpv6Message m;
  ASSERT_EQ(parse_icmpv6(h, m), Icmpv6Error::ok);
  EXPECT_EQ(m.mtu, kIpv6MinMtu);
  EXPECT_EQ(m.invoking.size(), 48u);
  h.upper = Bytes(msg, 6);
  EXPECT_EQ(parse_icmpv6(h, m, false), Icmpv6Error::truncated);
}

}  // namespace
}  // namespace pollux::net
