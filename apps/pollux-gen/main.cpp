// pollux-gen: a load generator on the pollux stack. Opens connections toward one server and
// measures connections, requests and goodput per second, errors by cause, and latency.
//   pollux-gen [--preset ...] [EAL args] -- --ip 10.0.0.2/24 --dst 10.0.0.1:80 --mode rps --http
#include <rte_eal.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <rte_lcore.h>

#include "../pollux-server/server_app.hpp"
#include "eal.hpp"
#include "gen_app.hpp"
#include "gen_options.hpp"
#include "report.hpp"
#include "ring_link.hpp"
#include "runtime.hpp"

namespace {
std::atomic<bool> g_stop{false};
void on_signal(int) {
  g_stop.store(true);
}

pollux::apps::GenTotals totals(const std::vector<std::unique_ptr<pollux::apps::GenApp>>& apps,
                               const pollux::dpdk::Runtime& rt) {
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
  }
  t.retrans = rt.counter(pollux::base::Counter::tcp_retrans_segs);
  return t;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace pollux;
  // Application arguments are checked before the EAL starts (see pollux-server).
  std::vector<std::string> app_args;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--") {
      for (int k = i + 1; k < argc; ++k) app_args.emplace_back(argv[k]);
      break;
    }
  }
  std::string error;
  auto opts = apps::parse_gen_options(app_args, error);
  if (!opts) {
    std::fprintf(stderr, "pollux-gen: %s\n%s", error.c_str(), apps::kGenUsage);
    return 2;
  }
  if (opts->help) {
    std::printf("%s", apps::kGenUsage);
    return 0;
  }
  // Fail on an unwritable report now, not after the run.
  std::FILE* json = nullptr;
  if (!opts->json_path.empty() && !(json = std::fopen(opts->json_path.c_str(), "w"))) {
    std::fprintf(stderr, "pollux-gen: --json: cannot write %s\n", opts->json_path.c_str());
    return 2;
  }
  if (dpdk::init_eal(argc, argv, app_args, opts->local_server ? "local" : "") < 0) return 2;

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  {
    dpdk::RuntimeConfig rc;
    rc.port_id = opts->port_id;
    rc.iface.addrs = opts->addrs;
    rc.iface.gateway = opts->gateway;
    rc.iface.mtu = opts->mtu;
    rc.checksum_offload = opts->checksum_offload;
    rc.tcp.max_connections = opts->max_connections;
    rc.tcp.congestion_control = opts->tcp.cc;
    rc.tcp.sack = opts->tcp.sack;
    rc.tcp.timestamps = opts->tcp.timestamps;
    rc.tcp.tlp_wc_delack_ns = uint64_t{opts->tcp.tlp_wc_delack_ms} * 1'000'000;
    // A generator closes first and so holds TIME-WAIT: keep it short so that ports and TCBs
    // recycle (the peer's tuple is safe as long as our ISNs keep rising, RFC 6528).
    rc.tcp.msl_ns = uint64_t{opts->time_wait_ms} * 1'000'000 / 2;
    rc.tcp.ephemeral_first = 10000;
    rc.tcp.ephemeral_last = 65535;
    rc.extra_mbufs = 32768;

    // --local-server: split the lcores between us and the server and join the two ports
    // with an in-memory link. Queue i talks to queue i, so every connection opened by
    // generator lcore i is served by server lcore i and answered back on lcore i.
    dpdk::Runtime server_rt;
    std::vector<std::unique_ptr<apps::ServerApp>> servers;
    apps::ServerOptions so;
    if (opts->local_server) {
      std::vector<unsigned> lcores;
      unsigned id;
      RTE_LCORE_FOREACH_WORKER(id) lcores.push_back(id);
      // Two equal halves: the main lcore polls too when the workers alone are odd.
      if (lcores.size() % 2 == 1) lcores.insert(lcores.begin(), rte_get_main_lcore());
      if (lcores.size() < 2) {
        std::fprintf(stderr, "pollux-gen: --local-server needs at least 2 lcores (e.g. -l 0-1)\n");
        rte_eal_cleanup();
        return 2;
      }
      const size_t half = lcores.size() / 2;
      rc.lcores.assign(lcores.begin(), lcores.begin() + half);
      dpdk::RingLink link;
      if (!dpdk::create_ring_link("pollux_link", static_cast<unsigned>(half), 4096, link, error)) {
        std::fprintf(stderr, "pollux-gen: %s\n", error.c_str());
        rte_eal_cleanup();
        return 1;
      }
      rc.port_id = link.port_a;
      dpdk::RuntimeConfig sc;
      sc.port_id = link.port_b;
      sc.lcores.assign(lcores.begin() + half, lcores.begin() + 2 * half);
      for (const auto& p : opts->addrs)
        if (p.contains(opts->dst) && sc.iface.addrs.empty())
          sc.iface.addrs.push_back(net::Ipv4Prefix{opts->dst, p.length});
      sc.iface.mtu = opts->mtu;
      sc.checksum_offload = opts->checksum_offload;
      sc.tcp.max_connections = opts->max_connections;
      sc.tcp.congestion_control = opts->tcp.cc;
      sc.tcp.sack = opts->tcp.sack;
      sc.tcp.timestamps = opts->tcp.timestamps;
      sc.tcp.tlp_wc_delack_ns = uint64_t{opts->tcp.tlp_wc_delack_ms} * 1'000'000;
      sc.extra_mbufs = 32768;
      if (!server_rt.init(sc, error)) {
        std::fprintf(stderr, "pollux-gen: local server: %s\n", error.c_str());
        rte_eal_cleanup();
        return 1;
      }
      so.addrs = sc.iface.addrs;
      so.tcp_port = opts->dst_port;
      so.mode = *opts->local_server;
      so.http_body = opts->resp_size ? opts->resp_size : 128;
      so.max_connections = sc.tcp.max_connections;
      for (size_t i = 0; i < server_rt.engine_count(); ++i) {
        servers.push_back(std::make_unique<apps::ServerApp>(server_rt.engine(i).tcp(), so));
        if (!servers.back()->start()) {
          std::fprintf(stderr, "pollux-gen: local server cannot listen on port %u\n",
                       opts->dst_port);
          rte_eal_cleanup();
          return 1;
        }
      }
    }

    dpdk::Runtime rt;
    if (!rt.init(rc, error)) {
      std::fprintf(stderr, "pollux-gen: %s\n", error.c_str());
      rte_eal_cleanup();
      return 1;
    }
    std::printf("%s\n", dpdk::describe_port(rt.port()).c_str());
    for (const auto& a : opts->addrs) std::printf("address %s\n", a.to_string().c_str());
    if (opts->local_server)
      std::printf("local server: %s on %s:%u over an in-memory link, %zu lcore(s) each side\n",
                  apps::mode_name(so.mode), opts->dst.to_string().c_str(), opts->dst_port,
                  server_rt.engine_count());
    // Every lcore runs its own share of the connections: each picks ephemeral ports whose
    // replies the shard function maps back to it, and the port delivers them there (NIC RSS
    // programmed with the same key and RETA, or software steering; issue 6).
    const size_t gen_lcores = rt.engine_count();
    const uint32_t total = opts->mode == apps::GenMode::cps ? opts->concurrency : opts->connections;
    // Connections are opened from every --ip on the destination's subnet in turn (each adds
    // an ephemeral port space), or from the address the route gives.
    std::vector<net::Ipv4Addr> sources;
    for (const auto& p : opts->addrs)
      if (p.contains(opts->dst)) sources.push_back(p.addr);
    if (sources.empty()) sources.push_back(rt.engine(0).source_address(opts->dst));
    std::vector<std::unique_ptr<apps::GenApp>> gens;
    for (size_t i = 0; i < gen_lcores; ++i) {
      const uint32_t share = static_cast<uint32_t>(total / gen_lcores + (i < total % gen_lcores));
      if (share == 0) continue;
      const double rate = static_cast<double>(opts->rate) * share / total;
      gens.push_back(
          std::make_unique<apps::GenApp>(rt.engine(i).tcp(), sources, *opts, share, rate));
      rt.set_iteration_hook(i, apps::GenApp::on_iteration, gens.back().get());
    }
    std::printf(
        "gen: %s %s from %s%s to %s:%u, %u %s on %zu lcore(s), %u s\n",
        apps::gen_mode_name(opts->mode), opts->http ? "http" : "raw",
        sources[0].to_string().c_str(),
        sources.size() > 1 ? (" (+" + std::to_string(sources.size() - 1) + ")").c_str() : "",
        opts->dst.to_string().c_str(), opts->dst_port, total,
        opts->mode == apps::GenMode::cps ? "in flight" : "connections", gens.size(),
        opts->duration_s);
    std::printf("tcp: %s\n", apps::describe(opts->tcp).c_str());
    std::printf("ready\n");
    std::fflush(stdout);

    std::vector<apps::GenSample> series;
    apps::GenTotals last{};
    const auto t0 = std::chrono::steady_clock::now() + std::chrono::seconds(opts->delay_s);
    // Seconds are counted from the end of --delay; the samples before are not reported.
    const unsigned delay_s = opts->delay_s;
    dpdk::Runtime* runtimes[] = {&rt, &server_rt};
    const size_t n_runtimes = opts->local_server ? 2 : 1;
    dpdk::Runtime::run_all({runtimes, n_runtimes}, g_stop, [&](unsigned seconds) {
      if (seconds <= delay_s) return;
      seconds -= delay_s;
      const apps::GenTotals now = totals(gens, rt);
      series.push_back(apps::sample_between(seconds, now, last));
      last = now;
      if (!opts->quiet) {
        std::printf("%s\n", apps::gen_progress_line(series.back()).c_str());
        std::fflush(stdout);
      }
      if (seconds >= opts->duration_s) g_stop.store(true);  // (after --delay)
    });
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    apps::GenTotals t = totals(gens, rt);
    for (const auto& g : gens) t.conns += g->conn_totals();  // the pollers have stopped
    apps::LatencyHistogram connect, response;
    for (const auto& g : gens) {
      connect.merge(g->connect_latency());
      response.merge(g->response_latency());
    }
    std::printf("%s", apps::gen_summary(*opts, secs, t, connect, response).c_str());
    std::vector<uint64_t> counters(base::kCounterCount);
    for (size_t i = 0; i < base::kCounterCount; ++i)
      counters[i] = rt.counter(static_cast<base::Counter>(i));
    if (json) {
      const std::string doc = apps::gen_json(*opts, secs, t, series, connect, response, counters);
      std::fwrite(doc.data(), 1, doc.size(), json);
      std::fclose(json);
    }
    std::printf("%s\n", dpdk::describe_port_stats(rt.port().port_id).c_str());
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
          (unsigned long long)server_rt.counter(base::Counter::tcp_retrans_segs));
    }
    std::fflush(stdout);
  }
  rte_eal_cleanup();
  return 0;
}
