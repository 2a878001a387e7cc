// The application interface (pollux/tcp.hpp): listen, connect, send, read, shutdown, close,
// abort, options, ConnInfo. Each call runs on the lcore that owns the connection.
#include <algorithm>

#include "tcp/tcp_layer.hpp"

namespace pollux::tcp {

using base::Counter;
using net::tcp_flags::syn;

namespace {

// What the connection's own send buffer still takes: sndbuf less what is queued (unsent and
// unacknowledged), whatever the lcore's send memory allows (snd_allowance).
uint32_t own_send_room(const Tcb& t, const ConnOptions& o) {
  return o.sndbuf > t.sndq.bytes() ? o.sndbuf - t.sndq.bytes() : 0;
}

}  // namespace

TcpError TcpLayer::listen(uint16_t port, const AppEvents* events, void* ctx, uint32_t backlog,
                          const ConnOptions& opts) {
  if (port == 0 || !events) return TcpError::invalid;
  Listener* slot = nullptr;
  for (Listener& l : listeners_) {
    if (l.active && l.port == port) return TcpError::port_in_use;
    if (!l.active && !slot) slot = &l;
  }
  if (!slot) return TcpError::backlog_full;
  const OptionSets::Id id = option_sets_.acquire(opts);
  if (id == OptionSets::kNone) {
    counters_.inc(Counter::tcp_option_sets_full);
    return TcpError::options_full;
  }
  const AppBindings::Id app = app_bindings_.acquire({events, ctx});
  if (app == AppBindings::kNone) {
    option_sets_.release(id);
    counters_.inc(Counter::tcp_app_bindings_full);
    return TcpError::apps_full;
  }
  // Backlog 0 keeps no half-open connection at all: with cookies on, every SYN gets one.
  *slot = Listener{port, true, backlog, 0, opts, id, app};
  return TcpError::ok;
}

void TcpLayer::unlisten(uint16_t port) {
  for (Listener& l : listeners_)
    if (l.active && l.port == port) {
      l.active = false;
      option_sets_.release(l.opts_id);  // its connections hold references of their own
      l.opts_id = OptionSets::kNone;
      app_bindings_.release(l.app);  // likewise
      l.app = AppBindings::kNone;
    }
}

Conn* TcpLayer::connect(net::IpAddr local, net::IpAddr remote, uint16_t remote_port,
                        const AppEvents* events, void* ctx, uint16_t local_port,
                        const ConnOptions& opts, TcpError& error, uint64_t now) {
  now_ = now;
  // Both ends of one family; TCP is unicast, and the peer one the engine would take
  // segments from (no unspecified, broadcast, group, loopback or reserved address).
  const bool bad_peer = remote.is_v4() != local.is_v4() || !remote.is_unicast_peer();
  if (remote_port == 0 || bad_peer || remote == local) {
    error = TcpError::invalid;
    return nullptr;
  }
  net::FourTuple tuple{local, remote, local_port, remote_port};
  // The tuple's bucket hash, computed once for each candidate and kept for the insert: the
  // table, the TIME-WAIT records and the insert would each compute it again (issue 13).
  uint64_t hash = 0;
  if (local_port != 0) {
    hash = base::flow_bucket_hash(tuple);
    if (Tcb* old = table_.find(tuple, hash)) {
      if (!time_wait_reusable(*old, now)) {
        error = TcpError::port_in_use;
        return nullptr;
      }
      recycle_time_wait(*old, now);
    } else if (TimeWaitRecord* r = tw_.find(tuple, hash)) {
      if (!time_wait_reusable(*r, now)) {
        error = TcpError::port_in_use;
        return nullptr;
      }
      // A record holds no TCB: ending it early gives no room in a full table, and would
      // only lose the old pair's protection for a connection that cannot be made.
      if (!tcb_available()) {
        error = TcpError::table_full;
        return nullptr;
      }
      recycle_time_wait(*r);
    }
  } else {
    // Ephemeral port, RFC 6056 3.3.3 (Algorithm 3): a keyed hash of the destination picks
    // where the search starts, a shared counter moves it on. Ports are hard to guess, and a
    // new process does not retry the tuples its predecessor left in the peer's TIME-WAIT.
    const uint32_t span = config_.ephemeral_last - config_.ephemeral_first + 1u;
    const net::FourTuple dest{local, remote, 0, remote_port};
    if (!ephemeral_dest_known_ || dest != ephemeral_dest_) {
      ephemeral_dest_ = dest;
      ephemeral_offset_ = isn_.hash_component(dest);
      ephemeral_dest_known_ = true;
    }
    const uint32_t offset = ephemeral_offset_;
    // A port whose tuple only our own TIME-WAIT holds is as good as a free one once reuse
    // is safe (RFC 6191, see time_wait_reusable): the counter walks ports in the order they
    // were handed out, so at high connection rates the next candidate is the oldest
    // TIME-WAIT, and a busy port space costs one lookup per connect, not a scan of it.
    // With sharding (issue 6) only ports whose replies come back to this lcore qualify.
    // TIME-WAIT is mostly a record (time_wait_store.hpp), outside the table: with every TCB
    // taken no port will do, a record's included (recycling it frees no TCB). Only a TCB
    // still in TIME-WAIT (before the flush that files its record) is recycled in place.
    const auto port_ok = config_.ephemeral_port_ok;
    const bool table_full = !tcb_available();
    if (!table_full && known_exhausted(dest, now)) {
      counters_.inc(Counter::tcp_no_ephemeral_port);
      error = TcpError::no_ephemeral_port;
      return nullptr;
    }
    bool found = false;
    uint64_t retry_ns = UINT64_MAX;  // the earliest a TIME-WAIT met on the way is reusable
    for (uint32_t i = 0; i < span && !found; ++i) {
      tuple.local_port =
          static_cast<uint16_t>(config_.ephemeral_first + (offset + next_ephemeral_) % span);
      ++next_ephemeral_;
      if (port_ok && !port_ok(config_.ephemeral_port_ctx, tuple)) continue;
      hash = base::flow_bucket_hash(tuple);
      Tcb* old = table_.find(tuple, hash);
      if (!old) {
        // A TIME-WAIT record holds no TCB: recycling it gives no room in a full table.
        TimeWaitRecord* r = tw_.find(tuple, hash);
        if (!r) {
          found = !table_full;
        } else if (!table_full && time_wait_reusable(*r, now)) {
          recycle_time_wait(*r);
          found = true;
        } else {
          retry_ns = std::min(retry_ns, time_wait_reusable_at(*r, now));
        }
      } else if (time_wait_reusable(*old, now)) {
        recycle_time_wait(*old, now);
        found = true;
      } else {
        retry_ns = std::min(retry_ns, time_wait_reusable_at(*old, now));
      }
    }
    if (!found) {
      if (table_full) {
        error = TcpError::table_full;
        return nullptr;
      }
      counters_.inc(Counter::tcp_no_ephemeral_port);
      counters_.inc(Counter::tcp_ephemeral_range_walks);
      note_exhausted(dest, retry_ns);
      error = TcpError::no_ephemeral_port;
      return nullptr;
    }
  }
  Tcb* t = alloc_tcb();
  if (!t) {
    error = TcpError::table_full;
    return nullptr;
  }
  const OptionSets::Id options = option_sets_.acquire(opts);
  if (options == OptionSets::kNone) {
    free_.push_front(*t);  // never initialised: back as it came
    counters_.inc(Counter::tcp_option_sets_full);
    error = TcpError::options_full;
    return nullptr;
  }
  // No events: nothing to tell, and no entry taken.
  const AppBindings::Id app = events ? app_bindings_.acquire({events, ctx}) : AppBindings::kNone;
  if (events && app == AppBindings::kNone) {
    option_sets_.release(options);
    free_.push_front(*t);  // never initialised: back as it came
    counters_.inc(Counter::tcp_app_bindings_full);
    error = TcpError::apps_full;
    return nullptr;
  }
  init_tcb(*t, tuple, options, now);
  t->app = app;
  set_state(*t, State::syn_sent, StateCause::active_open);
  if (table_.insert(*t, hash) != base::InsertResult::inserted) {
    release_tcb(*t);
    error = TcpError::table_full;
    return nullptr;
  }
  counters_.inc(Counter::tcp_active_opens);
  send_segment(*t, t->iss, syn, 0, 0, now);
  if (!rexmt_pending(*t)) arm_rexmt(*t, now);
  error = TcpError::ok;
  return t;
}

bool TcpLayer::known_exhausted(const net::FourTuple& dest, uint64_t now) const {
  for (uint32_t i = 0; i < exhausted_count_; ++i)
    if (exhausted_[i].dest == dest) return now < exhausted_[i].retry_ns;
  return false;
}

void TcpLayer::note_exhausted(const net::FourTuple& dest, uint64_t retry_ns) {
  // One entry per destination (a generator's source addresses are a handful); when all are
  // taken the oldest entry goes, which costs at most one more walk.
  for (uint32_t i = 0; i < exhausted_count_; ++i) {
    if (exhausted_[i].dest == dest) {
      exhausted_[i].retry_ns = retry_ns;
      return;
    }
  }
  if (exhausted_count_ < exhausted_.size()) {
    exhausted_[exhausted_count_++] = ExhaustedDest{dest, retry_ns};
    return;
  }
  exhausted_[exhausted_next_] = ExhaustedDest{dest, retry_ns};
  exhausted_next_ = (exhausted_next_ + 1) % static_cast<uint32_t>(exhausted_.size());
}

size_t TcpLayer::send(Conn* c, std::span<const uint8_t> data) {
  Tcb& t = *c;
  const bool open = t.state == State::established || t.state == State::close_wait ||
                    t.state == State::syn_sent || t.state == State::syn_received;
  if (!open || t.fin_queued || t.app_closed) return 0;
  size_t n = 0;
  const uint32_t allowance = snd_allowance(t);
  change_sndq(t, [&](SendQueue& q) { n = q.append(data, options_of(t).sndbuf, pool_, allowance); });
  if (n < data.size()) {
    t.want_writable = true;
    if (own_send_room(t, options_of(t)) > 0) {
      // Cut short by memory, not by the connection's own buffer (see send memory below).
      counters_.inc(Counter::tcp_snd_memory_refused);
      if (!t.snd_mem_wait && t.sndq.mbufs() < kSndPressureShare) {
        t.snd_mem_wait = true;
        ++snd_waiters_;
      }
    }
  }
  if (n > 0) mark_dirty(t);
  return n;
}

// --- Send memory (issue 14 item 2) ------------------------------------------------------------
//
// What a connection queues stays in the pool until the peer acknowledges it, and a peer that
// keeps its window shut (RFC 9293 3.8.6.1 lets it, for as long as it answers our probes)
// acknowledges nothing: many such peers would pin the whole pool through our send queues, as
// the receive side's budget prevents for what they send us. So the send queues of a lcore
// hold at most snd_mbuf_budget mbufs, a limit of their own beside the receive budget, both
// inside what the runtime leaves beyond the RX rings (the RX reserve). Below half the budget
// any connection takes what its sndbuf allows; beyond it (pressure) a connection takes at
// most kSndPressureShare mbufs, so that the hogs stop at the mark while every other
// connection can still queue a reply. send() then takes less than it was given, as a full
// sndbuf makes it do, and nothing queued is ever dropped. A connection over its share is
// woken by its own ACKs (ack_processing.cpp); one refused below its share (the lcore's budget
// spent) may have nothing in flight, so it is marked and woken by the layer once the budget
// has room again (flush). A peer that never opens its window is ended by the USER TIMEOUT
// (timers.cpp on_persist), which gives its mbufs back.
uint32_t TcpLayer::snd_allowance(const Tcb& t) const {
  const uint32_t held = t.sndq.mbufs();
  const uint32_t below_mark = snd_mbufs_ < snd_pressure_mark_ ? snd_pressure_mark_ - snd_mbufs_ : 0;
  const uint32_t share = held < kSndPressureShare ? kSndPressureShare - held : 0;
  const uint32_t room = snd_mbufs_ < snd_budget_ ? snd_budget_ - snd_mbufs_ : 0;
  return std::max(below_mark, std::min(share, room));
}

void TcpLayer::wake_snd_waiters(uint64_t now) {
  // A walk of the table, but only when some connection waits and the budget has room for
  // it, and at most once a millisecond: the waiters are few, the walk rare.
  snd_waiters_ = 0;
  snd_wake_not_before_ = now + kSndWakeIntervalNs;
  table_.for_each([&](Tcb& t) {
    if (!t.snd_mem_wait) return;
    t.snd_mem_wait = false;
    if (!t.want_writable) return;
    t.want_writable = false;
    t.ev_writable = true;
    mark_dirty(t);
  });
}

// As a send() of `bytes` that took less: `writable` comes when acknowledgements make room,
// and, when the connection's own buffer has room for them but memory has not, when the
// budget has room again (marked as a send refused by memory is; not when its own buffer is
// what is short, since its ACKs wake it then and a memory wake would only repeat).
void TcpLayer::want_writable(Conn* c, uint32_t bytes) {
  Tcb& t = *c;
  t.want_writable = true;
  if (own_send_room(t, options_of(t)) >= bytes && !t.snd_mem_wait &&
      t.sndq.mbufs() < kSndPressureShare) {
    t.snd_mem_wait = true;
    ++snd_waiters_;
  }
}

uint32_t TcpLayer::send_space(const Conn* c) const {
  const uint64_t memory = uint64_t{c->sndq.tail_room()} + uint64_t{snd_allowance(*c)} * snd_room_;
  return static_cast<uint32_t>(std::min<uint64_t>(own_send_room(*c, options_of(*c)), memory));
}

uint32_t TcpLayer::readable_bytes(const Conn* c) const {
  return c->rcvq.bytes();
}

size_t TcpLayer::peek(const Conn* c, ByteSpan* spans, size_t max) const {
  return c->rcvq.peek(spans, max);
}

size_t TcpLayer::read(Conn* c, uint8_t* out, size_t len) {
  size_t n = c->rcvq.copy(out, len);
  consume(c, static_cast<uint32_t>(n));
  return n;
}

void TcpLayer::consume(Conn* c, uint32_t n) {
  Tcb& t = *c;
  // The window field announces at most 65535 << Rcv.Wind.Shift (RFC 7323 2.3): buffer space
  // beyond that opens nothing. Uncapped, a 256 KiB buffer without window scaling made every
  // read a "window update", and so every segment an immediate ACK (no delayed ACK at all).
  const uint32_t most = 0xffffu << t.rcv_wscale;
  const uint32_t bytes_before = t.rcvq.bytes();
  const uint32_t mbufs_before = t.rcvq.mbufs();
  const bool pressure_before = rcv_pressure();
  t.rcvq.consume(n);
  rcv_mbufs_ -= mbufs_before - t.rcvq.mbufs();
  // A window update when the opening is worth it (3.8.6.2.2): at least an MSS or half the
  // buffer, or when the window had been closed -- and when this read opened it. The window
  // before the read is computed only then, from what was held before it: a small request
  // read whole fails the first tests, and it was half of consume's cost (issue 13).
  const uint32_t after = std::min(rcv_window(t), most);
  const uint32_t advertised =
      t.rcv_adv > t.rcv_nxt ? static_cast<uint32_t>(t.rcv_adv - t.rcv_nxt) : 0;
  if (after > advertised &&
      (advertised == 0 ||
       after - advertised >= std::min<uint32_t>(options_of(t).rcvbuf / 2, 2u * t.rcv_mss)) &&
      after > std::min(rcv_window_holding(t, bytes_before, mbufs_before, pressure_before), most)) {
    t.ack_now = true;
    mark_dirty(t);
  }
}

void TcpLayer::shutdown_write(Conn* c) {
  Tcb& t = *c;
  if (t.fin_queued) return;
  switch (t.state) {
    case State::syn_sent:
      // RFC 9293 3.10.4: CLOSE in SYN-SENT deletes the TCB.
      return finish(t, CloseReason::normal, now_);
    case State::syn_received:
    case State::established:
      t.fin_queued = true;
      set_state(t, State::fin_wait_1, StateCause::app_close);
      break;
    case State::close_wait:
      t.fin_queued = true;
      set_state(t, State::last_ack, StateCause::app_close);
      break;
    default:
      return;
  }
  mark_dirty(t);
}

void TcpLayer::close(Conn* c) {
  Tcb& t = *c;
  t.app_closed = true;
  rcv_mbufs_ -= t.rcvq.mbufs();
  t.rcvq.clear();
  t.want_writable = false;
  if (t.state == State::fin_wait_2) {
    set_timer(t, TimerKind::linger, now_ + config_.fin_wait_2_ns);
  }
  shutdown_write(c);
  mark_dirty(t);
}

void TcpLayer::abort(Conn* c) {
  Tcb& t = *c;
  if (t.state != State::syn_sent && t.state != State::closed && t.state != State::time_wait)
    send_rst(t);
  t.app_closed = true;
  finish(t, CloseReason::aborted, now_);
}

bool TcpLayer::set_nodelay(Conn* c, bool on) {
  ConnOptions o = options_of(*c);
  o.nodelay = on;
  if (!change_opts(*c, o)) return false;
  if (on) mark_dirty(*c);
  return true;
}

bool TcpLayer::set_keepalive(Conn* c, bool on, uint64_t idle_ns, uint64_t interval_ns,
                             uint8_t probes) {
  ConnOptions o = options_of(*c);
  o.keepalive = on;
  o.keepalive_idle_ns = idle_ns;
  o.keepalive_interval_ns = interval_ns;
  o.keepalive_probes = probes;
  if (!change_opts(*c, o)) return false;
  c->keepalive_probes = 0;
  if (on && is_synchronized(c->state))
    arm_keepalive(*c, now_);
  else
    stop_timer(*c, TimerKind::keepalive);
  return true;
}

bool TcpLayer::set_buffers(Conn* c, uint32_t sndbuf, uint32_t rcvbuf) {
  Tcb& t = *c;
  const uint32_t window_before = rcv_window(t);
  ConnOptions o = options_of(t);
  o.sndbuf = sndbuf;  // bounded as every set is (bounded_options)
  o.rcvbuf = rcvbuf;
  if (!change_opts(t, o)) return false;
  if (t.want_writable && send_space(c) > 0) {
    t.want_writable = false;
    t.ev_writable = true;
    mark_dirty(t);
  }
  if (is_synchronized(t.state) && rcv_window(t) > window_before) {
    t.ack_now = true;  // a window update, as when the application reads
    mark_dirty(t);
  }
  return true;
}

ConnCounts TcpLayer::counts(const Conn* c) const {
  const Tcb& t = *c;
  ConnCounts n;
  n.retransmits = t.event_count(&EventCounts::retransmits);
  n.timeouts = t.event_count(&EventCounts::rto_count);
  n.fast_recoveries = t.event_count(&EventCounts::fast_recoveries);
  n.dsacks = t.event_count(&EventCounts::dsacks_received);
  n.spurious_undos = t.event_count(&EventCounts::spurious_undos);
  n.spurious_retransmits = t.event_count(&EventCounts::spurious_retrans);
  n.tlp_probes = t.event_count(&EventCounts::tlp_probes);
  n.wscale = t.ws_ok;
  n.sack = t.sack_ok;
  n.timestamps = t.ts_ok;
  return n;
}

ConnInfo TcpLayer::info(const Conn* c) const {
  const Tcb& t = *c;
  ConnInfo i;
  static_cast<ConnCounts&>(i) = counts(c);
  i.state = state_name(t.state);
  i.srtt_us = static_cast<uint32_t>(t.rtt.srtt() / 1000);
  i.rttvar_us = static_cast<uint32_t>(t.rtt.rttvar() / 1000);
  i.rto_us = static_cast<uint32_t>(t.rtt.rto() / 1000);
  i.snd_mss = t.snd_mss;
  i.rcv_mss = t.rcv_mss;
  i.cwnd = t.cwnd;
  i.ssthresh = t.ssthresh;
  i.bytes_in_flight = t.flight_size();
  i.snd_wnd = t.snd_wnd;
  i.rcv_wnd = rcv_window(t);
  i.bytes_sent = t.bytes_sent();
  i.bytes_acked = t.bytes_acked();
  i.bytes_received = t.bytes_received();
  i.cc = cc::algorithm_name(t.cc.algo);
  i.ca_state = t.rto_recovery  ? "loss"
               : t.in_recovery ? "recovery"
               : t.dupacks > 0 ? "disorder"
                               : "open";
  i.pipe = t.sack_recovery() ? t.pipe() : t.flight_size();
  i.sacked_bytes = t.scoreboard().sacked_bytes();
  i.lost_bytes =
      t.sack_ok ? t.scoreboard().lost_bytes(t.snd_una, t.snd_max, t.snd_mss, t.rto_recovery) : 0;
  i.delivered = i.bytes_acked + t.scoreboard().sacked_bytes();
  i.reordering = t.dupthresh();
  i.rack = t.rack_on;
  i.rack_min_rtt_us = t.rack.min_rtt_us;
  i.rack_reo_wnd_us = t.rack_on ? rack_reo_wnd_us(t) : 0;
  i.rack_lost = t.event_count(&EventCounts::rack_losses);
  i.sndq_bytes = t.sndq.bytes();
  i.rcvq_bytes = t.rcvq.bytes();
  i.ooo_bytes = t.ooo ? t.ooo->bytes() : 0;
  return i;
}

}  // namespace pollux::tcp
