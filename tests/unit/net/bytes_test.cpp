// Spec for net/bytes.hpp: network byte order (RFC 1700 "Data Notations", RFC 791 Appendix B:
// the most significant octet is transmitted first) on unaligned raw bytes.
#include "net/bytes.hpp"

#include <gtest/gtest.h>

#include <array>
#include <random>

namespace pollux::net {
namespace {

// The loads and stores are constexpr: headers can be built and checked at compile time.
constexpr std::array<uint8_t, 4> kWord{0x0a, 0x63, 0x00, 0x01};
static_assert(load_be16(kWord.data()) == 0x0a63);
static_assert(load_be32(kWord.data()) == 0x0a630001);
constexpr std::array<uint8_t, 8> kDouble{0x80, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0xff};
static_assert(load_be64(kDouble.data()) == 0x80010203040506ffull);
static_assert([] {
  std::array<uint8_t, 6> b{};
  store_be16(b.data(), 0xbeef);
  store_be32(b.data() + 2, 0xdeadc0de);
  return b[0] == 0xbe && b[1] == 0xef && b[2] == 0xde && b[3] == 0xad && b[4] == 0xc0 &&
         b[5] == 0xde;
}());

TEST(Bytes, LoadsAreBigEndian) {
  const std::array<uint8_t, 4> b{0x12, 0x34, 0x56, 0x78};
  EXPECT_EQ(load_be16(b.data()), 0x1234);
  EXPECT_EQ(load_be16(b.data() + 2), 0x5678);
  EXPECT_EQ(load_be32(b.data()), 0x12345678u);
}

TEST(Bytes, HighBitsDoNotSignExtend) {
  const std::array<uint8_t, 4> b{0xff, 0xfe, 0x80, 0x01};
  EXPECT_EQ(load_be16(b.data()), 0xfffe);
  EXPECT_EQ(load_be32(b.data()), 0xfffe8001u);
}

// IPv6 addresses are read as two big-endian halves (IpAddr::high64, the flow hash), at run
// time through the byte-swapped 32-bit loads: the same value as the byte-by-byte definition.
TEST(Bytes, Load64IsBigEndianAtEveryOffset) {
  std::array<uint8_t, 16> b{};
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(0xf0 + i);
  for (size_t off = 0; off <= 8; ++off) {
    uint64_t want = 0;
    for (size_t i = 0; i < 8; ++i) want = (want << 8) | b[off + i];
    EXPECT_EQ(load_be64(b.data() + off), want) << "offset " << off;
  }
}

TEST(Bytes, StoresAreBigEndianAndTouchOnlyTheirBytes) {
  std::array<uint8_t, 8> b{};
  b.fill(0xaa);
  store_be16(b.data() + 1, 0x0102);
  store_be32(b.data() + 3, 0x03040506);
  EXPECT_EQ(b, (std::array<uint8_t, 8>{0xaa, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0xaa}));
}

// The run-time stores (a byte swap and one store on this host) write exactly the bytes of
// the definition, most significant first, for values with every bit pattern of each byte.
TEST(Bytes, RunTimeStoresWriteTheDefinitionsBytes) {
  std::mt19937 rng(791);
  for (int i = 0; i < 10000; ++i) {
    const auto v = static_cast<uint32_t>(rng());
    std::array<uint8_t, 7> b{};
    store_be32(b.data() + 1, v);
    store_be16(b.data() + 5, static_cast<uint16_t>(v));
    const std::array<uint8_t, 7> want{0,
                                      static_cast<uint8_t>(v >> 24),
                                      static_cast<uint8_t>(v >> 16),
                                      static_cast<uint8_t>(v >> 8),
                                      static_cast<uint8_t>(v),
                                      static_cast<uint8_t>(v >> 8),
                                      static_cast<uint8_t>(v)};
    ASSERT_EQ(b, want) << "value " << v << " (draw " << i << ", seed 791)";
  }
}

// Packet fields sit at odd offsets (the Ethernet header is 14 bytes); every offset works.
TEST(Bytes, UnalignedRoundTripAtEveryOffset) {
  for (size_t off = 0; off < 8; ++off) {
    std::array<uint8_t, 16> b{};
    store_be32(b.data() + off, 0x89abcdefu);
    EXPECT_EQ(load_be32(b.data() + off), 0x89abcdefu) << "offset " << off;
    store_be16(b.data() + off + 4, 0x4321);
    EXPECT_EQ(load_be16(b.data() + off + 4), 0x4321) << "offset " << off;
  }
}

}  // namespace
}  // namespace pollux::net
