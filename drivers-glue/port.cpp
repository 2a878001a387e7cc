#include "port.hpp"

#include <rte_bus.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_ethdev.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "log.hpp"
#include "ring_link.hpp"

namespace pollux::dpdk {

namespace {
std::string errstr(const char* what, int rc) {
  return std::string(what) + ": " + std::strerror(rc < 0 ? -rc : rc);
}

// Programs the shard function into the device (issue 6): the symmetric key, hash type
// IPv4/TCP, and a RETA spreading the queues round-robin, then reads key and RETA back, since
// a driver may accept a call and not apply it. Any step failing leaves `rss_programmed`
// false and says why; the pollers then steer in software.
void program_rss(uint16_t port, const rte_eth_dev_info& dev, uint16_t queues, PortInfo& info) {
  // The 0x6d5a pattern is symmetric at any length; the IPv4/TCP hash reads only the key's
  // first 16 bytes (12 input bytes + 4), so a longer device key hashes exactly as the
  // 40-byte ShardMap key does.
  if (dev.hash_key_size < 16) {
    info.rss_note = "device hash key of " + std::to_string(dev.hash_key_size) + " bytes";
    return;
  }
  if (!(dev.flow_type_rss_offloads & RTE_ETH_RSS_NONFRAG_IPV4_TCP)) {
    info.rss_note = "no IPv4/TCP hash type";
    return;
  }
  if (dev.reta_size == 0 || (dev.reta_size & (dev.reta_size - 1)) != 0 ||
      dev.reta_size % RTE_ETH_RETA_GROUP_SIZE != 0) {
    info.rss_note = "RETA size " + std::to_string(dev.reta_size) + " not programmable";
    return;
  }
  std::vector<uint8_t> key(dev.hash_key_size);
  for (size_t i = 0; i < key.size(); ++i) key[i] = (i % 2) ? 0x5a : 0x6d;
  rte_eth_rss_conf rc{};
  rc.rss_key = key.data();
  rc.rss_key_len = static_cast<uint8_t>(key.size());
  rc.rss_hf = rss_hash_types(dev.flow_type_rss_offloads, dev.hash_key_size);
  if (int rc_ = rte_eth_dev_rss_hash_update(port, &rc); rc_ != 0) {
    info.rss_note = errstr("rss_hash_update", rc_);
    return;
  }
  std::vector<rte_eth_rss_reta_entry64> reta(dev.reta_size / RTE_ETH_RETA_GROUP_SIZE);
  for (size_t i = 0; i < dev.reta_size; ++i) {
    auto& g = reta[i / RTE_ETH_RETA_GROUP_SIZE];
    g.mask = ~uint64_t{0};
    g.reta[i % RTE_ETH_RETA_GROUP_SIZE] = static_cast<uint16_t>(i % queues);
  }
  if (int rc_ = rte_eth_dev_rss_reta_update(port, reta.data(), dev.reta_size); rc_ != 0) {
    info.rss_note = errstr("rss_reta_update", rc_);
    return;
  }
  // Read back.
  std::vector<uint8_t> got(key.size());
  rte_eth_rss_conf back{};
  back.rss_key = got.data();
  back.rss_key_len = static_cast<uint8_t>(got.size());
  if (int rc_ = rte_eth_dev_rss_hash_conf_get(port, &back); rc_ != 0) {
    info.rss_note = errstr("rss_hash_conf_get", rc_);
    return;
  }
  if (got != key || !(back.rss_hf & RTE_ETH_RSS_NONFRAG_IPV4_TCP)) {
    info.rss_note = "key or hash type not applied";
    return;
  }
  for (auto& g : reta) {
    g.mask = ~uint64_t{0};
    std::fill(std::begin(g.reta), std::end(g.reta), uint16_t{0xffff});
  }
  if (int rc_ = rte_eth_dev_rss_reta_query(port, reta.data(), dev.reta_size); rc_ != 0) {
    info.rss_note = errstr("rss_reta_query", rc_);
    return;
  }
  info.reta.resize(dev.reta_size);
  for (size_t i = 0; i < dev.reta_size; ++i) {
    info.reta[i] = reta[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE];
    if (info.reta[i] >= queues) {
      info.reta.clear();
      info.rss_note = "RETA read back with a queue out of range";
      return;
    }
  }
  info.rss_programmed = true;
}

// The kernel interface under net_af_packet or net_af_xdp (their `iface=` argument), or ""
// for any other device.
std::string kernel_iface(const rte_eth_dev_info& dev) {
  if (dev.driver_name == nullptr || dev.device == nullptr ||
      (std::strcmp(dev.driver_name, "net_af_packet") != 0 &&
       std::strcmp(dev.driver_name, "net_af_xdp") != 0))
    return {};
  const rte_devargs* da = rte_dev_devargs(dev.device);
  if (da == nullptr || da->args == nullptr) return {};
  const std::string args = da->args;
  const size_t at = args.find("iface=");
  if (at == std::string::npos) return {};
  const size_t end = args.find(',', at);
  return args.substr(at + 6, end == std::string::npos ? std::string::npos : end - at - 6);
}

// Issue 15 item 5: a port whose link is down sends nothing, silently. A NIC's PHY takes a
// moment to negotiate after start, so wait up to kLinkWaitMs for it; net_af_packet and
// net_af_xdp always say up, so ask the kernel about their interface instead (a veth whose
// peer is down has no carrier: its operstate is "down"). Returns the one line to print, or
// "" when up.
constexpr unsigned kLinkWaitMs = 3000, kLinkPollMs = 100;
std::string link_down_note(uint16_t port, const rte_eth_dev_info& dev, const std::string& driver) {
  const std::string iface = kernel_iface(dev);
  if (!iface.empty()) {
    std::string state;
    if (FILE* f = std::fopen(("/sys/class/net/" + iface + "/operstate").c_str(), "r")) {
      char buf[32] = {};
      if (std::fgets(buf, sizeof buf, f)) state = buf;
      std::fclose(f);
      while (!state.empty() && (state.back() == '\n' || state.back() == ' ')) state.pop_back();
    }
    if (state.empty() || state == "up" || state == "unknown") return {};
    return "port " + std::to_string(port) + " link: down (kernel interface " + iface + " is " +
           state + "): nothing will be received or sent until it is up; check 'ip link show " +
           iface + "' and, for a veth, that its peer is up (ip link set PEER up)";
  }
  // A virtual device's link is what it is at once (memif's comes up when its peer connects,
  // which may be later by design): only a NIC is given time.
  const rte_bus* bus = dev.device ? rte_dev_bus(dev.device) : nullptr;
  const bool virtual_dev = bus && std::strcmp(rte_bus_name(bus), "vdev") == 0;
  if (virtual_dev) return {};
  rte_eth_link link{};
  for (unsigned waited = 0;; waited += kLinkPollMs) {
    if (rte_eth_link_get_nowait(port, &link) != 0) return {};  // the driver cannot tell
    if (link.link_status == RTE_ETH_LINK_UP) return {};
    if (waited >= kLinkWaitMs) break;
    rte_delay_ms(kLinkPollMs);
  }
  return "port " + std::to_string(port) + " link: down " + std::to_string(kLinkWaitMs / 1000) +
         " s after start (" + driver +
         "): nothing will be received or sent until it is up; check the cable or the peer's "
         "port, its speed and autonegotiation, and that this is the port wired (NICS.md)";
}
}  // namespace

bool bring_up_port(const PortConfig& config, rte_mempool* pool, PortInfo& info,
                   std::string& error) {
  const uint16_t port = config.port_id;
  if (!rte_eth_dev_is_valid_port(port)) {
    error = "port " + std::to_string(port) + " does not exist (is a --vdev or NIC given?)";
    return false;
  }
  rte_eth_dev_info dev{};
  if (int rc = rte_eth_dev_info_get(port, &dev); rc != 0) {
    error = errstr("rte_eth_dev_info_get", rc);
    return false;
  }
  info = PortInfo{};
  info.port_id = port;
  info.driver = dev.driver_name ? dev.driver_name : "?";
  const uint16_t max_queues = std::min<uint16_t>(dev.max_rx_queues, dev.max_tx_queues);
  if (max_queues < config.queues) {
    error = "port " + std::to_string(port) + " (" + info.driver + ") has at most " +
            std::to_string(max_queues) + " queue pairs, " + std::to_string(config.queues) +
            " needed (one per worker lcore)";
    return false;
  }
  // Queues the driver set up at probe, before any configure (nb_rx_queues is 0 then for a
  // NIC or net_tap, whose queues exist only once configured: the NIC spreads over the
  // configured ones, the tap attaches one tun queue per configured queue). net_af_packet
  // opens its qpairs sockets at probe and the kernel's fanout feeds each of them whether
  // we configure it or not: configure and poll them all, or the flows hashed there vanish.
  const uint16_t queues =
      std::min<uint16_t>(std::max<uint16_t>(config.queues, dev.nb_rx_queues), max_queues);

  rte_eth_conf conf{};
  // Ask only for what the device has, and only for what the engine uses today.
  const uint64_t tx_wanted = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
  const uint64_t rx_wanted = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
  if (config.checksum_offload) {
    conf.txmode.offloads = dev.tx_offload_capa & tx_wanted;
    conf.rxmode.offloads = dev.rx_offload_capa & rx_wanted;
  }
  if (dev.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
    conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
  // TSO (issue 13 item 3): the engine's TSO frames are a header mbuf chained to the send
  // queue, with the checksums left to the device, so only with those three granted.
  constexpr uint64_t kTsoNeeds = RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_MULTI_SEGS |
                                 RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
  const bool tso_granted =
      config.tso && config.checksum_offload && (dev.tx_offload_capa & kTsoNeeds) == kTsoNeeds;
  // net_tap's TSO (DPDK 22.11, still in 23.11) cannot carry a full-sized segment: it cuts the
  // frame with librte_gso but first refuses it, unconsumed, when a segment's frame with its
  // Ethernet header is longer than the device MTU -- a full segment is MTU + 14 -- and its
  // largest frame (1522) keeps the MTU from being raised to make room. There the engine cuts
  // the TCP layer's TSO frames itself (engine/tso_cut.hpp) into the same segments, and the
  // device sends MTU frames as ever: the stack still builds one frame per burst.
  const bool tso_in_engine = tso_granted && std::strcmp(info.driver.c_str(), "net_tap") == 0;
  if (tso_granted && !tso_in_engine) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_TSO;
  const uint64_t rss_hf = rss_hash_types(dev.flow_type_rss_offloads, dev.hash_key_size);
  if (queues > 1 && rss_hf != 0) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
    info.rss = true;
  }
  if (int rc = rte_eth_dev_configure(port, queues, queues, &conf); rc != 0) {
    error = errstr("rte_eth_dev_configure", rc);
    return false;
  }
  uint16_t rx_desc = config.rx_desc, tx_desc = config.tx_desc;
  if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rx_desc, &tx_desc); rc != 0) {
    error = errstr("rte_eth_dev_adjust_nb_rx_tx_desc", rc);
    return false;
  }
  POLLUX_LOG(DEBUG,
             "port %u: driver %s, queues max rx %u tx %u, descriptors rx [%u, %u] tx [%u, %u], "
             "asked rxd %u txd %u, got %u %u, offload capabilities rx 0x%llx tx 0x%llx",
             port, dev.driver_name, dev.max_rx_queues, dev.max_tx_queues, dev.rx_desc_lim.nb_min,
             dev.rx_desc_lim.nb_max, dev.tx_desc_lim.nb_min, dev.tx_desc_lim.nb_max, config.rx_desc,
             config.tx_desc, rx_desc, tx_desc, static_cast<unsigned long long>(dev.rx_offload_capa),
             static_cast<unsigned long long>(dev.tx_offload_capa));
  const int socket = rte_eth_dev_socket_id(port);
  const unsigned sock = socket < 0 ? SOCKET_ID_ANY : static_cast<unsigned>(socket);
  for (uint16_t q = 0; q < queues; ++q) {
    rte_eth_rxconf rxc = dev.default_rxconf;
    rxc.offloads = conf.rxmode.offloads;
    if (int rc = rte_eth_rx_queue_setup(port, q, rx_desc, sock, &rxc, pool); rc != 0) {
      error = errstr("rte_eth_rx_queue_setup", rc);
      return false;
    }
    rte_eth_txconf txc = dev.default_txconf;
    txc.offloads = conf.txmode.offloads;
    if (int rc = rte_eth_tx_queue_setup(port, q, tx_desc, sock, &txc); rc != 0) {
      error = errstr("rte_eth_tx_queue_setup", rc);
      return false;
    }
  }
  uint16_t mtu = 0;
  if (rte_eth_dev_get_mtu(port, &mtu) != 0 || mtu != config.mtu) {
    if (int rc = rte_eth_dev_set_mtu(port, config.mtu); rc != 0) {
      // Devices without MTU control (ring) carry any size: keep the requested IP MTU.
      if (rc != -ENOTSUP) {
        error = errstr("rte_eth_dev_set_mtu", rc);
        return false;
      }
    }
  }
  if (int rc = rte_eth_dev_start(port); rc != 0) {
    error = errstr("rte_eth_dev_start", rc);
    return false;
  }
  // Printed once, in the port's description (describe_port).
  info.link_note = link_down_note(port, dev, info.driver);
  if (queues > 1) {
    if (info.rss)
      program_rss(port, dev, config.queues, info);  // RETA entries for the lcores' queues
    else
      info.rss_note = "no RSS";
  }
  rte_ether_addr mac{};
  rte_eth_macaddr_get(port, &mac);
  if (rte_is_zero_ether_addr(&mac)) {
    // Some virtual devices (net_ring) have no address; two stacks on one in-memory link
    // must still be told apart. A random locally administered unicast address will do.
    rte_eth_random_addr(mac.addr_bytes);
    rte_eth_dev_default_mac_addr_set(port, &mac);  // best effort: ring filters nothing
  }
  std::memcpy(info.mac.bytes.data(), mac.addr_bytes, 6);
  info.queues = queues;
  info.lcore_queues = config.queues;
  info.mtu = config.mtu;
  info.rx_desc = rx_desc;
  info.tx_desc = tx_desc;
  info.offloads.tx_ipv4_checksum = conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
  info.offloads.tx_tcp_checksum = conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
  info.offloads.rx_ipv4_checksum = conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
  info.offloads.rx_tcp_checksum = conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
  info.offloads.tx_tso = (conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_TCP_TSO) || tso_in_engine;
  info.offloads.tx_tso_in_engine = tso_in_engine;
  // The in-memory link offers what a NIC would (ring_link.hpp): net_ring itself knows no
  // offloads, so its receive side (receive_burst) turns the sender's requests into verdicts
  // (and TSO frames into LRO frames).
  const bool link_offloads =
      config.checksum_offload && config.link_checksum && is_ring_link_port(port);
  set_ring_link_offloads(port, link_offloads);
  if (link_offloads) {
    info.offloads.tx_ipv4_checksum = info.offloads.tx_tcp_checksum = true;
    info.offloads.rx_ipv4_checksum = info.offloads.rx_tcp_checksum = true;
    info.offloads.tx_tso = info.offloads.rx_lro = config.link_tso_lro;
  }
  // Chained frames: segments then reference the send queue (zero-copy TX). net_ring hands
  // over mbuf pointers, whatever their shape, so the in-memory link always takes them.
  info.offloads.tx_multi_segs =
      (conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) || is_ring_link_port(port);
  info.zero_copy = config.zero_copy && info.offloads.tx_multi_segs;
  info.tso_capable = info.offloads.tx_tso || (dev.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_TSO);
  info.lro_capable = info.offloads.rx_lro || (dev.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TCP_LRO);
  info.offloads.rx_gro = config.gro && !info.offloads.rx_lro && !is_ring_link_port(port);
  return true;
}

bool join_multicast_groups(const std::vector<net::MacAddr>& groups, PortInfo& info,
                           std::string& error) {
  if (groups.empty()) return true;
  std::vector<rte_ether_addr> list(groups.size());
  for (size_t i = 0; i < groups.size(); ++i)
    std::memcpy(list[i].addr_bytes, groups[i].bytes.data(), 6);
  int rc =
      rte_eth_dev_set_mc_addr_list(info.port_id, list.data(), static_cast<uint32_t>(list.size()));
  if (rc == 0) {
    info.ipv6_multicast = "list of " + std::to_string(groups.size());
    return true;
  }
  if (rc != -ENOTSUP)
    POLLUX_LOG(INFO, "port %u: multicast list refused (%d), trying allmulti", info.port_id, rc);
  rc = rte_eth_allmulticast_enable(info.port_id);
  if (rc == 0) {
    info.ipv6_multicast = "allmulti";
    return true;
  }
  if (rc == -ENOTSUP) {
    info.ipv6_multicast = "device filters none";
    return true;
  }
  error = errstr("rte_eth_allmulticast_enable", rc);
  return false;
}

std::string describe_port(const PortInfo& i) {
  auto onoff = [](bool on) { return on ? "on" : "off"; };
  std::string s =
      "port " + std::to_string(i.port_id) + " (" + i.driver + ") " + i.mac.to_string() + ": " +
      std::to_string(i.queues) + (i.queues == 1 ? " queue" : " queues") + " (rxd " +
      std::to_string(i.rx_desc) + ", txd " + std::to_string(i.tx_desc) + "), mtu " +
      std::to_string(i.mtu) + ", rss " + onoff(i.rss) + "; tx offloads: ipv4-cksum " +
      onoff(i.offloads.tx_ipv4_checksum) + ", tcp-cksum " + onoff(i.offloads.tx_tcp_checksum) +
      ", tso " + onoff(i.offloads.tx_tso) + (i.offloads.tx_tso_in_engine ? " (software)" : "") +
      (i.tso_capable && !i.offloads.tx_tso ? " (capable)" : "") + ", multi-seg " +
      onoff(i.offloads.tx_multi_segs) + (i.zero_copy ? " (zero-copy)" : " (segments copied)") +
      "; rx offloads: ipv4-cksum " + onoff(i.offloads.rx_ipv4_checksum) + ", tcp-cksum " +
      onoff(i.offloads.rx_tcp_checksum) + ", lro " + onoff(i.offloads.rx_lro) +
      (i.lro_capable && !i.offloads.rx_lro ? " (capable)" : "") +
      (i.offloads.rx_gro ? ", gro on (software)" : "") + "; software fallback for the rest";
  if (!i.ipv6_multicast.empty()) s += "; ipv6 multicast: " + i.ipv6_multicast;
  if (!i.link_note.empty()) s += "\n" + i.link_note;
  if (i.queues > i.lcore_queues)
    s += "\nport " + std::to_string(i.port_id) + " queues: the device opened " +
         std::to_string(i.queues) + " at probe for " + std::to_string(i.lcore_queues) +
         " worker lcore(s); every queue is polled (queue q by worker q mod " +
         std::to_string(i.lcore_queues) + ")";
  // The multi-core mode in use (issue 6), on its own line.
  if (i.lcore_queues > 1) {
    s += "\nport " + std::to_string(i.port_id) + " steering: ";
    if (i.rss_programmed)
      s += "nic-rss (symmetric Toeplitz key, IPv4/TCP, RETA of " + std::to_string(i.reta.size()) +
           " entries read back)";
    else
      s += "software (" + i.rss_note +
           "): segments reaching the wrong lcore go to their owner "
           "over rings";
  }
  return s;
}

std::string describe_port_stats(uint16_t port_id) {
  rte_eth_stats st{};
  if (rte_eth_stats_get(port_id, &st) != 0) return "port " + std::to_string(port_id) + ": no stats";
  return "port " + std::to_string(port_id) + ": ipackets " + std::to_string(st.ipackets) +
         " opackets " + std::to_string(st.opackets) + " imissed " + std::to_string(st.imissed) +
         " ierrors " + std::to_string(st.ierrors) + " rx_nombuf " + std::to_string(st.rx_nombuf) +
         " oerrors " + std::to_string(st.oerrors);
}

void stop_port(uint16_t port_id) {
  rte_eth_dev_stop(port_id);
  rte_eth_dev_close(port_id);
}

}  // namespace pollux::dpdk
