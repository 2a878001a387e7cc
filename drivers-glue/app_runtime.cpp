// The applications' start-up and run-time (pollux/runtime.hpp) over the DPDK runtime: the one
// place where an app's options become a RuntimeConfig.
#include "pollux/runtime.hpp"

#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_pdump.h>

#include <csignal>
#include <cstring>
#include <filesystem>

#include "capture.hpp"
#include "eal.hpp"
#include "ring_link.hpp"
#include "runtime.hpp"
#include "tcp/tcp_layer.hpp"
#include "telemetry.hpp"

namespace pollux {

std::vector<std::string> app_arguments(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) {
      for (int k = i + 1; k < argc; ++k) args.emplace_back(argv[k]);
      break;
    }
  }
  return args;
}

namespace {
bool& pdump_ready() {
  static bool ready = false;
  return ready;
}
}  // namespace

bool start_eal(int argc, char** argv, std::string_view default_preset) {
  std::vector<std::string> ignored;  // app_arguments() has them
  if (dpdk::init_eal(argc, argv, ignored, default_preset) < 0) return false;
  // dpdk-dumpcap (a secondary process) asks the primary over the EAL's IPC channel to copy
  // the packets of a port into its ring. That needs a shared configuration (hugepages, no
  // --no-shconf); without one the registration fails and there is nothing to serve: --pcap
  // is the way to capture then.
  pdump_ready() = rte_pdump_init() == 0;
  return true;
}

void stop_eal() {
  // A capture the app did not stop (an early exit) is drained and closed: its writer thread
  // must not outlive the EAL.
  (void)dpdk::capture_stop();
  if (pdump_ready()) rte_pdump_uninit();
  pdump_ready() = false;
  // The runtime folder of a prefix we made up (/var/run/dpdk/pollux-PID: the telemetry
  // socket, the config files) would be left behind by every run otherwise.
  const std::string dir = dpdk::generated_prefix().empty() ? "" : rte_eal_get_runtime_dir();
  rte_eal_cleanup();
  if (!dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
}

std::string telemetry_socket() {
  return std::string(rte_eal_get_runtime_dir()) + "/dpdk_telemetry.v2";
}

void add_telemetry_command(const std::string& cmd, const std::string& help,
                           std::function<std::vector<std::pair<std::string, uint64_t>>()> fill) {
  dpdk::telemetry_add_command(cmd, help, std::move(fill));
}

void remove_telemetry_command(const std::string& cmd) {
  dpdk::telemetry_remove_command(cmd);
}

bool start_capture(const std::string& path, uint32_t snaplen, std::string& error) {
  return dpdk::capture_start(path, snaplen, error);
}
std::string stop_capture() {
  return dpdk::capture_stop();
}

namespace {
std::atomic<bool> g_stop{false};
void on_signal(int) {
  g_stop.store(true);
}
}  // namespace

std::atomic<bool>& stop_flag() {
  static const bool installed = [] {
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    return true;
  }();
  (void)installed;
  return g_stop;
}

namespace {
dpdk::RuntimeConfig runtime_config(const RuntimeOptions& o) {
  dpdk::RuntimeConfig c;
  c.name = o.name;
  c.port_id = o.port_id;
  c.iface.addrs = o.addrs;
  c.iface.addrs6 = o.addrs6;
  c.iface.gateway = o.gateway;
  c.iface.gateway6 = o.gateway6;
  c.dad_probes = o.dad_probes;
  c.mld = o.mld;
  c.iface.mtu = o.mtu;
  c.checksum_offload = o.checksum_offload;
  c.link_checksum = o.link_checksum;
  c.link_tso_lro = o.link_checksum && o.link_tso_lro;
  c.tso = o.tso;
  c.gro = o.gro;
  c.tcp.tx_share = o.tx_zero_copy;
  c.tcp.max_connections = o.max_connections;
  c.tcp.congestion_control = o.cc;
  c.tcp.sack = o.sack;
  c.tcp.timestamps = o.timestamps;
  c.tcp.tlp_wc_delack_ns = o.tlp_wc_delack_ns;
  c.tcp.syn_cookies = o.syn_cookies;
  if (o.challenge_ack_rate) c.tcp.challenge_ack_rate = *o.challenge_ack_rate;
  if (o.closed_rst_rate) c.tcp.closed_rst_rate = *o.closed_rst_rate;
  c.tcp.syn_filter = o.syn_filter;
  if (o.msl_ns != 0) c.tcp.msl_ns = o.msl_ns;
  if (o.user_timeout_ns) c.tcp.user_timeout_ns = *o.user_timeout_ns;
  if (o.fin_timeout_ns) c.tcp.fin_wait_2_ns = *o.fin_timeout_ns;
  if (o.max_conns_per_source) c.tcp.max_conns_per_source = *o.max_conns_per_source;
  if (o.time_wait_records) c.tcp.time_wait_records = *o.time_wait_records;
  if (o.ephemeral_first != 0) c.tcp.ephemeral_first = o.ephemeral_first;
  if (o.ephemeral_last != 0) c.tcp.ephemeral_last = o.ephemeral_last;
  c.extra_mbufs = o.extra_mbufs;
  c.rx_desc = o.rx_desc;
  c.tx_desc = o.tx_desc;
  c.mbufs = o.mbufs;
  for (const auto& e : o.static_arp) {
    net::MacAddr mac;
    std::copy(e.mac.begin(), e.mac.end(), mac.bytes.begin());
    c.arp.static_entries.push_back({e.ip, mac});
  }
  if (o.neighbour_capacity) c.arp.capacity = c.nd.capacity = *o.neighbour_capacity;
  c.lcores = o.lcores;
  return c;
}
}  // namespace

uint64_t connection_memory(uint32_t connections, const RuntimeOptions& o) {
  RuntimeOptions c = o;
  c.max_connections = connections;
  return tcp::TcpLayer::memory(runtime_config(c).tcp).connection_tables();
}

uint32_t connections_for_memory(uint64_t bytes, const RuntimeOptions& o) {
  // The tables grow with the count (the bucket array in powers of two): the largest count
  // that fits, by bisection.
  uint32_t lo = 0, hi = kMaxConnectionsPerLcore;
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo + 1) / 2;
    if (connection_memory(mid, o) <= bytes)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

Runtime::Runtime() : impl_(std::make_unique<dpdk::Runtime>()) {}
Runtime::~Runtime() = default;

bool Runtime::init(const RuntimeOptions& options, std::string& error) {
  if (!impl_->init(runtime_config(options), error)) {
    // A failed start holds nothing: what it made (the pool, the rings, a configured port)
    // goes now, while the EAL is up, so that the caller may stop the EAL before this object
    // goes (freeing the pool after rte_eal_cleanup crashed, e.g. on an MTU a tap refuses).
    impl_ = std::make_unique<dpdk::Runtime>();
    return false;
  }
  stacks_.clear();
  for (size_t i = 0; i < impl_->engine_count(); ++i) stacks_.emplace_back(impl_->engine(i));
  return true;
}

void Runtime::set_iteration_hook(size_t stack, void (*fn)(void* ctx, uint64_t now_ns), void* ctx) {
  impl_->set_iteration_hook(stack, fn, ctx);
}

void Runtime::run(std::atomic<bool>& stop, const std::function<void(unsigned)>& tick) {
  impl_->run(stop, tick);
}

void Runtime::run_all(std::span<Runtime* const> runtimes, std::atomic<bool>& stop,
                      const std::function<void(unsigned)>& tick) {
  std::vector<dpdk::Runtime*> impls;
  for (Runtime* r : runtimes) impls.push_back(r->impl_.get());
  dpdk::Runtime::run_all(impls, stop, tick);
}

uint16_t Runtime::port_id() const {
  return impl_->port().port_id;
}
std::vector<unsigned> Runtime::lcores() const {
  return impl_->worker_lcores();
}
uint64_t Runtime::counter(Counter c) const {
  return impl_->counter(c);
}
std::string Runtime::describe_port() const {
  return dpdk::describe_port(impl_->port());
}
std::string Runtime::describe_port_stats() const {
  return dpdk::describe_port_stats(impl_->port().port_id);
}
std::vector<LcoreLoad> Runtime::load() const {
  return impl_->load();
}

std::string Runtime::describe_lcores() const {
  return impl_->describe_lcores();
}

unsigned lcore_socket(unsigned lcore) {
  return rte_lcore_to_socket_id(lcore);
}

std::vector<unsigned> pollable_lcores() {
  std::vector<unsigned> lcores;
  unsigned id;
  RTE_LCORE_FOREACH_WORKER(id) lcores.push_back(id);
  if (lcores.size() % 2 == 1) lcores.insert(lcores.begin(), rte_get_main_lcore());
  return lcores;
}

bool create_memory_link(const std::string& name, unsigned queues, unsigned ring_size,
                        MemoryLink& link, std::string& error) {
  dpdk::RingLink rl;
  if (!dpdk::create_ring_link(name, queues, ring_size, rl, error)) return false;
  link.port_a = rl.port_a;
  link.port_b = rl.port_b;
  return true;
}

}  // namespace pollux
