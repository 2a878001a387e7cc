// SEGMENT ARRIVES (RFC 9293 3.10.7): the engine hands over a validated segment
// (lib/engine/tcp_segment_input.cpp); here it is dispatched by the state of the connection it
// belongs to -- a TIME-WAIT a new SYN may end (time_wait.cpp), SYN-SENT (input_syn_sent.cpp),
// the synchronized states (input_synchronized.cpp) -- or to a listener (input_listen.cpp).
// What nothing wants goes back to the engine, which answers it as CLOSED (3.10.7.1).
#include "tcp/tcp_layer.hpp"

namespace pollux::tcp {

using base::Counter;
using net::tcp_flags::ack;
using net::tcp_flags::rst;
using net::tcp_flags::syn;

bool TcpLayer::input(rte_mbuf* m, const net::Ipv4Header& ip, const net::TcpHeader& seg,
                     const net::TcpOptions& opts, uint64_t now) {
  now_ = now;
  const net::FourTuple key{ip.dst, ip.src, seg.dst_port, seg.src_port};
  Tcb* t = table_.find(key);
  if (t && t->state == State::time_wait && seg.has(syn) && !seg.has(ack) && !seg.has(rst) &&
      time_wait_accepts_syn(*t, seg, opts)) {
    // RFC 6191 (and RFC 9293 3.6.1): a new incarnation of the pair, provably newer than the
    // old one, ends TIME-WAIT early; the SYN then meets the listener like any other.
    recycle_time_wait(*t, now);  // its TCB serves the new SYN (a full table has room)
    t = nullptr;
  }
  if (t) {
    counters_.inc(Counter::tcp_segs_in);
    if (t->state == State::syn_sent)
      input_syn_sent(*t, m, seg, opts, now);
    else
      input_synchronized(*t, m, seg, opts, now);
    return true;
  }
  for (Listener& l : listeners_) {
    if (!l.active || l.port != seg.dst_port) continue;
    // RFC 9293 3.10.7.2 (LISTEN): a RST is ignored; an ACK gets <SEQ=SEG.ACK><CTL=RST>,
    // which is what the engine's CLOSED answer does; only a SYN is for us.
    if (seg.has(rst)) {
      rte_pktmbuf_free(m);
      counters_.inc(Counter::drop_tcp_rst_to_closed);  // no connection for its tuple
      return true;
    }
    if (seg.has(ack)) return !seg.has(syn) && accept_cookie(l, m, ip, seg, opts, now);
    counters_.inc(Counter::tcp_segs_in);
    if (seg.has(syn))
      input_listen(l, m, ip, seg, opts, now);
    else
      rte_pktmbuf_free(m);
    return true;
  }
  return false;
}

}  // namespace pollux::tcp
