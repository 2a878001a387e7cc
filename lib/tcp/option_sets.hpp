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
#include <cstdint>

#include "pollux/tcp.hpp"
#include "tcp/intern_table.hpp"

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

// The table of a layer's option sets: an InternTable of bounded ConnOptions (48 B a set).
class OptionSets : public InternTable<ConnOptions, same_options> {
 public:
  using Table = InternTable<ConnOptions, same_options>;
  static constexpr uint32_t kMaxSets = kMaxEntries;

  using Table::Table;

  // A reference to a set equal to bounded_options(o): a live one if there is one, else a
  // new one; kNone when the table is full.
  [[nodiscard]] Id acquire(const ConnOptions& o) { return Table::acquire(bounded_options(o)); }
  // Copy on write: the holder of one reference to `id` moves to a set equal to `o` (or `id`
  // itself changes, when that reference is its only one). Returns the holder's set, or kNone
  // (the table full; `id` untouched).
  [[nodiscard]] Id change(Id id, const ConnOptions& o) {
    const ConnOptions b = bounded_options(o);
    if (same_options(get(id), b)) return id;
    if (refs(id) == 1 && find(b) == kNone) {
      set(id, b);
      return id;
    }
    const Id to = acquire(b);
    if (to != kNone) release(id);
    return to;
  }
};

}  // namespace pollux::tcp
