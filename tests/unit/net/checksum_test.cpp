// Spec for net/checksum.hpp: the Internet checksum (RFC 1071), its incremental update
// (RFC 1624) and the IPv4 pseudo-header (RFC 9293 3.1, RFC 768), checked against the
// checksums the Linux kernel put on the frames in linux_captures.hpp.
#include "net/checksum.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <random>
#include <vector>

#include "linux_captures.hpp"
#include "net/bytes.hpp"

namespace pollux::net {
namespace {

// Reference: the RFC 1071 section 4.1 C loop, 16 bits at a time, odd byte padded with zero.
uint16_t reference_sum(Bytes data) {
  uint32_t sum = 0;
  size_t i = 0;
  for (; i + 1 < data.size(); i += 2) sum += (uint32_t{data[i]} << 8) | data[i + 1];
  if (i < data.size()) sum += uint32_t{data[i]} << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

std::vector<uint8_t> random_bytes(std::mt19937& rng, size_t n) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

// RFC 1071 section 3 worked example: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2.
TEST(Checksum, Rfc1071WorkedExample) {
  const std::array<uint8_t, 8> data{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(checksum_fold(checksum_accumulate(data)), 0xddf2);
  EXPECT_EQ(internet_checksum(data), static_cast<uint16_t>(~0xddf2));
}

TEST(Checksum, EmptyBufferSumsToZero) {
  EXPECT_EQ(checksum_accumulate({}), 0u);
  EXPECT_EQ(internet_checksum({}), 0xffff);
  EXPECT_EQ(checksum_accumulate({}, 0x1234), 0x1234u);  // a chained sum passes through
}

// RFC 1071 4.1: "Add left-over byte, if any": the odd byte is the high half of a word
// whose low half is zero.
TEST(Checksum, OddTrailingByteIsPaddedWithZero) {
  const std::array<uint8_t, 1> one{0xab};
  EXPECT_EQ(checksum_fold(checksum_accumulate(one)), 0xab00);
  const std::array<uint8_t, 3> three{0x12, 0x34, 0x56};
  EXPECT_EQ(checksum_fold(checksum_accumulate(three)), 0x1234 + 0x5600);
  const std::array<uint8_t, 5> five{0xff, 0xff, 0xff, 0xff, 0x01};
  // 0xffff + 0xffff + 0x0100 = 0x200fe -> folds to 0x0100
  EXPECT_EQ(checksum_fold(checksum_accumulate(five)), 0x0100);
}

// Every length 0..257 (all residues mod 4 for the 32-bit inner loop, odd and even) against
// the 16-bit reference loop, on random and on all-0xff data (maximum carries).
TEST(Checksum, MatchesReferenceAtEveryLength) {
  std::mt19937 rng(1071);
  for (size_t n = 0; n <= 257; ++n) {
    auto data = random_bytes(rng, n);
    EXPECT_EQ(checksum_fold(checksum_accumulate(data)), reference_sum(data)) << "n=" << n;
    std::vector<uint8_t> ones(n, 0xff);
    EXPECT_EQ(checksum_fold(checksum_accumulate(ones)), reference_sum(ones)) << "n=" << n;
  }
}

// Large buffers: the carry-save accumulator must not lose carries (64 KiB of 0xff).
TEST(Checksum, NoCarryLostOnMaximalInput) {
  std::vector<uint8_t> ones(65536, 0xff);
  EXPECT_EQ(checksum_fold(checksum_accumulate(ones)), 0xffff);
  EXPECT_EQ(checksum_fold(checksum_accumulate(ones, 0xffffffffu)), reference_sum(ones));
}

TEST(Checksum, FoldHandlesWideSums) {
  EXPECT_EQ(checksum_fold(0), 0);
  EXPECT_EQ(checksum_fold(0xffff), 0xffff);
  EXPECT_EQ(checksum_fold(0x10000), 0x0001);
  EXPECT_EQ(checksum_fold(0x1fffe), 0xffff);
  EXPECT_EQ(checksum_fold(0xffffffffull), 0xffff);
  EXPECT_EQ(checksum_fold(0xffffffffffffffffull), 0xffff);
  static_assert(checksum_fold(0x12345678) == 0x68ac);
}

// RFC 1071 4.1's fold, "while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16)", on 64 bits:
// what checksum_fold's four fixed folds must equal for every input.
uint16_t loop_fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

TEST(Checksum, FourFoldsEqualTheLoopAtEveryCarryBoundary) {
  // Around every power of two and its multiples of 0xffff, the all-ones values of each width
  // and the largest sums each fold step can leave (2^33 - 2, 0x1fffe).
  std::vector<uint64_t> edges{0, 1, 0xfffe, 0xffff, 0x10000, 0x10001, 0x1fffe, 0x1ffff,
                              0x1fffffffeull, 0x1ffffffffull, 0xfffffffffffeffffull,
                              0xffffffff0000ffffull, 0xfffffffeffffffffull,
                              0xffffffffffffffffull, 0x8000000000000000ull};
  for (int bit = 0; bit < 64; ++bit) {
    const uint64_t p = uint64_t{1} << bit;
    for (uint64_t v : {p - 1, p, p + 1, ~p, 0xffff * p, p * 3 - 1}) edges.push_back(v);
  }
  for (uint64_t v : edges) EXPECT_EQ(checksum_fold(v), loop_fold(v)) << std::hex << "sum=0x" << v;
}

TEST(Checksum, FourFoldsEqualTheLoopOnRandomSums) {
  const uint32_t seed = 13;
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 200'000; ++i) {
    // Full 64-bit values, 32-bit ones (what the paths fold) and short ones near the 16-bit edge.
    const uint64_t r = rng();
    for (uint64_t v : {r, r & 0xffffffff, r & 0x3ffff, r >> (r & 63)})
      ASSERT_EQ(checksum_fold(v), loop_fold(v)) << std::hex << "sum=0x" << v << " seed=" << seed;
  }
}

// RFC 1071 2(A)/(B): the sum is associative, so chained partial sums over even-length
// pieces equal one accumulation over the whole buffer (odd tails only last).
TEST(Checksum, ChainedAccumulationEqualsOneShot) {
  std::mt19937 rng(2);
  for (int iter = 0; iter < 200; ++iter) {
    size_t n = rng() % 300;
    auto data = random_bytes(rng, n);
    Bytes all(data);
    uint32_t one_shot = checksum_accumulate(all);
    size_t split = (rng() % (n + 1)) & ~size_t{1};  // even first piece
    size_t split2 = split + ((rng() % (n - split + 1)) & ~size_t{1});
    uint32_t chained = checksum_accumulate(
        all.subspan(split2), checksum_accumulate(all.subspan(split, split2 - split),
                                                 checksum_accumulate(all.first(split))));
    EXPECT_EQ(checksum_fold(chained), checksum_fold(one_shot)) << "n=" << n << " split=" << split;
    EXPECT_EQ(internet_checksum(all.subspan(split), checksum_accumulate(all.first(split))),
              internet_checksum(all));
  }
}

// Inserting the computed checksum into the data makes the whole verify to zero, wherever
// the (even-aligned) checksum field is and whatever the length.
TEST(Checksum, InsertedChecksumVerifiesToZero) {
  std::mt19937 rng(3);
  for (int iter = 0; iter < 200; ++iter) {
    size_t n = 2 + rng() % 200;
    auto data = random_bytes(rng, n);
    size_t field = (rng() % (n - 1)) & ~size_t{1};
    store_be16(&data[field], 0);
    store_be16(&data[field], internet_checksum(data));
    EXPECT_EQ(internet_checksum(data), 0) << "n=" << n << " field=" << field;
  }
}

// The Linux kernel's checksums verify with our code: IPv4 header (RFC 791 3.1), ICMP
// (RFC 792), TCP over the pseudo-header (RFC 9293 3.1).
TEST(Checksum, KernelChecksumsVerify) {
  using namespace capture;
  for (Bytes f :
       {Bytes(kIcmpEchoRequest), Bytes(kIcmpEchoReply), Bytes(kTcpSyn), Bytes(kTcpSynAck),
        Bytes(kTcpData), Bytes(kTcpFin), Bytes(kTcpSackAck), Bytes(kTcpRst), Bytes(kTcpSynNoTs)}) {
    Bytes ip = f.subspan(kL3, 20);
    EXPECT_EQ(internet_checksum(ip), 0);
    uint16_t total = load_be16(&ip[2]);
    Bytes l4 = f.subspan(kL4, total - 20u);
    Ipv4Addr src{load_be32(&ip[12])}, dst{load_be32(&ip[16])};
    if (ip[9] == 1) {
      EXPECT_EQ(internet_checksum(l4), 0);
    } else {
      EXPECT_EQ(ipv4_l4_checksum(src, dst, 6, l4), 0) << src.to_string() << "->" << dst.to_string();
    }
  }
}

// Recomputing a kernel checksum from scratch (field zeroed) gives the kernel's value.
TEST(Checksum, KernelTcpChecksumRecomputed) {
  using namespace capture;
  std::vector<uint8_t> seg(std::begin(kTcpData) + kL4, std::end(kTcpData));
  ASSERT_EQ(seg.size(), 37u);  // odd: 32-byte header + "ping\n"
  store_be16(&seg[16], 0);
  EXPECT_EQ(ipv4_l4_checksum(kIpA, kIpB, 6, seg), 0x3a25);
}

// RFC 9293 3.1: pseudo-header = src (2 words) + dst (2 words) + zero/protocol + TCP length.
TEST(Checksum, PseudoHeaderSumByHand) {
  constexpr uint32_t s = ipv4_pseudo_header_sum(capture::kIpA, capture::kIpB, 6, 40);
  static_assert(s == 0x0a63 + 0x0001 + 0x0a63 + 0x0002 + 0x0006 + 40);
  EXPECT_EQ(ipv4_pseudo_header_sum(make_ipv4(255, 255, 255, 255), make_ipv4(255, 255, 255, 255),
                                   255, 0xffff),
            4u * 0xffff + 0xff + 0xffff);
  // Equal to summing the 12-byte pseudo-header laid out on the wire.
  const std::array<uint8_t, 12> wire{0x0a, 0x63, 0x00, 0x01, 0x0a, 0x63,
                                     0x00, 0x02, 0x00, 0x06, 0x00, 0x28};
  EXPECT_EQ(checksum_fold(s), checksum_fold(checksum_accumulate(wire)));
}

// What a NIC with TX checksum offload expects: the folded, NOT complemented pseudo-header
// sum in the checksum field; with TSO the length is left out (DPDK rte_ipv4_phdr_cksum).
// Hand-computed for 10.99.0.1 -> 10.99.0.2, TCP, 40 bytes:
//   0x0a63 + 0x0001 + 0x0a63 + 0x0002 = 0x14c9; + 0x0006 = 0x14cf; + 0x0028 = 0x14f7.
// (checksum_dpdk_test.cpp checks the same against DPDK's own function.)
TEST(Checksum, OffloadPseudoChecksumByHand) {
  EXPECT_EQ(ipv4_offload_pseudo_checksum(capture::kIpA, capture::kIpB, 6, 40, false), 0x14f7);
  EXPECT_EQ(ipv4_offload_pseudo_checksum(capture::kIpA, capture::kIpB, 6, 40, true), 0x14cf);
  // Carries out of 16 bits are folded back in: 0xffff * 4 + 0x0006 + 0xffff = 0x50001,
  // folded 0x0001 + 0x5 = 0x0006 (0xffff is -0 in one's complement: only the 6 remains).
  EXPECT_EQ(ipv4_offload_pseudo_checksum(make_ipv4(255, 255, 255, 255),
                                         make_ipv4(255, 255, 255, 255), 6, 0xffff, false),
            0x0006);
}

// Simulating the NIC: seed the field with the offload value, let the "hardware" complement
// the sum over the L4 bytes, and the result is the kernel's full software checksum.
TEST(Checksum, OffloadSeedPlusNicEqualsSoftwareChecksum) {
  using namespace capture;
  struct Case {
    Bytes frame;
    Ipv4Addr src, dst;
  };
  for (const Case& c : {Case{kTcpSyn, kIpA, kIpB}, Case{kTcpSynAck, kIpB, kIpA},
                        Case{kTcpData, kIpA, kIpB}, Case{kTcpSackAck, kIpB, kIpScapy}}) {
    std::vector<uint8_t> seg(c.frame.begin() + kL4, c.frame.end());
    const uint16_t kernel = load_be16(&seg[16]);
    store_be16(&seg[16], ipv4_offload_pseudo_checksum(c.src, c.dst, 6,
                                                      static_cast<uint16_t>(seg.size()), false));
    EXPECT_EQ(internet_checksum(seg), kernel);  // what the NIC writes
  }
}

// RFC 1624 section 3, the worked example: a field m = 0x5555 changes to m' = 0x3285 in a
// header whose other words sum to 0xcd7a. HC = ~(0xcd7a + 0x5555) = 0xdd2f. Recomputing
// gives HC' = ~(0xcd7a + 0x3285) = ~0xffff = 0x0000. Eqn. 2 (HC - ~m - m') would give
// 0xffff (-0); eqn. 3, which checksum_update16 implements, gives the correct 0x0000.
TEST(Checksum, Rfc1624Section3MinusZeroCorner) {
  constexpr uint16_t hc = static_cast<uint16_t>(~checksum_fold(0xcd7a + 0x5555));
  static_assert(hc == 0xdd2f);
  constexpr uint16_t recomputed = static_cast<uint16_t>(~checksum_fold(0xcd7a + 0x3285));
  static_assert(recomputed == 0x0000);
  EXPECT_EQ(checksum_update16(hc, 0x5555, 0x3285), recomputed);
  // The same through real bytes: words 0xcd7a, m, checksum.
  std::array<uint8_t, 6> hdr{0xcd, 0x7a, 0x55, 0x55, 0x00, 0x00};
  store_be16(&hdr[4], internet_checksum(hdr));
  EXPECT_EQ(load_be16(&hdr[4]), 0xdd2f);
  store_be16(&hdr[2], 0x3285);
  store_be16(&hdr[4], checksum_update16(0xdd2f, 0x5555, 0x3285));
  EXPECT_EQ(load_be16(&hdr[4]), 0x0000);
  EXPECT_EQ(internet_checksum(hdr), 0);
}

TEST(Checksum, UpdateWithUnchangedWordIsIdentity) {
  for (uint32_t hc : {0x0000u, 0x0001u, 0x1234u, 0xfffeu}) {
    for (uint32_t m : {0x0000u, 0x8000u, 0xffffu}) {
      EXPECT_EQ(checksum_update16(static_cast<uint16_t>(hc), static_cast<uint16_t>(m),
                                  static_cast<uint16_t>(m)),
                hc)
          << std::hex << hc << " " << m;
    }
  }
}

// RFC 1624: incremental update equals full recomputation. Random IPv4-like headers (first
// word 0x45xx, never all zero), random 16-bit fields changed one after another, several
// updates chained on the same header, 2000 rounds from a fixed seed.
TEST(Checksum, IncrementalUpdate16EqualsRecomputation) {
  std::mt19937 rng(1624);
  for (int round = 0; round < 2000; ++round) {
    auto hdr = random_bytes(rng, 20);
    hdr[0] = 0x45;
    store_be16(&hdr[10], 0);
    store_be16(&hdr[10], internet_checksum(hdr));
    for (int step = 0; step < 5; ++step) {
      size_t word = rng() % 10;
      if (word == 5) continue;  // the checksum field itself
      uint16_t old_word = load_be16(&hdr[word * 2]);
      // Bias towards the interesting values 0x0000 and 0xffff.
      uint16_t new_word = static_cast<uint16_t>(rng() % 4 == 0 ? (rng() % 2 ? 0xffff : 0) : rng());
      if (word == 0) new_word = static_cast<uint16_t>(0x4500 | (new_word & 0xff));
      uint16_t hc = load_be16(&hdr[10]);
      store_be16(&hdr[word * 2], new_word);
      store_be16(&hdr[10], 0);
      uint16_t full = internet_checksum(hdr);
      EXPECT_EQ(checksum_update16(hc, old_word, new_word), full)
          << "round " << round << " word " << word;
      store_be16(&hdr[10], checksum_update16(hc, old_word, new_word));
      EXPECT_EQ(internet_checksum(hdr), 0);
    }
  }
}

// A 32-bit field (an address rewritten by NAT, a sequence number) updated in two halves;
// here on TCP segments from the capture, where an address change enters via the
// pseudo-header and a sequence number change via the header itself.
TEST(Checksum, IncrementalUpdate32EqualsRecomputation) {
  using namespace capture;
  std::mt19937 rng(7);
  std::vector<uint8_t> seg(std::begin(kTcpData) + kL4, std::end(kTcpData));
  Ipv4Addr src = kIpA;
  for (int round = 0; round < 1000; ++round) {
    uint16_t hc = load_be16(&seg[16]);
    if (round % 2 == 0) {
      Ipv4Addr new_src{static_cast<uint32_t>(rng())};
      hc = checksum_update32(hc, src.value, new_src.value);
      src = new_src;
    } else {
      uint32_t old_seq = load_be32(&seg[4]);
      uint32_t new_seq = static_cast<uint32_t>(rng());
      store_be32(&seg[4], new_seq);
      hc = checksum_update32(hc, old_seq, new_seq);
    }
    store_be16(&seg[16], 0);
    EXPECT_EQ(hc, ipv4_l4_checksum(src, kIpB, 6, seg)) << "round " << round;
    store_be16(&seg[16], hc);
    EXPECT_EQ(ipv4_l4_checksum(src, kIpB, 6, seg), 0);
  }
}

// The checksum functions are usable at compile time where declared constexpr.
static_assert(checksum_update16(0xdd2f, 0x5555, 0x3285) == 0x0000);
static_assert(checksum_update32(0x1234, 0xaabbccdd, 0xaabbccdd) == 0x1234);

}  // namespace
}  // namespace pollux::net
