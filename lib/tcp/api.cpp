// The application interface (pollux/tcp.hpp), event delivery, and TCB life cycle.
#include <algorithm>
#include <bit>

#include "tcp/tcp_layer.hpp"

namespace pollux::tcp {

using net::tcp_flags::syn;
using base::Counter;

TcpLayer::TcpLayer(const TcpConfig& config, rte_mempool* pool, uint16_t local_mtu,
                   base::Counters& counters, uint64_t now_ns)
    : config_(config),
      pool_(pool),
      mtu_(local_mtu),
      counters_(counters),
      isn_(config.isn_key ? *config.isn_key : IsnGenerator::random_key()),
      wheel_(base::TimerWheelConfig{}, now_ns),
      table_(std::max<uint32_t>(config.max_connections, 1)),
      tcbs_(new Tcb[std::max<uint32_t>(config.max_connections, 1)]),
      listeners_(config.max_listeners),
      next_ephemeral_(0),
      now_(now_ns) {
  for (uint32_t i = 0; i < std::max<uint32_t>(config.max_connections, 1); ++i) {
    Tcb& t = tcbs_[i];
    t.rexmt_timer.bind(TimerKind::retransmit, &t);
    t.delack_timer.bind(TimerKind::delayed_ack, &t);
    t.persist_timer.bind(TimerKind::persist, &t);
    t.keepalive_timer.bind(TimerKind::keepalive, &t);
    t.linger_timer.bind(TimerKind::linger, &t);
    free_.push_front(t);
  }
  ooo_pool_.reserve(config.ooo_queues);
  for (uint32_t i = 0; i < config.ooo_queues; ++i) {
    ooo_pool_.push_back(std::make_unique<ReassemblyQueue>());
    ooo_free_.push_back(ooo_pool_.back().get());
  }
}

TcpLayer::~TcpLayer() {
  for (size_t i = 0; i < out_count_; ++i) rte_pktmbuf_free(out_[i]);
  dirty_.clear();
  table_.clear();
  free_.clear();
  for (uint32_t i = 0; i < std::max<uint32_t>(config_.max_connections, 1); ++i) {
    Tcb& t = tcbs_[i];
    t.sndq.clear();
    t.rcvq.clear();
    if (t.ooo) t.ooo->clear();
  }
}

Tcb* TcpLayer::alloc_tcb() {
  if (free_.empty()) return nullptr;
  Tcb& t = free_.front();
  free_.pop_front();
  return &t;
}

void TcpLayer::init_tcb(Tcb& t, const net::FourTuple& tuple, const ConnOptions& opts,
                        uint64_t now) {
  t.tuple = tuple;
  t.state = State::closed;
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
  t.dsack_pending = false;
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
  t.close_reason = CloseReason::kNormal;
  t.bytes_sent = t.bytes_acked = t.bytes_received = 0;
  t.retransmits = 0;
  t.in_use = true;
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
  t.rcvq.clear();
  release_ooo(t);
  t.state = State::closed;
  t.in_use = false;
  t.events = nullptr;
  free_.push_front(t);
}

void TcpLayer::mark_dirty(Tcb& t) {
  if (t.dirty) return;
  t.dirty = true;
  dirty_.push_back(t);
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

void TcpLayer::finish(Tcb& t, CloseReason why, uint64_t /*now*/) {
  if (t.events && !t.closed_pending) {
    t.closed_pending = true;
    t.close_reason = why;
  }
  if (t.state != State::time_wait) {
    // CLOSED: the tuple is free again at once; the TCB itself goes after the `closed` event.
    t.state = State::closed;
    if (t.in_flow_table()) table_.erase(t);
    cancel_timers(t);
    if (t.listener) --t.listener->pending;
    t.listener = nullptr;
  }
  mark_dirty(t);
}

void TcpLayer::deliver_events(Tcb& t) {
  const AppEvents* ev = t.events;
  if (!ev) return;
  if (t.ev_established) {
    t.ev_established = false;
    if (t.passive) {
      if (ev->accepted) ev->accepted(t.ctx, &t);
    } else if (ev->connected) {
      ev->connected(t.ctx, &t);
    }
  }
  // Each callback may close or abort the connection: re-check before the next.
  if (t.ev_readable && !t.app_closed && t.events) {
    t.ev_readable = false;
    if (ev->readable && t.rcvq.bytes() > 0) ev->readable(t.ctx, &t);
  }
  if (t.ev_writable && !t.app_closed && t.events) {
    t.ev_writable = false;
    if (ev->writable) ev->writable(t.ctx, &t);
  }
  if (t.ev_peer_closed && !t.app_closed && t.events) {
    t.ev_peer_closed = false;
    if (ev->peer_closed) ev->peer_closed(t.ctx, &t);
  }
  if (t.closed_pending && t.events) {
    t.closed_pending = false;
    t.events = nullptr;  // the last event: the application forgets this Conn now
    if (ev->closed) ev->closed(t.ctx, &t, t.close_reason);
  }
}

void TcpLayer::flush(uint64_t now) {
  now_ = now;
  // Work on a snapshot: connections dirtied by callbacks go to the next round, so a
  // callback that keeps writing cannot keep this loop going.
  decltype(dirty_) work;
  work.swap(dirty_);
  while (!work.empty()) {
    Tcb& t = work.front();
    work.pop_front();
    t.dirty = false;
    deliver_events(t);
    if (t.state == State::closed) {
      if (!t.closed_pending) release_tcb(t);
      continue;
    }
    output(t, now);
  }
}

void TcpLayer::poll(uint64_t now) {
  now_ = now;
  wheel_.advance(now, [this, now](base::Timer& timer) { on_timer(timer, now); });
  flush(now);
}

// --- Application calls ---------------------------------------------------------------------

TcpError TcpLayer::listen(uint16_t port, const AppEvents* events, void* ctx, uint32_t backlog,
                          const ConnOptions& opts) {
  if (port == 0 || !events) return TcpError::kInvalid;
  Listener* slot = nullptr;
  for (Listener& l : listeners_) {
    if (l.active && l.port == port) return TcpError::kPortInUse;
    if (!l.active && !slot) slot = &l;
  }
  if (!slot) return TcpError::kBacklogFull;
  *slot = Listener{port, true, events, ctx, std::max<uint32_t>(backlog, 1), 0, opts};
  return TcpError::kOk;
}

void TcpLayer::unlisten(uint16_t port) {
  for (Listener& l : listeners_)
    if (l.active && l.port == port) l.active = false;
}

Conn* TcpLayer::connect(net::Ipv4Addr local, net::Ipv4Addr remote, uint16_t remote_port,
                        const AppEvents* events, void* ctx, uint16_t local_port,
                        const ConnOptions& opts, TcpError& error, uint64_t now) {
  now_ = now;
  if (remote_port == 0 || remote.is_unspecified() || remote.is_broadcast() ||
      remote.is_multicast() || remote == local) {
    error = TcpError::kInvalid;
    return nullptr;
  }
  net::FourTuple tuple{local, remote, local_port, remote_port};
  if (local_port != 0) {
    if (Tcb* old = table_.find(tuple)) {
      if (!time_wait_reusable(*old, now)) {
        error = TcpError::kPortInUse;
        return nullptr;
      }
      recycle_time_wait(*old, now);
    }
  } else {
    // Ephemeral port, RFC 6056 3.3.3 (Algorithm 3): a keyed hash of the destination picks
    // where the search starts, a shared counter moves it on. Ports are hard to guess, and a
    // new process does not retry the tuples its predecessor left in the peer's TIME-WAIT.
    const uint32_t span = config_.ephemeral_last - config_.ephemeral_first + 1u;
    const uint32_t offset = isn_.hash_component(net::FourTuple{local, remote, 0, remote_port});
    // A port whose tuple only our own TIME-WAIT holds is as good as a free one once reuse
    // is safe (RFC 6191, see time_wait_reusable): the counter walks ports in the order they
    // were handed out, so at high connection rates the next candidate is the oldest
    // TIME-WAIT, and a busy port space costs one lookup per connect, not a scan of it.
    // With sharding (issue 6) only ports whose replies come back to this lcore qualify.
    const auto port_ok = config_.ephemeral_port_ok;
    bool found = false;
    for (uint32_t i = 0; i < span && !found; ++i) {
      tuple.local_port =
          static_cast<uint16_t>(config_.ephemeral_first + (offset + next_ephemeral_) % span);
      ++next_ephemeral_;
      if (port_ok && !port_ok(config_.ephemeral_port_ctx, tuple)) continue;
      Tcb* old = table_.find(tuple);
      if (!old) {
        found = true;
      } else if (time_wait_reusable(*old, now)) {
        recycle_time_wait(*old, now);
        found = true;
      }
    }
    if (!found) {
      error = TcpError::kNoEphemeralPort;
      return nullptr;
    }
  }
  Tcb* t = alloc_tcb();
  if (!t) {
    error = TcpError::kTableFull;
    return nullptr;
  }
  init_tcb(*t, tuple, opts, now);
  t->events = events;
  t->ctx = ctx;
  t->state = State::syn_sent;
  if (table_.insert(*t) != base::InsertResult::kInserted) {
    release_tcb(*t);
    error = TcpError::kTableFull;
    return nullptr;
  }
  counters_.inc(Counter::tcp_active_opens);
  send_segment(*t, t->iss, syn, 0, 0, now);
  if (!t->rexmt_timer.is_armed()) arm_rexmt(*t, now);
  error = TcpError::kOk;
  return t;
}

bool TcpLayer::time_wait_reusable(const Tcb& t, uint64_t now) const {
  // Timestamps on the old connection, and at least a second since it ended: our TSval (1 ms
  // clock) is then certainly newer than anything the peer recorded, so its PAWS (RFC 7323
  // 5) throws away stray segments of the old incarnation and accepts the new SYN (RFC 6191).
  return t.state == State::time_wait && t.ts_ok && now - t.time_wait_since_ns >= 1'000'000'000;
}

void TcpLayer::recycle_time_wait(Tcb& t, uint64_t now) {
  counters_.inc(Counter::tcp_time_wait_recycled);
  t.state = State::closed;
  finish(t, CloseReason::kNormal, now);  // leaves the table now; the TCB is freed at flush
}

size_t TcpLayer::send(Conn* c, std::span<const uint8_t> data) {
  Tcb& t = *c;
  const bool open = t.state == State::established || t.state == State::close_wait ||
                    t.state == State::syn_sent || t.state == State::syn_received;
  if (!open || t.fin_queued || t.app_closed) return 0;
  size_t n = t.sndq.append(data, t.opts.sndbuf, pool_);
  if (n < data.size()) t.want_writable = true;
  if (n > 0) mark_dirty(t);
  return n;
}

uint32_t TcpLayer::send_space(const Conn* c) const {
  return c->opts.sndbuf > c->sndq.bytes() ? c->opts.sndbuf - c->sndq.bytes() : 0;
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
  const uint32_t before = std::min(rcv_window(t), most);
  t.rcvq.consume(n);
  // A window update when the opening is worth it (3.8.6.2.2): at least an MSS or half the
  // buffer, or when the window had been closed.
  const uint32_t after = std::min(rcv_window(t), most);
  const uint32_t advertised =
      t.rcv_adv > t.rcv_nxt ? static_cast<uint32_t>(t.rcv_adv - t.rcv_nxt) : 0;
  if (after > advertised &&
      (advertised == 0 ||
       after - advertised >= std::min<uint32_t>(t.opts.rcvbuf / 2, 2u * t.rcv_mss)) &&
      after > before) {
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
      return finish(t, CloseReason::kNormal, now_);
    case State::syn_received:
    case State::established:
      t.fin_queued = true;
      t.state = State::fin_wait_1;
      break;
    case State::close_wait:
      t.fin_queued = true;
      t.state = State::last_ack;
      break;
    default:
      return;
  }
  mark_dirty(t);
}

void TcpLayer::close(Conn* c) {
  Tcb& t = *c;
  t.app_closed = true;
  t.rcvq.clear();
  t.want_writable = false;
  if (t.state == State::fin_wait_2) {
    wheel_.arm(t.linger_timer, now_ + config_.fin_wait_2_ns);
  }
  shutdown_write(c);
  mark_dirty(t);
}

void TcpLayer::abort(Conn* c) {
  Tcb& t = *c;
  if (t.state != State::syn_sent && t.state != State::closed && t.state != State::time_wait)
    send_rst(t);
  t.app_closed = true;
  finish(t, CloseReason::kAborted, now_);
}

void TcpLayer::set_nodelay(Conn* c, bool on) {
  c->opts.nodelay = on;
  if (on) mark_dirty(*c);
}

void TcpLayer::set_keepalive(Conn* c, bool on, uint64_t idle_ns, uint64_t interval_ns,
                             uint8_t probes) {
  c->opts.keepalive = on;
  c->opts.keepalive_idle_ns = idle_ns;
  c->opts.keepalive_interval_ns = interval_ns;
  c->opts.keepalive_probes = probes;
  c->keepalive_probes = 0;
  if (on && is_synchronized(c->state))
    arm_keepalive(*c, now_);
  else
    base::TimerWheel::cancel(c->keepalive_timer);
}

void TcpLayer::set_buffers(Conn* c, uint32_t sndbuf, uint32_t rcvbuf) {
  Tcb& t = *c;
  const uint32_t window_before = rcv_window(t);
  t.opts.sndbuf = std::max<uint32_t>(sndbuf, 4096);
  t.opts.rcvbuf = std::clamp<uint32_t>(rcvbuf, 4096, 1u << 30);
  if (t.want_writable && send_space(c) > 0) {
    t.want_writable = false;
    t.ev_writable = true;
    mark_dirty(t);
  }
  if (is_synchronized(t.state) && rcv_window(t) > window_before) {
    t.ack_now = true;  // a window update, as when the application reads
    mark_dirty(t);
  }
}

ConnInfo TcpLayer::info(const Conn* c) const {
  const Tcb& t = *c;
  ConnInfo i;
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
  i.bytes_sent = t.bytes_sent;
  i.bytes_acked = t.bytes_acked;
  i.bytes_received = t.bytes_received;
  i.retransmits = t.retransmits;
  i.cc = cc::algorithm_name(t.cc.algo);
  i.ca_state = t.rto_recovery  ? "loss"
               : t.in_recovery ? "recovery"
               : t.dupacks > 0 ? "disorder"
                               : "open";
  i.pipe = t.sack_recovery() ? t.pipe() : t.flight_size();
  i.sacked_bytes = t.scoreboard.sacked_bytes();
  i.lost_bytes =
      t.sack_ok ? t.scoreboard.lost_bytes(t.snd_una, t.snd_max, t.snd_mss, t.rto_recovery) : 0;
  i.delivered = t.bytes_acked + t.scoreboard.sacked_bytes();
  i.timeouts = t.rto_count;
  i.fast_recoveries = t.fast_recoveries;
  i.dsacks = t.dsacks_received;
  i.spurious_undos = t.spurious_undos;
  i.spurious_retransmits = t.spurious_retrans;
  i.reordering = t.scoreboard.dupthresh();
  i.rack = t.rack_on;
  i.rack_min_rtt_us = t.rack.min_rtt_us;
  i.rack_reo_wnd_us = t.rack_on ? rack_reo_wnd_us(t) : 0;
  i.rack_lost = t.rack_losses;
  i.tlp_probes = t.tlp_probes;
  i.sndq_bytes = t.sndq.bytes();
  i.rcvq_bytes = t.rcvq.bytes();
  i.ooo_bytes = t.ooo ? t.ooo->bytes() : 0;
  i.wscale = t.ws_ok;
  i.sack = t.sack_ok;
  i.timestamps = t.ts_ok;
  return i;
}

void TcpLayer::icmp_frag_needed(const net::Ipv4Header& quoted_ip, net::Bytes quoted_l4,
                                uint16_t mtu, uint64_t now) {
  // RFC 5927 4.1: believe the message only if it quotes a segment we could have sent:
  // our connection, a sequence number in [SND.UNA, SND.MAX).
  if (quoted_l4.size() < 8 || quoted_ip.protocol != net::kIpProtoTcp) return;
  const uint16_t sport = net::load_be16(quoted_l4.data());
  const uint16_t dport = net::load_be16(quoted_l4.data() + 2);
  const Seq seq(net::load_be32(quoted_l4.data() + 4));
  Tcb* t = table_.find(net::FourTuple{quoted_ip.src, quoted_ip.dst, sport, dport});
  if (!t || !is_synchronized(t->state) || !net::seq_in_range(t->snd_una, seq, t->snd_max)) {
    counters_.inc(Counter::drop_tcp_icmp_invalid);
    return;
  }
  // RFC 1191 5: a next-hop MTU of 0 (old router) or an implausible one is ignored; never
  // go below the IPv4 minimum of 576 - 40 (RFC 1122 3.3.3 / RFC 9293 3.7.1).
  if (mtu < 576 || mtu >= mtu_) return;
  const auto mss = static_cast<uint16_t>(mtu - 40);
  if (mss >= t->snd_mss) return;
  t->snd_mss = mss;
  counters_.inc(Counter::tcp_pmtu_updates);
  // Resend what is in flight in smaller segments (RFC 1191 6.5: retransmit at once).
  t->snd_nxt = t->snd_una;  // a FIN in flight goes again after the data (see output)
  output(*t, now);
}

}  // namespace pollux::tcp
