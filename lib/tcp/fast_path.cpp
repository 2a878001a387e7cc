// Header prediction (issue 13 item 4): the two segments an ESTABLISHED connection mostly
// receives -- the pure ACK of a sender and the next in-order data of a receiver -- go
// through RFC 9293 3.10.7.4 without the steps that cannot apply to them, as 4.4BSD's
// tcp_input predicts them (Van Jacobson's header prediction; RFC 9293 3.10.7.4 permits any
// order of the checks whose outcome is the same).
//
// A segment qualifies when it is an ACK (PSH allowed; no SYN, FIN, RST or URG) of an
// ESTABLISHED connection, starts at RCV.NXT, passes PAWS (RFC 7323 5.3) and carries no
// SACK blocks (its window may differ from SND.WND: it is taken as the full path takes it);
// and either
//  - it has no text and acknowledges new data, SND.UNA < SEG.ACK <= SND.MAX, with no
//    recovery, no Eifel check or tail loss probe outstanding and nothing SACKed (the
//    scoreboard empty), or
//  - it has text that fits the window we advertised, nothing waits in reassembly or behind
//    a FIN received out of order, and it acknowledges nothing new (SEG.ACK = SND.UNA) or new
//    data under the pure ACK's conditions (request/response: each side's data carries the
//    ACK of the other's last message; 4.4BSD predicts only one of the two, pollux both).
// Such a segment is acceptable (first step), is not a RST or SYN (second, fourth), has an
// ACK (fifth), cannot acknowledge our FIN in ESTABLISHED, and has no FIN (eighth): what is
// left is TS.Recent, the window update, the ACK's effects, the text or both, and keepalive.
// These are done by the same functions the full path calls, so the outcome is the full path's;
// everything else -- duplicate ACKs, pure window updates, recovery, SACK blocks, out-of-order
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
      seg.seq != t.rcv_nxt || opts.sack_count != 0 || t.fin_in_ooo)
    return false;
  // PAWS passes (RFC 7323 5.3): with timestamps agreed, the segment has one not older than
  // TS.Recent.
  if (t.ts_ok && (!opts.has_timestamps || static_cast<int32_t>(opts.ts_val - t.ts_recent) < 0))
    return false;
  const uint32_t len = seg.payload_len();
  // A new ACK (SND.UNA < SEG.ACK), the sender's case. The RFC 5961 5.2 test of the full
  // path (an ACK far below SND.UNA) cannot fail for an ACK above SND.UNA unless the flight
  // were near 2^31; it is kept, one compare.
  const bool new_ack = t.snd_una < seg.ack;
  if (new_ack && (seg.ack > t.snd_max || seg.ack < t.snd_una - t.max_snd_wnd || t.in_recovery ||
                  t.eifel_pending() || t.tlp_out || !t.scoreboard().empty()))
    return false;
  const uint32_t new_wnd = static_cast<uint32_t>(seg.window) << t.snd_wscale;
  if (len == 0) {
    // A pure ACK must acknowledge new data: a duplicate is the full path's (RFC 5681 2),
    // and so is a window update without one.
    if (!new_ack) return false;
  } else {
    // In-order data, the receiver's case: an ACK not below SND.UNA, all of it inside the
    // window we advertised (no trimming), no reassembly queue to merge with. With a new ACK
    // too it is request/response's common segment (a request acknowledging the previous
    // response, a response acknowledging its request), which the full path would also take
    // as the fifth step's ack_new_data and then the seventh's process_data, in this order.
    if (!(t.snd_una <= seg.ack) || t.ooo != nullptr || t.app_closed || !(t.rcv_nxt < t.rcv_adv) ||
        len > static_cast<uint32_t>(t.rcv_adv - t.rcv_nxt))
      return false;
  }
  // RFC 7323 4.3: the segment covers Last.ACK.sent when it starts at or below it.
  if (t.ts_ok && seg.seq <= t.last_ack_sent) t.ts_recent = opts.ts_val;
  // A new window is taken here as the fifth step takes it (only a duplicate ACK, which
  // takes the full path, must leave SND.WND unchanged to count): a receiver's window moves
  // with every small request it holds back SWS avoidance for (RFC 9293 3.8.6.2.2).
  update_send_window(t, seg, new_wnd);
  if (new_ack) ack_new_data(t, seg.ack, opts, now);
  if (len == 0) {
    counters_.inc(Counter::tcp_fast_path_acks);
  } else {
    counters_.inc(Counter::tcp_fast_path_data);
    process_data(t, std::move(m), seg, now);
  }
  if (options_of(t).keepalive) {
    t.keepalive_probes = 0;
    arm_keepalive(t, now);
  }
  mark_dirty(t);
  return true;
}

}  // namespace pollux::tcp
