// TCP receive at the engine: validation (checksum, header, options) for every segment, then
// the TCP layer; a segment no connection or listener wants gets the CLOSED answer of
// RFC 9293 3.10.7.1.
#include "net/checksum.hpp"
#include "net/tcp_options.hpp"
#include "engine/checksum_offload.hpp"
#include "engine/engine.hpp"

namespace pollux::engine {

void Engine::tcp_input(rte_mbuf* m, const net::Ipv4Header& ip, uint64_t now) {
  net::TcpHeader seg;
  if (net::parse_tcp(ip.payload, seg) != net::TcpError::ok)
    return drop(m, base::Counter::drop_tcp_malformed);
  const RxChecksum hw = rx_l4_checksum(m, config_.iface.offloads);
  if (hw == RxChecksum::bad ||
      (hw == RxChecksum::unknown &&
       net::ipv4_l4_checksum(ip.src, ip.dst, net::kIpProtoTcp, ip.payload) != 0))
    return drop(m, base::Counter::drop_tcp_bad_checksum);
  if (seg.src_port == 0 || seg.dst_port == 0) return drop(m, base::Counter::drop_tcp_bad_ports);
  net::TcpOptions opts;
  if (net::parse_tcp_options(seg.options, opts) != net::TcpOptError::ok)
    return drop(m, base::Counter::drop_tcp_bad_options);

  if (tcp_.input(m, ip, seg, opts, now)) return;
  // No connection and no listener: the CLOSED state.
  if (seg.has(net::tcp_flags::rst)) return drop(m, base::Counter::drop_tcp_rst_to_closed);
  tcp_reply_rst(m, ip, seg, now);
}

void Engine::tcp_reply_rst(rte_mbuf* m, const net::Ipv4Header& ip, const net::TcpHeader& seg,
                           uint64_t now) {
  // RFC 9293 3.10.7.1: make the reset acceptable to the sender. If the offending segment
  // had ACK, <SEQ=SEG.ACK><CTL=RST>; otherwise <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
  net::TcpBuild t;
  t.src_port = seg.dst_port;
  t.dst_port = seg.src_port;
  if (seg.has(net::tcp_flags::ack)) {
    t.seq = seg.ack;
    t.flags = net::tcp_flags::rst;
  } else {
    t.seq = net::Seq(0);
    t.ack = seg.seq + seg.seg_len();
    t.flags = net::tcp_flags::rst | net::tcp_flags::ack;
  }
  net::Ipv4Build b;
  b.src = ip.dst;
  b.dst = ip.src;
  b.protocol = net::kIpProtoTcp;
  b.payload_len = net::kTcpMinHeaderLen;
  b.id = ip_id_++;
  b.fill_checksum = false;

  // Reuse the offending segment's mbuf: a RST is never larger than what provoked it.
  rte_pktmbuf_reset(m);
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(
      m, static_cast<uint16_t>(net::kEthernetHeaderLen + net::kIpv4MinHeaderLen +
                               net::kTcpMinHeaderLen)));
  if (!p) return drop(m, base::Counter::drop_no_mbuf);
  net::write_ipv4_header(p + net::kEthernetHeaderLen, b);
  net::write_tcp_header(p + net::kEthernetHeaderLen + net::kIpv4MinHeaderLen, t);
  counters_.inc(base::Counter::tcp_rst_sent);
  ip_output(m, now);
}

}  // namespace pollux::engine
