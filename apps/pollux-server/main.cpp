// pollux-server: answers ARP and ping on its addresses and serves TCP on one port.
//   pollux-server [--preset ...] [EAL args] -- --ip 10.0.0.2/24 --port 8080 --mode echo
#include <rte_eal.h>
#include <rte_lcore.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "../common/stats.hpp"
#include "eal.hpp"
#include "runtime.hpp"
#include "server_app.hpp"
#include "server_options.hpp"

namespace {
std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop.store(true); }
}  // namespace

int main(int argc, char** argv) {
  using namespace pollux;
  // Application arguments are checked before the EAL starts: a typo should not cost a
  // device bring-up, and --help should work without hugepages or root.
  std::vector<std::string> app_args;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--") {
      for (int k = i + 1; k < argc; ++k) app_args.emplace_back(argv[k]);
      break;
    }
  }
  std::string error;
  auto opts = apps::parse_server_options(app_args, error);
  if (!opts) {
    std::fprintf(stderr, "pollux-server: %s\n%s", error.c_str(), apps::kServerUsage);
    return 2;
  }
  if (opts->help) {
    std::printf("%s", apps::kServerUsage);
    return 0;
  }
  if (dpdk::init_eal(argc, argv, app_args) < 0) return 2;

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  int rc = 0;
  {
    dpdk::RuntimeConfig rc_config;
    rc_config.port_id = opts->port_id;
    rc_config.iface.addrs = opts->addrs;
    rc_config.iface.gateway = opts->gateway;
    rc_config.iface.mtu = opts->mtu;
    rc_config.checksum_offload = opts->checksum_offload;
    rc_config.tcp.max_connections = opts->max_connections;
    rc_config.tcp.congestion_control = opts->tcp.cc;
    rc_config.tcp.sack = opts->tcp.sack;
    rc_config.tcp.timestamps = opts->tcp.timestamps;
    rc_config.tcp.tlp_wc_delack_ns = uint64_t{opts->tcp.tlp_wc_delack_ms} * 1'000'000;
    dpdk::Runtime rt;
    if (!rt.init(rc_config, error)) {
      std::fprintf(stderr, "pollux-server: %s\n", error.c_str());
      rte_eal_cleanup();
      return 1;
    }
    std::printf("%s\n", dpdk::describe_port(rt.port()).c_str());
    for (const auto& a : opts->addrs) std::printf("address %s\n", a.to_string().c_str());
    if (opts->gateway) std::printf("gateway %s\n", opts->gateway->to_string().c_str());
    if (opts->lcores_info) {
      auto lcores = rt.worker_lcores();
      for (size_t q = 0; q < lcores.size(); ++q)
        std::printf("lcore %u (socket %u) polls port %u queue %zu\n", lcores[q],
                    rte_lcore_to_socket_id(lcores[q]), rt.port().port_id, q);
    }
    std::vector<std::unique_ptr<apps::ServerApp>> servers;
    for (size_t i = 0; i < rt.engine_count(); ++i) {
      servers.push_back(std::make_unique<apps::ServerApp>(rt.engine(i).tcp(), *opts));
      if (!servers.back()->start()) {
        std::fprintf(stderr, "pollux-server: cannot listen on port %u\n", opts->tcp_port);
        return 1;
      }
    }
    std::printf("tcp: %s server on port %u, %u connections per lcore, %s\n",
                apps::mode_name(opts->mode), opts->tcp_port, opts->max_connections,
                apps::describe(opts->tcp).c_str());
    std::printf("ready\n");
    std::fflush(stdout);

    apps::CounterSnapshot last{};
    auto get = [&](base::Counter c) { return rt.counter(c); };
    rt.run(g_stop, [&](unsigned seconds) {
      auto now = apps::snapshot(get);
      if (!opts->quiet) {
        std::printf("%s\n", apps::progress_line(seconds, now, last).c_str());
        std::fflush(stdout);
      }
      last = now;
      if (opts->duration_s != 0 && seconds >= opts->duration_s) g_stop.store(true);
    });
    std::printf("summary:\n%s", apps::summary(apps::snapshot(get)).c_str());
    std::printf("%s", rt.describe_lcores().c_str());
    apps::ServerStats total;
    apps::ConnTotals closed_conns;
    for (const auto& sv : servers) {
      total += sv->stats();
      closed_conns += sv->closed_conn_totals();
    }
    std::printf("  %-28s %llu\n  %-28s %llu\n  %-28s %llu\n  %-28s %llu\n  %-28s %llu\n"
                "  %-28s %llu\n  %-28s %llu\n",
                "app_accepted", (unsigned long long)total.accepted, "app_closed",
                (unsigned long long)total.closed, "app_resets_or_timeouts",
                (unsigned long long)total.resets, "app_bytes_in",
                (unsigned long long)total.bytes_in, "app_bytes_out",
                (unsigned long long)total.bytes_out, "app_requests",
                (unsigned long long)total.requests, "app_bad_requests",
                (unsigned long long)total.bad_requests);
    std::printf("closed connections: %s\n", apps::describe(closed_conns).c_str());
    std::printf("%s\n", dpdk::describe_port_stats(rt.port().port_id).c_str());
    // Connections still open at exit, like `ss -ti`: what a stuck transfer looks like.
    for (size_t i = 0; i < rt.engine_count(); ++i) {
      rt.engine(i).tcp().for_each_connection([&](const Conn* c) {
        const ConnInfo ci = rt.engine(i).tcp().info(c);
        const auto& t = tcp::TcpLayer::tuple(c);
        std::printf("conn %s:%u %s sndq %u rcvq %u ooo %u\n", t.remote_ip.to_string().c_str(),
                    t.remote_port, apps::conn_info_line(ci).c_str(), ci.sndq_bytes, ci.rcvq_bytes,
                    ci.ooo_bytes);
      });
    }
    std::fflush(stdout);
  }
  rte_eal_cleanup();
  return rc;
}
