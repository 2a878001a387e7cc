// The ACK of a segment (RFC 9293 3.10.7.4 fifth): acceptability (RFC 5961 5.2), the send
// window update, duplicate ACKs (RFC 5681 2, RFC 6675) and what newly acknowledged data does:
// RTT samples (RFC 6298, RFC 7323 4), the send queue, Eifel (RFC 3522), the end of recovery
// (RFC 6582, RFC 6675), congestion control (RFC 5681, RFC 9438) and the RTO (RFC 6298 5).
#include <algorithm>

#include "tcp/tcp_layer.hpp"

namespace pollux::tcp {

using base::Counter;
using net::tcp_flags::fin;

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
    if (take_challenge_ack(now)) {
      t.ack_now = true;
      mark_dirty(t);
    }
    return false;
  }
  const uint32_t new_wnd = static_cast<uint32_t>(seg.window) << t.snd_wscale;
  const bool window_changed = new_wnd != t.snd_wnd;
  update_send_window(t, seg, new_wnd);
  if (a <= t.snd_una) {
    // SACK information arrives on duplicate ACKs (RFC 2018, RFC 6675 5).
    const uint32_t newly_sacked = a == t.snd_una ? sack_update(t, opts, now) : 0;
    // RFC 5681 2: a duplicate ACK carries no data, does not move the window, and arrives
    // while data is outstanding. RFC 6675 2 also counts one that SACKs new data.
    const bool dup =
        a == t.snd_una && t.flight_size() > 0 &&
        ((seg.payload_len() == 0 && !seg.has(fin) && !window_changed) || newly_sacked > 0);
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
               (t.dupacks >= t.dupthresh() ||
                (t.sack_ok && t.scoreboard().is_lost(t.snd_una, t.snd_mss))) &&
               t.snd_una > t.recover - 1) {
      // RFC 6582 3.2 step 2 / RFC 6675 5 step 4: fast retransmit, enter recovery -- unless
      // the losses are from before the last recovery or timeout (snd_una <= recover - 1).
      enter_recovery(t, now);
    }
    return true;
  }

  ack_new_data(t, a, opts, now);
  return true;
}

void TcpLayer::update_send_window(Tcb& t, const net::TcpHeader& seg, uint32_t new_wnd) {
  const Seq a = seg.ack;
  // Send window update (3.10.7.4 fifth): only from a segment not older than the last one
  // that updated it, so a reordered old ACK cannot shrink the window. SND.WL1 alone cannot
  // say which is older when the peer retransmits: its retransmission carries an old SEG.SEQ
  // but its newest ACK and window. An ACK beyond SND.WL2 is newer whatever its SEG.SEQ, and
  // must update the window: SND.UNA moves to it, and SND.UNA + an older SND.WND would reach
  // past the right edge the peer advertised (sim seed 193 of the combined mix sent 236
  // octets beyond it). Linux's tcp_may_update_window takes an advancing ACK the same way.
  if (t.snd_una <= a &&
      (t.snd_wl2 < a || t.snd_wl1 < seg.seq || (t.snd_wl1 == seg.seq && t.snd_wl2 <= a))) {
    t.snd_wnd = new_wnd;
    t.max_snd_wnd = std::max(t.max_snd_wnd, new_wnd);
    // SND.WL1 never moves back, so that a reordered segment between the two cannot pass the
    // test above with an older window.
    t.snd_wl1 = net::seq_max(t.snd_wl1, seg.seq);
    t.snd_wl2 = a;
    if (new_wnd > 0 && timer_set(t, TimerKind::persist)) {
      stop_timer(t, TimerKind::persist);
      t.persist_shift = 0;
    }
  }
}

// An ACK of new data (SND.UNA < SEG.ACK <= SND.MAX), for process_ack and for the
// header-predicted path (fast_path.cpp).
void TcpLayer::ack_new_data(Tcb& t, Seq a, const net::TcpOptions& opts, uint64_t now) {
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
  t.stall_since_ms = 0;  // progress: the USER TIMEOUT starts again
  // RFC 8985 6.2: the octets this ACK delivers (those not SACKed before) time RACK.
  if (t.rack_on)
    t.scoreboard().for_each_unsacked(
        t.snd_una, a, [&](Seq lo, Seq hi) { rack_deliver(t, lo, hi, opts, true, now); });
  // The SYN and FIN occupy sequence space but not the send queue.
  uint32_t data_acked = std::min(acked, t.sndq.bytes());
  change_sndq(t, [&](SendQueue& q) { q.drop_front(data_acked); });
  if (Stats::wraps(t.iss, t.snd_una, a)) ++t.acked_wraps;  // bytes_acked (Stats)
  t.snd_una = a;
  if (t.snd_nxt < t.snd_una) t.snd_nxt = t.snd_una;
  if (t.cold) t.cold->sent_log.advance(a);
  const bool had_rxt = t.rxt_out;
  if (t.rxt_out && !(t.snd_una < t.rxt_high)) t.rxt_out = false;  // all retransmissions acked
  if (t.sack_ok) {
    if (t.cold) t.cold->scoreboard.advance(a);
    if (t.high_rxt < a) t.high_rxt = a;
    (void)sack_update(t, opts, now);
  }
  if (t.eifel_pending()) {
    // RFC 3522 Eifel detection: the first ACK for the retransmitted segment echoes the
    // timestamp of the original when the original arrived (reordered or delayed, not lost).
    // "The retransmission" is the oldest one outstanding (Tcb::rxt_stamp).
    t.undo()->eifel_pending = false;
    if (had_rxt && opts.has_timestamps && opts.ts_ecr != 0 &&
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
    stop_rexmt(t);
    put_cold_if_quiet(t);  // idle: the scoreboard and send-time log go back to the pool
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
}

}  // namespace pollux::tcp
