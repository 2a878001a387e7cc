// TCB life cycle: taken from the pool and initialised, every change of its state (set_state),
// an out-of-order queue lent and taken back, finished (the connection is over for the
// application; CLOSED unless in TIME-WAIT) and released to the pool after the `closed` event.
#include <algorithm>
#include <cassert>

#include "tcp/tcp_layer.hpp"

namespace pollux::tcp {

Tcb* TcpLayer::alloc_tcb() {
  if (free_.empty()) return nullptr;
  Tcb& t = free_.front();
  free_.pop_front();
  return &t;
}

void TcpLayer::init_tcb(Tcb& t, const net::FourTuple& tuple, const ConnOptions& opts,
                        uint64_t now) {
  // A TCB from the pool is CLOSED (release_tcb), as is the cookie's scratch TCB (never moved).
  assert(t.state == State::closed);
  t.tuple = tuple;
  t.opts = opts;
  t.opts.rcvbuf = std::clamp<uint32_t>(opts.rcvbuf, 4096, 1u << 30);
  t.opts.sndbuf = std::max<uint32_t>(opts.sndbuf, 4096);
  t.iss = isn_.isn(tuple, now);  // RFC 6528
  t.snd_una = t.snd_nxt = t.snd_max = t.iss;
  t.snd_wnd = t.max_snd_wnd = 0;
  t.snd_wl1 = t.snd_wl2 = Seq(0);
  t.irs = t.rcv_nxt = t.rcv_adv = t.last_ack_sent = Seq(0);
  t.rcv_mss = mss_for_mtu();
  t.snd_mss = 536;
  // RFC 7323 2.3: the smallest shift that lets the whole buffer be offered.
  t.rcv_wscale = 0;
  if (config_.window_scaling)
    while (t.rcv_wscale < net::kMaxWindowScale && (t.opts.rcvbuf >> t.rcv_wscale) > 0xffff)
      ++t.rcv_wscale;
  t.snd_wscale = 0;
  t.ws_ok = t.sack_ok = t.ts_ok = false;
  t.ts_recent = 0;
  t.ts_offset = isn_.hash_component(tuple);
  t.ts_rto_mark = t.ts_offset + static_cast<uint32_t>(now / 1'000'000);
  t.cwnd = t.snd_mss;
  t.ssthresh = 0xffffffff;
  cc::init(t.cc, config_.congestion_control, config_.hystart);
  t.dupacks = 0;
  t.in_recovery = false;
  t.rto_recovery = false;
  t.recover = t.iss;
  t.scoreboard.clear();
  t.scoreboard.set_dupthresh(kDupThresh);
  t.scoreboard.set_dupthresh_rule(true);
  t.rxt_stamp = 0;
  t.rxt_high = t.iss;
  t.rxt_out = false;
  t.rack_on = t.tlp_on = false;  // decided by negotiate()
  t.sent_log.reset(t.iss);
  t.rack.reset();
  t.rxt_lost_end = t.rxt_resend_next = t.iss;
  t.rexmt_kind = RexmtKind::rto;
  t.tlp_out = t.tlp_retrans = false;
  t.tlp_end = t.iss;
  t.tlp_tsval = 0;
  t.tlp_probes = t.rack_losses = 0;
  t.high_rxt = t.rescue_rxt = t.iss;
  t.pending_dsack.reset();
  t.dsacks_received = t.rto_count = t.fast_recoveries = t.spurious_undos = 0;
  t.spurious_retrans = 0;
  t.undo_valid = t.eifel_pending = false;
  t.undo_retrans = 0;
  t.rtt = RttEstimator(config_.rtt);
  t.rtt_timing = false;
  t.rexmt_count = 0;
  t.fin_queued = t.fin_sent = t.fin_in_ooo = false;
  t.ack_now = false;
  t.segs_since_ack = t.keepalive_probes = t.persist_shift = 0;
  t.events = nullptr;
  t.ctx = nullptr;
  t.user = nullptr;
  t.listener = nullptr;
  t.passive = t.app_closed = false;
  t.ev_established = t.ev_readable = t.ev_writable = t.ev_peer_closed = false;
  t.want_writable = t.closed_pending = false;
  t.close_reason = CloseReason::normal;
  t.bytes_sent = t.bytes_acked = t.bytes_received = 0;
  t.retransmits = 0;
}

void TcpLayer::cancel_timers(Tcb& t) {
  base::TimerWheel::cancel(t.rexmt_timer);
  base::TimerWheel::cancel(t.delack_timer);
  base::TimerWheel::cancel(t.persist_timer);
  base::TimerWheel::cancel(t.keepalive_timer);
  base::TimerWheel::cancel(t.linger_timer);
}

void TcpLayer::release_tcb(Tcb& t) {
  if (t.dirty_hook.is_linked()) dirty_.erase(dirty_.iterator_to(t));
  t.dirty = false;
  if (t.in_flow_table()) table_.erase(t);
  cancel_timers(t);
  t.sndq.clear();
  rcv_mbufs_ -= held_mbufs(t);
  t.rcvq.clear();
  release_ooo(t);
  set_state(t, State::closed, StateCause::released);  // a no-op unless it was never filed
  t.events = nullptr;
  free_.push_front(t);
}

bool TcpLayer::acquire_ooo(Tcb& t) {
  if (ooo_free_.empty()) return false;
  t.ooo = ooo_free_.back();
  ooo_free_.pop_back();
  return true;
}

void TcpLayer::release_ooo(Tcb& t) {
  if (!t.ooo) return;
  t.ooo->clear();
  ooo_free_.push_back(t.ooo);
  t.ooo = nullptr;
}

// The arc into CLOSED that finish() takes, named from what the application is told. A normal
// close reaches finish() in CLOSED already (2 MSL, recycling), in TIME-WAIT (no arc), from
// LAST-ACK (the ACK of our FIN) or from SYN-SENT (CLOSE deletes the TCB, RFC 9293 3.10.4).
static StateCause closing_cause(CloseReason why, State from) {
  switch (why) {
    case CloseReason::normal:
      return from == State::last_ack ? StateCause::fin_acked : StateCause::app_close;
    case CloseReason::reset:
    case CloseReason::refused:
      return StateCause::rst_received;
    case CloseReason::timeout:
      return StateCause::timeout;
    case CloseReason::aborted:
      return StateCause::app_abort;
    case CloseReason::no_resources:
      return StateCause::no_resources;
  }
  return StateCause::no_resources;
}

void TcpLayer::set_state(Tcb& t, State to, StateCause why) {
  const State from = t.state;
  if (from == to) return;
  t.state = to;
  ++state_entries_[static_cast<size_t>(to)];
  if (state_observer_) state_observer_(state_observer_ctx_, t, from, to, why);
}

void TcpLayer::finish(Tcb& t, CloseReason why, uint64_t /*now*/) {
  if (t.events && !t.closed_pending) {
    t.closed_pending = true;
    t.close_reason = why;
  }
  if (t.state != State::time_wait) {
    // CLOSED: the tuple is free again at once; the TCB itself goes after the `closed` event.
    set_state(t, State::closed, closing_cause(why, t.state));
    if (t.in_flow_table()) table_.erase(t);
    cancel_timers(t);
    if (t.listener) --t.listener->pending;
    t.listener = nullptr;
  }
  mark_dirty(t);
}

}  // namespace pollux::tcp
