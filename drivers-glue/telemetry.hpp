// DPDK telemetry commands (issue 15.1), readable with dpdk-telemetry.py or any client of the
// EAL's telemetry socket (/var/run/dpdk/PREFIX/dpdk_telemetry.v2):
//   /pollux/counters[,NAME]  every named counter summed over the lcores
//   /pollux/lcore_counters[,NAME]  every named counter as an array, one value per lcore in
//                            "lcores" order (its own command: a telemetry dict holds 256)
//   /pollux/lcores[,NAME]    per lcore: queue, busy and idle turns and cycles, busy share,
//                            segments, connections, steering (Runtime::load())
//   /pollux/ports[,NAME]     the port line, link, rte_eth_stats and xstats
//   /pollux/conns[,NAME][,LIMIT]  open connections (ConnInfo columns), at most LIMIT
//                            (default 64, at most 512); each lcore copies its own in its
//                            loop (Worker::conns), the telemetry thread waits up to 200 ms;
//                            "time_wait": TIME-WAIT records, counted, not listed
//   /pollux/runtimes         the names NAME may take (the app's runtimes: "server", "gen",
//                            "local_server"); without NAME, the first
// Commands run on the EAL's telemetry thread: they read counters with relaxed atomic loads
// (as the once-a-second tick does) and never touch an engine. A runtime is readable from
// when its pollers are set up until it is destroyed.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace pollux::dpdk {

class Runtime;

void telemetry_add(const std::string& name, const Runtime* rt);
void telemetry_remove(const Runtime* rt);

// An application's own command (e.g. /pollux/gen): `fill` runs on the telemetry thread and
// returns name/value pairs (names of letters, digits, '_' and '/').
using TelemetryValues = std::vector<std::pair<std::string, uint64_t>>;
void telemetry_add_command(const std::string& cmd, const std::string& help,
                           std::function<TelemetryValues()> fill);
// After it returns, `fill` is not running and will not run again.
void telemetry_remove_command(const std::string& cmd);

}  // namespace pollux::dpdk
