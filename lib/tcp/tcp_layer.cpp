// One lcore's TCP layer: construction, and the per-burst round -- every dirty connection
// gets its application events and then one round of output (flush); timers (poll).
#include <algorithm>

#include "tcp/tcp_layer.hpp"

namespace pollux::tcp {

TcpLayer::TcpLayer(const TcpConfig& config, rte_mempool* pool, uint16_t local_mtu,
                   base::Counters& counters, uint64_t now_ns)
    : config_(config),
      pool_(pool),
      mtu_(local_mtu),
      counters_(counters),
      isn_(config.isn_key ? *config.isn_key : IsnGenerator::random_key()),
      cookies_(isn_.derived_key(0x636f6f6b69657321ull)),  // "cookies!": its own key
      challenge_budget_(config.challenge_ack_rate, isn_.derived_key(0x6368616c6c656e67ull).k0),
      // The ticks a TCB keeps its deadlines in (TimerTicks).
      wheel_(base::TimerWheelConfig{.tick_ns = TimerTicks::kTickNs}, now_ns),
      table_(std::max<uint32_t>(config.max_connections, 1)),
      tcbs_(std::max<uint32_t>(config.max_connections, 1)),
      // Default-initialised (trivial): no page of it is written until an IPv6 tuple is.
      v6_addrs_(new base::Ipv6AddrPair[std::max<uint32_t>(config.max_connections, 1)]),
      ooo_pool_(config.ooo_queues),
      cold_pool_(cold_block_count(config)),
      undo_pool_(undo_record_count(config)),
      counts_pool_(event_counts_count(config)),
      option_sets_(config.option_sets),
      app_bindings_(config.app_bindings),
      per_source_(config.max_conns_per_source != 0 ? std::max<uint32_t>(config.max_connections, 1)
                                                   : 1),
      listeners_(config.max_listeners),
      next_ephemeral_(0),
      now_(now_ns),
      tw_(config.time_wait_records) {
  rcv_budget_ = config.rcv_mbuf_budget != 0 ? config.rcv_mbuf_budget
                                            : std::max<uint32_t>(pool ? pool->size / 2 : 0, 64);
  rcv_pressure_mark_ = rcv_budget_ / 4 * 3;
  snd_budget_ = config.snd_mbuf_budget != 0 ? config.snd_mbuf_budget
                                            : std::max<uint32_t>(pool ? pool->size / 2 : 0, 64);
  snd_pressure_mark_ = snd_budget_ / 2;
  // send_queue.cpp writes from data_off 0: the whole data room.
  snd_room_ = pool ? std::max<uint32_t>(rte_pktmbuf_data_room_size(pool), 1) : 2048;
}

TcpLayer::Memory TcpLayer::memory(const TcpConfig& c) {
  const uint32_t conns = std::max<uint32_t>(c.max_connections, 1);
  Memory m;
  m.tcbs = base::Slab<Tcb>::memory_bytes(conns);
  m.flow_buckets = base::FlowTable<Tcb>::memory_bytes(conns);
  m.ipv6_addrs = size_t{conns} * sizeof(base::Ipv6AddrPair);
  m.per_source = c.max_conns_per_source != 0 ? base::KeyCounts::memory_bytes(conns)
                                             : base::KeyCounts::memory_bytes(1);
  m.cold_blocks = base::FreeList<ColdBlock>::memory_bytes(cold_block_count(c));
  m.undo_records = base::FreeList<UndoRecord>::memory_bytes(undo_record_count(c));
  m.event_counts = base::FreeList<EventCounts>::memory_bytes(event_counts_count(c));
  m.ooo_queues = base::FreeList<ReassemblyQueue>::memory_bytes(c.ooo_queues);
  m.time_wait = TimeWaitStore::memory_bytes(c.time_wait_records);
  m.option_sets = OptionSets::memory_bytes(c.option_sets);
  m.app_bindings = AppBindings::memory_bytes(c.app_bindings);
  return m;
}

TcpLayer::~TcpLayer() {
  for (size_t i = 0; i < out_count_; ++i) rte_pktmbuf_free(out_[i]);
  free_spares();
  dirty_.clear();
  table_.clear();
  free_.clear();
  for (Tcb& t : tcbs_.items()) {
    t.sndq.clear();
    t.rcvq.clear();
    if (t.ooo) t.ooo->clear();
  }
}

void TcpLayer::mark_dirty(Tcb& t) {
  if (t.dirty) return;
  if (&t == delivering_) {
    delivering_marked_ = true;  // flush decides once its events are delivered
    return;
  }
  t.dirty = true;
  dirty_.push_back(t);
}

void TcpLayer::unlink_dirty(Tcb& t) {
  // The lists are singly linked (Tcb::dirty_hook): find the TCB before it. Only release_tcb
  // of a TCB still dirty comes here, which flush's own releases never are (it pops first).
  if (!unlink_from(dirty_, t) && flushing_) unlink_from(*flushing_, t);
}

void TcpLayer::deliver_events(Tcb& t) {
  if (!t.has_app()) return;
  // A copy: a callback that closes or aborts the connection may end its reference.
  const AppBinding app = app_bindings_.get(t.app);
  const AppEvents* ev = app.events;
  if (t.ev_established) {
    t.ev_established = false;
    if (t.passive) {
      if (ev->accepted) ev->accepted(app.ctx, &t);
    } else if (ev->connected) {
      ev->connected(app.ctx, &t);
    }
  }
  // Each callback may close or abort the connection: re-check before the next.
  if (t.ev_readable && !t.app_closed && t.has_app()) {
    t.ev_readable = false;
    if (ev->readable && t.rcvq.bytes() > 0) ev->readable(app.ctx, &t);
  }
  if (t.ev_writable && !t.app_closed && t.has_app()) {
    t.ev_writable = false;
    if (ev->writable) ev->writable(app.ctx, &t);
  }
  if (t.ev_peer_closed && !t.app_closed && t.has_app()) {
    t.ev_peer_closed = false;
    if (ev->peer_closed) ev->peer_closed(app.ctx, &t);
  }
  if (t.closed_pending && t.has_app()) {
    t.closed_pending = false;
    forget_app(t);  // the last event: the application forgets this Conn now
    if (ev->closed) ev->closed(app.ctx, &t, t.close_reason);
  }
}

void TcpLayer::flush(uint64_t now) {
  now_ = now;
  // Work on a snapshot: connections dirtied by callbacks go to the next round, so a
  // callback that keeps writing cannot keep this loop going.
  if (snd_waiters_ != 0 && snd_mbufs_ + kSndPressureShare <= snd_budget_ &&
      now >= snd_wake_not_before_)
    wake_snd_waiters(now);
  TcbList work;
  work.swap(dirty_);
  TcbList* const outer = flushing_;
  flushing_ = &work;
  while (!work.empty()) {
    Tcb& t = work.front();
    work.pop_front();
    t.dirty = false;
    // Its own callbacks mark it dirty again (a reply sent, data read: request/response does
    // both on every message); the output below is the round that covers that, so mark_dirty
    // only notes it (delivering_) and it goes to the next round only when that round has
    // more to do: an event to deliver, a close, or SACK recovery, where the next round's
    // output_sack_recovery starts from the pipe recomputed (RFC 6675 SetPipe) where this
    // one's running count stopped, and may send one more segment. Without this each message
    // cost two outputs, the second finding nothing to send (issue 13).
    delivering_ = &t;
    delivering_marked_ = false;
    deliver_events(t);
    const bool marked = delivering_ == &t && delivering_marked_;  // (not if released meanwhile)
    delivering_ = nullptr;
    if (marked && (events_pending(t) || t.sack_recovery() || t.state == State::closed))
      mark_dirty(t);
    if (t.state == State::closed) {
      if (!t.closed_pending) release_tcb(t);
      continue;
    }
    output(t, now);
    owe_delayed_ack(t, now);
    // Its last ACK is out: TIME-WAIT goes on as a record, and the TCB back to the pool. One
    // that stays a TCB (its `closed` not delivered) needs its 2 MSL in the wheel now
    // (enter_time_wait leaves it to here).
    if (t.state == State::time_wait) {
      if (!t.closed_pending)
        file_time_wait(t, now);
      else if (!timer_set(t, TimerKind::linger))
        set_timer(t, TimerKind::linger, time_wait_end(t, now));
    }
  }
  flushing_ = outer;
  // The burst is over: what input kept and no segment took goes back to the pool.
  if (spare_count_ != 0) free_spares();
}

void TcpLayer::owe_delayed_ack(Tcb& t, uint64_t now) {
  // RFC 5681 4.2 / RFC 9293 3.8.6.3: in-order data not yet acknowledged, and no reason to
  // ACK at once (process_data sets ack_now for a second full segment or a filled gap), is
  // acknowledged within the delayed-ACK time. process_data counted it (segs_since_ack);
  // every segment sent carries the ACK and clears that count, so what is left after this
  // round's output is owed. Set here rather than on arrival, where a reply sent in the same
  // burst stopped it again at once: request/response set and stopped it on every message
  // (issue 13). Arrival and this flush share `now`: the deadline is the one it was. A TCB
  // in TIME-WAIT has its timers stopped (enter_time_wait); an ACK already due (ack_now, its
  // segment refused for want of an mbuf) is retried by the next flush.
  if (t.segs_since_ack != 0 && !t.ack_now && t.state != State::time_wait &&
      !timer_set(t, TimerKind::delayed_ack))
    set_timer(t, TimerKind::delayed_ack, now + config_.delayed_ack_ns);
}

void TcpLayer::free_spares() {
  // Plain buffers with one reference (keep_spare): each straight back into its own pool, as
  // rte_pktmbuf_free would put it.
  for (uint32_t i = 0; i < spare_count_; ++i) rte_mbuf_raw_free(spares_[i]);
  spare_count_ = 0;
}

void TcpLayer::poll(uint64_t now) {
  now_ = now;
  wheel_.advance(now, [this, now](base::TimerLink& timer) { on_timer(timer, now); });
  expire_time_wait(now);
  // Most turns of a polling lcore find nothing dirty: skip the call (its register saves and
  // empty-list swap cost more than this test, issue 13). flush() would do nothing else.
  if (!dirty_.empty() || snd_waiters_ != 0) flush(now);
}

}  // namespace pollux::tcp
