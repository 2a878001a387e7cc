// pollux-gen: a load generator on the pollux stack. Opens connections toward one server (or
// several, by weight) and measures connections, requests and goodput per second, errors by cause,
// and latency.
//   pollux-gen [--preset ...] [EAL args] -- --ip 10.0.0.2/24 --dst 10.0.0.1:80 --mode rps --http
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "../common/cpu_report.hpp"
#include "../common/startup.hpp"
#include "../pollux-server/server_app.hpp"
#include "gen_app.hpp"
#include "gen_options.hpp"
#include "pollux/runtime.hpp"
#include "report.hpp"

namespace {
// Every generator's histograms merged into `connect` and `response` (cleared first), each read
// through a snapshot: safe while the lcores still record (histogram.hpp).
void merge_latency(const std::vector<std::unique_ptr<pollux::apps::GenApp>>& apps,
                   pollux::apps::LatencyHistogram& connect,
                   pollux::apps::LatencyHistogram& response) {
  connect.clear();
  response.clear();
  for (const auto& a : apps) {
    connect.merge(a->connect_latency().snapshot());
    response.merge(a->response_latency().snapshot());
  }
}

pollux::apps::GenTotals totals(const std::vector<std::unique_ptr<pollux::apps::GenApp>>& apps,
                               const pollux::Runtime& rt, const pollux::apps::GenOptions& o) {
  pollux::apps::GenTotals t;
  for (const auto& a : apps) {
    const auto& s = a->stats();
    t.opens += s.opens.get();
    t.established += s.established.get();
    t.closes += s.closes.get();
    t.requests += s.requests.get();
    t.bytes_tx += s.bytes_tx.get();
    t.bytes_rx += s.bytes_rx.get();
    t.active += s.active.get();
    t.reconnects += s.reconnects.get();
    t.refused += s.refused.get();
    t.reset += s.reset.get();
    t.timeout += s.timeout.get();
    t.bad_response += s.bad_response.get();
    t.non_2xx += s.non_2xx.get();
    t.closed_early += s.closed_early.get();
    t.local += s.local.get();
    t.port_waits += s.port_waits.get();
    t.parsers_lent += s.parsers_lent.get();
    t.parser_pool_empty += s.parser_pool_empty.get();
  }
  t.retrans = rt.counter(pollux::Counter::tcp_retrans_segs);
  for (const auto& d : pollux::apps::destinations(o))
    t.dsts.push_back(pollux::apps::DestTotals{d.to_string(), d.weight});
  for (const auto& a : apps)
    for (size_t i = 0; i < t.dsts.size() && i < a->dst_stats().size(); ++i) {
      const auto& s = a->dst_stats()[i];
      t.dsts[i].opens += s.opens.get();
      t.dsts[i].established += s.established.get();
      t.dsts[i].requests += s.requests.get();
      t.dsts[i].errors += s.errors.get();
    }
  return t;
}

// Fails on an unwritable report or capture file now, not after the run (the files are
// created empty).
bool json_writable(const pollux::apps::GenOptions& o) {
  if (!pollux::apps::pcap_writable("pollux-gen", o.pcap)) return false;
  if (o.json_path.empty()) return true;
  std::FILE* f = std::fopen(o.json_path.c_str(), "w");
  if (f && std::fclose(f) == 0) return true;
  std::fprintf(stderr, "pollux-gen: --json: cannot write %s\n", o.json_path.c_str());
  return false;
}
// --local-server needs no device: the generator and its server share an in-memory link.
const char* preset_for(const pollux::apps::GenOptions& o) {
  return o.local_server ? "local" : nullptr;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace pollux;
  int exit_code = 0;
  const apps::AppSpec<apps::GenOptions> app{"pollux-gen", apps::kGenUsage, apps::parse_gen_options,
                                            json_writable, preset_for};
  auto opts = apps::start(argc, argv, app, exit_code);
  if (!opts) return exit_code;
  std::atomic<bool>& stop = stop_flag();
  {
    std::string error;
    RuntimeOptions rc = apps::runtime_options(*opts);
    rc.name = "gen";
    // A generator closes first and so holds TIME-WAIT: keep it short so that ports and TCBs
    // recycle (the peer's tuple is safe as long as our ISNs keep rising, RFC 6528).
    rc.msl_ns = uint64_t{opts->time_wait_ms} * 1'000'000 / 2;
    rc.ephemeral_first = 10000;
    rc.ephemeral_last = 65535;
    rc.extra_mbufs = 32768;
    // A load generator only connects out: a one-way SYN host (issue 14 item 5). A SYN to it
    // is answered as a closed port does (RST, rate-limited) and counted drop_tcp_syn_filtered.
    rc.syn_filter.set_passive_opens(false);

    // --local-server: split the lcores between us and the server and join the two ports
    // with an in-memory link. Queue i talks to queue i, so every connection opened by
    // generator lcore i is served by server lcore i and answered back on lcore i.
    Runtime server_rt;
    std::vector<std::unique_ptr<apps::ServerApp>> servers;
    apps::ServerOptions so;
    if (opts->local_server) {
      // Two equal halves: the main lcore polls too when the workers alone are odd.
      const std::vector<unsigned> lcores = pollable_lcores();
      if (lcores.size() < 2) {
        std::fprintf(stderr, "pollux-gen: --local-server needs at least 2 lcores (e.g. -l 0-1)\n");
        stop_eal();
        return 2;
      }
      const size_t half = lcores.size() / 2;
      rc.lcores.assign(lcores.begin(), lcores.begin() + half);
      MemoryLink link;
      if (!create_memory_link("pollux_link", static_cast<unsigned>(half), 4096, link, error)) {
        std::fprintf(stderr, "pollux-gen: %s\n", error.c_str());
        stop_eal();
        return 1;
      }
      rc.port_id = link.port_a;
      // The link joins our two ports and nothing else: no address can be a duplicate, so
      // no DAD (RFC 4862 5.4, DupAddrDetectTransmits 0) and no second of tentative IPv6
      // addresses at start in which the first SYNs would wait for their neighbour.
      rc.dad_probes = 0;
      rc.mld = false;  // nor a switch to tell which groups we listen to
      // The server shares the generator's stack options on its own subnet address.
      RuntimeOptions sc = apps::runtime_options(*opts);
      sc.name = "local_server";
      sc.port_id = link.port_b;
      sc.lcores.assign(lcores.begin() + half, lcores.begin() + 2 * half);
      sc.addrs.clear();
      sc.addrs6.clear();
      sc.gateway.reset();
      sc.gateway6.reset();
      // Every --dst is one of the server's addresses, IPv4 or IPv6, on the generator's --ip
      // prefix that holds it (on-link and one port: gen_options checks). Its one listener
      // takes both families.
      for (const auto& d : apps::destinations(*opts)) {
        if (d.addr.ipv6) {
          for (const auto& p : opts->addrs6)
            if (p.contains(d.addr.v6)) {
              sc.addrs6.push_back(Ipv6Prefix{d.addr.v6, p.len});
              break;
            }
          continue;
        }
        for (const auto& p : opts->addrs)
          if (p.contains(d.addr.v4)) {
            sc.addrs.push_back(Ipv4Prefix{d.addr.v4, p.length});
            break;
          }
      }
      sc.extra_mbufs = 32768;
      sc.dad_probes = 0;
      sc.mld = false;
      if (!apps::init_runtime(server_rt, sc, "pollux-gen: local server")) return 1;
      so.addrs = sc.addrs;
      so.addrs6 = sc.addrs6;
      so.tcp_port = opts->dst_port;
      so.mode = *opts->local_server;
      so.http_body = opts->resp_size ? opts->resp_size : 128;
      so.max_connections = sc.max_connections;
      for (size_t i = 0; i < server_rt.stack_count(); ++i) {
        servers.push_back(std::make_unique<apps::ServerApp>(server_rt.stack(i), so));
        if (!servers.back()->start()) {
          std::fprintf(stderr, "pollux-gen: local server cannot listen on port %u\n",
                       opts->dst_port);
          stop_eal();
          return 1;
        }
      }
    }

    Runtime rt;
    if (!apps::init_runtime(rt, rc, app.name)) return 1;
    // After both runtimes: the capture has an interface block for each port of the link.
    if (!apps::start_pcap(app.name, opts->pcap)) return 1;
    std::printf("%s\n", rt.describe_port().c_str());
    for (const auto& a : opts->addrs) std::printf("address %s\n", a.to_string().c_str());
    for (const auto& a : opts->addrs6) std::printf("address %s\n", a.to_string().c_str());
    if (opts->local_server) {
      const size_t n = so.addrs.size() + so.addrs6.size();
      std::printf("local server: %s on %s%s over an in-memory link, %zu lcore(s) each side\n",
                  apps::mode_name(so.mode), opts->dst.with_port(opts->dst_port).c_str(),
                  n > 1 ? (" (+" + std::to_string(n - 1) + " address(es))").c_str() : "",
                  server_rt.stack_count());
    }
    // Every lcore runs its own share of the connections: each picks ephemeral ports whose
    // replies the shard function maps back to it, and the port delivers them there (NIC RSS
    // programmed with the same key and RETA, or software steering; issue 6).
    const size_t gen_lcores = rt.stack_count();
    const uint32_t total = opts->mode == apps::GenMode::cps ? opts->concurrency : opts->connections;
    // Connections are opened from every --ip on the destination's subnet in turn (each adds
    // an ephemeral port space), or from the address the route gives.
    // An IPv6 --dst: from every IPv6 --ip on its subnet (gen_options checks there is one).
    std::vector<Ipv4Addr> sources;
    std::vector<Ipv6Addr> sources6;
    const auto dsts = apps::destinations(*opts);
    const auto first_v4 = std::find_if(dsts.begin(), dsts.end(),
                                       [](const apps::Destination& d) { return !d.addr.ipv6; });
    if (first_v4 != dsts.end()) {
      for (const auto& p : opts->addrs)
        if (p.contains(first_v4->addr.v4)) sources.push_back(p.addr);
      if (sources.empty()) sources.push_back(rt.stack(0).source_address(first_v4->addr.v4));
    }
    for (const auto& p : opts->addrs6)
      for (const auto& d : dsts)
        if (d.addr.ipv6 && p.contains(d.addr.v6)) {
          sources6.push_back(p.addr);
          break;
        }
    // Every IPv6 --dst off-link (through the IPv6 --gw; gen_options checks there is one):
    // from the --ip on the gateway's prefix, else the first IPv6 --ip (a global address, not
    // the link-local one: RFC 6724 5 rule 2, the destination's scope).
    if (sources6.empty() && std::any_of(dsts.begin(), dsts.end(),
                                        [](const apps::Destination& d) { return d.addr.ipv6; })) {
      for (const auto& p : opts->addrs6)
        if (opts->gateway6 && p.contains(*opts->gateway6)) {
          sources6.push_back(p.addr);
          break;
        }
      if (sources6.empty()) sources6.push_back(opts->addrs6.front().addr);
    }
    const std::string first_source =
        opts->dst.ipv6 ? sources6[0].to_string() : sources[0].to_string();
    const size_t source_count = opts->dst.ipv6 ? sources6.size() : sources.size();
    std::vector<std::unique_ptr<apps::GenApp>> gens;
    for (size_t i = 0; i < gen_lcores; ++i) {
      const uint32_t share = static_cast<uint32_t>(total / gen_lcores + (i < total % gen_lcores));
      if (share == 0) continue;
      const double rate = static_cast<double>(opts->rate) * share / total;
      gens.push_back(
          std::make_unique<apps::GenApp>(rt.stack(i), sources, sources6, *opts, share, rate));
      rt.set_iteration_hook(i, apps::GenApp::on_iteration, gens.back().get());
    }
    std::printf(
        "gen: %s %s from %s%s to %s%s, %u %s on %zu lcore(s), %u s\n",
        apps::gen_mode_name(opts->mode), opts->http ? "http" : "raw", first_source.c_str(),
        source_count > 1 ? (" (+" + std::to_string(source_count - 1) + ")").c_str() : "",
        opts->dst.with_port(opts->dst_port).c_str(),
        opts->dsts.size() > 1 ? (" (+" + std::to_string(opts->dsts.size() - 1) + ")").c_str() : "",
        total, opts->mode == apps::GenMode::cps ? "in flight" : "connections", gens.size(),
        opts->duration_s);
    if (!opts->rate_steps.empty()) {
      std::string steps;
      for (uint32_t r : opts->rate_steps) steps += (steps.empty() ? "" : ", ") + std::to_string(r);
      std::printf(
          "gen: rate steps %s /s, %u s each%s\n", steps.c_str(), opts->step_s,
          opts->ramp_s ? (", after a " + std::to_string(opts->ramp_s) + " s ramp").c_str() : "");
    }
    std::printf("tcp: %s\n", apps::describe(opts->tcp).c_str());
    // /pollux/gen in DPDK telemetry: the totals so far (atomic counters) and the last
    // second's sample (a copy the tick makes under a lock).
    std::mutex last_second_mutex;
    apps::GenSample last_second{};
    add_telemetry_command("/pollux/gen", "pollux-gen: totals so far and the last second's sample",
                          [&] {
                            const apps::GenTotals t = totals(gens, rt, *opts);
                            apps::GenSample s;
                            {
                              std::lock_guard lock(last_second_mutex);
                              s = last_second;
                            }
                            // The whole run's percentiles: snapshots, safe beside the
                            // recording lcores (histogram.hpp).
                            auto connect = std::make_unique<apps::LatencyHistogram>();
                            auto response = std::make_unique<apps::LatencyHistogram>();
                            merge_latency(gens, *connect, *response);
                            return std::vector<std::pair<std::string, uint64_t>>{
                                {"opens", t.opens},
                                {"established", t.established},
                                {"closes", t.closes},
                                {"requests", t.requests},
                                {"bytes_tx", t.bytes_tx},
                                {"bytes_rx", t.bytes_rx},
                                {"active", t.active},
                                {"reconnects", t.reconnects},
                                {"errors", t.errors()},
                                {"errors/refused", t.refused},
                                {"errors/reset", t.reset},
                                {"errors/timeout", t.timeout},
                                {"errors/bad_response", t.bad_response},
                                {"errors/closed_early", t.closed_early},
                                {"errors/local", t.local},
                                {"retrans", t.retrans},
                                {"last_second/second", s.second},
                                {"last_second/opens", s.opens},
                                {"last_second/established", s.established},
                                {"last_second/requests", s.requests},
                                {"last_second/bytes_tx", s.bytes_tx},
                                {"last_second/bytes_rx", s.bytes_rx},
                                {"last_second/errors", s.errors},
                                {"last_second/connect_p50_ns", s.connect_p50},
                                {"last_second/connect_p99_ns", s.connect_p99},
                                {"last_second/response_p50_ns", s.response_p50},
                                {"last_second/response_p99_ns", s.response_p99},
                                {"last_second/response_p99_9_ns", s.response_p99_9},
                                {"latency/connect_samples", connect->count()},
                                {"latency/connect_p50_ns", connect->percentile(50)},
                                {"latency/connect_p99_ns", connect->percentile(99)},
                                {"latency/connect_p99_9_ns", connect->percentile(99.9)},
                                {"latency/response_samples", response->count()},
                                {"latency/response_p50_ns", response->percentile(50)},
                                {"latency/response_p99_ns", response->percentile(99)},
                                {"latency/response_p99_9_ns", response->percentile(99.9)},
                            };
                          });
    if (const std::string sock = telemetry_socket(); !sock.empty())
      std::printf("telemetry %s\n", sock.c_str());
    std::printf("ready\n");
    std::fflush(stdout);

    std::vector<apps::GenSample> series;
    apps::GenTotals last{};
    // The histograms as they were at the last tick: each second's percentiles are the
    // difference (58 KB each, so not on the stack).
    auto connect_before = std::make_unique<apps::LatencyHistogram>();
    auto response_before = std::make_unique<apps::LatencyHistogram>();
    auto connect_now = std::make_unique<apps::LatencyHistogram>();
    auto response_now = std::make_unique<apps::LatencyHistogram>();
    const auto t0 = std::chrono::steady_clock::now() + std::chrono::seconds(opts->delay_s);
    // Seconds are counted from the end of --delay; the samples before are not reported.
    const unsigned delay_s = opts->delay_s;
    // --ramp and --rate's steps: each second's target in the progress line and the series.
    const apps::RateProfile profile(*opts);
    Runtime* runtimes[] = {&rt, &server_rt};
    const size_t n_runtimes = opts->local_server ? 2 : 1;
    Runtime::run_all({runtimes, n_runtimes}, stop, [&](unsigned seconds) {
      merge_latency(gens, *connect_now, *response_now);
      std::swap(connect_now, connect_before);
      std::swap(response_now, response_before);
      if (seconds <= delay_s) return;
      seconds -= delay_s;
      const apps::GenTotals now = totals(gens, rt, *opts);
      series.push_back(apps::sample_between(seconds, now, last));
      if (opts->rate > 0 && opts->mode != apps::GenMode::bulk)
        series.back().target = static_cast<uint64_t>(std::llround(profile.expected(
            opts->rate, uint64_t{seconds - 1} * 1'000'000'000, uint64_t{seconds} * 1'000'000'000)));
      // (after the swap, *_before is this tick's snapshot and *_now the last one's)
      series.back().set_latency(connect_before->since(*connect_now),
                                response_before->since(*response_now));
      last = now;
      {
        std::lock_guard lock(last_second_mutex);
        last_second = series.back();
      }
      if (!opts->quiet) {
        std::printf("%s\n", apps::gen_progress_line(series.back()).c_str());
        std::fflush(stdout);
      }
      if (seconds >= opts->duration_s) stop.store(true);  // (after --delay)
    });
    remove_telemetry_command("/pollux/gen");  // before what it reads goes
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    apps::GenTotals t = totals(gens, rt, *opts);
    for (const auto& g : gens) t.conns += g->conn_totals();  // the pollers have stopped
    t.gen_retrans = apps::RetransCauses::from([&](Counter c) { return rt.counter(c); });
    std::vector<uint64_t> counters(kCounterCount);
    for (size_t i = 0; i < kCounterCount; ++i) counters[i] = rt.counter(static_cast<Counter>(i));
    t.gen_counters = counters;
    if (opts->local_server) {
      t.local_server = true;
      t.server_retrans = apps::RetransCauses::from([&](Counter c) { return server_rt.counter(c); });
      t.server_counters.resize(kCounterCount);
      for (size_t i = 0; i < kCounterCount; ++i)
        t.server_counters[i] = server_rt.counter(static_cast<Counter>(i));
    }
    apps::LatencyHistogram connect, response;
    merge_latency(gens, connect, response);
    std::printf("%s", apps::gen_summary(*opts, secs, t, connect, response).c_str());
    std::printf("%s", apps::cpu_lines("gen", rt.load()).c_str());
    if (opts->local_server)
      std::printf("%s", apps::cpu_lines("local server", server_rt.load()).c_str());
    if (!opts->json_path.empty()) {
      const std::string doc = apps::gen_json(*opts, secs, t, series, connect, response, counters,
                                             rt.load(), server_rt.load());
      std::FILE* json = std::fopen(opts->json_path.c_str(), "w");
      if (!json || std::fwrite(doc.data(), 1, doc.size(), json) != doc.size() ||
          std::fclose(json) != 0)
        std::fprintf(stderr, "pollux-gen: --json: cannot write %s\n", opts->json_path.c_str());
    }
    std::printf("%s\n", rt.describe_port_stats().c_str());
    if (opts->local_server) std::printf("%s\n", server_rt.describe_port_stats().c_str());
    if (const std::string cap = stop_capture(); !cap.empty()) std::printf("%s\n", cap.c_str());
    std::printf("%s", rt.describe_lcores().c_str());
    if (opts->local_server) {
      apps::ServerStats st;
      for (const auto& sv : servers) {
        st += sv->stats();
      }
      std::printf(
          "local server: accepted %llu, requests %llu, bad requests %llu, bytes in %llu, "
          "out %llu, retransmitted segments %llu\n",
          (unsigned long long)st.accepted, (unsigned long long)st.requests,
          (unsigned long long)st.bad_requests, (unsigned long long)st.bytes_in,
          (unsigned long long)st.bytes_out,
          (unsigned long long)server_rt.counter(Counter::tcp_retrans_segs));
    }
    std::fflush(stdout);
  }
  stop_eal();
  return 0;
}
