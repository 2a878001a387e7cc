// One lcore's stack as an application sees it: the calls of pollux/tcp.hpp on the
// connections that lcore owns. A thin, non-virtual handle on the engine; use it only on the
// owning lcore (from its event callbacks and iteration hook), or before the pollers start.
// Each call is one direct function call into the stack; nothing here runs per packet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "pollux/addr.hpp"
#include "pollux/tcp.hpp"

namespace pollux {

namespace engine {
class Engine;
}

// One end of a connection.
struct Endpoint {
  Ipv4Addr ip;
  uint16_t port = 0;
};

class Stack {
 public:
  explicit Stack(engine::Engine& engine) : engine_(&engine) {}

  // Passive open on every local address; `events` and `ctx` serve every accepted connection.
  [[nodiscard]] TcpError listen(uint16_t port, const AppEvents* events, void* ctx,
                                uint32_t backlog = 128, const ConnOptions& opts = {});
  void unlisten(uint16_t port);
  // Active open from `local` (one of our addresses; source_address() routes) to
  // remote:remote_port. `local_port` 0 picks an ephemeral port whose replies reach this lcore.
  // Null on failure, with `error` saying why.
  Conn* connect(Ipv4Addr local, Ipv4Addr remote, uint16_t remote_port, const AppEvents* events,
                void* ctx, uint16_t local_port, const ConnOptions& opts, TcpError& error,
                uint64_t now_ns);
  // The same over IPv6 (issue 16): `local` one of our IPv6 addresses.
  Conn* connect(const Ipv6Addr& local, const Ipv6Addr& remote, uint16_t remote_port,
                const AppEvents* events, void* ctx, uint16_t local_port, const ConnOptions& opts,
                TcpError& error, uint64_t now_ns);
  // The size of the connection table (TIME-WAIT included): how many connections an
  // application may have to hold state for at once.
  [[nodiscard]] uint32_t max_connections() const;
  // The address a connection toward `dst` leaves from (the one on dst's subnet, else the
  // primary one).
  [[nodiscard]] Ipv4Addr source_address(Ipv4Addr dst) const;

  size_t send(Conn* c, std::span<const uint8_t> data);  // copies; returns how much fit
  [[nodiscard]] uint32_t send_space(const Conn* c) const;
  // Asks for `writable` as a short send() would, without sending: for an application that
  // writes only whole records (`bytes` long) and found send_space() smaller.
  void want_writable(Conn* c, uint32_t bytes);
  [[nodiscard]] uint32_t readable_bytes(const Conn* c) const;
  size_t peek(const Conn* c, ByteSpan* spans, size_t max) const;  // zero-copy views
  size_t read(Conn* c, uint8_t* out, size_t len);                 // copy + consume
  void consume(Conn* c, uint32_t n);
  void shutdown_write(Conn* c);
  void close(Conn* c);
  void abort(Conn* c);
  bool set_nodelay(Conn* c, bool on);
  bool set_keepalive(Conn* c, bool on, uint64_t idle_ns, uint64_t interval_ns, uint8_t probes);
  bool set_buffers(Conn* c, uint32_t sndbuf, uint32_t rcvbuf);
  [[nodiscard]] ConnInfo info(const Conn* c) const;
  [[nodiscard]] ConnCounts counts(const Conn* c) const;  // ConnInfo's summable part, cheaply

  [[nodiscard]] static Endpoint local(const Conn* c);
  [[nodiscard]] static Endpoint remote(const Conn* c);
  // The application's pointer for a connection (null until set).
  static void set_user(Conn* c, void* p);
  [[nodiscard]] static void* user(const Conn* c);

  // Visits every connection in the table (TIME-WAIT included), e.g. for an `ss`-like dump.
  template <class F>
  void for_each_connection(F&& f) {
    using Fn = std::remove_reference_t<F>;
    for_each_connection([](void* ctx, const Conn* c) { (*static_cast<Fn*>(ctx))(c); },
                        static_cast<void*>(&f));
  }
  void for_each_connection(void (*fn)(void* ctx, const Conn* c), void* ctx);

 private:
  engine::Engine* engine_;
};

}  // namespace pollux
