// Where the pollers' cycles went, as the apps print it (issue 13): per lcore and in total,
// busy cycles per TCP segment and per connection (pollux/lcore_load.hpp says how they are
// counted). Pure formatting, unit-tested without DPDK.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pollux/lcore_load.hpp"

namespace pollux::apps {

// The lcores together: turns, cycles, segments and connections summed (a mean of their
// empty turns, weighted by count).
[[nodiscard]] LcoreLoad total_load(const std::vector<LcoreLoad>& lcores);

// "  cpu gen lcore 1: busy 37.1%, 1234 cycles per TCP segment, 45678 per connection
//  (empty turn 85)\n" for each lcore, then a "  cpu gen total: ..." line when there are
// several. Empty for no lcores.
[[nodiscard]] std::string cpu_lines(std::string_view who, const std::vector<LcoreLoad>& lcores);

}  // namespace pollux::apps
