#include "ring_link.hpp"

#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include <array>
#include <vector>

namespace pollux::dpdk {

namespace {
// Set at creation and when a port is initialised, before any lcore polls it.
std::array<bool, RTE_MAX_ETHPORTS> link_port{};
std::array<bool, RTE_MAX_ETHPORTS> link_rx_offloads{};  // the receive side below is on

void receive_offloads(rte_mbuf* const* pkts, uint16_t n) {
  // The mbufs were last written by the sending lcore: ask for every header line of the burst
  // at once so that the misses overlap (issue 13 item 4, burst pipelining), instead of
  // stalling on each in turn below.
  for (uint16_t i = 0; i < n; ++i) rte_prefetch0(pkts[i]);
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    const uint64_t f = m->ol_flags;
    uint64_t rx = 0;
    if (f & RTE_MBUF_F_TX_IP_CKSUM) rx |= RTE_MBUF_F_RX_IP_CKSUM_GOOD;
    if ((f & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_TCP_CKSUM) rx |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
    // A TSO frame (its TCP checksum implied) is what a NIC with LRO would have coalesced from
    // the segments the sender's NIC cut: it arrives whole, checksums vouched for, marked
    // RTE_MBUF_F_RX_LRO with tso_segsz (left as the sender set it) the segment size, as
    // DPDK's LRO contract says. Linux's veth hands over GSO skbs the same way.
    if (f & RTE_MBUF_F_TX_TCP_SEG)
      rx |= RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD | RTE_MBUF_F_RX_LRO;
    // The attach flags (indirect, external buffer) describe the mbuf itself: they stay.
    m->ol_flags = (f & ~(RTE_MBUF_F_TX_OFFLOAD_MASK | RTE_MBUF_F_RX_IP_CKSUM_MASK |
                         RTE_MBUF_F_RX_L4_CKSUM_MASK | RTE_MBUF_F_RX_LRO)) |
                  rx;
  }
}
}  // namespace

bool is_ring_link_port(uint16_t port) {
  return port < link_port.size() && link_port[port];
}

void set_ring_link_offloads(uint16_t port, bool on) {
  if (port < link_rx_offloads.size()) link_rx_offloads[port] = on && is_ring_link_port(port);
}

// Not an ethdev RX callback: DPDK calls those on every rx_burst, the many empty ones of a
// polling lcore included (a walk of the callback list and a call each time, issue 13).
// Here only a burst with frames in it costs anything.
uint16_t receive_burst(uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t max) {
  const uint16_t n = rte_eth_rx_burst(port, queue, pkts, max);
  if (n != 0 && link_rx_offloads[port]) receive_offloads(pkts, n);
  return n;
}

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
  link_port[link.port_a] = link_port[link.port_b] = true;
  link.queues = queues;
  return true;
}

}  // namespace pollux::dpdk
