// SYN-RECEIVED and the synchronized states (RFC 9293 3.10.7.4), the steps in the RFC's order:
// first the sequence number (acceptability; PAWS, RFC 7323 5.3), second RST (RFC 5961 3.2),
// fourth SYN (RFC 5961 4.2), fifth ACK (the handshake's here, the rest in
// ack_processing.cpp), seventh text and eighth FIN (receive_data.cpp). Skipped on purpose:
// third, security -- pollux neither sends nor honours IP security options; sixth, URG --
// urgent data is not implemented (RFC 6093 advises new applications against it), so the
// urgent pointer is ignored and the octets are ordinary data.
//
// The segment's one owner is `m` (base::UniqueMbuf), the caller's: a step that drops it just
// returns, and the caller keeps the buffer for the answers of the burst (keep_spare) or frees
// it. Where an answer is sent at once (a SYN-ACK, a challenge ACK, a RST), keep_spare(m)
// hands the buffer on first, so that a pool run dry still has one for the answer.
#include <algorithm>

#include "tcp/acceptability.hpp"
#include "tcp/tcp_layer.hpp"

namespace pollux::tcp {

using base::Counter;
using net::tcp_flags::ack;
using net::tcp_flags::fin;
using net::tcp_flags::rst;
using net::tcp_flags::syn;

void TcpLayer::input_synchronized(Tcb& t, base::UniqueMbuf& m, const net::TcpHeader& seg,
                                  const net::TcpOptions& opts, uint64_t now) {
  const uint32_t seg_len = seg.seg_len();
  // A retransmitted SYN while we wait for the handshake's ACK: our SYN-ACK was lost.
  if (t.state == State::syn_received && seg.has(syn) && !seg.has(ack) && seg.seq == t.irs) {
    // RFC 7323 4.3: the SYN covers Last.ACK.sent, so its TSval becomes TS.Recent; echoing the
    // first SYN's instead would make the peer measure an RTT that includes its SYN timeout.
    if (t.ts_ok && opts.has_timestamps && static_cast<int32_t>(opts.ts_val - t.ts_recent) >= 0)
      t.ts_recent = opts.ts_val;
    keep_spare(m);
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
    return input_synchronized(t, m, trimmed, opts, now);
  }
  // RFC 7323 5.3 PAWS: a segment with a timestamp older than ts_recent is a duplicate from
  // an earlier incarnation of the sequence space.
  if (t.ts_ok && opts.has_timestamps && !seg.has(rst) &&
      static_cast<int32_t>(opts.ts_val - t.ts_recent) < 0) {
    counters_.inc(Counter::drop_tcp_paws);
    t.ack_now = true;
    mark_dirty(t);
    return;
  }

  // RFC 9293 3.10.7.4 first: the acceptability test against the window we advertised.
  const uint32_t wnd = t.rcv_adv > t.rcv_nxt ? static_cast<uint32_t>(t.rcv_adv - t.rcv_nxt) : 0;
  if (!segment_acceptable(t.rcv_nxt, wnd, seg.seq, seg_len)) {
    // RFC 9293 3.10.7.4 first: an unacceptable RST is dropped without an answer (RFC 5961
    // 3.2: it is what a blind reset attack mostly sends); counted so that an attack shows.
    if (seg.has(rst)) return counters_.inc(Counter::drop_tcp_rst_unacceptable);
    if (seg_len > 0 && seg.seq < t.rcv_nxt && seg.payload_len() != 0)
      // RFC 2883 4: a duplicate wholly below RCV.NXT is reported in the ACK it draws.
      note_dsack(t, seg.seq, net::seq_min(seg.seq + seg.payload_len(), t.rcv_nxt));
    // The peer's FIN again, in TIME-WAIT: our ACK of it was lost. "Acknowledge it, and
    // restart the 2 MSL timeout" (RFC 9293 3.10.7.4, eighth, TIME-WAIT STATE); a FIN is
    // always below RCV.NXT by then, so it lands here. Without the restart, a peer whose
    // FIN retransmissions back off past 2 MSL would meet a RST.
    if (t.state == State::time_wait && seg.has(fin) && seg.seq + seg_len == t.rcv_nxt)
      set_timer(t, TimerKind::linger, now + 2 * config_.msl_ns);
    // RFC 9293 3.10.7.4: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. Retransmitted data we already
    // have lands here too; the ACK tells the peer where we are.
    counters_.inc(Counter::drop_tcp_out_of_window);
    t.ack_now = true;
    mark_dirty(t);
    return;
  }

  // Second: RST (RFC 5961 3.2): only an exact match resets; in-window gets a challenge ACK.
  if (seg.has(rst)) {
    if (seg.seq != t.rcv_nxt) {
      keep_spare(m);
      if (take_challenge_ack(now)) send_ack(t, now);
      return;
    }
    if (t.state == State::time_wait) return;  // RFC 1337: no TIME-WAIT assassination
    if (t.state == State::syn_received && t.passive) {
      // 3.10.7.4 second: back to LISTEN, which for us means forgetting the TCB quietly.
      leave_listener(t);
      forget_app(t);
      finish(t, CloseReason::reset, now);
      return;
    }
    counters_.inc(Counter::tcp_established_resets);
    finish(t, t.state == State::syn_received ? CloseReason::refused : CloseReason::reset, now);
    return;
  }
  // Fourth: a SYN in a synchronized state (RFC 5961 4.2): challenge ACK, drop.
  if (seg.has(syn)) {
    keep_spare(m);
    if (take_challenge_ack(now)) send_ack(t, now);
    return;
  }
  // Fifth: no ACK, no processing.
  if (!seg.has(ack)) return;
  if (t.state == State::syn_received) {
    if (seg.ack <= t.snd_una || seg.ack > t.snd_max) {
      keep_spare(m);
      send_rst_answering(t, seg);  // <SEQ=SEG.ACK><CTL=RST> (3.10.7.4 fifth)
      return;
    }
    leave_listener(t);
    set_state(t, State::established, StateCause::handshake_ack);
    t.snd_wnd = static_cast<uint32_t>(seg.window) << t.snd_wscale;
    t.max_snd_wnd = std::max(t.max_snd_wnd, t.snd_wnd);
    t.snd_wl1 = seg.seq;
    t.snd_wl2 = seg.ack;
    t.cwnd =
        std::min(config_.initial_window_segments * t.snd_mss, std::max(2u * t.snd_mss, 14600u));
    t.rtt.on_handshake_complete(t.rexmt_count > 0);
    t.ev_established = true;
    arm_keepalive(t, now);
  }
  // RFC 7323 4.3: remember the newest timestamp of a segment that covers our last ACK.
  if (t.ts_ok && opts.has_timestamps && seg.seq <= t.last_ack_sent &&
      static_cast<int32_t>(opts.ts_val - t.ts_recent) >= 0)
    t.ts_recent = opts.ts_val;

  if (!process_ack(t, seg, opts, now)) return;
  // Our FIN is acknowledged once SND.UNA has passed it.
  const bool fin_acked = t.fin_sent && t.snd_una > t.snd_fin();
  switch (t.state) {
    case State::fin_wait_1:
      if (fin_acked) {
        set_state(t, State::fin_wait_2, StateCause::fin_acked);
        if (t.app_closed) {
          // Orphaned: the application is gone; do not wait forever for the peer's FIN.
          set_timer(t, TimerKind::linger, now + config_.fin_wait_2_ns);
        }
      }
      break;
    case State::closing:
      if (fin_acked) enter_time_wait(t, StateCause::fin_acked, now);
      break;
    case State::last_ack:
      if (fin_acked) {
        finish(t, CloseReason::normal, now);
        return;
      }
      break;
    case State::time_wait:
      // Only a retransmitted FIN can arrive: acknowledge it and restart 2 MSL.
      if (seg.has(fin)) {
        t.ack_now = true;
        set_timer(t, TimerKind::linger, now + 2 * config_.msl_ns);
        mark_dirty(t);
      }
      return;
    default:
      break;
  }

  // Seventh: segment text. Eighth: FIN.
  const bool has_fin = seg.has(fin);
  const Seq fin_at = seg.seq + seg.payload_len();
  if (seg.payload_len() != 0 && (t.state == State::established || t.state == State::fin_wait_1 ||
                                 t.state == State::fin_wait_2))
    process_data(t, std::move(m), seg, now);  // otherwise the caller keeps or frees `m`
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
  if (options_of(t).keepalive) {
    t.keepalive_probes = 0;
    arm_keepalive(t, now);
  }
  mark_dirty(t);
}

// RFC 5961 section 7: "an ACK throttling mechanism" for the challenge ACKs of 3.2 (RST in
// the window), 4.2 (SYN) and 5.2 (old ACK). Without it a blind attacker's spoofed segments
// each draw an ACK from us: a reflector. One budget per lcore, like Linux's
// tcp_challenge_ack_limit; a refused challenge is counted, never queued.
bool TcpLayer::take_challenge_ack(uint64_t now) {
  if (!challenge_budget_.take(now)) {
    counters_.inc(Counter::drop_tcp_challenge_ack_rate_limited);
    return false;
  }
  counters_.inc(Counter::tcp_challenge_acks);
  return true;
}

}  // namespace pollux::tcp
