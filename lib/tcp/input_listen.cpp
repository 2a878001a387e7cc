// LISTEN (RFC 9293 3.10.7.2): a SYN makes a TCB in SYN-RECEIVED and draws a SYN-ACK; and the
// option negotiation that every handshake (passive or active) ends with.
#include <algorithm>

#include "tcp/tcp_layer.hpp"

namespace pollux::tcp {

using base::Counter;
using net::tcp_flags::ack;
using net::tcp_flags::syn;

// RFC 9293 3.7.1 (MSS), RFC 7323 1.3/2.2 (window scale, timestamps), RFC 2018 (SACK): an
// option is in use only if both sides sent it in their SYNs. We offer every option the
// configuration enables, so what the peer's SYN carries decides.
void TcpLayer::negotiate(Tcb& t, const net::TcpOptions& opts) {
  const uint16_t peer_mss = opts.has_mss ? opts.mss : 536;
  t.snd_mss = std::clamp<uint16_t>(std::min(peer_mss, mss_for_mtu()), 88, mss_for_mtu());
  t.ws_ok = config_.window_scaling && opts.has_wscale;
  if (t.ws_ok) {
    t.snd_wscale = std::min(opts.wscale, net::kMaxWindowScale);
  } else {
    t.snd_wscale = 0;
    t.rcv_wscale = 0;
  }
  t.sack_ok = config_.sack && opts.sack_permitted;
  t.ts_ok = config_.timestamps && opts.has_timestamps;
  if (t.ts_ok) t.ts_recent = opts.ts_val;
  // RFC 8985 needs to know which segments were delivered, so SACK: without it loss stays
  // with RFC 6582 NewReno and the RTO.
  t.rack_on = config_.rack && t.sack_ok;
  t.tlp_on = config_.tlp && t.sack_ok;
  t.scoreboard.set_dupthresh_rule(!t.rack_on);
}

void TcpLayer::input_listen(Listener& l, rte_mbuf* m, const net::Ipv4Header& ip,
                            const net::TcpHeader& seg, const net::TcpOptions& opts, uint64_t now) {
  rte_pktmbuf_free(m);  // a SYN's data (rare) is not kept: the peer sends it again
  if (l.pending >= l.backlog) return counters_.inc(Counter::drop_tcp_backlog_full);
  Tcb* t = alloc_tcb();
  if (!t) return counters_.inc(Counter::drop_tcp_table_full);
  const net::FourTuple key{ip.dst, ip.src, seg.dst_port, seg.src_port};
  init_tcb(*t, key, l.opts, now);
  t->passive = true;
  t->listener = &l;
  t->events = l.events;
  t->ctx = l.ctx;
  ++l.pending;
  t->irs = seg.seq;
  t->rcv_nxt = seg.seq + 1;
  // Nothing advertised yet: the right edge starts at RCV.NXT (3.8.6). Left at 0 it would
  // compare as before or after RCV.NXT depending on the peer's ISN, and the window we offer
  // could exceed the buffer by up to 2^31.
  t->rcv_adv = t->last_ack_sent = t->rcv_nxt;
  negotiate(*t, opts);
  // RFC 7323 2.2: the window field of a SYN is never scaled.
  t->snd_wnd = seg.window;
  t->max_snd_wnd = seg.window;
  t->snd_wl1 = seg.seq;
  t->snd_wl2 = t->iss;
  t->state = State::syn_received;
  if (table_.insert(*t) != base::InsertResult::kInserted) {
    --l.pending;
    release_tcb(*t);
    return counters_.inc(Counter::drop_tcp_table_full);
  }
  counters_.inc(Counter::tcp_passive_opens);
  send_segment(*t, t->iss, syn | ack, 0, 0, now);
  arm_rexmt(*t, now);
}

}  // namespace pollux::tcp
