#include "sim_world.hpp"

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <type_traits>

#include <gtest/gtest.h>

namespace pollux::sim {

namespace {

// Two hosts in a simulation need a handful of connections, not a server's worth: smaller
// tables make a world cheap to build, which matters at thousands of seeds. (Written against
// the shape of the config so the harness builds whatever the engine currently has.)
template <class Config>
void size_for_simulation(Config& c) {
  if constexpr (requires { c.tcp.max_connections; }) c.tcp.max_connections = 1024;
  if constexpr (requires { c.tcp.ooo_queues; }) c.tcp.ooo_queues = 64;
}

// Engines that keep time-derived state take the construction time; older ones do not.
template <class E = engine::Engine>
std::unique_ptr<E> make_engine(const engine::EngineConfig& c, rte_mempool* pool, uint64_t now) {
  if constexpr (std::is_constructible_v<E, const engine::EngineConfig&, rte_mempool*, uint64_t>)
    return std::make_unique<E>(c, pool, now);
  else
    return std::make_unique<E>(c, pool);
}

}  // namespace

engine::EngineConfig sim_engine_config(Host h) {
  engine::EngineConfig c;
  c.iface.mac = h == Host::a ? kMacA : kMacB;
  c.iface.addrs = {net::Ipv4Prefix{h == Host::a ? kIpA : kIpB, 24}};
  // Segments reference their send queue (zero-copy TX); the link copies what it carries.
  c.iface.offloads.tx_multi_segs = true;
  size_for_simulation(c);
  return c;
}

net::IpAddr sim_address(Host h, Family f) {
  if (f == Family::v6) return h == Host::a ? kIp6A : kIp6B;
  return h == Host::a ? kIpA : kIpB;
}

void add_sim_ipv6(engine::EngineConfig& c, Host h) {
  c.iface.addrs6 = {net::Ipv6Prefix{h == Host::a ? kIp6A : kIp6B, 64}};
  c.dad_probes = 0;
}

SimWorld::SimWorld(const WorldConfig& config) : config_(config), now_(config.t0_ns) {
  if (config_.family == Family::v6) {
    add_sim_ipv6(config_.a, Host::a);
    add_sim_ipv6(config_.b, Host::b);
  }
  if (config_.pool) {
    pool_ = config_.pool;
  } else {
    static std::atomic<unsigned> serial{0};
    const std::string name = "sim_" + std::to_string(serial++);
    pool_ = rte_pktmbuf_pool_create(name.c_str(), config_.pool_size, 0, 0,
                                    RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (!pool_) throw std::runtime_error("SimWorld: cannot create mempool " + name);
    own_pool_ = true;
  }
  in_use_at_start_ = mbufs_in_use();
  if (config_.burst == 0) config_.burst = 1;
  if (config_.tick_ns == 0) config_.tick_ns = 1;
  // Each host's ISN secret comes from the seed: a failing seed replays byte for byte.
  if (!config_.a.tcp.isn_key)
    config_.a.tcp.isn_key =
        tcp::SipKey{derive_seed(config_.seed, 11), derive_seed(config_.seed, 12)};
  if (!config_.b.tcp.isn_key)
    config_.b.tcp.isn_key =
        tcp::SipKey{derive_seed(config_.seed, 21), derive_seed(config_.seed, 22)};
  engine_[0] = make_engine(config_.a, pool_, now_);
  engine_[1] = make_engine(config_.b, pool_, now_);
  link_[0] = std::make_unique<SimLink>(config_.a_to_b, derive_seed(config_.seed, 1), pool_);
  link_[1] = std::make_unique<SimLink>(config_.b_to_a, derive_seed(config_.seed, 2), pool_);
  set_tracing(config_.trace, config_.trace_states);
  if (config_.start_engines) {
    engine_[0]->start(now_);
    engine_[1]->start(now_);
  }
}

SimWorld::~SimWorld() {
  shutdown();
  if (own_pool_) rte_mempool_free(pool_);
}

size_t SimWorld::shutdown() {
  if (shut_down_) return 0;
  shut_down_ = true;
  link_[0].reset();
  link_[1].reset();
  engine_[0].reset();
  engine_[1].reset();
  const size_t in_use = mbufs_in_use();
  return in_use > in_use_at_start_ ? in_use - in_use_at_start_ : 0;
}

size_t SimWorld::mbufs_in_use() const {
  return rte_mempool_in_use_count(pool_);
}

std::string SimWorld::describe() const {
  return "seed=" + std::to_string(config_.seed) + " a>b{" + link_[0]->faults().describe() +
         "} b>a{" + link_[1]->faults().describe() + "}" +
         (config_.family == Family::v6 ? " ipv6" : "");
}

void SimWorld::set_tracing(bool on, bool states) {
  for (int i = 0; i < 2; ++i) {
    engine_[i]->tcp().observe_states(on && states ? &SimWorld::on_state_change : nullptr,
                                     &state_ctx_[i]);
    if (!on) {
      link_[i]->set_observer(nullptr);
      continue;
    }
    const Direction dir = i == 0 ? Direction::a_to_b : Direction::b_to_a;
    link_[i]->set_observer([this, dir](LinkEvent ev, uint64_t t, const rte_mbuf* m, uint8_t marks) {
      trace_.push_back(TraceEntry{t, dir, ev, marks, summarize_frame(m)});
    });
  }
}

void SimWorld::on_state_change(void* ctx, const net::FourTuple& tuple, tcp::State from,
                               tcp::State to, tcp::StateCause why) {
  auto& c = *static_cast<StateObserverCtx*>(ctx);
  TraceEntry e{c.world->now_, Direction::a_to_b, LinkEvent::delivered, 0, FrameSummary{}};
  e.state = StateChange{c.host,
                        tuple.local_ip,
                        tuple.remote_ip,
                        tuple.local_port,
                        tuple.remote_port,
                        tcp::state_name(from),
                        tcp::state_name(to),
                        tcp::state_cause_name(why)};
  c.world->trace_.push_back(std::move(e));
}

std::vector<std::string> SimWorld::trace(const TraceOptions& o) const {
  return format_trace_lines(trace_, config_.t0_ns, o);
}

std::string SimWorld::format_trace(const TraceOptions& o) const {
  std::string s;
  for (const auto& line : trace(o)) s += line + '\n';
  return s;
}

void SimWorld::deliver(int to) {
  SimLink& in = *link_[1 - to];
  rte_mbuf* burst[256];
  const uint16_t n = in.receive(now_, burst, std::min<uint16_t>(config_.burst, 256));
  if (n > 0) engine_[to]->input(burst, n, now_);
}

void SimWorld::drain(int from) {
  base::TxBatch& tx = engine_[from]->tx();
  const uint16_t n = tx_ring_[from] < 0 ? tx.size()
                                        : std::min<uint16_t>(tx.size(),
                                                             static_cast<uint16_t>(tx_ring_[from]));
  for (uint16_t i = 0; i < n; ++i) {
    // Every data segment keeps to its receiver's window, in every test and fault mix; the
    // first few breaches of a world fail the test with its seed.
    const std::string breach = window_rule_.check(tx.data()[i]);
    if (!breach.empty() && window_rule_.violations() <= 3)
      ADD_FAILURE() << describe() << " at " << (now_ - config_.t0_ns)
                    << " ns: " << (from == 0 ? "a" : "b") << " sent a " << breach;
    link_[from]->send(tx.data()[i], now_);
  }
  tx.consume(n);
}

void SimWorld::step() {
  ++steps_;
  stepped_at_now_ = true;
  const bool runs[2] = {now_ >= stalled_until_[0], now_ >= stalled_until_[1]};
  for (int i = 0; i < 2; ++i)
    if (runs[i]) deliver(i);
  if (on_step_) on_step_(now_);
  for (int i = 0; i < 2; ++i) {
    if (!runs[i]) continue;
    engine_[i]->poll(now_);
    // One engine per host: neighbour facts have no sibling to go to (the driver's job).
    engine_[i]->clear_neighbour_updates();
  }
  for (int i = 0; i < 2; ++i)
    if (runs[i]) drain(i);
}

bool SimWorld::run_until(const std::function<bool()>& pred, uint64_t max_virtual_ns) {
  const uint64_t deadline = now_ + max_virtual_ns;
  if (pred && pred()) return true;
  for (;;) {
    if (!stepped_at_now_) {
      step();
      if (pred && pred()) return true;
    }
    if (now_ >= deadline) return false;
    // A stalled host's frames wait for it: what matters for it is when it runs again.
    uint64_t next = now_ + config_.tick_ns;
    for (int to = 0; to < 2; ++to)
      next = std::min(
          next, stalled_until_[to] > now_ ? stalled_until_[to] : link_[1 - to]->next_delivery());
    // Frames still due at `now` (more than a burst) are taken by another step at `now`.
    if (next <= now_) {
      stepped_at_now_ = false;
      continue;
    }
    now_ = std::min(next, deadline);
    stepped_at_now_ = false;
  }
}

void SimWorld::run_for(uint64_t ns) {
  (void)run_until(nullptr, ns);
}

}  // namespace pollux::sim
