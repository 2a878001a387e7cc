#include "tcp/siphash.hpp"

#include <bit>
#include <cstddef>
#include <cstring>

namespace pollux::tcp {
namespace {

// The internal state v0..v3 (paper section 2.1).
struct SipState {
  uint64_t v0, v1, v2, v3;

  // SipRound: the ARX network of paper figure 2.1.
  void round() {
    v0 += v1;
    v1 = std::rotl(v1, 13);
    v1 ^= v0;
    v0 = std::rotl(v0, 32);
    v2 += v3;
    v3 = std::rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = std::rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = std::rotl(v1, 17);
    v1 ^= v2;
    v2 = std::rotl(v2, 32);
  }

  // Compression of one message word m_i: "v3 ^= m_i, c SipRounds, v0 ^= m_i" (c = 2).
  void compress(uint64_t m) {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }

  // Initialisation: the key xored with the ASCII of "somepseudorandomlygeneratedbytes".
  explicit SipState(const SipKey& key)
      : v0(key.k0 ^ 0x736f6d6570736575ull),
        v1(key.k1 ^ 0x646f72616e646f6dull),
        v2(key.k0 ^ 0x6c7967656e657261ull),
        v3(key.k1 ^ 0x7465646279746573ull) {}

  // The last word: the 0..7 remaining bytes `tail`, zero padded, with len mod 256 in the top
  // byte, so that messages differing only in trailing zero bytes hash differently. Then
  // finalisation: "v2 ^= 0xff, d SipRounds" (d = 4); the output folds the whole state.
  uint64_t finish(uint64_t tail, std::size_t len) {
    compress(tail | (static_cast<uint64_t>(len & 0xff) << 56));
    v2 ^= 0xff;
    for (int i = 0; i < 4; ++i) round();
    return v0 ^ v1 ^ v2 ^ v3;
  }
};

// Bytes [0, n) of p as a little-endian integer (n <= 8). Portable whatever the host order:
// one load on a little-endian host.
uint64_t load_le(const uint8_t* p, std::size_t n) {
  uint64_t w = 0;
  if constexpr (std::endian::native == std::endian::little) {
    // An empty message may have no storage at all (p null): memcpy must not be given it.
    if (n != 0) std::memcpy(&w, p, n);
  } else {
    for (std::size_t i = n; i > 0; --i) w = (w << 8) | p[i - 1];
  }
  return w;
}

}  // namespace

uint64_t siphash24(const SipKey& key, std::span<const uint8_t> message) {
  SipState s(key);
  const std::size_t len = message.size();
  const std::size_t full_words = len / 8;
  for (std::size_t i = 0; i < full_words; ++i) s.compress(load_le(message.data() + 8 * i, 8));
  return s.finish(load_le(message.data() + 8 * full_words, len % 8), len);
}

uint64_t siphash24_words(const SipKey& key, std::span<const uint64_t> words, uint64_t tail,
                         std::size_t len) {
  SipState s(key);
  for (const uint64_t w : words) s.compress(w);
  return s.finish(tail, len);
}

}  // namespace pollux::tcp
