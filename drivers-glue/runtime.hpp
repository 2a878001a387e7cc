// One port served by every worker lcore: pool, port bring-up, one engine per lcore, the
// pollers, and a once-a-second observer. Apps describe what they want; this does the DPDK.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "engine/rss.hpp"
#include "engine/steering.hpp"
#include "poller.hpp"
#include "pollux/runtime.hpp"
#include "port.hpp"

namespace pollux::dpdk {

struct RuntimeConfig {
  // What telemetry calls it (telemetry.hpp): "server", "gen", "local_server"; empty: portN.
  std::string name;
  uint16_t port_id = 0;
  engine::InterfaceConfig iface;  // mac and offloads are filled in from the port
  engine::ArpConfig arp;
  engine::NdConfig nd = engine::nd_defaults();
  tcp::TcpConfig tcp;
  bool checksum_offload = true;
  bool link_checksum = true, link_tso_lro = true;  // PortConfig: the in-memory link's offloads
  bool tso = true;  // PortConfig::tso: TSO where the device grants it
  bool gro = true;  // PortConfig::gro: GRO in software where the device has no LRO
  unsigned extra_mbufs = 8192;
  uint16_t rx_desc = 1024, tx_desc = 1024;
  uint32_t mbufs = 0;  // the pool in all (0: what the rings need + extra_mbufs)
  uint8_t dad_probes = 1;  // EngineConfig::dad_probes: DAD probes per IPv6 address (0: none)
  bool mld = true;         // EngineConfig::mld: MLDv2 reports for our IPv6 groups
  // The lcores that poll this port, one queue each. Empty: every worker lcore (or the main
  // lcore when there is no worker). Several runtimes in one process (two ports joined by an
  // in-memory link) each take their own lcores.
  std::vector<unsigned> lcores;
};

// A veth peer that offloads TCP checksums hands af_packet segments with the checksum still
// to be filled in (CHECKSUM_PARTIAL), and net_af_packet has no header to say so: every one
// fails verification. So does net_af_xdp: the XDP frame carries no checksum state either.
// This many bad and none good is that, not line noise.
inline constexpr uint64_t kChecksumPartialSegments = 8;

// Held memory (issue 14 item 2): the pool's mbufs beyond what the rings need (`extra`), split
// evenly between the lcores, and each lcore's share between what may hold them -- half for
// TCP's receive and reassembly queues, a quarter for its send queues, an eighth for IPv4
// reassembly, a 32nd for each neighbour cache's packets awaiting resolution (ARP, ND). What
// is left (a 16th, and the rings' part) is the reserve: RX refill, control segments (ACK,
// RST, SYN-ACK) and the headers of what is sent always find mbufs whatever peers make us
// hold. A TCP budget already set (non-zero) is kept; the other caps only come down.
void share_held_mbufs(uint32_t extra, uint32_t lcores, engine::EngineConfig& ec);

// The one line printed (to stderr) when that happens on port `port_id` (driver `driver`).
[[nodiscard]] std::string checksum_partial_hint(uint16_t port_id, const std::string& driver,
                                                uint64_t bad);

class Runtime {
 public:
  Runtime() = default;
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Creates the pool, brings the port up (one queue per worker lcore) and builds the engines.
  [[nodiscard]] bool init(const RuntimeConfig& config, std::string& error);

  // Runs the pollers until `stop` turns true. `tick(seconds)` is called about once per second
  // from a non-polling thread; it may read counters (relaxed loads) but not touch engines.
  void run(std::atomic<bool>& stop, const std::function<void(unsigned)>& tick);
  // The same for several runtimes at once (disjoint lcores), e.g. a load generator and its
  // local server in one process.
  static void run_all(std::span<Runtime* const> runtimes, std::atomic<bool>& stop,
                      const std::function<void(unsigned)>& tick);

  [[nodiscard]] const PortInfo& port() const { return port_; }
  [[nodiscard]] size_t engine_count() const { return engines_.size(); }
  [[nodiscard]] const engine::Engine& engine(size_t i) const { return *engines_[i]; }
  // For setting up applications before run(); afterwards only the owning lcore may touch it.
  [[nodiscard]] engine::Engine& engine(size_t i) { return *engines_[i]; }
  [[nodiscard]] std::vector<unsigned> worker_lcores() const { return lcores_; }

  // Application work per loop turn on engine i's lcore (see Worker::on_iteration). Set
  // before run(); `fn` runs on that lcore only, so it may use the engine freely.
  void set_iteration_hook(size_t engine, void (*fn)(void* ctx, uint64_t now_ns), void* ctx);

  // Sum over all engines.
  [[nodiscard]] uint64_t counter(base::Counter c) const;
  // Per worker, in queue order: its turns and cycles (Worker) with its engine's segments and
  // opens. Empty before run().
  [[nodiscard]] std::vector<LcoreLoad> load() const;
  // The open connections, at most `limit` of each lcore (ConnSnapshot::kMaxRows), as each
  // lcore's loop sees them at its next turn; for another thread (telemetry). An lcore that
  // does not answer within `timeout_ms` (not polling) is left out. Calls must not overlap.
  struct ConnsOfLcore {
    unsigned lcore = 0;
    bool answered = false;
    uint32_t total = 0;
    std::vector<ConnRow> rows;
    uint32_t time_wait = 0;  // TIME-WAIT records (counted, not in `rows`)
  };
  [[nodiscard]] std::vector<ConnsOfLcore> connections(uint32_t limit, unsigned timeout_ms) const;
  // With several workers, one line per lcore: what it received and steered (issue 6),
  // "lcore L queue Q: queue_rx R steered_out O steered_in I processed P"; empty with one.
  [[nodiscard]] std::string describe_lcores() const;

 private:
  std::string name_;  // for telemetry
  PortInfo port_;
  bool port_started_ = false;
  rte_mempool* pool_ = nullptr;
  std::vector<unsigned> lcores_;  // lcore id of each worker, in queue order
  std::vector<std::unique_ptr<engine::Engine>> engines_;
  std::vector<Worker> workers_;
  // Per worker, the RX queues past the lcores' own that it polls too (Worker::extra_rx).
  std::vector<std::vector<uint16_t>> extra_rx_;
  struct Hook {
    void (*fn)(void*, uint64_t) = nullptr;
    void* ctx = nullptr;
  };
  void prepare_workers(std::atomic<bool>& stop);
  // Called once a second by the observer: on net_af_packet or net_af_xdp, when every TCP
  // segment so far failed its checksum (at least kChecksumPartialSegments, none good),
  // prints once what to run on the peer (issue 12.3).
  void watch_checksums();
  bool checksum_hint_printed_ = false;

  std::vector<std::unique_ptr<ConnSnapshot>> conn_snapshots_;  // per engine
  std::vector<Hook> hooks_;                                    // per engine
  std::vector<rte_ring*> inboxes_;  // neighbour sync, one per worker (none with one worker)
  // Multi-core (issue 6), with more than one worker: the shard function (the NIC's RETA when
  // it was programmed, else the default one) and the software steering rings.
  std::unique_ptr<engine::ShardMap> shards_;
  std::unique_ptr<engine::SteeringMesh> mesh_;
  std::vector<std::unique_ptr<engine::Steerer>> steerers_;
};

}  // namespace pollux::dpdk
