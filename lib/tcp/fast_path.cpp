// Header prediction (issue 13 item 4): the two segments an ESTABLISHED connection mostly
// receives -- the pure ACK of a sender and the next in-order data of a receiver -- go
// through RFC 9293 3.10.7.4 without the steps that cannot apply to them, as 4.4BSD's
// tcp_input predicts them (Van Jacobson's header prediction; RFC 9293 3.10.7.4 permits any
// order of the checks whose outcome is the same).
//
// A segment qualifies when it is an ACK (PSH allowed; no SYN, FIN, RST or URG) of an
// ESTABLISHED connection, starts at RCV.NXT, passes PAWS (RFC 7323 5.3), carries no SACK
// blocks, and leaves SND.WND as it is; and either
//  - it has no text and acknowledges new data, SND.UNA < SEG.ACK <= SND.MAX, with no
//    recovery, no Eifel check or tail loss probe outstanding and nothing SACKed (the
//    scoreboard empty), or
//  - it has text that fits the window we advertised, acknowledges nothing new (SEG.ACK =
//    SND.UNA), and nothing waits in reassembly or behind a FIN received out of order.
// Such a segment is acceptable (first step), is not a RST or SYN (second, fourth), has an
// ACK (fifth), cannot acknowledge our FIN in ESTABLISHED, and has no FIN (eighth): what is
// left is TS.Recent, the window update, the ACK's effects or the text, and keepalive. These
// are done by the same functions the full path calls, so the outcome is the full path's;
// everything else -- duplicate ACKs, recovery, SACK blocks, window changes, out-of-order
// data, FINs, any other state -- takes the full path (input_synchronized.cpp).
#include "tcp/tcp_layer.hpp"

namespace pollux::tcp {

using base::Counter;
using net::tcp_flags::ack;
using net::tcp_flags::fin;
using net::tcp_flags::rst;
using net::tcp_flags::syn;
using net::tcp_flags::urg;

bool TcpLayer::fast_path(Tcb& t, base::UniqueMbuf& m, const net::TcpHeader& seg,
                         const net::TcpOptions& opts, uint64_t now) {
  if (t.state != State::established || (seg.flags & (syn | fin | rst | urg | ack)) != ack ||
      seg.seq != t.rcv_nxt || opts.sack_count != 0 ||
      (static_cast<uint32_t>(seg.window) << t.snd_wscale) != t.snd_wnd || t.fin_in_ooo)
    return false;
  // PAWS passes (RFC 7323 5.3): with timestamps agreed, the segment has one not older than
  // TS.Recent.
  if (t.ts_ok && (!opts.has_timestamps || static_cast<int32_t>(opts.ts_val - t.ts_recent) < 0))
    return false;
  const uint32_t len = seg.payload_len();
  if (len == 0) {
    // A pure ACK of new data, the sender's common case. The RFC 5961 5.2 test of the full
    // path (an ACK far below SND.UNA) cannot fail for an ACK above SND.UNA unless the
    // flight were near 2^31; it is kept, one compare.
    if (!(t.snd_una < seg.ack) || seg.ack > t.snd_max || seg.ack < t.snd_una - t.max_snd_wnd ||
        t.in_recovery || t.eifel_pending() || t.tlp_out || !t.scoreboard().empty())
      return false;
  } else {
    // In-order data, the receiver's common case: nothing new acknowledged, all of it inside
    // the window we advertised (no trimming), no reassembly queue to merge with.
    if (seg.ack != t.snd_una || t.ooo != nullptr || t.app_closed ||
        !(t.rcv_nxt < t.rcv_adv) || len > static_cast<uint32_t>(t.rcv_adv - t.rcv_nxt))
      return false;
  }
  // RFC 7323 4.3: the segment covers Last.ACK.sent when it starts at or below it.
  if (t.ts_ok && seg.seq <= t.last_ack_sent) t.ts_recent = opts.ts_val;
  update_send_window(t, seg, t.snd_wnd);
  if (len == 0) {
    counters_.inc(Counter::tcp_fast_path_acks);
    ack_new_data(t, seg.ack, opts, now);
  } else {
    counters_.inc(Counter::tcp_fast_path_data);
    process_data(t, std::move(m), seg, now);
  }
  if (t.opts.keepalive) {
    t.keepalive_probes = 0;
    arm_keepalive(t, now);
  }
  mark_dirty(t);
  return true;
}

}  // namespace pollux::tcp
