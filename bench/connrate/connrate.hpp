// bench_connrate: legitimate short HTTP connections at a fixed rate, the client of
// bench/flood.sh (issue 14). Connection i is due at start + i / rate whatever happened to the
// ones before it (an open loop: a slow server does not slow the offered load, and every
// connection's latency counts from its own due time, so none is left out); at most
// `in_flight` are open at once, and one that is due while that many are open is counted as
// not started. Each connection: a nonblocking connect, `GET PATH HTTP/1.1` with
// `Connection: close`, the whole response read, then the server's FIN awaited before closing
// (so TIME-WAIT stays on the server, as with any HTTP/1.1 client of a closing server, and the
// client's ports are not used up), all within `timeout` of its due time.
//
// SIGUSR1 marks an instant (flood.sh: the flood has just stopped). Completions are counted per
// bin (100 ms) by the time they complete; the report gives the completed rate before the mark
// and the recovery: the time from the mark until 5 bins in a row again complete >= 90% of
// what is offered in them.
//
// This file holds the pure logic (options, schedule, recovery, the summary line), unit-tested
// in connrate_test.cpp; main.cpp holds the sockets.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace pollux::bench {

struct ConnRateOptions {
  uint32_t ip = 0;  // host order
  uint16_t port = 0;
  std::string path = "/";
  uint64_t rate = 0;     // new connections per second
  uint64_t seconds = 5;  // how long connections are offered
  uint64_t in_flight = 1000;
  uint64_t timeout_ms = 3000;  // per connection, from its due time
  uint64_t bin_ms = 100;
  bool help = false;
};

// argv[1..argc-1]. nullopt with a one-line `error` naming the option on bad input.
[[nodiscard]] std::optional<ConnRateOptions> parse_connrate_options(int argc,
                                                                    const char* const* argv,
                                                                    std::string& error);
[[nodiscard]] const char* connrate_usage();

// When connection i is due, in ns after the start: i * 1e9 / rate, exact (no drift).
[[nodiscard]] uint64_t due_ns(uint64_t i, uint64_t rate);
// How many connections `seconds` at `rate` offer.
[[nodiscard]] uint64_t offered_total(uint64_t rate, uint64_t seconds);

// Seconds from the mark (`mark_s` after the start) until recovery: the start of the first bin
// that does not end before the mark and begins a window of `settle` bins (fewer at the end of
// `bins`) that together complete at least `share` x `per_bin` a bin; 0 when the bin holding
// the mark already begins one. A window, not every bin in it: a loaded client's completions
// arrive in bursts that move a few between neighbouring bins. nullopt when no such window
// exists in `bins`, which must hold only the bins during which connections were offered (not
// the drain after the last one).
[[nodiscard]] std::optional<double> recovery_seconds(std::span<const uint64_t> bins, double bin_s,
                                                     double per_bin, double mark_s,
                                                     size_t settle = 5, double share = 0.9);

// Completions per second in the whole bins before the one holding the mark (all of `bins`
// without a mark), leaving out the first bin (the start). 0 when there is no such bin.
[[nodiscard]] double completed_rate_before(std::span<const uint64_t> bins, double bin_s,
                                           std::optional<double> mark_s);

struct ConnRateTotals {
  uint64_t offered = 0;
  uint64_t completed = 0;
  uint64_t not_started = 0;   // due while in_flight were open
  uint64_t local_error = 0;   // socket() or connect() failed here (ports, descriptors)
  uint64_t refused = 0;       // the connect was answered by a RST
  uint64_t reset = 0;         // reset or closed after connecting, before the whole response
  uint64_t bad_response = 0;  // not a 200, or not HTTP
  uint64_t timed_out = 0;     // not complete within the timeout
  [[nodiscard]] uint64_t failed() const {
    return not_started + local_error + refused + reset + bad_response + timed_out;
  }
};

struct ConnRateSummary {
  ConnRateTotals totals;
  double rate_before_mark = 0;                      // completed per second (completed_rate_before)
  uint64_t connect_p50_us = 0, connect_p99_us = 0;  // connect() to established, before the mark
  uint64_t done_p50_us = 0, done_p99_us = 0;        // due time to the whole response, same
  std::optional<double> mark_s;
  std::optional<double> recovery_s;
};

// One line of key=value pairs, what flood.sh reads: "offered=.. completed=.. failed=..
// not_started=.. local_error=.. refused=.. reset=.. bad_response=.. timed_out=..
// rate_before_mark=.. connect_p50_us=.. connect_p99_us=.. done_p50_us=.. done_p99_us=..
// mark_s=.. recovery_s=.." (mark_s and recovery_s "-" when unknown; recovery_s "never" when
// a mark was given and no recovery followed).
[[nodiscard]] std::string summary_line(const ConnRateSummary& s);

}  // namespace pollux::bench
