// Spec for net/icmp.hpp: ICMP for IPv4 (RFC 792), echo (RFC 792 "Echo or Echo Reply
// Message", RFC 1122 3.2.2.6) and destination unreachable / fragmentation needed with the
// next-hop MTU of RFC 1191 section 4.
#include "net/icmp.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <vector>

#include "linux_captures.hpp"
#include "net/checksum.hpp"
#include "net/ipv4.hpp"

namespace pollux::net {
namespace {

using namespace capture;

Bytes icmp_part(Bytes frame) {
  return frame.subspan(kL4);
}

TEST(IcmpParse, KernelEchoRequest) {
  IcmpMessage m;
  ASSERT_EQ(parse_icmp(icmp_part(kIcmpEchoRequest), m), IcmpError::ok);
  EXPECT_EQ(m.type, static_cast<uint8_t>(IcmpType::echo_request));
  EXPECT_EQ(m.code, 0);
  EXPECT_EQ(m.rest, 0x1cc80001u);  // identifier 0x1cc8, sequence number 1
  EXPECT_EQ(m.body.size(), 56u);
  EXPECT_EQ(m.body.data(), kIcmpEchoRequest + kL4 + 8);
  EXPECT_EQ(m.body[16], 0x10);  // ping's pattern after the timeval
}

TEST(IcmpParse, KernelEchoReply) {
  IcmpMessage m;
  ASSERT_EQ(parse_icmp(icmp_part(kIcmpEchoReply), m), IcmpError::ok);
  EXPECT_EQ(m.type, static_cast<uint8_t>(IcmpType::echo_reply));
  EXPECT_EQ(m.code, 0);
  // RFC 792: "The data received in the echo message must be returned in the echo reply",
  // and the identifier and sequence number too.
  EXPECT_EQ(m.rest, 0x1cc80001u);
  IcmpMessage req;
  ASSERT_EQ(parse_icmp(icmp_part(kIcmpEchoRequest), req), IcmpError::ok);
  EXPECT_TRUE(std::equal(m.body.begin(), m.body.end(), req.body.begin(), req.body.end()));
}

TEST(IcmpType, Values) {
  static_assert(static_cast<uint8_t>(IcmpType::echo_reply) == 0);
  static_assert(static_cast<uint8_t>(IcmpType::dest_unreachable) == 3);
  static_assert(static_cast<uint8_t>(IcmpType::echo_request) == 8);
  static_assert(static_cast<uint8_t>(IcmpType::time_exceeded) == 11);
  static_assert(kIcmpCodeFragNeeded == 4);
}

// Building over the kernel's body reproduces the kernel's 8-byte headers, checksum
// included (RFC 792: the checksum covers the whole ICMP message).
TEST(IcmpType, OnlyQueriesMayBeAnsweredWithAnError) {
  // RFC 1122 3.2.2: echo (0, 8) and the timestamp/information/address-mask pairs (13-18)
  // are queries; every error type and every unknown type is not.
  for (int t = 0; t < 256; ++t) {
    const bool query = t == 0 || t == 8 || (t >= 13 && t <= 18);
    EXPECT_EQ(net::is_icmp_query(static_cast<uint8_t>(t)), query) << "type " << t;
  }
}

TEST(IcmpBuild, MatchesKernelEcho) {
  for (Bytes frame : {Bytes(kIcmpEchoRequest), Bytes(kIcmpEchoReply)}) {
    std::vector<uint8_t> msg(frame.begin() + kL4, frame.end());
    const uint8_t type = msg[0];
    std::fill(msg.begin(), msg.begin() + 8, 0xee);  // the header is fully rewritten
    EXPECT_EQ(write_icmp_header(msg.data(), type, 0, 0x1cc80001, msg.size() - 8), 8u);
    EXPECT_TRUE(std::equal(msg.begin(), msg.end(), frame.begin() + kL4)) << int{type};
  }
}

// Answering an echo in place: type 8 -> 0 changes one 16-bit word (type, code); the RFC
// 1624 update of the request's checksum is exactly the kernel's reply checksum.
TEST(IcmpBuild, EchoReplyByIncrementalUpdate) {
  const uint16_t req_sum = load_be16(kIcmpEchoRequest + kL4 + 2);
  const uint16_t rep_sum = load_be16(kIcmpEchoReply + kL4 + 2);
  EXPECT_EQ(req_sum, 0x5699);
  EXPECT_EQ(checksum_update16(req_sum, 0x0800, 0x0000), rep_sum);
}

// Odd-length bodies: the checksum pads the last byte (RFC 1071 4.1) and still verifies.
TEST(IcmpBuild, RoundTripAllSmallBodyLengths) {
  for (size_t body = 0; body <= 41; ++body) {
    std::vector<uint8_t> msg(8 + body);
    for (size_t i = 0; i < body; ++i) msg[8 + i] = static_cast<uint8_t>(0xf0 + i);
    write_icmp_header(msg.data(), 8, 0, 0xabcd0000u | static_cast<uint32_t>(body), body);
    IcmpMessage m;
    ASSERT_EQ(parse_icmp(msg, m), IcmpError::ok) << body;
    EXPECT_EQ(m.type, 8);
    EXPECT_EQ(m.code, 0);
    EXPECT_EQ(m.rest, 0xabcd0000u | body);
    EXPECT_EQ(m.body.size(), body);
  }
}

// RFC 1191 section 4: "Fragmentation Needed" (type 3 code 4) carries the next-hop MTU in
// the low-order 16 bits of the second word; the high 16 bits stay unused (zero). The body
// is the offending IP header + 8 bytes (RFC 792).
TEST(IcmpBuild, FragmentationNeededCarriesNextHopMtu) {
  std::vector<uint8_t> msg(8 + 28);
  std::copy_n(kTcpSyn + kL3, 28, msg.begin() + 8);
  write_icmp_header(msg.data(), static_cast<uint8_t>(IcmpType::dest_unreachable),
                    kIcmpCodeFragNeeded, 1400, 28);
  EXPECT_EQ(msg[4], 0);
  EXPECT_EQ(msg[5], 0);
  EXPECT_EQ(load_be16(&msg[6]), 1400);
  IcmpMessage m;
  ASSERT_EQ(parse_icmp(msg, m), IcmpError::ok);
  EXPECT_EQ(m.type, 3);
  EXPECT_EQ(m.code, kIcmpCodeFragNeeded);
  EXPECT_EQ(icmp_next_hop_mtu(m), 1400);
  // The quoted header is available to find the connection.
  Ipv4Header quoted;
  EXPECT_EQ(parse_ipv4(m.body, quoted, true), Ipv4Error::bad_total_length);  // only 28 bytes
  EXPECT_EQ(load_be16(&m.body[20]), 54846);  // TCP source port of the quoted SYN
}

// An RFC 792-era router leaves the field zero: "MTU unknown" (RFC 1191 section 5).
TEST(IcmpBuild, OldRouterReportsZeroMtu) {
  std::array<uint8_t, 8> msg{};
  write_icmp_header(msg.data(), 3, kIcmpCodeFragNeeded, 0, 0);
  IcmpMessage m;
  ASSERT_EQ(parse_icmp(msg, m), IcmpError::ok);
  EXPECT_EQ(icmp_next_hop_mtu(m), 0);
}

TEST(IcmpParse, TruncatedAtEveryLengthBelow8) {
  for (size_t n = 0; n < kIcmpHeaderLen; ++n) {
    IcmpMessage m;
    EXPECT_EQ(parse_icmp(icmp_part(kIcmpEchoRequest).first(n), m), IcmpError::truncated) << n;
    EXPECT_EQ(parse_icmp(icmp_part(kIcmpEchoRequest).first(n), m, false), IcmpError::truncated);
  }
  // Exactly 8 bytes: a header with an empty body (checksum then covers only the header).
  std::array<uint8_t, 8> hdr{};
  write_icmp_header(hdr.data(), 8, 0, 0x00010002, 0);
  IcmpMessage m;
  ASSERT_EQ(parse_icmp(hdr, m), IcmpError::ok);
  EXPECT_TRUE(m.body.empty());
}

// RFC 1122 3.2.2: ICMP messages with a bad checksum are silently discarded. The checksum
// covers the body too: a flip anywhere, header or data, is caught.
TEST(IcmpParse, BadChecksumAnywhere) {
  const Bytes good = icmp_part(kIcmpEchoRequest);
  for (size_t i = 0; i < good.size(); ++i) {
    std::vector<uint8_t> msg(good.begin(), good.end());
    msg[i] ^= 0x01;
    IcmpMessage m;
    EXPECT_EQ(parse_icmp(msg, m), IcmpError::bad_checksum) << i;
    EXPECT_EQ(parse_icmp(msg, m, false), IcmpError::ok) << i;  // NIC already verified
  }
  // Ethernet padding left on the message would break the checksum: the IPv4 parser's
  // payload (Total Length) is what must be passed in.
  std::vector<uint8_t> padded(good.begin(), good.end());
  padded.push_back(0x01);
  IcmpMessage m;
  EXPECT_EQ(parse_icmp(padded, m), IcmpError::bad_checksum);
}

}  // namespace
}  // namespace pollux::net
