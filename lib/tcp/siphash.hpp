// SipHash-2-4 (Aumasson & Bernstein, "SipHash: a fast short-input PRF", 2012): a keyed 64-bit
// pseudorandom function. Here it is the F() of RFC 6528 (ISNs), and later SYN cookies: short
// inputs (a 12-byte 4-tuple), a secret 128-bit key, and an output an off-path attacker cannot
// predict. Written from the paper's description; checked against the paper's test vectors.
#pragma once

#include <array>
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

}  // namespace pollux::tcp
