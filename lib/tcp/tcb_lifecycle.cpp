// TCB life cycle: taken from the pool and initialised, every change of its state (set_state),
// an out-of-order queue lent and taken back, finished (the connection is over for the
// application; CLOSED unless in TIME-WAIT) and released to the pool after the `closed` event.
#include <algorithm>
#include <cassert>
#include <iterator>

#include "tcp/tcp_layer.hpp"

namespace pollux::tcp {
namespace {

// A record from `pool` into the TCB's `slot` (empty), or nullptr and `unavailable` counted.
template <class T>
T* lend(base::FreeList<T>& pool, T*& slot, base::Counters& counters, base::Counter unavailable) {
  T* x = pool.take();
  if (!x) counters.inc(unavailable);
  slot = x;
  return x;
}

// The TCB's record in `slot`, if any, back to `pool`.
template <class T>
void give_back(base::FreeList<T>& pool, T*& slot) {
  if (!slot) return;
  pool.put(slot);
  slot = nullptr;
}

}  // namespace

Tcb* TcpLayer::alloc_tcb() {
  // One given back first (LIFO, warm in cache), else one built now: a TCB's bytes are first
  // written when a connection first needs it, never at start.
  if (free_.empty()) return tcbs_.build();
  Tcb& t = free_.front();
  free_.pop_front();
  return &t;
}

void TcpLayer::init_tcb(Tcb& t, const net::FourTuple& tuple, OptionSets::Id options, uint64_t now) {
  // Every TCB comes from the pool, where release_tcb left it CLOSED (cookie SYN-ACKs use none).
  assert(t.state == State::closed);
  assert(!t.cold);       // given back by release_tcb
  assert(!t.counts);     // likewise
  assert(!t.has_app());  // likewise
  t.set_tuple(tuple, &v6_addrs_[tcbs_.index_of(t)]);
  // F (RFC 6528 3) is both the ISN's offset and the timestamp offset (RFC 7323 5.4): one
  // SipHash of the tuple serves both (issue 13 item 4; it was computed twice per TCB).
  const uint32_t f = isn_.hash_component(tuple);
  const Seq iss = IsnGenerator::isn_from(f, now);
  t.AppState::reset(options);
  t.Status::reset();
  t.SendSpace::reset(iss);
  t.RecvSpace::reset();
  t.Negotiated::reset(mss_for_mtu(tuple),
                      window_shift_for(options_of(t).rcvbuf, config_.window_scaling), f);
  t.Congestion::reset(t.snd_mss, iss, config_.congestion_control, config_.hystart);
  t.Timing::reset(config_.rtt, t.ts_offset + static_cast<uint32_t>(now / 1'000'000));
  t.Data::reset();
  t.Recovery::reset(iss);
  t.RackTlp::reset(iss);
  t.Stats::reset();
}

void TcpLayer::cancel_timers(Tcb& t) {
  t.due_set = 0;
  Wheel::cancel(t.timer());
}

void TcpLayer::release_tcb(Tcb& t) {
  if (t.dirty_hook.is_linked()) unlink_dirty(t);
  t.dirty = false;
  // Released by a callback of its own (connect() recycling its TIME-WAIT): whatever the TCB
  // is lent for next is marked dirty as any other (flush, delivering_).
  if (&t == delivering_) delivering_ = nullptr;
  if (t.in_flow_table()) {
    table_.erase(t);
    tuple_freed();  // (file_time_wait takes the TCB out first: its record keeps the tuple)
  }
  cancel_timers(t);
  change_sndq(t, [](SendQueue& q) { q.clear(); });
  if (t.snd_mem_wait) {
    t.snd_mem_wait = false;
    --snd_waiters_;
  }
  rcv_mbufs_ -= held_mbufs(t);
  t.rcvq.clear();
  release_ooo(t);
  put_cold(t);
  put_undo(t);
  put_counts(t);
  if (t.opts_id != OptionSets::kNone) option_sets_.release(t.opts_id);
  t.opts_id = OptionSets::kNone;
  set_state(t, State::closed, StateCause::released);  // a no-op unless it was never filed
  if (t.passive && config_.max_conns_per_source != 0)
    per_source_.decrement(net::source_key(t.tuple().remote_ip));
  t.passive = false;
  forget_app(t);
  free_.push_front(t);
}

bool TcpLayer::change_opts(Tcb& t, const ConnOptions& o) {
  const OptionSets::Id to = option_sets_.change(t.opts_id, o);
  if (to == OptionSets::kNone) {
    counters_.inc(base::Counter::tcp_option_sets_full);
    return false;
  }
  t.opts_id = to;
  return true;
}

bool TcpLayer::acquire_ooo(Tcb& t) {
  t.ooo = ooo_pool_.take();
  return t.ooo != nullptr;
}

ColdBlock* TcpLayer::take_cold(Tcb& t) {
  if (t.cold) return t.cold;
  ColdBlock* c = cold_pool_.take();
  if (!c) {
    counters_.inc(base::Counter::tcp_cold_unavailable);
    return nullptr;
  }
  // As the connection would have it had it kept one: empty, its DupThresh, and the
  // DupThresh rule off when RACK decides (RFC 8985).
  c->scoreboard.reset(t.kept_dupthresh, !t.rack_on);
  c->sent_log.reset(t.snd_una);
  c->tlp_end = t.snd_una;
  c->tlp_tsval = 0;
  c->tlp_retrans = false;
  c->rxt_lost_end = c->rxt_resend_next = t.snd_una;
  t.cold = c;
  return c;
}

void TcpLayer::put_cold_if_quiet(Tcb& t) {
  if (!t.cold || !t.cold->scoreboard.quiet(t.snd_una) || t.cold->sent_log.size() != 0) return;
  put_cold(t);
}

void TcpLayer::put_cold(Tcb& t) {
  ColdBlock* c = t.cold;
  if (!c) return;
  t.kept_dupthresh = static_cast<uint16_t>(c->scoreboard.dupthresh());
  cold_pool_.put(c);
  t.cold = nullptr;
}

// The undo record hangs off the event counts' record (EventCounts::undo): a loss episode is
// an event, so the connection holds one, or lends it here (the timeout's episode begins
// before its count, timers.cpp). Without one (that pool empty) the episode has no record
// either, counted as the undo pool's (its event, when counted, finds the pool empty again).
UndoRecord* TcpLayer::take_undo(Tcb& t) {
  EventCounts* c = t.counts ? t.counts : lend_counts(t);
  if (!c) {
    counters_.inc(base::Counter::tcp_undo_unavailable);
    return nullptr;
  }
  return c->undo ? c->undo
                 : lend(undo_pool_, c->undo, counters_, base::Counter::tcp_undo_unavailable);
}

void TcpLayer::put_undo(Tcb& t) {
  if (t.counts) give_back(undo_pool_, t.counts->undo);
}

EventCounts* TcpLayer::lend_counts(Tcb& t) {
  EventCounts* c = counts_pool_.take();
  if (!c) return nullptr;
  *c = EventCounts{};  // a record given back holds its last connection's counts
  c->undo = nullptr;   // the member in use while lent
  t.counts = c;
  return c;
}

EventCounts* TcpLayer::take_counts(Tcb& t) {
  EventCounts* c = lend_counts(t);
  if (!c) counters_.inc(base::Counter::tcp_event_counts_unavailable);
  return c;
}

void TcpLayer::put_counts(Tcb& t) {
  give_back(counts_pool_, t.counts);
}

void TcpLayer::release_ooo(Tcb& t) {
  if (!t.ooo) return;
  t.ooo->clear();
  ooo_pool_.put(t.ooo);
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
  note_transition([&t] { return t.tuple(); }, from, to, why);
}

void TcpLayer::finish(Tcb& t, CloseReason why, uint64_t /*now*/) {
  if (t.has_app() && !t.closed_pending) {
    t.closed_pending = true;
    t.close_reason = why;
  }
  if (t.state != State::time_wait) {
    // CLOSED: the tuple is free again at once; the TCB itself goes after the `closed` event.
    set_state(t, State::closed, closing_cause(why, t.state));
    if (t.in_flow_table()) {
      table_.erase(t);
      tuple_freed();
    }
    cancel_timers(t);
    leave_listener(t);
  }
  mark_dirty(t);
}

}  // namespace pollux::tcp
