#include "runtime.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "capture.hpp"
#include "log.hpp"
#include "mempool.hpp"
#include "telemetry.hpp"

namespace pollux::dpdk {

Runtime::~Runtime() {
  telemetry_remove(this);  // first: the telemetry thread reads what follows
  steerers_.clear();
  mesh_.reset();     // frees what is still in flight between lcores
  engines_.clear();  // frees held mbufs back to the pool before the port goes
  for (rte_ring* r : inboxes_) rte_ring_free(r);
  if (port_started_) stop_port(port_.port_id);
  if (pool_) rte_mempool_free(pool_);
}

bool Runtime::init(const RuntimeConfig& config, std::string& error) {
  name_ = config.name.empty() ? "port" + std::to_string(config.port_id) : config.name;
  // Workers are the EAL's worker lcores; with none (-l N), the main lcore polls itself.
  lcores_ = config.lcores;
  if (lcores_.empty()) {
    unsigned id;
    RTE_LCORE_FOREACH_WORKER(id) lcores_.push_back(id);
    if (lcores_.empty()) lcores_.push_back(rte_get_main_lcore());
  }

  PortConfig pc;
  pc.port_id = config.port_id;
  pc.queues = static_cast<uint16_t>(lcores_.size());
  pc.mtu = config.iface.mtu;
  pc.checksum_offload = config.checksum_offload;
  pc.link_checksum = config.link_checksum;
  pc.link_tso_lro = config.link_tso_lro;
  pc.tso = config.tso;
  pc.gro = config.gro;
  pc.zero_copy = config.tcp.tx_share;
  pc.rx_desc = config.rx_desc;
  pc.tx_desc = config.tx_desc;
  const int socket = rte_eth_dev_is_valid_port(config.port_id)
                         ? rte_eth_dev_socket_id(config.port_id)
                         : static_cast<int>(rte_socket_id());
  // Sized for every queue the port will have, those its driver opened at probe included.
  uint16_t pool_queues = pc.queues;
  if (rte_eth_dev_info dev{};
      rte_eth_dev_is_valid_port(config.port_id) && rte_eth_dev_info_get(config.port_id, &dev) == 0)
    pool_queues = std::max(pool_queues, dev.nb_rx_queues);
  unsigned extra = config.extra_mbufs;
  if (config.mbufs != 0) {
    // --mbufs N is the pool in all: what the rings and caches need comes out of it first.
    const unsigned rings = mbuf_pool_ring_share(pool_queues, pc.rx_desc, pc.tx_desc);
    if (config.mbufs < rings + kMinHeldMbufs) {
      error = "--mbufs " + std::to_string(config.mbufs) + " is too few for " +
              std::to_string(pool_queues) + " queue(s) of " + std::to_string(pc.rx_desc) + "+" +
              std::to_string(pc.tx_desc) + " descriptors: at least " +
              std::to_string(rings + kMinHeldMbufs) + " (or smaller --rxd/--txd)";
      return false;
    }
    extra = config.mbufs - rings;
  }
  pool_ = create_mbuf_pool("pollux_p" + std::to_string(config.port_id), pool_queues, pc.rx_desc,
                           pc.tx_desc, extra, socket < 0 ? SOCKET_ID_ANY : socket, error);
  if (!pool_) return false;
  POLLUX_LOG(DEBUG, "pool %s: %u mbufs (rings and caches %u, held data %u)", pool_->name,
             pool_->size, mbuf_pool_ring_share(pool_queues, pc.rx_desc, pc.tx_desc), extra);
  if (!bring_up_port(pc, pool_, port_, error)) return false;
  port_started_ = true;
  {
    // Neighbour discovery needs our solicited-node groups and all-nodes (RFC 4861 7.2.1,
    // RFC 4862 5.4.2: from before DAD's first probe) past the device's multicast filter.
    engine::InterfaceConfig iface = config.iface;
    iface.mac = port_.mac;
    const engine::LocalAddrs6 addrs6(iface);
    std::vector<net::MacAddr> groups;
    if (!addrs6.empty()) groups.push_back(net::multicast_mac(net::kIpv6AllNodes));
    for (const auto& a : addrs6.all()) {
      const net::MacAddr g = net::multicast_mac(a.solicited);
      if (std::find(groups.begin(), groups.end(), g) == groups.end()) groups.push_back(g);
    }
    if (!join_multicast_groups(groups, port_, error)) return false;
  }

  const auto n = static_cast<uint16_t>(lcores_.size());
  // A device with more queues than lcores (net_af_packet's qpairs): queue q is polled by
  // worker q mod n, and software steering takes what lands there to its owner.
  extra_rx_.assign(n, {});
  for (uint16_t q = n; q < port_.queues; ++q) extra_rx_[q % n].push_back(q);
  if (n > 1) {
    shards_ = std::make_unique<engine::ShardMap>(n, net::kSymmetricRssKey,
                                                 port_.rss_programmed ? port_.reta.size() : 128);
    if (port_.rss_programmed && !shards_->set_reta(port_.reta)) {
      error = "RETA read back from the port is unusable";
      return false;
    }
  }
  for (size_t i = 0; i < lcores_.size(); ++i) {
    engine::EngineConfig ec;
    ec.iface = config.iface;
    ec.iface.mac = port_.mac;
    ec.iface.offloads = port_.offloads;
    ec.arp = config.arp;
    ec.nd = config.nd;
    ec.tcp = config.tcp;
    ec.dad_probes = config.dad_probes;
    ec.mld = config.mld;
    share_held_mbufs(extra, static_cast<uint32_t>(lcores_.size()), ec);
    ec.lcore_index = static_cast<uint16_t>(i);
    ec.shards = shards_.get();
    engines_.push_back(
        std::make_unique<engine::Engine>(ec, pool_, TscToNs(rte_get_tsc_hz())(rte_rdtsc())));
  }
  if (lcores_.size() > 1) {
    for (size_t i = 0; i < lcores_.size(); ++i) {
      std::string name = "pollux_nb" + std::to_string(config.port_id) + "_" + std::to_string(i);
      rte_ring* r = rte_ring_create_elem(name.c_str(), sizeof(engine::NeighbourUpdate), 1024,
                                         socket < 0 ? SOCKET_ID_ANY : socket, RING_F_SC_DEQ);
      if (!r) {
        error = "cannot create neighbour-sync ring " + name;
        return false;
      }
      inboxes_.push_back(r);
    }
    // Steering rings in both modes: with programmed RSS they stay empty (steered_out counts
    // any segment that still arrives off its owner, which would be a bug).
    mesh_ = engine::SteeringMesh::create("pollux_st" + std::to_string(config.port_id), n, 1024,
                                         socket < 0 ? SOCKET_ID_ANY : socket, error);
    if (!mesh_) return false;
    for (uint16_t i = 0; i < n; ++i) {
      steerers_.push_back(
          std::make_unique<engine::Steerer>(*mesh_, *shards_, i, engines_[i]->counters()));
      engines_[i]->set_steerer(steerers_.back().get());
    }
  }
  return true;
}

void Runtime::prepare_workers(std::atomic<bool>& stop) {
  telemetry_remove(this);  // while workers_ is rebuilt
  workers_.assign(engines_.size(), Worker{});
  for (size_t i = 0; i < engines_.size(); ++i) {
    workers_[i].engine = engines_[i].get();
    workers_[i].port = port_.port_id;
    workers_[i].queue = static_cast<uint16_t>(i);
    workers_[i].extra_rx = extra_rx_[i];
    workers_[i].stop = &stop;
    workers_[i].inboxes = inboxes_;
    workers_[i].steer = i < steerers_.size() ? steerers_[i].get() : nullptr;
    workers_[i].capture = capture_queue(port_.port_id, static_cast<uint16_t>(i));
    if (conn_snapshots_.size() < engines_.size())
      conn_snapshots_.push_back(std::make_unique<ConnSnapshot>());
    workers_[i].conns = conn_snapshots_[i].get();
    if (i < hooks_.size()) {
      workers_[i].on_iteration = hooks_[i].fn;
      workers_[i].on_iteration_ctx = hooks_[i].ctx;
    }
  }
  telemetry_add(name_, this);
}

void share_held_mbufs(uint32_t extra, uint32_t lcores, engine::EngineConfig& ec) {
  lcores = std::max<uint32_t>(lcores, 1);
  const uint32_t share = extra / lcores;
  if (ec.tcp.rcv_mbuf_budget == 0) ec.tcp.rcv_mbuf_budget = std::max<uint32_t>(share / 2, 64);
  if (ec.tcp.snd_mbuf_budget == 0) ec.tcp.snd_mbuf_budget = std::max<uint32_t>(share / 4, 64);
  ec.reasm.max_mbufs =
      static_cast<uint16_t>(std::clamp<uint32_t>(share / 8, 16, ec.reasm.max_mbufs));
  // Each neighbour cache's pending queue out of a 32nd: held packets wait a resolution's few
  // seconds at most, and a spoofer naming many on-link sources fills only this.
  const uint32_t pending = std::max<uint32_t>(share / 32, 16);
  ec.arp.max_pending_total = std::min(ec.arp.max_pending_total, pending);
  ec.nd.max_pending_total = std::min(ec.nd.max_pending_total, pending);
}

std::string checksum_partial_hint(uint16_t port_id, const std::string& driver, uint64_t bad) {
  // "net_af_packet" -> "af_packet": what the veth hands the segments to.
  const std::string to = driver.rfind("net_", 0) == 0 ? driver.substr(4) : driver;
  return "port " + std::to_string(port_id) + " (" + driver + "): all " + std::to_string(bad) +
         " TCP segments received failed their checksum, none passed: the peer offloads TCP "
         "checksums (a veth hands them to " +
         to + " unfinished); run `ethtool -K PEER tx off` on the interface at the other end";
}

void Runtime::watch_checksums() {
  if (checksum_hint_printed_ || (port_.driver != "net_af_packet" && port_.driver != "net_af_xdp"))
    return;
  const uint64_t bad = counter(base::Counter::drop_tcp_bad_checksum);
  // Segments whose checksum passed: they reached a connection or a listener, or were
  // answered or dropped as CLOSED, or failed a later check.
  const uint64_t good = counter(base::Counter::tcp_segs_in) + counter(base::Counter::tcp_rst_sent) +
                        counter(base::Counter::drop_tcp_rst_to_closed) +
                        counter(base::Counter::drop_tcp_bad_ports) +
                        counter(base::Counter::drop_tcp_bad_options);
  if (good != 0) {
    checksum_hint_printed_ = true;  // checksums work: nothing to watch any more
    return;
  }
  if (bad < kChecksumPartialSegments) return;
  checksum_hint_printed_ = true;
  std::fprintf(stderr, "%s\n", checksum_partial_hint(port_.port_id, port_.driver, bad).c_str());
  std::fflush(stderr);
}

void Runtime::run(std::atomic<bool>& stop, const std::function<void(unsigned)>& tick) {
  Runtime* self = this;
  run_all({&self, 1}, stop, tick);
}

void Runtime::run_all(std::span<Runtime* const> runtimes, std::atomic<bool>& stop,
                      const std::function<void(unsigned)>& tick) {
  for (Runtime* rt : runtimes) rt->prepare_workers(stop);
  std::atomic<bool> observer_stop{false};
  std::thread observer([&] {
    auto start = std::chrono::steady_clock::now();
    unsigned seconds = 0;
    while (!observer_stop.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      auto elapsed = std::chrono::steady_clock::now() - start;
      if (elapsed >= std::chrono::seconds(seconds + 1)) {
        ++seconds;
        for (Runtime* rt : runtimes) rt->watch_checksums();
        if (tick) tick(seconds);
      }
    }
  });
  const unsigned main = rte_get_main_lcore();
  Worker* main_worker = nullptr;
  for (Runtime* rt : runtimes)
    for (size_t i = 0; i < rt->lcores_.size(); ++i) {
      if (rt->lcores_[i] == main)
        main_worker = &rt->workers_[i];
      else
        rte_eal_remote_launch(run_worker, &rt->workers_[i], rt->lcores_[i]);
    }
  if (main_worker) run_worker(main_worker);
  // An idle main lcore sleeps rather than spin in rte_eal_mp_wait_lcore: on a machine with
  // more lcores than cores its spinning would steal time from the pollers.
  while (!main_worker && !stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  rte_eal_mp_wait_lcore();
  observer_stop = true;
  observer.join();
}

void Runtime::set_iteration_hook(size_t engine, void (*fn)(void*, uint64_t), void* ctx) {
  if (hooks_.size() < engines_.size()) hooks_.resize(engines_.size());
  if (engine < hooks_.size()) hooks_[engine] = Hook{fn, ctx};
}

std::string Runtime::describe_lcores() const {
  std::string s;
  if (engines_.size() < 2) return s;
  for (size_t i = 0; i < engines_.size(); ++i) {
    const base::Counters& c = engines_[i]->counters();
    // The engine counts what it processes (rx_packets), steered-in frames included; what
    // the queue delivered is that minus steered_in plus what was passed on (steered_out).
    const uint64_t processed = c.get(base::Counter::rx_packets);
    const uint64_t out = c.get(base::Counter::steered_out);
    const uint64_t in = c.get(base::Counter::steered_in);
    s += "lcore " + std::to_string(lcores_[i]) + " queue " + std::to_string(i) + ": queue_rx " +
         std::to_string(processed - in + out) + " steered_out " + std::to_string(out) +
         " steered_in " + std::to_string(in) + " processed " + std::to_string(processed) + "\n";
  }
  return s;
}

std::vector<LcoreLoad> Runtime::load() const {
  std::vector<LcoreLoad> out;
  const auto read = [](const uint64_t& v) {
    return std::atomic_ref<const uint64_t>(v).load(std::memory_order_relaxed);
  };
  for (size_t i = 0; i < workers_.size(); ++i) {
    const Worker& w = workers_[i];
    const base::Counters& c = engines_[i]->counters();
    LcoreLoad l;
    l.lcore = lcores_[i];
    l.tsc_hz = rte_get_tsc_hz();
    l.busy_turns = read(w.busy_turns);
    l.idle_turns = read(w.idle_turns);
    const uint64_t busy = read(w.busy_cycles), idle = read(w.idle_cycles);
    l.empty_turn_cycles = l.idle_turns ? idle / l.idle_turns : 0;
    const uint64_t fixed = l.empty_turn_cycles * l.busy_turns;
    l.busy_cycles = busy > fixed ? busy - fixed : 0;
    l.segments = c.get(base::Counter::tcp_segs_in) + c.get(base::Counter::tcp_segs_out);
    l.connections =
        c.get(base::Counter::tcp_active_opens) + c.get(base::Counter::tcp_passive_opens);
    l.stalls = read(w.stalls);
    l.stalls_after_yield = read(w.stalls_after_yield);
    l.stalls_over_pto = read(w.stalls_over_pto);
    l.max_gap_us = l.tsc_hz ? read(w.max_gap_cycles) * 1'000'000 / l.tsc_hz : 0;
    out.push_back(l);
  }
  return out;
}

std::vector<Runtime::ConnsOfLcore> Runtime::connections(uint32_t limit, unsigned timeout_ms) const {
  std::vector<ConnsOfLcore> out;
  const size_t n = std::min(conn_snapshots_.size(), lcores_.size());
  for (size_t i = 0; i < n; ++i) {
    ConnSnapshot& s = *conn_snapshots_[i];
    // A snapshot the lcore has not served yet (it stopped polling) is still pending: asking
    // again only moves the generation it will serve.
    s.limit.store(limit, std::memory_order_relaxed);
    const uint32_t gen = s.requested.load(std::memory_order_relaxed) + 1;
    s.requested.store(gen, std::memory_order_release);
    out.push_back(ConnsOfLcore{lcores_[i], false, 0, {}});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (s.served.load(std::memory_order_acquire) != gen &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    if (s.served.load(std::memory_order_acquire) != gen) continue;
    out.back().answered = true;
    out.back().total = s.total;
    out.back().rows = s.rows;
    out.back().time_wait = s.time_wait;
  }
  return out;
}

uint64_t Runtime::counter(base::Counter c) const {
  uint64_t sum = 0;
  for (const auto& e : engines_) sum += e->counters().get(c);
  return sum;
}

}  // namespace pollux::dpdk
