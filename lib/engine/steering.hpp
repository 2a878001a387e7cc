// Software steering between the lcores of one port (issue 6), for devices whose receive
// queue choice is not the shard function: net_tap (the kernel picks a queue by its own flow
// hash), net_af_packet (PACKET_FANOUT_HASH, the kernel's hash), net_ring, and NICs whose RSS
// cannot be programmed. On a NIC programmed with the shard function's key and RETA the same
// code runs and finds nothing to move (steered_out stays zero, which tests check).
//
// A mesh of single-producer/single-consumer rte_rings, one per ordered pair of lcores:
// ring(a, b) is written only by lcore a and read only by lcore b, so no ring operation needs
// a lock or a CAS loop shared by more than two lcores. Each lcore, per RX burst:
//   distribute(): computes the owner of every TCP segment; keeps its own, and enqueues the
//                 others with one burst enqueue per destination;
//   collect():    dequeues what the others steered to it, one burst per source.
// TCP segments go by their tuple, ICMP errors about one of our TCP connections by the
// quoted tuple (rx_steer_tuple). Everything else (ARP, pings, fragments) stays where it
// arrived: ARP is synced between lcores separately and the rest needs no connection state,
// except a TCP segment reassembled from fragments, which the engine passes on (pass()).
#pragma once

#include <rte_mbuf.h>
#include <rte_ring.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/counters.hpp"
#include "engine/rss.hpp"

namespace pollux::engine {

class SteeringMesh {
 public:
  // `name` makes the ring names unique per process (rte_ring names are global). Returns null
  // and sets `error` if a ring cannot be created.
  [[nodiscard]] static std::unique_ptr<SteeringMesh> create(const std::string& name,
                                                            uint16_t lcores, unsigned ring_size,
                                                            int socket, std::string& error);
  ~SteeringMesh();
  SteeringMesh(const SteeringMesh&) = delete;
  SteeringMesh& operator=(const SteeringMesh&) = delete;

  [[nodiscard]] uint16_t lcores() const { return n_; }
  [[nodiscard]] rte_ring* ring(uint16_t from, uint16_t to) const { return rings_[from * n_ + to]; }
  // Frees whatever is still queued (at shutdown, after every lcore stopped).
  void drain();

 private:
  SteeringMesh() = default;
  uint16_t n_ = 0;
  std::vector<rte_ring*> rings_;  // n*n, the diagonal unused (null)
};

// One lcore's end of the mesh. Owned and used by that lcore only.
class Steerer {
 public:
  static constexpr uint16_t kBurst = 32;

  Steerer(const SteeringMesh& mesh, const ShardMap& shards, uint16_t self, base::Counters& counters);

  // Compacts the frames this lcore owns (or that are not steered) to the front of `pkts`,
  // preserving their order, and returns how many; the others are passed to their owners.
  uint16_t distribute(rte_mbuf** pkts, uint16_t n);
  // Up to `max` frames other lcores passed here, in the order each source sent them.
  uint16_t collect(rte_mbuf** pkts, uint16_t max);
  // Hands one frame the engine found to belong to `owner` (a reassembled TCP segment: its
  // fragments were not hashed by port, so they landed wherever the first one did) straight
  // to that lcore's ring, counted as steered_out; a full ring drops it, counted. Rare, so
  // not batched.
  void pass(rte_mbuf* m, uint16_t owner);

  [[nodiscard]] uint16_t self() const { return self_; }

 private:
  // Enqueues `len` frames on `dest`'s ring; what does not fit is dropped and counted.
  void send(uint16_t dest, rte_mbuf* const* batch, uint16_t len);
  void flush(uint16_t dest);
  const SteeringMesh& mesh_;
  const ShardMap& shards_;
  uint16_t self_;
  uint16_t next_source_ = 0;  // round-robin start for collect(), so no source starves
  base::Counters& counters_;
  std::vector<rte_mbuf*> out_;     // kBurst per destination
  std::vector<uint16_t> out_len_;  // per destination
};

}  // namespace pollux::engine
