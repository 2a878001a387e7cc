// SEGMENT ARRIVES (RFC 9293 3.10.7), with the RFC 5961 defences, RFC 7323 PAWS and
// timestamps, and RFC 5681/6582 congestion control on the ACK path.
#include <algorithm>

#include "tcp/tcp_layer.hpp"

namespace pollux::tcp {

using net::tcp_flags::ack;
using net::tcp_flags::fin;
using net::tcp_flags::rst;
using net::tcp_flags::syn;
using base::Counter;

bool TcpLayer::input(rte_mbuf* m, const net::Ipv4Header& ip, const net::TcpHeader& seg,
                     const net::TcpOptions& opts, uint64_t now) {
  now_ = now;
  const net::FourTuple key{ip.dst, ip.src, seg.dst_port, seg.src_port};
  Tcb* t = table_.find(key);
  if (t && t->state == State::time_wait && seg.has(syn) && !seg.has(ack) && !seg.has(rst) &&
      time_wait_accepts_syn(*t, seg, opts)) {
    // RFC 6191 (and RFC 9293 3.6.1): a new incarnation of the pair, provably newer than the
    // old one, ends TIME-WAIT early; the SYN then meets the listener like any other.
    counters_.inc(Counter::tcp_time_wait_recycled);
    t->state = State::closed;
    finish(*t, CloseReason::kNormal, now);
    t = nullptr;
  }
  if (t) {
    counters_.inc(Counter::tcp_segs_in);
    if (t->state == State::syn_sent) input_syn_sent(*t, m, seg, opts, now);
    else input_synchronized(*t, m, ip, seg, opts, now);
    return true;
  }
  for (Listener& l : listeners_) {
    if (!l.active || l.port != seg.dst_port) continue;
    // RFC 9293 3.10.7.2 (LISTEN): a RST is ignored; an ACK gets <SEQ=SEG.ACK><CTL=RST>,
    // which is what the engine's CLOSED answer does; only a SYN is for us.
    if (seg.has(rst)) {
      rte_pktmbuf_free(m);
      return true;
    }
    if (seg.has(ack)) return false;
    counters_.inc(Counter::tcp_segs_in);
    if (seg.has(syn)) input_listen(l, m, ip, seg, opts, now);
    else rte_pktmbuf_free(m);
    return true;
  }
  return false;
}

bool TcpLayer::time_wait_accepts_syn(const Tcb& t, const net::TcpHeader& seg,
                                     const net::TcpOptions& opts) const {
  // RFC 6191 2: with timestamps, the SYN's TSval must be newer than the last one seen from
  // the old connection; without, its sequence number must lie beyond the old RCV.NXT.
  if (t.ts_ok) return opts.has_timestamps && static_cast<int32_t>(opts.ts_val - t.ts_recent) > 0;
  return seg.seq > t.rcv_nxt;
}

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
                            const net::TcpHeader& seg, const net::TcpOptions& opts,
                            uint64_t now) {
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

void TcpLayer::input_syn_sent(Tcb& t, rte_mbuf* m, const net::TcpHeader& seg,
                              const net::TcpOptions& opts, uint64_t now) {
  rte_pktmbuf_free(m);
  // RFC 9293 3.10.7.3. First the ACK: it must acknowledge our SYN and nothing else.
  if (seg.has(ack) && (seg.ack <= t.iss || seg.ack > t.snd_max)) {
    if (!seg.has(rst)) {
      net::Ipv4Header ip{};
      ip.src = t.tuple.remote_ip;
      ip.dst = t.tuple.local_ip;
      send_rst_for(ip, seg);
    }
    return;
  }
  if (seg.has(rst)) {
    // RFC 5961 3.2 does not apply here: an acceptable ACK makes the RST believable.
    if (seg.has(ack)) {
      counters_.inc(Counter::tcp_attempt_fails);
      finish(t, CloseReason::kRefused, now);
    }
    return;
  }
  if (!seg.has(syn)) return;
  t.irs = seg.seq;
  t.rcv_nxt = seg.seq + 1;
  t.rcv_adv = t.last_ack_sent = t.rcv_nxt;  // as in input_listen
  negotiate(t, opts);
  if (!seg.has(ack)) {
    // Simultaneous open (3.10.7.3 fourth): answer <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.
    t.state = State::syn_received;
    t.snd_wnd = seg.window;
    t.snd_wl1 = seg.seq;
    send_segment(t, t.iss, syn | ack, 0, 0, now);
    return;
  }
  t.snd_una = seg.ack;
  t.snd_wnd = seg.window;  // unscaled in a SYN (RFC 7323 2.2)
  t.max_snd_wnd = t.snd_wnd;
  t.snd_wl1 = seg.seq;
  t.snd_wl2 = seg.ack;
  // RFC 6298 2.2 / Karn: time the handshake only if the SYN was not retransmitted.
  if (t.ts_ok && opts.ts_ecr != 0) {
    t.rtt.on_rtt_sample(static_cast<uint64_t>(tsval(t, now) - opts.ts_ecr) * 1'000'000);
  } else if (t.rexmt_count == 0 && t.rtt_timing) {
    t.rtt.on_rtt_sample(now - t.rtt_sent_ns);
  }
  t.rtt_timing = false;
  t.rtt.on_handshake_complete(t.rexmt_count > 0);  // RFC 6298 5.7
  t.rexmt_count = 0;
  base::TimerWheel::cancel(t.rexmt_timer);
  t.state = State::established;
  t.cwnd = std::min(config_.initial_window_segments * t.snd_mss,
                    std::max(2u * t.snd_mss, 14600u));
  t.ev_established = true;
  t.ack_now = true;
  arm_keepalive(t, now);
  mark_dirty(t);
}

void TcpLayer::input_synchronized(Tcb& t, rte_mbuf* m, const net::Ipv4Header& ip,
                                  const net::TcpHeader& seg, const net::TcpOptions& opts,
                                  uint64_t now) {
  const uint32_t seg_len = seg.seg_len();
  // A retransmitted SYN while we wait for the handshake's ACK: our SYN-ACK was lost.
  if (t.state == State::syn_received && seg.has(syn) && !seg.has(ack) && seg.seq == t.irs) {
    // RFC 7323 4.3: the SYN covers Last.ACK.sent, so its TSval becomes TS.Recent; echoing the
    // first SYN's instead would make the peer measure an RTT that includes its SYN timeout.
    if (t.ts_ok && opts.has_timestamps && static_cast<int32_t>(opts.ts_val - t.ts_recent) >= 0)
      t.ts_recent = opts.ts_val;
    rte_pktmbuf_free(m);
    send_segment(t, t.iss, syn | ack, 0, 0, now);
    return;
  }
  // Simultaneous open (RFC 9293 3.5 figure 7, lines 6-7): in SYN-RECEIVED the peer's SYN,ACK
  // repeats its SYN at IRS, which we already acknowledge, and acknowledges ours. The SYN is
  // the part of the segment below RCV.NXT: trim it (3.10.7.4 first: "trimmed to the window";
  // FreeBSD does the same) and let the ACK complete the handshake. Left whole, the segment
  // fails the acceptability test and the handshake never completes.
  if (t.state == State::syn_received && seg.has(syn) && seg.has(ack) && seg.seq == t.irs) {
    net::TcpHeader trimmed = seg;
    trimmed.flags = static_cast<uint8_t>(seg.flags & ~syn);
    trimmed.seq = seg.seq + 1;
    return input_synchronized(t, m, ip, trimmed, opts, now);
  }
  // RFC 7323 5.3 PAWS: a segment with a timestamp older than ts_recent is a duplicate from
  // an earlier incarnation of the sequence space.
  if (t.ts_ok && opts.has_timestamps && !seg.has(rst) &&
      static_cast<int32_t>(opts.ts_val - t.ts_recent) < 0) {
    rte_pktmbuf_free(m);
    counters_.inc(Counter::drop_tcp_paws);
    t.ack_now = true;
    mark_dirty(t);
    return;
  }

  // RFC 9293 3.10.7.4 first: the acceptability test against the window we advertised.
  const uint32_t wnd = t.rcv_adv > t.rcv_nxt ? static_cast<uint32_t>(t.rcv_adv - t.rcv_nxt) : 0;
  bool acceptable;
  if (seg_len == 0)
    acceptable = wnd == 0 ? seg.seq == t.rcv_nxt : net::seq_in_range(t.rcv_nxt, seg.seq, t.rcv_nxt + wnd);
  else
    acceptable = wnd != 0 && (net::seq_in_range(t.rcv_nxt, seg.seq, t.rcv_nxt + wnd) ||
                              net::seq_in_range(t.rcv_nxt, seg.seq + (seg_len - 1), t.rcv_nxt + wnd));
  // A zero-length ACK at rcv_nxt is always fine (a zero window must not block ACKs).
  if (!acceptable && seg_len == 0 && seg.seq == t.rcv_nxt) acceptable = true;
  if (!acceptable) {
    rte_pktmbuf_free(m);
    if (!seg.has(rst) && seg_len > 0 && seg.seq < t.rcv_nxt && !seg.payload.empty())
      // RFC 2883 4: a duplicate wholly below RCV.NXT is reported in the ACK it draws.
      note_dsack(t, seg.seq,
                 net::seq_min(seg.seq + static_cast<uint32_t>(seg.payload.size()), t.rcv_nxt));
    if (!seg.has(rst)) {
      // The peer's FIN again, in TIME-WAIT: our ACK of it was lost. "Acknowledge it, and
      // restart the 2 MSL timeout" (RFC 9293 3.10.7.4, eighth, TIME-WAIT STATE); a FIN is
      // always below RCV.NXT by then, so it lands here. Without the restart, a peer whose
      // FIN retransmissions back off past 2 MSL would meet a RST.
      if (t.state == State::time_wait && seg.has(fin) && seg.seq + seg_len == t.rcv_nxt)
        wheel_.arm(t.linger_timer, now + 2 * config_.msl_ns);
      // RFC 9293 3.10.7.4: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. Retransmitted data we already
      // have lands here too; the ACK tells the peer where we are.
      counters_.inc(Counter::drop_tcp_out_of_window);
      t.ack_now = true;
      mark_dirty(t);
    }
    return;
  }

  // Second: RST (RFC 5961 3.2): only an exact match resets; in-window gets a challenge ACK.
  if (seg.has(rst)) {
    rte_pktmbuf_free(m);
    if (seg.seq != t.rcv_nxt) {
      counters_.inc(Counter::tcp_challenge_acks);
      send_ack(t, now);
      return;
    }
    if (t.state == State::time_wait) return;  // RFC 1337: no TIME-WAIT assassination
    if (t.state == State::syn_received && t.passive) {
      // 3.10.7.4 second: back to LISTEN, which for us means forgetting the TCB quietly.
      if (t.listener) --t.listener->pending;
      t.listener = nullptr;
      t.events = nullptr;
      finish(t, CloseReason::kReset, now);
      return;
    }
    counters_.inc(Counter::tcp_established_resets);
    finish(t, t.state == State::syn_received ? CloseReason::kRefused : CloseReason::kReset, now);
    return;
  }
  // Fourth: a SYN in a synchronized state (RFC 5961 4.2): challenge ACK, drop.
  if (seg.has(syn)) {
    rte_pktmbuf_free(m);
    counters_.inc(Counter::tcp_challenge_acks);
    send_ack(t, now);
    return;
  }
  // Fifth: no ACK, no processing.
  if (!seg.has(ack)) {
    rte_pktmbuf_free(m);
    return;
  }
  if (t.state == State::syn_received) {
    if (seg.ack <= t.snd_una || seg.ack > t.snd_max) {
      rte_pktmbuf_free(m);
      send_rst_for(ip, seg);
      return;
    }
    if (t.listener) --t.listener->pending;
    t.listener = nullptr;
    t.state = State::established;
    t.snd_wnd = static_cast<uint32_t>(seg.window) << t.snd_wscale;
    t.max_snd_wnd = std::max(t.max_snd_wnd, t.snd_wnd);
    t.snd_wl1 = seg.seq;
    t.snd_wl2 = seg.ack;
    t.cwnd = std::min(config_.initial_window_segments * t.snd_mss,
                      std::max(2u * t.snd_mss, 14600u));
    t.rtt.on_handshake_complete(t.rexmt_count > 0);
    t.ev_established = true;
    arm_keepalive(t, now);
  }
  // RFC 7323 4.3: remember the newest timestamp of a segment that covers our last ACK.
  if (t.ts_ok && opts.has_timestamps && seg.seq <= t.last_ack_sent &&
      static_cast<int32_t>(opts.ts_val - t.ts_recent) >= 0)
    t.ts_recent = opts.ts_val;

  if (!process_ack(t, seg, opts, now)) {
    rte_pktmbuf_free(m);
    return;
  }
  // Our FIN is acknowledged once SND.UNA has passed it.
  const bool fin_acked = t.fin_sent && t.snd_una > t.snd_fin;
  switch (t.state) {
    case State::fin_wait_1:
      if (fin_acked) {
        t.state = State::fin_wait_2;
        if (t.app_closed) {
          // Orphaned: the application is gone; do not wait forever for the peer's FIN.
          t.linger_timer.bind(TimerKind::linger, &t);
          wheel_.arm(t.linger_timer, now + config_.fin_wait_2_ns);
        }
      }
      break;
    case State::closing:
      if (fin_acked) enter_time_wait(t, now);
      break;
    case State::last_ack:
      if (fin_acked) {
        rte_pktmbuf_free(m);
        finish(t, CloseReason::kNormal, now);
        return;
      }
      break;
    case State::time_wait:
      // Only a retransmitted FIN can arrive: acknowledge it and restart 2 MSL.
      rte_pktmbuf_free(m);
      if (seg.has(fin)) {
        t.ack_now = true;
        wheel_.arm(t.linger_timer, now + 2 * config_.msl_ns);
        mark_dirty(t);
      }
      return;
    default:
      break;
  }

  // Seventh: segment text. Eighth: FIN.
  const bool has_fin = seg.has(fin);
  const Seq fin_at = seg.seq + static_cast<uint32_t>(seg.payload.size());
  if (!seg.payload.empty() && (t.state == State::established || t.state == State::fin_wait_1 ||
                               t.state == State::fin_wait_2)) {
    process_data(t, m, ip, seg, now);
  } else {
    rte_pktmbuf_free(m);
  }
  if (has_fin && t.state != State::close_wait && t.state != State::closing &&
      t.state != State::last_ack && t.state != State::time_wait) {
    if (fin_at == t.rcv_nxt) {
      process_fin(t, now);
    } else if (t.rcv_nxt < fin_at && fin_at <= t.rcv_adv) {
      t.fin_in_ooo = true;  // the FIN waits for the hole before it to fill
      t.fin_seq = fin_at;
    }
  }
  if (t.fin_in_ooo && t.rcv_nxt == t.fin_seq) process_fin(t, now);
  if (t.opts.keepalive) {
    t.keepalive_probes = 0;
    arm_keepalive(t, now);
  }
  mark_dirty(t);
}

bool TcpLayer::process_ack(Tcb& t, const net::TcpHeader& seg, const net::TcpOptions& opts,
                           uint64_t now) {
  const Seq a = seg.ack;
  if (a > t.snd_max) {
    // RFC 9293 3.10.7.4 fifth: an ACK for something not yet sent: send an ACK, drop.
    counters_.inc(Counter::drop_tcp_ack_unsent);
    t.ack_now = true;
    mark_dirty(t);
    return false;
  }
  // RFC 5961 5.2: an ACK far older than anything in flight is suspicious: challenge.
  if (a < t.snd_una - t.max_snd_wnd) {
    counters_.inc(Counter::tcp_challenge_acks);
    t.ack_now = true;
    mark_dirty(t);
    return false;
  }
  const uint32_t new_wnd = static_cast<uint32_t>(seg.window) << t.snd_wscale;
  const bool window_changed = new_wnd != t.snd_wnd;
  // Send window update (3.10.7.4 fifth): only from a segment not older than the last one
  // that updated it, so a reordered old ACK cannot shrink the window.
  if (t.snd_una <= a && (t.snd_wl1 < seg.seq || (t.snd_wl1 == seg.seq && t.snd_wl2 <= a))) {
    t.snd_wnd = new_wnd;
    t.max_snd_wnd = std::max(t.max_snd_wnd, new_wnd);
    t.snd_wl1 = seg.seq;
    t.snd_wl2 = a;
    if (new_wnd > 0 && t.persist_timer.is_armed()) {
      base::TimerWheel::cancel(t.persist_timer);
      t.persist_shift = 0;
    }
  }
  if (a <= t.snd_una) {
    // SACK information arrives on duplicate ACKs (RFC 2018, RFC 6675 5).
    const uint32_t newly_sacked = a == t.snd_una ? sack_update(t, opts, now) : 0;
    // RFC 5681 2: a duplicate ACK carries no data, does not move the window, and arrives
    // while data is outstanding. RFC 6675 2 also counts one that SACKs new data.
    const bool dup =
        a == t.snd_una && t.flight_size() > 0 &&
        ((seg.payload.empty() && !seg.has(fin) && !window_changed) || newly_sacked > 0);
    if (!dup) {
      if (t.rack_on && newly_sacked > 0) rack_detect_loss(t, now);
      return true;
    }
    if (t.dupacks < 255) ++t.dupacks;
    // SACK: pipe (recomputed by output) accounts for what left the network. NewReno
    // (RFC 6582 3.2 step 4): inflate by one segment per duplicate.
    if (t.in_recovery && !t.sack_ok) t.cwnd += t.snd_mss;
    if (t.rack_on) {
      // RFC 8985: time decides, in recovery too (lost retransmissions); rack_detect_loss
      // starts recovery itself when the oldest hole is lost.
      rack_detect_loss(t, now);
    } else if (!t.in_recovery &&
               (t.dupacks >= t.scoreboard.dupthresh() ||
                (t.sack_ok && t.scoreboard.is_lost(t.snd_una, t.snd_mss))) &&
               t.snd_una > t.recover - 1) {
      // RFC 6582 3.2 step 2 / RFC 6675 5 step 4: fast retransmit, enter recovery -- unless
      // the losses are from before the last recovery or timeout (snd_una <= recover - 1).
      enter_recovery(t, now);
    }
    return true;
  }

  // New data acknowledged.
  const uint32_t flight_before = t.flight_size();
  uint32_t acked = static_cast<uint32_t>(a - t.snd_una);
  uint64_t rtt_sample = 0;  // this ACK's measurement, for HyStart++
  if (t.ts_ok && opts.has_timestamps && opts.ts_ecr != 0) {
    // RFC 7323 4: timestamps time every ACK, retransmissions included (no Karn ambiguity)
    // -- except an echo of a segment sent before the last timeout. That happens when our
    // retransmission was a duplicate at the receiver (its ACK was lost): the echo is then
    // TS.Recent from the original, and the sample would include the whole RTO wait. Fed
    // back, such samples push the RTO to its ceiling under heavy loss.
    if (static_cast<int32_t>(opts.ts_ecr - t.ts_rto_mark) >= 0) {
      rtt_sample = static_cast<uint64_t>(tsval(t, now) - opts.ts_ecr) * 1'000'000;
      t.rtt.on_rtt_sample(rtt_sample);
    }
  } else if (t.rtt_timing && a > t.rtt_seq) {
    rtt_sample = now - t.rtt_sent_ns;
    t.rtt.on_rtt_sample(rtt_sample);
    t.rtt_timing = false;
  }
  t.rexmt_count = 0;
  // RFC 8985 6.2: the octets this ACK delivers (those not SACKed before) time RACK.
  if (t.rack_on)
    t.scoreboard.for_each_unsacked(t.snd_una, a, [&](Seq lo, Seq hi) { rack_deliver(t, lo, hi, opts, true, now); });
  // The SYN and FIN occupy sequence space but not the send queue.
  uint32_t data_acked = std::min(acked, t.sndq.bytes());
  t.sndq.drop_front(data_acked);
  t.bytes_acked += data_acked;
  t.snd_una = a;
  if (t.snd_nxt < t.snd_una) t.snd_nxt = t.snd_una;
  t.sent_log.advance(a);
  const bool had_rxt = t.rxt_out;
  if (t.rxt_out && !(t.snd_una < t.rxt_high)) t.rxt_out = false;  // all retransmissions acked
  if (t.sack_ok) {
    t.scoreboard.advance(a);
    if (t.high_rxt < a) t.high_rxt = a;
    (void)sack_update(t, opts, now);
  }
  if (t.eifel_pending) {
    // RFC 3522 Eifel detection: the first ACK for the retransmitted segment echoes the
    // timestamp of the original when the original arrived (reordered or delayed, not lost).
    // "The retransmission" is the oldest one outstanding (Tcb::rxt_stamp).
    t.eifel_pending = false;
    if (t.undo_valid && had_rxt && opts.has_timestamps && opts.ts_ecr != 0 &&
        static_cast<int32_t>(opts.ts_ecr - t.rxt_stamp) < 0)
      undo_reduction(t);
  }

  bool grow = true;     // the ACK opens cwnd by slow start / congestion avoidance
  bool restart = true;  // the ACK restarts the retransmission timer (RFC 6298 5.3)
  if (t.in_recovery) {
    if (a >= t.recover) {
      // RFC 6582 3.2 step 6 / RFC 6675 5 (end of recovery), full acknowledgment: deflate.
      // After a timeout cwnd is in slow start already: it keeps growing.
      if (!t.rto_recovery) {
        t.cwnd = std::min(t.ssthresh,
                          std::max(t.flight_size(), static_cast<uint32_t>(t.snd_mss)) + t.snd_mss);
        grow = false;
      }
      t.in_recovery = false;
      t.rto_recovery = false;
      t.rack.on_recovery_end();
    } else if (!t.rto_recovery) {
      // Fast recovery. SACK: cwnd stays at ssthresh, output() sends by pipe (RFC 6675 5 C).
      grow = false;
      if (!t.sack_ok) {
        // NewReno partial acknowledgment (RFC 6582 3.2 step 5): the next hole is lost too;
        // retransmit it at once and deflate by the amount acknowledged.
        retransmit_first(t, now);
        t.cwnd = t.cwnd > acked ? t.cwnd - acked : 0;
        if (acked >= t.snd_mss) t.cwnd += t.snd_mss;
        t.cwnd = std::max<uint32_t>(t.cwnd, t.snd_mss);
        // Only the first partial ACK restarts the timer: RFC 6582's "Impatient" variant (3.2
        // step 5, 4). With many holes in the window, one repair per round trip would take
        // as many round trips as there are holes; the timeout then ends it, and slow start
        // resends the rest of the window (timers.cpp).
        restart = !t.partial_acked;
        t.partial_acked = true;
      }
    }
    // Recovery after a timeout (SACK): slow start from one segment while the holes refill.
  }
  if (grow) {
    cc::AckInfo ai;
    ai.acked = acked;
    ai.mss = t.snd_mss;
    ai.flight_before = flight_before;
    ai.now_ns = now;
    ai.srtt_ns = t.rtt.srtt();
    ai.rtt_sample_ns = rtt_sample;
    ai.ack = a;
    ai.snd_nxt = t.snd_max;
    cc::on_ack(t.cc, t.cwnd, t.ssthresh, ai);
  }
  t.dupacks = 0;
  if (t.tlp_out) tlp_on_ack(t, opts, flight_before);
  // RFC 6298 5.2/5.3: stop the timer when all is acknowledged, else restart it.
  if (t.snd_una == t.snd_max) {
    base::TimerWheel::cancel(t.rexmt_timer);
  } else {
    if (restart) arm_rexmt(t, now);
    // RFC 8985: what this ACK delivered may prove older segments lost (it may also arm the
    // reordering timer); else a tail loss probe waits for silence (7.2).
    if (t.rack_on) rack_detect_loss(t, now);
    schedule_probe(t, now);
  }
  if (t.want_writable && send_space(&t) > 0) {
    t.want_writable = false;
    t.ev_writable = true;
  }
  return true;
}

uint32_t TcpLayer::sack_update(Tcb& t, const net::TcpOptions& opts, uint64_t now) {
  if (!t.sack_ok || opts.sack_count == 0) return 0;
  const auto r = t.scoreboard.update(t.snd_una, t.snd_max, {opts.sack.data(), opts.sack_count});
  if (t.rack_on)
    for (size_t i = 0; i < r.newly_count; ++i)
      rack_deliver(t, r.newly[i].start, r.newly[i].end, opts, false, now);
  if (r.dsack) {
    ++t.dsacks_received;
    counters_.inc(Counter::tcp_dsacks_received);
    // RFC 8985 6.2 step 4: a duplicate means the network reorders (or we resent too early):
    // widen the reordering window.
    if (t.rack_on) t.rack.on_dsack(t.snd_una, t.snd_max);
    // RFC 8985 7.4.1: the probe itself was a duplicate: the original arrived, nothing lost.
    if (t.tlp_out && t.tlp_retrans && r.dsack->end <= t.tlp_end &&
        r.dsack->end + (payload_mss(t) + 1) > t.tlp_end)
      t.tlp_out = false;
    // A duplicate of data this episode retransmitted: one retransmission was unnecessary.
    // When all were, the reduction was spurious (RFC 3708 3.3).
    if (t.undo_valid && t.undo_retrans > 0 && r.dsack->start >= t.undo_marker &&
        r.dsack->end <= t.recover && --t.undo_retrans == 0)
      undo_reduction(t);
    // A duplicate of octets we retransmitted (at or below the highest ever retransmitted):
    // that retransmission was not needed, the original had arrived. Reported as such
    // (ConnInfo, the apps' summaries), so that a user can tell delay from loss; whatever
    // undid the reduction (Eifel may have, before this D-SACK came).
    if (t.retransmits > 0 && !(r.dsack->end > t.rxt_high)) {
      ++t.spurious_retrans;
      counters_.inc(Counter::tcp_spurious_retrans);
    }
  }
  return r.newly_sacked;
}

void TcpLayer::begin_undo_episode(Tcb& t) {
  t.prior_cwnd = t.cwnd;
  t.prior_ssthresh = t.ssthresh;
  t.prior_cc = t.cc;
  t.undo_marker = t.snd_una;
  t.undo_retrans = 0;
  t.undo_extent = 0;
  t.undo_valid = true;
  t.eifel_pending = t.ts_ok;
}

void TcpLayer::undo_reduction(Tcb& t) {
  // RFC 4015 3.2: the retransmission was spurious. Restore the window as it was, leave
  // recovery, and (go-back-N after a timeout) stop resending what the peer already has.
  counters_.inc(Counter::tcp_spurious_undos);
  ++t.spurious_undos;
  t.undo_valid = false;
  t.eifel_pending = false;
  t.cwnd = std::max(t.cwnd, t.prior_cwnd);
  t.ssthresh = std::max(t.ssthresh, t.prior_ssthresh);
  t.cc = t.prior_cc;
  t.in_recovery = false;
  t.rto_recovery = false;
  t.recover = t.snd_una;  // nothing was lost: a later loss may start a new recovery
  // A fast retransmit that was spurious means the network reorders deeper than DupThresh:
  // raise it past what was SACKed above the hole at the decision (Linux caps it at 300).
  if (t.undo_extent > 0)
    t.scoreboard.set_dupthresh(
        std::min(300u, std::max(t.scoreboard.dupthresh(), t.undo_extent + 1)));
  t.dupacks = 0;
  t.snd_nxt = t.snd_max;
}

void TcpLayer::enter_recovery(Tcb& t, uint64_t now) {
  counters_.inc(Counter::tcp_fast_retransmits);
  ++t.fast_recoveries;
  // A probe outstanding is overtaken: recovery makes the one reduction (RFC 8985 7.4).
  t.tlp_out = false;
  t.rxt_lost_end = t.rxt_resend_next = t.snd_una;
  begin_undo_episode(t);
  t.undo_extent =
      std::max<uint32_t>(t.dupacks, (t.scoreboard.sacked_bytes() + t.snd_mss - 1) / t.snd_mss);
  t.ssthresh = cc::on_congestion(t.cc, t.cwnd, t.flight_size(), t.snd_mss);
  t.recover = t.snd_max;
  t.in_recovery = true;
  t.rto_recovery = false;
  if (!t.sack_ok) {
    // RFC 6582 3.2 step 3: retransmit, then inflate by the three segments that left.
    t.partial_acked = false;
    retransmit_first(t, now);
    t.cwnd = t.ssthresh + 3 * t.snd_mss;
    return;
  }
  // RFC 6675 5 step 4: cwnd = ssthresh, retransmit the first segment presumed lost and set
  // HighRxt and RescueRxt to its end (no premature rescue); output() continues by pipe.
  t.cwnd = t.ssthresh;
  t.high_rxt = t.snd_una;
  // Only the hole: octets above it may be SACKed already.
  const uint32_t first = t.scoreboard.empty()
                             ? payload_mss(t)
                             : std::min(payload_mss(t), static_cast<uint32_t>(
                                                            t.scoreboard.ranges()[0].start - t.snd_una));
  const uint32_t end = retransmit_range(t, t.snd_una, first, now);
  t.high_rxt = t.snd_una + end;
  t.rescue_rxt = t.high_rxt;
  mark_dirty(t);
}

void TcpLayer::note_dsack(Tcb& t, Seq left, Seq right) {
  if (!t.sack_ok || !(left < right)) return;
  t.dsack_pending = true;
  t.dsack_block = net::SackBlock{left, right};
  t.ack_now = true;
}

void TcpLayer::process_data(Tcb& t, rte_mbuf* m, const net::Ipv4Header&,
                            const net::TcpHeader& seg, uint64_t now) {
  const auto header_bytes =
      static_cast<uint32_t>(seg.payload.data() - rte_pktmbuf_mtod(m, const uint8_t*));
  uint32_t len = static_cast<uint32_t>(seg.payload.size());
  Seq seq = seg.seq;
  uint32_t skip = header_bytes;
  if (seq < t.rcv_nxt) {  // the front was received before
    const uint32_t old = static_cast<uint32_t>(t.rcv_nxt - seq);
    note_dsack(t, seq, t.rcv_nxt);  // RFC 2883 4.1.1: report the duplicated part
    skip += old;
    len -= old;
    seq = t.rcv_nxt;
  }
  rte_pktmbuf_adj(m, static_cast<uint16_t>(skip));
  const Seq right = net::seq_max(t.rcv_adv, t.rcv_nxt);
  if (seq + len > right) len = static_cast<uint32_t>(right - seq);  // beyond the window
  if (rte_pktmbuf_pkt_len(m) > len)
    rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_pkt_len(m) - len));
  if (len == 0) {
    rte_pktmbuf_free(m);
    return;
  }
  if (seq == t.rcv_nxt) {
    t.rcv_nxt += len;
    if (t.app_closed) rte_pktmbuf_free(m);
    else t.rcvq.append(m);
    // Out-of-order data held means this segment went into a gap, whether or not it reached
    // the data beyond it.
    const bool filled_gap = t.ooo && !t.ooo->empty();
    if (t.ooo) {
      while (rte_mbuf* c = t.ooo->pop_in_order(t.rcv_nxt)) {
        if (t.app_closed) rte_pktmbuf_free(c);
        else t.rcvq.append(c);
      }
      if (t.ooo->empty()) release_ooo(t);
    }
    t.bytes_received = static_cast<uint32_t>(t.rcv_nxt - t.irs - 1);
    if (!t.app_closed) t.ev_readable = true;
    // RFC 5681 4.2 / RFC 9293 3.8.6.3: ACK at least every second full segment; at once when
    // the segment "fills in all or part of a gap" (5681 4.2). The partial case matters: a
    // NewReno sender repairs one hole per partial ACK (RFC 6582), and a delayed ACK there
    // adds the delayed-ACK timeout to every round of the repair. Otherwise delay.
    if (filled_gap || ++t.segs_since_ack >= 2) {
      t.ack_now = true;
    } else if (!t.delack_timer.is_armed()) {
      wheel_.arm(t.delack_timer, now + config_.delayed_ack_ns);
    }
    return;
  }
  // Out of order: keep it (bounded) and ACK at once so the sender sees the hole (RFC 5681 4.2).
  // With SACK one ACK per burst says it all (its blocks describe the queue). Without, the
  // sender counts duplicate ACKs (RFC 5681 3.2, DupThresh): a burst of out-of-order
  // segments answered by one ACK would never make three, and every loss would wait for
  // the RTO -- so each segment gets its own.
  if (t.sack_ok) t.ack_now = true;
  else send_ack(t, now);
  if (!t.ooo && !acquire_ooo(t)) {
    rte_pktmbuf_free(m);
    counters_.inc(Counter::drop_tcp_ofo_no_queue);
    return;
  }
  auto r = t.ooo->insert(seq, m, t.rcv_nxt);
  // The TCB reports D-SACKs (also for duplicates that never reach the queue): take it over.
  t.ooo->clear_dsack();
  if (r.dsack) note_dsack(t, r.dsack->left, r.dsack->right);
  if (r.status == InsertStatus::kDropped) counters_.inc(Counter::drop_tcp_ofo_limit);
  else counters_.inc(Counter::tcp_ofo_queued);
}

void TcpLayer::process_fin(Tcb& t, uint64_t now) {
  // RFC 9293 3.10.7.4 eighth.
  t.fin_in_ooo = false;
  t.rcv_nxt += 1;
  t.ack_now = true;
  if (!t.app_closed) t.ev_peer_closed = true;
  switch (t.state) {
    case State::syn_received:
    case State::established:
      t.state = State::close_wait;
      break;
    case State::fin_wait_1:
      // Our FIN not yet acknowledged: simultaneous close.
      t.state = State::closing;
      break;
    case State::fin_wait_2:
      enter_time_wait(t, now);
      break;
    default:
      break;
  }
}

}  // namespace pollux::tcp
