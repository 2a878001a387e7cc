// Spec for net/tcp_options.hpp: the TCP option list (RFC 9293 3.1 "Options", 3.2 "Specific
// Option Definitions"): EOL (kind 0) and NOP (kind 1) are single bytes, every other kind is
// kind, length (counting kind and length), value. MSS (RFC 9293 3.2, kind 2, length 4),
// window scale (RFC 7323 2.2, kind 3, length 3), SACK-permitted (RFC 2018 2, kind 4,
// length 2), SACK (RFC 2018 3, kind 5, length 2 + 8n), timestamps (RFC 7323 3.2, kind 8,
// length 10). Unknown kinds are skipped by their length (RFC 9293 3.1, MUST-6/MUST-68).
#include "net/tcp_options.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <random>
#include <vector>

#include "linux_captures.hpp"

namespace pollux::net {
namespace {

using namespace capture;

// The option bytes of a captured frame: after the 20-byte TCP header, up to Data Offset.
Bytes options_of(Bytes frame) {
  const size_t data_offset = static_cast<size_t>(frame[kL4 + 12] >> 4) * 4;
  return frame.subspan(kL4 + 20, data_offset - 20);
}

TcpOptError parse(std::initializer_list<uint8_t> bytes, TcpOptions& o) {
  const std::vector<uint8_t> v(bytes);
  return parse_tcp_options(v, o);
}

std::vector<uint8_t> write(const TcpOptions& o) {
  std::vector<uint8_t> out(64, 0xee);
  const size_t n = write_tcp_options(out.data(), o);
  EXPECT_EQ(n, tcp_options_length(o));
  EXPECT_TRUE(std::all_of(out.begin() + static_cast<ptrdiff_t>(n), out.end(), [](uint8_t b) {
    return b == 0xee;
  })) << "wrote past the returned length";
  out.resize(n);
  return out;
}

// --- Linux's option lists, decoded -----------------------------------------------------

// Linux SYN: MSS 1460, SACKOK folded into the timestamp word, NOP WS 10.
//   02 04 05 b4 | 04 02 08 0a <TSval> <TSecr=0> | 01 03 03 0a
TEST(TcpOptionsParse, KernelSyn) {
  TcpOptions o;
  ASSERT_EQ(parse_tcp_options(options_of(kTcpSyn), o), TcpOptError::ok);
  EXPECT_TRUE(o.has_mss);
  EXPECT_EQ(o.mss, 1460);
  EXPECT_TRUE(o.sack_permitted);
  EXPECT_TRUE(o.has_timestamps);
  EXPECT_EQ(o.ts_val, 1870465406u);
  EXPECT_EQ(o.ts_ecr, 0u);  // RFC 7323 3.2: TSecr is zero on the initial SYN
  EXPECT_TRUE(o.has_wscale);
  EXPECT_EQ(o.wscale, 10);
  EXPECT_EQ(o.sack_count, 0);
}

TEST(TcpOptionsParse, KernelSynAck) {
  TcpOptions o;
  ASSERT_EQ(parse_tcp_options(options_of(kTcpSynAck), o), TcpOptError::ok);
  EXPECT_TRUE(o.has_mss);
  EXPECT_EQ(o.mss, 1460);
  EXPECT_TRUE(o.sack_permitted);
  EXPECT_TRUE(o.has_timestamps);
  EXPECT_EQ(o.ts_val, 984949579u);
  EXPECT_EQ(o.ts_ecr, 1870465406u);  // echoes the SYN's TSval
  EXPECT_TRUE(o.has_wscale);
  EXPECT_EQ(o.wscale, 10);
}

// Linux with net.ipv4.tcp_timestamps=0: MSS | NOP NOP SACKOK | NOP WS.
TEST(TcpOptionsParse, KernelSynWithoutTimestamps) {
  TcpOptions o;
  ASSERT_EQ(parse_tcp_options(options_of(kTcpSynNoTs), o), TcpOptError::ok);
  EXPECT_TRUE(o.has_mss);
  EXPECT_EQ(o.mss, 1460);
  EXPECT_TRUE(o.sack_permitted);
  EXPECT_FALSE(o.has_timestamps);
  EXPECT_TRUE(o.has_wscale);
  EXPECT_EQ(o.wscale, 10);
}

// Established-state segments: NOP NOP TS only (RFC 7323 3.2 "Timestamps option ... sent on
// every segment" once negotiated).
TEST(TcpOptionsParse, KernelDataSegment) {
  TcpOptions o;
  ASSERT_EQ(parse_tcp_options(options_of(kTcpData), o), TcpOptError::ok);
  EXPECT_FALSE(o.has_mss);
  EXPECT_FALSE(o.sack_permitted);
  EXPECT_FALSE(o.has_wscale);
  EXPECT_TRUE(o.has_timestamps);
  EXPECT_EQ(o.ts_val, 1870465406u);
  EXPECT_EQ(o.ts_ecr, 984949579u);
  EXPECT_EQ(o.sack_count, 0);
}

// The kernel's duplicate ACK for an out-of-order segment (RFC 2018 4: the first block
// reports the most recently received segment): NOP NOP TS | NOP NOP SACK {101, 201}
// relative to the ISN 1000000.
TEST(TcpOptionsParse, KernelSackBlock) {
  TcpOptions o;
  ASSERT_EQ(parse_tcp_options(options_of(kTcpSackAck), o), TcpOptError::ok);
  EXPECT_TRUE(o.has_timestamps);
  EXPECT_EQ(o.ts_val, 349387646u);
  EXPECT_EQ(o.ts_ecr, 123457u);
  ASSERT_EQ(o.sack_count, 1);
  EXPECT_EQ(o.sack[0].left, Seq(1000101));
  EXPECT_EQ(o.sack[0].right, Seq(1000201));
  EXPECT_EQ(o.sack[0].right - o.sack[0].left, 100);
}

TEST(TcpOptionsParse, NoOptions) {
  TcpOptions o;
  ASSERT_EQ(parse_tcp_options(options_of(kTcpRst), o), TcpOptError::ok);
  EXPECT_EQ(o, TcpOptions{});
}

// The one-compare path for NOP NOP TS (the header-prediction parser, issue 13 item 4) reads
// exactly what the general loop reads: the same block laid out TS NOP NOP, which only the
// loop takes, gives the same result, and near misses are left to the loop.
TEST(TcpOptionsParse, TheCommonNopNopTimestampBlockReadsAsTheGeneralParserReadsIt) {
  TcpOptions fast, loop;
  ASSERT_EQ(parse({1, 1, 8, 10, 0, 0, 1, 2, 0xfe, 0xdc, 0xba, 0x98}, fast), TcpOptError::ok);
  ASSERT_EQ(parse({8, 10, 0, 0, 1, 2, 0xfe, 0xdc, 0xba, 0x98, 1, 1}, loop), TcpOptError::ok);
  EXPECT_EQ(fast, loop);
  TcpOptions want;
  want.has_timestamps = true;
  want.ts_val = 0x102;
  want.ts_ecr = 0xfedcba98;
  EXPECT_EQ(fast, want);
}

TEST(TcpOptionsParse, BlocksThatOnlyLookLikeTheCommonOneAreParsedOrRefusedByTheLoop) {
  TcpOptions o;
  // A timestamp option of the wrong length is malformed, in any layout.
  EXPECT_EQ(parse({1, 1, 8, 9, 0, 0, 0, 1, 0, 0, 0, 2}, o), TcpOptError::bad_known_length);
  // NOP NOP TS followed by more options: the SACK blocks after it are read too.
  ASSERT_EQ(parse({1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1, 5, 10, 0, 0, 0, 10, 0, 0, 0, 20}, o),
            TcpOptError::ok);
  EXPECT_TRUE(o.has_timestamps);
  ASSERT_EQ(o.sack_count, 1);
  EXPECT_EQ(o.sack[0].left, Seq(10));
  // 12 bytes of NOP NOP SACK-permitted and padding: no timestamps.
  ASSERT_EQ(parse({1, 1, 4, 2, 1, 1, 1, 1, 1, 1, 1, 0}, o), TcpOptError::ok);
  EXPECT_FALSE(o.has_timestamps);
  EXPECT_TRUE(o.sack_permitted);
}

// --- Linux's option lists, rebuilt byte for byte ----------------------------------------

TEST(TcpOptionsWrite, ReproducesKernelOptionBytes) {
  for (Bytes frame : {Bytes(kTcpSyn), Bytes(kTcpSynAck), Bytes(kTcpSynNoTs), Bytes(kTcpData),
                      Bytes(kTcpFin), Bytes(kTcpSackAck), Bytes(kTcpRst)}) {
    const Bytes linux_opts = options_of(frame);
    TcpOptions o;
    ASSERT_EQ(parse_tcp_options(linux_opts, o), TcpOptError::ok);
    const auto ours = write(o);
    EXPECT_TRUE(std::equal(ours.begin(), ours.end(), linux_opts.begin(), linux_opts.end()))
        << "frame of " << frame.size() << " bytes";
  }
}

// The direct writer of the timestamps block (what a segment after the handshake with
// nothing to SACK carries) gives the bytes of the general writer and of Linux's data segment.
TEST(TcpOptionsWrite, TheTimestampBlockAloneIsWhatTheGeneralWriterWrites) {
  TcpOptions linux_data;
  ASSERT_EQ(parse_tcp_options(options_of(kTcpData), linux_data), TcpOptError::ok);
  std::array<uint8_t, kTsAppaLen> direct{};
  write_ts_appa(direct.data(), linux_data.ts_val, linux_data.ts_ecr);
  const Bytes want = options_of(kTcpData);
  EXPECT_TRUE(std::equal(direct.begin(), direct.end(), want.begin(), want.end()));

  std::mt19937 rng(7323);
  for (int i = 0; i < 1000; ++i) {
    TcpOptions o;
    o.has_timestamps = true;
    o.ts_val = static_cast<uint32_t>(rng());
    o.ts_ecr = static_cast<uint32_t>(rng());
    ASSERT_EQ(tcp_options_length(o), kTsAppaLen);
    const auto general = write(o);
    write_ts_appa(direct.data(), o.ts_val, o.ts_ecr);
    ASSERT_TRUE(std::equal(direct.begin(), direct.end(), general.begin(), general.end()))
        << "TSval " << o.ts_val << " TSecr " << o.ts_ecr << " (draw " << i << ", seed 7323)";
  }
}

// The same, from values written out by hand rather than parsed.
TEST(TcpOptionsWrite, LinuxSynFromValues) {
  TcpOptions o;
  o.has_mss = true;
  o.mss = 1460;
  o.sack_permitted = true;
  o.has_timestamps = true;
  o.ts_val = 0x6f7d097e;
  o.has_wscale = true;
  o.wscale = 10;
  const std::vector<uint8_t> expect{0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x6f, 0x7d,
                                    0x09, 0x7e, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a};
  EXPECT_EQ(write(o), expect);
}

// Each option alone, in the Linux layout (every option 4-byte aligned, NOP padded).
TEST(TcpOptionsWrite, SingleOptions) {
  TcpOptions o;
  EXPECT_TRUE(write(o).empty());
  o.has_mss = true;
  o.mss = 536;  // RFC 9293 3.7.1 default
  EXPECT_EQ(write(o), (std::vector<uint8_t>{2, 4, 0x02, 0x18}));
  o = {};
  o.has_wscale = true;
  o.wscale = 14;
  EXPECT_EQ(write(o), (std::vector<uint8_t>{1, 3, 3, 14}));
  o = {};
  o.sack_permitted = true;
  EXPECT_EQ(write(o), (std::vector<uint8_t>{1, 1, 4, 2}));
  o = {};
  o.has_timestamps = true;
  o.ts_val = 0x01020304;
  o.ts_ecr = 0xa0b0c0d0;
  EXPECT_EQ(write(o), (std::vector<uint8_t>{1, 1, 8, 10, 1, 2, 3, 4, 0xa0, 0xb0, 0xc0, 0xd0}));
}

// SACK blocks (RFC 2018 3): NOP NOP kind=5 length=2+8n, then left/right edges.
// Hand-written vector: three blocks without timestamps.
TEST(TcpOptionsWrite, SackBlocksByHand) {
  TcpOptions o;
  o.sack_count = 3;
  o.sack[0] = {Seq(0x00000100), Seq(0x00000200)};
  o.sack[1] = {Seq(0xfffffff0), Seq(0x00000010)};  // a block across the wrap
  o.sack[2] = {Seq(0x12345678), Seq(0x9abcdef0)};
  const std::vector<uint8_t> expect{
      0x01, 0x01, 0x05, 0x1a,                          //
      0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00,  //
      0xff, 0xff, 0xff, 0xf0, 0x00, 0x00, 0x00, 0x10,  //
      0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
  };
  EXPECT_EQ(write(o), expect);
  TcpOptions back;
  ASSERT_EQ(parse_tcp_options(expect, back), TcpOptError::ok);
  EXPECT_EQ(back, o);
}

// RFC 2018 3: "at most 4 SACK blocks ... at most 3 when the Timestamp option is used".
// What does not fit in the 40 option bytes is dropped from the end (the first block, the
// most recent, is kept). With MSS + timestamps + window scale only 2 blocks fit.
TEST(TcpOptionsWrite, SackBlocksLimitedByOptionSpace) {
  TcpOptions o;
  o.sack_count = 4;
  for (uint32_t i = 0; i < 4; ++i) o.sack[i] = {Seq(1000 * (i + 1)), Seq(1000 * (i + 1) + 500)};
  EXPECT_EQ(tcp_options_length(o), 36u);  // 4 blocks
  o.has_timestamps = true;
  EXPECT_EQ(tcp_options_length(o), 40u);  // TS + 3 blocks
  TcpOptions back;
  ASSERT_EQ(parse_tcp_options(write(o), back), TcpOptError::ok);
  EXPECT_EQ(back.sack_count, 3);
  EXPECT_EQ(back.sack[0], o.sack[0]);
  EXPECT_EQ(back.sack[2], o.sack[2]);
  o.has_mss = true;
  o.has_wscale = true;
  EXPECT_EQ(tcp_options_length(o), 40u);  // MSS + TS + WS + 2 blocks
  ASSERT_EQ(parse_tcp_options(write(o), back), TcpOptError::ok);
  EXPECT_EQ(back.sack_count, 2);
  o.has_timestamps = false;
  o.sack_permitted = true;
  EXPECT_EQ(tcp_options_length(o), 40u);  // MSS + SACKOK + WS + 3 blocks
  ASSERT_EQ(parse_tcp_options(write(o), back), TcpOptError::ok);
  EXPECT_EQ(back.sack_count, 3);
}

// Whatever the combination, the list fits the 40 bytes Data Offset allows (RFC 9293 3.1)
// and stays a multiple of 4; parse(write(x)) gives back x minus dropped SACK blocks.
TEST(TcpOptionsWrite, EveryCombinationFitsAndRoundTrips) {
  for (unsigned mask = 0; mask < 16; ++mask) {
    for (uint8_t blocks = 0; blocks <= kMaxSackBlocks; ++blocks) {
      TcpOptions o;
      o.has_mss = mask & 1;
      o.mss = o.has_mss ? 8960 : 0;
      o.has_wscale = mask & 2;
      o.wscale = o.has_wscale ? 7 : 0;
      o.sack_permitted = mask & 4;
      o.has_timestamps = mask & 8;
      o.ts_val = o.has_timestamps ? 0xdeadbeef : 0;
      o.ts_ecr = o.has_timestamps ? 0xfeedface : 0;
      o.sack_count = blocks;
      for (uint32_t i = 0; i < blocks; ++i)
        o.sack[i] = {Seq(0xfffff000 + 0x100 * i), Seq(0xfffff080 + 0x100 * i)};
      SCOPED_TRACE(testing::Message() << "mask " << mask << " blocks " << int{blocks});
      const auto bytes = write(o);
      EXPECT_LE(bytes.size(), kTcpMaxOptionsLen);
      EXPECT_EQ(bytes.size() % 4, 0u);
      TcpOptions back;
      ASSERT_EQ(parse_tcp_options(bytes, back), TcpOptError::ok);
      EXPECT_LE(back.sack_count, blocks);
      EXPECT_GE(back.sack_count, blocks == 0 ? 0 : 1);  // at least one block always fits
      TcpOptions expect = o;
      expect.sack_count = back.sack_count;
      for (size_t i = back.sack_count; i < kMaxSackBlocks; ++i) expect.sack[i] = {};
      EXPECT_EQ(back, expect);
    }
  }
}

// --- Hostile and unusual option lists -----------------------------------------------

TEST(TcpOptionsParse, EmptyAndAllNop) {
  TcpOptions o;
  EXPECT_EQ(parse_tcp_options({}, o), TcpOptError::ok);
  EXPECT_EQ(o, TcpOptions{});
  EXPECT_EQ(parse(std::initializer_list<uint8_t>{1, 1, 1, 1, 1, 1, 1, 1}, o), TcpOptError::ok);
  EXPECT_EQ(o, TcpOptions{});
}

// RFC 9293 3.2: NOP "may be used between options, for example, to align the beginning of a
// subsequent option on a word boundary"; any amount of padding anywhere is accepted.
TEST(TcpOptionsParse, NopPaddingAnywhere) {
  TcpOptions o;
  ASSERT_EQ(parse({1, 2, 4, 0x05, 0xb4, 1, 1, 1, 3, 3, 7, 1}, o), TcpOptError::ok);
  EXPECT_TRUE(o.has_mss);
  EXPECT_EQ(o.mss, 1460);
  EXPECT_TRUE(o.has_wscale);
  EXPECT_EQ(o.wscale, 7);
}

// RFC 9293 3.2: EOL marks the end of the option list; what follows is padding and is not
// interpreted, even if it would be malformed.
TEST(TcpOptionsParse, EolEndsTheListEarly) {
  TcpOptions o;
  ASSERT_EQ(parse({2, 4, 0x05, 0xb4, 0, 3, 3, 9}, o), TcpOptError::ok);
  EXPECT_TRUE(o.has_mss);
  EXPECT_FALSE(o.has_wscale);
  ASSERT_EQ(parse({0, 2, 1, 0xff}, o), TcpOptError::ok);  // malformed MSS after EOL
  EXPECT_FALSE(o.has_mss);
  ASSERT_EQ(parse({1, 1, 0, 0}, o), TcpOptError::ok);
}

// RFC 9293 3.1 MUST-68: be prepared to handle an illegal option length (e.g., zero)
// without crashing; the whole segment is dropped.
TEST(TcpOptionsParse, LengthZeroOrOne) {
  TcpOptions o;
  EXPECT_EQ(parse({2, 0, 0x05, 0xb4}, o), TcpOptError::bad_length);
  EXPECT_EQ(parse({2, 1, 0x05, 0xb4}, o), TcpOptError::bad_length);
  EXPECT_EQ(parse({99, 0, 1, 1}, o), TcpOptError::bad_length);  // unknown kind, length 0
  EXPECT_EQ(parse({99, 1, 1, 1}, o), TcpOptError::bad_length);  // unknown kind, length 1
  EXPECT_EQ(parse({1, 1, 8, 0}, o), TcpOptError::bad_length);   // after padding
}

TEST(TcpOptionsParse, OptionRunningPastTheEnd) {
  TcpOptions o;
  EXPECT_EQ(parse({2, 4, 0x05}, o), TcpOptError::bad_length);  // MSS one byte short
  EXPECT_EQ(parse({1, 8, 10, 1, 2, 3, 4, 5, 6, 7}, o), TcpOptError::bad_length);
  EXPECT_EQ(parse({99, 5, 1, 1}, o), TcpOptError::bad_length);  // unknown kind too
  EXPECT_EQ(parse({99, 255}, o), TcpOptError::bad_length);
  // A Linux SYN list cut at every length: either a clean prefix or bad_length, never
  // anything read past the end (the sanitizers would catch it).
  const Bytes syn = options_of(kTcpSyn);
  for (size_t n = 0; n < syn.size(); ++n) {
    const TcpOptError e = parse_tcp_options(syn.first(n), o);
    // Clean cuts: nothing, after MSS, after SACKOK, after TS, after the NOP before WS.
    const bool clean_cut = n == 0 || n == 4 || n == 6 || n == 16 || n == 17;
    EXPECT_EQ(e, clean_cut ? TcpOptError::ok : TcpOptError::bad_length) << n;
  }
}

// A kind byte that is the last byte of the list has no length byte at all.
TEST(TcpOptionsParse, KindWithoutLengthByteAtTheEnd) {
  TcpOptions o;
  EXPECT_EQ(parse({2}, o), TcpOptError::bad_length);
  EXPECT_EQ(parse({1, 1, 1, 3}, o), TcpOptError::bad_length);
  EXPECT_EQ(parse({2, 4, 0x05, 0xb4, 8}, o), TcpOptError::bad_length);
  EXPECT_EQ(parse({1, 1, 1, 200}, o), TcpOptError::bad_length);  // unknown kind too
}

// Known kinds with a length other than their fixed one are malformed.
TEST(TcpOptionsParse, KnownKindsWithWrongLength) {
  TcpOptions o;
  EXPECT_EQ(parse({2, 3, 0x05, 1}, o), TcpOptError::bad_known_length);  // MSS length 3
  EXPECT_EQ(parse({2, 2, 1, 1}, o), TcpOptError::bad_known_length);     // MSS length 2
  EXPECT_EQ(parse({2, 6, 0, 0, 5, 0xb4}, o), TcpOptError::bad_known_length);
  EXPECT_EQ(parse({3, 4, 7, 0}, o), TcpOptError::bad_known_length);  // wscale length 4
  EXPECT_EQ(parse({3, 2, 1, 1}, o), TcpOptError::bad_known_length);  // wscale length 2
  EXPECT_EQ(parse({4, 3, 0, 1}, o), TcpOptError::bad_known_length);  // SACKOK length 3
  EXPECT_EQ(parse({8, 9, 0, 0, 0, 1, 0, 0, 0, 1}, o),
            TcpOptError::bad_known_length);  // timestamps length 9
  EXPECT_EQ(parse({8, 11, 0, 0, 0, 1, 0, 0, 0, 1, 0}, o),
            TcpOptError::bad_known_length);  // timestamps length 11
}

// SACK (RFC 2018 3): length 2 + 8n with 1 <= n <= 4 (34 of the 40 option bytes).
TEST(TcpOptionsParse, SackLengths) {
  TcpOptions o;
  // 0 blocks.
  EXPECT_EQ(parse({1, 1, 5, 2}, o), TcpOptError::bad_known_length);
  // Bodies that are not a multiple of 8.
  for (uint8_t body : {1, 4, 7, 9, 12, 15, 20, 31}) {
    std::vector<uint8_t> v{5, static_cast<uint8_t>(2 + body)};
    v.resize(2 + body, 0);
    EXPECT_EQ(parse_tcp_options(v, o), TcpOptError::bad_known_length) << int{body};
  }
  // 1 to 4 blocks are fine.
  for (uint8_t n = 1; n <= 4; ++n) {
    std::vector<uint8_t> v{5, static_cast<uint8_t>(2 + 8 * n)};
    for (uint8_t b = 0; b < n; ++b) {
      for (uint32_t edge : {0x1000u * (b + 1), 0x1000u * (b + 1) + 0x200}) {
        v.push_back(static_cast<uint8_t>(edge >> 24));
        v.push_back(static_cast<uint8_t>(edge >> 16));
        v.push_back(static_cast<uint8_t>(edge >> 8));
        v.push_back(static_cast<uint8_t>(edge));
      }
    }
    ASSERT_EQ(parse_tcp_options(v, o), TcpOptError::ok) << int{n};
    EXPECT_EQ(o.sack_count, n);
    EXPECT_EQ(o.sack[n - 1].left, Seq(0x1000u * n));
    EXPECT_EQ(o.sack[n - 1].right, Seq(0x1000u * n + 0x200));
  }
  // 5 blocks (length 42) cannot fit in a real header's 40 bytes: it runs past the end...
  std::vector<uint8_t> five{5, 42};
  five.resize(40, 0);
  EXPECT_EQ(parse_tcp_options(five, o), TcpOptError::bad_length);
  // ... and even given the bytes, more than 4 blocks is refused.
  five.resize(42, 0);
  EXPECT_EQ(parse_tcp_options(five, o), TcpOptError::bad_known_length);
  std::vector<uint8_t> six{5, 50};
  six.resize(50, 0);
  EXPECT_EQ(parse_tcp_options(six, o), TcpOptError::bad_known_length);
}

// RFC 9293 3.1 MUST-6: a TCP implementation MUST ignore without error any option it does
// not implement, skipping it by its length. Here MPTCP (30), TCP Fast Open (34), an
// experimental kind (254, RFC 6994), TCP-AO (29) and kind 255.
TEST(TcpOptionsParse, UnknownKindsSkippedByLength) {
  TcpOptions o;
  ASSERT_EQ(parse({30,  4,  0x21, 0x00,                          // MPTCP MP_CAPABLE-ish
                   2,   4,  0x23, 0x28,                          // MSS 9000
                   34,  10, 1,    2,    3,    4,    5, 6, 7, 8,  // TFO cookie
                   254, 6,  0xf9, 0x89, 0xaa, 0xbb,              // experimental
                   29,  2,  255,  3,    0,                       // AO with empty body, 255
                   3,   3,  2},                                  // wscale 2
                  o),
            TcpOptError::ok);
  EXPECT_TRUE(o.has_mss);
  EXPECT_EQ(o.mss, 9000);
  EXPECT_TRUE(o.has_wscale);
  EXPECT_EQ(o.wscale, 2);
  EXPECT_FALSE(o.has_timestamps);
  EXPECT_FALSE(o.sack_permitted);
  // An unknown option's body may contain bytes that look like EOL/NOP/MSS: not interpreted.
  ASSERT_EQ(parse({77, 6, 0, 2, 4, 1, 1, 1}, o), TcpOptError::ok);
  EXPECT_FALSE(o.has_mss);
}

// Window scale values above 14 are reported as received; clamping is the caller's job
// (RFC 7323 2.3: "use 14 instead of the received shift count" and log).
TEST(TcpOptionsParse, WindowScaleReportedUnclamped) {
  TcpOptions o;
  ASSERT_EQ(parse({1, 3, 3, 15}, o), TcpOptError::ok);
  EXPECT_EQ(o.wscale, 15);
  ASSERT_EQ(parse({1, 3, 3, 255}, o), TcpOptError::ok);
  EXPECT_EQ(o.wscale, 255);
  static_assert(kMaxWindowScale == 14);
}

// Parsing starts from a clean slate: nothing from a previous segment survives.
TEST(TcpOptionsParse, OutputIsReset) {
  TcpOptions o;
  ASSERT_EQ(parse_tcp_options(options_of(kTcpSyn), o), TcpOptError::ok);
  ASSERT_EQ(parse_tcp_options(options_of(kTcpRst), o), TcpOptError::ok);
  EXPECT_EQ(o, TcpOptions{});
}

// The same through the one-compare NOP NOP TS path: a SYN's MSS, window scale and
// SACK-permitted and an ACK's SACK blocks are gone after the next data segment's block.
TEST(TcpOptionsParse, OutputIsResetByTheCommonTimestampBlockToo) {
  TcpOptions want;
  ASSERT_EQ(parse_tcp_options(options_of(kTcpData), want), TcpOptError::ok);
  for (Bytes before : {options_of(kTcpSyn), options_of(kTcpSackAck)}) {
    TcpOptions o;
    ASSERT_EQ(parse_tcp_options(before, o), TcpOptError::ok);
    ASSERT_NE(o, want);
    ASSERT_EQ(parse_tcp_options(options_of(kTcpData), o), TcpOptError::ok);
    EXPECT_EQ(o, want);
    EXPECT_EQ(o.sack_count, 0);
    EXPECT_EQ(o.sack, (std::array<SackBlock, kMaxSackBlocks>{}));
  }
}

// A repeated option: the last occurrence wins (RFC 9293 is silent; Linux does the same).
TEST(TcpOptionsParse, RepeatedOptionLastWins) {
  TcpOptions o;
  ASSERT_EQ(parse({2, 4, 0x05, 0xb4, 2, 4, 0x02, 0x18}, o), TcpOptError::ok);
  EXPECT_EQ(o.mss, 536);
}

}  // namespace
}  // namespace pollux::net
