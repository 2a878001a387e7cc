// Two real engines joined by two simulated links, in virtual time:
//
//   engine a (10.0.0.1/24, 02:00:00:00:00:0a) --link a>b--> engine b (10.0.0.2/24, ...:0b)
//                                             <--link b>a--
//
// With WorldConfig::family = Family::v6 both engines also have an IPv6 address (a fd00::a/64,
// b fd00::b/64, and the link-local ones derived from their MACs) and the test's connections
// use those: next hops resolve by neighbour discovery (RFC 4861) as IPv4's do by ARP.
//
// The world is a discrete-event loop. One step at virtual time `now`:
//   1. each engine gets the frames its incoming link has due at `now`, in input() bursts of
//      at most `burst` frames (one burst per engine per step, like rte_eth_rx_burst);
//   2. on_step(now), the test's application logic (connect, send, close, assertions);
//   3. poll(now) on both engines (timers);
//   4. each engine's TX batch is drained into its outgoing link, all of it, at `now`.
// Then time jumps to the next event: min(earliest frame due on either link, now + tick). The
// tick keeps timers running while the wire is idle; frames left over when more than `burst`
// were due are taken by the next step at the same `now`.
//
// Nothing is random but the links, and they draw only from the seed: a (seed, config) pair
// replays exactly. describe() gives the seed and fault mix for failure messages.
#pragma once

#include <rte_mempool.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "net/ethernet.hpp"
#include "net/ip_addr.hpp"
#include "net/ipv4_addr.hpp"
#include "net/ipv6_addr.hpp"
#include "sim_link.hpp"
#include "sim_trace.hpp"
#include "window_rule.hpp"

namespace pollux::sim {

enum class Host : uint8_t { a, b };
// The family of the addresses a world's connections use (both hosts always have IPv4).
enum class Family : uint8_t { v4, v6 };
[[nodiscard]] inline const char* family_name(Family f) {
  return f == Family::v6 ? "ipv6" : "ipv4";
}

inline constexpr net::Ipv4Addr kIpA = net::make_ipv4(10, 0, 0, 1);
inline constexpr net::Ipv4Addr kIpB = net::make_ipv4(10, 0, 0, 2);
// fd00::a and fd00::b (unique local, RFC 4193), on-link /64s.
inline constexpr net::Ipv6Addr kIp6A{{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a}};
inline constexpr net::Ipv6Addr kIp6B{{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b}};
inline constexpr net::MacAddr kMacA{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0a}};
inline constexpr net::MacAddr kMacB{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0b}};
inline constexpr uint64_t kMicrosecond = 1'000;
inline constexpr uint64_t kMillisecond = 1'000'000;
inline constexpr uint64_t kSecond = 1'000'000'000;

// The engine configuration a world uses by default for host a or b: its address (/24, no
// gateway), its MAC, software checksums, default ARP settings. Tests adjust the copy in
// WorldConfig before building the world.
[[nodiscard]] engine::EngineConfig sim_engine_config(Host h);
// Host h's address in family f (kIpA/kIpB or kIp6A/kIp6B).
[[nodiscard]] net::IpAddr sim_address(Host h, Family f);
// Gives host h's engine its IPv6 address too (kIp6A or kIp6B /64), usable at once: no
// duplicate address detection (RFC 4862 5.4, DupAddrDetectTransmits 0), the unsolicited
// advertisement at start stays. SimWorld does it for Family::v6.
void add_sim_ipv6(engine::EngineConfig& c, Host h);

struct WorldConfig {
  uint64_t seed = 1;
  Family family = Family::v4;  // v6: add_sim_ipv6 on both hosts; address() gives IPv6
  Faults a_to_b;
  Faults b_to_a;
  engine::EngineConfig a = sim_engine_config(Host::a);
  engine::EngineConfig b = sim_engine_config(Host::b);
  unsigned pool_size = 16384;   // mbufs in the world's pool (shared by both engines and links)
  rte_mempool* pool = nullptr;  // use this pool instead of making one (not freed by the world)
  uint64_t t0_ns = kSecond;     // virtual time at construction; not 0 on purpose
  uint64_t tick_ns = 100 * kMicrosecond;
  uint16_t burst = 32;
  bool start_engines = true;  // call start(t0) on both (gratuitous ARP, sent at the first step)
  bool trace = false;         // record every frame's fate (see trace())
  bool trace_states = false;  // with trace: also every TCP state change ("state ..." lines)
};

class SimWorld {
 public:
  explicit SimWorld(const WorldConfig& config);
  SimWorld(const SimWorld&) = delete;
  SimWorld& operator=(const SimWorld&) = delete;
  ~SimWorld();

  [[nodiscard]] engine::Engine& a() { return *engine_[0]; }
  [[nodiscard]] engine::Engine& b() { return *engine_[1]; }
  [[nodiscard]] engine::Engine& engine(Host h) { return *engine_[static_cast<int>(h)]; }
  [[nodiscard]] SimLink& link_ab() { return *link_[0]; }
  [[nodiscard]] SimLink& link_ba() { return *link_[1]; }
  [[nodiscard]] SimLink& link_from(Host h) { return *link_[static_cast<int>(h)]; }

  [[nodiscard]] uint64_t now() const { return now_; }
  [[nodiscard]] uint64_t t0() const { return config_.t0_ns; }
  [[nodiscard]] uint64_t elapsed() const { return now_ - config_.t0_ns; }
  [[nodiscard]] uint64_t seed() const { return config_.seed; }
  [[nodiscard]] uint64_t steps() const { return steps_; }
  [[nodiscard]] rte_mempool* pool() const { return pool_; }
  [[nodiscard]] const WorldConfig& config() const { return config_; }
  // Host h's address in the world's family: what a test connects from and to.
  [[nodiscard]] net::IpAddr address(Host h) const { return sim_address(h, config_.family); }

  // "seed=7 a>b{loss=0.3} b>a{none}": what a failure message needs to reproduce the run
  // (" ipv6" after it in an IPv6 world).
  [[nodiscard]] std::string describe() const;

  // Application logic, called once per step after input and before poll (see above).
  void set_on_step(std::function<void(uint64_t now)> f) { on_step_ = std::move(f); }

  // Steps until pred() holds (checked before the first step and after each) or until
  // max_virtual_ns of virtual time have passed; false when the time ran out.
  [[nodiscard]] bool run_until(const std::function<bool()>& pred, uint64_t max_virtual_ns);
  // Runs exactly `ns` of virtual time (ending with a step at now() + ns).
  void run_for(uint64_t ns);
  // One step at now() (time does not move).
  void step();

  // Host h's poller loses its CPU for `ns` from now, as on a shared machine: h takes no
  // frames, runs no timers and sends nothing until now() + ns (its frames wait in the link,
  // the other host runs on). Then its clock has jumped: its first step takes one burst and
  // runs its timers, as the poller does (drivers-glue/poller.cpp), the rest of what waited
  // in later steps at the same time.
  void stall(Host h, uint64_t ns) { stalled_until_[static_cast<int>(h)] = now_ + ns; }
  // Host h's device takes at most `frames` of its TX batch per step (-1: all of it), as a
  // full TX ring takes fewer than rte_eth_tx_burst is offered: the rest stays in the batch
  // for the next step, as the poller keeps it (drivers-glue/poller.cpp), and what the
  // engine queues beyond the batch's capacity is dropped and counted (drop_tx_full).
  void set_tx_ring(Host h, int frames) { tx_ring_[static_cast<int>(h)] = frames; }
  [[nodiscard]] bool stalled(Host h) const { return now_ < stalled_until_[static_cast<int>(h)]; }

  // Tracing (off unless WorldConfig::trace): every frame delivered or dropped by a link, and
  // with `states` every TCP state change of either engine.
  void set_tracing(bool on, bool states = false);
  [[nodiscard]] const std::vector<TraceEntry>& trace_entries() const { return trace_; }
  [[nodiscard]] std::vector<std::string> trace(const TraceOptions& o = {}) const;
  [[nodiscard]] std::string format_trace(const TraceOptions& o = {}) const;  // lines + '\n'
  void clear_trace() { trace_.clear(); }

  // The window rule (window_rule.hpp), checked on every frame an engine sends.
  [[nodiscard]] const WindowRule& window_rule() const { return window_rule_; }

  // mbufs of the pool not in it now (engines, links, the test's own).
  [[nodiscard]] size_t mbufs_in_use() const;
  // Destroys links and engines (freeing what they hold) and returns how many mbufs did not
  // come back to the pool: 0 unless something leaked. The world is unusable afterwards; the
  // destructor does this if the test did not.
  size_t shutdown();

 private:
  void deliver(int to);
  void drain(int from);
  static void on_state_change(void* ctx, const net::FourTuple& tuple, tcp::State from,
                              tcp::State to, tcp::StateCause why);

  WorldConfig config_;
  rte_mempool* pool_ = nullptr;
  bool own_pool_ = false;
  size_t in_use_at_start_ = 0;
  std::unique_ptr<engine::Engine> engine_[2];
  std::unique_ptr<SimLink> link_[2];  // [0] a>b, [1] b>a
  std::function<void(uint64_t)> on_step_;
  std::vector<TraceEntry> trace_;
  struct StateObserverCtx {
    SimWorld* world;
    char host;
  } state_ctx_[2] = {{this, 'a'}, {this, 'b'}};
  WindowRule window_rule_;
  uint64_t now_;
  uint64_t stalled_until_[2] = {0, 0};
  int tx_ring_[2] = {-1, -1};
  uint64_t steps_ = 0;
  bool stepped_at_now_ = false;
  bool shut_down_ = false;
};

}  // namespace pollux::sim
