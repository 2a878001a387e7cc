// The applications' callbacks and context, interned (issue 13 item 5): the (events, ctx) pair
// a connection reports to is the same for every connection of a listener, and for most
// connect()s of an application (pollux-server and pollux-gen pass one pair for all), so a TCB
// keeps a 2-byte index into this table instead of 16 B of pointers. A connection holds one
// reference from the moment it has an application (connect(), or its listener's pair when it
// is filed) until the application forgets it (its `closed` event, or a half-open connection
// dropped before it was accepted); a listener holds one while it listens.
//
// Full (TcpConfig::app_bindings distinct pairs live at once): a connect() or listen() with a
// pair no live entry has fails (TcpError::apps_full), counted (tcp_app_bindings_full). An
// accepted connection shares its listener's entry and never needs a new one.
#pragma once

#include "pollux/tcp.hpp"
#include "tcp/intern_table.hpp"

namespace pollux::tcp {

struct AppBinding {
  const AppEvents* events = nullptr;
  void* ctx = nullptr;
};

[[nodiscard]] constexpr bool same_binding(const AppBinding& a, const AppBinding& b) {
  return a.events == b.events && a.ctx == b.ctx;
}

// 24 B an entry and 2 for its place on the free list.
using AppBindings = InternTable<AppBinding, same_binding>;

}  // namespace pollux::tcp
