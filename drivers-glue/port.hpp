// Port bring-up on any ethdev: queues, offload negotiation, MTU, start. What the device
// granted is recorded so the engine uses the NIC where it can and software where it cannot.
#pragma once

#include <rte_ethdev.h>
#include <rte_mempool.h>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/interface.hpp"
#include "net/ethernet.hpp"

namespace pollux::dpdk {

struct PortConfig {
  uint16_t port_id = 0;
  // One RX and one TX queue per worker lcore. A device that opened more at probe (see
  // PortInfo::queues) gets them all configured.
  uint16_t queues = 1;
  uint16_t rx_desc = 1024;
  uint16_t tx_desc = 1024;
  uint16_t mtu = 1500;
  bool checksum_offload = true;  // false forces the software paths (tests compare both)
  bool zero_copy = false;        // segments reference the send queue where multi-seg is on
  // The in-memory link's offloads (ring_link.hpp; issue 13 item 2), on its ports only and
  // only with checksum_offload: `link_checksum` IPv4/TCP checksums, `link_tso_lro` on top of
  // them TSO and LRO (frames up to 64 KB handed over whole). Other devices ignore both.
  bool link_checksum = true;
  bool link_tso_lro = true;
  // TSO on a device that grants RTE_ETH_TX_OFFLOAD_TCP_TSO (net_tap, NICs; issue 13 item 3),
  // with checksum_offload and chained mbufs. false: MSS-sized segments built by the stack.
  bool tso = true;
  // GRO in the engine (engine/gro.hpp) on a device without LRO, the in-memory link excepted
  // (its offloads are --link-offloads'). false: every segment handed to TCP as it arrived.
  bool gro = true;
};

struct PortInfo {
  uint16_t port_id = 0;
  std::string driver;
  net::MacAddr mac;
  // Queue pairs configured: PortConfig::queues, or more when the driver opened more at
  // probe (net_af_packet's qpairs: one socket each in a kernel fanout group, fed whether we
  // configure them or not). Queues past the lcores are polled too (Runtime) and get no RETA
  // entries.
  uint16_t queues = 0;
  uint16_t lcore_queues = 0;  // PortConfig::queues: one per worker lcore
  uint16_t mtu = 0;
  uint16_t rx_desc = 0, tx_desc = 0;  // per queue, as the driver adjusted them
  bool zero_copy = false;             // asked for (PortConfig) and multi-seg granted
  bool rss = false;
  // Multi-core steering (issue 6). `rss_programmed`: the device took the symmetric key
  // (read back equal) with the IPv4/TCP hash type, and `reta` is the indirection table read
  // back from it: the NIC delivers every segment to the lcore of the shard function.
  // Otherwise `rss_note` says why not and the lcores steer in software.
  bool rss_programmed = false;
  std::vector<uint16_t> reta;
  std::string rss_note;
  engine::Offloads offloads;
  bool tso_capable = false;
  bool lro_capable = false;
  // Issue 15 item 5: empty when the link came up; otherwise one line saying that it is down
  // and what to check (describe_port prints it).
  std::string link_note;
  // How the IPv6 groups (solicited-node and all-nodes, RFC 4861 7.2.1) reach us: "list of N"
  // (rte_eth_dev_set_mc_addr_list), "allmulti", "device filters none" when it has no filter
  // to program, or empty when the port has no IPv6 address.
  std::string ipv6_multicast;
};

// The RSS hash types pollux asks of a device that offers `offered` (rte_eth_dev_info's
// flow_type_rss_offloads) with a hash key of `key_size` bytes: IPv4/TCP (and plain IPv4 for
// the rest), and IPv6/TCP (and plain IPv6) when the key is long enough for the 36-byte IPv6
// input (36 + 4 bytes: the symmetric pattern of any length hashes as ShardMap's 40-byte key;
// a shorter key would hash IPv6 otherwise, and software steering would move every segment).
// What a device does not hash by the tuple lands anywhere and is steered in software.
[[nodiscard]] constexpr uint64_t rss_hash_types(uint64_t offered, unsigned key_size) {
  uint64_t want = RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_IPV4;
  if (key_size >= 40) want |= RTE_ETH_RSS_NONFRAG_IPV6_TCP | RTE_ETH_RSS_IPV6;
  return offered & want;
}

// Configures and starts the port; on failure returns false and sets `error`.
[[nodiscard]] bool bring_up_port(const PortConfig& config, rte_mempool* pool, PortInfo& info,
                                 std::string& error);

// Lets the frames of the Ethernet `groups` in (RFC 2464 7: the MACs of our IPv6 multicast
// groups): an exact list where the device takes one, else all multicast. A device with
// neither (net_ring, net_af_packet) filters nothing, which is as good. Records the outcome
// in `info.ipv6_multicast`; false (and `error`) only when the device refuses a filter it has.
[[nodiscard]] bool join_multicast_groups(const std::vector<net::MacAddr>& groups, PortInfo& info,
                                         std::string& error);

// "port 0 (net_tap) 02:..: 1 queue, mtu 1500, rss off, tx: ipv4-cksum on, tcp-cksum on, tso off
// (capable); rx: ..."
[[nodiscard]] std::string describe_port(const PortInfo& info);

// The device's own counters (rte_eth_stats): what the NIC dropped before pollux saw it
// (imissed: RX ring full; rx_nombuf: mempool empty) and transmit errors, one line.
[[nodiscard]] std::string describe_port_stats(uint16_t port_id);

void stop_port(uint16_t port_id);

}  // namespace pollux::dpdk
