#include "poller.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>

namespace pollux::dpdk {

uint64_t tsc_to_ns(uint64_t cycles, uint64_t hz) {
  return (cycles / hz) * 1'000'000'000ull + (cycles % hz) * 1'000'000'000ull / hz;
}

namespace {
void flush(Worker& w) {
  stack::TxBatch& tx = w.engine->tx();
  if (tx.empty()) return;
  // What the TX ring cannot take now stays queued for the next turn; the engine counts a
  // drop only when its batch itself overflows.
  uint16_t sent = rte_eth_tx_burst(w.port, w.queue, tx.data(), tx.size());
  tx.consume(sent);
}
}  // namespace

int run_worker(void* arg) {
  Worker& w = *static_cast<Worker*>(arg);
  const uint64_t hz = rte_get_tsc_hz();
  rte_mbuf* pkts[kRxBurst];
  w.engine->start(tsc_to_ns(rte_rdtsc(), hz));
  while (!w.stop->load(std::memory_order_relaxed)) {
    const uint64_t now = tsc_to_ns(rte_rdtsc(), hz);
    const uint16_t n = rte_eth_rx_burst(w.port, w.queue, pkts, kRxBurst);
    if (n != 0) {
      w.engine->input(pkts, n, now);
      ++w.busy_iterations;
    }
    w.engine->poll(now);
    flush(w);
    ++w.iterations;
  }
  // Give the device a few chances to take the last replies, then let go of them.
  for (int i = 0; i < 100 && !w.engine->tx().empty(); ++i) flush(w);
  w.engine->tx().free_all();
  return 0;
}

}  // namespace pollux::dpdk
