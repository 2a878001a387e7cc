// Spec for net/tcp_header.hpp: the TCP header (RFC 9293 3.1 "Header Format"): ports,
// sequence and acknowledgment numbers, Data Offset (header length in 32-bit words, at
// least 5), the control bits CWR ECE URG ACK PSH RST SYN FIN (RFC 9293 3.1, RFC 3168 6.1),
// window, checksum (verified by the caller over the pseudo-header), urgent pointer.
#include "net/tcp_header.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <random>
#include <string_view>
#include <vector>

#include "linux_captures.hpp"
#include "net/checksum.hpp"
#include "net/ethernet.hpp"
#include "net/ipv4.hpp"
#include "net/tcp_options.hpp"

namespace pollux::net {
namespace {

using namespace capture;
namespace f = tcp_flags;

// The TCP segment of a captured frame: IPv4 payload up to Total Length.
Bytes segment_of(Bytes frame) {
  return frame.subspan(kL4, load_be16(frame.data() + kL3 + 2) - 20u);
}

// The expected decoding of each captured segment.
struct Expect {
  const char* name;
  Bytes frame;
  Ipv4Addr src, dst;
  uint16_t sport, dport;
  uint32_t seq, ack;
  uint8_t header_len, flags;
  uint16_t window, checksum;
  std::string_view payload;
};

const Expect kSegments[] = {
    {"syn", kTcpSyn, kIpA, kIpB, 54846, 5000, 3977496450u, 0, 40, f::syn, 64240, 0x20eb, ""},
    {"syn-ack", kTcpSynAck, kIpB, kIpA, 5000, 54846, 826841103u, 3977496451u, 40, f::syn | f::ack,
     65160, 0xf5e9, ""},
    {"data", kTcpData, kIpA, kIpB, 54846, 5000, 3977496451u, 826841104u, 32, f::psh | f::ack, 63,
     0x3a25, "ping\n"},
    {"fin", kTcpFin, kIpA, kIpB, 54846, 5000, 3977496456u, 826841110u, 32, f::fin | f::ack, 63,
     0x22f7, ""},
    {"sack ack", kTcpSackAck, kIpB, kIpScapy, 5001, 40000, 1122218608u, 1000001u, 44, f::ack, 64,
     0x8bcd, ""},
    {"rst", kTcpRst, kIpScapy, kIpB, 40000, 5001, 1000001u, 0, 20, f::rst, 0, 0xa8fc, ""},
    {"syn no ts", kTcpSynNoTs, kIpA, kIpB, 46188, 5000, 2792374661u, 0, 32, f::syn, 64240, 0xaf6a,
     ""},
};

// RFC 9293 3.1: the control bits in the order of the header, least significant last.
TEST(TcpFlags, BitPositions) {
  static_assert(f::fin == 0x01 && f::syn == 0x02 && f::rst == 0x04 && f::psh == 0x08);
  static_assert(f::ack == 0x10 && f::urg == 0x20 && f::ece == 0x40 && f::cwr == 0x80);
  static_assert(kTcpMinHeaderLen == 20 && kTcpMaxHeaderLen == 60);
}

// Every field of every captured segment; the kernel's checksum verifies over the
// pseudo-header (RFC 9293 3.1 "Checksum").
TEST(TcpParse, KernelSegments) {
  for (const Expect& e : kSegments) {
    SCOPED_TRACE(e.name);
    const Bytes seg = segment_of(e.frame);
    TcpHeader h;
    ASSERT_EQ(parse_tcp(seg, h), TcpHeaderError::ok);
    EXPECT_EQ(h.src_port, e.sport);
    EXPECT_EQ(h.dst_port, e.dport);
    EXPECT_EQ(h.seq, Seq(e.seq));
    EXPECT_EQ(h.ack, Seq(e.ack));
    EXPECT_EQ(h.header_len, e.header_len);
    EXPECT_EQ(h.flags, e.flags);
    EXPECT_EQ(h.window, e.window);
    EXPECT_EQ(h.checksum, e.checksum);
    EXPECT_EQ(h.urgent, 0);
    EXPECT_EQ(h.options.size(), e.header_len - 20u);
    EXPECT_EQ(h.options.data(), seg.data() + 20);
    EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(h.payload.data()), h.payload.size()),
              e.payload);
    EXPECT_EQ(ipv4_l4_checksum(e.src, e.dst, kIpProtoTcp, seg), 0);
  }
}

// RFC 9293 3.4: SYN and FIN each occupy one sequence number; data its length; a bare ACK
// or RST none.
TEST(TcpParse, SegmentLength) {
  const uint32_t expect[] = {1, 1, 5, 1, 0, 0, 1};
  for (size_t i = 0; i < std::size(kSegments); ++i) {
    TcpHeader h;
    ASSERT_EQ(parse_tcp(segment_of(kSegments[i].frame), h), TcpHeaderError::ok);
    EXPECT_EQ(h.seg_len(), expect[i]) << kSegments[i].name;
  }
  TcpHeader h;
  h.flags = f::syn | f::fin;
  EXPECT_EQ(h.seg_len(), 2u);
  EXPECT_TRUE(h.has(f::syn));
  EXPECT_FALSE(h.has(f::ack));
}

// The builders reproduce each captured segment byte for byte: fixed header, Linux's option
// layout, payload, then the checksum over pseudo-header + segment.
TEST(TcpBuild, ReproducesKernelSegments) {
  for (const Expect& e : kSegments) {
    SCOPED_TRACE(e.name);
    const Bytes seg = segment_of(e.frame);
    TcpHeader parsed;
    ASSERT_EQ(parse_tcp(seg, parsed), TcpHeaderError::ok);
    TcpOptions opts;
    ASSERT_EQ(parse_tcp_options(parsed.options, opts), TcpOptError::ok);

    std::vector<uint8_t> out(seg.size(), 0xee);
    const size_t opt_len = write_tcp_options(out.data() + 20, opts);
    ASSERT_EQ(opt_len, e.header_len - 20u);
    const TcpBuild b{
        e.sport, e.dport, Seq(e.seq), Seq(e.ack), e.flags, e.window, static_cast<uint8_t>(opt_len)};
    ASSERT_EQ(write_tcp_header(out.data(), b), e.header_len);
    std::copy(e.payload.begin(), e.payload.end(), out.begin() + e.header_len);
    store_be16(&out[16], ipv4_l4_checksum(e.src, e.dst, kIpProtoTcp, out));
    EXPECT_TRUE(std::equal(out.begin(), out.end(), seg.begin(), seg.end()));
  }
}

// The whole Linux SYN frame from scratch: Ethernet + IPv4 + TCP + options.
TEST(TcpBuild, ReproducesKernelSynFrame) {
  std::array<uint8_t, sizeof kTcpSyn> fr{};
  uint8_t* p = fr.data();
  p += write_ethernet_header(p, MacAddr::load(kMacB), MacAddr::load(kMacA), EtherType::ipv4);
  TcpOptions o;
  o.has_mss = true;
  o.mss = 1460;
  o.sack_permitted = true;
  o.has_timestamps = true;
  o.ts_val = 1870465406;
  o.ts_ecr = 0;
  o.has_wscale = true;
  o.wscale = 10;
  const size_t opt_len = tcp_options_length(o);
  p += write_ipv4_header(p, {kIpA, kIpB, kIpProtoTcp, static_cast<uint16_t>(20 + opt_len), 0xe9ea});
  uint8_t* tcp = p;
  ASSERT_EQ(write_tcp_options(tcp + 20, o), opt_len);
  p += write_tcp_header(
      tcp, {54846, 5000, Seq(3977496450u), Seq(0), f::syn, 64240, static_cast<uint8_t>(opt_len)});
  store_be16(tcp + 16, ipv4_l4_checksum(kIpA, kIpB, kIpProtoTcp, {tcp, p}));
  ASSERT_EQ(p, fr.data() + fr.size());
  EXPECT_TRUE(std::equal(fr.begin(), fr.end(), kTcpSyn));
}

TEST(TcpBuild, FixedHeaderLayout) {
  std::array<uint8_t, 20> out{};
  out.fill(0xff);
  const size_t n = write_tcp_header(
      out.data(), {0x1234, 0x5678, Seq(0x9abcdef0), Seq(0x0fedcba9), f::cwr | f::fin, 0xbeef, 0});
  EXPECT_EQ(n, 20u);
  const std::array<uint8_t, 20> expect{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x0f, 0xed,
                                       0xcb, 0xa9, 0x50, 0x81, 0xbe, 0xef, 0x00, 0x00, 0x00, 0x00};
  EXPECT_EQ(out, expect);  // checksum and urgent pointer zeroed, reserved bits clear
  EXPECT_EQ(write_tcp_header(out.data(), {1, 2, Seq(3), Seq(4), f::ack, 5, 40}), 60u);
  EXPECT_EQ(out[12], 0xf0);  // data offset 15
}

// parse(build(x)) == x over random headers and option lengths.
TEST(TcpBuild, RoundTrip) {
  std::mt19937 rng(9293);
  for (int i = 0; i < 500; ++i) {
    const TcpBuild b{static_cast<uint16_t>(rng()),          static_cast<uint16_t>(rng()),
                     Seq(static_cast<uint32_t>(rng())),     Seq(static_cast<uint32_t>(rng())),
                     static_cast<uint8_t>(rng()),           static_cast<uint16_t>(rng()),
                     static_cast<uint8_t>(4 * (rng() % 11))};
    const size_t payload = rng() % 64;
    std::vector<uint8_t> seg(20 + b.options_len + payload, 0x01);
    ASSERT_EQ(write_tcp_header(seg.data(), b), 20u + b.options_len);
    TcpHeader h;
    ASSERT_EQ(parse_tcp(seg, h), TcpHeaderError::ok);
    EXPECT_EQ(h.src_port, b.src_port);
    EXPECT_EQ(h.dst_port, b.dst_port);
    EXPECT_EQ(h.seq, b.seq);
    EXPECT_EQ(h.ack, b.ack);
    EXPECT_EQ(h.flags, b.flags);
    EXPECT_EQ(h.window, b.window);
    EXPECT_EQ(h.header_len, 20 + b.options_len);
    EXPECT_EQ(h.options.size(), b.options_len);
    EXPECT_EQ(h.payload.size(), payload);
    EXPECT_EQ(h.checksum, 0);
    EXPECT_EQ(h.urgent, 0);
  }
}

TEST(TcpParse, TruncatedAtEveryLengthBelow20) {
  const Bytes seg = segment_of(kTcpRst);
  for (size_t n = 0; n < kTcpMinHeaderLen; ++n) {
    TcpHeader h;
    EXPECT_EQ(parse_tcp(seg.first(n), h), TcpHeaderError::truncated) << n;
  }
}

// RFC 9293 3.1: Data Offset counts 32-bit words and is at least 5.
TEST(TcpParse, DataOffsetBelowFive) {
  for (uint8_t off = 0; off < 5; ++off) {
    std::vector<uint8_t> seg(segment_of(kTcpSyn).begin(), segment_of(kTcpSyn).end());
    seg[12] = static_cast<uint8_t>(off << 4);
    TcpHeader h;
    EXPECT_EQ(parse_tcp(seg, h), TcpHeaderError::bad_data_offset) << int{off};
  }
}

// Data Offset pointing past the end of the segment (IPv4 Total Length).
TEST(TcpParse, DataOffsetBeyondSegment) {
  std::vector<uint8_t> seg(segment_of(kTcpSyn).begin(), segment_of(kTcpSyn).end());  // 40
  TcpHeader h;
  for (uint8_t off = 11; off <= 15; ++off) {
    seg[12] = static_cast<uint8_t>(off << 4);
    EXPECT_EQ(parse_tcp(seg, h), TcpHeaderError::bad_data_offset) << int{off};
  }
  seg[12] = 10 << 4;  // exactly the segment: all header, no payload
  ASSERT_EQ(parse_tcp(seg, h), TcpHeaderError::ok);
  EXPECT_TRUE(h.payload.empty());
  // The RST (20 bytes) with any offset above 5.
  std::vector<uint8_t> rst(segment_of(kTcpRst).begin(), segment_of(kTcpRst).end());
  rst[12] = 6 << 4;
  EXPECT_EQ(parse_tcp(rst, h), TcpHeaderError::bad_data_offset);
}

// The largest header: Data Offset 15 = 60 bytes, 40 bytes of options.
TEST(TcpParse, MaximumDataOffset) {
  std::vector<uint8_t> seg(60 + 3, tcp_opt::nop);
  seg[12] = 0xf0;
  TcpHeader h;
  ASSERT_EQ(parse_tcp(seg, h), TcpHeaderError::ok);
  EXPECT_EQ(h.header_len, 60);
  EXPECT_EQ(h.options.size(), 40u);
  EXPECT_EQ(h.payload.size(), 3u);
}

// The low nibble of byte 12 (reserved bits; AccECN's AE) does not disturb the data offset
// or the flags.
TEST(TcpParse, ReservedBitsIgnored) {
  std::vector<uint8_t> seg(segment_of(kTcpData).begin(), segment_of(kTcpData).end());
  seg[12] |= 0x0f;
  TcpHeader h;
  ASSERT_EQ(parse_tcp(seg, h), TcpHeaderError::ok);
  EXPECT_EQ(h.header_len, 32);
  EXPECT_EQ(h.flags, f::psh | f::ack);
}

// A corrupted segment parses (the header is well formed) but its checksum does not verify.
TEST(TcpParse, CorruptionCaughtByChecksum) {
  const Bytes good = segment_of(kTcpData);
  for (size_t i = 0; i < good.size(); ++i) {
    std::vector<uint8_t> seg(good.begin(), good.end());
    seg[i] ^= 0x20;
    EXPECT_NE(ipv4_l4_checksum(kIpA, kIpB, kIpProtoTcp, seg), 0) << i;
  }
  // ... and so does the right segment under the wrong pseudo-header.
  EXPECT_NE(ipv4_l4_checksum(kIpA, kIpScapy, kIpProtoTcp, good), 0);
  EXPECT_NE(ipv4_l4_checksum(kIpA, kIpB, kIpProtoUdp, good), 0);
}

}  // namespace
}  // namespace pollux::net
