// SYN-SENT (RFC 9293 3.10.7.3): the answer to our SYN -- a SYN-ACK completes the active open,
// a bare SYN is a simultaneous open, a RST with an acceptable ACK refuses the connection.
#include <algorithm>

#include "tcp/tcp_layer.hpp"

namespace pollux::tcp {

using base::Counter;
using net::tcp_flags::ack;
using net::tcp_flags::rst;
using net::tcp_flags::syn;

void TcpLayer::input_syn_sent(Tcb& t, base::UniqueMbuf m, const net::TcpHeader& seg,
                              const net::TcpOptions& opts, uint64_t now) {
  // Nothing of it is kept (data on a SYN is sent again); its buffer may carry the answer
  // (keep_spare: the ACK, or the first data, at the flush).
  keep_spare(m);
  // RFC 9293 3.10.7.3. First the ACK: it must acknowledge our SYN and nothing else.
  if (seg.has(ack) && (seg.ack <= t.iss || seg.ack > t.snd_max)) {
    // "If the RST bit is set, discard the segment and return" (a RST is never answered).
    if (seg.has(rst)) return counters_.inc(Counter::drop_tcp_rst_unacceptable);
    send_rst_answering(t, seg);  // <SEQ=SEG.ACK><CTL=RST>
    return;
  }
  if (seg.has(rst)) {
    // RFC 5961 3.2 does not apply here: an acceptable ACK makes the RST believable; without
    // an ACK, "drop the segment and return" (3.10.7.3 second).
    if (!seg.has(ack)) return counters_.inc(Counter::drop_tcp_rst_unacceptable);
    counters_.inc(Counter::tcp_attempt_fails);
    finish(t, CloseReason::refused, now);
    return;
  }
  if (!seg.has(syn)) return;
  t.irs = seg.seq;
  t.rcv_nxt = seg.seq + 1;
  t.rcv_adv = t.last_ack_sent = t.rcv_nxt;  // as in input_listen
  negotiate(t, opts, now);
  if (!seg.has(ack)) {
    // Simultaneous open (3.10.7.3 fourth): answer <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.
    set_state(t, State::syn_received, StateCause::simultaneous_open);
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
  stop_rexmt(t);
  set_state(t, State::established, StateCause::syn_ack);
  t.cwnd = std::min(config_.initial_window_segments * t.snd_mss, std::max(2u * t.snd_mss, 14600u));
  t.ev_established = true;
  t.ack_now = true;
  arm_keepalive(t, now);
  mark_dirty(t);
}

}  // namespace pollux::tcp
