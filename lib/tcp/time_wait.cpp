// TIME-WAIT (RFC 9293 3.6, 3.10.7.4): entering it for 2 MSL, and ending it early for a new
// incarnation of the pair -- a peer's SYN that is provably newer (RFC 6191), or our own
// connect() when timestamps protect the new connection.
#include "tcp/tcp_layer.hpp"

namespace pollux::tcp {

using base::Counter;

void TcpLayer::enter_time_wait(Tcb& t, StateCause why, uint64_t now) {
  set_state(t, State::time_wait, why);
  t.time_wait_since_ns = now;
  base::TimerWheel::cancel(t.rexmt_timer);
  base::TimerWheel::cancel(t.persist_timer);
  base::TimerWheel::cancel(t.keepalive_timer);
  base::TimerWheel::cancel(t.delack_timer);
  wheel_.arm(t.linger_timer, now + 2 * config_.msl_ns);
  // The application's part is over; the TCB stays to absorb old duplicates for 2 MSL.
  finish(t, CloseReason::normal, now);
}

bool TcpLayer::time_wait_accepts_syn(const Tcb& t, const net::TcpHeader& seg,
                                     const net::TcpOptions& opts) const {
  // RFC 6191 2: with timestamps, the SYN's TSval must be newer than the last one seen from
  // the old connection; without, its sequence number must lie beyond the old RCV.NXT.
  if (t.ts_ok) return opts.has_timestamps && static_cast<int32_t>(opts.ts_val - t.ts_recent) > 0;
  return seg.seq > t.rcv_nxt;
}

bool TcpLayer::time_wait_reusable(const Tcb& t, uint64_t now) const {
  // Timestamps on the old connection, and at least a second since it ended: our TSval (1 ms
  // clock) is then certainly newer than anything the peer recorded, so its PAWS (RFC 7323
  // 5) throws away stray segments of the old incarnation and accepts the new SYN (RFC 6191).
  return t.state == State::time_wait && t.ts_ok && now - t.time_wait_since_ns >= 1'000'000'000;
}

void TcpLayer::recycle_time_wait(Tcb& t, uint64_t now) {
  counters_.inc(Counter::tcp_time_wait_recycled);
  set_state(t, State::closed, StateCause::time_wait_recycled);
  finish(t, CloseReason::normal, now);  // leaves the table, timers cancelled
  // Recycled in place: the application heard `closed` when TIME-WAIT began (its Conn is
  // gone), so nothing is left to deliver and the TCB goes back to the pool now, at the
  // front, where the alloc_tcb() of the new incarnation takes it. Freed only at flush, a
  // full table would refuse the very connection the recycling made room for.
  if (!t.closed_pending) release_tcb(t);
}

}  // namespace pollux::tcp
