// Traffic profiles (issue 15 item 4): what a generator's requests look like and how its rate
// rises. Pure logic, unit-tested apart from the generator (tests/unit/apps/gen_test.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "../common/units.hpp"
#include "gen_options.hpp"

namespace pollux::apps {

// The --dst list (GenOptions::dsts), or the one destination of options built in code.
[[nodiscard]] std::vector<Destination> destinations(const GenOptions& o);
// The HTTP requests a generator sends: one per --dst (its Host), --path and --body-size size,
// in that order ((dst * paths + path) * bodies + body), each with the --header lines and, for
// POST, Content-Length and the body (built once; the generator picks among them).
[[nodiscard]] std::vector<std::string> http_requests(const GenOptions& o);
// How many bodies http_requests() makes per path (1 without a --body-size mix).
[[nodiscard]] size_t http_bodies(const GenOptions& o);

// `V[@W],V[@W],...` (at most kMaxWeighted entries): each V read with `unit` in [min, max],
// each W a whole number in [1, 1000000] (default 1). False with a one-line `error` naming
// `option` otherwise.
inline constexpr size_t kMaxWeighted = 64;
[[nodiscard]] bool parse_weighted_list(std::string_view option, std::string_view text, Unit unit,
                                       uint64_t min, uint64_t max, std::vector<Weighted>& out,
                                       std::string& error);
// The list as --print-config writes it (what parse_weighted_list reads back).
[[nodiscard]] std::string weighted_list_text(const std::vector<Weighted>& list);

// Picks indices in proportion to their weights, deterministically and evenly spread (smooth
// weighted round robin, as nginx's upstreams: each turn every entry gains its weight, the
// richest is picked and pays the total). Over any whole cycle of sum(weights) picks each index
// comes exactly `weight` times, and no run is longer than needed. No allocation per pick.
class WeightedCycle {
 public:
  WeightedCycle() = default;
  explicit WeightedCycle(const std::vector<Weighted>& list);
  [[nodiscard]] size_t next();
  [[nodiscard]] size_t size() const { return weights_.size(); }

 private:
  std::vector<int64_t> weights_, current_;
  int64_t total_ = 0;
};

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

// The rate over time as a fraction of the peak (--rate, or the highest of its steps): --ramp's
// linear rise from 0 to the first step, then each step of --rate A,B,C for --step seconds,
// the last one held to the end. Work, as above, is the integral of the fraction: an open-loop
// schedule at the peak rate in work time is the profile's schedule in real time.
class RateProfile {
 public:
  RateProfile() = default;  // the peak, all the time
  RateProfile(uint64_t ramp_ns, const std::vector<uint32_t>& steps, uint64_t step_ns);
  explicit RateProfile(const GenOptions& o)
      : RateProfile(uint64_t{o.ramp_s} * 1'000'000'000, o.rate_steps,
                    uint64_t{o.step_s} * 1'000'000'000) {}

  [[nodiscard]] bool flat() const { return pieces_.size() == 1 && pieces_[0].f0 == 1.0; }
  [[nodiscard]] double fraction_at(uint64_t t_ns) const;
  [[nodiscard]] uint64_t work_at(uint64_t t_ns) const;
  [[nodiscard]] uint64_t time_for_work(uint64_t work_ns) const;
  // What `peak` per second sends between `from_ns` and `to_ns` (the progress line's target).
  [[nodiscard]] double expected(double peak, uint64_t from_ns, uint64_t to_ns) const {
    return peak * static_cast<double>(work_at(to_ns) - work_at(from_ns)) * 1e-9;
  }

 private:
  // From t0 for len ns (0: for ever, the last) the fraction goes linearly from f0 to f1;
  // w0 is the work done before t0.
  struct Piece {
    uint64_t t0 = 0, len = 0;
    double f0 = 1.0, f1 = 1.0;
    double w0 = 0;
  };
  [[nodiscard]] const Piece& piece_at(uint64_t t_ns) const;
  std::vector<Piece> pieces_{Piece{}};
};

}  // namespace pollux::apps
