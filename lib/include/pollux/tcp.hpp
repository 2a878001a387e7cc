// pollux TCP API: what an application uses on the lcore that owns its connections.
//
// Model. Every lcore runs its own stack instance (`pollux::tcp::TcpLayer`, reached through
// the engine). An application registers event callbacks when it listens or connects; they
// run on that lcore, from inside the poll loop, never concurrently. Events are batched: after
// each received burst, each connection gets at most one `readable` and one `writable` call,
// then the stack sends at most one ACK per connection (carrying whatever the application
// wrote in its callbacks).
//
// Calls (all on the owning lcore, through that lcore's pollux::Stack, pollux/stack.hpp):
//   listen(port, events, ctx, backlog)        passive open on every local address
//   connect(local, ip, port, events, ctx, lport, ...)
//                                             active open; lport 0 picks an ephemeral port
//   send(conn, bytes)                         copies into mbufs; returns how much fit
//   readable_bytes(conn) / peek(conn, spans) / consume(conn, n)
//                                             zero-copy views of received data, then release
//   shutdown_write(conn)                      send FIN after queued data (half-close)
//   close(conn)                               shutdown_write + discard further input; the
//                                             connection is gone after the `closed` event
//   abort(conn)                               RST now; `closed` follows with `aborted`
//   set_nodelay / set_keepalive / set_buffers / info
//                                             per-connection options and a TCP_INFO snapshot
// A Conn pointer is valid from `accepted`/`connected` (or from connect() returning it) until
// the `closed` event returns; using it afterwards is a bug.
#pragma once

#include <cstdint>

namespace pollux::tcp {
struct Tcb;
}

namespace pollux {

using Conn = tcp::Tcb;

// A view of received bytes still owned by the stack (one mbuf's worth): valid until
// consume() releases them or the event handler returns.
struct ByteSpan {
  const uint8_t* data = nullptr;
  uint32_t len = 0;
};

enum class CloseReason : uint8_t {
  normal,        // both directions closed in order (FIN exchange)
  reset,         // the peer sent RST
  refused,       // active open answered with RST (connection refused)
  timeout,       // retransmissions, SYN retries or keepalive probes exhausted
  aborted,       // this side called abort()
  no_resources,  // the stack could not continue (table full on accept; never silently)
};

[[nodiscard]] constexpr const char* close_reason_name(CloseReason r) {
  switch (r) {
    case CloseReason::normal:
      return "normal";
    case CloseReason::reset:
      return "reset";
    case CloseReason::refused:
      return "refused";
    case CloseReason::timeout:
      return "timeout";
    case CloseReason::aborted:
      return "aborted";
    case CloseReason::no_resources:
      return "no-resources";
  }
  return "?";
}

// Event callbacks. Any may be null. `ctx` is the pointer given to listen()/connect().
// Plain function pointers: one indirect call per connection per burst, never per packet.
struct AppEvents {
  void (*accepted)(void* ctx, Conn* c) = nullptr;     // passive open reached ESTABLISHED
  void (*connected)(void* ctx, Conn* c) = nullptr;    // active open reached ESTABLISHED
  void (*readable)(void* ctx, Conn* c) = nullptr;     // new in-order data (see peek())
  void (*writable)(void* ctx, Conn* c) = nullptr;     // send space opened after send() was short
  void (*peer_closed)(void* ctx, Conn* c) = nullptr;  // FIN received: no more data will come
  void (*closed)(void* ctx, Conn* c, CloseReason why) = nullptr;  // last event for `c`
};

// SYN cookies (RFC 4987 3.6): when a listener answers a SYN without keeping state.
// `automatic`: when its SYN-RECEIVED queue (the backlog) is full, instead of dropping the SYN;
// `always`: every SYN (hosts that expect floods, tests); `never`: a full queue drops the SYN.
enum class SynCookieMode : uint8_t { automatic, always, never };

// Every TCB holds a copy: the fields are ordered by size so that it takes 40 bytes, not 48
// (issue 13 item 5).
struct ConnOptions {
  uint64_t keepalive_idle_ns = 7200ull * 1'000'000'000;
  uint64_t keepalive_interval_ns = 75ull * 1'000'000'000;
  // RFC 9293 3.8.3 USER TIMEOUT: how long data may wait unacknowledged, or behind a window
  // the peer keeps at zero, before the connection is ended (closed with `timeout`).
  // 0: the stack's (TcpConfig::user_timeout_ns).
  uint64_t user_timeout_ns = 0;
  uint32_t sndbuf = 256 * 1024;  // bytes queued (unsent + unacknowledged)
  uint32_t rcvbuf = 256 * 1024;  // receive window ceiling (in-order + out-of-order)
  uint8_t keepalive_probes = 9;
  bool nodelay = false;    // disable Nagle (RFC 9293 3.7.4)
  bool keepalive = false;  // RFC 9293 3.8.4 / RFC 1122 4.2.3.6
};

// The part of ConnInfo that adds up over connections (loss recovery counts and the options
// the handshake agreed on), for a summary taken at every close: it reads only counters,
// where ConnInfo walks the SACK scoreboard and formats the state (issue 13 item 4).
struct ConnCounts {
  uint32_t retransmits = 0;  // segments retransmitted over the connection's life
  uint32_t timeouts = 0, fast_recoveries = 0, dsacks = 0, spurious_undos = 0;
  // Retransmissions the peer reported receiving twice (D-SACK, RFC 2883): they were not
  // needed, the original had arrived (a delay, e.g. a poller that lost its CPU, not a loss).
  uint32_t spurious_retransmits = 0;
  uint32_t tlp_probes = 0;  // tail loss probes sent (RFC 8985)
  bool wscale = false, sack = false, timestamps = false;
};

// A TCP_INFO-like snapshot: the counts (filled by the same code as TcpLayer::counts) and
// the connection as it is now.
struct ConnInfo : ConnCounts {
  const char* state = "";
  uint32_t srtt_us = 0, rttvar_us = 0, rto_us = 0;
  uint32_t snd_mss = 0, rcv_mss = 0;
  uint32_t cwnd = 0, ssthresh = 0;  // bytes
  uint32_t bytes_in_flight = 0;
  uint32_t snd_wnd = 0, rcv_wnd = 0;
  uint64_t bytes_sent = 0, bytes_acked = 0, bytes_received = 0;
  // Loss recovery and congestion control (issue 4).
  const char* cc = "";        // congestion control algorithm ("cubic", "newreno")
  const char* ca_state = "";  // "open", "disorder" (dup ACKs), "recovery", "loss" (RTO)
  uint32_t pipe = 0;          // RFC 6675 pipe (SACK) or bytes in flight
  uint32_t sacked_bytes = 0;  // bytes above snd_una the peer reported holding
  uint32_t lost_bytes = 0;    // bytes deemed lost by the scoreboard (SACK)
  uint64_t delivered = 0;     // bytes the peer acknowledged cumulatively or SACKed
  uint32_t reordering = 0;    // DupThresh in segments (3, raised by spurious recoveries)
  // RACK-TLP (RFC 8985), when on (it needs SACK).
  bool rack = false;
  uint32_t rack_min_rtt_us = 0;  // RACK.min_RTT
  uint32_t rack_reo_wnd_us = 0;  // the reordering window now
  uint32_t rack_lost = 0;        // loss verdicts by time
  uint32_t sndq_bytes = 0, rcvq_bytes = 0, ooo_bytes = 0;
};

enum class TcpError : uint8_t {
  ok,
  table_full,         // connection table at its configured size
  port_in_use,        // listen: already listening; connect: explicit local port busy
  no_ephemeral_port,  // every ephemeral port toward that destination is taken
  no_route,           // destination not on a local subnet and no gateway
  invalid,            // bad argument (port 0, own address, ...)
  backlog_full,       // listener table full
  options_full,       // connect/listen: options unlike every live set, and no room for one
  apps_full,          // connect/listen: (events, ctx) unlike every live pair, and no room
};

}  // namespace pollux
