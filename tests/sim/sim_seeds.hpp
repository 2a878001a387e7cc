// Which seeds a seeded simulation test runs, from the environment:
//
//   (nothing)                 seeds 1 .. default_count (the suite's CI setting)
//   POLLUX_SIM_SEED=n         only seed n (reproduce a failure)
//   POLLUX_SIM_SEEDS=N        N seeds instead of each test's default (e.g. 100000 overnight)
//   POLLUX_SIM_SCALE=x        default_count * x seeds, at least 1 (e.g. 0.25 under ASan)
//   POLLUX_SIM_FIRST_SEED=n   start the range at n instead of 1 (explore fresh seeds)
//
// Every failure message carries repro(seed): the seed and the command line that reruns it.
#pragma once

#include <cstdint>
#include <string>

namespace pollux::sim {

struct SeedRange {
  uint64_t first = 1;
  uint64_t count = 0;

  struct iterator {
    uint64_t v;
    uint64_t operator*() const { return v; }
    iterator& operator++() {
      ++v;
      return *this;
    }
    bool operator==(const iterator&) const = default;
  };
  [[nodiscard]] iterator begin() const { return {first}; }
  [[nodiscard]] iterator end() const { return {first + count}; }
  [[nodiscard]] uint64_t size() const { return count; }
};

[[nodiscard]] SeedRange sim_seeds(uint64_t default_count);

// "seed=<n> (rerun: POLLUX_SIM_SEED=<n> <program> --gtest_filter=<this test>)".
[[nodiscard]] std::string repro(uint64_t seed);

}  // namespace pollux::sim
