// Start-up and run-time for applications: the part of drivers-glue an app uses, and all of
// it. An app includes this and lib/include/pollux/ only (scripts/check_layers.py enforces it).
//
//   pollux-app [--preset ...] [EAL args] -- [app args]
//   auto args = pollux::app_arguments(argc, argv);      // parse these before the EAL starts
//   if (!pollux::start_eal(argc, argv)) return 2;
//   pollux::Runtime rt;  rt.init(options, error);         // pool, port, one stack per lcore
//   for each i: rt.stack(i).listen(...) / connect(...)    // pollux/stack.hpp
//   rt.run(pollux::stop_flag(), tick);                    // until SIGINT/SIGTERM or tick stops it
//   (Runtime destroyed) pollux::stop_eal();
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pollux/addr.hpp"
#include "pollux/cc.hpp"
#include "pollux/counters.hpp"
#include "pollux/lcore_load.hpp"
#include "pollux/stack.hpp"
#include "pollux/syn_filter.hpp"

namespace pollux {

namespace dpdk {
class Runtime;
}

// The application's own arguments: everything after the first "--" (DPDK's convention).
[[nodiscard]] std::vector<std::string> app_arguments(int argc, char** argv);

// Starts DPDK's EAL from argv: a leading `--preset NAME` expands into EAL arguments (tap:IF,
// afpacket:IF, ring, memif:PATH, local), else `default_preset` when not empty. False after
// printing why. stop_eal() releases what the EAL holds, after every Runtime is gone.
[[nodiscard]] bool start_eal(int argc, char** argv, std::string_view default_preset = {});
void stop_eal();

// In-process packet capture (--pcap FILE[:snaplen]) to a pcapng file: every port that exists
// when it starts gets an interface block (so start it after every Runtime::init), and every
// polling lcore of a later run() copies what it receives and sends (bounded: a capture that
// cannot keep up drops copies and counts them, it never stalls the pollers). False with
// `error` set ("--pcap: cannot write FILE: ...") when it cannot start.
[[nodiscard]] bool start_capture(const std::string& path, uint32_t snaplen, std::string& error);
// After run(): writes what is queued, closes the file and returns one line for the summary,
// "capture FILE: N packets written, snaplen S, dropped D (...)"; empty without a capture.
[[nodiscard]] std::string stop_capture();

// DPDK telemetry (issue 15.1): /pollux/counters, /pollux/lcores, /pollux/ports and
// /pollux/runtimes answer for every Runtime from its run() on (drivers-glue/telemetry.hpp).
// The socket dpdk-telemetry.py connects to (each process has its own: start_eal gives a
// unique --file-prefix when none is given); empty when telemetry is off.
[[nodiscard]] std::string telemetry_socket();
// An application's own command (e.g. "/pollux/gen"): `fill` runs on DPDK's telemetry thread,
// so it may read only what is safe from another thread (relaxed atomics, a mutex-guarded
// copy); it returns name/value pairs (names of letters, digits, '_' and '/').
void add_telemetry_command(const std::string& cmd, const std::string& help,
                           std::function<std::vector<std::pair<std::string, uint64_t>>()> fill);
// Before what `fill` reads goes away: once this returns, `fill` is not running and will not
// run again (the command answers with an error).
void remove_telemetry_command(const std::string& cmd);

// Turns true on SIGINT or SIGTERM (the handlers are installed by the first call).
[[nodiscard]] std::atomic<bool>& stop_flag();

// What an application asks of one port and its stacks.
struct RuntimeOptions {
  // The runtime's name in DPDK telemetry (/pollux/counters,NAME): "server", "gen", ...
  std::string name;
  uint16_t port_id = 0;  // DPDK port
  std::vector<Ipv4Prefix> addrs;
  // IPv6: with at least one, the port also has its MAC-derived link-local address.
  std::vector<Ipv6Prefix> addrs6;
  std::optional<Ipv4Addr> gateway;
  std::optional<Ipv6Addr> gateway6;  // the IPv6 next hop for off-link destinations
  uint16_t mtu = 1500;
  bool checksum_offload = true;      // false forces the software paths
  // The in-memory link's offloads (issue 13 item 2; other devices ignore them): IPv4/TCP
  // checksum offload, and on top of it TSO/LRO (data frames of up to 64 KB handed over
  // whole, as Linux's veth hands over GSO skbs). Both off: MTU frames, software checksums.
  bool link_checksum = true;
  bool link_tso_lro = true;
  // TSO on devices that grant it (net_tap, NICs; issue 13 item 3): the full-sized segments
  // that can go at once leave as one frame of up to 64 KB that the device cuts. false (--no-tso):
  // every segment built by the stack.
  bool tso = true;
  // GRO in software on devices without LRO (net_tap, af_packet; issue 13 item 3): a run of
  // one connection's in-order segments in an RX burst reaches TCP as one frame, answered by
  // one ACK. false (--no-gro): every segment on its own.
  bool gro = true;
  // Data segments reference the send queue where the port transmits chained mbufs
  // (--tx-zero-copy); off by default: measured on the in-memory link it costs more than the
  // copy it saves (2-3 mbufs and refcounts per segment; issue 13 note), until segments
  // reference one MSS-aligned buffer each.
  bool tx_zero_copy = false;
  uint32_t max_connections = 16384;  // per lcore (TIME-WAIT records are apart)
  CongestionControl cc = CongestionControl::cubic;
  bool sack = true;
  bool timestamps = true;
  uint64_t tlp_wc_delack_ns = 200'000'000;               // RFC 8985 7.2 WCDelAckT
  SynCookieMode syn_cookies = SynCookieMode::automatic;  // RFC 4987 3.6
  // Rate limits per lcore (0: unlimited): RFC 5961 7 challenge ACKs, and RSTs answering
  // segments for closed ports; the stack's defaults (TcpConfig) when left unset.
  std::optional<uint32_t> challenge_ack_rate;
  std::optional<uint32_t> closed_rst_rate;
  SynFilter syn_filter;                                  // pollux/syn_filter.hpp
  uint64_t msl_ns = 0;                                   // 0: the stack's (TIME-WAIT is 2 MSL)
  // Nothing held forever (TcpConfig): RFC 9293 USER TIMEOUT (0 there: no limit), the
  // orphans' FIN timeout, passive connections per source (0: no limit). Unset: the stack's.
  std::optional<uint64_t> user_timeout_ns;
  std::optional<uint64_t> fin_timeout_ns;
  std::optional<uint32_t> max_conns_per_source;
  // TIME-WAIT records per lcore (64 B each, outside the table); unset: the stack's.
  std::optional<uint32_t> time_wait_records;
  // Entries in each neighbour cache (ARP, ND) per lcore; unset: the engine's (1024).
  std::optional<uint32_t> neighbour_capacity;
  uint16_t ephemeral_first = 0, ephemeral_last = 0;      // 0: the stack's range
  unsigned extra_mbufs = 8192;                           // beyond what the RX rings hold
  uint16_t rx_desc = 1024, tx_desc = 1024;               // per queue (the driver may round)
  uint32_t mbufs = 0;  // the pool in all; 0: the rings' share + extra_mbufs
  // Duplicate address detection probes per IPv6 address at start (RFC 4862 5.4.1
  // DupAddrDetectTransmits): each address is tentative, unused, for a second per probe.
  // 0: none, the addresses are used at once (a link no other node can be on).
  uint8_t dad_probes = 1;
  // MLDv2 reports for the solicited-node groups of our IPv6 addresses (RFC 3810): a join at
  // start, answers to routers' queries. false where no switch can be (an in-memory link).
  bool mld = true;
  // Neighbours whose MAC is fixed (--arp IP=MAC): never resolved, expired or replaced.
  struct StaticArpEntry {
    Ipv4Addr ip;
    std::array<uint8_t, 6> mac{};
  };
  std::vector<StaticArpEntry> static_arp;
  // The lcores that poll this port, one queue each. Empty: every worker lcore (or the main
  // lcore when there is none). Several runtimes in one process take disjoint lcores.
  std::vector<unsigned> lcores;
};

// Memory per lcore (issue 13 item 5): what the connection tables of a runtime with these
// options and `connections` per lcore allocate at start -- TCBs (timers and queue heads
// inside), table slots, per-source counts, and the pools that busy connections borrow from
// (cold blocks, reassembly queues); TIME-WAIT records are apart (time_wait_records) -- and
// the most connections whose tables fit `bytes` (0: not even one).
[[nodiscard]] uint64_t connection_memory(uint32_t connections, const RuntimeOptions& o);
[[nodiscard]] uint32_t connections_for_memory(uint64_t bytes, const RuntimeOptions& o);
// The most connections per lcore the options allow (--max-conns' bound).
inline constexpr uint32_t kMaxConnectionsPerLcore = 1u << 24;

// One port served by its lcores: the pool, the port, one stack per lcore and the pollers.
class Runtime {
 public:
  Runtime();
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  [[nodiscard]] bool init(const RuntimeOptions& options, std::string& error);

  // One stack per polling lcore, in queue order. Set applications up before run(); from then
  // on only stack i's lcore (its callbacks and iteration hook) may call it.
  [[nodiscard]] size_t stack_count() const { return stacks_.size(); }
  [[nodiscard]] Stack& stack(size_t i) { return stacks_[i]; }
  // Application work on stack i's lcore once per loop turn (timers, new connections).
  void set_iteration_hook(size_t stack, void (*fn)(void* ctx, uint64_t now_ns), void* ctx);

  // Runs the pollers until `stop` turns true. `tick(seconds)` is called about once a second
  // from a thread that does not poll; it may read counters, not touch stacks.
  void run(std::atomic<bool>& stop, const std::function<void(unsigned)>& tick);
  // Several runtimes at once (disjoint lcores), e.g. a generator and its local server.
  static void run_all(std::span<Runtime* const> runtimes, std::atomic<bool>& stop,
                      const std::function<void(unsigned)>& tick);

  [[nodiscard]] uint16_t port_id() const;
  [[nodiscard]] std::vector<unsigned> lcores() const;
  // A counter summed over the stacks (relaxed reads: fine from the tick).
  [[nodiscard]] uint64_t counter(Counter c) const;
  // "port 0 (net_tap) 02:..: 1 queue, mtu 1500, rss off, tx: ..., steering ...".
  [[nodiscard]] std::string describe_port() const;
  // The device's own counters (missed, no mbuf, errors), one line.
  [[nodiscard]] std::string describe_port_stats() const;
  // Per polling lcore, in queue order, since run() started (empty before).
  [[nodiscard]] std::vector<LcoreLoad> load() const;
  // With several lcores, one line each: "lcore L queue Q: queue_rx .. steered_out .. ".
  [[nodiscard]] std::string describe_lcores() const;

 private:
  std::unique_ptr<dpdk::Runtime> impl_;
  std::vector<Stack> stacks_;
};

// The NUMA socket of an lcore.
[[nodiscard]] unsigned lcore_socket(unsigned lcore);
// The lcores for two runtimes side by side: the workers, with the main lcore first when their
// number is odd, so that they split into two equal halves.
[[nodiscard]] std::vector<unsigned> pollable_lcores();

// An in-memory Ethernet link: two ports whose queue i delivers to the other's queue i, so a
// flow opened from queue i is answered on queue i. False with `error` set on failure.
struct MemoryLink {
  uint16_t port_a = 0;
  uint16_t port_b = 0;
};
[[nodiscard]] bool create_memory_link(const std::string& name, unsigned queues, unsigned ring_size,
                                      MemoryLink& link, std::string& error);

}  // namespace pollux
