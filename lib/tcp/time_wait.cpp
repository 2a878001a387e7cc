// TIME-WAIT (RFC 9293 3.6, 3.10.7.4): entering it for 2 MSL, the compact record that answers
// for the pair once the TCB has gone back to the pool (time_wait_store.hpp), and ending it
// early for a new incarnation of the pair -- a peer's SYN that is provably newer (RFC 6191),
// or our own connect() when timestamps protect the new connection.
#include <algorithm>

#include "net/ethernet.hpp"
#include "tcp/acceptability.hpp"
#include "tcp/tcp_layer.hpp"

namespace pollux::tcp {

using base::Counter;
using net::tcp_flags::ack;
using net::tcp_flags::fin;
using net::tcp_flags::rst;
using net::tcp_flags::syn;

namespace {
constexpr uint64_t kReuseAfterMs = 1000;  // time_wait_reusable(): a second of TIME-WAIT

// How long ago a TIME-WAIT began, from its start in whole ms (the TCB's time_wait_since_ms
// and the record's since_ms keep the same wrapping 32-bit ms clock).
uint32_t ms_since(uint32_t since_ms, uint64_t now) {
  return static_cast<uint32_t>(now / kNsPerMs) - since_ms;
}

// When a TIME-WAIT begun at since_ms may be reused: now if it already may, else the ms
// boundary a second after its start.
uint64_t reusable_at(uint32_t since_ms, uint64_t now) {
  const uint32_t age_ms = ms_since(since_ms, now);
  if (age_ms >= kReuseAfterMs) return now;
  return (now / kNsPerMs + kReuseAfterMs - age_ms) * kNsPerMs;
}
}  // namespace

void TcpLayer::enter_time_wait(Tcb& t, StateCause why, uint64_t now) {
  set_state(t, State::time_wait, why);
  t.time_wait_since_ms = static_cast<uint32_t>(now / kNsPerMs);
  // Linger too: an orphaned FIN-WAIT-2's limit is not TIME-WAIT's end.
  for (TimerKind k : {TimerKind::retransmit, TimerKind::delayed_ack, TimerKind::persist,
                      TimerKind::keepalive, TimerKind::linger})
    stop_timer(t, k);
  // The application's part is over. The TCB stays until the flush has sent its ACK
  // (file_time_wait); a record absorbs old duplicates for the rest of 2 MSL, which runs
  // from time_wait_since_ms (time_wait_end). The linger timer is not armed here: the flush
  // that follows this input files the TCB, and an arm the filing would only read back cost
  // ~40 instructions per connection (issue 13). The flush arms it for a TCB that stays.
  finish(t, CloseReason::normal, now);
}

uint64_t TcpLayer::time_wait_end(const Tcb& t, uint64_t now) const {
  // 2 MSL from the start (RFC 9293 3.10.7.4), at the boundary of the tick it falls in, where
  // a linger timer set at the start would have run (set_timer): the start is kept in whole
  // ms, and `now` is the input's that began it when its own flush asks (Engine::input).
  return ceil_tick(now + 2 * config_.msl_ns -
                   uint64_t{ms_since(t.time_wait_since_ms, now)} * kNsPerMs) *
         TimerTicks::kTickNs;
}

void TcpLayer::file_time_wait(Tcb& t, uint64_t now) {
  // Where TIME-WAIT's end is, or where a restart (the peer's FIN again) moved it.
  const uint64_t expiry =
      timer_set(t, TimerKind::linger) ? timer_due_ns(t, TimerKind::linger) : time_wait_end(t, now);
  if (tw_.size() == tw_.capacity()) {
    // Full: the oldest record, nearest its end anyway, gives way to the newest pair.
    TimeWaitRecord& old = *tw_.oldest();
    counters_.inc(Counter::tcp_time_wait_evicted);
    note_transition([&] { return tw_.tuple_of(old); }, State::time_wait, State::closed,
                    StateCause::time_wait_evicted);
    tw_.erase(old);
    tuple_freed();
  }
  bool evicted = false;
  TimeWaitRecord& r = tw_.insert(t.tuple(), expiry, evicted);
  r.snd_nxt = t.snd_max;  // everything is acknowledged, our FIN too: SND.UNA = SND.MAX
  r.rcv_nxt = t.rcv_nxt;
  r.rcv_wnd = t.rcv_adv > t.rcv_nxt ? static_cast<uint32_t>(t.rcv_adv - t.rcv_nxt) : 0;
  r.max_snd_wnd = t.max_snd_wnd;
  r.ts_recent = t.ts_recent;
  r.ts_offset = t.ts_offset;
  r.since_ms = t.time_wait_since_ms;
  // The window our ACKs have offered (send_segment: the right edge never moves left, and
  // nothing is read any more, so it stays what the last ACK said).
  r.window = static_cast<uint16_t>(std::min<uint32_t>(r.rcv_wnd >> t.rcv_wscale, 0xffff));
  r.ts_ok = t.ts_ok;
  r.sack_ok = t.sack_ok;
  (void)now;
  // Handed over, not a transition: the pair stays in TIME-WAIT, as the record. The TCB
  // leaves the table and goes back to the pool CLOSED without a CLOSED arc in the trace.
  t.state = State::closed;
  // Out of the table here, not in release_tcb: the record holds the tuple, no port came free.
  if (t.in_flow_table()) table_.erase(t);
  release_tcb(t);
}

bool TcpLayer::time_wait_accepts_syn(const Tcb& t, const net::TcpHeader& seg,
                                     const net::TcpOptions& opts) const {
  // RFC 6191 2: with timestamps, the SYN's TSval must be newer than the last one seen from
  // the old connection; without, its sequence number must lie beyond the old RCV.NXT.
  if (t.ts_ok) return opts.has_timestamps && static_cast<int32_t>(opts.ts_val - t.ts_recent) > 0;
  return seg.seq > t.rcv_nxt;
}

bool TcpLayer::time_wait_accepts_syn(const TimeWaitRecord& r, const net::TcpHeader& seg,
                                     const net::TcpOptions& opts) const {
  // As for a TCB (RFC 6191 2).
  if (r.ts_ok) return opts.has_timestamps && static_cast<int32_t>(opts.ts_val - r.ts_recent) > 0;
  return seg.seq > r.rcv_nxt;
}

bool TcpLayer::time_wait_reusable(const Tcb& t, uint64_t now) const {
  // Timestamps on the old connection, and at least a second since it ended: our TSval (1 ms
  // clock) is then certainly newer than anything the peer recorded, so its PAWS (RFC 7323
  // 5) throws away stray segments of the old incarnation and accepts the new SYN (RFC 6191).
  // The start is in ms, as the record's (Timing::time_wait_since_ms).
  return t.state == State::time_wait && t.ts_ok &&
         ms_since(t.time_wait_since_ms, now) >= kReuseAfterMs;
}

bool TcpLayer::time_wait_reusable(const TimeWaitRecord& r, uint64_t now) const {
  // As for a TCB; the record keeps the start in ms (wrapping differences are fine).
  return r.ts_ok && ms_since(r.since_ms, now) >= kReuseAfterMs;
}

uint64_t TcpLayer::time_wait_reusable_at(const Tcb& t, uint64_t now) const {
  if (t.state != State::time_wait || !t.ts_ok) return UINT64_MAX;  // freed, not reused
  return reusable_at(t.time_wait_since_ms, now);
}

uint64_t TcpLayer::time_wait_reusable_at(const TimeWaitRecord& r, uint64_t now) const {
  // Without timestamps only its end (expire_time_wait: tuple_freed) gives the tuple back.
  if (!r.ts_ok) return UINT64_MAX;
  return reusable_at(r.since_ms, now);
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

void TcpLayer::recycle_time_wait(TimeWaitRecord& r) {
  counters_.inc(Counter::tcp_time_wait_recycled);
  note_transition([&] { return tw_.tuple_of(r); }, State::time_wait, State::closed,
                  StateCause::time_wait_recycled);
  tw_.erase(r);
  tuple_freed();
}

void TcpLayer::expire_time_wait(uint64_t now) {
  // FIFO: every record lives 2 MSL from its last (re)start, so the front is due first.
  for (TimeWaitRecord* r = tw_.oldest(); r && r->expiry_ns <= now; r = tw_.oldest()) {
    note_transition([&] { return tw_.tuple_of(*r); }, State::time_wait, State::closed,
                    StateCause::time_wait_expired);
    tw_.erase(*r);
    tuple_freed();
  }
}

void TcpLayer::time_wait_input(TimeWaitRecord& r, base::UniqueMbuf m, const net::TcpHeader& seg,
                               const net::TcpOptions& opts, uint64_t now) {
  // input_synchronized's steps for TIME-WAIT, in the RFC's order. Nothing of the segment is
  // kept: its buffer carries the answer, which goes out at once (a TCB's would wait for the
  // flush), or goes back to the pool first (keep_spare).
  keep_spare(m);
  const uint32_t seg_len = seg.seg_len();
  // RFC 7323 5.3 PAWS: an old timestamp is a duplicate from an earlier incarnation.
  if (r.ts_ok && opts.has_timestamps && !seg.has(rst) &&
      static_cast<int32_t>(opts.ts_val - r.ts_recent) < 0) {
    counters_.inc(Counter::drop_tcp_paws);
    return send_time_wait_ack(r, std::nullopt, now);
  }
  // First: the acceptability test against the window our ACKs offered.
  if (!segment_acceptable(r.rcv_nxt, r.rcv_wnd, seg.seq, seg_len)) {
    // An unacceptable RST is dropped without an answer (RFC 5961 3.2), counted.
    if (seg.has(rst)) return counters_.inc(Counter::drop_tcp_rst_unacceptable);
    std::optional<net::SackBlock> dsack;
    // RFC 2883 4: a duplicate wholly below RCV.NXT is reported in the ACK it draws.
    const Seq dup_end = seg.seq + static_cast<uint32_t>(seg.payload.size());
    if (r.sack_ok && seg_len > 0 && seg.seq < r.rcv_nxt && !seg.payload.empty() &&
        seg.seq < net::seq_min(dup_end, r.rcv_nxt))
      dsack = net::SackBlock{seg.seq, net::seq_min(dup_end, r.rcv_nxt)};
    // The peer's FIN again: our ACK of it was lost. "Acknowledge it, and restart the 2 MSL
    // timeout" (RFC 9293 3.10.7.4, eighth, TIME-WAIT STATE).
    if (seg.has(fin) && seg.seq + seg_len == r.rcv_nxt) tw_.restart(r, now + 2 * config_.msl_ns);
    counters_.inc(Counter::drop_tcp_out_of_window);
    return send_time_wait_ack(r, dsack, now);
  }
  // Second: RST (RFC 5961 3.2): in the window but not exact draws a challenge ACK; an exact
  // one is ignored all the same: RFC 1337, no TIME-WAIT assassination.
  if (seg.has(rst)) {
    if (seg.seq != r.rcv_nxt && take_challenge_ack(now)) send_time_wait_ack(r, std::nullopt, now);
    return;
  }
  // Fourth: a SYN that is not a newer incarnation (RFC 5961 4.2): challenge ACK.
  if (seg.has(syn)) {
    if (take_challenge_ack(now)) send_time_wait_ack(r, std::nullopt, now);
    return;
  }
  // Fifth: no ACK, no processing.
  if (!seg.has(ack)) return;
  // RFC 7323 4.3: the newest timestamp of a segment covering our last ACK (at RCV.NXT).
  if (r.ts_ok && opts.has_timestamps && seg.seq <= r.rcv_nxt &&
      static_cast<int32_t>(opts.ts_val - r.ts_recent) >= 0)
    r.ts_recent = opts.ts_val;
  // The ACK (ack_processing.cpp's first checks): for something never sent, answer; far
  // older than anything sent, challenge (RFC 5961 5.2).
  if (seg.ack > r.snd_nxt) {
    counters_.inc(Counter::drop_tcp_ack_unsent);
    return send_time_wait_ack(r, std::nullopt, now);
  }
  if (seg.ack < r.snd_nxt - r.max_snd_wnd) {
    if (take_challenge_ack(now)) send_time_wait_ack(r, std::nullopt, now);
    return;
  }
  // Only a retransmitted FIN can arrive: acknowledge it and restart 2 MSL.
  if (seg.has(fin)) {
    tw_.restart(r, now + 2 * config_.msl_ns);
    send_time_wait_ack(r, std::nullopt, now);
  }
}

void TcpLayer::send_time_wait_ack(const TimeWaitRecord& r,
                                  const std::optional<net::SackBlock>& dsack, uint64_t now) {
  // What send_segment builds for a TCB's pure ACK in TIME-WAIT.
  if (!out_has_room()) return;
  net::TcpOptions o;
  o.has_timestamps = r.ts_ok;
  if (r.ts_ok) {
    o.ts_val = static_cast<uint32_t>(now / 1'000'000) + r.ts_offset;  // tsval()
    o.ts_ecr = r.ts_recent;
  }
  if (r.sack_ok && dsack) {
    o.sack[0] = *dsack;
    o.sack_count = 1;
  }
  const size_t opt_len = net::tcp_options_length(o);
  const net::FourTuple tuple = tw_.tuple_of(r);
  const size_t ip_len = ip_header_len(tuple);
  const size_t kHeaders = net::kEthernetHeaderLen + ip_len + net::kTcpMinHeaderLen;
  rte_mbuf* m = alloc_datagram(static_cast<uint16_t>(kHeaders + opt_len));
  if (!m) {
    counters_.inc(Counter::drop_tcp_no_mbuf);
    return;
  }
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  uint8_t* tcp = p + net::kEthernetHeaderLen + ip_len;
  net::TcpBuild b;
  b.src_port = r.local_port;
  b.dst_port = r.remote_port;
  b.seq = r.snd_nxt;
  b.ack = r.rcv_nxt;
  b.flags = ack;
  b.window = r.window;
  b.options_len = static_cast<uint8_t>(opt_len);
  net::write_tcp_options(tcp + net::kTcpMinHeaderLen, o);
  net::write_tcp_header(tcp, b);
  (void)write_ip_header(p + net::kEthernetHeaderLen, tuple,
                        static_cast<uint16_t>(net::kTcpMinHeaderLen + opt_len), ip_id_);
  if (!r.v6) ++ip_id_;
  out_[out_count_++] = m;
  counters_.inc(Counter::tcp_segs_out);
}

State TcpLayer::state_of(const net::FourTuple& tuple) {
  if (const Tcb* t = table_.find(tuple)) return t->state;
  return tw_.find(tuple) ? State::time_wait : State::closed;
}

}  // namespace pollux::tcp
