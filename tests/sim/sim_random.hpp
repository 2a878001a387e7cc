// The simulator's only source of randomness: a small seeded generator whose output depends
// on nothing but the seed (xoshiro256** seeded through splitmix64), with our own u64 ->
// double and range mapping, so a seed replays bit-identically on every machine and
// standard library.
#pragma once

#include <cstdint>

namespace pollux::sim {

// splitmix64 step: also a good 64-bit mixer for deriving independent sub-seeds.
[[nodiscard]] constexpr uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// A seed for stream `stream` of the run seeded with `seed` (e.g. one per link direction), so
// streams do not overlap and adding a stream does not change the others.
[[nodiscard]] constexpr uint64_t derive_seed(uint64_t seed, uint64_t stream) {
  uint64_t s = seed ^ (stream * 0xd1b54a32d192ed03ull);
  (void)splitmix64(s);
  return splitmix64(s);
}

class Rng {
 public:
  explicit constexpr Rng(uint64_t seed) {
    uint64_t s = seed;
    for (auto& w : s_) w = splitmix64(s);
  }

  [[nodiscard]] constexpr uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1) with 53 bits: exact in IEEE double, the same everywhere.
  [[nodiscard]] constexpr double uniform() {
    return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0);
  }
  // True with probability p (p <= 0: never, p >= 1: always). Always consumes one draw, so the
  // sequence of decisions does not shift when a probability is changed.
  [[nodiscard]] constexpr bool chance(double p) { return uniform() < p; }
  // Uniform in [0, n) for n > 0 (modulo bias below 2^-40 for the n a simulation uses).
  [[nodiscard]] constexpr uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }

 private:
  static constexpr uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4]{};
};

}  // namespace pollux::sim
