#include "histogram.hpp"

#include <algorithm>
#include <cmath>

namespace pollux::apps {

void LatencyHistogram::merge(const LatencyHistogram& o) {
  for (size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
  count_ += o.count_;
  sum_ += o.sum_;
  min_ = std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
}

LatencyHistogram LatencyHistogram::snapshot() const {
  LatencyHistogram c;
  for (size_t i = 0; i < kBuckets; ++i) c.counts_[i] = load(counts_[i]);
  c.sum_ = load(sum_);
  c.min_ = load(min_);
  c.max_ = load(max_);
  // The count the buckets add up to, so that percentile ranks stay inside them even when a
  // recording landed between the reads.
  c.count_ = 0;
  for (uint64_t n : c.counts_) c.count_ += n;
  return c;
}

LatencyHistogram LatencyHistogram::since(const LatencyHistogram& earlier) const {
  LatencyHistogram d;
  size_t lowest = kBuckets, highest = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    // A bucket never shrinks between two snapshots of one histogram; clamp anyway, so that a
    // snapshot of something else cannot wrap a count.
    const uint64_t n = counts_[i] > earlier.counts_[i] ? counts_[i] - earlier.counts_[i] : 0;
    d.counts_[i] = n;
    d.count_ += n;
    if (n != 0) {
      lowest = std::min(lowest, i);
      highest = i;
    }
  }
  d.sum_ = sum_ > earlier.sum_ ? sum_ - earlier.sum_ : 0;
  if (d.count_ != 0) {
    d.min_ = bucket_low(lowest);
    d.max_ = bucket_high(highest);
  }
  return d;
}

uint64_t LatencyHistogram::percentile(double p) const {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  // The rank of the recording asked for, 1-based: p50 of 4 values is the 2nd.
  auto rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(bucket_high(i), min(), max_);
  }
  return max_;
}

}  // namespace pollux::apps
