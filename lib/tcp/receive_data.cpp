// The receiver's side of a segment: its text (RFC 9293 3.10.7.4 seventh) into the receive
// queue or, out of order, the reassembly queue; the ACK policy (RFC 5681 4.2, RFC 9293
// 3.8.6.3); D-SACK reports (RFC 2883); and the FIN (eighth).
#include "tcp/tcp_layer.hpp"

namespace pollux::tcp {

using base::Counter;

void TcpLayer::note_dsack(Tcb& t, Seq left, Seq right) {
  if (!t.sack_ok || !(left < right)) return;
  t.pending_dsack = net::SackBlock{left, right};
  t.ack_now = true;
}

void TcpLayer::process_data(Tcb& t, rte_mbuf* m, const net::TcpHeader& seg, uint64_t now) {
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
    if (t.app_closed)
      rte_pktmbuf_free(m);
    else
      t.rcvq.append(m);
    // Out-of-order data held means this segment went into a gap, whether or not it reached
    // the data beyond it.
    const bool filled_gap = t.ooo && !t.ooo->empty();
    if (t.ooo) {
      while (rte_mbuf* c = t.ooo->pop_in_order(t.rcv_nxt)) {
        if (t.app_closed)
          rte_pktmbuf_free(c);
        else
          t.rcvq.append(c);
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
  if (t.sack_ok)
    t.ack_now = true;
  else
    send_ack(t, now);
  if (!t.ooo && !acquire_ooo(t)) {
    rte_pktmbuf_free(m);
    counters_.inc(Counter::drop_tcp_ofo_no_queue);
    return;
  }
  auto r = t.ooo->insert(seq, m, t.rcv_nxt);
  if (r.dsack) note_dsack(t, r.dsack->left, r.dsack->right);
  if (r.status == InsertStatus::dropped)
    counters_.inc(Counter::drop_tcp_ofo_limit);
  else
    counters_.inc(Counter::tcp_ofo_queued);
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
      set_state(t, State::close_wait, StateCause::fin_received);
      break;
    case State::fin_wait_1:
      // Our FIN not yet acknowledged: simultaneous close.
      set_state(t, State::closing, StateCause::fin_received);
      break;
    case State::fin_wait_2:
      enter_time_wait(t, StateCause::fin_received, now);
      break;
    default:
      break;
  }
}

}  // namespace pollux::tcp
