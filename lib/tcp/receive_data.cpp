// The receiver's side of a segment: its text (RFC 9293 3.10.7.4 seventh) into the receive
// queue or, out of order, the reassembly queue; the ACK policy (RFC 5681 4.2, RFC 9293
// 3.8.6.3); D-SACK reports (RFC 2883); and the FIN (eighth).
#include <algorithm>

#include "tcp/reassembly.hpp"
#include "tcp/tcp_layer.hpp"

namespace pollux::tcp {

using base::Counter;

void TcpLayer::note_dsack(Tcb& t, Seq left, Seq right) {
  if (!t.sack_ok || !(left < right)) return;
  t.pending_dsack = net::SackBlock{left, right};
  t.ack_now = true;
}

// --- Receive memory (issue 14 item 2) ---------------------------------------------------------
//
// The window counts bytes, but what a peer pins is mbufs: a 2 KB buffer per segment, however
// little it carries. Four measures keep one peer (or many) from emptying the pool:
//  - the window charges every held mbuf at least half an MSS (rcv_window, output.cpp), so
//    tiny segments close it long before their bytes would;
//  - a connection holding more than its share of mbufs in order has small segments copied
//    into its last mbuf (collapse, as Linux's tcp_collapse/tcp_try_coalesce);
//  - the lcore's receive and reassembly queues hold at most rcv_mbuf_budget mbufs. Beyond
//    three quarters of it (pressure) no new out-of-order data is queued, and a connection
//    already holding kRcvPressureShare mbufs takes no more (its window is shown closed); at
//    the budget, out-of-order data is pruned, this connection's first, then everyone's.
//    RFC 9293 3.10.7.4 lets a receiver drop what it cannot hold; the sender retransmits.
//    Pruning data we SACKed is a renege (RFC 2018 8): allowed, and the sender must keep
//    SACKed data until it is cumulatively acknowledged. A pollux sender does (its scoreboard
//    only skips SACKed data, SND.UNA still covers it) and, after a second timeout in a row,
//    forgets the scoreboard and resends everything (timers.cpp on_rexmt), so a renege costs
//    it at worst two RTOs; Linux detects it (tcp_check_sack_reneging) after one;
//  - the budget itself is the RX reserve: the runtime sizes it from the mbufs beyond what the
//    RX rings, TX batch and caches need, so RX refill never finds the pool empty because TCP
//    holds every buffer.
uint32_t TcpLayer::collapse_share(const Tcb& t) const {
  // The buffer's worth of full segments; under pressure every small segment is collapsed.
  if (rcv_pressure()) return 0;
  return std::max<uint32_t>(options_of(t).rcvbuf / t.rcv_mss, kRcvPressureShare);
}

void TcpLayer::prune_one_ooo(ReassemblyQueue& q) {
  const uint32_t n = q.mbufs();
  if (n == 0) return;
  counters_.inc(Counter::drop_tcp_ofo_pruned, n);
  rcv_mbufs_ -= n;
  q.clear();  // an emptied queue stays lent: process_data returns it when data arrives
}

void TcpLayer::prune_ooo(Tcb& t, uint32_t target) {
  if (t.ooo) prune_one_ooo(*t.ooo);
  // The queues lent last at start first (the order of before the pool was a FreeList,
  // which lends items()[0] first); free queues are empty: nothing to do for them.
  const auto queues = ooo_pool_.items();
  for (size_t i = queues.size(); i-- > 0;) {
    if (rcv_mbufs_ <= target) return;
    prune_one_ooo(queues[i]);
  }
}

bool TcpLayer::rcv_admit(Tcb& t, const rte_mbuf* m, bool in_order) {
  const uint32_t segs = m->nb_segs;
  if (rcv_mbufs_ + segs <= rcv_pressure_mark_) return true;
  // Pressure: out-of-order data waits for a retransmission; in-order data is taken when it
  // costs no mbuf (collapse copies it behind the last one), or from a connection below its
  // share after its own out-of-order data has made way.
  if (in_order && t.rcvq.fits_behind(m)) return true;
  bool ok = false;
  if (in_order) {
    if (t.ooo && held_mbufs(t) >= kRcvPressureShare) prune_one_ooo(*t.ooo);
    ok = held_mbufs(t) < kRcvPressureShare;
    if (ok && rcv_mbufs_ + segs > rcv_budget_) {
      prune_ooo(t, rcv_budget_ - segs);
      ok = rcv_mbufs_ + segs <= rcv_budget_;
    }
  }
  if (!ok) counters_.inc(Counter::drop_tcp_rcv_memory);
  return ok;
}

void TcpLayer::process_data(Tcb& t, base::UniqueMbuf m, const net::TcpHeader& seg, uint64_t now) {
  // The header is always in the first buffer; the payload may continue in a chain of them
  // (a zero-copy sender's segment, LRO): both trims below work on chains without copying.
  // `m` is moved into the receive or reassembly queue; what is not taken is freed on return.
  const auto header_bytes =
      static_cast<uint32_t>(seg.payload.data() - rte_pktmbuf_mtod(m.get(), const uint8_t*));
  uint32_t len = seg.payload_len();
  Seq seq = seg.seq;
  uint32_t skip = header_bytes;
  if (seq < t.rcv_nxt) {  // the front was received before
    const uint32_t old = static_cast<uint32_t>(t.rcv_nxt - seq);
    note_dsack(t, seq, t.rcv_nxt);  // RFC 2883 4.1.1: report the duplicated part
    skip += old;
    len -= old;
    seq = t.rcv_nxt;
  }
  const Seq right = net::seq_max(t.rcv_adv, t.rcv_nxt);
  if (seq + len > right) len = static_cast<uint32_t>(right - seq);  // beyond the window
  if (len == 0) return;
  if (skip > 0) mbuf_trim_front(m, skip);
  if (rte_pktmbuf_pkt_len(m.get()) > len)
    mbuf_trim_back(m.get(), rte_pktmbuf_pkt_len(m.get()) - len);
  if (seq == t.rcv_nxt) {
    if (!t.app_closed && !rcv_admit(t, m.get(), true)) {
      // Not taken: RCV.NXT stays, the ACK shows the window (closed for a hog under
      // pressure), and the sender retransmits.
      t.ack_now = true;
      return;
    }
    const Seq from = t.rcv_nxt;
    t.rcv_nxt += len;
    if (!t.app_closed) append_in_order(t, std::move(m));  // else nobody reads it: freed
    // Out-of-order data held means this segment went into a gap, whether or not it reached
    // the data beyond it.
    const bool filled_gap = t.ooo && !t.ooo->empty();
    if (t.ooo) {
      for (;;) {
        const uint32_t before = t.ooo->mbufs();
        base::UniqueMbuf c{t.ooo->pop_in_order(t.rcv_nxt)};
        rcv_mbufs_ -= before - t.ooo->mbufs();
        if (!c) break;
        if (!t.app_closed) append_in_order(t, std::move(c));  // else freed here
      }
      if (t.ooo->empty()) release_ooo(t);
    }
    if (Stats::wraps(t.irs, from, t.rcv_nxt)) ++t.received_wraps;  // bytes_received (Stats)
    if (!t.app_closed) t.ev_readable = true;
    // RFC 5681 4.2 / RFC 9293 3.8.6.3: ACK at least every second full segment; at once when
    // the segment "fills in all or part of a gap" (5681 4.2). The partial case matters: a
    // NewReno sender repairs one hole per partial ACK (RFC 6582), and a delayed ACK there
    // adds the delayed-ACK timeout to every round of the repair. Otherwise delay.
    // An LRO frame (issue 13 item 2) is the segments the device coalesced: it counts as as
    // many as its length holds at our MSS (at most 45 in 64 KB), so one of two or more
    // full segments is answered at once -- one ACK for the frame, never a delayed one.
    const uint32_t segs = len > t.rcv_mss ? (len + t.rcv_mss - 1) / t.rcv_mss : 1;
    t.segs_since_ack = static_cast<uint8_t>(std::min<uint32_t>(t.segs_since_ack + segs, 255));
    // The delayed ACK's timer is set by flush (owe_delayed_ack), after the output that may
    // carry the ACK on data (a response acknowledges its request): it is owed only if none
    // left by then (both callers mark the TCB dirty).
    if (filled_gap || t.segs_since_ack >= 2) t.ack_now = true;
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
  if (!rcv_admit(t, m.get(), false)) return;
  if (!t.ooo && !acquire_ooo(t)) return counters_.inc(Counter::drop_tcp_ofo_no_queue);
  const uint32_t before = t.ooo->mbufs();
  auto r = t.ooo->insert(seq, std::move(m), t.rcv_nxt);
  rcv_mbufs_ += t.ooo->mbufs() - before;  // modular: an insert may also merge or replace
  if (r.dsack) note_dsack(t, r.dsack->left, r.dsack->right);
  if (r.status == InsertStatus::dropped)
    counters_.inc(Counter::drop_tcp_ofo_limit);
  else
    counters_.inc(Counter::tcp_ofo_queued);
}

void TcpLayer::append_in_order(Tcb& t, base::UniqueMbuf m) {
  const uint32_t before = t.rcvq.mbufs();
  if (const uint32_t n = t.rcvq.append(std::move(m), collapse_share(t)); n != 0)
    counters_.inc(Counter::tcp_rcv_collapsed, n);
  rcv_mbufs_ += t.rcvq.mbufs() - before;
}

void TcpLayer::process_fin(Tcb& t, uint64_t now) {
  // RFC 9293 3.10.7.4 eighth.
  t.fin_in_ooo = false;
  if (Stats::wraps(t.irs, t.rcv_nxt, t.rcv_nxt + 1)) ++t.received_wraps;  // bytes_received
  t.rcv_nxt += 1;
  t.fin_received = true;  // bytes_received leaves it out
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
