// Every received TCP segment enters here: it is parsed and validated (header, checksum in
// software or from the NIC, ports, options; each failure a named drop) and handed to the TCP
// layer (lib/tcp/segment_arrives.cpp), over IPv4 and IPv6 alike: the family only decides the
// checksum's pseudo-header and the key's addresses. A segment no connection or listener
// wants gets the CLOSED state's answer, RFC 9293 3.10.7.1.
//
// From here on the segment has one owner, a base::UniqueMbuf moved down the input path
// (issue 11 item 4): a drop is a return, and the handle frees the mbuf exactly once.
#include "engine/checksum_offload.hpp"
#include "engine/engine.hpp"
#include "net/checksum.hpp"
#include "net/ipv6.hpp"
#include "net/tcp_options.hpp"
#include "tcp/reset.hpp"

namespace pollux::engine {
namespace {

// The TCP checksum in software (RFC 1071) over a segment of `l4_len` bytes at offset `l4_at`
// of the frame, `l4` its bytes in the first buffer, `pseudo_sum` its family's pseudo-header
// (RFC 9293 3.1, RFC 8200 8.1). A contiguous segment is summed from `l4`; a chain (an LRO
// frame, a zero-copy sender's segment) buffer by buffer. The sum of a correct segment with
// its pseudo-header is 0xffff.
bool l4_checksum_ok(const rte_mbuf* m, net::Bytes l4, uint32_t l4_at, uint32_t l4_len,
                    uint32_t pseudo_sum) {
  if (l4_len == l4.size()) return net::internet_checksum(l4, pseudo_sum) == 0;
  return net::checksum_fold(mbuf_checksum_accumulate(m, l4_at, l4_len, pseudo_sum)) == 0xffff;
}

}  // namespace

void Engine::tcp_input(base::UniqueMbuf m, const net::Ipv4Header& ip, uint64_t now) {
  const uint32_t l4_len = static_cast<uint32_t>(ip.total_len - ip.header_len);
  const RxChecksum hw = rx_l4_checksum(m.get(), config_.iface.offloads);
  const bool sum_ok =
      hw == RxChecksum::good ||
      (hw == RxChecksum::unknown &&
       l4_checksum_ok(m.get(), ip.payload,
                      static_cast<uint32_t>(net::kEthernetHeaderLen + ip.header_len), l4_len,
                      net::ipv4_pseudo_header_sum(ip.src, ip.dst, net::kIpProtoTcp,
                                                  static_cast<uint16_t>(l4_len))));
  // The key straight from the header's address words (ours first): no IPv4-mapped tuple.
  tcp_segment(std::move(m), base::FlowProbe::ipv4(ip.dst.value, ip.src.value), ip.payload, l4_len,
              sum_ok, now);
}

void Engine::tcp6_input(base::UniqueMbuf m, const net::Ipv6Header& ip, uint64_t now) {
  // TCP is unicast (RFC 9293 3.1 names a single remote socket); a segment to a group is
  // nobody's connection, and answering it with RSTs would multiply one frame.
  if (ip.dst.is_multicast()) return drop(std::move(m), base::Counter::drop_ipv6_not_for_us);
  // The checksum is over the upper layer with the RFC 8200 8.1 pseudo-header (the
  // upper-layer length: what follows the extension headers). A chain (an LRO frame, a
  // zero-copy sender's segment: input_one took it unflattened, TCP right after the fixed
  // header) has only its headers in `upper`; its length is the payload length's.
  const auto upper_at =
      static_cast<uint32_t>(ip.upper.data() - rte_pktmbuf_mtod(m.get(), const uint8_t*));
  const uint32_t l4_len =
      static_cast<uint32_t>(net::kEthernetHeaderLen + net::kIpv6HeaderLen + ip.payload_len) -
      upper_at;
  const RxChecksum hw = rx_l4_checksum(m.get(), config_.iface.offloads);
  const bool sum_ok =
      hw == RxChecksum::good ||
      (hw == RxChecksum::unknown &&
       l4_checksum_ok(m.get(), ip.upper, upper_at, l4_len,
                      net::ipv6_pseudo_header_sum(ip.src, ip.dst, net::kIpProtoTcp, l4_len)));
  if (ip.upper.size() >= 4 && config_.shards != nullptr && config_.shards->shards() > 1) {
    // Software steering (steering.hpp) moves IPv6/TCP frames to their owner at receive; one
    // it left where it arrived (a longer extension-header chain than it walks) and that
    // another lcore owns is passed to it here.
    const net::FourTuple t{ip.dst, ip.src, net::load_be16(ip.upper.data() + 2),
                           net::load_be16(ip.upper.data())};
    if (const uint16_t owner = config_.shards->shard_of(t); owner != config_.lcore_index) {
      if (steerer_ == nullptr) return drop(std::move(m), base::Counter::drop_ipv6_tcp_wrong_lcore);
      counters_.inc(base::Counter::ipv6_tcp_passed_to_owner);
      return steerer_->pass(m.release(), owner);
    }
  }
  // The key points at the addresses in `ip`, which outlives the segment's input.
  tcp_segment(std::move(m), base::FlowProbe::ipv6(ip.dst.bytes, ip.src.bytes), ip.upper, l4_len,
              sum_ok, now);
}

// `key` carries the addresses (ours first; the ports come from the header); `l4` the bytes of
// the segment in the first buffer, `l4_len` its whole length (more when chained).
void Engine::tcp_segment(base::UniqueMbuf m, base::FlowProbe key, net::Bytes l4, uint32_t l4_len,
                         bool checksum_ok, uint64_t now) {
  net::TcpHeader seg;
  if (net::parse_tcp(l4, seg) != net::TcpHeaderError::ok)
    return drop(std::move(m), base::Counter::drop_tcp_malformed);
  // A chained frame (engine.cpp lets them through when the headers are in the first
  // buffer): the payload that follows in other buffers.
  if (l4_len > l4.size()) seg.chained_payload_len = l4_len - seg.header_len;
  if (!checksum_ok) return drop(std::move(m), base::Counter::drop_tcp_bad_checksum);
  if (seg.src_port == 0 || seg.dst_port == 0)
    return drop(std::move(m), base::Counter::drop_tcp_bad_ports);
  // SYN with FIN or with RST: no TCP sends either (a SYN opens, FIN and RST end what the SYN
  // has not yet opened), but RFC 9293 3.10.7 would act on them -- LISTEN would answer SYN+FIN
  // with a SYN-ACK, a synchronized state would take SYN+RST as a RST -- which is what scans
  // (OS fingerprinting) and firewall evasion rely on. Dropped in every state, as FreeBSD's
  // net.inet.tcp.drop_synfin does.
  if (seg.has(net::tcp_flags::syn) &&
      (seg.has(net::tcp_flags::fin) || seg.has(net::tcp_flags::rst)))
    return drop(std::move(m), base::Counter::drop_tcp_bad_flags);
  net::TcpOptions opts;
  if (net::parse_tcp_options(seg.options, opts) != net::TcpOptError::ok)
    return drop(std::move(m), base::Counter::drop_tcp_bad_options);

  key.set_ports(seg.dst_port, seg.src_port);
  m = tcp_.input(std::move(m), key, seg, opts, now);
  if (!m) return;  // taken
  // No connection and no listener: the CLOSED state.
  if (seg.has(net::tcp_flags::rst))
    return drop(std::move(m), base::Counter::drop_tcp_rst_to_closed);
  tcp_reply_rst(std::move(m), key.tuple(), seg, now);
}

void Engine::tcp_reply_rst(base::UniqueMbuf m, const net::FourTuple& key, const net::TcpHeader& seg,
                           uint64_t now) {
  // Rate-limited (TcpConfig::closed_rst_rate): a flood of segments to closed ports --
  // spoofed, so the RSTs would go to victims -- draws a bounded rate of answers, as BSD's
  // icmplim bounds its closed-port RSTs. The peer's retransmission asks again.
  if (!closed_rst_budget_.take(now))
    return drop(std::move(m), base::Counter::drop_tcp_rst_rate_limited);
  // RFC 9293 3.10.7.1: a reset the sender accepts (tcp/reset.hpp). It reuses the offending
  // segment's mbuf: a RST is never larger than what provoked it.
  const tcp::Reset r = tcp::reset_answering(key, seg);
  // A chained segment's payload buffers are not needed; a buffer whose bytes belong to
  // someone else too is swapped for one of our own.
  if (!m.make_writable(pool_)) return counters_.inc(base::Counter::drop_no_mbuf);
  rte_pktmbuf_reset(m.get());
  if (!tcp::write_reset(m.get(), r, ip_id_++))
    return drop(std::move(m), base::Counter::drop_no_mbuf);
  counters_.inc(base::Counter::tcp_rst_sent);
  tcp_output(m.release(), now);
}

void Engine::tcp_output(rte_mbuf* m, uint64_t now) {
  const uint8_t version =
      rte_pktmbuf_mtod_offset(m, const uint8_t*, net::kEthernetHeaderLen)[0] >> 4;
  // The TCP layer's frames only come here: a fresh or reset buffer, or a TSO piece
  // (tso_cut clears its flags), so the TX family flag says the checksums are done.
  if (version == 4) return ip_output(m, now, tx_checksums_prepared(m));
  // On a port whose device TSO cannot be used (net_tap) a TSO frame is cut here, as IPv4's
  // is in ip_output; each segment comes back through this function.
  if ((m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) && config_.iface.offloads.tx_tso_in_engine)
    return tso_software_cut(m, now);
  // RFC 8200 8.1: TCP's checksum over the IPv6 pseudo-header (software or offload form);
  // the IPv6 header has none. Then the next hop and its neighbour entry.
  if (!tx_checksums_prepared(m)) prepare_tx_checksums(m, config_.iface.offloads);
  ip6_output(m, now);
}

}  // namespace pollux::engine
