// The start-up both apps share: `app [--preset ...] [EAL args] -- [app args]`.
// Application arguments are checked before the EAL starts: a typo should not cost a device
// bring-up, and --help should work without hugepages or root. (Option parsing itself is
// cli.hpp's and options.hpp's: CLI11, with --config and --print-config.)
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "options.hpp"
#include "pollux/runtime.hpp"

namespace pollux::apps {

template <class Options>
[[nodiscard]] bool resolve_conn_memory(const char* app, Options& o);

// What the start-up needs to know of an app.
template <class Options>
struct AppSpec {
  const char* name;   // "pollux-server": prefixes every error line
  const char* usage;  // printed after a bad argument (stderr); --help prints the full help
  std::optional<Options> (*parse)(const std::vector<std::string>& args, std::string& error);
  // Checks that need no EAL, e.g. that a report file is writable: false (after printing
  // why) ends the process with exit code 2. May be null.
  bool (*check)(const Options& o) = nullptr;
  // The --preset to apply when argv gives none (e.g. "local"): null or empty for none.
  const char* (*default_preset)(const Options& o) = nullptr;
};

// Parses the arguments after `--`, then starts the EAL. Bad arguments print "NAME: why" and
// the usage on stderr (exit code 2), --help prints the grouped help and --print-config the
// effective configuration (`print_instead`, exit code 0), an EAL that does
// not start prints why (exit code 2): each returns nullopt with `exit_code` set, and the
// caller returns it. Otherwise the options, with the EAL running and SIGINT/SIGTERM setting
// stop_flag().
template <class Options>
[[nodiscard]] std::optional<Options> start(int argc, char** argv, const AppSpec<Options>& app,
                                           int& exit_code) {
  std::string error;
  std::optional<Options> opts = app.parse(app_arguments(argc, argv), error);
  exit_code = 2;
  if (!opts) {
    std::fprintf(stderr, "%s: %s\n%s  (--help lists every option)\n", app.name, error.c_str(),
                 app.usage);
    return std::nullopt;
  }
  if (!opts->print_instead.empty()) {
    std::printf("%s", opts->print_instead.c_str());
    exit_code = 0;
    return std::nullopt;
  }
  if (!resolve_conn_memory(app.name, *opts)) return std::nullopt;
  if (app.check && !app.check(*opts)) return std::nullopt;
  const char* preset = app.default_preset ? app.default_preset(*opts) : nullptr;
  if (!start_eal(argc, argv, preset ? preset : "")) return std::nullopt;
  (void)stop_flag();
  exit_code = 0;
  return opts;
}

// Brings up `rt`; on failure prints "WHAT: why", releases the EAL and returns false (the
// caller exits with 1).
[[nodiscard]] inline bool init_runtime(Runtime& rt, const RuntimeOptions& o, const char* what) {
  std::string error;
  if (rt.init(o, error)) return true;
  std::fprintf(stderr, "%s: %s\n", what, error.c_str());
  stop_eal();
  return false;
}

// --pcap, before the EAL starts: a file that cannot be written is an argument error (exit
// code 2), not a failure after the device came up. Creates the file empty. True without
// --pcap.
[[nodiscard]] inline bool pcap_writable(const char* app, const PcapOption& pcap) {
  if (!pcap.enabled()) return true;
  std::FILE* f = std::fopen(pcap.path.c_str(), "w");
  if (f && std::fclose(f) == 0) return true;
  std::fprintf(stderr, "%s: --pcap: cannot write %s: %s\n", app, pcap.path.c_str(),
               std::strerror(errno));
  return false;
}

// --pcap, once every port exists (interface blocks are written for the ports there are):
// false after printing why (the caller exits with 1).
[[nodiscard]] inline bool start_pcap(const char* app, const PcapOption& pcap) {
  if (!pcap.enabled()) return true;
  std::string error;
  if (start_capture(pcap.path, pcap.snaplen, error)) return true;
  std::fprintf(stderr, "%s: %s\n", app, error.c_str());
  return false;
}

// The options both apps share (--ip, --gw, --mtu, --dpdk-port, --no-offload, --max-conns,
// --rxd, --txd, --mbufs,
// --cc, --no-sack, --no-timestamps, --tlp-wc-delack, --syn-cookies, --challenge-ack-limit,
// --rst-limit; --allow/--deny when the app has them) as the runtime's: the one place they
// are mapped.
template <class Options>
[[nodiscard]] RuntimeOptions runtime_options(const Options& o) {
  RuntimeOptions r;
  r.port_id = o.port_id;
  r.addrs = o.addrs;
  r.addrs6 = o.addrs6;
  r.gateway = o.gateway;
  r.gateway6 = o.gateway6;
  r.mtu = o.mtu;
  r.checksum_offload = o.checksum_offload;
  r.rx_desc = o.device.rx_desc;
  r.tx_desc = o.device.tx_desc;
  r.mbufs = o.device.mbufs;
  r.link_checksum = o.device.link_offloads != LinkOffloads::none;
  r.link_tso_lro = o.device.link_offloads == LinkOffloads::all;
  r.tso = o.device.tso;
  r.gro = o.device.gro;
  for (const StaticArp& e : o.device.static_arp) r.static_arp.push_back({e.ip, e.mac});
  r.tx_zero_copy = o.tx_zero_copy;
  r.max_connections = o.max_connections;
  r.cc = o.tcp.cc;
  r.sack = o.tcp.sack;
  r.timestamps = o.tcp.timestamps;
  r.tlp_wc_delack_ns = uint64_t{o.tcp.tlp_wc_delack_ms} * 1'000'000;
  r.syn_cookies = o.tcp.syn_cookies;
  r.challenge_ack_rate = o.tcp.challenge_ack_limit;
  r.closed_rst_rate = o.tcp.rst_limit;
  if (o.tcp.user_timeout_s) r.user_timeout_ns = uint64_t{*o.tcp.user_timeout_s} * 1'000'000'000;
  if (o.tcp.fin_timeout_s) r.fin_timeout_ns = uint64_t{*o.tcp.fin_timeout_s} * 1'000'000'000;
  r.max_conns_per_source = o.tcp.max_conns_per_source;
  r.time_wait_records = o.tcp.time_wait_records;
  r.neighbour_capacity = o.tcp.neigh_max;
  if constexpr (requires { o.syn_filter; }) r.syn_filter = o.syn_filter;
  return r;
}

// --conn-memory: the budget becomes max_connections (the most connections whose tables fit
// it, with every other option as given). A budget too small for 16 connections per lcore
// (--max-conns' floor) prints one line and returns false (exit code 2).
template <class Options>
[[nodiscard]] bool resolve_conn_memory(const char* app, Options& o) {
  if (!o.tcp.conn_memory) return true;
  constexpr uint32_t kFloor = 16;
  const RuntimeOptions r = runtime_options(o);
  const uint32_t n = connections_for_memory(*o.tcp.conn_memory, r);
  if (n < kFloor) {
    std::fprintf(stderr, "%s: --conn-memory %llu: less than the %llu bytes %u connections take\n",
                 app, static_cast<unsigned long long>(*o.tcp.conn_memory),
                 static_cast<unsigned long long>(connection_memory(kFloor, r)), kFloor);
    return false;
  }
  o.max_connections = n;
  return true;
}

}  // namespace pollux::apps
