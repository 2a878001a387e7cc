#include "mempool.hpp"

#include <rte_errno.h>
#include <rte_mbuf.h>

#include "base/tx_batch.hpp"

namespace pollux::dpdk {

namespace {
constexpr unsigned kCache = 256;
}

unsigned mbuf_pool_ring_share(unsigned queues, unsigned rx_desc, unsigned tx_desc) {
  return queues * (rx_desc + tx_desc + base::TxBatch::kCapacity + kCache);
}

rte_mempool* create_mbuf_pool(const std::string& name, unsigned queues, unsigned rx_desc,
                              unsigned tx_desc, unsigned extra, int socket, std::string& error) {
  const unsigned n = mbuf_pool_ring_share(queues, rx_desc, tx_desc) + extra;
  rte_mempool* mp = rte_pktmbuf_pool_create(name.c_str(), n, kCache, 0,
                                            RTE_MBUF_DEFAULT_BUF_SIZE, socket);
  if (!mp) error = "cannot create mbuf pool '" + name + "' of " + std::to_string(n) +
                   " buffers: " + rte_strerror(rte_errno) +
                   " (reserve hugepages or pass --no-huge -m 1024)";
  return mp;
}

}  // namespace pollux::dpdk
