// What an engine knows about the port it serves: addresses, route, MTU and which checksum
// work the device took over.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "net/ethernet.hpp"
#include "net/ipv4_addr.hpp"
#include "net/ipv6_addr.hpp"

namespace pollux::engine {

// Offloads the device granted at bring-up (drivers-glue fills this from rte_eth_dev_info).
// Every false entry has an exact software path producing the same bytes on the wire.
struct Offloads {
  bool tx_ipv4_checksum = false;
  bool tx_tcp_checksum = false;
  bool rx_ipv4_checksum = false;
  bool rx_tcp_checksum = false;
  bool tx_tso = false;
  // TSO frames are cut into segments by the engine (tso_cut.hpp), not by the device, whose
  // own TSO cannot be used (net_tap: drivers-glue/port.cpp says why). The TCP layer still
  // builds one frame for the full segments that can go at once.
  bool tx_tso_in_engine = false;
  bool rx_lro = false;
  // GRO (issue 13 item 3): a device without LRO (net_tap, af_packet) still hands TCP one
  // frame for a run of in-order segments of one connection within an RX burst; the engine
  // coalesces them (engine/gro.hpp). Set by drivers-glue where rx_lro is not.
  bool rx_gro = false;
  // The device transmits chained mbufs (RTE_ETH_TX_OFFLOAD_MULTI_SEGS): TCP segments may
  // then reference the send queue instead of copying it (TcpConfig::tx_share). Without it
  // every frame is one contiguous mbuf, as before.
  bool tx_multi_segs = false;
};

struct InterfaceConfig {
  net::MacAddr mac;
  std::vector<net::Ipv4Prefix> addrs;  // one or more; the first is the primary source address
  std::optional<net::Ipv4Addr> gateway;
  // IPv6 (RFC 8200): global or unique-local addresses with their on-link prefixes. When
  // there is at least one, the port also has the link-local address derived from its MAC
  // (RFC 4291 2.5.1, RFC 4862 5.3) and speaks neighbour discovery for all of them
  // (engine/ipv6_addrs.hpp derives them once).
  std::vector<net::Ipv6Prefix> addrs6;
  std::optional<net::Ipv6Addr> gateway6;  // the IPv6 next hop for off-link destinations
  uint16_t mtu = 1500;                    // IP MTU
  Offloads offloads;

  [[nodiscard]] bool owns(net::Ipv4Addr a) const {
    for (const auto& p : addrs)
      if (p.addr == a) return true;
    return false;
  }
  [[nodiscard]] bool has_ipv6() const { return !addrs6.empty(); }
  [[nodiscard]] bool on_link(net::Ipv4Addr a) const {
    for (const auto& p : addrs)
      if (p.contains(a)) return true;
    return false;
  }
  // RFC 1122 3.2.1.3: a source that is broadcast, multicast, zero or limited broadcast of one
  // of our subnets is a martian and the datagram is discarded; so are "this network" (0/8,
  // RFC 1122 3.2.1.3 (a)), loopback (127/8, 3.2.1.3 (g): must not appear outside a host) and
  // the reserved 240/4 (RFC 1112 4), as Linux's martian filter does. Spoofed floods use them.
  [[nodiscard]] bool is_bad_source(net::Ipv4Addr a) const {
    if (!a.is_unicast_peer()) return true;
    for (const auto& p : addrs)
      if (p.length < 31 && a == p.directed_broadcast()) return true;
    return false;
  }
};

}  // namespace pollux::engine
