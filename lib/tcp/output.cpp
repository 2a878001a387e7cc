// What to send and when (RFC 9293 3.8.6: windows, silly window syndrome, Nagle; 3.8.6.3 and
// RFC 5681 4.2 delayed ACK; RFC 5681 congestion window), and building segments.
#include <algorithm>
#include <cstring>

#include "net/checksum.hpp"
#include "net/ethernet.hpp"
#include "tcp/tcp_layer.hpp"

namespace pollux::tcp {

using net::tcp_flags::ack;
using net::tcp_flags::fin;
using net::tcp_flags::psh;
using net::tcp_flags::rst;
using net::tcp_flags::syn;
using base::Counter;

uint32_t TcpLayer::tsval(const Tcb& t, uint64_t now) const {
  // A 1 kHz timestamp clock (RFC 7323 5.4 allows 1 ms to 1 s per tick) with a
  // per-connection offset so the clock does not reveal uptime.
  return static_cast<uint32_t>(now / 1'000'000) + t.ts_offset;
}

uint32_t TcpLayer::rcv_window(const Tcb& t) const {
  const uint32_t held = t.rcvq.bytes() + (t.ooo ? t.ooo->bytes() : 0);
  return t.opts.rcvbuf > held ? t.opts.rcvbuf - held : 0;
}

rte_mbuf* TcpLayer::alloc_datagram(uint16_t total) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (!m) return nullptr;
  if (!rte_pktmbuf_append(m, total)) {
    rte_pktmbuf_free(m);
    return nullptr;
  }
  return m;
}

net::TcpOptions TcpLayer::data_options(const Tcb& t) const {
  // Timestamps when negotiated (RFC 7323), SACK blocks while out-of-order data is held
  // (RFC 2018 4). The values of the timestamps are filled in when the segment is built.
  net::TcpOptions o;
  o.has_timestamps = t.ts_ok;
  if (!t.sack_ok) return o;
  size_t n = 0;
  // RFC 2883 4: a D-SACK block goes first; the SACK blocks of held data follow.
  if (t.dsack_pending) o.sack[n++] = t.dsack_block;
  if (t.ooo && !t.ooo->empty())
    n += t.ooo->sack_blocks(std::span<net::SackBlock>(o.sack).subspan(n));
  o.sack_count = static_cast<uint8_t>(n);
  return o;
}

uint32_t TcpLayer::payload_mss(const Tcb& t) const {
  // RFC 6691: the MSS bounds the payload of a segment without options, so the options a
  // segment carries come out of it. SACK blocks vary per segment: ask each time.
  return t.snd_mss - static_cast<uint32_t>(net::tcp_options_length(data_options(t)));
}

bool TcpLayer::send_segment(Tcb& t, Seq seq, uint8_t flags, uint32_t data_off, uint32_t len,
                            uint64_t now) {
  if (!out_has_room()) return false;
  net::TcpOptions o;
  if (flags & syn) {
    // Our SYN offers everything enabled; a SYN-ACK only what the peer's SYN offered.
    const bool answer = (flags & ack) != 0;
    o.has_mss = true;
    o.mss = t.rcv_mss;
    o.has_wscale = answer ? t.ws_ok : config_.window_scaling;
    o.wscale = t.rcv_wscale;
    o.sack_permitted = answer ? t.sack_ok : config_.sack;
    o.has_timestamps = answer ? t.ts_ok : config_.timestamps;
  } else {
    o = data_options(t);
  }
  if (o.has_timestamps) {
    o.ts_val = tsval(t, now);
    o.ts_ecr = (flags & ack) ? t.ts_recent : 0;
  }
  const size_t opt_len = net::tcp_options_length(o);
  constexpr size_t kHeaders =
      net::kEthernetHeaderLen + net::kIpv4MinHeaderLen + net::kTcpMinHeaderLen;
  rte_mbuf* m = alloc_datagram(static_cast<uint16_t>(kHeaders + opt_len + len));
  if (!m) {
    counters_.inc(Counter::drop_tcp_no_mbuf);
    return false;
  }
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  uint8_t* tcp = p + net::kEthernetHeaderLen + net::kIpv4MinHeaderLen;

  // The window we advertise (3.8.6.2.2 receiver SWS avoidance: an opening smaller than
  // min(rcvbuf/2, MSS) is not offered; the right edge never moves left).
  uint32_t wnd = rcv_window(t);
  const Seq old_right = net::seq_max(t.rcv_adv, t.rcv_nxt);
  const uint32_t promised = static_cast<uint32_t>(old_right - t.rcv_nxt);
  if (wnd < promised)
    wnd = promised;
  else if (wnd - promised < std::min<uint32_t>(t.opts.rcvbuf / 2, t.rcv_mss))
    wnd = promised;
  const uint8_t shift = (flags & syn) ? 0 : t.rcv_wscale;
  const uint32_t field = std::min<uint32_t>(wnd >> shift, 0xffff);
  if (flags & ack) {
    t.rcv_adv = net::seq_max(t.rcv_adv, t.rcv_nxt + (field << shift));
    t.last_ack_sent = t.rcv_nxt;
  }

  net::TcpBuild b;
  b.src_port = t.tuple.local_port;
  b.dst_port = t.tuple.remote_port;
  b.seq = seq;
  b.ack = (flags & ack) ? t.rcv_nxt : Seq(0);
  b.flags = flags;
  b.window = static_cast<uint16_t>(field);
  b.options_len = static_cast<uint8_t>(opt_len);
  net::write_tcp_options(tcp + net::kTcpMinHeaderLen, o);
  net::write_tcp_header(tcp, b);
  if (len) t.sndq.copy_out(data_off, len, tcp + net::kTcpMinHeaderLen + opt_len);

  net::Ipv4Build ipb;
  ipb.src = t.tuple.local_ip;
  ipb.dst = t.tuple.remote_ip;
  ipb.protocol = net::kIpProtoTcp;
  ipb.payload_len = static_cast<uint16_t>(net::kTcpMinHeaderLen + opt_len + len);
  ipb.id = ip_id_++;
  ipb.fill_checksum = false;  // the engine prepares both checksums (software or NIC)
  net::write_ipv4_header(p + net::kEthernetHeaderLen, ipb);
  out_[out_count_++] = m;
  counters_.inc(Counter::tcp_segs_out);

  const uint32_t space = len + ((flags & syn) ? 1 : 0) + ((flags & fin) ? 1 : 0);
  if (space > 0 && seq < t.snd_max) {
    counters_.inc(Counter::tcp_retrans_segs);
    ++t.retransmits;
    if (t.undo_valid) ++t.undo_retrans;
    if (!t.rxt_out) {
      t.rxt_out = true;
      t.rxt_stamp = o.has_timestamps ? o.ts_val : 0;
      t.rxt_high = seq + space;
    } else if (seq + space > t.rxt_high) {
      t.rxt_high = seq + space;
    }
  }
  if (t.rack_on && space > 0 && !(flags & syn)) {
    // RFC 8985 5.2: every transmission's time, for RACK.
    if (t.sent_log.size() == 0) t.sent_log.reset(t.snd_una);
    t.sent_log.on_send(seq, seq + space, static_cast<uint32_t>(now / 1000));
  }
  if (seq == t.snd_nxt) {
    if (space > 0 && seq == t.snd_max && !t.ts_ok && !t.rtt_timing) {
      // RFC 6298 3 / Karn: time only segments sent for the first time.
      t.rtt_timing = true;
      t.rtt_seq = seq;
      t.rtt_sent_ns = now;
    }
    t.snd_nxt += space;
  }
  // snd_max is the highest sequence number sent plus one, whichever path sent it: a
  // retransmission from snd_una can reach past the original segment when it carries fewer
  // option bytes (its SACK blocks gone), and the peer acknowledges what it received. Left
  // behind, snd_max would make that ACK "unsent data" (3.10.7.4): an ACK war.
  if (seq + space > t.snd_max) {
    t.bytes_sent += static_cast<uint32_t>(seq + space - t.snd_max);
    t.snd_max = seq + space;
  }
  if (flags & fin) {
    t.fin_sent = true;
    t.snd_fin = seq + len;
  }
  if (space > 0 && !t.rexmt_timer.is_armed()) arm_rexmt(t, now);
  if (flags & ack) {
    // Every segment carries the ACK: nothing left to acknowledge separately.
    t.ack_now = false;
    t.segs_since_ack = 0;
    t.dsack_pending = false;  // reported once (RFC 2883 4)
    base::TimerWheel::cancel(t.delack_timer);
  }
  return true;
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
  const bool with_fin = t.fin_sent && start + data == t.snd_fin;
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
    if (t.rxt_lost_end > t.snd_una)
      again = t.scoreboard.next_unsacked(t.snd_una, net::seq_max(t.rxt_resend_next, t.snd_una), eff);
    // Only octets this recovery retransmitted (below HighRxt): the rest is rule 1's.
    if (again && again->start < net::seq_min(t.rxt_lost_end, t.high_rxt)) {
      // Before rule 1: a retransmission RACK found lost goes again (RFC 8985 6.2 applies
      // to retransmissions too; RFC 6675 alone would wait for the RTO).
      const Seq limit = net::seq_min(t.rxt_lost_end, t.high_rxt);
      n = retransmit_range(t, again->start,
                           std::min(again->len(), static_cast<uint32_t>(limit - again->start)), now);
      if (n == 0) break;
      t.rxt_resend_next = again->start + n;
      counters_.inc(Counter::tcp_rack_lost_retransmits);
    } else if (auto r = t.scoreboard.next_lost(t.snd_una, t.snd_max, t.high_rxt, eff, t.rto_recovery)) {
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
               (avail >= eff || t.opts.nodelay || t.fin_queued)) {
      // Rule 2: new data the receiver's window takes (a full segment or the queue's end).
      const uint32_t len = std::min(avail, eff);
      if (!send_segment(t, t.snd_nxt, static_cast<uint8_t>(ack | (len == avail ? psh : 0)), off,
                        len, now))
        break;
      n = len;
    } else if (auto r3 = t.rto_recovery ? std::nullopt
                                        : t.scoreboard.next_unsacked(t.snd_una, t.high_rxt, eff)) {
      // Rule 3: a hole below HighSACK not yet deemed lost.
      n = retransmit_range(t, r3->start, r3->len(), now);
      if (n == 0) break;
      t.high_rxt = r3->start + n;
    } else if (t.snd_una > t.rescue_rxt) {
      // Rule 4: one rescue retransmission per recovery, of the highest unSACKed octets, so
      // that a lost tail does not wait for the RTO. HighRxt stays.
      auto r4 = t.scoreboard.highest_unsacked(t.snd_una, t.snd_max, eff);
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
  bool sent = false;
  const uint32_t eff = payload_mss(t);
  const bool may_send_data = t.state == State::established || t.state == State::close_wait ||
                             t.state == State::fin_wait_1 || t.state == State::closing ||
                             t.state == State::last_ack;
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
        t.fin_queued && len == avail && (!t.fin_sent || t.snd_nxt + len == t.snd_fin);
    if (len == 0 && !fin_now) break;
    if (len > 0 && len < eff && !fin_now) {
      // RFC 9293 3.8.6.2.1 sender SWS avoidance: a short segment only when it empties the
      // queue (then Nagle decides) or is at least half the largest window ever offered.
      if (len < avail && usable < t.max_snd_wnd / 2) break;
      // RFC 9293 3.7.4 Nagle: one small segment in flight at a time, unless NODELAY.
      if (len == avail && in_flight > 0 && !t.opts.nodelay) break;
    }
    uint8_t flags = ack;
    if (len > 0 && len == avail) flags |= psh;
    if (fin_now) flags |= fin;
    if (!send_segment(t, t.snd_nxt, flags, off, len, now)) {
      mark_dirty(t);  // out of room or buffers: continue at the next flush
      return;
    }
    sent = true;
    if (fin_now) break;
  }
  // RFC 9293 3.8.6.1: data waiting behind a zero window starts the persist timer. So does
  // data held back by sender SWS avoidance with nothing in flight (a window smaller than
  // an MSS and half the largest one): no ACK will come to change that, so the timer is the
  // override timeout of 3.8.6.2.1 / RFC 1122 4.2.3.4 (on_persist then sends what fits).
  if (may_send_data && t.sndq.bytes() > t.unsent_offset() && t.snd_una == t.snd_max &&
      !t.persist_timer.is_armed()) {
    wheel_.arm(t.persist_timer, now + t.rtt.rto());
  }
  // RFC 8985 7.2: new data sent restarts the wait for a tail loss probe.
  if (sent && t.rexmt_kind == RexmtKind::rto) schedule_probe(t, now);
  if (t.ack_now && !sent) send_ack(t, now);
}

void TcpLayer::send_rst_for(const net::Ipv4Header& ip, const net::TcpHeader& seg) {
  // <SEQ=SEG.ACK><CTL=RST> (RFC 9293 3.10.7.3 and 3.10.7.4 for unacceptable ACKs).
  if (!out_has_room()) return;
  constexpr uint16_t kLen =
      net::kEthernetHeaderLen + net::kIpv4MinHeaderLen + net::kTcpMinHeaderLen;
  rte_mbuf* m = alloc_datagram(kLen);
  if (!m) return counters_.inc(Counter::drop_tcp_no_mbuf);
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  net::TcpBuild b;
  b.src_port = seg.dst_port;
  b.dst_port = seg.src_port;
  b.seq = seg.ack;
  b.flags = rst;
  net::write_tcp_header(p + net::kEthernetHeaderLen + net::kIpv4MinHeaderLen, b);
  net::Ipv4Build ipb;
  ipb.src = ip.dst;
  ipb.dst = ip.src;
  ipb.protocol = net::kIpProtoTcp;
  ipb.payload_len = net::kTcpMinHeaderLen;
  ipb.id = ip_id_++;
  ipb.fill_checksum = false;
  net::write_ipv4_header(p + net::kEthernetHeaderLen, ipb);
  out_[out_count_++] = m;
  counters_.inc(Counter::tcp_rst_sent);
}

void TcpLayer::send_rst(Tcb& t) {
  // ABORT (RFC 9293 3.10.5): <SEQ=SND.NXT><CTL=RST>.
  net::Ipv4Header ip{};
  ip.src = t.tuple.remote_ip;
  ip.dst = t.tuple.local_ip;
  net::TcpHeader seg{};
  seg.src_port = t.tuple.remote_port;
  seg.dst_port = t.tuple.local_port;
  seg.ack = t.snd_nxt;
  send_rst_for(ip, seg);
}

}  // namespace pollux::tcp
