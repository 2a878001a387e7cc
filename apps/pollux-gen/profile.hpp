// Traffic profiles (issue 15 item 4): what a generator's requests look like and how its rate
// rises. Pure logic, unit-tested apart from the generator (tests/unit/apps/gen_test.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gen_options.hpp"

namespace pollux::apps {

// The HTTP requests a generator sends, one per --path in order, each with the --header lines
// (built once; the generator cycles through them).
[[nodiscard]] std::vector<std::string> http_requests(const GenOptions& o);

// --ramp (issue 15 item 4): the rate rises linearly from 0 to its target over `ramp_ns`. The
// "work" done by `elapsed` ns is how long the full rate would have taken to send as much:
// elapsed^2 / (2 ramp) during the ramp, elapsed - ramp / 2 after. A schedule at the full
// rate in work time becomes the ramped one in real time through the inverse.
[[nodiscard]] inline uint64_t ramp_work_at(uint64_t elapsed_ns, uint64_t ramp_ns) {
  if (elapsed_ns >= ramp_ns) return elapsed_ns - ramp_ns / 2;
  return static_cast<uint64_t>(static_cast<double>(elapsed_ns) * static_cast<double>(elapsed_ns) /
                               (2.0 * static_cast<double>(ramp_ns)));
}
[[nodiscard]] uint64_t ramp_time_for_work(uint64_t work_ns, uint64_t ramp_ns);

}  // namespace pollux::apps
