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
  [[nodiscard]] uint64_t errors() const {
    return refused.get() + reset.get() + timeout.get() + bad_response.get() + closed_early.get() +
           local.get();
  }
};

// One --dst's share of the run (all of it with one destination).
struct DestStats {
  StatCounter opens, established, requests, errors;
};

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
  [[nodiscard]] ConnTotals conn_totals() const;

  struct ConnState;

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
  void response_done(ConnState& s, bool good);
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
  std::vector<ConnState*> due_;  // open loop: idle connections, a min-heap on t_due
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
  bool profiled_ = false;              // the profile is not flat: schedules go through work time
  std::unique_ptr<ConnState[]> pool_;  // share_ states, one array (not one allocation each)
  std::vector<ConnState*> free_;
  uint32_t live_ = 0;  // states in use (opening, established)
  uint64_t now_ = 0;   // time of the current loop turn
  uint64_t last_ns_ = 0;
  uint64_t start_ns_ = 0;  // no opens before (--delay)
  double tokens_ = 0;      // rate limiter
  // Until one connection is established, one attempt at a time: the first SYN resolves the
  // next hop (a burst would overflow the neighbour's pending queue and wait out an RTO),
  // and a dead or refusing server is not flooded.
  bool probed_ = false;
};

}  // namespace pollux::apps
