// Loss recovery on the sender: SACK blocks onto the scoreboard (RFC 2018, RFC 6675) with
// D-SACK (RFC 2883, RFC 3708), entering fast recovery (RFC 6582 NewReno, RFC 6675 SACK), and
// undoing a reduction that proved spurious (RFC 4015 with Eifel, RFC 3522, or D-SACK).
// RACK-TLP's part (which segments are lost by time, probes) is in rack_tlp.cpp.
#include <algorithm>

#include "tcp/tcp_layer.hpp"

namespace pollux::tcp {

using base::Counter;

uint32_t TcpLayer::apply_sack_blocks(Tcb& t, const net::TcpOptions& opts, uint64_t now) {
  ColdBlock* c = take_cold(t);
  if (!c) return 0;  // nowhere to hold them: the RTO repairs (or a probe, if a block is free then)
  const auto r = c->scoreboard.update(t.snd_una, t.snd_max, {opts.sack.data(), opts.sack_count});
  if (r.invalid > 0) counters_.inc(Counter::drop_tcp_sack_block_invalid, r.invalid);
  if (t.rack_on)
    for (size_t i = 0; i < r.newly_count; ++i)
      rack_deliver(t, r.newly[i].start, r.newly[i].end, opts, false, now);
  if (r.dsack) {
    count_event(t, &EventCounts::dsacks_received);
    counters_.inc(Counter::tcp_dsacks_received);
    // RFC 8985 6.2 step 4: a duplicate means the network reorders (or we resent too early):
    // widen the reordering window.
    if (t.rack_on) t.rack.on_dsack(t.snd_una, t.snd_max);
    // RFC 8985 7.4.1: the probe itself was a duplicate: the original arrived, nothing lost.
    if (t.tlp_out && c->tlp_retrans && r.dsack->end <= c->tlp_end &&
        r.dsack->end + (payload_mss(t) + 1) > c->tlp_end)
      t.tlp_out = false;
    // A duplicate of data this episode retransmitted: one retransmission was unnecessary.
    // When all were, the reduction was spurious (RFC 3708 3.3).
    if (UndoRecord* u = t.undo(); u && u->undo_retrans > 0 && r.dsack->start >= u->undo_marker &&
                                  r.dsack->end <= t.recover && --u->undo_retrans == 0)
      undo_reduction(t);
    // A duplicate of octets we retransmitted (at or below the highest ever retransmitted):
    // that retransmission was not needed, the original had arrived. Reported as such
    // (ConnInfo, the apps' summaries), so that a user can tell delay from loss; whatever
    // undid the reduction (Eifel may have, before this D-SACK came).
    if (t.rxt_ever && !(r.dsack->end > t.rxt_high)) {
      count_event(t, &EventCounts::spurious_retrans);
      counters_.inc(Counter::tcp_spurious_retrans);
    }
  }
  return r.newly_sacked;
}

// Records the window before the reduction, in the connection's undo record (the one it
// holds from an earlier episode, which this one replaces, or a new one from the pool).
// Without one (pool empty, counted) this episode's reduction cannot be undone.
void TcpLayer::begin_undo_episode(Tcb& t) {
  UndoRecord* u = take_undo(t);
  if (!u) return;
  u->prior_cwnd = t.cwnd;
  u->prior_ssthresh = t.ssthresh;
  u->prior_cc = t.cc;
  u->undo_marker = t.snd_una;
  u->undo_retrans = 0;
  u->undo_extent = 0;
  u->eifel_pending = t.ts_ok;
}

void TcpLayer::undo_reduction(Tcb& t) {
  // RFC 4015 3.2: the retransmission was spurious. Restore the window as it was, leave
  // recovery, and (go-back-N after a timeout) stop resending what the peer already has.
  counters_.inc(Counter::tcp_spurious_undos);
  count_event(t, &EventCounts::spurious_undos);
  const UndoRecord& u = *t.undo();  // lent: undo_valid()
  const uint32_t extent = u.undo_extent;
  t.cwnd = std::max(t.cwnd, u.prior_cwnd);
  t.ssthresh = std::max(t.ssthresh, u.prior_ssthresh);
  t.cc = u.prior_cc;
  put_undo(t);  // the record is spent: back to the pool
  t.in_recovery = false;
  t.rto_recovery = false;
  t.recover = t.snd_una;  // nothing was lost: a later loss may start a new recovery
  // A fast retransmit that was spurious means the network reorders deeper than DupThresh:
  // raise it past what was SACKed above the hole at the decision (Linux caps it at 300).
  if (extent > 0) {
    const uint32_t n = std::min(300u, std::max(t.dupthresh(), extent + 1));
    if (t.cold)
      t.cold->scoreboard.set_dupthresh(n);
    else
      t.kept_dupthresh = static_cast<uint16_t>(std::max(n, kDupThresh));
  }
  t.dupacks = 0;
  t.snd_nxt = t.snd_max;
}

void TcpLayer::enter_recovery(Tcb& t, uint64_t now) {
  counters_.inc(Counter::tcp_fast_retransmits);
  count_event(t, &EventCounts::fast_recoveries);
  // A probe outstanding is overtaken: recovery makes the one reduction (RFC 8985 7.4).
  t.tlp_out = false;
  if (ColdBlock* c = t.cold) c->rxt_lost_end = c->rxt_resend_next = t.snd_una;
  begin_undo_episode(t);
  if (UndoRecord* u = t.undo())
    u->undo_extent =
        std::max<uint32_t>(t.dupacks, (t.scoreboard().sacked_bytes() + t.snd_mss - 1) / t.snd_mss);
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
  const uint32_t first =
      t.scoreboard().empty()
          ? payload_mss(t)
          : std::min(payload_mss(t),
                     static_cast<uint32_t>(t.scoreboard().ranges()[0].start - t.snd_una));
  const uint32_t end = retransmit_range(t, t.snd_una, first, now);
  t.high_rxt = t.snd_una + end;
  t.rescue_rxt = t.high_rxt;
  mark_dirty(t);
}

}  // namespace pollux::tcp
