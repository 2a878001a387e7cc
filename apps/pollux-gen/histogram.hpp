// A fixed-size, log-bucketed latency histogram in the spirit of HdrHistogram: values below
// 128 have a bucket each; above, every power of two [2^k, 2^(k+1)) is split into 128 equal
// sub-buckets, so any recorded value is known to within 1/128 (0.78%) of itself (issue 15:
// 1% or better). 7,424 counters (58 KB) cover the whole uint64_t range; recording is a shift,
// a count-leading-zeros and an add.
//
// One thread records (the lcore that owns the connections); another may read at the same
// time (the once-a-second tick, DPDK's telemetry thread) through snapshot(). Every field is
// written and read through relaxed std::atomic_ref: on x86 these are the plain loads and
// stores the recorder did before, and a reader sees each counter whole. A snapshot is not
// one instant (a recording may land between two buckets' reads); the difference of two
// snapshots (since()) is the interval's histogram.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace pollux::apps {

class LatencyHistogram {
 public:
  static constexpr unsigned kSubBits = 7;
  static constexpr unsigned kSub = 1u << kSubBits;  // linear sub-buckets per power of two
  static constexpr size_t kBuckets = (64 - kSubBits + 1) * kSub;

  [[nodiscard]] static constexpr size_t bucket_of(uint64_t v) {
    if (v < kSub) return static_cast<size_t>(v);
    const unsigned k = 63u - static_cast<unsigned>(std::countl_zero(v));  // v in [2^k, 2^k+1)
    const uint64_t sub = (v >> (k - kSubBits)) & (kSub - 1);
    return (k - kSubBits + 1) * kSub + static_cast<size_t>(sub);
  }
  // The smallest and largest value that land in bucket i.
  [[nodiscard]] static constexpr uint64_t bucket_low(size_t i) {
    if (i < kSub) return i;
    const unsigned k = static_cast<unsigned>(i / kSub) + kSubBits - 1;
    return (uint64_t{1} << k) + (static_cast<uint64_t>(i % kSub) << (k - kSubBits));
  }
  [[nodiscard]] static constexpr uint64_t bucket_high(size_t i) {
    if (i < kSub) return i;
    const unsigned k = static_cast<unsigned>(i / kSub) + kSubBits - 1;
    return bucket_low(i) + (uint64_t{1} << (k - kSubBits)) - 1;
  }

  // Only the owning thread records.
  void record(uint64_t v) {
    bump(counts_[bucket_of(v)], 1);
    bump(count_, 1);
    bump(sum_, v);
    if (v < min_) std::atomic_ref<uint64_t>(min_).store(v, std::memory_order_relaxed);
    if (v > max_) std::atomic_ref<uint64_t>(max_).store(v, std::memory_order_relaxed);
  }
  // A copy that is safe to take while the owner records (see the top of this file).
  [[nodiscard]] LatencyHistogram snapshot() const;
  // What was recorded between `earlier` (a snapshot of this histogram) and this one: counts
  // and sum are differences; min and max, not known for the interval, are the edges of its
  // lowest and highest non-empty buckets.
  [[nodiscard]] LatencyHistogram since(const LatencyHistogram& earlier) const;
  void merge(const LatencyHistogram& o);
  void clear() { *this = LatencyHistogram{}; }

  [[nodiscard]] uint64_t count() const { return count_; }
  [[nodiscard]] uint64_t min() const { return count_ ? min_ : 0; }
  [[nodiscard]] uint64_t max() const { return max_; }
  [[nodiscard]] double mean() const {
    return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0;
  }
  // The value at or below which `p` percent of the recordings lie (p in [0, 100]), as the
  // upper edge of its bucket, never above the largest value recorded. 0 when empty.
  [[nodiscard]] uint64_t percentile(double p) const;
  [[nodiscard]] uint64_t bucket_count(size_t i) const { return counts_[i]; }

 private:
  // The owner's own reads need no atomicity: no one else writes.
  static void bump(uint64_t& field, uint64_t by) {
    std::atomic_ref<uint64_t>(field).store(field + by, std::memory_order_relaxed);
  }
  static uint64_t load(const uint64_t& field) {
    return std::atomic_ref<uint64_t>(const_cast<uint64_t&>(field)).load(std::memory_order_relaxed);
  }

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace pollux::apps
