// SipHash-2-4 (Aumasson & Bernstein, "SipHash: a fast short-input PRF", 2012): a keyed 64-bit
// pseudorandom function. Here it is the F() of RFC 6528 (ISNs), and later SYN cookies: short
// inputs (a 12-byte 4-tuple), a secret 128-bit key, and an output an off-path attacker cannot
// predict. Written from the paper's description; checked against the paper's test vectors.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace pollux::tcp {

// The 128-bit key as the paper's two 64-bit words: k0 is key bytes 0..7 and k1 bytes 8..15,
// each read little-endian (paper section 2, "k0 and k1 ... little-endian").
struct SipKey {
  uint64_t k0 = 0;
  uint64_t k1 = 0;

  [[nodiscard]] static constexpr SipKey from_bytes(std::span<const uint8_t, 16> key) {
    SipKey k;
    for (int i = 7; i >= 0; --i) {
      k.k0 = (k.k0 << 8) | key[static_cast<std::size_t>(i)];
      k.k1 = (k.k1 << 8) | key[static_cast<std::size_t>(i) + 8];
    }
    return k;
  }

  friend constexpr bool operator==(const SipKey&, const SipKey&) = default;
};

// SipHash-2-4 of `message` under `key`: 2 compression rounds per 8-byte word, 4 finalisation
// rounds. The result is the paper's 64-bit integer; its little-endian bytes are the 8 output
// bytes listed in the paper's appendix and the reference vectors.
[[nodiscard]] uint64_t siphash24(const SipKey& key, std::span<const uint8_t> message);

// The same function of a message given as the paper's words (section 2): `words` its full
// 8-byte words m_0.. read little-endian, `tail` its last len mod 8 bytes read little-endian
// (zero above them), `len` its length in bytes. For callers whose message is a few fixed
// fields (the SYN cookie's and ISN's 4-tuple): they put the words together from the fields
// and skip laying out bytes only to read them back (tests/unit/tcp/siphash_test.cpp checks
// both forms agree).
[[nodiscard]] uint64_t siphash24_words(const SipKey& key, std::span<const uint64_t> words,
                                       uint64_t tail, std::size_t len);

// The little-endian word of 8 message bytes whose value, read big-endian (network order), is
// `be`: how a message of network-order fields becomes SipHash's words.
[[nodiscard]] constexpr uint64_t sip_word_of_be(uint64_t be) {
  return __builtin_bswap64(be);
}

}  // namespace pollux::tcp
