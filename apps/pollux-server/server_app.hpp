// The server's application logic on one lcore: echo, discard, source and HTTP over the
// pollux TCP API. One instance per engine; connections carry a pointer to their state.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "../common/conn_info.hpp"
#include "pollux/stack.hpp"
#include "server_options.hpp"

namespace pollux::apps {

struct ServerStats {
  uint64_t accepted = 0;
  uint64_t closed = 0;
  uint64_t resets = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t requests = 0;
  uint64_t bad_requests = 0;
  uint64_t idle_timeouts = 0;    // closed: no byte either way for --idle-timeout
  uint64_t header_timeouts = 0;  // closed: request head incomplete for --header-timeout

  // Totals over the lcores' instances.
  ServerStats& operator+=(const ServerStats& o) {
    accepted += o.accepted;
    closed += o.closed;
    resets += o.resets;
    bytes_in += o.bytes_in;
    bytes_out += o.bytes_out;
    requests += o.requests;
    bad_requests += o.bad_requests;
    idle_timeouts += o.idle_timeouts;
    header_timeouts += o.header_timeouts;
    return *this;
  }
};

class ServerApp {
 public:
  ServerApp(Stack& tcp, const ServerOptions& opts);
  ~ServerApp();
  // Listens on the configured port; false if the port is taken.
  [[nodiscard]] bool start();
  [[nodiscard]] const ServerStats& stats() const { return stats_; }
  // ConnInfo summed over the connections that closed (read after the pollers stopped).
  [[nodiscard]] const ConnTotals& closed_conn_totals() const { return conn_totals_; }
  [[nodiscard]] uint64_t stat(uint64_t ServerStats::*field) const;
  // The runtime's iteration hook for this instance's lcore: the time, and every 250 ms a
  // sweep that closes connections past the idle or header timeout.
  static void on_iteration(void* ctx, uint64_t now_ns);
  void tick(uint64_t now_ns);

  struct ConnState;  // per-connection (http parser, pending response bytes)

 private:
  static void on_accepted(void* ctx, Conn* c);
  static void on_readable(void* ctx, Conn* c);
  static void on_writable(void* ctx, Conn* c);
  static void on_peer_closed(void* ctx, Conn* c);
  static void on_closed(void* ctx, Conn* c, CloseReason why);

  void pump(Conn* c);  // move data as far as the mode and the windows allow
  void pump_echo(Conn* c, ConnState& s);
  void pump_source(Conn* c);
  void pump_http(Conn* c, ConnState& s);
  bool write_pending(Conn* c, ConnState& s);

  Stack& tcp_;
  ServerOptions opts_;
  AppEvents events_;
  ServerStats stats_;
  ConnTotals conn_totals_;
  std::vector<uint8_t> source_pattern_;
  std::vector<uint8_t> http_body_;
  std::vector<std::unique_ptr<ConnState>> pool_;
  std::vector<ConnState*> free_;
  uint64_t now_ns_ = 0;  // the lcore's time at this loop turn (on_iteration)
  uint64_t next_sweep_ns_ = 0;
};

}  // namespace pollux::apps
