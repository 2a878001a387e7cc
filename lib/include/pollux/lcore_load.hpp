// What a polling lcore spent its cycles on (pollux::Runtime::load(), drivers-glue/poller.cpp).
#pragma once

#include <cstdint>

namespace pollux {

// Where one polling lcore's time went (issue 13): the cycles of the turns that did work, less
// what an empty turn costs (the poller spins: its wall time says nothing), divided by what
// the work was. A TCP segment counts once whether received or sent.
struct LcoreLoad {
  unsigned lcore = 0;
  uint64_t tsc_hz = 0;
  uint64_t busy_turns = 0;         // turns that received, steered or sent something
  uint64_t idle_turns = 0;         // turns that found nothing to do
  uint64_t empty_turn_cycles = 0;  // the mean cost of an idle turn, in TSC cycles
  uint64_t busy_cycles = 0;        // the busy turns' cycles, each less empty_turn_cycles
  uint64_t segments = 0;           // tcp_segs_in + tcp_segs_out on this lcore
  uint64_t connections = 0;        // tcp_active_opens + tcp_passive_opens on this lcore
  // Stalls: the lcore did not poll for 1 ms or more (the host ran something else on its
  // CPU), of them after a sched_yield of an idle poller, and of 2 ms or more (a tail loss
  // probe's floor: a peer's probe may fire meanwhile with nothing lost); the longest gap
  // between two turns, in microseconds.
  uint64_t stalls = 0;
  uint64_t stalls_after_yield = 0;
  uint64_t stalls_over_pto = 0;
  uint64_t max_gap_us = 0;
  [[nodiscard]] double cycles_per_segment() const {
    return segments ? static_cast<double>(busy_cycles) / static_cast<double>(segments) : 0;
  }
  [[nodiscard]] double cycles_per_connection() const {
    return connections ? static_cast<double>(busy_cycles) / static_cast<double>(connections) : 0;
  }
  // The busy share of the lcore's polling time: idle turns at their mean, busy ones at the
  // work plus the fixed cost.
  [[nodiscard]] double busy_fraction() const {
    const double fixed = static_cast<double>(empty_turn_cycles);
    const double idle = static_cast<double>(idle_turns) * fixed;
    const double busy = static_cast<double>(busy_cycles) + static_cast<double>(busy_turns) * fixed;
    return idle + busy > 0 ? busy / (idle + busy) : 0;
  }
};

}  // namespace pollux
