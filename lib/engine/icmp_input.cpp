// ICMP receive (RFC 792, RFC 1122 3.2.2): echo is answered, fragmentation-needed is counted
// for PMTUD, everything else is counted and dropped. Its IPv6 peer for PMTUD, the ICMPv6
// Packet Too Big (RFC 8201), is here too (the rest of ICMPv6 is in ipv6_input.cpp).
#include <algorithm>
#include <cstring>

#include "engine/checksum_offload.hpp"
#include "engine/engine.hpp"
#include "net/checksum.hpp"
#include "net/icmp.hpp"
#include "net/icmpv6.hpp"
#include "net/ipv6.hpp"

namespace pollux::engine {
namespace {

// Where an ICMP error about connection `t` (our address and port first) is handled. It comes
// from a router, so a NIC's RSS hashes it by the router's address and ours, not by the
// quoted connection's ports, and it may land on an lcore that does not own the connection:
// then it is passed to the owner over the steering mesh (counted as `passed`, and counted
// as received there), or, without a mesh (a sharded engine on its own), cannot be acted on.
enum class Owner : uint8_t { here, passed, elsewhere };
Owner to_owner(const EngineConfig& config, Steerer* steerer, base::Counters& counters, rte_mbuf* m,
               const net::FourTuple& t, base::Counter passed) {
  if (config.shards == nullptr || config.shards->shards() <= 1) return Owner::here;
  const uint16_t owner = config.shards->shard_of(t);
  if (owner == config.lcore_index) return Owner::here;
  if (steerer == nullptr) return Owner::elsewhere;
  counters.inc(passed);
  steerer->pass(m, owner);
  return Owner::passed;
}

}  // namespace

void Engine::icmp_input(rte_mbuf* m, const net::Ipv4Header& ip, uint64_t now) {
  net::IcmpMessage msg;
  // A reassembled datagram is a chain: its checksum is summed over every buffer, and the
  // header (8 bytes, always within the first fragment's payload) parsed from the first.
  const auto icmp_len = static_cast<uint32_t>(ip.total_len - ip.header_len);
  const bool chained = icmp_len > ip.payload.size();
  if (chained &&
      net::checksum_fold(mbuf_checksum_accumulate(
          m, static_cast<uint32_t>(net::kEthernetHeaderLen + ip.header_len), icmp_len)) != 0xffff)
    return drop(m, base::Counter::drop_icmp_bad_checksum);
  switch (net::parse_icmp(ip.payload, msg, !chained)) {
    case net::IcmpError::ok: break;
    case net::IcmpError::truncated: return drop(m, base::Counter::drop_icmp_malformed);
    case net::IcmpError::bad_checksum: return drop(m, base::Counter::drop_icmp_bad_checksum);
  }
  if (msg.type == static_cast<uint8_t>(net::IcmpType::dest_unreachable) &&
      msg.code == net::kIcmpCodeFragNeeded) {
    // The quoted datagram: its header and at least 8 bytes of TCP (RFC 792), which a
    // segment of ours is only if TCP from one of our addresses. The TCP layer checks it
    // against the connection before lowering the path MTU (RFC 5927). A quote is usually
    // truncated (total length beyond what is quoted), so its fields are read directly.
    const net::Bytes q = msg.body;
    const size_t ihl = q.empty() ? 0 : static_cast<size_t>(q[0] & 0x0f) * 4;
    const bool ours = q.size() >= net::kIpv4MinHeaderLen && (q[0] >> 4) == 4 &&
                      ihl >= net::kIpv4MinHeaderLen && q.size() >= ihl + 8 &&
                      q[9] == net::kIpProtoTcp &&
                      config_.iface.owns(net::Ipv4Addr{net::load_be32(q.data() + 12)});
    net::Ipv4Header quoted;  // as we sent it: src is ours, dst the peer
    net::Bytes tcp;
    if (ours) {
      quoted.protocol = q[9];
      quoted.src = net::Ipv4Addr{net::load_be32(q.data() + 12)};
      quoted.dst = net::Ipv4Addr{net::load_be32(q.data() + 16)};
      tcp = q.subspan(ihl);
    }
    // Software steering moves it at receive by the quoted tuple (rx_steer_tuple), but not a
    // reassembled one, and a NIC's RSS does not: to_owner() passes it on, as IPv6's.
    Owner where = Owner::here;
    if (ours)
      where = to_owner(config_, steerer_, counters_, m,
                       net::FourTuple{quoted.src, quoted.dst, net::load_be16(tcp.data()),
                                      net::load_be16(tcp.data() + 2)},
                       base::Counter::icmp_frag_needed_passed_to_owner);
    if (where == Owner::passed) return;
    counters_.inc(base::Counter::icmp_frag_needed_received);
    if (!ours) return drop(m, base::Counter::drop_icmp_bad_quote);
    if (where == Owner::elsewhere) return drop(m, base::Counter::drop_icmp_frag_needed_wrong_lcore);
    tcp_.icmp_frag_needed(quoted, tcp, net::icmp_next_hop_mtu(msg), now);
    drain_tcp(now);
    rte_pktmbuf_free(m);
    return;
  }
  if (msg.type != static_cast<uint8_t>(net::IcmpType::echo_request)) {
    counters_.inc(base::Counter::icmp_other_received);
    rte_pktmbuf_free(m);
    return;
  }
  counters_.inc(base::Counter::icmp_echo_requests);
  if (!icmp_echo_budget_.take(now)) return drop(m, base::Counter::drop_icmp_rate_limited);

  // RFC 1122 3.2.2.6: the reply carries the request's data unchanged, from the address the
  // request was sent to. Built in place; IP options of the request are not echoed (allowed:
  // only record-route/timestamp would be, and pollux does not implement them).
  const uint8_t ihl = ip.header_len;
  const net::Ipv4Addr reply_src = ip.dst, reply_dst = ip.src;
  const uint8_t tos = ip.tos;
  if (ihl > net::kIpv4MinHeaderLen) {
    // Slide the Ethernet header and the fixed IP header up over the options.
    uint8_t* base = rte_pktmbuf_mtod(m, uint8_t*);
    const size_t opt = ihl - net::kIpv4MinHeaderLen;
    std::memmove(base + opt, base, net::kEthernetHeaderLen + net::kIpv4MinHeaderLen);
    rte_pktmbuf_adj(m, static_cast<uint16_t>(opt));
  }
  uint8_t* ip_hdr = rte_pktmbuf_mtod_offset(m, uint8_t*, net::kEthernetHeaderLen);
  uint8_t* icmp = ip_hdr + net::kIpv4MinHeaderLen;
  // Type 8 -> 0 changes one 16-bit word (type, code): RFC 1624 incremental update.
  const uint16_t old_word = net::load_be16(icmp);
  icmp[0] = static_cast<uint8_t>(net::IcmpType::echo_reply);
  net::store_be16(icmp + 2,
                  net::checksum_update16(net::load_be16(icmp + 2), old_word, net::load_be16(icmp)));
  net::Ipv4Build b;
  b.src = reply_src;
  b.dst = reply_dst;
  b.protocol = net::kIpProtoIcmp;
  b.payload_len = static_cast<uint16_t>(icmp_len);
  b.id = ip_id_++;
  b.tos = tos;
  b.dont_fragment = false;  // an echo reply is as large as the request was: let it fragment
  b.fill_checksum = false;  // ip_output prepares it (software or offload)
  net::write_ipv4_header(ip_hdr, b);
  m->ol_flags = 0;
  counters_.inc(base::Counter::icmp_echo_replies_sent);
  ip_output(m, now);
}

void Engine::packet_too_big_input(rte_mbuf* m, const net::Icmpv6Message& msg, uint64_t now) {
  // RFC 4443 3.2: the message carries "as much of invoking packet as possible without the
  // ICMPv6 packet exceeding the minimum IPv6 MTU". Our segments carry no extension headers
  // (tcp/ip_header.hpp), so a quote of one of ours is a 40-byte IPv6 header with next
  // header TCP, then the TCP header: its first 8 bytes (ports, sequence number) are all the
  // RFC 5927 checks need. No extension header is walked: a quote with one is not ours.
  const net::Bytes q = msg.invoking;
  net::Ipv6Addr src, dst;  // as we sent it: src is ours, dst the peer
  bool ours = q.size() >= net::kIpv6HeaderLen + 8 && (q[0] >> 4) == 6 && q[6] == net::kIpProtoTcp;
  if (ours) {
    std::memcpy(src.bytes.data(), q.data() + 8, 16);
    std::memcpy(dst.bytes.data(), q.data() + 24, 16);
    ours = addrs6_.owns(src);
  }
  const net::Bytes tcp = ours ? q.subspan(net::kIpv6HeaderLen) : net::Bytes{};
  // Software steering leaves ICMPv6 where it arrives (steering.hpp): to_owner() passes it on.
  Owner where = Owner::here;
  if (ours)
    where = to_owner(
        config_, steerer_, counters_, m,
        net::FourTuple{src, dst, net::load_be16(tcp.data()), net::load_be16(tcp.data() + 2)},
        base::Counter::icmpv6_too_big_passed_to_owner);
  if (where == Owner::passed) return;
  counters_.inc(base::Counter::icmpv6_packet_too_big_received);
  if (!ours) return drop(m, base::Counter::drop_icmpv6_bad_quote);
  if (where == Owner::elsewhere) return drop(m, base::Counter::drop_ipv6_tcp_wrong_lcore);
  tcp_.icmp_packet_too_big(src, dst, tcp, msg.mtu, now);
  drain_tcp(now);
  rte_pktmbuf_free(m);
}

void Engine::send_time_exceeded(const rte_mbuf* first, uint64_t now) {
  // RFC 1122 3.3.2: a datagram whose reassembly timed out is discarded "and an ICMP Time
  // Exceeded message sent to the source host (if fragment zero has been received)" -- code 1,
  // fragment reassembly time exceeded (RFC 792). Its source was already checked to be a
  // single unicast host (ipv4_input drops martians and our own addresses) and its
  // destination is ours; 3.2.2 still forbids an error about a link-layer broadcast or
  // multicast frame and about an ICMP error message. The quote is the first fragment's IP
  // header and its first 8 data octets, the minimum 3.2.2 asks for.
  const auto* eth = rte_pktmbuf_mtod(first, const uint8_t*);
  if (eth[0] & 0x01) return;  // group bit of the destination MAC
  const uint8_t* ip = eth + net::kEthernetHeaderLen;
  const uint32_t ihl = (ip[0] & 0x0fu) * 4u;
  const uint32_t have = rte_pktmbuf_data_len(first) - net::kEthernetHeaderLen;
  const uint32_t quote = std::min<uint32_t>(have, ihl + 8);
  if (ip[9] == net::kIpProtoIcmp && quote > ihl) {
    if (!net::is_icmp_query(ip[ihl])) return;  // never an error about an error
  }
  if (!icmp_error_budget_.take(now)) {
    counters_.inc(base::Counter::icmp_errors_rate_limited);
    return;
  }
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (m == nullptr) {
    counters_.inc(base::Counter::drop_no_mbuf);
    return;
  }
  const uint32_t icmp_len = static_cast<uint32_t>(net::kIcmpHeaderLen) + quote;
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(
      m, static_cast<uint16_t>(net::kEthernetHeaderLen + net::kIpv4MinHeaderLen + icmp_len)));
  if (p == nullptr) return drop(m, base::Counter::drop_no_mbuf);
  // The Ethernet addresses are ip_output's (it resolves the next hop).
  std::memset(p, 0, net::kEthernetHeaderLen);
  net::store_be16(p + 12, static_cast<uint16_t>(net::EtherType::ipv4));
  uint8_t* out_ip = p + net::kEthernetHeaderLen;
  uint8_t* icmp = out_ip + net::kIpv4MinHeaderLen;
  std::memcpy(icmp + net::kIcmpHeaderLen, ip, quote);
  net::write_icmp_header(icmp, static_cast<uint8_t>(net::IcmpType::time_exceeded),
                         net::kIcmpCodeReassemblyTimeExceeded, 0, quote);
  net::Ipv4Build b;
  b.src = net::Ipv4Addr{net::load_be32(ip + 16)};
  b.dst = net::Ipv4Addr{net::load_be32(ip + 12)};
  b.protocol = net::kIpProtoIcmp;
  b.payload_len = static_cast<uint16_t>(icmp_len);
  b.id = ip_id_++;
  b.fill_checksum = false;  // ip_output prepares it (software or offload)
  net::write_ipv4_header(out_ip, b);
  counters_.inc(base::Counter::icmp_time_exceeded_sent);
  ip_output(m, now);
}

}  // namespace pollux::engine
