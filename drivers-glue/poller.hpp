// The per-lcore run-to-completion loop: rx_burst -> engine -> one tx_burst -> timers.
#pragma once

#include <atomic>
#include <cstdint>

#include "stack/engine.hpp"

namespace pollux::dpdk {

inline constexpr uint16_t kRxBurst = 32;

struct Worker {
  stack::Engine* engine = nullptr;
  uint16_t port = 0;
  uint16_t queue = 0;
  const std::atomic<bool>* stop = nullptr;
  uint64_t iterations = 0;  // loop turns, for the idle/busy ratio
  uint64_t busy_iterations = 0;
};

// Runs until *stop becomes true, then flushes what it can and frees the rest. Signature fits
// rte_eal_remote_launch.
int run_worker(void* worker);

// TSC cycles to nanoseconds without overflow for centuries of uptime.
[[nodiscard]] uint64_t tsc_to_ns(uint64_t cycles, uint64_t hz);

}  // namespace pollux::dpdk
