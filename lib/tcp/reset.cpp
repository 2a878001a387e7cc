// Resets (reset.hpp): the one RST builder, and the TCP layer's way of sending one.
#include "tcp/reset.hpp"

#include "net/ethernet.hpp"
#include "net/ipv4.hpp"
#include "tcp/ip_header.hpp"
#include "tcp/tcp_layer.hpp"

namespace pollux::tcp {

using base::Counter;

Reset reset_answering(const net::FourTuple& tuple, const net::TcpHeader& seg) {
  Reset r;
  r.tuple = tuple;
  if (seg.has(net::tcp_flags::ack)) {
    r.seq = seg.ack;
  } else {
    r.seq = net::Seq(0);
    r.ack = seg.seq + seg.seg_len();
    r.with_ack = true;
  }
  return r;
}

bool write_reset(rte_mbuf* m, const Reset& r, uint16_t ip_id) {
  const size_t ip_len = ip_header_len(r.tuple);
  const auto len = static_cast<uint16_t>(net::kEthernetHeaderLen + ip_len + net::kTcpMinHeaderLen);
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, len));
  if (!p) return false;
  (void)write_ip_header(p + net::kEthernetHeaderLen, r.tuple, net::kTcpMinHeaderLen, ip_id);
  net::TcpBuild t;
  t.src_port = r.tuple.local_port;
  t.dst_port = r.tuple.remote_port;
  t.seq = r.seq;
  if (r.with_ack) t.ack = r.ack;
  t.flags = r.with_ack ? net::tcp_flags::rst | net::tcp_flags::ack : net::tcp_flags::rst;
  net::write_tcp_header(p + net::kEthernetHeaderLen + ip_len, t);
  return true;
}

void TcpLayer::send_reset(const Reset& r) {
  if (!out_has_room()) return;
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (!m) return counters_.inc(Counter::drop_tcp_no_mbuf);
  if (!write_reset(m, r, ip_id_++)) {
    rte_pktmbuf_free(m);
    return counters_.inc(Counter::drop_tcp_no_mbuf);
  }
  out_[out_count_++] = m;
  counters_.inc(Counter::tcp_rst_sent);
}

void TcpLayer::send_rst(const Tcb& t) {
  // ABORT (RFC 9293 3.10.5): <SEQ=SND.NXT><CTL=RST>.
  send_reset(Reset{t.tuple(), t.snd_nxt, net::Seq(0), false});
}

void TcpLayer::send_rst_answering(const Tcb& t, const net::TcpHeader& seg) {
  send_reset(reset_answering(t.tuple(), seg));
}

}  // namespace pollux::tcp
