// pollux-server: answers ARP and ping on its addresses and serves TCP on one port.
//   pollux-server [--preset ...] [EAL args] -- --ip 10.0.0.2/24 --port 8080 --mode echo
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "../common/cpu_report.hpp"
#include "../common/startup.hpp"
#include "../common/stats.hpp"
#include "pollux/runtime.hpp"
#include "server_app.hpp"
#include "server_options.hpp"

int main(int argc, char** argv) {
  using namespace pollux;
  int exit_code = 0;
  const apps::AppSpec<apps::ServerOptions> app{
      "pollux-server", apps::kServerUsage, apps::parse_server_options,
      [](const apps::ServerOptions& o) { return apps::pcap_writable("pollux-server", o.pcap); }};
  auto opts = apps::start(argc, argv, app, exit_code);
  if (!opts) return exit_code;

  int rc = 0;
  {
    Runtime rt;
    RuntimeOptions ro = apps::runtime_options(*opts);
    ro.name = "server";
    if (!apps::init_runtime(rt, ro, app.name)) return 1;
    std::printf("%s\n", rt.describe_port().c_str());
    for (const auto& a : opts->addrs) std::printf("address %s\n", a.to_string().c_str());
    for (const auto& a : opts->addrs6) std::printf("address %s\n", a.to_string().c_str());
    if (opts->gateway) std::printf("gateway %s\n", opts->gateway->to_string().c_str());
    if (opts->gateway6) std::printf("gateway %s\n", opts->gateway6->to_string().c_str());
    if (opts->lcores_info) {
      auto lcores = rt.lcores();
      for (size_t q = 0; q < lcores.size(); ++q)
        std::printf("lcore %u (socket %u) polls port %u queue %zu\n", lcores[q],
                    lcore_socket(lcores[q]), rt.port_id(), q);
    }
    std::vector<std::unique_ptr<apps::ServerApp>> servers;
    for (size_t i = 0; i < rt.stack_count(); ++i) {
      servers.push_back(std::make_unique<apps::ServerApp>(rt.stack(i), *opts));
      rt.set_iteration_hook(i, apps::ServerApp::on_iteration, servers.back().get());
      if (!servers.back()->start()) {
        std::fprintf(stderr, "pollux-server: cannot listen on port %u\n", opts->tcp_port);
        return 1;
      }
    }
    if (!apps::start_pcap(app.name, opts->pcap)) return 1;
    std::printf("tcp: %s server on port %u, %u connections per lcore, %s\n",
                apps::mode_name(opts->mode), opts->tcp_port, opts->max_connections,
                apps::describe(opts->tcp).c_str());
    if (const std::string sock = telemetry_socket(); !sock.empty())
      std::printf("telemetry %s\n", sock.c_str());
    std::printf("ready\n");
    std::fflush(stdout);

    apps::CounterSnapshot last{};
    auto get = [&](Counter c) { return rt.counter(c); };
    rt.run(stop_flag(), [&](unsigned seconds) {
      auto now = apps::snapshot(get);
      if (!opts->quiet) {
        std::printf("%s\n", apps::progress_line(seconds, now, last).c_str());
        std::fflush(stdout);
      }
      last = now;
      if (opts->duration_s != 0 && seconds >= opts->duration_s) stop_flag().store(true);
    });
    std::printf("summary:\n%s", apps::summary(apps::snapshot(get)).c_str());
    std::printf("%s", rt.describe_lcores().c_str());
    std::printf("%s", apps::cpu_lines("server", rt.load()).c_str());
    apps::ServerStats total;
    apps::ConnTotals closed_conns;
    for (const auto& sv : servers) {
      total += sv->stats();
      closed_conns += sv->closed_conn_totals();
    }
    std::printf(
        "  %-28s %llu\n  %-28s %llu\n  %-28s %llu\n  %-28s %llu\n  %-28s %llu\n"
        "  %-28s %llu\n  %-28s %llu\n  %-28s %llu\n  %-28s %llu\n  %-28s %llu\n"
        "  %-28s %llu\n  %-28s %llu\n  %-28s %llu\n",
        "app_accepted", (unsigned long long)total.accepted, "app_closed",
        (unsigned long long)total.closed, "app_resets_or_timeouts",
        (unsigned long long)total.resets, "app_bytes_in", (unsigned long long)total.bytes_in,
        "app_bytes_out", (unsigned long long)total.bytes_out, "app_requests",
        (unsigned long long)total.requests, "app_bad_requests",
        (unsigned long long)total.bad_requests, "app_idle_timeouts",
        (unsigned long long)total.idle_timeouts, "app_header_timeouts",
        (unsigned long long)total.header_timeouts, "app_head_buffers_borrowed",
        (unsigned long long)total.head_buffers_borrowed, "app_head_buffer_waits",
        (unsigned long long)total.head_buffer_waits, "app_parsers_lent",
        (unsigned long long)total.parsers_lent, "app_parser_pool_empty",
        (unsigned long long)total.parser_pool_empty);
    std::printf("closed connections: %s\n", apps::describe(closed_conns).c_str());
    std::printf("%s\n", rt.describe_port_stats().c_str());
    if (const std::string cap = stop_capture(); !cap.empty()) std::printf("%s\n", cap.c_str());
    // Connections still open at exit, like `ss -ti`: what a stuck transfer looks like.
    for (size_t i = 0; i < rt.stack_count(); ++i) {
      rt.stack(i).for_each_connection([&](const Conn* c) {
        const ConnInfo ci = rt.stack(i).info(c);
        const Endpoint peer = Stack::remote(c);
        std::printf("conn %s:%u %s sndq %u rcvq %u ooo %u\n", peer.ip.to_string().c_str(),
                    peer.port, apps::conn_info_line(ci).c_str(), ci.sndq_bytes, ci.rcvq_bytes,
                    ci.ooo_bytes);
      });
    }
    std::fflush(stdout);
  }
  stop_eal();
  return rc;
}
