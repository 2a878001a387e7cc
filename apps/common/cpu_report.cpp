#include "cpu_report.hpp"

#include <algorithm>
#include <cstdio>

namespace pollux::apps {

LcoreLoad total_load(const std::vector<LcoreLoad>& lcores) {
  LcoreLoad t;
  uint64_t idle_cycles = 0;
  for (const auto& l : lcores) {
    t.tsc_hz = l.tsc_hz;
    t.busy_turns += l.busy_turns;
    t.idle_turns += l.idle_turns;
    idle_cycles += l.empty_turn_cycles * l.idle_turns;
    t.busy_cycles += l.busy_cycles;
    t.segments += l.segments;
    t.connections += l.connections;
    t.stalls += l.stalls;
    t.stalls_after_yield += l.stalls_after_yield;
    t.stalls_over_pto += l.stalls_over_pto;
    t.max_gap_us = std::max(t.max_gap_us, l.max_gap_us);
  }
  t.empty_turn_cycles = t.idle_turns ? idle_cycles / t.idle_turns : 0;
  return t;
}

namespace {
std::string line(std::string_view who, const std::string& which, const LcoreLoad& l) {
  char buf[384];
  const auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  int n = std::snprintf(buf, sizeof buf,
                        "  cpu %.*s %s: busy %.1f%%, %.0f cycles per TCP segment, %.0f per "
                        "connection (empty turn %llu)",
                        static_cast<int>(who.size()), who.data(), which.c_str(),
                        100.0 * l.busy_fraction(), l.cycles_per_segment(),
                        l.cycles_per_connection(), u(l.empty_turn_cycles));
  // Only when the host took the CPU away: what a retransmission on a lossless link may
  // owe to (issue 13).
  if (l.stalls != 0 && n > 0 && static_cast<size_t>(n) < sizeof buf)
    n += std::snprintf(buf + n, sizeof buf - static_cast<size_t>(n),
                       "; stalled %llu times >= 1 ms (%llu after a yield, %llu >= 2 ms, "
                       "longest %.1f ms)",
                       u(l.stalls), u(l.stalls_after_yield), u(l.stalls_over_pto),
                       static_cast<double>(l.max_gap_us) / 1000.0);
  return std::string(buf) + "\n";
}
}  // namespace

std::string cpu_lines(std::string_view who, const std::vector<LcoreLoad>& lcores) {
  std::string s;
  for (const auto& l : lcores) s += line(who, "lcore " + std::to_string(l.lcore), l);
  if (lcores.size() > 1) s += line(who, "total", total_load(lcores));
  return s;
}

}  // namespace pollux::apps
