// Per-lcore counters. Every drop the engine makes has a name here, so that "where did my
// packet go" is always answered by a counter dump. Counters are written only by the owning
// lcore; other threads (the stats printer) read them with relaxed atomic loads.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

#include "pollux/counters.hpp"

namespace pollux::base {

using pollux::Counter;
using pollux::counter_name;
using pollux::is_drop_counter;
using pollux::kCounterCount;
using pollux::kCounterNames;

class Counters {
 public:
  void inc(Counter c, uint64_t n = 1) {
    // Single writer: a relaxed load+store is enough and compiles to a plain add, no lock.
    std::atomic_ref<uint64_t> v(values_[static_cast<size_t>(c)]);
    v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  [[nodiscard]] uint64_t get(Counter c) const {
    return std::atomic_ref<uint64_t>(values_[static_cast<size_t>(c)])
        .load(std::memory_order_relaxed);
  }
  [[nodiscard]] uint64_t total_drops() const {
    uint64_t sum = 0;
    for (size_t i = 0; i < kCounterCount; ++i)
      if (is_drop_counter(static_cast<Counter>(i))) sum += get(static_cast<Counter>(i));
    return sum;
  }

 private:
  alignas(64) mutable std::array<uint64_t, kCounterCount> values_{};
};

}  // namespace pollux::base
