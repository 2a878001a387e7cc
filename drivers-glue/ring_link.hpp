// An in-memory Ethernet link inside one process: two net_ring ports whose TX queues are the
// other's RX queues. Used when the load generator and a server share a process (no NIC, no
// tap, no root), and by tests.
#pragma once

#include <cstdint>
#include <string>

struct rte_ring;

namespace pollux::dpdk {

struct RingLink {
  uint16_t port_a = 0;
  uint16_t port_b = 0;
  unsigned queues = 0;
};

// Creates the link with `queues` queue pairs per side. Queue i of one side delivers to queue
// i of the other, so a flow opened from queue i is answered on queue i: lcore i of each
// side owns it without any steering. On failure returns false and sets `error`.
[[nodiscard]] bool create_ring_link(const std::string& name, unsigned queues, unsigned ring_size,
                                    RingLink& link, std::string& error);

}  // namespace pollux::dpdk
