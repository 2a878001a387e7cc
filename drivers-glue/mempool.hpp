// Packet buffer pools: one per socket, with a per-lcore cache so that alloc/free on the hot
// path never touches the shared ring.
#pragma once

#include <rte_mempool.h>

#include <string>

namespace pollux::dpdk {

// Sized for `queues` queue pairs of `ring_desc` descriptors each plus the engines' batches and
// in-flight data; `extra` adds room for held data (send and reassembly queues).
[[nodiscard]] rte_mempool* create_mbuf_pool(const std::string& name, unsigned queues,
                                            unsigned ring_desc, unsigned extra, int socket,
                                            std::string& error);

}  // namespace pollux::dpdk
