#include "mempool.hpp"

#include <rte_errno.h>
#include <rte_mbuf.h>

#include "base/tx_batch.hpp"

namespace pollux::dpdk {

rte_mempool* create_mbuf_pool(const std::string& name, unsigned queues, unsigned ring_desc,
                              unsigned extra, int socket, std::string& error) {
  constexpr unsigned kCache = 256;
  const unsigned n = queues * (2 * ring_desc + base::TxBatch::kCapacity + kCache) + extra;
  rte_mempool* mp = rte_pktmbuf_pool_create(name.c_str(), n, kCache, 0,
                                            RTE_MBUF_DEFAULT_BUF_SIZE, socket);
  if (!mp) error = "cannot create mbuf pool '" + name + "' of " + std::to_string(n) +
                   " buffers: " + rte_strerror(rte_errno) +
                   " (reserve hugepages or pass --no-huge -m 1024)";
  return mp;
}

}  // namespace pollux::dpdk
