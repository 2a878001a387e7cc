// ICMP receive (RFC 792, RFC 1122 3.2.2): echo is answered, fragmentation-needed is counted
// for PMTUD, everything else is counted and dropped.
#include <cstring>

#include "engine/checksum_offload.hpp"
#include "engine/engine.hpp"
#include "net/checksum.hpp"
#include "net/icmp.hpp"

namespace pollux::engine {

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
    // The quoted datagram: its header and at least 8 bytes of TCP (RFC 792). The TCP layer
    // checks it against the connection before lowering the path MTU (RFC 5927).
    counters_.inc(base::Counter::icmp_frag_needed_received);
    net::Ipv4Header quoted;
    if (net::parse_ipv4(msg.body, quoted, false) == net::Ipv4Error::ok ||
        (msg.body.size() >= net::kIpv4MinHeaderLen && (msg.body[0] >> 4) == 4)) {
      // A quote is usually truncated (total length beyond what is quoted): read the header
      // fields directly when the full parse refuses it.
      const size_t ihl = static_cast<size_t>(msg.body[0] & 0x0f) * 4;
      if (ihl >= net::kIpv4MinHeaderLen && msg.body.size() >= ihl + 8) {
        quoted.protocol = msg.body[9];
        quoted.src = net::Ipv4Addr{net::load_be32(msg.body.data() + 12)};
        quoted.dst = net::Ipv4Addr{net::load_be32(msg.body.data() + 16)};
        tcp_.icmp_frag_needed(quoted, msg.body.subspan(ihl), net::icmp_next_hop_mtu(msg), now);
        drain_tcp(now);
      }
    }
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
  net::store_be16(icmp + 2, net::checksum_update16(net::load_be16(icmp + 2), old_word,
                                                   net::load_be16(icmp)));
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

}  // namespace pollux::engine
