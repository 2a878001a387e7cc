#include "cpu_report.hpp"

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
  }
  t.empty_turn_cycles = t.idle_turns ? idle_cycles / t.idle_turns : 0;
  return t;
}

namespace {
std::string line(std::string_view who, const std::string& which, const LcoreLoad& l) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "  cpu %.*s %s: busy %.1f%%, %.0f cycles per TCP segment, %.0f per connection "
                "(empty turn %llu)\n",
                static_cast<int>(who.size()), who.data(), which.c_str(), 100.0 * l.busy_fraction(),
                l.cycles_per_segment(), l.cycles_per_connection(),
                static_cast<unsigned long long>(l.empty_turn_cycles));
  return buf;
}
}  // namespace

std::string cpu_lines(std::string_view who, const std::vector<LcoreLoad>& lcores) {
  std::string s;
  for (const auto& l : lcores) s += line(who, "lcore " + std::to_string(l.lcore), l);
  if (lcores.size() > 1) s += line(who, "total", total_load(lcores));
  return s;
}

}  // namespace pollux::apps
