// Spec for net/ipv4.hpp: the IPv4 header (RFC 791 3.1 "Internet Header Format"), with the
// receive checks of RFC 1122 3.2.1.1 (version), 3.2.1.2 (header checksum) and the length
// sanity every stack applies (IHL >= 5, IHL and Total Length inside the buffer; Ethernet
// padding after Total Length is not payload).
#include "net/ipv4.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <random>
#include <vector>

#include "linux_captures.hpp"
#include "net/checksum.hpp"
#include "net/ethernet.hpp"

namespace pollux::net {
namespace {

using namespace capture;

std::vector<uint8_t> ip_part(Bytes frame) {
  return {frame.begin() + kL3, frame.end()};
}

// Recomputes the header checksum after a test mutated the header.
void refresh_checksum(std::vector<uint8_t>& p) {
  size_t ihl = size_t{p[0] & 0x0fu} * 4;
  store_be16(&p[10], 0);
  store_be16(&p[10], internet_checksum(Bytes(p).first(std::min(ihl, p.size()))));
}

// ping's echo request: every field of RFC 791 3.1.
TEST(Ipv4Parse, KernelEchoRequest) {
  Ipv4Header h;
  ASSERT_EQ(parse_ipv4(Bytes(kIcmpEchoRequest).subspan(kL3), h), Ipv4Error::ok);
  EXPECT_EQ(h.header_len, 20);
  EXPECT_EQ(h.tos, 0);
  EXPECT_EQ(h.total_len, 84);
  EXPECT_EQ(h.id, 0xb70f);
  EXPECT_TRUE(h.dont_fragment);
  EXPECT_FALSE(h.more_fragments);
  EXPECT_EQ(h.fragment_offset, 0);
  EXPECT_FALSE(h.is_fragment());
  EXPECT_EQ(h.ttl, 64);
  EXPECT_EQ(h.protocol, kIpProtoIcmp);
  EXPECT_EQ(h.src, kIpA);
  EXPECT_EQ(h.dst, kIpB);
  EXPECT_TRUE(h.options.empty());
  EXPECT_EQ(h.payload.size(), 64u);
  EXPECT_EQ(h.payload.data(), kIcmpEchoRequest + kL4);
}

// The kernel's echo reply is sent without DF.
TEST(Ipv4Parse, KernelEchoReply) {
  Ipv4Header h;
  ASSERT_EQ(parse_ipv4(Bytes(kIcmpEchoReply).subspan(kL3), h), Ipv4Error::ok);
  EXPECT_EQ(h.id, 0x13ba);
  EXPECT_FALSE(h.dont_fragment);
  EXPECT_FALSE(h.is_fragment());
  EXPECT_EQ(h.src, kIpB);
  EXPECT_EQ(h.dst, kIpA);
  EXPECT_EQ(h.payload.size(), 64u);
}

TEST(Ipv4Parse, KernelTcpFrames) {
  struct Case {
    Bytes frame;
    uint16_t id;
    uint16_t total;
    Ipv4Addr src, dst;
  };
  for (const Case& c : {
           Case{kTcpSyn, 0xe9ea, 60, kIpA, kIpB},
           Case{kTcpSynAck, 0x0000, 60, kIpB, kIpA},
           Case{kTcpData, 0xe9ec, 57, kIpA, kIpB},
           Case{kTcpFin, 0xe9ee, 52, kIpA, kIpB},
           Case{kTcpSackAck, 0xf170, 64, kIpB, kIpScapy},
           Case{kTcpRst, 0x0001, 40, kIpScapy, kIpB},
           Case{kTcpSynNoTs, 0x64c1, 52, kIpA, kIpB},
       }) {
    Ipv4Header h;
    ASSERT_EQ(parse_ipv4(c.frame.subspan(kL3), h), Ipv4Error::ok) << c.id;
    EXPECT_EQ(h.id, c.id);
    EXPECT_EQ(h.total_len, c.total);
    EXPECT_EQ(h.protocol, kIpProtoTcp);
    EXPECT_TRUE(h.dont_fragment);
    EXPECT_EQ(h.ttl, 64);
    EXPECT_EQ(h.src, c.src);
    EXPECT_EQ(h.dst, c.dst);
    EXPECT_EQ(h.payload.size(), c.total - 20u);
    EXPECT_EQ(h.payload.data(), c.frame.data() + kL4);
  }
}

// write_ipv4_header given the kernel's field values reproduces the kernel's 20 bytes,
// checksum included (RFC 791 3.1 "Header Checksum").
TEST(Ipv4Build, MatchesKernelHeaders) {
  struct Case {
    const char* name;
    Bytes frame;
    Ipv4Build b;
  };
  const Case cases[] = {
      {"echo request", kIcmpEchoRequest, {kIpA, kIpB, kIpProtoIcmp, 64, 0xb70f, 64, 0, true}},
      {"echo reply", kIcmpEchoReply, {kIpB, kIpA, kIpProtoIcmp, 64, 0x13ba, 64, 0, false}},
      {"syn", kTcpSyn, {kIpA, kIpB, kIpProtoTcp, 40, 0xe9ea}},
      {"syn-ack", kTcpSynAck, {kIpB, kIpA, kIpProtoTcp, 40, 0x0000}},
      {"data", kTcpData, {kIpA, kIpB, kIpProtoTcp, 37, 0xe9ec}},
      {"fin", kTcpFin, {kIpA, kIpB, kIpProtoTcp, 32, 0xe9ee}},
      {"sack ack", kTcpSackAck, {kIpB, kIpScapy, kIpProtoTcp, 44, 0xf170}},
      {"rst", kTcpRst, {kIpScapy, kIpB, kIpProtoTcp, 20, 0x0001}},
      {"syn no ts", kTcpSynNoTs, {kIpA, kIpB, kIpProtoTcp, 32, 0x64c1}},
  };
  for (const Case& c : cases) {
    std::array<uint8_t, 20> out{};
    EXPECT_EQ(write_ipv4_header(out.data(), c.b), 20u);
    EXPECT_TRUE(std::equal(out.begin(), out.end(), c.frame.begin() + kL3)) << c.name;
  }
}

// With fill_checksum false (the NIC computes it) the field is left zero; computing it
// afterwards gives the kernel's value.
TEST(Ipv4Build, OffloadLeavesChecksumZero) {
  Ipv4Build b{kIpA, kIpB, kIpProtoTcp, 40, 0xe9ea};
  b.fill_checksum = false;
  std::array<uint8_t, 20> out{};
  out.fill(0xee);
  write_ipv4_header(out.data(), b);
  EXPECT_EQ(load_be16(&out[10]), 0);
  EXPECT_EQ(internet_checksum(out), 0x3c09);  // kTcpSyn's header checksum
}

TEST(Ipv4Build, Defaults) {
  const Ipv4Build b;
  EXPECT_EQ(b.ttl, 64);
  EXPECT_TRUE(b.dont_fragment);  // RFC 1191 PMTUD
  EXPECT_TRUE(b.fill_checksum);
}

// parse(build(x)) == x over random field values.
TEST(Ipv4Build, RoundTrip) {
  std::mt19937 rng(791);
  for (int i = 0; i < 500; ++i) {
    Ipv4Build b;
    b.src = Ipv4Addr{static_cast<uint32_t>(rng())};
    b.dst = Ipv4Addr{static_cast<uint32_t>(rng())};
    b.protocol = static_cast<uint8_t>(rng());
    b.payload_len = static_cast<uint16_t>(rng() % 1481);
    b.id = static_cast<uint16_t>(rng());
    b.ttl = static_cast<uint8_t>(rng());
    b.tos = static_cast<uint8_t>(rng());
    b.dont_fragment = rng() % 2;
    std::vector<uint8_t> pkt(20 + b.payload_len, 0x5a);
    ASSERT_EQ(write_ipv4_header(pkt.data(), b), 20u);
    Ipv4Header h;
    ASSERT_EQ(parse_ipv4(pkt, h), Ipv4Error::ok);
    EXPECT_EQ(h.src, b.src);
    EXPECT_EQ(h.dst, b.dst);
    EXPECT_EQ(h.protocol, b.protocol);
    EXPECT_EQ(h.total_len, 20 + b.payload_len);
    EXPECT_EQ(h.payload.size(), b.payload_len);
    EXPECT_EQ(h.id, b.id);
    EXPECT_EQ(h.ttl, b.ttl);
    EXPECT_EQ(h.tos, b.tos);
    EXPECT_EQ(h.dont_fragment, b.dont_fragment);
    EXPECT_FALSE(h.is_fragment());
    EXPECT_EQ(h.header_len, 20);
    EXPECT_TRUE(h.options.empty());
  }
}

TEST(Ipv4Parse, TruncatedAtEveryLengthBelow20) {
  const Bytes ip = Bytes(kTcpSyn).subspan(kL3);
  for (size_t n = 0; n < kIpv4MinHeaderLen; ++n) {
    Ipv4Header h;
    EXPECT_EQ(parse_ipv4(ip.first(n), h), Ipv4Error::truncated) << n;
  }
}

// RFC 1122 3.2.1.1: a datagram whose version number is not 4 MUST be silently discarded.
TEST(Ipv4Parse, BadVersion) {
  for (uint8_t version : {0, 1, 5, 6, 15}) {
    auto p = ip_part(kTcpSyn);
    p[0] = static_cast<uint8_t>(version << 4 | 5);
    refresh_checksum(p);
    Ipv4Header h;
    EXPECT_EQ(parse_ipv4(p, h), Ipv4Error::bad_version) << int{version};
  }
}

// RFC 791 3.1: "the minimum value for a correct header is 5" (32-bit words).
TEST(Ipv4Parse, IhlBelowFive) {
  for (uint8_t ihl = 0; ihl < 5; ++ihl) {
    auto p = ip_part(kTcpSyn);
    p[0] = static_cast<uint8_t>(0x40 | ihl);
    Ipv4Header h;
    EXPECT_EQ(parse_ipv4(p, h), Ipv4Error::bad_header_length) << int{ihl};
  }
}

// IHL pointing past the end of what arrived.
TEST(Ipv4Parse, IhlBeyondBuffer) {
  auto p = ip_part(kTcpRst);  // 40 bytes
  p[0] = 0x4f;                // 60-byte header
  Ipv4Header h;
  EXPECT_EQ(parse_ipv4(p, h), Ipv4Error::bad_header_length);
  p.resize(23);  // IHL 6 needs 24 bytes
  p[0] = 0x46;
  EXPECT_EQ(parse_ipv4(p, h), Ipv4Error::bad_header_length);
}

// Total Length shorter than the header itself.
TEST(Ipv4Parse, TotalLengthBelowIhl) {
  for (uint16_t total : {0, 1, 19}) {
    auto p = ip_part(kTcpSyn);
    store_be16(&p[2], total);
    refresh_checksum(p);
    Ipv4Header h;
    EXPECT_EQ(parse_ipv4(p, h), Ipv4Error::bad_total_length) << total;
  }
  // ... including an options header: IHL 6 (24 bytes) with Total Length 22.
  std::vector<uint8_t> p = {0x46, 0, 0, 22, 0,  0, 0x40, 0, 64, 6, 0, 0,
                            10,   0, 0, 1,  10, 0, 0,    2, 1,  1, 1, 0};
  refresh_checksum(p);
  Ipv4Header h;
  EXPECT_EQ(parse_ipv4(p, h), Ipv4Error::bad_total_length);
}

// Total Length claiming more than arrived (a truncated datagram).
TEST(Ipv4Parse, TotalLengthBeyondBuffer) {
  auto p = ip_part(kTcpSyn);  // 60 bytes, total 60
  Ipv4Header h;
  for (size_t cut = 1; cut <= 40; ++cut) {
    EXPECT_EQ(parse_ipv4(Bytes(p).first(p.size() - cut), h), Ipv4Error::bad_total_length) << cut;
  }
  store_be16(&p[2], 61);
  refresh_checksum(p);
  EXPECT_EQ(parse_ipv4(p, h), Ipv4Error::bad_total_length);
  store_be16(&p[2], 0xffff);
  refresh_checksum(p);
  EXPECT_EQ(parse_ipv4(p, h), Ipv4Error::bad_total_length);
}

// Header-only datagram: Total Length == IHL*4 is legal, the payload is empty.
TEST(Ipv4Parse, HeaderOnly) {
  std::array<uint8_t, 20> p{};
  write_ipv4_header(p.data(), {kIpA, kIpB, 253, 0, 7});
  Ipv4Header h;
  ASSERT_EQ(parse_ipv4(p, h), Ipv4Error::ok);
  EXPECT_EQ(h.total_len, 20);
  EXPECT_TRUE(h.payload.empty());
}

// A 54-byte frame (the RST) is padded to the 60-byte Ethernet minimum on a real wire; the
// 6 padding bytes follow Total Length and must not reach TCP, whose checksum would fail.
TEST(Ipv4Parse, EthernetPaddingIsCutFromPayload) {
  std::vector<uint8_t> frame(std::begin(kTcpRst), std::end(kTcpRst));
  frame.resize(kEthernetMinFrame, 0xa5);
  Ipv4Header h;
  ASSERT_EQ(parse_ipv4(Bytes(frame).subspan(kL3), h), Ipv4Error::ok);
  EXPECT_EQ(h.total_len, 40);
  EXPECT_EQ(h.payload.size(), 20u);
  EXPECT_EQ(ipv4_l4_checksum(h.src, h.dst, h.protocol, h.payload), 0);
}

// RFC 1122 3.2.1.2: a datagram with a bad header checksum MUST be silently discarded.
// Every single-bit flip in the header is caught.
TEST(Ipv4Parse, BadChecksum) {
  for (size_t bit = 0; bit < 160; ++bit) {
    auto p = ip_part(kIcmpEchoRequest);
    p[bit / 8] ^= static_cast<uint8_t>(0x80 >> (bit % 8));
    Ipv4Header h;
    Ipv4Error e = parse_ipv4(p, h);
    // Flips in version/IHL/length are caught by the earlier checks; all others by the sum.
    EXPECT_NE(e, Ipv4Error::ok) << "bit " << bit;
    if (bit >= 32) {
      EXPECT_EQ(e, Ipv4Error::bad_checksum) << "bit " << bit;
    }
  }
}

// With verify_checksum false (the NIC flagged RX_L4/IP_CKSUM_GOOD) the field is ignored.
TEST(Ipv4Parse, ChecksumVerificationCanBeSkipped) {
  auto p = ip_part(kTcpSyn);
  p[10] ^= 0xff;
  Ipv4Header h;
  EXPECT_EQ(parse_ipv4(p, h, true), Ipv4Error::bad_checksum);
  EXPECT_EQ(parse_ipv4(p, h, false), Ipv4Error::ok);
  EXPECT_EQ(h.id, 0xe9ea);
}

// Options (RFC 791 3.1): IHL > 5, the option bytes are exposed raw and the payload starts
// after them. Here a Router Alert option (RFC 2113: 0x94 0x04 0x00 0x00).
TEST(Ipv4Parse, OptionsExposedRaw) {
  std::vector<uint8_t> p(24 + 8, 0);
  p[0] = 0x46;
  store_be16(&p[2], static_cast<uint16_t>(p.size()));
  p[8] = 1;
  p[9] = 17;
  store_be32(&p[12], kIpA.value);
  store_be32(&p[16], kIpB.value);
  p[20] = 0x94;
  p[21] = 0x04;
  p[24] = 0xca;
  refresh_checksum(p);
  Ipv4Header h;
  ASSERT_EQ(parse_ipv4(p, h), Ipv4Error::ok);
  EXPECT_EQ(h.header_len, 24);
  ASSERT_EQ(h.options.size(), 4u);
  EXPECT_EQ(h.options[0], 0x94);
  EXPECT_EQ(h.options[1], 0x04);
  EXPECT_EQ(h.payload.size(), 8u);
  EXPECT_EQ(h.payload[0], 0xca);
  // The checksum covers the options too.
  p[22] = 1;
  EXPECT_EQ(parse_ipv4(p, h), Ipv4Error::bad_checksum);
}

// The maximum header: IHL 15 = 60 bytes, 40 bytes of options (NOPs, type 1).
TEST(Ipv4Parse, MaximumHeaderLength) {
  std::vector<uint8_t> p(60, 1);
  p[0] = 0x4f;
  p[1] = 0;
  store_be16(&p[2], 60);
  store_be16(&p[6], 0);
  refresh_checksum(p);
  Ipv4Header h;
  ASSERT_EQ(parse_ipv4(p, h), Ipv4Error::ok);
  EXPECT_EQ(h.header_len, 60);
  EXPECT_EQ(h.options.size(), 40u);
  EXPECT_TRUE(h.payload.empty());
}

// RFC 791 3.1 Flags and Fragment Offset: bit 0 reserved, bit 1 DF, bit 2 MF, 13 bits of
// offset in 8-byte units. Fragments are reported (pollux does not reassemble; they are
// counted and dropped by the caller). The reserved bit is ignored.
TEST(Ipv4Parse, FragmentFields) {
  struct Case {
    uint16_t field;
    bool df, mf;
    uint16_t offset;
    bool fragment;
  };
  for (const Case& c : {
           Case{0x0000, false, false, 0, false}, Case{0x4000, true, false, 0, false},
           Case{0x2000, false, true, 0, true},        // first fragment
           Case{0x20b9, false, true, 185, true},      // middle fragment, offset 1480 bytes
           Case{0x00b9, false, false, 185, true},     // last fragment
           Case{0x1fff, false, false, 0x1fff, true},  // maximum offset
           Case{0x8000, false, false, 0, false},      // reserved bit alone
       }) {
    auto p = ip_part(kTcpSyn);
    store_be16(&p[6], c.field);
    refresh_checksum(p);
    Ipv4Header h;
    ASSERT_EQ(parse_ipv4(p, h), Ipv4Error::ok);
    EXPECT_EQ(h.dont_fragment, c.df) << std::hex << c.field;
    EXPECT_EQ(h.more_fragments, c.mf) << std::hex << c.field;
    EXPECT_EQ(h.fragment_offset, c.offset) << std::hex << c.field;
    EXPECT_EQ(h.is_fragment(), c.fragment) << std::hex << c.field;
  }
}

// The checks run in a fixed order: length, version, IHL, total length, checksum.
TEST(Ipv4Parse, ErrorPrecedence) {
  auto p = ip_part(kTcpSyn);
  p[0] = 0x63;           // version 6 and IHL 3
  store_be16(&p[2], 5);  // and a bad total length; checksum now wrong too
  Ipv4Header h;
  EXPECT_EQ(parse_ipv4(p, h), Ipv4Error::bad_version);
  p[0] = 0x43;
  EXPECT_EQ(parse_ipv4(p, h), Ipv4Error::bad_header_length);
  p[0] = 0x45;
  EXPECT_EQ(parse_ipv4(p, h), Ipv4Error::bad_total_length);
  store_be16(&p[2], 60);
  EXPECT_EQ(parse_ipv4(p, h), Ipv4Error::ok);  // back to the kernel's header
  p[8] = 1;                                    // TTL changed, checksum not refreshed
  EXPECT_EQ(parse_ipv4(p, h), Ipv4Error::bad_checksum);
}

}  // namespace
}  // namespace pollux::net
