// Packet buffer pools: one per socket, with a per-lcore cache so that alloc/free on the hot
// path never touches the shared ring.
#pragma once

#include <rte_mempool.h>

#include <string>

namespace pollux::dpdk {

// What `queues` queue pairs of `rx_desc` + `tx_desc` descriptors, the engines' TX batches
// and the per-lcore caches hold at most: the part of a pool that is never free for data.
[[nodiscard]] unsigned mbuf_pool_ring_share(unsigned queues, unsigned rx_desc, unsigned tx_desc);
// The fewest buffers beyond the rings' share that --mbufs accepts: room for some held data.
inline constexpr unsigned kMinHeldMbufs = 1024;

// Sized for the rings' share plus `extra`, room for held data (send and reassembly queues).
[[nodiscard]] rte_mempool* create_mbuf_pool(const std::string& name, unsigned queues,
                                            unsigned rx_desc, unsigned tx_desc, unsigned extra,
                                            int socket, std::string& error);

}  // namespace pollux::dpdk
