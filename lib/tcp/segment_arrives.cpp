// SEGMENT ARRIVES (RFC 9293 3.10.7): the engine hands over a validated segment
// (lib/engine/tcp_segment_input.cpp); here it is dispatched by the state of the connection it
// belongs to -- a TIME-WAIT a new SYN may end (time_wait.cpp), SYN-SENT (input_syn_sent.cpp),
// the synchronized states (input_synchronized.cpp) -- or to a listener (input_listen.cpp).
// What nothing wants goes back to the engine, which answers it as CLOSED (3.10.7.1).
#include <algorithm>

#include "tcp/tcp_layer.hpp"

namespace pollux::tcp {

using base::Counter;
using net::tcp_flags::ack;
using net::tcp_flags::rst;
using net::tcp_flags::syn;

namespace {

// The segments a received frame stood for on the wire: a frame the device (LRO) or the
// engine (GRO) coalesced holds its payload in segments of tso_segsz octets (as Linux counts
// InSegs by gso_segs), so that tcp_segs_in, and the busy cycles per segment derived from it,
// count wire segments whatever the receive offloads; any other frame is one.
uint32_t wire_segments(const rte_mbuf* m, const net::TcpHeader& seg) {
  if (!(m->ol_flags & RTE_MBUF_F_RX_LRO) || m->tso_segsz == 0) return 1;
  return std::max<uint32_t>(1, (seg.payload_len() + m->tso_segsz - 1) / m->tso_segsz);
}

}  // namespace

// The segment's owner is `m` (base::UniqueMbuf): moved on to the state's input function,
// dropped here (freed on return), or given back to the engine when nothing wants it.
base::UniqueMbuf TcpLayer::input(base::UniqueMbuf m, const base::FlowProbe& probe,
                                 const net::TcpHeader& seg, const net::TcpOptions& opts,
                                 uint64_t now) {
  now_ = now;
  // One hash of the tuple for the table and, on a miss, the TIME-WAIT records.
  const uint64_t hash = probe.hash();
  Tcb* t = table_.find(probe, hash);
  if (t && t->state == State::time_wait && seg.has(syn) && !seg.has(ack) && !seg.has(rst) &&
      time_wait_accepts_syn(*t, seg, opts)) {
    // RFC 6191 (and RFC 9293 3.6.1): a new incarnation of the pair, provably newer than the
    // old one, ends TIME-WAIT early; the SYN then meets the listener like any other.
    recycle_time_wait(*t, now);  // its TCB serves the new SYN (a full table has room)
    t = nullptr;
  } else if (!t) {
    if (TimeWaitRecord* r = tw_.find(probe, hash)) {
      if (seg.has(syn) && !seg.has(ack) && !seg.has(rst) && time_wait_accepts_syn(*r, seg, opts)) {
        recycle_time_wait(*r);  // the same, for a TIME-WAIT kept as a record
      } else {
        counters_.inc(Counter::tcp_segs_in);
        time_wait_input(*r, std::move(m), seg, opts, now);
        return {};
      }
    }
  }
  if (t) {
    counters_.inc(Counter::tcp_segs_in, wire_segments(m.get(), seg));
    // Header prediction first (fast_path.cpp): it takes the segment only when the full path
    // would do exactly what it does.
    if (t->state == State::syn_sent)
      input_syn_sent(*t, std::move(m), seg, opts, now);
    else if (!config_.header_prediction || !fast_path(*t, m, seg, opts, now))
      input_synchronized(*t, m, seg, opts, now);
    // What no queue took (an ACK, a FIN): its buffer serves this burst's answers.
    keep_spare(m);
    return {};
  }
  // A host that accepts no passive opens at all (pollux-gen: a one-way SYN host, issue 14
  // item 5) answers a SYN as a closed port does (the engine's RST, rate-limited), counted.
  if (seg.has(syn) && !seg.has(ack) && !config_.syn_filter.passive_opens()) {
    counters_.inc(Counter::drop_tcp_syn_filtered);
    return m;
  }
  for (Listener& l : listeners_) {
    if (!l.active || l.port != seg.dst_port) continue;
    // The tuple whole, for a new connection's TCB (or the cookie's), from here on.
    const net::FourTuple key = probe.tuple();
    // RFC 9293 3.10.7.2 (LISTEN): a RST is ignored; an ACK gets <SEQ=SEG.ACK><CTL=RST>,
    // which is what the engine's CLOSED answer does; only a SYN is for us.
    if (seg.has(rst)) {
      counters_.inc(Counter::drop_tcp_rst_to_closed);  // no connection for its tuple
      return {};
    }
    if (seg.has(ack)) {
      if (seg.has(syn)) return m;  // SYN,ACK to a listener: the engine's RST
      return accept_cookie(l, std::move(m), key, seg, opts, now);
    }
    counters_.inc(Counter::tcp_segs_in);
    // The inbound-SYN filter: a refused SYN is dropped without an answer, as a firewall's
    // one-way filter drops it (an answer would tell a scanner the port is there).
    if (seg.has(syn) && passive_open_allowed(key))
      input_listen(l, std::move(m), key, seg, opts, now);
    return {};  // else `m` is freed here
  }
  return m;
}

bool TcpLayer::passive_open_allowed(const net::FourTuple& key) {
  // Each family's rules decide for its sources; a family without rules is refused when the
  // other's rules allow some (SynFilter), so that an allow list cannot be walked around.
  const bool allowed = key.is_v4() ? config_.syn_filter.allows(key.remote_ip.v4(), key.local_port)
                                   : config_.syn_filter.allows(key.remote_ip.v6(), key.local_port);
  if (!allowed) {
    counters_.inc(Counter::drop_tcp_syn_filtered);
    return false;
  }
  // One source may hold at most max_conns_per_source of this lcore's connections (issue 14
  // item 3), so that a single client cannot fill the table; its SYN is dropped silently, as
  // a full backlog drops one (its retransmission may find room).
  if (config_.max_conns_per_source != 0 &&
      per_source_.get(net::source_key(key.remote_ip)) >= config_.max_conns_per_source) {
    counters_.inc(Counter::drop_tcp_source_limit);
    return false;
  }
  return true;
}

}  // namespace pollux::tcp
