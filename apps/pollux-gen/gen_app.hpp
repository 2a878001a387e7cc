// The load generator's work on one lcore: opens connections toward --dst from the poll
// loop's per-iteration hook, drives requests and responses from the TCP events, classifies
// every failure, and records latencies. One instance per engine; all of it runs on that
// engine's lcore. The counters are read once a second by another thread (relaxed atomics:
// a single writer, so a load and a store, never a locked add).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../common/conn_info.hpp"
#include "gen_options.hpp"
#include "histogram.hpp"
#include "http_response.hpp"
#include "pollux/free_list.hpp"
#include "pollux/stack.hpp"
#include "profile.hpp"
#include "sources.hpp"

namespace pollux::apps {

// Written by the owning lcore only, readable from anywhere.
class StatCounter {
 public:
  void add(uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void sub(uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
  }
  [[nodiscard]] uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

struct GenStats {
  StatCounter opens;        // connect() calls that sent a SYN
  StatCounter established;  // connected events
  StatCounter closes;       // connections we finished (close or abort)
  StatCounter requests;     // complete, good responses
  StatCounter bytes_tx;     // application bytes accepted by send()
  StatCounter bytes_rx;     // application bytes read
  StatCounter active;       // established and not yet finished (a gauge)
  StatCounter reconnects;   // rps: the server closed a keep-alive connection after a response
  // Errors, by cause.
  StatCounter refused;       // RST answering our SYN
  StatCounter reset;         // RST on an established connection
  StatCounter timeout;       // SYN or data retransmissions exhausted
  StatCounter bad_response;  // malformed, non-2xx, or more bytes than expected
  StatCounter non_2xx;       // the part of bad_response that was a well-formed non-2xx
  StatCounter closed_early;  // FIN before the response (or, in bulk/hold, at all)
  StatCounter local;         // connect() failed here (table full) or no resources
  // Turns that found no free ephemeral port on any source address: every tuple held, most by
  // our own TIME-WAIT (reused only with timestamps, a second on: RFC 6191). A wait, tried
  // again next turn, not an error: no connection was attempted.
  StatCounter port_waits;
  // http: responses that did not arrive whole in one span and borrowed a parser (not errors).
  StatCounter parsers_lent;
  // http: a response needed a parser and every one of --parsers was lent: the connection was
  // aborted, counted as a `local` error too (its slot reopens next turn).
  StatCounter parser_pool_empty;
  [[nodiscard]] uint64_t errors() const {
    return refused.get() + reset.get() + timeout.get() + bad_response.get() + closed_early.get() +
           local.get();
  }
};

// One --dst's share of the run (all of it with one destination).
struct DestStats {
  StatCounter opens, established, requests, errors;
};

// The incremental response reader (about 80 B), lent from a per-lcore pool while a response
// is unfinished: one that arrives whole in one span is read in place
// (http::parse_whole_response) and needs none.
struct GenParser {
  http::ResponseParser parser;
  GenParser* next_free = nullptr;  // FreeList's link while not lent
};
// Per-connection state: one for every connection this lcore may have open, idle held ones
// included, so it keeps no parser (issue 13: it was 160 B plus 8 in a vector of free ones, 72
// of them the parser's), one field for two times never needed at once, and 32-bit fields
// where the options bound the value. Times stay 64-bit ns: latencies and schedules are exact
// whatever the run's length.
struct GenConnState {
  Conn* conn = nullptr;
  // One word for two pointers never needed at once (issue 13 item 5: 64 -> 56 B): the
  // parser while the state is lent, FreeList's link while it is free (conn null: conn_totals
  // skips it). Returned states hold no parser (release); a lent one is made anew
  // (open_one: ConnState{}), which makes `parser` the member in use.
  union {
    GenParser* parser = nullptr;  // http: lent while the current response is unfinished
    GenConnState* next_free;      // FreeList's link while free
  };
  // connect() called until established (connect latency); then when the current request
  // counts as sent (response latency). ns on the poll loop's clock.
  uint64_t t_mark = 0;
  // Open-loop rps: when the next request is due, as ns on the clock; with a --ramp or stepped
  // --rate, as full-rate time since the start instead (RateProfile's work, which maps
  // monotonically to the clock: due_ orders by it either way). GenApp::due_time reads it.
  uint64_t due = 0;
  // Sizes are at most 2^30 bytes (--req-size, --resp-size; a request at most 1 MiB of body
  // plus its head): 32 bits hold them exactly.
  uint32_t req_left = 0;   // request bytes still to send
  uint32_t req_off = 0;    // position in requests_[req_index] (raw payloads cycle through it)
  uint32_t resp_left = 0;  // raw: response bytes still expected
  uint32_t req_index = 0;  // which of requests_ the current request is
  uint32_t dst = 0;        // which --dst the connection went to
  bool established = false;
  bool in_request = false;    // a request is outstanding
  bool waiting = false;       // open-loop rps: in due_ until due
  bool resp_started = false;  // raw: a byte of the current response arrived
};
// An idle connection's whole application state on this side (bench/hold.sh).
static_assert(sizeof(GenConnState) <= 56);

class GenApp {
 public:
  // `share` is this lcore's part of --connections (or --concurrency for cps), `rate` its part
  // of --rate (0: unlimited).
  // `sources`: the local addresses connections are opened from (several multiply the
  // ephemeral port space toward one server; see SourceAddresses).
  GenApp(Stack& tcp, std::vector<Ipv4Addr> sources, std::vector<Ipv6Addr> sources6,
         const GenOptions& opts, uint32_t share, double rate);
  ~GenApp();
  GenApp(const GenApp&) = delete;
  GenApp& operator=(const GenApp&) = delete;

  // Worker::on_iteration: opens connections as the mode, the rate and the pool allow.
  static void on_iteration(void* ctx, uint64_t now_ns);

  [[nodiscard]] const GenStats& stats() const { return stats_; }
  // Per --dst, in the order given.
  [[nodiscard]] const std::vector<DestStats>& dst_stats() const { return dst_stats_; }
  // Read these after the pollers stopped.
  [[nodiscard]] const LatencyHistogram& connect_latency() const { return connect_ns_; }
  [[nodiscard]] const LatencyHistogram& response_latency() const { return response_ns_; }
  // ConnInfo summed over every connection that reached ESTABLISHED: those we finished (as
  // they were when we let go of them) and those still open now.
  [[nodiscard]] ConnTotals conn_totals();

  using ConnState = GenConnState;

 private:
  static void on_connected(void* ctx, Conn* c);
  static void on_readable(void* ctx, Conn* c);
  static void on_writable(void* ctx, Conn* c);
  static void on_peer_closed(void* ctx, Conn* c);
  static void on_closed(void* ctx, Conn* c, CloseReason why);

  [[gnu::noinline]] void tick(uint64_t now);  // out of line: on_iteration's fast path stays small
  bool open_one();
  // `t_request` is when the request counts as sent for latency: now, or in open loop when
  // it was due.
  void start_request(ConnState& s, uint64_t t_request);
  void wait_until_due(ConnState& s);
  void send_due();
  void write_request(ConnState& s);
  void read_response(ConnState& s);
  // A whole response: its status and whether the connection persists after it.
  struct Outcome {
    int status = 200;
    bool keep_alive = true;
  };
  void response_done(ConnState& s, Outcome out);
  // One span of an http response: in place when it holds the whole response, else through a
  // parser lent until the response is done (`done`: it is, `out` says how). False when the
  // connection was finished (a bad response, or no parser to lend), the error counted.
  bool read_http(ConnState& s, std::span<const uint8_t> span, size_t& used, bool& done,
                 Outcome& out);
  void return_parser(ConnState& s);
  // Open loop: when s's next request is due on the clock (ConnState::due).
  [[nodiscard]] uint64_t due_time(const ConnState& s) const;
  void pump_bulk(ConnState& s);
  void drain(ConnState& s);
  // Ends our use of the connection: close (FIN) or abort (RST); the state goes back to the
  // pool at once (the `closed` event that follows finds no state and is ignored).
  void finish(ConnState& s, bool abort);
  void release(ConnState& s);
  // An error of kind `c` on `s`'s connection, also counted against its destination.
  void count_error(const ConnState& s, StatCounter& c);

  Stack& tcp_;
  SourceAddresses sources_;
  SourceAddresses6 sources6_;  // for IPv6 destinations
  GenOptions opts_;
  uint32_t share_;
  double rate_;
  bool open_loop_;            // rps with --rate: requests on a schedule
  uint64_t interval_ns_ = 0;  // open loop: per connection, between requests
  uint64_t stagger_ = 0;
  std::vector<ConnState*> due_;  // open loop: idle connections, a min-heap on due
  AppEvents events_;
  ConnOptions conn_opts_;
  GenStats stats_;
  std::vector<Destination> dsts_;  // --dst
  WeightedCycle dst_pick_;         // which of dsts_ the next connection goes to
  std::vector<DestStats> dst_stats_;
  ConnTotals finished_conns_;
  LatencyHistogram connect_ns_;
  LatencyHistogram response_ns_;
  // The request bytes: raw, one pattern chunk; http, one request per --path and body size
  // (http_requests()).
  std::vector<std::vector<uint8_t>> requests_;
  size_t next_path_ = 0;  // http: the path the next request takes
  // Size mixes (--req-size, --resp-size, --body-size): which size the next request takes.
  WeightedCycle req_sizes_, resp_sizes_, bodies_;
  // --ramp and stepped --rate: the rate as a fraction of rate_ over time since start_ns_.
  RateProfile profile_;
  bool profiled_ = false;  // the profile is not flat: schedules go through work time
  // share_ states reserved at start, each built when first lent (FreeList): no allocation
  // afterwards, and resident memory only for as many as were ever open at once.
  FreeList<ConnState> states_;
  FreeList<GenParser> parsers_;  // http: --parsers (default one per connection, built when lent)
  uint32_t live_ = 0;            // states in use (opening, established)
  uint64_t now_ = 0;             // time of the current loop turn
  uint64_t last_ns_ = 0;
  uint64_t start_ns_ = 0;  // no opens before (--delay)
  double tokens_ = 0;      // rate limiter
  // Until one connection is established, one attempt at a time: the first SYN resolves the
  // next hop (a burst would overflow the neighbour's pending queue and wait out an RTO),
  // and a dead or refusing server is not flooded.
  bool probed_ = false;
};

}  // namespace pollux::apps
