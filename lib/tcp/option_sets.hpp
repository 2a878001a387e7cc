// The connections' option sets, interned (issue 13 item 5): most connections of a layer run
// with one of a few ConnOptions -- their listener's, or the one the application passes to
// every connect() -- so a TCB keeps a 2-byte index into this table instead of its own 40 B
// copy. Sets are reference counted: a TCB holds one reference from init_tcb to release_tcb,
// a listener one while it listens, and a set nobody holds goes back to the table.
//
// Changes (TcpLayer::set_nodelay, set_keepalive, set_buffers) copy on write: a set held by
// its changer alone is changed in place; a shared one is left to the others and the changer
// moves to the set equal to its new options (found, or a new one).
//
// Full (every entry held, TcpConfig::option_sets distinct sets live at once): a connect() or
// listen() whose options match no live set fails (TcpError::options_full), and a change that
// needs a new set is refused (the setter returns false, the connection keeps its options);
// both counted (tcp_option_sets_full). An accepted connection shares its listener's set and
// never needs a new one. Nothing here is per segment: lookups happen at connect(), listen()
// and a change, and a segment reads its set by index.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <vector>

#include "pollux/tcp.hpp"

namespace pollux::tcp {

// The receive buffer a connection gets for `asked` (ConnOptions::rcvbuf): at least 4 KB, at
// most 1 GB, the largest window a shift of 14 can offer (RFC 7323 2.3).
[[nodiscard]] constexpr uint32_t clamp_rcvbuf(uint32_t asked) {
  return std::clamp<uint32_t>(asked, 4096, 1u << 30);
}

// The options a connection runs with: the buffers bounded (at least 4 KB each, the receive
// window at most 1 GB, RFC 7323 2.3), the rest as asked.
[[nodiscard]] constexpr ConnOptions bounded_options(ConnOptions o) {
  o.rcvbuf = clamp_rcvbuf(o.rcvbuf);
  o.sndbuf = std::max<uint32_t>(o.sndbuf, 4096);
  return o;
}

[[nodiscard]] constexpr bool same_options(const ConnOptions& a, const ConnOptions& b) {
  return a.keepalive_idle_ns == b.keepalive_idle_ns &&
         a.keepalive_interval_ns == b.keepalive_interval_ns &&
         a.user_timeout_ns == b.user_timeout_ns && a.sndbuf == b.sndbuf && a.rcvbuf == b.rcvbuf &&
         a.keepalive_probes == b.keepalive_probes && a.nodelay == b.nodelay &&
         a.keepalive == b.keepalive;
}

class OptionSets {
 public:
  using Id = uint16_t;
  static constexpr Id kNone = 0xffff;
  static constexpr uint32_t kMaxSets = kNone;  // ids 0 .. kNone - 1

  // The table is allocated whole here (48 B a set), never per connection.
  explicit OptionSets(uint32_t capacity) : sets_(std::clamp<uint32_t>(capacity, 1, kMaxSets)) {
    free_.reserve(sets_.size());
    for (size_t i = sets_.size(); i-- > 0;) free_.push_back(static_cast<Id>(i));
  }

  [[nodiscard]] const ConnOptions& get(Id id) const {
    assert(id < sets_.size() && sets_[id].refs > 0);
    return sets_[id].opts;
  }

  // A reference to a set equal to bounded_options(o): a live one if there is one, else a
  // new one; kNone when the table is full.
  [[nodiscard]] Id acquire(const ConnOptions& o) {
    const ConnOptions b = bounded_options(o);
    Id id = find(b);
    if (id == kNone) {
      if (free_.empty()) return kNone;
      id = free_.back();
      free_.pop_back();
      sets_[id].opts = b;
      ++live_;
      high_ = std::max<uint32_t>(high_, id + 1u);
    }
    ++sets_[id].refs;
    last_ = id;
    return id;
  }
  // One more reference to a live set (a connection accepted by the listener holding it).
  void hold(Id id) {
    assert(id < sets_.size() && sets_[id].refs > 0);
    ++sets_[id].refs;
  }
  void release(Id id) {
    assert(id < sets_.size() && sets_[id].refs > 0);
    if (--sets_[id].refs != 0) return;
    free_.push_back(id);
    --live_;
  }
  // Copy on write: the holder of one reference to `id` moves to a set equal to `o` (or `id`
  // itself changes, when that reference is its only one). Returns the holder's set, or kNone
  // (the table full; `id` untouched).
  [[nodiscard]] Id change(Id id, const ConnOptions& o) {
    assert(id < sets_.size() && sets_[id].refs > 0);
    const ConnOptions b = bounded_options(o);
    if (same_options(sets_[id].opts, b)) return id;
    if (sets_[id].refs == 1 && find(b) == kNone) {
      sets_[id].opts = b;
      return id;
    }
    const Id to = acquire(b);
    if (to != kNone) release(id);
    return to;
  }

  [[nodiscard]] uint32_t live() const { return live_; }
  [[nodiscard]] uint32_t capacity() const { return static_cast<uint32_t>(sets_.size()); }
  [[nodiscard]] static constexpr size_t memory_bytes(uint32_t capacity) {
    return size_t{std::clamp<uint32_t>(capacity, 1, kMaxSets)} * (sizeof(Set) + sizeof(Id));
  }

 private:
  struct Set {
    ConnOptions opts;
    uint32_t refs = 0;
  };

  // A live set equal to `b`: the last one handed out first (an application passes the same
  // options to every connect()), then the others, in a scan of the ids ever lent.
  [[nodiscard]] Id find(const ConnOptions& b) const {
    if (last_ != kNone && sets_[last_].refs > 0 && same_options(sets_[last_].opts, b)) return last_;
    for (uint32_t i = 0; i < high_; ++i)
      if (sets_[i].refs > 0 && same_options(sets_[i].opts, b)) return static_cast<Id>(i);
    return kNone;
  }

  std::vector<Set> sets_;
  std::vector<Id> free_;
  uint32_t live_ = 0;
  uint32_t high_ = 0;  // ids below it were ever lent (the free list lends the lowest first)
  Id last_ = kNone;
};

}  // namespace pollux::tcp
