// A bounded table of interned values shared by reference count (issue 13 item 5): what most
// connections of a layer have in common -- their options (OptionSets), their callbacks and
// context (AppBindings) -- is kept once here, and a TCB holds a 2-byte id instead of its own
// copy. A holder takes one reference (acquire, or hold of an id it shares) and gives it back
// (release); an entry nobody holds goes back to the table.
//
// Full (every entry held): acquire of a value no live entry has returns kNone, for the caller
// to count and refuse. Nothing here is per segment: lookups happen when a connection or
// listener is made or changed, and a segment reads its entry by index.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace pollux::tcp {

// `Same(a, b)`: whether two values are interchangeable (one entry serves both).
template <class T, auto Same>
class InternTable {
 public:
  using Id = uint16_t;
  static constexpr Id kNone = 0xffff;
  static constexpr uint32_t kMaxEntries = kNone;  // ids 0 .. kNone - 1

  // The table is allocated whole here, never per holder.
  explicit InternTable(uint32_t capacity)
      : entries_(std::clamp<uint32_t>(capacity, 1, kMaxEntries)) {
    free_.reserve(entries_.size());
    for (size_t i = entries_.size(); i-- > 0;) free_.push_back(static_cast<Id>(i));
  }

  [[nodiscard]] const T& get(Id id) const {
    assert(id < entries_.size() && entries_[id].refs > 0);
    return entries_[id].value;
  }

  // A reference to an entry equal to `v`: a live one if there is one, else a new one; kNone
  // when the table is full.
  [[nodiscard]] Id acquire(const T& v) {
    Id id = find(v);
    if (id == kNone) {
      if (free_.empty()) return kNone;
      id = free_.back();
      free_.pop_back();
      entries_[id].value = v;
      ++live_;
      high_ = std::max<uint32_t>(high_, id + 1u);
    }
    ++entries_[id].refs;
    last_ = id;
    return id;
  }
  // One more reference to a live entry (a connection accepted by the listener holding it).
  void hold(Id id) {
    assert(id < entries_.size() && entries_[id].refs > 0);
    ++entries_[id].refs;
  }
  void release(Id id) {
    assert(id < entries_.size() && entries_[id].refs > 0);
    if (--entries_[id].refs != 0) return;
    free_.push_back(id);
    --live_;
  }

  [[nodiscard]] uint32_t live() const { return live_; }
  [[nodiscard]] uint32_t capacity() const { return static_cast<uint32_t>(entries_.size()); }
  [[nodiscard]] static constexpr size_t memory_bytes(uint32_t capacity) {
    return size_t{std::clamp<uint32_t>(capacity, 1, kMaxEntries)} * (sizeof(Entry) + sizeof(Id));
  }

 protected:
  // A live entry equal to `v`: the last one handed out first (an application passes the same
  // values to every connect()), then the others, in a scan of the ids ever lent.
  [[nodiscard]] Id find(const T& v) const {
    if (last_ != kNone && entries_[last_].refs > 0 && Same(entries_[last_].value, v)) return last_;
    for (uint32_t i = 0; i < high_; ++i)
      if (entries_[i].refs > 0 && Same(entries_[i].value, v)) return static_cast<Id>(i);
    return kNone;
  }
  [[nodiscard]] uint32_t refs(Id id) const { return entries_[id].refs; }
  // Changes a live entry in place (its holders all see the change).
  void set(Id id, const T& v) { entries_[id].value = v; }

 private:
  struct Entry {
    T value;
    uint32_t refs = 0;
  };

  std::vector<Entry> entries_;
  std::vector<Id> free_;
  uint32_t live_ = 0;
  uint32_t high_ = 0;  // ids below it were ever lent (the free list lends the lowest first)
  Id last_ = kNone;
};

}  // namespace pollux::tcp
