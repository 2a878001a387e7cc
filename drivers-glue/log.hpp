// pollux's own DPDK log type (issue 15 item 5), so that `--log-level=pollux:debug` shows the
// start-up diagnostics (EAL arguments, device capabilities, descriptor and pool sizes) and the
// default shows warnings and errors only. Never on the per-packet path.
#pragma once

#include <rte_log.h>

namespace pollux::dpdk {

// Registered on first use, after the EAL parsed --log-level (it picks the level given there).
[[nodiscard]] int log_type();

}  // namespace pollux::dpdk

#define POLLUX_LOG(level, fmt, ...) \
  rte_log(RTE_LOG_##level, ::pollux::dpdk::log_type(), "pollux: " fmt "\n", ##__VA_ARGS__)
