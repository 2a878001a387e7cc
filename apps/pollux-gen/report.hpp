// pollux-gen's reporting: the per-second sample, the progress line, the summary and the JSON
// document. Pure formatting over numbers collected elsewhere (unit-testable, no DPDK).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "../common/conn_info.hpp"
#include "gen_options.hpp"
#include "histogram.hpp"
#include "pollux/counters.hpp"
#include "pollux/lcore_load.hpp"

namespace pollux::apps {

// One --dst's share of the totals.
struct DestTotals {
  std::string dst;  // "A.B.C.D:PORT" or "[IPV6]:PORT"
  uint32_t weight = 1;
  uint64_t opens = 0, established = 0, requests = 0, errors = 0;
};

// Cumulative totals at one moment (all lcores).
struct GenTotals {
  uint64_t opens = 0, established = 0, closes = 0, requests = 0;
  uint64_t bytes_tx = 0, bytes_rx = 0, active = 0, reconnects = 0;
  uint64_t refused = 0, reset = 0, timeout = 0, bad_response = 0, non_2xx = 0;
  uint64_t closed_early = 0, local = 0;
  uint64_t port_waits = 0;         // turns without a free ephemeral port (not errors)
  uint64_t parsers_lent = 0;       // http: responses that arrived in pieces (not errors)
  uint64_t parser_pool_empty = 0;  // http: of those, found no parser (also `local` errors)
  uint64_t retrans = 0;            // stack counter tcp_retrans_segs
  ConnTotals conns;                // TCP_INFO summed over the connections (filled after the run)
  std::vector<DestTotals> dsts;    // per --dst, in the order given
  // Retransmissions by cause (issue 13), the generator's stack and, with --local-server, the
  // server's (filled after the run).
  RetransCauses gen_retrans, server_retrans;
  bool local_server = false;
  // Each stack's counters, indexed by base::Counter (filled after the run; empty when not
  // known): the summary lists the non-zero drop_* ones, the JSON every non-zero one. The
  // local server's are the only view of what its side lost (issue 13: the CPS rows'
  // SYN-ACK retransmissions were counted there and printed nowhere).
  std::vector<uint64_t> gen_counters, server_counters;
  [[nodiscard]] uint64_t errors() const {
    return refused + reset + timeout + bad_response + closed_early + local;
  }
};

// One second of the run: the difference between two totals, plus the gauge.
struct GenSample {
  unsigned second = 0;
  uint64_t opens = 0, established = 0, requests = 0, bytes_tx = 0, bytes_rx = 0;
  uint64_t active = 0, errors = 0, retrans = 0;
  // This second's latency percentiles in ns (0 when nothing was measured): the histograms'
  // difference over the second (LatencyHistogram::since).
  uint64_t connect_p50 = 0, connect_p99 = 0;
  uint64_t response_p50 = 0, response_p99 = 0, response_p99_9 = 0;
  // What --rate (its --ramp and steps) asked of this second: opens (cps, hold) or requests
  // (rps); 0 without a rate.
  uint64_t target = 0;
  void set_latency(const LatencyHistogram& connect, const LatencyHistogram& response);
};
[[nodiscard]] GenSample sample_between(unsigned second, const GenTotals& now,
                                       const GenTotals& before);

// "[   3s] conn/s 1200 | req/s 1200 | rx 0.010 Gb/s tx 0.001 Gb/s | active 16 | errors 0 |
// retrans 0 | p50 12.3 us p99 40.1 us" (the second's response latency; connect latency when
// no response came, '-' when neither did), then " | target 2000/s" with a --rate
[[nodiscard]] std::string gen_progress_line(const GenSample& s);

// Human summary: totals, averages over `seconds`, errors by cause, latency percentiles.
[[nodiscard]] std::string gen_summary(const GenOptions& o, double seconds, const GenTotals& t,
                                      const LatencyHistogram& connect,
                                      const LatencyHistogram& response);

// "drop_tcp_backlog_full 3, drop_arp_pending_overflow 1": the non-zero drop_* counters of
// one stack (indexed by base::Counter), "none" when there are none.
[[nodiscard]] std::string describe_drops(const std::vector<uint64_t>& counters);

// The JSON report: config, per-second series, totals, histograms, non-zero stack counters
// (the local server's too, as "local_server_counters"), and where the generator's (and the local
// server's) lcores spent their cycles.
[[nodiscard]] std::string gen_json(const GenOptions& o, double seconds, const GenTotals& t,
                                   const std::vector<GenSample>& series,
                                   const LatencyHistogram& connect,
                                   const LatencyHistogram& response,
                                   const std::vector<uint64_t>& counters,
                                   const std::vector<LcoreLoad>& gen_cpu = {},
                                   const std::vector<LcoreLoad>& server_cpu = {});

}  // namespace pollux::apps
