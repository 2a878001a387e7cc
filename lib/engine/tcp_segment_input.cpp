// Every received TCP segment enters here: it is parsed and validated (header, checksum in
// software or from the NIC, ports, options; each failure a named drop) and handed to the TCP
// layer (lib/tcp/segment_arrives.cpp). A segment no connection or listener wants gets the
// CLOSED state's answer, RFC 9293 3.10.7.1.
//
// From here on the segment has one owner, a base::UniqueMbuf moved down the input path
// (issue 11 item 4): a drop is a return, and the handle frees the mbuf exactly once.
#include "engine/checksum_offload.hpp"
#include "engine/engine.hpp"
#include "net/checksum.hpp"
#include "net/tcp_options.hpp"
#include "tcp/reset.hpp"

namespace pollux::engine {

void Engine::tcp_input(base::UniqueMbuf m, const net::Ipv4Header& ip, uint64_t now) {
  net::TcpHeader seg;
  if (net::parse_tcp(ip.payload, seg) != net::TcpHeaderError::ok)
    return drop(std::move(m), base::Counter::drop_tcp_malformed);
  // A chained frame (engine.cpp lets them through when the headers are in the first
  // buffer): the payload that follows in other buffers.
  const uint32_t l4_len = static_cast<uint32_t>(ip.total_len - ip.header_len);
  if (l4_len > ip.payload.size()) seg.chained_payload_len = l4_len - seg.header_len;
  const RxChecksum hw = rx_l4_checksum(m.get(), config_.iface.offloads);
  if (hw == RxChecksum::bad || (hw == RxChecksum::unknown && !l4_checksum_ok(m.get(), ip, l4_len)))
    return drop(std::move(m), base::Counter::drop_tcp_bad_checksum);
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

  m = tcp_.input(std::move(m), ip, seg, opts, now);
  if (!m) return;  // taken
  // No connection and no listener: the CLOSED state.
  if (seg.has(net::tcp_flags::rst))
    return drop(std::move(m), base::Counter::drop_tcp_rst_to_closed);
  tcp_reply_rst(std::move(m), ip, seg, now);
}

bool Engine::l4_checksum_ok(const rte_mbuf* m, const net::Ipv4Header& ip, uint32_t l4_len) {
  if (l4_len == ip.payload.size())
    return net::ipv4_l4_checksum(ip.src, ip.dst, net::kIpProtoTcp, ip.payload) == 0;
  // RFC 1071 over the chain: the sum of a correct segment with its pseudo-header is 0xffff.
  const uint32_t sum = mbuf_checksum_accumulate(
      m, static_cast<uint32_t>(net::kEthernetHeaderLen + ip.header_len), l4_len,
      net::ipv4_pseudo_header_sum(ip.src, ip.dst, net::kIpProtoTcp, static_cast<uint16_t>(l4_len)));
  return net::checksum_fold(sum) == 0xffff;
}

void Engine::tcp_reply_rst(base::UniqueMbuf m, const net::Ipv4Header& ip, const net::TcpHeader& seg,
                           uint64_t now) {
  // Rate-limited (TcpConfig::closed_rst_rate): a flood of segments to closed ports --
  // spoofed, so the RSTs would go to victims -- draws a bounded rate of answers, as BSD's
  // icmplim bounds its closed-port RSTs. The peer's retransmission asks again.
  if (!closed_rst_budget_.take(now))
    return drop(std::move(m), base::Counter::drop_tcp_rst_rate_limited);
  // RFC 9293 3.10.7.1: a reset the sender accepts (tcp/reset.hpp). It reuses the offending
  // segment's mbuf: a RST is never larger than what provoked it.
  const tcp::Reset r =
      tcp::reset_answering(net::FourTuple{ip.dst, ip.src, seg.dst_port, seg.src_port}, seg);
  // A chained segment's payload buffers are not needed; a buffer whose bytes belong to
  // someone else too is swapped for one of our own.
  if (!m.make_writable(pool_)) return counters_.inc(base::Counter::drop_no_mbuf);
  rte_pktmbuf_reset(m.get());
  if (!tcp::write_reset(m.get(), r, ip_id_++))
    return drop(std::move(m), base::Counter::drop_no_mbuf);
  counters_.inc(base::Counter::tcp_rst_sent);
  ip_output(m.release(), now);
}

}  // namespace pollux::engine
