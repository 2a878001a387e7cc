#include "engine/engine.hpp"

#include <algorithm>

#include "engine/checksum_offload.hpp"
#include "engine/gro.hpp"
#include "net/ethernet.hpp"
#include "net/ipv4.hpp"
#include "net/tcp_header.hpp"
#include "tcp/reassembly.hpp"

namespace pollux::engine {

Engine::Engine(const EngineConfig& config, rte_mempool* pool, uint64_t now_ns)
    : config_(config),
      addrs4_(config.iface),
      addrs6_(config.iface),
      pool_(pool),
      arp_(config.arp),
      nd_(config.nd),
      tcp_(sharded(config, this), pool, config.iface.mtu, counters_, now_ns),
      icmp_echo_budget_(config.icmp_echo_rate, config.icmp_echo_burst),
      icmp_error_budget_(config.icmp_error_rate, config.icmp_error_burst),
      closed_rst_budget_(config.tcp.closed_rst_rate, config.tcp.closed_rst_burst),
      reasm_(config.reasm, counters_) {
  reasm_.on_timeout(
      [](void* self, const rte_mbuf* first, uint64_t now) {
        static_cast<Engine*>(self)->send_time_exceeded(first, now);
      },
      this);
}

tcp::TcpConfig Engine::sharded(const EngineConfig& config, const Engine* self) {
  tcp::TcpConfig c = config.tcp;
  c.tx_share = config.tcp.tx_share && config.iface.offloads.tx_multi_segs;
  // TSO frames are a header mbuf chained to the send queue's buffers: a port that does TSO
  // and takes chains gets them (issue 13 item 2); any other sends MSS-sized segments.
  const engine::Offloads& o = config.iface.offloads;
  c.tso_max = o.tx_tso && o.tx_multi_segs && o.tx_ipv4_checksum && o.tx_tcp_checksum
                  ? tcp::kTsoMaxPayload
                  : 0;
  c.tx_checksums = {.prepare = true, .ipv4 = o.tx_ipv4_checksum, .tcp = o.tx_tcp_checksum};
  if (config.shards && config.shards->shards() > 1) {
    c.ephemeral_port_ok = [](const void* ctx, const net::FourTuple& t) {
      const auto* e = static_cast<const Engine*>(ctx);
      return e->config_.shards->shard_of(t) == e->config_.lcore_index;
    };
    c.ephemeral_port_ctx = self;
  }
  return c;
}

void Engine::drain_tcp(uint64_t now) {
  for (rte_mbuf* m : tcp_.out()) tcp_output(m, now);
  tcp_.clear_out();
}

Engine::~Engine() { tx_.free_all(); }

void Engine::drop(rte_mbuf* m, base::Counter why) {
  counters_.inc(why);
  rte_pktmbuf_free(m);
}

void Engine::start(uint64_t now_ns) {
  start_ipv6(now_ns);
  // One announcement per address and port, not per lcore.
  if (config_.lcore_index != 0) return;
  for (const auto& p : config_.iface.addrs) {
    // RFC 5227 2.3 announcement: a request with sender and target both our address, so
    // neighbours with a stale entry for it update, and nobody answers.
    net::ArpPacket a{net::ArpOp::request, config_.iface.mac, p.addr, net::MacAddr{}, p.addr};
    send_arp(net::MacAddr::broadcast(), a, nullptr);
    counters_.inc(base::Counter::arp_gratuitous_sent);
  }
}

void Engine::input(rte_mbuf* const* pkts, uint16_t n, uint64_t now_ns) {
  // GRO (gro.hpp) on a device without LRO: runs of one connection's in-order segments in
  // this burst become one frame each, in a copy of the burst's array.
  std::array<rte_mbuf*, kGroBurst> merged;
  for (uint16_t done = 0; done < n;) {
    const auto take = static_cast<uint16_t>(std::min<uint32_t>(n - done, kGroBurst));
    rte_mbuf* const* batch = pkts + done;
    uint16_t count = take;
    done = static_cast<uint16_t>(done + take);
    if (config_.iface.offloads.rx_gro && take > 1) {
      std::copy_n(batch, take, merged.begin());
      count = gro_merge(merged.data(), take, config_.iface.offloads, counters_);
      batch = merged.data();
    }
    for (uint16_t i = 0; i < count; ++i) {
      // Pull the next frame's header into cache while this one is processed.
      if (i + 1 < count) rte_prefetch0(rte_pktmbuf_mtod(batch[i + 1], void*));
      input_one(batch[i], now_ns);
    }
  }
  // Batched: application events, then at most one round of output (one ACK) per connection.
  tcp_.flush(now_ns);
  drain_tcp(now_ns);
}

void Engine::poll(uint64_t now_ns) {
  tcp_.poll(now_ns);
  drain_tcp(now_ns);
  reasm_.expire(now_ns);
  if (!addrs6_.empty()) {
    poll_dad(now_ns);  // ends start-up: on time to the nanosecond
    if (mld_due_ != 0) poll_mld(now_ns);
  }
  // Neighbour retries are on a one-second scale: looking every millisecond is plenty.
  if (now_ns < next_arp_poll_) return;
  next_arp_poll_ = now_ns + 1'000'000;
  arp_.poll(
      now_ns, [this](net::Ipv4Addr ip, const net::MacAddr*) { send_arp_request(ip); },
      [this](rte_mbuf* m) { drop(m, base::Counter::drop_arp_unresolved); });
  if (addrs6_.empty()) return;
  nd_.poll(
      now_ns,
      [this, now_ns](const net::Ipv6Addr& ip, const net::MacAddr* known) {
        send_neighbour_solicit(ip, known, now_ns);
      },
      [this](rte_mbuf* m) { drop(m, base::Counter::drop_nd_unresolved); });
}

void Engine::input_one(rte_mbuf* m, uint64_t now) {
  counters_.inc(base::Counter::rx_packets);
  counters_.inc(base::Counter::rx_bytes, rte_pktmbuf_pkt_len(m));
  // Parsers work on contiguous bytes. A chained frame whose Ethernet, IPv4 and TCP headers
  // are all in its first buffer (a zero-copy sender's segment: header buffer + payload
  // buffers) is taken as it is, its payload never copied; any other chain (ARP, ICMP, a
  // header split across buffers) is made contiguous if it fits.
  if (m->nb_segs > 1 && !tcp_headers_in_first_segment(m) && rte_pktmbuf_linearize(m) != 0)
    return drop(m, base::Counter::drop_unlinearizable);

  auto eth = net::EthernetView::parse({rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_data_len(m)});
  if (!eth) return drop(m, base::Counter::drop_short_frame);
  const net::MacAddr dst = eth->dst();
  if (!dst.is_multicast() && dst != config_.iface.mac) return drop(m, base::Counter::drop_not_our_mac);

  switch (eth->ether_type()) {
    case static_cast<uint16_t>(net::EtherType::ipv4):
      return ipv4_input(m, now);
    case static_cast<uint16_t>(net::EtherType::arp):
      return arp_input(m, now);
    case static_cast<uint16_t>(net::EtherType::vlan):
      return drop(m, base::Counter::drop_vlan_tagged);
    case static_cast<uint16_t>(net::EtherType::ipv6):
      return ipv6_input(m, now);
    default:
      return drop(m, base::Counter::drop_bad_ether_type);
  }
}

bool Engine::tcp_headers_in_first_segment(const rte_mbuf* m) {
  const uint32_t first = rte_pktmbuf_data_len(m);
  const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
  constexpr uint32_t kIp = net::kEthernetHeaderLen;
  // IPv6 with TCP right after the fixed header (RFC 8200 3), as every TSO or zero-copy
  // frame pollux or Linux sends; a chain with extension headers is made contiguous.
  if (first >= kIp + net::kIpv6HeaderLen + net::kTcpMinHeaderLen &&
      net::load_be16(p + 12) == static_cast<uint16_t>(net::EtherType::ipv6)) {
    constexpr uint32_t tcp = kIp + net::kIpv6HeaderLen;
    return p[kIp + 6] == net::kIpProtoTcp && first >= tcp + (p[tcp + 12] >> 4) * 4u;
  }
  if (first < kIp + net::kIpv4MinHeaderLen ||
      net::load_be16(p + 12) != static_cast<uint16_t>(net::EtherType::ipv4) ||
      p[kIp + 9] != net::kIpProtoTcp)
    return false;
  const uint32_t tcp = kIp + (p[kIp] & 0x0fu) * 4u;
  return first >= tcp + net::kTcpMinHeaderLen && first >= tcp + (p[tcp + 12] >> 4) * 4u;
}

void Engine::ipv4_input(rte_mbuf* m, uint64_t now) {
  const RxChecksum hw = rx_ip_checksum(m, config_.iface.offloads);
  if (hw == RxChecksum::bad) return drop(m, base::Counter::drop_ip_bad_checksum);

  net::Ipv4Header ip;
  net::Bytes packet{rte_pktmbuf_mtod_offset(m, const uint8_t*, net::kEthernetHeaderLen),
                    rte_pktmbuf_data_len(m) - net::kEthernetHeaderLen};
  // A chain (input_one let only TCP through unflattened) is checked against its whole length.
  switch (net::parse_ipv4(packet, ip, hw != RxChecksum::good,
                          rte_pktmbuf_pkt_len(m) - net::kEthernetHeaderLen)) {
    case net::Ipv4Error::ok: break;
    case net::Ipv4Error::truncated: return drop(m, base::Counter::drop_ip_truncated);
    case net::Ipv4Error::bad_version: return drop(m, base::Counter::drop_ip_bad_version);
    case net::Ipv4Error::bad_header_length: return drop(m, base::Counter::drop_ip_bad_header_length);
    case net::Ipv4Error::bad_total_length: return drop(m, base::Counter::drop_ip_bad_total_length);
    case net::Ipv4Error::bad_checksum: return drop(m, base::Counter::drop_ip_bad_checksum);
  }
  // A martian source (InterfaceConfig::is_bad_source) is dropped. LAND: a SYN whose source
  // is its destination (or any of our addresses) would make us answer ourselves; nothing of
  // ours ever arrives from the wire (RFC 1122 3.2.1.3 lets a host discard datagrams whose
  // source it cannot be talking to; Linux counts these as martians too). Counted apart
  // from the martians because spoofed floods use them. Both in one look (ipv4_addrs.hpp).
  switch (addrs4_.classify_source(ip.src)) {
    case LocalAddrs4::Source::peer: break;
    case LocalAddrs4::Source::martian: return drop(m, base::Counter::drop_ip_bad_source);
    case LocalAddrs4::Source::ours: return drop(m, base::Counter::drop_ip_land);
  }
  // Only unicast to one of our addresses is accepted: broadcast pings are ignored as Linux
  // does by default (icmp_echo_ignore_broadcasts), and TCP never uses broadcast.
  if (!addrs4_.owns(ip.dst)) return drop(m, base::Counter::drop_ip_not_for_us);
  // TTL is deliberately not checked: RFC 1122 3.2.1.7 says a host MUST NOT discard a
  // datagram just because it arrived with TTL < 2.

  // Cut Ethernet padding so that the mbuf ends where the datagram ends.
  const uint32_t frame_len = static_cast<uint32_t>(net::kEthernetHeaderLen + ip.total_len);
  if (rte_pktmbuf_pkt_len(m) > frame_len)
    tcp::mbuf_trim_back(m, rte_pktmbuf_pkt_len(m) - frame_len);

  // RFC 1122 3.3.2: a host MUST reassemble. pollux itself sends with DF and advertises an
  // MSS that fits, but peers behind tunnels, and every ping larger than the MTU, fragment.
  if (ip.is_fragment()) return fragment_input(m, ip, now);
  deliver_ipv4(m, ip, now);
}

void Engine::fragment_input(rte_mbuf* m, const net::Ipv4Header& fragment, uint64_t now) {
  if (!reasm_.enabled()) return drop(m, base::Counter::drop_ip_fragment);
  m = reasm_.add(m, fragment, now);
  if (m == nullptr) return;  // held, or dropped and counted
  // The whole datagram, a chain headed by the first fragment (header rewritten, checksum
  // filled): parsed again so that `ip` describes all of it.
  net::Ipv4Header ip;
  const net::Bytes packet{rte_pktmbuf_mtod_offset(m, const uint8_t*, net::kEthernetHeaderLen),
                          rte_pktmbuf_data_len(m) - net::kEthernetHeaderLen};
  if (net::parse_ipv4(packet, ip, false, rte_pktmbuf_pkt_len(m) - net::kEthernetHeaderLen) !=
      net::Ipv4Error::ok)
    return drop(m, base::Counter::drop_ip_bad_total_length);  // cannot happen: it was built so
  if (ip.protocol == net::kIpProtoTcp) {
    // TCP takes a chain whose headers are all in its first buffer (a first fragment of 8
    // bytes would not have them: made contiguous if it fits, as input_one does).
    if (!tcp_headers_in_first_segment(m)) {
      if (rte_pktmbuf_linearize(m) != 0) return drop(m, base::Counter::drop_unlinearizable);
      return ipv4_input(m, now);  // parsed afresh from the flat copy
    }
    // The segment's connection may live on another lcore: fragments are not hashed by port
    // (a NIC's RSS falls back to the addresses alone, software steering leaves them where
    // they landed), so the whole segment goes to its owner now, over the steering mesh. A
    // fragmented TCP segment is an anomaly (every stack sends TCP with DF), but a peer
    // behind a tunnel may, and its connection must not stall on it. Without a mesh (a
    // sharded engine in a test) it is counted and dropped; the sender retransmits.
    if (config_.shards != nullptr && config_.shards->shards() > 1 && ip.payload.size() >= 4) {
      const net::FourTuple t{ip.dst, ip.src, net::load_be16(ip.payload.data() + 2),
                             net::load_be16(ip.payload.data())};
      if (const uint16_t owner = config_.shards->shard_of(t); owner != config_.lcore_index) {
        if (steerer_ == nullptr) return drop(m, base::Counter::drop_ip_reasm_wrong_lcore);
        counters_.inc(base::Counter::ip_reasm_passed_to_owner);
        return steerer_->pass(m, owner);
      }
    }
  }
  deliver_ipv4(m, ip, now);
}

void Engine::deliver_ipv4(rte_mbuf* m, const net::Ipv4Header& ip, uint64_t now) {
  switch (ip.protocol) {
    case net::kIpProtoTcp:
      return tcp_input(base::UniqueMbuf{m}, ip, now);  // its one owner from here
    case net::kIpProtoIcmp:
      return icmp_input(m, ip, now);
    default:
      return drop(m, base::Counter::drop_ip_unknown_protocol);
  }
}

}  // namespace pollux::engine
