#include "engine/steering.hpp"

#include <rte_errno.h>

#include <algorithm>
#include <cassert>

namespace pollux::engine {

std::unique_ptr<SteeringMesh> SteeringMesh::create(const std::string& name, uint16_t lcores,
                                                   unsigned ring_size, int socket,
                                                   std::string& error) {
  std::unique_ptr<SteeringMesh> m(new SteeringMesh());
  m->n_ = lcores;
  m->rings_.assign(size_t{lcores} * lcores, nullptr);
  for (uint16_t a = 0; a < lcores; ++a)
    for (uint16_t b = 0; b < lcores; ++b) {
      if (a == b) continue;
      const std::string rn = name + "_" + std::to_string(a) + "_" + std::to_string(b);
      // SP/SC: one writer (lcore a) and one reader (lcore b), the cheapest ring mode.
      rte_ring* r = rte_ring_create(rn.c_str(), ring_size, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
      if (!r) {
        error = "cannot create steering ring " + rn + ": " + rte_strerror(rte_errno);
        return nullptr;
      }
      m->rings_[size_t{a} * lcores + b] = r;
    }
  return m;
}

SteeringMesh::~SteeringMesh() {
  drain();
  for (rte_ring* r : rings_) rte_ring_free(r);
}

void SteeringMesh::drain() {
  for (rte_ring* r : rings_) {
    if (!r) continue;
    void* m;
    while (rte_ring_sc_dequeue(r, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
  }
}

Steerer::Steerer(const SteeringMesh& mesh, const ShardMap& shards, uint16_t self,
                 base::Counters& counters)
    : mesh_(mesh),
      shards_(shards),
      self_(self),
      counters_(counters),
      out_(size_t{mesh.lcores()} * kBurst),
      out_len_(mesh.lcores(), 0) {}

void Steerer::send(uint16_t d, rte_mbuf* const* batch, uint16_t len) {
  const unsigned sent = rte_ring_sp_enqueue_burst(
      mesh_.ring(self_, d), reinterpret_cast<void* const*>(batch), len, nullptr);
  counters_.inc(base::Counter::steered_out, sent);
  if (sent < len) {
    // The owner is not keeping up: drop as a full RX queue would; TCP retransmits.
    counters_.inc(base::Counter::drop_steer_ring_full, len - sent);
    rte_pktmbuf_free_bulk(const_cast<rte_mbuf**>(batch + sent), len - sent);
  }
}

void Steerer::flush(uint16_t d) {
  send(d, &out_[size_t{d} * kBurst], out_len_[d]);
  out_len_[d] = 0;
}

uint16_t Steerer::distribute(rte_mbuf** pkts, uint16_t n) {
  const uint16_t lcores = mesh_.lcores();
  uint16_t keep = 0;
  bool any_out = false;
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    RxTuple t;
    uint16_t owner = self_;
    if (rx_steer_tuple({rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_data_len(m)}, t))
      owner = shards_.shard_of_hash(shards_.hash_rx(t));
    if (owner == self_ || owner >= lcores) {
      pkts[keep++] = m;
      continue;
    }
    if (out_len_[owner] == kBurst) flush(owner);  // only for bursts longer than kBurst
    out_[size_t{owner} * kBurst + out_len_[owner]++] = m;
    any_out = true;
  }
  // One enqueue per destination per burst.
  if (any_out)
    for (uint16_t d = 0; d < lcores; ++d)
      if (out_len_[d] != 0) flush(d);
  return keep;
}

void Steerer::pass(rte_mbuf* m, uint16_t owner) {
  assert(owner != self_ && owner < mesh_.lcores());
  send(owner, &m, 1);
}

uint16_t Steerer::collect(rte_mbuf** pkts, uint16_t max) {
  const uint16_t lcores = mesh_.lcores();
  uint16_t got = 0;
  for (uint16_t k = 0; k < lcores && got < max; ++k) {
    const uint16_t src = static_cast<uint16_t>((next_source_ + k) % lcores);
    if (src == self_) continue;
    got += static_cast<uint16_t>(rte_ring_sc_dequeue_burst(
        mesh_.ring(src, self_), reinterpret_cast<void**>(pkts + got), max - got, nullptr));
  }
  next_source_ = static_cast<uint16_t>((next_source_ + 1) % lcores);
  counters_.inc(base::Counter::steered_in, got);
  return got;
}

}  // namespace pollux::engine
