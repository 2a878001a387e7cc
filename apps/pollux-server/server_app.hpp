// The server's application logic on one lcore: echo, discard, source and HTTP over the
// pollux TCP API. One instance per engine; connections carry a pointer to their state.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "../common/conn_info.hpp"
#include "http.hpp"
#include "pollux/free_list.hpp"
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
  // HTTP response heads are written straight into the send queue; one the queue took only
  // part of keeps its rest in a buffer borrowed from a per-lcore pool until it is out.
  uint64_t head_buffers_borrowed = 0;
  // The pool was empty and the queue could not take the whole head: the response waited
  // (nothing sent, nothing lost) for `writable` or a returned buffer.
  uint64_t head_buffer_waits = 0;
  // A request that did not arrive whole in one segment (or that the fast path leaves to the
  // incremental parser: a body, an error) borrows a parser from a per-lcore pool for as long
  // as it is unfinished.
  uint64_t parsers_lent = 0;
  // The pool was empty when a request needed a parser: answered 503 and closed.
  uint64_t parser_pool_empty = 0;

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
    head_buffers_borrowed += o.head_buffers_borrowed;
    head_buffer_waits += o.head_buffer_waits;
    parsers_lent += o.parsers_lent;
    parser_pool_empty += o.parser_pool_empty;
    return *this;
  }
};

// The longest head write_response makes is 41 + 16 + 26 + 38 + 24 + 24 + 2 = 171 bytes
// (status line of a 505, Server, Content-Type, a 20-digit Content-Length, Allow, Connection:
// keep-alive, the empty line), 208 with a Date.
inline constexpr size_t kServerHeadBytes = 256;
// pollux-server (ServerApp below) in http mode: the unsent rest of a response head, lent
// while the send queue will not take it all.
struct ServerHeadBuffer {
  std::array<uint8_t, kServerHeadBytes> bytes;
  ServerHeadBuffer* next_free = nullptr;  // FreeList's link while not lent
};
// The incremental parser's state (about 120 bytes), lent while a request is unfinished: a
// request that arrives whole is parsed in place (http::parse_whole_head) and needs none.
struct ServerParser {
  http::RequestParser parser;
  // When the unfinished request head began (0: the parser is past the head): the header
  // timeout's start, kept here because only a head in pieces has one, and a head in pieces
  // always holds a parser (issue 13 item 5: 8 B less in every connection's state).
  uint64_t head_since_ns = 0;
  ServerParser* next_free = nullptr;  // FreeList's link while not lent
};
// Per-connection state: one for every connection the layer can hold, idle keep-alive ones
// included, so it keeps no buffer (issue 13: it was 704 bytes, 512 of them a head buffer),
// no parser (it was 176 bytes, 120 of them the parser's) and no header timeout's start (the
// parser's, ServerParser::head_since_ns): 48 bytes (was 64).
struct ServerConnState {
  ServerParser* parser = nullptr;  // borrowed: the request in progress arrived in pieces
  Conn* conn = nullptr;            // the connection while it is ours (the sweep's key)
  // One word for two pointers never needed at once: FreeList's link while the state is free
  // (conn null: the sweeps skip it before reading anything else), the head buffer while it
  // is ours. take() nulls the link; reset() makes `head` the member in use.
  union {
    ServerHeadBuffer* head = nullptr;  // borrowed: bytes [head_off, head_len) still to send
    ServerConnState* next_free;        // FreeList's link while free
  };
  uint64_t active_ns = 0;                // when a byte last moved either way
  uint32_t body_left = 0;                // bytes of the fixed body still to send
  uint16_t head_off = 0, head_len = 0;
  // The decided response: 200 (with the request's version and close_after for persistence)
  // or the error status the request got.
  uint16_t status = 0;
  http::Version version = http::Version::http_1_1;
  // The response is decided (status, version, close_after) and its head is not
  // in the send queue or a buffer yet (head_off of it may be); head_waiting: because the
  // queue could not take it all and no buffer was free (counted in head_waiters_).
  bool head_due = false;
  bool head_waiting = false;
  bool close_after = false;  // close once the response is out (Connection: close, errors)
  bool peer_closed = false;
  bool timed_out = false;  // closed by the sweep (idle or header timeout)

  void reset();
};
// An idle connection's whole application state on this side (bench/hold.sh).
static_assert(sizeof(ServerConnState) <= 48);

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

  using ConnState = ServerConnState;
  using HeadBuffer = ServerHeadBuffer;
  static constexpr size_t kHeadBytes = kServerHeadBytes;
  // Head buffers not lent (tests).
  [[nodiscard]] uint32_t head_buffers_free() const { return heads_.available(); }
  // Parsers not lent (tests).
  [[nodiscard]] uint32_t parsers_free() const { return parsers_.available(); }

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
  bool start_head(Conn* c, ConnState& s);
  void put_head(ConnState& s);
  void retry_head_waiters();
  http::Result parse_request(std::span<const uint8_t> bytes, ConnState& s, size_t& consumed);
  void return_parser(ConnState& s);

  // A 200 head, made at start for each (persistence, version) pair.
  struct OkHead {
    std::array<uint8_t, kHeadBytes> bytes{};
    uint16_t len = 0;
  };
  OkHead& ok_head(bool keep_alive, http::Version v) {
    return ok_heads_[(keep_alive ? 2 : 0) + (v == http::Version::http_1_1 ? 1 : 0)];
  }

  Stack& tcp_;
  ServerOptions opts_;
  AppEvents events_;
  ServerStats stats_;
  ConnTotals conn_totals_;
  std::vector<uint8_t> source_pattern_;
  std::vector<uint8_t> http_body_;
  std::array<OkHead, 4> ok_heads_{};
  FreeList<ConnState> states_;      // one per TCB the layer can hold
  FreeList<HeadBuffer> heads_;      // http mode only
  FreeList<ServerParser> parsers_;  // http mode only
  uint32_t head_waiters_ = 0;       // states with head_waiting set
  bool head_returned_ = false;      // a buffer came back while some waited
  uint64_t next_head_retry_ns_ = 0;
  uint64_t now_ns_ = 0;  // the lcore's time at this loop turn (on_iteration)
  uint64_t next_sweep_ns_ = 0;
};

}  // namespace pollux::apps
