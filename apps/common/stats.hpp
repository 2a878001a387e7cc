// Counter reporting for the apps: a one-line-per-second progress view and a full summary.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>

#include "pollux/counters.hpp"

namespace pollux::apps {

using CounterSnapshot = std::array<uint64_t, kCounterCount>;

[[nodiscard]] CounterSnapshot snapshot(const std::function<uint64_t(Counter)>& get);

// "[   3s] rx 10 pkt/s 1.2 kB/s | tx 10 pkt/s 1.2 kB/s | drops 0/s (12 total) | arp 1 icmp 1 rst 0"
[[nodiscard]] std::string progress_line(unsigned seconds, const CounterSnapshot& now,
                                        const CounterSnapshot& before);

// Every non-zero counter as "  name  value", one per line, plus the drop total.
[[nodiscard]] std::string summary(const CounterSnapshot& s);

}  // namespace pollux::apps
