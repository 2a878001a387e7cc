// Spec for net/arp.hpp: ARP for IPv4 over Ethernet (RFC 826 "Packet format"):
//   ar$hrd (1 = Ethernet), ar$pro (0x0800), ar$hln (6), ar$pln (4), ar$op (1 request,
//   2 reply), ar$sha, ar$spa, ar$tha, ar$tpa.
#include "net/arp.hpp"

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

Bytes arp_body(Bytes frame) {
  return frame.subspan(kL3);
}

TEST(Arp, ParsesKernelRequest) {
  ArpPacket a;
  ASSERT_EQ(parse_arp(arp_body(kArpRequest), a), ArpError::ok);
  EXPECT_EQ(a.op, ArpOp::request);
  EXPECT_EQ(a.sender_mac, kA);
  EXPECT_EQ(a.sender_ip, kIpA);
  // RFC 826 leaves ar$tha of a request unspecified; iputils arping sends ff:ff:ff:ff:ff:ff.
  EXPECT_EQ(a.target_mac, MacAddr::broadcast());
  EXPECT_EQ(a.target_ip, kIpB);
}

TEST(Arp, ParsesKernelReply) {
  ArpPacket a;
  ASSERT_EQ(parse_arp(arp_body(kArpReply), a), ArpError::ok);
  EXPECT_EQ(a.op, ArpOp::reply);
  EXPECT_EQ(a.sender_mac, kB);
  EXPECT_EQ(a.sender_ip, kIpB);
  EXPECT_EQ(a.target_mac, kA);
  EXPECT_EQ(a.target_ip, kIpA);
}

// The builder reproduces the kernel's ARP bodies, and with the Ethernet header the whole
// 42-byte frames.
TEST(Arp, BuildMatchesKernelFrames) {
  std::array<uint8_t, 42> f{};
  size_t n = write_ethernet_header(f.data(), MacAddr::broadcast(), kA, EtherType::arp);
  n += write_arp(f.data() + n, {ArpOp::request, kA, kIpA, MacAddr::broadcast(), kIpB});
  EXPECT_EQ(n, sizeof kArpRequest);
  EXPECT_TRUE(std::equal(f.begin(), f.end(), kArpRequest));

  n = write_ethernet_header(f.data(), kA, kB, EtherType::arp);
  EXPECT_EQ(write_arp(f.data() + n, {ArpOp::reply, kB, kIpB, kA, kIpA}), kArpLen);
  EXPECT_TRUE(std::equal(f.begin(), f.end(), kArpReply));
}

TEST(Arp, RoundTrip) {
  const ArpPacket in{ArpOp::reply, MacAddr{{0xfe, 1, 2, 3, 4, 5}}, make_ipv4(192, 0, 2, 1),
                     MacAddr{{0x00, 0xaa, 0xbb, 0xcc, 0xdd, 0xee}}, make_ipv4(198, 51, 100, 7)};
  std::array<uint8_t, kArpLen> buf{};
  ASSERT_EQ(write_arp(buf.data(), in), kArpLen);
  ArpPacket out;
  ASSERT_EQ(parse_arp(buf, out), ArpError::ok);
  EXPECT_EQ(out.op, in.op);
  EXPECT_EQ(out.sender_mac, in.sender_mac);
  EXPECT_EQ(out.sender_ip, in.sender_ip);
  EXPECT_EQ(out.target_mac, in.target_mac);
  EXPECT_EQ(out.target_ip, in.target_ip);
}

TEST(Arp, TruncatedAtEveryLength) {
  static_assert(kArpLen == 28);
  ArpPacket a;
  for (size_t n = 0; n < kArpLen; ++n)
    EXPECT_EQ(parse_arp(arp_body(kArpRequest).first(n), a), ArpError::truncated) << n;
}

// On a real wire the 42-byte frame is padded to 60: the 18 trailing bytes are not ARP.
TEST(Arp, EthernetPaddingIgnored) {
  std::vector<uint8_t> f(std::begin(kArpReply), std::end(kArpReply));
  f.resize(kEthernetMinFrame, 0xa5);
  ArpPacket a;
  ASSERT_EQ(parse_arp(Bytes(f).subspan(kL3), a), ArpError::ok);
  EXPECT_EQ(a.target_ip, kIpA);
}

// Anything but Ethernet/IPv4 with 6/4-byte addresses is not ours (RFC 826: "if the pair
// <protocol type, sender protocol address> is not understood, discard").
TEST(Arp, RejectsOtherFormats) {
  struct Mutation {
    size_t offset;
    uint8_t value;
    const char* what;
  };
  for (const Mutation& m : {
           Mutation{0, 0x01, "htype 0x0101"},
           Mutation{1, 0x06, "htype 6 (IEEE 802)"},
           Mutation{1, 0x00, "htype 0"},
           Mutation{2, 0x86, "ptype 0x8600"},
           Mutation{3, 0x06, "ptype 0x0806"},
           Mutation{4, 0x08, "hlen 8"},
           Mutation{4, 0x00, "hlen 0"},
           Mutation{5, 0x10, "plen 16 (IPv6)"},
           Mutation{5, 0x06, "plen 6"},
       }) {
    std::vector<uint8_t> body(std::begin(kArpRequest) + kL3, std::end(kArpRequest));
    body[m.offset] = m.value;
    ArpPacket a;
    EXPECT_EQ(parse_arp(body, a), ArpError::bad_format) << m.what;
  }
}

// Only request (1) and reply (2); RARP (3, 4; RFC 903), InARP (8, 9; RFC 2390) and a
// byte-swapped 1 (0x0100) are refused.
TEST(Arp, RejectsOtherOperations) {
  for (uint16_t op : {0, 3, 4, 8, 9, 0x0100, 0x0200, 0xffff}) {
    std::vector<uint8_t> body(std::begin(kArpRequest) + kL3, std::end(kArpRequest));
    store_be16(&body[6], op);
    ArpPacket a;
    EXPECT_EQ(parse_arp(body, a), ArpError::bad_operation) << op;
  }
}

// Checks run in order: length, then format, then operation.
TEST(Arp, ErrorPrecedence) {
  std::vector<uint8_t> body(std::begin(kArpRequest) + kL3, std::end(kArpRequest));
  store_be16(&body[0], 6);
  store_be16(&body[6], 7);
  ArpPacket a;
  EXPECT_EQ(parse_arp(body, a), ArpError::bad_format);
  EXPECT_EQ(parse_arp(Bytes(body).first(27), a), ArpError::truncated);
}

}  // namespace
}  // namespace pollux::net
