#include "report.hpp"

#include <cstdio>

#include "../common/cpu_report.hpp"
#include "json.hpp"

namespace pollux::apps {

GenSample sample_between(unsigned second, const GenTotals& now, const GenTotals& before) {
  GenSample s;
  s.second = second;
  s.opens = now.opens - before.opens;
  s.established = now.established - before.established;
  s.requests = now.requests - before.requests;
  s.bytes_tx = now.bytes_tx - before.bytes_tx;
  s.bytes_rx = now.bytes_rx - before.bytes_rx;
  s.active = now.active;
  s.errors = now.errors() - before.errors();
  s.retrans = now.retrans - before.retrans;
  return s;
}

void GenSample::set_latency(const LatencyHistogram& connect, const LatencyHistogram& response) {
  connect_p50 = connect.percentile(50);
  connect_p99 = connect.percentile(99);
  response_p50 = response.percentile(50);
  response_p99 = response.percentile(99);
  response_p99_9 = response.percentile(99.9);
}

namespace {
double gbps(uint64_t bytes, double seconds) {
  return seconds > 0 ? static_cast<double>(bytes) * 8.0 / seconds / 1e9 : 0.0;
}
double per_s(uint64_t n, double seconds) {
  return seconds > 0 ? static_cast<double>(n) / seconds : 0.0;
}
std::string latency_line(const char* name, const LatencyHistogram& h) {
  char buf[256];
  if (h.count() == 0) {
    std::snprintf(buf, sizeof buf, "  %-9s latency: no samples\n", name);
    return buf;
  }
  auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  std::snprintf(buf, sizeof buf,
                "  %-9s latency (us, %llu samples): min %.1f mean %.1f p50 %.1f p90 %.1f "
                "p99 %.1f p99.9 %.1f max %.1f\n",
                name, static_cast<unsigned long long>(h.count()), us(h.min()), h.mean() / 1000.0,
                us(h.percentile(50)), us(h.percentile(90)), us(h.percentile(99)),
                us(h.percentile(99.9)), us(h.max()));
  return buf;
}
void load_json(JsonWriter& j, const LcoreLoad& l) {
  j.begin_object()
      .field("busy_turns", l.busy_turns)
      .field("idle_turns", l.idle_turns)
      .field("empty_turn_cycles", l.empty_turn_cycles)
      .field("busy_cycles", l.busy_cycles)
      .field("busy_fraction", l.busy_fraction())
      .field("segments", l.segments)
      .field("connections", l.connections)
      .field("cycles_per_segment", l.cycles_per_segment())
      .field("cycles_per_connection", l.cycles_per_connection())
      .field("stalls", l.stalls)
      .field("stalls_after_yield", l.stalls_after_yield)
      .field("stalls_over_pto", l.stalls_over_pto)
      .field("max_gap_us", l.max_gap_us)
      .end_object();
}

// "who": {"tsc_hz": .., "lcores": {"1": {..}, ..}, "total": {..}}
void cpu_json(JsonWriter& j, const char* who, const std::vector<LcoreLoad>& lcores) {
  j.key(who).begin_object();
  j.field("tsc_hz", lcores.empty() ? uint64_t{0} : lcores.front().tsc_hz);
  j.key("lcores").begin_object();
  for (const auto& l : lcores) {
    j.key(std::to_string(l.lcore));
    load_json(j, l);
  }
  j.end_object();
  j.key("total");
  load_json(j, total_load(lcores));
  j.end_object();
}

void histogram_json(JsonWriter& j, const LatencyHistogram& h) {
  j.begin_object()
      .field("unit", "ns")
      .field("count", h.count())
      .field("min", h.min())
      .field("mean", h.mean())
      .field("p50", h.percentile(50))
      .field("p90", h.percentile(90))
      .field("p99", h.percentile(99))
      .field("p99_9", h.percentile(99.9))
      .field("max", h.max());
  // Non-empty buckets as [low, high, count].
  j.key("buckets").begin_array();
  for (size_t i = 0; i < LatencyHistogram::kBuckets; ++i) {
    if (h.bucket_count(i) == 0) continue;
    j.begin_array()
        .value(LatencyHistogram::bucket_low(i))
        .value(LatencyHistogram::bucket_high(i))
        .value(h.bucket_count(i))
        .end_array();
  }
  j.end_array().end_object();
}
}  // namespace

std::string gen_progress_line(const GenSample& s) {
  char buf[320];
  const bool responses = s.response_p50 != 0;
  const uint64_t p50 = responses ? s.response_p50 : s.connect_p50;
  const uint64_t p99 = responses ? s.response_p99 : s.connect_p99;
  char lat[64];
  if (p50 == 0)
    std::snprintf(lat, sizeof lat, "p50 - p99 -");
  else
    std::snprintf(lat, sizeof lat, "%sp50 %.1f us p99 %.1f us", responses ? "" : "connect ",
                  static_cast<double>(p50) / 1000.0, static_cast<double>(p99) / 1000.0);
  std::snprintf(buf, sizeof buf,
                "[%5us] conn/s %llu | req/s %llu | rx %.3f Gb/s tx %.3f Gb/s | active %llu | "
                "errors %llu | retrans %llu | %s",
                s.second, static_cast<unsigned long long>(s.established),
                static_cast<unsigned long long>(s.requests), gbps(s.bytes_rx, 1.0),
                gbps(s.bytes_tx, 1.0), static_cast<unsigned long long>(s.active),
                static_cast<unsigned long long>(s.errors),
                static_cast<unsigned long long>(s.retrans), lat);
  std::string line = buf;
  if (s.target != 0) line += " | target " + std::to_string(s.target) + "/s";
  return line;
}

std::string gen_summary(const GenOptions& o, double seconds, const GenTotals& t,
                        const LatencyHistogram& connect, const LatencyHistogram& response) {
  std::string out;
  char buf[512];
  auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  std::snprintf(buf, sizeof buf, "summary: %s %s to %s (%s) for %.2f s\n", gen_mode_name(o.mode),
                o.http ? "http" : "raw", o.dst.with_port(o.dst_port).c_str(), o.dst.family(),
                seconds);
  out += buf;
  std::snprintf(buf, sizeof buf,
                "  connections: %llu opened, %llu established (%.1f/s), %llu closed, %llu "
                "active at the end\n",
                u(t.opens), u(t.established), per_s(t.established, seconds), u(t.closes),
                u(t.active));
  out += buf;
  std::snprintf(buf, sizeof buf, "  requests:    %llu (%.1f/s), %llu reconnects\n", u(t.requests),
                per_s(t.requests, seconds), u(t.reconnects));
  out += buf;
  std::snprintf(buf, sizeof buf, "  bytes:       rx %llu (%.3f Gb/s), tx %llu (%.3f Gb/s)\n",
                u(t.bytes_rx), gbps(t.bytes_rx, seconds), u(t.bytes_tx), gbps(t.bytes_tx, seconds));
  out += buf;
  std::snprintf(buf, sizeof buf,
                "  errors:      %llu (refused %llu, reset %llu, timeout %llu, bad response %llu "
                "(non-2xx %llu), closed early %llu, local %llu)\n",
                u(t.errors()), u(t.refused), u(t.reset), u(t.timeout), u(t.bad_response),
                u(t.non_2xx), u(t.closed_early), u(t.local));
  out += buf;
  if (t.port_waits > 0) {
    std::snprintf(buf, sizeof buf,
                  "  ports:       %llu turns found no free port (TIME-WAIT holds them: more "
                  "--ip addresses, or timestamps, which let a port be reused a second on)\n",
                  u(t.port_waits));
    out += buf;
  }
  if (t.parser_pool_empty > 0) {
    std::snprintf(buf, sizeof buf,
                  "  parsers:     %llu responses arrived in pieces, %llu found every parser lent "
                  "and aborted their connection (more --parsers)\n",
                  u(t.parsers_lent), u(t.parser_pool_empty));
    out += buf;
  }
  if (t.dsts.size() > 1) {
    for (const auto& d : t.dsts) {
      std::snprintf(buf, sizeof buf,
                    "  dst %-21s weight %u: %llu opened, %llu established, %llu requests, %llu "
                    "errors\n",
                    d.dst.c_str(), d.weight, u(d.opens), u(d.established), u(d.requests),
                    u(d.errors));
      out += buf;
    }
  }
  std::snprintf(buf, sizeof buf, "  retrans:     %llu segments\n", u(t.retrans));
  out += buf;
  // By cause (issue 13): on a link that loses nothing each is a timer that fired early,
  // typically while the peer's lcore was not running (the cpu lines' stalls).
  if (t.gen_retrans.total != 0 || t.gen_retrans.tlp_probes != 0)
    out += "  retrans gen:          " + describe(t.gen_retrans) + "\n";
  if (t.local_server) out += "  retrans local server: " + describe(t.server_retrans) + "\n";
  // Drops by counter, each side: a lossless in-memory link loses nothing, so any drop here is
  // a queue or a limit of the stacks themselves.
  if (!t.gen_counters.empty())
    out += "  drops gen:            " + describe_drops(t.gen_counters) + "\n";
  if (t.local_server && !t.server_counters.empty())
    out += "  drops local server:   " + describe_drops(t.server_counters) + "\n";
  out += "  tcp:         " + describe(o.tcp) + "; " + describe(t.conns) + "\n";
  out += latency_line("connect", connect);
  out += latency_line("response", response);
  return out;
}

std::string describe_drops(const std::vector<uint64_t>& counters) {
  std::string out;
  for (size_t i = 0; i < counters.size() && i < kCounterCount; ++i) {
    if (counters[i] == 0 || !kCounterNames[i].starts_with("drop_")) continue;
    if (!out.empty()) out += ", ";
    out += std::string(kCounterNames[i]) + " " + std::to_string(counters[i]);
  }
  return out.empty() ? "none" : out;
}

std::string gen_json(const GenOptions& o, double seconds, const GenTotals& t,
                     const std::vector<GenSample>& series, const LatencyHistogram& connect,
                     const LatencyHistogram& response, const std::vector<uint64_t>& counters,
                     const std::vector<LcoreLoad>& gen_cpu,
                     const std::vector<LcoreLoad>& server_cpu) {
  JsonWriter j;
  j.begin_object();
  j.key("config").begin_object();
  j.field("mode", gen_mode_name(o.mode))
      .field("payload", o.http ? "http" : "raw")
      .field("dst", o.dst.to_string())
      .field("dst_port", static_cast<unsigned>(o.dst_port))
      .field("family", o.dst.family())
      .field("duration_s", o.duration_s)
      .field("connections", o.connections)
      .field("concurrency", o.concurrency)
      .field("rate", o.rate)
      .field("req_size", o.req_size)
      .field("resp_size", o.response_size())
      .field("step_s", o.step_s);
  // Stepped rates and size mixes, as [value, weight] pairs.
  j.key("rate_steps").begin_array();
  for (uint32_t r : o.rate_steps) j.value(uint64_t{r});
  j.end_array();
  auto mix = [&j](const char* name, const std::vector<Weighted>& list) {
    j.key(name).begin_array();
    for (const auto& w : list) j.begin_array().value(w.value).value(uint64_t{w.weight}).end_array();
    j.end_array();
  };
  mix("req_sizes", o.req_sizes);
  mix("resp_sizes", o.resp_sizes);
  j.field("direction", direction_name(o.direction))
      .field("cc", congestion_control_name(o.tcp.cc))
      .field("sack", o.tcp.sack)
      .field("timestamps", o.tcp.timestamps)
      .field("tlp_wc_delack_ms", o.tcp.tlp_wc_delack_ms);
  if (o.http) {
    j.field("path", o.http_paths.front());
    j.key("paths").begin_array();
    for (const auto& p : o.http_paths) j.value(p);
    j.end_array();
    j.field("headers", static_cast<uint64_t>(o.http_headers.size()));
    j.field("method", http_method_name(o.http_method));
    mix("body_sizes", o.body_sizes);
  }
  j.field("ramp_s", o.ramp_s);
  j.end_object();
  j.field("seconds", seconds);
  j.key("series").begin_array();
  for (const auto& s : series) {
    j.begin_object()
        .field("t", s.second)
        .field("opens", s.opens)
        .field("established", s.established)
        .field("requests", s.requests)
        .field("bytes_rx", s.bytes_rx)
        .field("bytes_tx", s.bytes_tx)
        .field("active", s.active)
        .field("errors", s.errors)
        .field("retrans", s.retrans)
        .field("connect_p50_ns", s.connect_p50)
        .field("connect_p99_ns", s.connect_p99)
        .field("response_p50_ns", s.response_p50)
        .field("response_p99_ns", s.response_p99)
        .field("response_p99_9_ns", s.response_p99_9)
        .field("target", s.target)
        .end_object();
  }
  j.end_array();
  j.key("totals").begin_object();
  j.field("opens", t.opens)
      .field("established", t.established)
      .field("closes", t.closes)
      .field("requests", t.requests)
      .field("reconnects", t.reconnects)
      .field("bytes_rx", t.bytes_rx)
      .field("bytes_tx", t.bytes_tx)
      .field("active", t.active)
      .field("conn_per_s", per_s(t.established, seconds))
      .field("req_per_s", per_s(t.requests, seconds))
      .field("rx_gbps", gbps(t.bytes_rx, seconds))
      .field("tx_gbps", gbps(t.bytes_tx, seconds))
      .field("retrans", t.retrans);
  j.key("errors").begin_object();
  j.field("total", t.errors())
      .field("refused", t.refused)
      .field("reset", t.reset)
      .field("timeout", t.timeout)
      .field("bad_response", t.bad_response)
      .field("non_2xx", t.non_2xx)
      .field("closed_early", t.closed_early)
      .field("local", t.local);
  j.end_object();
  j.field("port_waits", t.port_waits);
  j.field("parsers_lent", t.parsers_lent).field("parser_pool_empty", t.parser_pool_empty);
  j.end_object();
  // Each --dst's share: connections, requests and errors.
  j.key("destinations").begin_array();
  for (const auto& d : t.dsts)
    j.begin_object()
        .field("dst", d.dst)
        .field("weight", d.weight)
        .field("opens", d.opens)
        .field("established", d.established)
        .field("requests", d.requests)
        .field("errors", d.errors)
        .end_object();
  j.end_array();
  // TCP_INFO summed over the connections: retransmissions by cause, negotiated options.
  j.key("tcp_info").begin_object();
  j.field("connections", t.conns.connections)
      .field("retransmits", t.conns.retransmits)
      .field("timeouts", t.conns.timeouts)
      .field("fast_recoveries", t.conns.fast_recoveries)
      .field("dsacks", t.conns.dsacks)
      .field("spurious_undos", t.conns.spurious_undos)
      .field("sack", t.conns.sack)
      .field("timestamps", t.conns.timestamps)
      .field("wscale", t.conns.wscale)
      .field("spurious_retransmits", t.conns.spurious_retransmits)
      .field("tlp_probes", t.conns.tlp_probes);
  j.end_object();
  // Retransmitted segments by cause, each side's stack (issue 13).
  const auto causes = [&j](const char* who, const RetransCauses& r) {
    j.key(who)
        .begin_object()
        .field("total", r.total)
        .field("rto", r.rto)
        .field("tlp", r.tlp)
        .field("recovery", r.recovery)
        .field("syn", r.syn)
        .field("synack", r.synack)
        .field("other", r.other)
        .field("dsacked", r.dsacked)
        .field("tlp_probes", r.tlp_probes)
        .field("undos", r.undos)
        .end_object();
  };
  j.key("retransmissions").begin_object();
  causes("generator", t.gen_retrans);
  if (t.local_server) causes("local_server", t.server_retrans);
  j.end_object();
  j.key("latency").begin_object();
  j.key("connect");
  histogram_json(j, connect);
  j.key("response");
  histogram_json(j, response);
  j.end_object();
  j.key("cpu").begin_object();
  cpu_json(j, "generator", gen_cpu);
  if (!server_cpu.empty()) cpu_json(j, "local_server", server_cpu);
  j.end_object();
  j.key("stack_counters").begin_object();
  for (size_t i = 0; i < counters.size() && i < kCounterCount; ++i)
    if (counters[i] != 0) j.field(kCounterNames[i], counters[i]);
  j.end_object();
  if (t.local_server) {
    j.key("local_server_counters").begin_object();
    for (size_t i = 0; i < t.server_counters.size() && i < kCounterCount; ++i)
      if (t.server_counters[i] != 0) j.field(kCounterNames[i], t.server_counters[i]);
    j.end_object();
  }
  j.end_object();
  return j.str() + "\n";
}

}  // namespace pollux::apps
