// Building a segment of a connection (header, options, the window we advertise, data from the
// send queue) and what sending it records (SND.NXT/SND.MAX, retransmissions, RTT timing,
// RACK's send times); every segment carries the ACK, so an ACK leaves here too.
#include <algorithm>

#include "net/ethernet.hpp"
#include "tcp/tcp_layer.hpp"

namespace pollux::tcp {

using base::Counter;
using net::tcp_flags::ack;
using net::tcp_flags::fin;
using net::tcp_flags::syn;

// The mbuf the next allocation on this lcore will return (the top of the lcore's mempool
// cache `c`) into cache, both header lines: its last writer was usually the peer's lcore (it
// freed what we sent), and the next reset would stall on it. Only a hint: it changes nothing
// in the pool (issue 13 item 4).
static void prefetch_next_mbuf(const rte_mempool_cache* c) {
  if (c == nullptr || c->len == 0) return;
  const auto* next = static_cast<const char*>(c->objs[c->len - 1]);
  rte_prefetch0(next);
  rte_prefetch0(next + RTE_CACHE_LINE_SIZE);
}

uint32_t TcpLayer::tsval(const Tcb& t, uint64_t now) const {
  // A 1 kHz timestamp clock (RFC 7323 5.4 allows 1 ms to 1 s per tick) with a
  // per-connection offset so the clock does not reveal uptime.
  return static_cast<uint32_t>(now / 1'000'000) + t.ts_offset;
}

rte_mbuf* TcpLayer::alloc_datagram(uint16_t total) {
  rte_mbuf* m;
  if (spare_count_ != 0) {
    // A received segment's buffer (keep_spare), in place of a free and a get.
    m = spares_[--spare_count_];
  } else {
    // rte_pktmbuf_alloc's get, with the lcore's cache looked up once for the get and the
    // prefetch (it was looked up twice, ~20 instructions a segment).
    rte_mempool_cache* c = rte_mempool_default_cache(pool_, rte_lcore_id());
    void* obj = nullptr;
    if (rte_mempool_generic_get(pool_, &obj, 1, c) < 0) return nullptr;
    m = static_cast<rte_mbuf*>(obj);
    prefetch_next_mbuf(c);
  }
  rte_pktmbuf_reset(m);  // the rest of rte_pktmbuf_alloc
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
  // RFC 2883 4: a D-SACK block goes first; the SACK blocks of held data follow.
  size_t n = 0;
  if (t.ooo)
    n = t.ooo->sack_blocks(o.sack, t.pending_dsack.get());
  else if (t.pending_dsack)
    o.sack[n++] = *t.pending_dsack;
  o.sack_count = static_cast<uint8_t>(n);
  return o;
}

bool TcpLayer::send_segment(Tcb& t, Seq seq, uint8_t flags, uint32_t data_off, uint32_t len,
                            uint64_t now, uint32_t tso_segsz) {
  if (!out_has_room()) return false;
  // The option block. Past the handshake with nothing to SACK (every segment of a short
  // connection but its SYNs) it is the timestamps alone or nothing, sized and written here
  // directly (the bytes write_tcp_options gives: tcp_options_test); anything else goes
  // through the general writer.
  const bool ts_alone = !(flags & syn) && !sack_to_report(t);
  net::TcpOptions o;
  if (ts_alone) {
    o.has_timestamps = t.ts_ok;
  } else if (flags & syn) {
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
  const size_t opt_len =
      ts_alone ? (o.has_timestamps ? net::kTsAppaLen : 0) : net::tcp_options_length(o);
  const size_t ip_len = ip_header_len(t);
  const size_t kHeaders = net::kEthernetHeaderLen + ip_len + net::kTcpMinHeaderLen;
  // Zero-copy (TcpConfig::tx_share): the headers in their own mbuf, the payload referenced
  // in the send queue; otherwise one mbuf with the payload copied after the headers. A TSO
  // frame (`tso_segsz`: the device cuts it into segments of that many payload octets, as a
  // NIC does with RTE_MBUF_F_TX_TCP_SEG) always references it: no one buffer holds 64 KB.
  const bool tso = tso_segsz > 0 && len > tso_segsz;
  const uint32_t pieces = tso ? (len + tso_segsz - 1) / tso_segsz : 1;
  const bool share = tso || (config_.tx_share && len >= config_.tx_share_min);
  rte_mbuf* m = alloc_datagram(static_cast<uint16_t>(kHeaders + opt_len + (share ? 0 : len)));
  rte_mbuf* payload = nullptr;
  if (m && share) {
    payload = t.sndq.share(data_off, len, pool_);
    if (!payload || rte_pktmbuf_chain(m, payload) != 0) {
      rte_pktmbuf_free(payload);
      rte_pktmbuf_free(m);
      m = nullptr;
    }
  }
  if (!m) {
    counters_.inc(Counter::drop_tcp_no_mbuf);
    return false;
  }
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  uint8_t* tcp = p + net::kEthernetHeaderLen + ip_len;

  // The window we advertise (3.8.6.2.2 receiver SWS avoidance: an opening smaller than
  // min(rcvbuf/2, MSS) is not offered; the right edge never moves left).
  uint32_t wnd = rcv_window(t);
  const Seq old_right = net::seq_max(t.rcv_adv, t.rcv_nxt);
  const uint32_t promised = static_cast<uint32_t>(old_right - t.rcv_nxt);
  if (wnd < promised)
    wnd = promised;
  else if (wnd - promised < std::min<uint32_t>(options_of(t).rcvbuf / 2, t.rcv_mss))
    wnd = promised;
  const uint8_t shift = (flags & syn) ? 0 : t.rcv_wscale;
  const uint32_t field = std::min<uint32_t>(wnd >> shift, 0xffff);
  if (flags & ack) {
    t.rcv_adv = net::seq_max(t.rcv_adv, t.rcv_nxt + (field << shift));
    t.last_ack_sent = t.rcv_nxt;
  }

  net::TcpBuild b;
  b.src_port = t.local_port();
  b.dst_port = t.remote_port();
  b.seq = seq;
  b.ack = (flags & ack) ? t.rcv_nxt : Seq(0);
  b.flags = flags;
  b.window = static_cast<uint16_t>(field);
  b.options_len = static_cast<uint8_t>(opt_len);
  if (!ts_alone)
    net::write_tcp_options(tcp + net::kTcpMinHeaderLen, o);
  else if (o.has_timestamps)
    net::write_ts_appa(tcp + net::kTcpMinHeaderLen, o.ts_val, o.ts_ecr);
  net::write_tcp_header(tcp, b);
  if (len && !share) t.sndq.copy_out(data_off, len, tcp + net::kTcpMinHeaderLen + opt_len);

  // A TSO frame's segments take consecutive IDs from the device (librte_gso, NICs), as they
  // would from here one by one: the next datagram's ID follows the frame's last segment.
  // IPv6 has no ID outside a fragment header.
  const auto tcp_len = static_cast<uint16_t>(net::kTcpMinHeaderLen + opt_len + len);
  (void)write_ip_header(p + net::kEthernetHeaderLen, t, tcp_len, ip_id_);
  if (t.is_v4()) ip_id_ = static_cast<uint16_t>(ip_id_ + pieces);
  if (tso) {
    // Completed below or by the engine (l2/l3/l4 lengths, the IPv4 checksum and the
    // pseudo-header seed without the length, as DPDK's TSO contract asks; IPv6's the same,
    // with TX_IPV6 and its own pseudo-header, RFC 8200 8.1).
    m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG;
    m->tso_segsz = static_cast<uint16_t>(tso_segsz);
    counters_.inc(Counter::tcp_tso_frames);
  }
  // The checksums, from the lengths and family known here; the engine prepares what this
  // leaves (it tells by RTE_MBUF_F_TX_IPV4/IPV6, set only by a prepared frame).
  if (config_.tx_checksums.prepare)
    (void)prepare_segment_checksums(m, p + net::kEthernetHeaderLen, t.is_v4(),
                                    static_cast<uint16_t>(net::kTcpMinHeaderLen + opt_len), tcp_len,
                                    config_.tx_checksums);
  out_[out_count_++] = m;
  counters_.inc(Counter::tcp_segs_out, pieces);  // segments on the wire, as Linux counts

  const uint32_t space = len + ((flags & syn) ? 1 : 0) + ((flags & fin) ? 1 : 0);
  if (space > 0 && seq < t.snd_max) {
    counters_.inc(Counter::tcp_retrans_segs, pieces);
    counters_.inc(retrans_cause(t, flags), pieces);
    count_event(t, &EventCounts::retransmits, pieces);
    t.rxt_ever = true;
    if (UndoRecord* u = t.undo()) u->undo_retrans += pieces;
    if (!t.rxt_out) {
      t.rxt_out = true;
      t.rxt_stamp = o.has_timestamps ? o.ts_val : 0;
      t.rxt_high = seq + space;
    } else if (seq + space > t.rxt_high) {
      t.rxt_high = seq + space;
    }
  }
  if (t.rack_on && space > 0 && !(flags & syn)) {
    // RFC 8985 5.2: every transmission's time, for RACK. Without a cold block (pool empty)
    // the time goes unrecorded: RACK sees nothing of this flight and the TLP and RTO repair
    // its losses.
    if (ColdBlock* c = take_cold(t)) {
      if (c->sent_log.size() == 0) c->sent_log.reset(t.snd_una);
      c->sent_log.on_send(seq, seq + space, static_cast<uint32_t>(now / 1000));
    }
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
    if (Stats::wraps(t.iss, t.snd_max, seq + space)) ++t.sent_wraps;  // bytes_sent (Stats)
    t.snd_max = seq + space;
  }
  // Our FIN takes the last sequence number sent (snd_max moved past it above): Tcb::snd_fin.
  if (flags & fin) t.fin_sent = true;
  if (space > 0 && !rexmt_pending(t)) {
    // RFC 6298 5.1. Inside output() its end sets the timer (or the probe's, RFC 8985 7.2).
    if (rexmt_deferred_)
      rexmt_owed_ = true;
    else
      arm_rexmt(t, now);
  }
  if (flags & ack) {
    // Every segment carries the ACK: nothing left to acknowledge separately.
    t.ack_now = false;
    t.segs_since_ack = 0;
    t.pending_dsack.reset();  // reported once (RFC 2883 4)
    stop_timer(t, TimerKind::delayed_ack);
  }
  return true;
}

base::Counter TcpLayer::retrans_cause(const Tcb& t, uint8_t flags) const {
  if (flags & syn) return (flags & ack) ? Counter::tcp_retrans_synack : Counter::tcp_retrans_syn;
  if (probing_) return Counter::tcp_retrans_tlp;
  // After a timeout: RFC 6675 5.1's recovery with SACK, go-back-N (snd_nxt rewound,
  // rexmt_count counting the series) without.
  if (t.rto_recovery || (t.rexmt_count > 0 && !t.in_recovery)) return Counter::tcp_retrans_rto;
  if (t.in_recovery) return Counter::tcp_retrans_recovery;
  return Counter::tcp_retrans_other;
}

}  // namespace pollux::tcp
