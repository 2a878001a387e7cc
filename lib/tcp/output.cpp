// What to send and when (RFC 9293 3.8.6: windows, silly window syndrome, Nagle; 3.8.6.3 and
// RFC 5681 4.2 delayed ACK; RFC 5681 congestion window; RFC 6675 5 recovery by pipe;
// retransmissions). Segments are built in send_segment.cpp.
#include <algorithm>

#include "tcp/sending_states.hpp"
#include "tcp/tcp_layer.hpp"

namespace pollux::tcp {

using base::Counter;
using net::tcp_flags::ack;
using net::tcp_flags::fin;
using net::tcp_flags::psh;

uint32_t TcpLayer::rcv_window(const Tcb& t) const {
  // What is held is charged by the mbuf as well as by the byte (issue 14 item 2, "truesize"):
  // each mbuf is a 2 KB buffer whatever it carries. Beyond a few mbufs (the pressure share)
  // each counts as at least half an MSS, so a peer sending tiny segments closes its own
  // window long before their bytes would; full segments are charged their bytes, as before,
  // and so is the odd small segment of ordinary traffic. Under memory pressure a connection
  // that holds its share is offered nothing more (receive_data.cpp).
  return rcv_window_holding(t, t.rcvq.bytes(), t.rcvq.mbufs(), rcv_pressure());
}

uint32_t TcpLayer::rcv_window_holding(const Tcb& t, uint32_t rcvq_bytes, uint32_t rcvq_mbufs,
                                      bool pressure) const {
  const uint32_t mbufs = rcvq_mbufs + (t.ooo ? t.ooo->mbufs() : 0);
  uint64_t held = uint64_t{rcvq_bytes} + (t.ooo ? t.ooo->bytes() : 0);
  if (mbufs >= kRcvPressureShare) {
    if (pressure) return 0;
    held = std::max<uint64_t>(held, uint64_t{mbufs} * (t.rcv_mss / 2));
  }
  return options_of(t).rcvbuf > held ? static_cast<uint32_t>(options_of(t).rcvbuf - held) : 0;
}

uint32_t TcpLayer::payload_mss(const Tcb& t) const {
  // RFC 6691: the MSS bounds the payload of a segment without options, so the options a
  // segment carries come out of it. SACK blocks vary per segment: ask each time.
  if (!sack_to_report(t)) return t.snd_mss - (t.ts_ok ? net::kTsAppaLen : 0);
  return t.snd_mss - static_cast<uint32_t>(net::tcp_options_length(data_options(t)));
}

uint32_t TcpLayer::window_room(const Tcb& t, Seq seq) const {
  // RFC 9293 3.8.6: the peer takes octets up to SND.UNA + SND.WND and no further. Every
  // path that sends data (first transmission, retransmission, recovery, probe) stays inside
  // it; a window that shrank below data already sent leaves that data unsendable until it
  // opens again (3.8.6.2.1: the sender must not fill in what the receiver withdrew).
  const Seq right = t.snd_una + t.snd_wnd;
  return right > seq ? static_cast<uint32_t>(right - seq) : 0;
}

Seq TcpLayer::sent_data_end(const Tcb& t) const {
  // The end of the data sent so far: SND.MAX less the FIN's octet once it is out. The send
  // queue may hold more (unsent); a retransmission never reaches into that.
  const Seq queued_end = t.snd_una + t.sndq.bytes();
  return net::seq_min(queued_end, t.snd_max);
}

void TcpLayer::retransmit_first(Tcb& t, uint64_t now) {
  // Resend the segment at SND.UNA (fast retransmit, NewReno partial ACK): no more than one
  // segment, no octet never sent before, nothing beyond the window (retransmit_range).
  (void)retransmit_range(t, t.snd_una, payload_mss(t), now);
}

uint32_t TcpLayer::retransmit_range(Tcb& t, Seq start, uint32_t max_len, uint64_t now) {
  // Resend up to max_len octets from `start` (below SND.MAX), the FIN included when the
  // range reaches it. Returns the sequence space sent, 0 when nothing could be. Limits: the
  // data sent so far (a retransmission is not the place for new data: output() applies
  // Nagle and SWS avoidance to that) and the peer's window (RFC 9293 3.8.6), so a segment
  // first sent short because of a small window goes again just as short.
  const Seq data_end = sent_data_end(t);
  uint32_t data = start < data_end ? std::min(max_len, static_cast<uint32_t>(data_end - start)) : 0;
  data = std::min(data, window_room(t, start));
  const bool with_fin = t.fin_sent && start + data == t.snd_fin();
  if (data == 0 && !with_fin) return 0;
  // PSH as on the first transmission: the segment reaches the end of what was queued.
  const bool push = data > 0 && start + data == t.snd_una + t.sndq.bytes();
  const uint8_t flags = static_cast<uint8_t>(ack | (with_fin ? fin : 0) | (push ? psh : 0));
  if (!send_segment(t, start, flags, static_cast<uint32_t>(start - t.snd_una), data, now)) return 0;
  return data + (with_fin ? 1 : 0);
}

bool TcpLayer::output_sack_recovery(Tcb& t, uint64_t now) {
  // RFC 6675 5 step C: while cwnd - pipe >= 1 SMSS, send what NextSeg() names.
  const uint32_t eff = payload_mss(t);
  uint32_t pipe = t.pipe();
  bool sent = false;
  while (t.cwnd > pipe && t.cwnd - pipe >= eff) {
    uint32_t n = 0;
    std::optional<SeqRange> again;
    // RACK's marks are in the cold block: without one, nothing was found lost.
    ColdBlock* c = t.cold;
    if (c && c->rxt_lost_end > t.snd_una)
      again =
          c->scoreboard.next_unsacked(t.snd_una, net::seq_max(c->rxt_resend_next, t.snd_una), eff);
    // Only octets this recovery retransmitted (below HighRxt): the rest is rule 1's.
    if (again && again->start < net::seq_min(c->rxt_lost_end, t.high_rxt)) {
      // Before rule 1: a retransmission RACK found lost goes again (RFC 8985 6.2 applies
      // to retransmissions too; RFC 6675 alone would wait for the RTO).
      const Seq limit = net::seq_min(c->rxt_lost_end, t.high_rxt);
      n = retransmit_range(t, again->start,
                           std::min(again->len(), static_cast<uint32_t>(limit - again->start)),
                           now);
      if (n == 0) break;
      c->rxt_resend_next = again->start + n;
      counters_.inc(Counter::tcp_rack_lost_retransmits);
    } else if (auto r = t.scoreboard().next_lost(t.snd_una, t.snd_max, t.high_rxt, eff,
                                                 t.rto_recovery)) {
      n = retransmit_range(t, r->start, r->len(), now);
      if (n == 0) break;
      t.high_rxt = r->start + n;
    } else if (const uint32_t off = t.unsent_offset(),
               avail = t.sndq.bytes() > off ? t.sndq.bytes() - off : 0,
               room = t.snd_una + t.snd_wnd > t.snd_nxt
                          ? static_cast<uint32_t>(t.snd_una + t.snd_wnd - t.snd_nxt)
                          : 0;
               avail > 0 && std::min(avail, eff) <= room &&
               // Nagle (RFC 9293 3.7.4) holds a short tail back as outside recovery.
               (avail >= eff || options_of(t).nodelay || t.fin_queued)) {
      // Rule 2: new data the receiver's window takes (a full segment or the queue's end).
      const uint32_t len = std::min(avail, eff);
      if (!send_segment(t, t.snd_nxt, static_cast<uint8_t>(ack | (len == avail ? psh : 0)), off,
                        len, now))
        break;
      n = len;
    } else if (auto r3 = t.rto_recovery
                             ? std::nullopt
                             : t.scoreboard().next_unsacked(t.snd_una, t.high_rxt, eff)) {
      // Rule 3: a hole below HighSACK not yet deemed lost.
      n = retransmit_range(t, r3->start, r3->len(), now);
      if (n == 0) break;
      t.high_rxt = r3->start + n;
    } else if (t.snd_una > t.rescue_rxt) {
      // Rule 4: one rescue retransmission per recovery, of the highest unSACKed octets, so
      // that a lost tail does not wait for the RTO. HighRxt stays.
      auto r4 = t.scoreboard().highest_unsacked(t.snd_una, t.snd_max, eff);
      if (!r4) break;
      n = retransmit_range(t, r4->start, r4->len(), now);
      if (n == 0) break;
      t.rescue_rxt = t.recover;
    } else {
      break;
    }
    sent = true;
    pipe += n;
  }
  return sent;
}

bool TcpLayer::send_tso_frame(Tcb& t, uint32_t off, uint32_t avail, uint32_t usable, uint32_t eff,
                              uint64_t now, bool& sent) {
  // TSO (issue 13 item 2): what could leave now as full-sized segments -- RFC 9293 3.7.1's
  // MSS, inside cwnd and the peer's window (3.8.6) -- leaves as one frame of at most
  // tso_max octets that the device cuts into segments of `eff` octets, each with this
  // header (so one TSval for all, as from a NIC). A short tail is not part of it: it goes
  // by the rules in output() (sender SWS avoidance, Nagle) as it would without TSO, and so
  // does the segment that carries the FIN. The wire sees the segments it would see today.
  // Retransmissions (retransmit_range) and recovery's new data stay one MSS each: RFC 6675's
  // pipe and NextSeg() count in SMSS, and a lost piece is found and resent on its own.
  uint32_t pieces = std::min({avail, usable, config_.tso_max}) / eff;
  if (t.fin_queued && pieces * eff == avail) --pieces;
  if (pieces < 2) return false;
  const uint32_t len = pieces * eff;
  const uint8_t flags = static_cast<uint8_t>(ack | (len == avail ? psh : 0));
  if (!send_segment(t, t.snd_nxt, flags, off, len, now, eff)) {
    mark_dirty(t);  // out of room or buffers: one MSS at a time below, or the next flush
    return false;
  }
  sent = true;
  return true;
}

void TcpLayer::output(Tcb& t, uint64_t now) {
  switch (t.state) {
    case State::closed:
    case State::listen:
    case State::syn_sent:
    case State::syn_received:
    case State::time_wait:
      if (t.ack_now && t.state == State::time_wait) send_ack(t, now);
      return;
    default:
      break;
  }
  // RFC 6298 5.1 arms the retransmission timer when a segment with data leaves and it is not
  // running; RFC 8985 7.2 then replaces it with the tail loss probe's timeout once the new
  // data is out. Both deadlines are now plus a constant of the connection, so the first
  // segment only notes that the timer is owed and the end of this output sets one of the two
  // (issue 13: one timer set per response instead of two). The due tick, the kind and the
  // wheel's entry end as they did.
  rexmt_deferred_ = true;
  rexmt_owed_ = false;
  bool failed = false;
  const bool sent = output_data(t, now, failed);
  rexmt_deferred_ = false;
  if (rexmt_owed_) t.rexmt_kind = RexmtKind::rto;  // what arm_rexmt at that segment set
  if (failed) {
    if (rexmt_owed_) arm_rexmt(t, now);
    return;
  }
  const bool may_send_data = sends_data(t.state);
  // RFC 9293 3.8.6.1: data waiting behind a zero window starts the persist timer. So does
  // data held back by sender SWS avoidance with nothing in flight (a window smaller than
  // an MSS and half the largest one): no ACK will come to change that, so the timer is the
  // override timeout of 3.8.6.2.1 / RFC 1122 4.2.3.4 (on_persist then sends what fits).
  if (may_send_data && t.sndq.bytes() > t.unsent_offset() && t.snd_una == t.snd_max &&
      !timer_set(t, TimerKind::persist)) {
    set_timer(t, TimerKind::persist, now + t.rtt.rto());
  }
  // RFC 8985 7.2: new data sent restarts the wait for a tail loss probe.
  const bool probe = sent && t.rexmt_kind == RexmtKind::rto && schedule_probe(t, now);
  if (rexmt_owed_ && !probe) arm_rexmt(t, now);
  if (t.ack_now && !sent) send_ack(t, now);
}

bool TcpLayer::output_data(Tcb& t, uint64_t now, bool& failed) {
  bool sent = false;
  const uint32_t eff = payload_mss(t);
  const bool may_send_data = sends_data(t.state);
  if (may_send_data && t.sack_recovery()) {
    sent = output_sack_recovery(t, now);
  }
  // RFC 3042 limited transmit: each of the first two duplicate ACKs lets one new segment
  // out beyond cwnd (cwnd itself does not change).
  const uint32_t limited =
      t.in_recovery ? 0 : std::min<uint32_t>(t.dupacks, kDupThresh - 1) * t.snd_mss;
  while (may_send_data && !t.sack_recovery()) {
    const uint32_t off = t.unsent_offset();
    const uint32_t avail = t.sndq.bytes() > off ? t.sndq.bytes() - off : 0;
    const uint32_t in_flight = static_cast<uint32_t>(t.snd_nxt - t.snd_una);
    const uint32_t win = std::min(t.snd_wnd, t.cwnd + limited);
    const uint32_t usable = win > in_flight ? win - in_flight : 0;
    const uint32_t len = std::min({avail, usable, eff});
    // The FIN follows the last byte: the first time, or again when go-back-N (an RTO, a
    // smaller MSS) has brought SND.NXT back to it; its sequence number never changes.
    const bool fin_now =
        t.fin_queued && len == avail && (!t.fin_sent || t.snd_nxt + len == t.snd_fin());
    if (len == 0 && !fin_now) break;
    // TSO for both families (issue 16): the offload requests (prepare_tx_checksums) and the
    // software cut (tso_cut.hpp) know IPv4 and IPv6 headers alike.
    if (config_.tso_max > 0 && len == eff && send_tso_frame(t, off, avail, usable, eff, now, sent))
      continue;
    if (len > 0 && len < eff && !fin_now) {
      // RFC 9293 3.8.6.2.1 sender SWS avoidance: a short segment only when it empties the
      // queue (then Nagle decides) or is at least half the largest window ever offered.
      if (len < avail && usable < t.max_snd_wnd / 2) break;
      // RFC 9293 3.7.4 Nagle: one small segment in flight at a time, unless NODELAY.
      if (len == avail && in_flight > 0 && !options_of(t).nodelay) break;
    }
    uint8_t flags = ack;
    if (len > 0 && len == avail) flags |= psh;
    if (fin_now) flags |= fin;
    if (!send_segment(t, t.snd_nxt, flags, off, len, now)) {
      mark_dirty(t);  // out of room or buffers: continue at the next flush
      failed = true;
      return sent;
    }
    sent = true;
    if (fin_now) break;
  }
  return sent;
}

}  // namespace pollux::tcp
