// RACK-TLP in the TCB (RFC 8985): feeding RACK from ACKs, acting on its loss verdicts, the
// reordering timer, and tail loss probes. The algorithm's state and arithmetic are in
// rack.hpp; recovery itself stays RFC 6675's (recovery.cpp, output.cpp): RACK only says which
// octets are lost, on the scoreboard, and which retransmissions must go again.
#include <algorithm>
#include <cassert>
#include <limits>

#include "tcp/sending_states.hpp"
#include "tcp/tcp_layer.hpp"

namespace pollux::tcp {

using base::Counter;
using net::tcp_flags::ack;
using net::tcp_flags::psh;

namespace {
uint32_t to_us(uint64_t ns) {
  return static_cast<uint32_t>(ns / 1000);
}
}  // namespace

void TcpLayer::rack_deliver(Tcb& t, Seq lo, Seq hi, const net::TcpOptions& opts, bool cumulative,
                            uint64_t now) {
  const uint32_t now_us = to_us(now);
  t.sent_log().for_each_in(lo, hi, [&](const SendTimeLog::Range& r) {
    // RFC 8985 6.2 step 2: with timestamps, an echo older than the retransmission means
    // the ACK is for the original. The echo is on the 1 ms TSval clock, the log on a 1 us
    // one: compare ages, with a tick of slack. Only for what the cumulative ACK covers: a
    // receiver echoes TS.Recent, which out-of-order (SACKed) data never updates (RFC 7323
    // 4.3), so for a SACKed retransmission the echo is always older. The min_RTT test of
    // Rack::on_delivered still guards those.
    bool echo_older = false;
    if (cumulative && r.retransmitted && t.ts_ok && opts.has_timestamps && opts.ts_ecr != 0) {
      const uint64_t echo_age_us = static_cast<uint64_t>(tsval(t, now) - opts.ts_ecr) * 1000;
      const uint64_t send_age_us = static_cast<uint32_t>(now_us - r.sent_us);
      echo_older = echo_age_us > send_age_us + 1000;
    }
    t.rack.on_delivered(r, now_us, echo_older);
  });
}

uint32_t TcpLayer::rack_reo_wnd_us(const Tcb& t) const {
  const bool dupthresh_sacked = t.scoreboard().sacked_bytes() > (kDupThresh - 1) * t.snd_mss;
  return t.rack.reo_wnd_us(t.in_recovery, dupthresh_sacked, to_us(t.rtt.srtt()));
}

void TcpLayer::rack_detect_loss(Tcb& t, uint64_t now) {
  if (!t.rack_on || t.snd_una == t.snd_max || !t.rack.have_delivered) return;
  // Nothing SACKed and no recovery: everything delivered was acknowledged cumulatively,
  // so every outstanding segment was sent after it and has no verdict. The common case
  // of a clean transfer costs one test per ACK.
  if (t.scoreboard().empty() && !t.in_recovery) return;
  const uint32_t now_us = to_us(now);
  const uint32_t reo = rack_reo_wnd_us(t);
  uint32_t wait_us = 0;
  t.sent_log().for_each_in(t.snd_una, t.snd_max, [&](const SendTimeLog::Range& r) {
    if (t.scoreboard().covers(r.start, r.end)) return;  // delivered
    const uint32_t left = t.rack.time_to_loss(r, now_us, reo);
    if (left == std::numeric_limits<uint32_t>::max()) return;  // sent after RACK.xmit_ts
    if (left > 0) {
      wait_us = std::max(wait_us, left);  // 6.2 step 5: one timer for the last of them
      return;
    }
    if (r.retransmitted) {
      // A retransmission lost too: it goes again (output_sack_recovery's first rule).
      ColdBlock& c = *t.cold;  // attached: its log has ranges
      if (!(c.rxt_lost_end > t.snd_una) || c.rxt_lost_end < r.end) c.rxt_lost_end = r.end;
      if (!(c.rxt_resend_next > t.snd_una) || r.start < c.rxt_resend_next)
        c.rxt_resend_next = r.start;
    } else if (!t.scoreboard().is_lost(r.end - 1, t.snd_mss)) {
      t.cold->scoreboard.mark_lost_below(r.end);  // attached: its log has ranges
      counters_.inc(Counter::tcp_rack_lost);
      count_event(t, &EventCounts::rack_losses);
    }
  });
  if (wait_us > 0) {
    // RFC 8985 6.2: the reordering timer. It shares the retransmission timer; when it fires
    // it re-arms the RTO (on_reorder_timeout).
    set_rexmt(t, RexmtKind::reorder, now + static_cast<uint64_t>(wait_us) * 1000);
  }
  // RFC 6675 5 step 4 with RACK's verdict as IsLost: the oldest hole lost starts recovery,
  // unless it dates from before the last recovery or timeout.
  if (!t.in_recovery && t.scoreboard().is_lost(t.snd_una, t.snd_mss) && t.snd_una > t.recover - 1)
    enter_recovery(t, now);
  if (t.in_recovery) mark_dirty(t);
}

void TcpLayer::on_reorder_timeout(Tcb& t, uint64_t now) {
  counters_.inc(Counter::tcp_rack_reorder_timeouts);
  t.rexmt_kind = RexmtKind::rto;
  stop_rexmt(t);
  rack_detect_loss(t, now);
  if (!rexmt_pending(t) && t.snd_una != t.snd_max) arm_rexmt(t, now);
  mark_dirty(t);
}

bool TcpLayer::schedule_probe(Tcb& t, uint64_t now) {
  // RFC 8985 7.2: a probe is scheduled in the open state (not in recovery, not after a
  // timeout until an ACK), with data in flight and no probe already out; it replaces the
  // RTO when it comes first. A reordering timer has precedence.
  if (!t.tlp_on || t.in_recovery || t.tlp_out || t.rexmt_count > 0 || t.snd_una == t.snd_max)
    return false;
  if (t.rexmt_kind == RexmtKind::reorder && rexmt_pending(t)) return false;
  if (!sends_data(t.state)) return false;
  uint64_t pto = t.rtt.has_sample() ? 2 * t.rtt.srtt() : 1'000'000'000;
  // One segment out: the receiver may be waiting for a second before it ACKs (WCDelAckT).
  if (t.flight_size() <= t.snd_mss) pto += config_.tlp_wc_delack_ns;
  // Two timestamp ticks at least, so that the probe's ACK can be told from the original's.
  pto = std::max<uint64_t>(pto, 2'000'000);
  pto = std::min(pto, t.rtt.rto());
  set_rexmt(t, RexmtKind::probe, now + pto);
  return true;
}

void TcpLayer::on_probe_timeout(Tcb& t, uint64_t now) {
  t.rexmt_kind = RexmtKind::rto;
  if (t.snd_una == t.snd_max) return;
  // RFC 8985 7.3: new data if the receiver's window takes a segment of it (it may reveal
  // the loss through SACK as well as a retransmission would, and moves the transfer on),
  // else the most recently sent segment again: the one ending at SND.MAX, never octets
  // beyond it (RFC 9293 3.8.6: nothing past SND.UNA + SND.WND; retransmit_range holds a
  // segment to the window if it shrank since).
  // The probe is tracked in the cold block (a flight with RACK on holds one already). None
  // to be had (counted by take_cold): no probe, the RTO repairs the tail.
  ColdBlock* c = take_cold(t);
  if (!c) {
    arm_rexmt(t, now);
    return;
  }
  const uint32_t eff = payload_mss(t);
  const uint32_t off = t.unsent_offset();
  const uint32_t avail = t.sndq.bytes() > off ? t.sndq.bytes() - off : 0;
  const uint32_t len = std::min(avail, eff);
  bool sent = false, retrans = false;
  if (len > 0 && t.snd_nxt == t.snd_max && !t.fin_sent && window_room(t, t.snd_nxt) >= len) {
    sent = send_segment(t, t.snd_nxt, static_cast<uint8_t>(ack | (len == avail ? psh : 0)), off,
                        len, now);
  } else {
    const Seq data_end = sent_data_end(t);
    const uint32_t last = std::min(eff, static_cast<uint32_t>(data_end - t.snd_una));
    probing_ = true;
    sent = retransmit_range(t, data_end - last, last, now) > 0;
    probing_ = false;
    retrans = true;
  }
  if (sent) {
    counters_.inc(Counter::tcp_tlp_probes);
    count_event(t, &EventCounts::tlp_probes);
    t.tlp_out = true;
    c->tlp_retrans = retrans;
    c->tlp_end = t.snd_max;
    c->tlp_tsval = tsval(t, now);
  }
  arm_rexmt(t, now);  // 7.3: the RTO after the probe
}

void TcpLayer::tlp_on_ack(Tcb& t, const net::TcpOptions& opts, uint32_t flight_before) {
  // RFC 8985 7.4: the probe's episode ends when its end is acknowledged.
  // tlp_out: the block stays lent (put_cold_if_quiet runs after this).
  assert(t.cold);
  const ColdBlock& c = *t.cold;
  if (t.snd_una < c.tlp_end) return;
  t.tlp_out = false;
  if (!c.tlp_retrans) return;  // new data: RACK judges any loss like any other
  // 7.4.2: acknowledged without a D-SACK for the probe (sack_update clears tlp_out on one).
  // With timestamps, an echo older than the probe acknowledges the original, delayed; then
  // nothing was lost. Otherwise the probe repaired a loss and the window reduces once, as
  // fast recovery would have.
  if (t.ts_ok && opts.has_timestamps && static_cast<int32_t>(opts.ts_ecr - c.tlp_tsval) < 0) return;
  counters_.inc(Counter::tcp_tlp_recoveries);
  t.ssthresh = cc::on_congestion(t.cc, t.cwnd, flight_before, t.snd_mss);
  t.cwnd = std::min(t.cwnd, t.ssthresh);
}

}  // namespace pollux::tcp
