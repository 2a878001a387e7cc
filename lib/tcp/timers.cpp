// Timers: retransmission (RFC 6298), persist (RFC 9293 3.8.6.1), keepalive (RFC 9293 3.8.4,
// RFC 1122 4.2.3.6), delayed ACK (3.8.6.3), the end of TIME-WAIT (time_wait.cpp) and the
// orphan FIN-WAIT-2 limit. RACK's reordering timer and TLP share the retransmission timer
// (rack_tlp.cpp).
#include <algorithm>

#include "tcp/tcp_layer.hpp"

namespace pollux::tcp {

using base::Counter;
using net::tcp_flags::ack;
using net::tcp_flags::psh;
using net::tcp_flags::syn;

void TcpLayer::arm_rexmt(Tcb& t, uint64_t now) {
  set_rexmt(t, RexmtKind::rto, now + t.rtt.rto());
}

// RFC 6298 5.3 restarts the timer on every ACK of new data, RFC 8985 7.2 moves the tail
// loss probe on every ACK and send, and RFC 1122 4.2.3.6's keepalive idles from the last
// segment: each would be a wheel arm (an unlink, a division, a push), several per ACK, almost
// always pushing a deadline later. A connection's five timers also cost 40 B each in the TCB
// (issue 13 item 5). So every deadline is kept in the TCB and one wheel entry serves them
// all: it stays where it is while it is not later than the deadline being set, and when it
// fires on_timer runs the kinds that are due and re-arms it for the earliest left. A kind
// runs in the same tick as an entry armed for its own deadline would have (both round up to
// the tick boundary; on_timer compares with the tick being fired), so timeouts happen when
// they did.
void TcpLayer::set_timer(Tcb& t, TimerKind k, uint64_t deadline) {
  deadline = std::max<uint64_t>(deadline, 1);  // as the wheel has always been given it
  const uint64_t now = wheel_.now_ns();
  const uint64_t now_tick = now / TimerTicks::kTickNs;
  // Within the horizon of the kept ticks (TimerTicks): a keepalive idle time, say, of more
  // than 24.8 days runs at 24.8 days (Linux refuses more than 32,767 s, about 9 hours).
  deadline = std::min(deadline, (now_tick + TimerTicks::kHorizonTicks) * TimerTicks::kTickNs);
  // A deadline the wheel has already passed is due at its next look (the wheel's overdue
  // list): it is kept as the tick the wheel is in, so that on_timer finds it due then.
  t.set_due(k, deadline <= now ? now_tick : ceil_tick(deadline));
  if (!t.timer().is_armed() || deadline < t.timer().deadline_ns()) wheel_.arm(t.timer(), deadline);
}

void TcpLayer::rearm_timer(Tcb& t) {
  const uint64_t now_tick = wheel_.now_ns() / TimerTicks::kTickNs;
  uint64_t next = 0;
  bool any = false;
  for (size_t k = 0; k < kTimerKinds; ++k) {
    const auto kind = static_cast<TimerKind>(k);
    if (!t.due_is_set(kind)) continue;
    const uint64_t tick = t.due_tick_of(kind, now_tick);
    if (!any || tick < next) next = tick;
    any = true;
  }
  // Armed for the boundary of the earliest tick: the wheel runs it in that tick, as it
  // would the deadline itself (or at its next look, when that tick is already reached).
  const uint64_t next_ns = std::max<uint64_t>(next * TimerTicks::kTickNs, 1);
  if (any && (!t.timer().is_armed() || next_ns < t.timer().deadline_ns()))
    wheel_.arm(t.timer(), next_ns);
}

void TcpLayer::arm_keepalive(Tcb& t, uint64_t now) {
  if (options_of(t).keepalive)
    set_timer(t, TimerKind::keepalive, now + options_of(t).keepalive_idle_ns);
}

void TcpLayer::on_timer(base::TimerLink& timer, uint64_t now) {
  Tcb& t = static_cast<Tcb&>(static_cast<Timing&>(timer));  // the entry is the TCB's base
  // The tick being fired (or the one the wheel is in, for its overdue list): a kind due in
  // it or before is due now.
  const uint64_t tick = wheel_.now_ns() / TimerTicks::kTickNs;
  const auto is_due = [&](TimerKind k) {
    return t.due_is_set(k) && t.due_tick_of(k, tick) <= tick;
  };
  // Which kinds are due is settled before any of them runs: one that a handler sets for
  // this tick or earlier runs at the next advance(), as its own entry would have (the
  // wheel's overdue list). One that an earlier handler stopped or moved later does not run.
  uint32_t due = 0;
  for (size_t k = 0; k < kTimerKinds; ++k)
    if (is_due(static_cast<TimerKind>(k))) due |= 1u << k;
  for (size_t k = 0; k < kTimerKinds; ++k) {
    const auto kind = static_cast<TimerKind>(k);
    if (!(due & (1u << k)) || !is_due(kind)) continue;
    t.clear_due(kind);
    run_timer(t, kind, now);
  }
  // Also what an entry that fired early (its deadline moved later, or was stopped) does.
  rearm_timer(t);
}

void TcpLayer::run_timer(Tcb& t, TimerKind k, uint64_t now) {
  switch (k) {
    case TimerKind::retransmit:
      return on_rexmt(t, now);
    case TimerKind::delayed_ack:
      counters_.inc(Counter::tcp_delayed_acks);
      t.ack_now = true;
      return mark_dirty(t);
    case TimerKind::persist:
      return on_persist(t, now);
    case TimerKind::keepalive:
      return on_keepalive(t, now);
    case TimerKind::linger:
      // TIME-WAIT over, or an orphaned FIN-WAIT-2 gave up on the peer's FIN.
      set_state(t, State::closed,
                t.state == State::time_wait ? StateCause::time_wait_expired
                                            : StateCause::fin_wait_2_timeout);
      return finish(t, CloseReason::normal, now);
  }
}

void TcpLayer::on_rexmt(Tcb& t, uint64_t now) {
  // The timer may be serving RACK (RFC 8985 6.2) or TLP (7.2) instead of the RTO.
  if (t.rexmt_kind == RexmtKind::reorder) return on_reorder_timeout(t, now);
  if (t.rexmt_kind == RexmtKind::probe) return on_probe_timeout(t, now);
  counters_.inc(Counter::tcp_timeouts);
  switch (t.state) {
    case State::syn_sent:
      if (t.rexmt_count >= config_.syn_retries) {
        counters_.inc(Counter::tcp_attempt_fails);
        return finish(t, CloseReason::timeout, now);
      }
      ++t.rexmt_count;
      t.rtt.backoff();
      t.rtt_timing = false;
      send_segment(t, t.iss, syn, 0, 0, now);
      return arm_rexmt(t, now);
    case State::syn_received: {
      // Under pressure (the listener's queue more than half full) a half-open connection gets
      // two SYN-ACK retransmissions, not synack_retries: spoofed SYNs then leave the queue in
      // about 7 s instead of 63 s, and the cookies take the rest (RFC 4987 3.2, 3.6).
      const Listener* l = listener_of(t);
      const bool pressed = l && l->pending * 2 > l->backlog;
      const uint8_t limit =
          pressed ? std::min<uint8_t>(config_.synack_retries, 2) : config_.synack_retries;
      if (t.rexmt_count >= limit) {
        leave_listener(t);
        forget_app(t);  // never accepted: the application never knew it
        return finish(t, CloseReason::timeout, now);
      }
      ++t.rexmt_count;
      t.rtt.backoff();
      send_segment(t, t.iss, syn | ack, 0, 0, now);
      return arm_rexmt(t, now);
    }
    case State::closed:
    case State::listen:
    case State::time_wait:
      return;
    default:
      break;
  }
  if (t.snd_una == t.snd_max) return;  // nothing outstanding (raced with an ACK)
  if (user_timed_out(t, now)) {
    send_rst(t);
    return finish(t, CloseReason::timeout, now);
  }
  // RFC 9293 3.8.6.1: a window the peer keeps at zero is probed for as long as it does so;
  // only timeouts against an open window count towards giving up.
  if (t.rexmt_count >= config_.max_retransmits && t.snd_wnd != 0) {
    send_rst(t);
    return finish(t, CloseReason::timeout, now);
  }
  if (t.rexmt_count < config_.max_retransmits) ++t.rexmt_count;
  // The first timeout of a series may prove spurious (a delay spike): remember the window.
  // Later ones in the same series keep that first episode.
  if (t.rexmt_count == 1) begin_undo_episode(t);
  t.rtt.backoff();                // RFC 6298 5.5
  t.ts_rto_mark = tsval(t, now);  // echoes older than this time pre-timeout transmissions
  t.rtt_timing = false;
  // RFC 5681 3.1 eq. 4: after a timeout, ssthresh from the flight, cwnd one segment.
  // Only the first timeout of a series reduces ssthresh: later ones find a window that is
  // already one segment (RFC 5681 3.1 holds it constant then). CUBIC: RFC 9438 4.8.
  if (t.rexmt_count == 1) t.ssthresh = cc::on_congestion(t.cc, t.cwnd, t.flight_size(), t.snd_mss);
  t.cwnd = t.snd_mss;
  t.in_recovery = false;
  t.recover = t.snd_max;  // RFC 6582 4: no fast retransmit for losses from before the RTO
  t.dupacks = 0;
  count_event(t, &EventCounts::rto_count);
  t.tlp_out = false;
  if (ColdBlock* c = t.cold) c->rxt_lost_end = c->rxt_resend_next = t.snd_una;  // all goes again
  if (t.sack_ok) {
    // RFC 6675 5.1: recovery ends; what was SACKed is not sent again. Every other octet up
    // to SND.MAX is lost and goes again, in order, as slow start lets it (output() by pipe).
    // A second timeout in a row forgets the scoreboard: the receiver may have reneged on
    // what it SACKed (RFC 2018 8), and only resending everything gets past that.
    // Without a cold block (pool empty) everything outstanding counts as lost, which is
    // RFC 6675 5.1 without the refinement of the point.
    if (ColdBlock* c = take_cold(t)) {
      if (t.rexmt_count > 1) c->scoreboard.clear();
      c->scoreboard.set_rto_point(t.snd_max);
    }
    t.in_recovery = true;
    t.rto_recovery = true;
    t.high_rxt = t.snd_una;
    t.rescue_rxt = t.snd_max;
    arm_rexmt(t, now);
    output(t, now);
    return probe_closed_window(t, now);
  }
  // Go back to SND.UNA and send again (a FIN that was lost goes again with the data: output
  // resends it when the data before it has gone). fin_sent stays set: the FIN keeps its
  // sequence number, and an ACK beyond it still acknowledges it (RFC 9293 3.10.7.4).
  t.snd_nxt = t.snd_una;
  arm_rexmt(t, now);
  output(t, now);
  probe_closed_window(t, now);
}

void TcpLayer::probe_closed_window(Tcb& t, uint64_t now) {
  // The window shrank to zero behind outstanding data (RFC 9293 3.8.6.2.1 lets a receiver
  // withdraw it): nothing may be resent past it (3.8.6), so the timeout could send nothing.
  // It probes the window instead (3.8.6.1), with a segment of no data the peer must answer;
  // the recovery state set above resends the data as soon as an ACK opens the window.
  if (t.snd_una == t.snd_max || window_room(t, t.snd_una) > 0) return;
  send_window_probe(t, now);
}

void TcpLayer::send_window_probe(Tcb& t, uint64_t now) {
  // A segment the receiver must answer with its window (it is below RCV.NXT, so
  // unacceptable, so it draws an ACK) without committing any data.
  counters_.inc(Counter::tcp_zero_window_probes);
  send_segment(t, t.snd_una - 1, ack, 0, 0, now);
}

void TcpLayer::on_persist(Tcb& t, uint64_t now) {
  const uint32_t off = t.unsent_offset();
  const uint32_t avail = t.sndq.bytes() > off ? t.sndq.bytes() - off : 0;
  if (t.snd_wnd != 0 || avail == 0) {
    t.persist_shift = 0;
    if (avail > 0 && t.snd_una == t.snd_max) {
      // The SWS override timeout (RFC 9293 3.8.6.2.1, RFC 1122 4.2.3.4): the window is open
      // but too small for output() to use, and nothing in flight will bring an ACK. Send
      // what the window takes.
      const uint32_t eff = payload_mss(t);
      const uint32_t len = std::min({t.snd_wnd, t.cwnd, avail, eff});
      send_segment(t, t.snd_nxt, static_cast<uint8_t>(ack | (len == avail ? psh : 0)), off, len,
                   now);
    }
    return mark_dirty(t);
  }
  // RFC 9293 3.8.6.1 asks for probing as long as the peer answers; 3.8.3's USER TIMEOUT
  // bounds it, so that a peer keeping its window shut cannot hold the connection (and its
  // send queue's mbufs) for ever (issue 14 item 3).
  if (user_timed_out(t, now)) {
    send_rst(t);
    return finish(t, CloseReason::timeout, now);
  }
  send_window_probe(t, now);
  t.persist_shift = static_cast<uint8_t>(std::min(t.persist_shift + 1, 10));
  const uint64_t delay = std::min<uint64_t>(t.rtt.rto() << t.persist_shift, 60ull * 1'000'000'000);
  set_timer(t, TimerKind::persist, now + delay);
}

bool TcpLayer::user_timed_out(Tcb& t, uint64_t now) {
  const auto now_ms = static_cast<uint32_t>(now / kNsPerMs);
  if (t.stall_since_ms == 0) {
    t.stall_since_ms = std::max<uint32_t>(now_ms, 1);
    return false;
  }
  uint64_t limit =
      options_of(t).user_timeout_ns != 0 ? options_of(t).user_timeout_ns : config_.user_timeout_ns;
  // An orphan (the application closed; FIN-WAIT-1, CLOSING, LAST-ACK) gets no longer than an
  // orphaned FIN-WAIT-2 would: nobody is waiting for it (Linux: tcp_fin_timeout, and
  // tcp_orphan_retries for its probes).
  const bool orphan = t.app_closed && config_.fin_wait_2_ns != 0;
  if (orphan) limit = limit == 0 ? config_.fin_wait_2_ns : std::min(limit, config_.fin_wait_2_ns);
  // The start is kept in 32-bit ms (Timing): a limit beyond 24.8 days is 24.8 days, so that
  // the difference, read at least every 120 s, is always seen before it wraps (49.7 days).
  limit = std::min(limit, TimerTicks::kHorizonTicks * TimerTicks::kTickNs);
  const uint64_t stalled_ns = uint64_t{static_cast<uint32_t>(now_ms - t.stall_since_ms)} * kNsPerMs;
  if (limit == 0 || stalled_ns < limit) return false;
  counters_.inc(orphan ? Counter::tcp_orphan_timeouts : Counter::tcp_user_timeouts);
  return true;
}

void TcpLayer::on_keepalive(Tcb& t, uint64_t now) {
  if (!options_of(t).keepalive || !is_synchronized(t.state) || t.state == State::time_wait) return;
  if (t.snd_una != t.snd_max) return arm_keepalive(t, now);  // retransmissions watch the peer
  if (t.keepalive_probes >= options_of(t).keepalive_probes) {
    send_rst(t);
    return finish(t, CloseReason::timeout, now);
  }
  // RFC 1122 4.2.3.6: <SEQ=SND.NXT-1> with no data; the peer answers with an ACK.
  ++t.keepalive_probes;
  counters_.inc(Counter::tcp_keepalive_probes);
  send_segment(t, t.snd_nxt - 1, ack, 0, 0, now);
  set_timer(t, TimerKind::keepalive, now + options_of(t).keepalive_interval_ns);
}

}  // namespace pollux::tcp
