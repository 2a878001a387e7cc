// Monotonic time in nanoseconds. The engine reads a clock once per loop iteration and passes
// `now_ns` down (timer wheel, RTT samples); nothing below the loop reads a clock itself, so the
// simulator drives the same code in virtual time by passing its own `now_ns`.
#pragma once

#include <rte_cycles.h>

#include <cassert>
#include <cstdint>

namespace pollux::stack {

// The TSC, converted to ns. Not rebased: all lcores share one time line (invariant TSC), so
// timestamps may cross cores. Construct after rte_eal_init(), which measures the TSC rate.
class TscClock {
 public:
  TscClock() : hz_(rte_get_tsc_hz()) { assert(hz_ != 0); }

  [[nodiscard]] uint64_t now_ns() const {
    // Split so that cycles * 1e9 cannot overflow: exact, and two divides are noise next to a
    // burst of packets.
    const uint64_t cycles = rte_rdtsc();
    return cycles / hz_ * kNsPerSec + cycles % hz_ * kNsPerSec / hz_;
  }

 private:
  static constexpr uint64_t kNsPerSec = 1'000'000'000;
  uint64_t hz_;
};

}  // namespace pollux::stack
