#include "fuzz_support.hpp"

#include <rte_eal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../support/frames.hpp"
#include "net/arp.hpp"
#include "net/checksum.hpp"
#include "net/icmp.hpp"
#include "net/icmpv6.hpp"
#include "net/ipv4.hpp"
#include "net/ipv6.hpp"
#include "net/tcp_header.hpp"
#include "net/tcp_options.hpp"

namespace pollux::fuzz {

namespace {
rte_mempool* g_pool = nullptr;
}

void init_eal() {
  static bool done = false;
  if (done) return;
  done = true;
  std::vector<std::string> eal = {"fuzz",        "--no-huge",     "-m", "256", "--no-pci",
                                  "--no-shconf", "--log-level=1", "-l", "0"};
  std::vector<char*> args;
  for (auto& s : eal) args.push_back(s.data());
  if (rte_eal_init(static_cast<int>(args.size()), args.data()) < 0) fail("EAL init failed");
  g_pool = rte_pktmbuf_pool_create("fuzz", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  if (!g_pool) fail("cannot create the mbuf pool");
}

rte_mempool* pool() {
  return g_pool;
}

void fail(const char* what) {
  std::fprintf(stderr, "fuzz invariant: %s\n", what);
  std::fflush(stderr);
  std::abort();
}

tcp::TcpConfig fuzz_tcp_config() {
  tcp::TcpConfig c;
  c.max_connections = 16;
  c.ooo_queues = 4;
  c.isn_key = tcp::SipKey{0x0123456789abcdefull, 0xfedcba9876543210ull};
  return c;
}

// --- The output invariant ----------------------------------------------------------------

namespace {

// The checksum of `l4` with its checksum field (at `field`) taken as zero.
uint16_t l4_checksum_without_field(net::Ipv4Addr src, net::Ipv4Addr dst, uint8_t proto,
                                   net::Bytes l4, size_t field) {
  std::vector<uint8_t> copy(l4.begin(), l4.end());
  copy[field] = copy[field + 1] = 0;
  if (proto == net::kIpProtoTcp) return net::ipv4_l4_checksum(src, dst, proto, copy);
  return net::internet_checksum(copy);
}

// The fragments of one datagram leave together and in order (ip_output fragments it at
// once), so they are put back together here and the ICMP message inside checked as a
// whole: its checksum covers every fragment's bytes. One datagram is open at a time (the
// harness is single-threaded and drains after every step).
struct SentFragments {
  bool open = false;
  uint16_t id = 0;
  uint32_t next = 0;  // the offset the next fragment must start at
  std::vector<uint8_t> payload;
};
SentFragments sent_fragments;

void check_output_fragment(const net::Ipv4Header& ip) {
  SentFragments& f = sent_fragments;
  const uint32_t offset = ip.fragment_offset * 8u;
  if (offset == 0) {
    f.open = true;
    f.id = ip.id;
    f.next = 0;
    f.payload.clear();
  }
  require(f.open && ip.id == f.id && offset == f.next,
          "sent fragments out of order, with a gap, or of two datagrams interleaved");
  f.payload.insert(f.payload.end(), ip.payload.begin(), ip.payload.end());
  f.next += static_cast<uint32_t>(ip.payload.size());
  if (ip.more_fragments) return;
  f.open = false;
  net::IcmpMessage m;
  require(net::parse_icmp(net::Bytes{f.payload.data(), f.payload.size()}, m, true) ==
              net::IcmpError::ok,
          "sent fragmented ICMP message does not parse or has a bad checksum");
}

// An IPv6 packet the engine sent (RFC 8200): it parses, fits the MTU, comes from one of our
// addresses (the unspecified one only for duplicate address detection's solicitations,
// RFC 4862 5.4.2), carries no extension header (pollux sends none: no fragments, RFC 8200
// 5 leaves fragmenting to the source and pollux sizes to the path MTU) and TCP or ICMPv6
// that parse with a correct checksum over the pseudo-header (RFC 8200 8.1).
void check_output_ipv6(net::Bytes packet, uint16_t mtu) {
  net::Ipv6Header ip;
  require(net::parse_ipv6(packet, ip) == net::Ipv6Error::ok, "sent IPv6 packet does not parse");
  require(net::kIpv6HeaderLen + ip.payload_len <= mtu, "sent IPv6 packet larger than the MTU");
  require(net::kIpv6HeaderLen + ip.payload_len == packet.size(),
          "sent IPv6 packet with bytes after its payload");
  require(ip.extension_headers == 0, "sent IPv6 packet with an extension header");
  require(ip.src == kOurIp6 || ip.src == net::Ipv6Addr::link_local_from_mac(kOurMac.bytes) ||
              (ip.src.is_unspecified() && ip.next_header == net::kIpProtoIcmpv6),
          "sent IPv6 packet not from our address");
  require(!ip.dst.is_unspecified(), "sent IPv6 packet to the unspecified address");
  if (ip.next_header == net::kIpProtoTcp) {
    net::TcpHeader t;
    require(net::parse_tcp(ip.upper, t) == net::TcpHeaderError::ok,
            "sent TCP/IPv6 header does not parse");
    net::TcpOptions o;
    require(net::parse_tcp_options(t.options, o) == net::TcpOptError::ok,
            "sent TCP/IPv6 options do not parse");
    require(net::ipv6_l4_checksum(ip.src, ip.dst, net::kIpProtoTcp, ip.upper) == 0,
            "sent TCP/IPv6 segment has a bad checksum");
    require(!ip.dst.is_multicast(), "sent TCP to a multicast group");
    return;
  }
  require(ip.next_header == net::kIpProtoIcmpv6, "sent IPv6 packet is neither TCP nor ICMPv6");
  net::Icmpv6Message m;
  require(net::parse_icmpv6(ip, m, true) == net::Icmpv6Error::ok,
          "sent ICMPv6 message does not parse or has a bad checksum");
}

}  // namespace

void check_output_frame(std::span<const uint8_t> frame, uint16_t mtu) {
  auto eth = net::EthernetView::parse(frame);
  require(eth.has_value(), "sent frame shorter than an Ethernet header");
  if (eth->ether_type() == static_cast<uint16_t>(net::EtherType::arp)) {
    net::ArpPacket a;
    require(net::parse_arp(eth->payload(), a) == net::ArpError::ok, "sent ARP does not parse");
    return;
  }
  if (eth->ether_type() == 0x86dd) {
    check_output_ipv6(eth->payload(), mtu);
    return;
  }
  require(eth->ether_type() == static_cast<uint16_t>(net::EtherType::ipv4),
          "sent frame is neither IPv4, IPv6 nor ARP");
  net::Ipv4Header ip;
  require(net::parse_ipv4(eth->payload(), ip, true) == net::Ipv4Error::ok,
          "sent IPv4 header does not parse or has a bad checksum");
  require(ip.total_len <= mtu, "sent IPv4 datagram larger than the MTU");
  require(ip.src == kOurIp, "sent IPv4 datagram not from our address");
  if (ip.is_fragment()) {
    // Only datagrams without DF are fragmented on output (an echo reply to a reassembled
    // request), never TCP. Every fragment but the last carries a multiple of 8 bytes
    // (RFC 791 3.2), and the message they carry is checked whole once the last arrives.
    require(ip.protocol == net::kIpProtoIcmp, "sent a fragment that is not ICMP");
    require(!ip.more_fragments || ip.payload.size() % 8 == 0,
            "sent a non-last fragment whose length is not a multiple of 8");
    check_output_fragment(ip);
    return;
  }
  if (ip.protocol == net::kIpProtoTcp) {
    net::TcpHeader t;
    require(net::parse_tcp(ip.payload, t) == net::TcpHeaderError::ok,
            "sent TCP header does not parse");
    net::TcpOptions o;
    require(net::parse_tcp_options(t.options, o) == net::TcpOptError::ok,
            "sent TCP options do not parse");
    require(l4_checksum_without_field(ip.src, ip.dst, ip.protocol, ip.payload, 16) == t.checksum,
            "sent TCP segment has a bad checksum");
    return;
  }
  require(ip.protocol == net::kIpProtoIcmp, "sent IPv4 datagram is neither TCP nor ICMP");
  net::IcmpMessage m;
  require(net::parse_icmp(ip.payload, m, true) == net::IcmpError::ok,
          "sent ICMP message does not parse or has a bad checksum");
}

namespace {

void fix_ipv6(uint8_t* ip, size_t room) {
  if (room < net::kIpv6HeaderLen) return;
  ip[0] = static_cast<uint8_t>(0x60 | (ip[0] & 0x0f));
  const size_t len = std::min<size_t>(room - net::kIpv6HeaderLen, 65535);
  net::store_be16(ip + 4, static_cast<uint16_t>(len));
  // To our address unless it is a multicast group already (ND's solicited-node, all-nodes).
  if (ip[24] != 0xff) std::memcpy(ip + 24, kOurIp6.bytes.data(), 16);
  net::Ipv6Header h;
  if (net::parse_ipv6({ip, net::kIpv6HeaderLen + len}, h) != net::Ipv6Error::ok) return;
  uint8_t* l4 = ip + (h.upper.data() - ip);
  if (h.upper_protocol == net::kIpProtoTcp && h.upper.size() >= net::kTcpMinHeaderLen) {
    l4[16] = l4[17] = 0;
    net::store_be16(l4 + 16, net::ipv6_l4_checksum(h.src, h.dst, net::kIpProtoTcp, h.upper));
  } else if (h.upper_protocol == net::kIpProtoIcmpv6 && h.upper.size() >= 4) {
    l4[2] = l4[3] = 0;
    net::store_be16(l4 + 2, net::ipv6_l4_checksum(h.src, h.dst, net::kIpProtoIcmpv6, h.upper));
  }
}

}  // namespace

void fix_frame(std::vector<uint8_t>& f) {
  if (f.size() < net::kEthernetHeaderLen) return;
  if (f[0] != 0x33) kOurMac.store(f.data());  // 33:33:..: an IPv6 multicast group's MAC
  if (net::load_be16(f.data() + 12) == 0x86dd) {
    fix_ipv6(f.data() + net::kEthernetHeaderLen, f.size() - net::kEthernetHeaderLen);
    return;
  }
  if (net::load_be16(f.data() + 12) != static_cast<uint16_t>(net::EtherType::ipv4)) return;
  uint8_t* ip = f.data() + net::kEthernetHeaderLen;
  const size_t ip_room = f.size() - net::kEthernetHeaderLen;
  if (ip_room < net::kIpv4MinHeaderLen) return;
  ip[0] = static_cast<uint8_t>(0x40 | std::clamp<uint8_t>(ip[0] & 0x0f, 5, 15));
  const size_t ihl = (ip[0] & 0x0f) * 4u;
  if (ip_room < ihl) return;
  net::store_be16(ip + 2, static_cast<uint16_t>(std::min<size_t>(ip_room, 65535)));
  net::store_be32(ip + 16, kOurIp.value);
  ip[10] = ip[11] = 0;
  net::store_be16(ip + 10, net::internet_checksum(net::Bytes{ip, ihl}));
  const net::Ipv4Addr src{net::load_be32(ip + 12)};
  uint8_t* l4 = ip + ihl;
  const size_t l4_len = std::min<size_t>(ip_room, 65535) - ihl;
  if (ip[9] == net::kIpProtoTcp && l4_len >= net::kTcpMinHeaderLen) {
    l4[16] = l4[17] = 0;
    net::store_be16(l4 + 16,
                    net::ipv4_l4_checksum(src, kOurIp, net::kIpProtoTcp, net::Bytes{l4, l4_len}));
  } else if (ip[9] == net::kIpProtoIcmp && l4_len >= net::kIcmpHeaderLen) {
    l4[2] = l4[3] = 0;
    net::store_be16(l4 + 2, net::internet_checksum(net::Bytes{l4, l4_len}));
  }
}

// --- The engine ---------------------------------------------------------------------------

namespace {
EngineHarness& harness_of(void* ctx) {
  return *static_cast<EngineHarness*>(ctx);
}
void forget(EngineHarness& h, Conn* c) {
  h.conns.erase(std::remove(h.conns.begin(), h.conns.end(), c), h.conns.end());
}
}  // namespace

const AppEvents EngineHarness::kEvents{
    .accepted = [](void* ctx, Conn* c) { harness_of(ctx).conns.push_back(c); },
    .connected = [](void* ctx, Conn* c) { harness_of(ctx).conns.push_back(c); },
    .readable =
        [](void* ctx, Conn* c) {
          EngineHarness& h = harness_of(ctx);
          if (!h.auto_read) return;
          uint8_t buf[2048];
          while (h.engine().tcp().read(c, buf, sizeof buf) > 0) {
          }
        },
    .writable = nullptr,
    .peer_closed = nullptr,
    .closed = [](void* ctx, Conn* c, CloseReason) { forget(harness_of(ctx), c); },
};

EngineHarness::EngineHarness(const tcp::TcpConfig& config) : now_(kSecond) {
  engine::EngineConfig ec;
  ec.iface.mac = kOurMac;
  ec.iface.addrs = {net::Ipv4Prefix{kOurIp, 24}};
  ec.iface.addrs6 = {net::Ipv6Prefix{kOurIp6, 64}};
  ec.iface.mtu = kMtu;
  ec.tcp = config;
  engine_ = std::make_unique<engine::Engine>(ec, pool(), now_);
  engine_->neighbour_update(engine::NeighbourUpdate{kPeerIp, kPeerMac}, now_);
  engine::NeighbourUpdate v6{};
  v6.mac = kPeerMac;
  v6.is_ipv6 = 1;
  v6.confirmed = 1;
  v6.ip6 = kPeerIp6;
  engine_->neighbour_update(v6, now_);
  require(engine_->tcp().listen(kOurPort, &kEvents, this, 8) == TcpError::ok, "listen failed");
}

EngineHarness::~EngineHarness() {
  engine_.reset();
}

bool EngineHarness::inject(std::span<const uint8_t> frame) {
  rte_mbuf* m = testing::to_mbuf(pool(), testing::Frame(frame.begin(), frame.end()));
  if (!m) return false;
  engine_->input(&m, 1, now_);
  drain();
  return true;
}

void EngineHarness::advance(uint64_t ns, uint64_t step) {
  const uint64_t end = now_ + ns;
  while (now_ < end) {
    now_ = std::min(now_ + step, end);
    engine_->poll(now_);
    drain();
  }
}

void EngineHarness::drain() {
  base::TxBatch& tx = engine_->tx();
  for (uint16_t i = 0; i < tx.size(); ++i) {
    const rte_mbuf* m = tx.data()[i];
    scratch_.clear();
    for (; m; m = m->next) {
      auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
      scratch_.insert(scratch_.end(), p, p + rte_pktmbuf_data_len(m));
    }
    require(scratch_.size() == rte_pktmbuf_pkt_len(tx.data()[i]), "mbuf chain length != pkt_len");
    check_output_frame(scratch_);
    if (on_output) on_output(on_output_ctx, scratch_);
  }
  tx.free_all();
}

void EngineHarness::finish() {
  // Whatever the application still holds is aborted (an application that never closes
  // holds its connection for ever, by design); then nothing may stay held by time alone.
  // (The closed event comes with the next flush, so the list is copied first.)
  const std::vector<Conn*> held = conns;
  for (Conn* c : held) engine_->tcp().abort(c);
  engine_->poll(now_);
  drain();
  // Steps longer than the timer wheel's revolution (4.096 s) let it skip empty stretches
  // instead of visiting every 1 ms tick (timers fire up to a step late, which is fine here).
  advance(10 * 60 * kSecond, 5 * kSecond);
  engine_->tcp().unlisten(kOurPort);
  require(engine_->tcp().connections() == 0, "a connection outlived 10 minutes after abort");
  require(rte_mempool_in_use_count(pool()) == 0, "mbufs still held 10 minutes after the end");
}

}  // namespace pollux::fuzz
