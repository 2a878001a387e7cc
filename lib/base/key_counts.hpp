// A count per 32-bit key in a fixed table (e.g. connections per source address): open
// addressing with linear probing, allocated once, never resized. Deletion shifts the probe
// run back (no tombstones), so a table that fills and empties repeatedly stays as fast as a
// fresh one. Per lcore, no locks. Keys with a count of 0 are not stored.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <memory>

namespace pollux::base {

class KeyCounts {
 public:
  // Room for at least `capacity` distinct keys with the table at most half full.
  explicit KeyCounts(uint32_t capacity)
      : mask_(std::bit_ceil(std::max<uint32_t>(capacity, 8) * 2) - 1),
        slots_(std::make_unique<Slot[]>(size_t{mask_} + 1)) {}

  // Bytes a table for `capacity` keys allocates.
  [[nodiscard]] static size_t memory_bytes(uint32_t capacity) {
    return size_t{std::bit_ceil(std::max<uint32_t>(capacity, 8) * 2)} * sizeof(Slot);
  }

  [[nodiscard]] uint32_t get(uint32_t key) const {
    for (uint32_t i = home(key);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.count == 0) return 0;
      if (s.key == key) return s.count;
    }
  }

  // Adds one to `key`'s count; false (nothing changed) when the table is full.
  bool increment(uint32_t key) {
    for (uint32_t i = home(key);; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.count != 0 && s.key == key) {
        ++s.count;
        return true;
      }
      if (s.count == 0) {
        if (used_ * 2 >= mask_ + 1) return false;  // keep probe runs short
        s = Slot{key, 1};
        ++used_;
        return true;
      }
    }
  }

  // Takes one from `key`'s count (a key not present is left alone).
  void decrement(uint32_t key) {
    uint32_t i = home(key);
    for (;; i = (i + 1) & mask_) {
      if (slots_[i].count == 0) return;
      if (slots_[i].key == key) break;
    }
    if (--slots_[i].count != 0) return;
    --used_;
    // Backward-shift deletion: move later members of the probe run into the hole when their
    // home position does not lie cyclically in (hole, their slot].
    uint32_t hole = i;
    for (uint32_t j = (hole + 1) & mask_; slots_[j].count != 0; j = (j + 1) & mask_) {
      const uint32_t h = home(slots_[j].key);
      const bool stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
      if (stays) continue;
      slots_[hole] = slots_[j];
      slots_[j].count = 0;
      hole = j;
    }
  }

  [[nodiscard]] uint32_t keys() const { return used_; }

 private:
  struct Slot {
    uint32_t key = 0;
    uint32_t count = 0;  // 0: empty
  };
  [[nodiscard]] uint32_t home(uint32_t key) const {
    // Fibonacci hashing: sources in one subnet differ in their low bits.
    return static_cast<uint32_t>((uint64_t{key} * 0x9E3779B97F4A7C15ull) >> 32) & mask_;
  }

  uint32_t mask_;
  std::unique_ptr<Slot[]> slots_;
  uint32_t used_ = 0;
};

}  // namespace pollux::base
