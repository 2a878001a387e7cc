// SipHash-2-4 against the paper's test vectors: key 00 01 .. 0f, messages of length 0..63
// whose bytes are 00 01 02 ..; expected outputs as the little-endian 64-bit integers of the
// reference vector list (the paper's appendix shows the 15-byte case).
#include "tcp/siphash.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

namespace pollux::tcp {
namespace {

constexpr std::array<uint64_t, 64> kVectors = {
    0x726fdb47dd0e0e31, 0x74f839c593dc67fd, 0x0d6c8009d9a94f5a, 0x85676696d7fb7e2d,
    0xcf2794e0277187b7, 0x18765564cd99a68d, 0xcbc9466e58fee3ce, 0xab0200f58b01d137,
    0x93f5f5799a932462, 0x9e0082df0ba9e4b0, 0x7a5dbbc594ddb9f3, 0xf4b32f46226bada7,
    0x751e8fbc860ee5fb, 0x14ea5627c0843d90, 0xf723ca908e7af2ee, 0xa129ca6149be45e5,
    0x3f2acc7f57c29bdb, 0x699ae9f52cbe4794, 0x4bc1b3f0968dd39c, 0xbb6dc91da77961bd,
    0xbed65cf21aa2ee98, 0xd0f2cbb02e3b67c7, 0x93536795e3a33e88, 0xa80c038ccd5ccec8,
    0xb8ad50c6f649af94, 0xbce192de8a85b8ea, 0x17d835b85bbb15f3, 0x2f2e6163076bcfad,
    0xde4daaaca71dc9a5, 0xa6a2506687956571, 0xad87a3535c49ef28, 0x32d892fad841c342,
    0x7127512f72f27cce, 0xa7f32346f95978e3, 0x12e0b01abb051238, 0x15e034d40fa197ae,
    0x314dffbe0815a3b4, 0x027990f029623981, 0xcadcd4e59ef40c4d, 0x9abfd8766a33735c,
    0x0e3ea96b5304a7d0, 0xad0c42d6fc585992, 0x187306c89bc215a9, 0xd4a60abcf3792b95,
    0xf935451de4f21df2, 0xa9538f0419755787, 0xdb9acddff56ca510, 0xd06c98cd5c0975eb,
    0xe612a3cb9ecba951, 0xc766e62cfcadaf96, 0xee64435a9752fe72, 0xa192d576b245165a,
    0x0a8787bf8ecb74b2, 0x81b3e73d20b49b6f, 0x7fa8220ba3b2ecea, 0x245731c13ca42499,
    0xb78dbfaf3a8d83bd, 0xea1ad565322a1a0b, 0x60e61c23a3795013, 0x6606d7e446282b93,
    0x6ca4ecb15c5f91e1, 0x9f626da15c9625f3, 0xe51b38608ef25f57, 0x958a324ceb064572,
};

constexpr std::array<uint8_t, 16> kKeyBytes = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                               0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};

std::vector<uint8_t> counting_message(std::size_t len) {
  std::vector<uint8_t> m(len);
  for (std::size_t i = 0; i < len; ++i) m[i] = static_cast<uint8_t>(i);
  return m;
}

TEST(SipKey, FromBytesIsTwoLittleEndianWords) {
  // Paper appendix A: "k0 = 0706050403020100, k1 = 0f0e0d0c0b0a0908".
  constexpr SipKey k = SipKey::from_bytes(kKeyBytes);
  static_assert(k.k0 == 0x0706050403020100);
  static_assert(k.k1 == 0x0f0e0d0c0b0a0908);
}

TEST(SipHash24, PaperAppendixExample) {
  // Paper appendix A: the 15-byte message 00 01 .. 0e gives a129ca6149be45e5.
  const std::vector<uint8_t> m = counting_message(15);
  EXPECT_EQ(siphash24(SipKey::from_bytes(kKeyBytes), m), 0xa129ca6149be45e5u);
}

TEST(SipHash24, ReferenceVectorsLength0To63) {
  const SipKey key = SipKey::from_bytes(kKeyBytes);
  for (std::size_t len = 0; len < kVectors.size(); ++len) {
    const std::vector<uint8_t> m = counting_message(len);
    EXPECT_EQ(siphash24(key, m), kVectors[len]) << "message length " << len;
  }
}

TEST(SipHash24, TheWordsFormIsTheSameFunctionForEveryLength) {
  // siphash24_words() takes the message as the paper's words: the full 8-byte words and the
  // tail, each read little-endian. Given the reference messages so, it gives the vectors.
  const SipKey key = SipKey::from_bytes(kKeyBytes);
  for (std::size_t len = 0; len < kVectors.size(); ++len) {
    std::vector<uint64_t> words(len / 8, 0);
    uint64_t tail = 0;
    for (std::size_t i = 0; i < len; ++i) {
      const uint64_t byte = uint64_t{static_cast<uint8_t>(i)} << (8 * (i % 8));
      if (i / 8 < words.size())
        words[i / 8] |= byte;
      else
        tail |= byte;
    }
    EXPECT_EQ(siphash24_words(key, words, tail, len), kVectors[len]) << "message length " << len;
  }
}

TEST(SipHash24, ANetworkOrderFieldBecomesItsWordByteSwapped) {
  // Bytes 00 01 .. 07 read big-endian are 0x0001020304050607; as SipHash's word, little-endian.
  static_assert(sip_word_of_be(0x0001020304050607ull) == 0x0706050403020100ull);
}

TEST(SipHash24, EmptySpanWithoutStorage) {
  // An empty span may carry a null pointer; that must still be the length-0 vector.
  EXPECT_EQ(siphash24(SipKey::from_bytes(kKeyBytes), std::span<const uint8_t>{}), kVectors[0]);
}

TEST(SipHash24, AlignmentDoesNotMatter) {
  // Words are assembled byte by byte, so a message at an odd address hashes the same.
  const SipKey key = SipKey::from_bytes(kKeyBytes);
  std::vector<uint8_t> buf(64 + 1);
  for (std::size_t i = 0; i < 64; ++i) buf[i + 1] = static_cast<uint8_t>(i);
  for (std::size_t len = 0; len < 64; ++len) {
    EXPECT_EQ(siphash24(key, std::span<const uint8_t>(buf.data() + 1, len)), kVectors[len]);
  }
}

TEST(SipHash24, LengthIsPartOfTheInput) {
  // The final word carries len mod 256 in its top byte: trailing zero bytes are not padding.
  const SipKey key = SipKey::from_bytes(kKeyBytes);
  const std::vector<uint8_t> zeros(17, 0);
  std::vector<uint64_t> seen;
  for (std::size_t len = 0; len <= zeros.size(); ++len) {
    const uint64_t h = siphash24(key, std::span<const uint8_t>(zeros.data(), len));
    for (uint64_t prev : seen) EXPECT_NE(h, prev) << "length " << len;
    seen.push_back(h);
  }
}

TEST(SipHash24, LongMessageLengthWrapsModulo256) {
  // Messages longer than 255 bytes still hash all their bytes: 300 bytes differing only in the
  // last one hash differently, and the same 300 bytes hash the same twice.
  const SipKey key = SipKey::from_bytes(kKeyBytes);
  std::vector<uint8_t> a(300, 0x5a);
  std::vector<uint8_t> b = a;
  b.back() ^= 1;
  EXPECT_NE(siphash24(key, a), siphash24(key, b));
  EXPECT_EQ(siphash24(key, a), siphash24(key, std::vector<uint8_t>(300, 0x5a)));
}

TEST(SipHash24, EveryKeyBitMatters) {
  const std::vector<uint8_t> m = counting_message(12);
  const uint64_t base = siphash24(SipKey::from_bytes(kKeyBytes), m);
  for (std::size_t bit = 0; bit < 128; ++bit) {
    std::array<uint8_t, 16> kb = kKeyBytes;
    kb[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_NE(siphash24(SipKey::from_bytes(kb), m), base) << "key bit " << bit;
  }
}

}  // namespace
}  // namespace pollux::tcp
