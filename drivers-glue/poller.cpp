#include "poller.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <sched.h>

#include <algorithm>
#include <atomic>

#include "capture.hpp"
#include "ring_link.hpp"

namespace pollux::dpdk {

TscToNs::TscToNs(uint64_t hz) {
  __extension__ using U128 = unsigned __int128;
  constexpr uint64_t kNsPerS = 1'000'000'000ull;
  whole_ = kNsPerS / hz;
  frac_ = static_cast<uint64_t>((U128{kNsPerS % hz} << 64) / hz);
}

namespace {
void flush(Worker& w) {
  base::TxBatch& tx = w.engine->tx();
  if (tx.empty()) return;
  // Captured before tx_burst: afterwards the mbufs are the device's (net_ring hands them to
  // the other port's lcore at once). Only what was not captured on an earlier turn.
  if (w.capture) [[unlikely]] {
    if (w.tx_captured < tx.size())
      capture_burst(*w.capture, w.queue, tx.data() + w.tx_captured,
                    static_cast<uint16_t>(tx.size() - w.tx_captured), CaptureDirection::out);
    w.tx_captured = tx.size();
  }
  // What the TX ring cannot take now stays queued for the next turn; the engine counts a
  // drop only when its batch itself overflows.
  uint16_t sent = rte_eth_tx_burst(w.port, w.queue, tx.data(), tx.size());
  tx.consume(sent);
  if (w.capture) [[unlikely]]
    w.tx_captured = static_cast<uint16_t>(w.tx_captured - sent);
}
// Received packets are captured right after rx_burst, before steering hands any to another
// lcore (which therefore does not capture them again).
inline void capture_rx(Worker& w, uint16_t queue, rte_mbuf* const* pkts, uint16_t n) {
  if (w.capture && n != 0) [[unlikely]]
    capture_burst(*w.capture, queue, pkts, n, CaptureDirection::in);
}
// Publishes what this engine learnt about neighbours to its siblings and applies what they
// learnt. ARP is rare: this costs one ring check per iteration when there is nothing.
void sync_neighbours(Worker& w, uint64_t now) {
  if (w.inboxes.size() < 2) return;
  auto updates = w.engine->neighbour_updates();
  if (!updates.empty()) {
    for (size_t q = 0; q < w.inboxes.size(); ++q) {
      if (q == w.queue) continue;
      unsigned n = rte_ring_mp_enqueue_burst_elem(w.inboxes[q], updates.data(),
                                                  sizeof(engine::NeighbourUpdate),
                                                  static_cast<unsigned>(updates.size()), nullptr);
      w.engine->counters().inc(base::Counter::neighbour_sync_sent, n);
      if (n < updates.size())
        w.engine->counters().inc(base::Counter::neighbour_sync_overflow, updates.size() - n);
    }
    w.engine->clear_neighbour_updates();
  }
  engine::NeighbourUpdate in[16];
  unsigned n = rte_ring_sc_dequeue_burst_elem(w.inboxes[w.queue], in, sizeof in[0], 16, nullptr);
  for (unsigned i = 0; i < n; ++i) w.engine->neighbour_update(in[i], now);
}
// A snapshot of this lcore's connections for the telemetry thread (it waits for `served`).
void serve_conn_snapshot(Worker& w) {
  ConnSnapshot& s = *w.conns;
  const uint32_t gen = s.requested.load(std::memory_order_acquire);
  s.rows.clear();
  s.total = 0;
  tcp::TcpLayer& tcp = w.engine->tcp();
  const uint32_t limit = std::min(s.limit.load(std::memory_order_relaxed), ConnSnapshot::kMaxRows);
  tcp.for_each_connection([&](const Conn* c) {
    ++s.total;
    if (s.rows.size() < limit) s.rows.push_back(ConnRow{tcp::TcpLayer::tuple(c), tcp.info(c)});
  });
  s.time_wait = static_cast<uint32_t>(tcp.time_wait_count());
  s.served.store(gen, std::memory_order_release);
}
}  // namespace

int run_worker(void* arg) {
  Worker& w = *static_cast<Worker*>(arg);
  const uint64_t hz = rte_get_tsc_hz();
  const TscToNs tsc_to_ns(hz);
  rte_mbuf* pkts[kRxBurst];
  w.engine->start(tsc_to_ns(rte_rdtsc()));
  w.engine->clear_neighbour_updates();
  uint32_t idle = 0;
  const uint64_t stall_cycles = kStallNs * hz / 1'000'000'000ull;
  const uint64_t stall_pto_cycles = kStallPtoNs * hz / 1'000'000'000ull;
  uint64_t prev_start = rte_rdtsc();
  bool yielded = false;
  // A single writer: a relaxed load and store, no locked read-modify-write.
  const auto add = [](uint64_t& field, uint64_t v) {
    std::atomic_ref<uint64_t> a(field);
    a.store(a.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
  };
  while (!w.stop->load(std::memory_order_relaxed)) {
    const uint64_t turn_start = rte_rdtsc();
    const uint64_t now = tsc_to_ns(turn_start);
    // One subtraction and a predictable branch per turn (Worker::stalls).
    if (const uint64_t gap = turn_start - prev_start; gap >= stall_cycles) [[unlikely]] {
      add(w.stalls, 1);
      if (yielded) add(w.stalls_after_yield, 1);
      if (gap >= stall_pto_cycles) add(w.stalls_over_pto, 1);
      if (gap > w.max_gap_cycles)
        std::atomic_ref<uint64_t>(w.max_gap_cycles).store(gap, std::memory_order_relaxed);
    }
    prev_start = turn_start;
    yielded = false;
    // Before the burst, so that the callbacks of this turn see the time the hook saw.
    if (w.on_iteration) w.on_iteration(w.on_iteration_ctx, now);
    if (w.conns && w.conns->requested.load(std::memory_order_relaxed) !=
                       w.conns->served.load(std::memory_order_relaxed)) [[unlikely]]
      serve_conn_snapshot(w);
    bool busy = false;
    if (w.steer) {
      // First what other lcores received for this one's connections: they arrived before
      // anything this lcore reads from its queue now. A device that moves a flow between
      // queues (net_tap's automq follows the queue we transmit on) thus reorders less.
      if (uint16_t m = w.steer->collect(pkts, kRxBurst); m != 0) {
        w.engine->input(pkts, m, now);
        busy = true;
      }
    }
    uint16_t n = receive_burst(w.port, w.queue, pkts, kRxBurst);
    capture_rx(w, w.queue, pkts, n);
    busy |= n != 0;
    if (w.steer && n != 0) n = w.steer->distribute(pkts, n);
    if (n != 0) w.engine->input(pkts, n, now);
    for (const uint16_t q : w.extra_rx) {
      n = receive_burst(w.port, q, pkts, kRxBurst);
      capture_rx(w, q, pkts, n);
      busy |= n != 0;
      if (w.steer && n != 0) n = w.steer->distribute(pkts, n);
      if (n != 0) w.engine->input(pkts, n, now);
    }
    sync_neighbours(w, now);
    w.engine->poll(now);
    // The application, a timer or the input sent something. Asked here, where it is one
    // load and a branch, since most turns send nothing.
    if (!w.engine->tx().empty()) {
      busy = true;
      flush(w);
    }
    const uint64_t turn_cycles = rte_rdtsc() - turn_start;
    if (busy) {
      add(w.busy_turns, 1);
      add(w.busy_cycles, turn_cycles);
      idle = 0;
    } else {
      add(w.idle_turns, 1);
      add(w.idle_cycles, turn_cycles);
      if (++idle > kIdleBeforeYield) {
        sched_yield();
        yielded = true;
      }
    }
  }
  // Give the device a few chances to take the last replies, then let go of them.
  for (int i = 0; i < 100 && !w.engine->tx().empty(); ++i) flush(w);
  w.engine->tx().free_all();
  return 0;
}

}  // namespace pollux::dpdk
