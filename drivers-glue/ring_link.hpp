// An in-memory Ethernet link inside one process: two net_ring ports whose TX queues are the
// other's RX queues. Used when the load generator and a server share a process (no NIC, no
// tap, no root), and by tests.
#pragma once

#include <cstdint>
#include <string>

struct rte_mbuf;
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

// Whether `port` is one end of such a link. The link behaves like a NIC with IPv4 and TCP
// checksum offload (issue 13 item 2), as Linux's veth does: a frame handed over in memory
// cannot be corrupted on the way, so the sender need not compute its checksums and the
// receiver may trust them. It also offers TSO and LRO (frames of up to 64 KB handed over
// whole, as veth hands over GSO skbs). bring_up_port grants these offloads on the link's ports
// unless the application turned them off (PortConfig::link_checksum, link_tso_lro).
[[nodiscard]] bool is_ring_link_port(uint16_t port);

// Turns on (or off) the receive side of those offloads on a link port: what a NIC's receive
// path would do with what the other side's TX path asked for. A frame whose sender left its
// IPv4 or TCP checksum to the device arrives marked good for it; a frame checksummed in
// software arrives with no verdict (its receiver checks it); a TSO frame arrives as an LRO
// frame (RTE_MBUF_F_RX_LRO, tso_segsz kept); TX requests do not survive the wire. Set by
// bring_up_port before any lcore polls the port; ignored for other ports.
void set_ring_link_offloads(uint16_t port, bool on);

// rte_eth_rx_burst, plus that receive side on a link port that has it on: how the poller (and
// anything else that wants what the device delivers) receives.
[[nodiscard]] uint16_t receive_burst(uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t max);

}  // namespace pollux::dpdk
