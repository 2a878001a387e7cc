#include "ring_link.hpp"

#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include <vector>

namespace pollux::dpdk {

bool create_ring_link(const std::string& name, unsigned queues, unsigned ring_size, RingLink& link,
                      std::string& error) {
  if (queues == 0 || queues > RTE_MAX_QUEUES_PER_PORT) {
    error = "ring link: bad queue count " + std::to_string(queues);
    return false;
  }
  // a_to_b[i] carries what side A sends on its queue i; side B receives it on its queue i.
  // Each ring has one producer lcore and one consumer lcore.
  std::vector<rte_ring*> a_to_b(queues), b_to_a(queues);
  const int socket = static_cast<int>(rte_socket_id());
  for (unsigned i = 0; i < queues; ++i) {
    const std::string ab = name + "_ab" + std::to_string(i);
    const std::string ba = name + "_ba" + std::to_string(i);
    a_to_b[i] = rte_ring_create(ab.c_str(), ring_size, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    b_to_a[i] = rte_ring_create(ba.c_str(), ring_size, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!a_to_b[i] || !b_to_a[i]) {
      error = "ring link: cannot create ring " + ab + ": " + rte_strerror(rte_errno);
      return false;
    }
  }
  const int a = rte_eth_from_rings((name + "_a").c_str(), b_to_a.data(), queues, a_to_b.data(),
                                   queues, static_cast<unsigned>(socket));
  const int b = rte_eth_from_rings((name + "_b").c_str(), a_to_b.data(), queues, b_to_a.data(),
                                   queues, static_cast<unsigned>(socket));
  if (a < 0 || b < 0) {
    error = "ring link: cannot create the net_ring ports: " + std::string(rte_strerror(rte_errno));
    return false;
  }
  link.port_a = static_cast<uint16_t>(a);
  link.port_b = static_cast<uint16_t>(b);
  link.queues = queues;
  return true;
}

}  // namespace pollux::dpdk
