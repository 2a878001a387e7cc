// Timer arm/cancel: what the protocol does to its timers on nearly every segment. An arriving
// ACK restarts the retransmission timer (RFC 6298 5.3); a data segment arms the delayed ACK
// and the next ACK sent cancels it. pollux's TimerWheel against, in the same run:
//   rte_timer      DPDK's per-lcore skiplist timers (rte_timer_reset / rte_timer_stop)
//   multimap       std::multimap<deadline, Timer*>, cancel by stored iterator (allocates)
//   heap_lazy      a binary heap (std::push_heap) with lazy cancellation by generation count,
//                  compacted when stale entries outnumber live ones
// Every case holds <timers> armed timers (one per connection), deadlines spread over 0.2-1.2 s.
//
// Names: TimerRearm/<impl>/<timers>, TimerArmCancel/<impl>/<timers>; pollux is the subject.
#include <benchmark/benchmark.h>
#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_timer.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "base/timer_wheel.hpp"

namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kStartNs = 1'000'000'000;  // the wheel's clock; arbitrary, not zero

// Offsets (ns from now) for the initial deadlines and the re-arms: an RTO of 200 ms plus
// up to a second of spread, as after RTT samples of different connections.
std::vector<uint64_t> delays(size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> v(n);
  for (auto& d : v) d = 200 * kMs + rng() % (1000 * kMs);
  return v;
}

// The order in which connections get their ACKs.
std::vector<uint32_t> visit_order(size_t n) {
  std::vector<uint32_t> v(std::max<size_t>(n, 4096));
  std::mt19937_64 rng(7);
  for (auto& i : v) i = static_cast<uint32_t>(rng() % n);
  return v;
}

struct WheelImpl {
  pollux::base::TimerWheel wheel{{}, kStartNs};
  std::unique_ptr<pollux::base::Timer[]> timers;
  pollux::base::Timer extra;
  explicit WheelImpl(size_t n) : timers(std::make_unique<pollux::base::Timer[]>(n)) {}
  void arm(size_t i, uint64_t delay_ns) { wheel.arm(timers[i], kStartNs + delay_ns); }
  void arm_extra(uint64_t delay_ns) { wheel.arm(extra, kStartNs + delay_ns); }
  void cancel_extra() { pollux::base::TimerWheel::cancel(extra); }
};

void rte_timer_noop(rte_timer*, void*) {}

struct RteTimerImpl {
  std::unique_ptr<rte_timer[]> timers;
  size_t n;
  rte_timer extra{};
  uint64_t cycles_per_ns_num = rte_get_timer_hz();  // ticks = ns * hz / 1e9
  unsigned lcore = rte_lcore_id();
  explicit RteTimerImpl(size_t count) : timers(std::make_unique<rte_timer[]>(count)), n(count) {
    // Safe to call more than once: returns -EALREADY after the first time.
    (void)rte_timer_subsystem_init();
    for (size_t i = 0; i < n; ++i) rte_timer_init(&timers[i]);
    rte_timer_init(&extra);
  }
  ~RteTimerImpl() {
    for (size_t i = 0; i < n; ++i) rte_timer_stop(&timers[i]);
    rte_timer_stop(&extra);
  }
  uint64_t ticks(uint64_t ns) const { return ns / 1000 * cycles_per_ns_num / 1'000'000; }
  void arm(size_t i, uint64_t delay_ns) {
    rte_timer_reset(&timers[i], ticks(delay_ns), SINGLE, lcore, rte_timer_noop, nullptr);
  }
  void arm_extra(uint64_t delay_ns) {
    rte_timer_reset(&extra, ticks(delay_ns), SINGLE, lcore, rte_timer_noop, nullptr);
  }
  void cancel_extra() { rte_timer_stop(&extra); }
};

struct MultimapImpl {
  using Map = std::multimap<uint64_t, size_t>;
  Map map;
  std::vector<Map::iterator> where;
  Map::iterator extra;
  bool extra_armed = false;
  explicit MultimapImpl(size_t n) : where(n, map.end()) {}
  void arm(size_t i, uint64_t delay_ns) {
    if (where[i] != map.end()) map.erase(where[i]);
    where[i] = map.emplace(kStartNs + delay_ns, i);
  }
  void arm_extra(uint64_t delay_ns) {
    if (extra_armed) map.erase(extra);
    extra = map.emplace(kStartNs + delay_ns, SIZE_MAX);
    extra_armed = true;
  }
  void cancel_extra() {
    if (extra_armed) map.erase(extra);
    extra_armed = false;
  }
};

struct HeapLazyImpl {
  struct Item {
    uint64_t deadline;
    uint32_t id;
    uint32_t gen;
    bool operator>(const Item& o) const { return deadline > o.deadline; }
  };
  std::vector<Item> heap;
  std::vector<uint32_t> gen;  // current generation per timer; a heap item of another is stale
  std::vector<uint8_t> armed;
  size_t live = 0;
  uint32_t extra_id;
  explicit HeapLazyImpl(size_t n)
      : gen(n + 1, 0), armed(n + 1, 0), extra_id(static_cast<uint32_t>(n)) {
    heap.reserve(4 * (n + 1));
  }
  void push(uint32_t id, uint64_t delay_ns) {
    if (armed[id]) --live;
    ++gen[id];
    armed[id] = 1;
    ++live;
    heap.push_back({kStartNs + delay_ns, id, gen[id]});
    std::push_heap(heap.begin(), heap.end(), std::greater<>{});
    if (heap.size() > 2 * live + 64) compact();
  }
  void cancel(uint32_t id) {
    if (!armed[id]) return;
    armed[id] = 0;
    ++gen[id];
    --live;
  }
  void compact() {
    std::erase_if(heap, [&](const Item& it) { return !armed[it.id] || it.gen != gen[it.id]; });
    std::make_heap(heap.begin(), heap.end(), std::greater<>{});
  }
  void arm(size_t i, uint64_t delay_ns) { push(static_cast<uint32_t>(i), delay_ns); }
  void arm_extra(uint64_t delay_ns) { push(extra_id, delay_ns); }
  void cancel_extra() { cancel(extra_id); }
};

// Every ACK restarts one connection's retransmission timer.
template <class Impl>
void BM_TimerRearm(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  Impl impl(n);
  auto initial = delays(n, 1);
  for (size_t i = 0; i < n; ++i) impl.arm(i, initial[i]);
  auto order = visit_order(n);
  auto rearm = delays(order.size(), 2);
  size_t k = 0;
  for (auto _ : state) {
    impl.arm(order[k], rearm[k]);
    k = k + 1 == order.size() ? 0 : k + 1;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// A delayed ACK armed (40 ms) and cancelled again by the ACK that goes out, among <timers>
// armed timers.
template <class Impl>
void BM_TimerArmCancel(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  Impl impl(n);
  auto initial = delays(n, 1);
  for (size_t i = 0; i < n; ++i) impl.arm(i, initial[i]);
  for (auto _ : state) {
    impl.arm_extra(40 * kMs);
    impl.cancel_extra();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void timer_counts(benchmark::internal::Benchmark* b) {
  b->Arg(1024)->Arg(16384);
}

BENCHMARK_TEMPLATE(BM_TimerRearm, WheelImpl)->Name("TimerRearm/pollux")->Apply(timer_counts);
BENCHMARK_TEMPLATE(BM_TimerRearm, RteTimerImpl)->Name("TimerRearm/rte_timer")->Apply(timer_counts);
BENCHMARK_TEMPLATE(BM_TimerRearm, MultimapImpl)->Name("TimerRearm/multimap")->Apply(timer_counts);
BENCHMARK_TEMPLATE(BM_TimerRearm, HeapLazyImpl)->Name("TimerRearm/heap_lazy")->Apply(timer_counts);
BENCHMARK_TEMPLATE(BM_TimerArmCancel, WheelImpl)
    ->Name("TimerArmCancel/pollux")
    ->Apply(timer_counts);
BENCHMARK_TEMPLATE(BM_TimerArmCancel, RteTimerImpl)
    ->Name("TimerArmCancel/rte_timer")
    ->Apply(timer_counts);
BENCHMARK_TEMPLATE(BM_TimerArmCancel, MultimapImpl)
    ->Name("TimerArmCancel/multimap")
    ->Apply(timer_counts);
BENCHMARK_TEMPLATE(BM_TimerArmCancel, HeapLazyImpl)
    ->Name("TimerArmCancel/heap_lazy")
    ->Apply(timer_counts);

}  // namespace
