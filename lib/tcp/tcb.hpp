// The transmission control block (RFC 9293 3.3.1): everything pollux knows about one
// connection. Variable names are the RFC's.
#pragma once

#include <algorithm>
#include <boost/intrusive/slist.hpp>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>

#include "base/flow_table.hpp"
#include "base/timer_wheel.hpp"
#include "net/seq.hpp"
#include "net/tcp_options.hpp"
#include "pollux/tcp.hpp"
#include "tcp/app_bindings.hpp"
#include "tcp/cc/congestion.hpp"
#include "tcp/option_sets.hpp"
#include "tcp/rack.hpp"
#include "tcp/reassembly.hpp"
#include "tcp/recv_queue.hpp"
#include "tcp/rtt_estimator.hpp"
#include "tcp/sack_scoreboard.hpp"
#include "tcp/send_queue.hpp"

namespace pollux::tcp {

using net::Seq;

// RFC 9293 3.3.2.
enum class State : uint8_t {
  closed,
  listen,  // listeners are not TCBs in pollux; kept for names and traces
  syn_sent,
  syn_received,
  established,
  fin_wait_1,
  fin_wait_2,
  close_wait,
  closing,
  last_ack,
  time_wait,
};

[[nodiscard]] constexpr const char* state_name(State s) {
  constexpr const char* names[] = {"CLOSED",      "LISTEN",     "SYN-SENT",   "SYN-RECEIVED",
                                   "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT",
                                   "CLOSING",     "LAST-ACK",   "TIME-WAIT"};
  return names[static_cast<int>(s)];
}

inline constexpr size_t kStateCount = static_cast<size_t>(State::time_wait) + 1;

// Why a TCB changed state: the event on an arc of RFC 9293 3.3.2's state diagram (figure 5)
// that moved it, as TcpLayer::set_state() counts and traces it.
enum class StateCause : uint8_t {
  active_open,         // connect(): CLOSED -> SYN-SENT (3.10.1)
  passive_open,        // a SYN reached a listener (or the ACK of a SYN cookie, RFC 4987 3.6,
                       // stands for one): CLOSED -> SYN-RECEIVED (3.10.7.2)
  simultaneous_open,   // a SYN without ACK in SYN-SENT: -> SYN-RECEIVED (3.10.7.3 fourth)
  syn_ack,             // a SYN acknowledging ours in SYN-SENT: -> ESTABLISHED (3.10.7.3 fourth)
  handshake_ack,       // the ACK of our SYN in SYN-RECEIVED: -> ESTABLISHED (3.10.7.4 fifth)
  app_close,           // close()/shutdown_write(): -> FIN-WAIT-1 or LAST-ACK, SYN-SENT -> CLOSED
  fin_received,        // the peer's FIN: -> CLOSE-WAIT, CLOSING or TIME-WAIT (3.10.7.4 eighth)
  fin_acked,           // the ACK of our FIN: -> FIN-WAIT-2, TIME-WAIT or CLOSED (3.10.7.4 fifth)
  time_wait_expired,   // 2 MSL in TIME-WAIT: -> CLOSED (3.10.8)
  fin_wait_2_timeout,  // an orphaned FIN-WAIT-2 gave up waiting for the peer's FIN: -> CLOSED
  time_wait_recycled,  // a newer SYN (RFC 6191) or our connect() took the tuple: -> CLOSED
  time_wait_evicted,   // the TIME-WAIT store was full: its oldest record left early -> CLOSED
  rst_received,        // an acceptable RST: -> CLOSED (3.10.7.3 second, 3.10.7.4 second)
  timeout,             // retransmissions or keepalive probes exhausted: -> CLOSED (3.8.3)
  app_abort,           // abort(): -> CLOSED (3.10.5)
  no_resources,        // the stack could not go on: -> CLOSED
  released,            // back to the pool before it was filed (table full): -> CLOSED
};

[[nodiscard]] constexpr const char* state_cause_name(StateCause c) {
  constexpr const char* names[] = {"active_open",
                                   "passive_open",
                                   "simultaneous_open",
                                   "syn_ack",
                                   "handshake_ack",
                                   "app_close",
                                   "fin_received",
                                   "fin_acked",
                                   "time_wait_expired",
                                   "fin_wait_2_timeout",
                                   "time_wait_recycled",
                                   "time_wait_evicted",
                                   "rst_received",
                                   "timeout",
                                   "app_abort",
                                   "no_resources",
                                   "released"};
  static_assert(sizeof names / sizeof names[0] == static_cast<size_t>(StateCause::released) + 1);
  return names[static_cast<int>(c)];
}

// RFC 9293 3.3.2: the states in which both ISNs are known.
[[nodiscard]] constexpr bool is_synchronized(State s) {
  return s != State::closed && s != State::listen && s != State::syn_sent &&
         s != State::syn_received;
}

// A connection's timers. The order is the order in which those due in the same tick run
// (TcpLayer::on_timer): a retransmission carries the ACK a delayed ACK would have sent
// (send_segment cancels it), and TIME-WAIT's or FIN-WAIT-2's end comes last.
enum class TimerKind : uint8_t { retransmit, delayed_ack, persist, keepalive, linger };
inline constexpr size_t kTimerKinds = static_cast<size_t>(TimerKind::linger) + 1;

// What the retransmission timer is set for: the RTO (RFC 6298), RACK's reordering window
// (RFC 8985 6.2) or a tail loss probe (RFC 8985 7.2). One timer serves all three, as only the
// earliest matters and each re-arms the RTO when it fires.
enum class RexmtKind : uint8_t { rto, reorder, probe };

// No listener (Tcb::listener_slot): an active open, or a passive one past SYN-RECEIVED.
inline constexpr uint16_t kNoListener = 0xffff;

struct Listener {
  uint16_t port = 0;
  bool active = false;
  uint32_t backlog = 0;  // connections allowed in SYN-RECEIVED at once
  uint32_t pending = 0;  // connections in SYN-RECEIVED now
  ConnOptions opts;
  OptionSets::Id opts_id = OptionSets::kNone;  // its reference to bounded_options(opts)
  AppBindings::Id app = AppBindings::kNone;    // its reference to its (events, ctx)
  // When this listener last answered a SYN with a cookie (0: never). In `automatic` mode a
  // bare ACK is checked as a cookie only within two cookie periods of that, so that nobody
  // can open connections by guessing cookies while there is no flood (as Linux does).
  uint64_t last_cookie_ns = 0;
};

// The TCB in named parts (issue 11 item 5), each with its own reset(); TcpLayer::init_tcb is
// one reset per part. The parts are base structs rather than members so that fields keep their
// RFC 9293 names (`t.snd_una`, not `t.snd.una`) and a part can move between the hot, resident
// and cold blocks without touching a line that uses it: only this file knows the grouping.
// A reset is called on its part by name, `t.SendSpace::reset(iss)`.
//
// Layout, planned for the hot/cold split (issue 13 item 5):
//   hot, the fields every segment reads or writes, in the first 128 B (two cache lines):
//     FlowLink (tuple, hash hook), Status, SendSpace, RecvSpace, Negotiated, Congestion's
//     window fields (up to, not including, the algorithm's state `cc`);
//   resident, every connection needs them but not every segment's lines: Congestion::cc,
//     Timing (RTT estimator, timers), Data (queues), AppState, the layer's links;
//   cold, a pooled block lent only while data is in flight (ColdBlock, below): the SACK
//     scoreboard and RACK's send-time log; Recovery, RackTlp and Stats stay in the TCB
//     (their state outlives a flight: RACK's reordering window, counts);
//   pooled from the first loss episode on: the undo record (UndoRecord), which may be
//     needed long after the flight (a late D-SACK), so it has a pool of its own; and from
//     the first event (a retransmission, timeout, D-SACK, probe) on, until the release, the
//     event counts (EventCounts).
// tests/unit/tcp/tcb_layout_test.cpp holds the hot part to its bound, and the whole to its size.
//
// What each part costs (x86-64, bytes; issue 13 item 5 measured them, then cut 816 -> 696
// -> 680 -> 664 -> 656 -> 624 -> 616 -> 528 (session 16: the tuple, the tails of the RTT
// estimator and Rack, the dirty hook, cc::State, Stats) -> 440 (session 17: the hot parts'
// flags, CUBIC's state in fixed point, the send queue's offset and count, the event counts'
// record, the interned (events, ctx)) -> 432 (session 18: the undo record's pointer in the
// event counts' record)):
//   FlowLink      24  bucket hook 8, the key 16: ports 4, family 1 (+3), and an IPv4 tuple's
//                     addresses inline or a pointer to an IPv6 one's in the layer's array at
//                     the TCB's slot (32 B, never written for IPv4; was 48: the tuple inline
//                     with two IPv6-sized addresses, 36 + 4)
//   Status         7  state, ACK state, and the layer's `dirty` flag (was padding), the
//                     FINs' three flags (session 17: they were SendSpace's and RecvSpace's
//                     own bytes, each with padding; here they fill padding before SendSpace)
//   SendSpace     32  (was 40: SND.FIN is derived, SND.MAX - 1 once our FIN is sent, as
//                     nothing follows a FIN; the FIN flags went to Status. Every field left
//                     is read: SND.WL2 by the RFC 9293 3.10.7.4 window update, MAX.SND.WND
//                     by RFC 5961's ACK check and SWS avoidance)
//   RecvSpace     16  (was 20: fin_in_ooo went to Status)
//   Negotiated    20  (was 24: the window shifts are 4-bit, the three flags bits)
//   Congestion    64  window fields 16, cc::State 48 (was 120: HyStart's counts are 4-bit,
//                     the small fields share 8 bytes; then 96 -> 72: HyStart's flags are
//                     bits and its RTTs 32-bit ns, cwnd_epoch not kept, NewReno's count and
//                     CUBIC's fraction one word; then 72 -> 48: CUBIC's windows 32-bit bytes,
//                     W_est and cwnd's fractions 16-bit, K and the epoch's start one time,
//                     within 16 B of cwnd of the doubles' arithmetic (congestion_test)); and
//                     with it the undo record, 104 -> 80 B
//   Timing       104  the wheel entry 24 (a base::TimerLink base: hook and deadline; was a
//                     40 B Timer with owner and kind), RttEstimator 40 (was 64: it points at
//                     the layer's RttConfig instead of copying it; 34 B of data, and its tail
//                     padding holds the two flags and rtt_seq: [[no_unique_address]], was
//                     112), the timed segment's send time 8, counters 8, the TIME-WAIT
//                     or stall start 4 (one word: they never overlap; was 16; 32-bit ms),
//                     five deadlines 20 (32-bit wheel ticks, TimerTicks; were 40 in ns)
//   Data          72  send queue 32 (was 40: no offset into the head, whose acknowledged
//                     bytes leave its data; the mbuf count in the head's nb_segs), receive
//                     queue 24, reassembly pointer 8, D-SACK 8 (was std::optional, 12 + 4
//                     padding)
//   AppState      16  user 8, one bit per flag and the close reason in 3 bits 2, the
//                     options' id, the application's id and the listener's slot 6 (was 80:
//                     ConnOptions, 40 B, is an interned set in the layer's table, OptionSets,
//                     shared by the connections that agree; the listener's 8 B pointer is a
//                     2 B slot in its table; then 32 -> 16: events and ctx, the same for every
//                     connection of a listener, are an interned pair in the layer's bounded
//                     table, AppBindings, as the options are, and the close reason left its
//                     own byte for the flags')
//   Recovery      20  followed by RackTlp, whose 28 B fill the 48 before Stats (no padding)
//   RackTlp       28  Rack 28 with the part's three flags as bits in its last byte (was 52:
//                     the probe's details and RACK's resend marks, 16, live in the cold
//                     block: they matter only while a flight is out; then 32 -> 28, its
//                     flags are bits; then the part's flags in Rack's tail, 32 -> 28)
//   Stats         16  the event counts' record 8 (EventCounts: eight 32-bit counts, lent from
//                     the first event on; an idle connection that never lost or retransmitted
//                     anything holds none), and three 21-bit wrap counts: the byte counts are
//                     the sequence numbers' distances from ISS and IRS (was 56 with three
//                     64-bit counts and the event counts inline, then 40)
//   (Undo)         0  the undo record's pointer (UndoRecord, 80 B, was 152, then 128, 104)
//                     is in the event counts' record, in its free-list link's word (session
//                     18: a loss episode is an event, so a connection that holds an undo
//                     record holds that record too; was a part of 8 B)
//   hooks         16  the dirty (and, when pooled, free) list hook 8 (singly linked: was a
//                     16 B list hook), the cold block's pointer 8 (was 41: a second hook
//                     for the free list, a bool)
// The pools (cold blocks, undo records, reassembly queues) are reserved whole but built
// item by item as first lent (pollux/free_list.hpp): an idle connection's RSS no longer
// carries a share of them (about 190 B per connection at the default sizes).
// The connection's options (ConnOptions, 40 B) are not in it: a 2-byte id names an interned
// set in the layer's table (option_sets.hpp), 256 sets by default, shared by connections that
// agree (an accepted one shares its listener's); a change copies on write.
// What stands between this and 256 B: CUBIC's state (48 B with HyStart++'s, needed between
// flights: its epoch outlives them); the queues' heads (the send queue's three pointers: its
// tail and read cursor could live in the head mbuf's private area or the cold block); RACK's
// per-flight fields (xmit_us, end_seq, rtt_us, fack, dsack_round: 20 B), which nothing reads
// while no flight is out and could move to the cold block (RackTlp 28 -> 8) if lent with
// values that keep every verdict as it was (a reset xmit_us compares wrongly across the
// 32-bit microsecond clock's wrap: a validity bit instead); Recovery's high_rxt and
// rescue_rxt (8 B), which SACK recovery without a cold block (pool empty: every octet lost
// after a timeout) still reads, so they can move only with that path's own answer; the timed
// segment's 64-bit send time (32 bits of ns wrap in 4.3 s, under the largest RTO, and a
// coarser unit changes the samples), which frees nothing alone (Timing's alignment) without a
// second 4 B of Timing. Outside the TCB, an idle endpoint also holds its table slot (8 B) and
// its application's state (pollux-server 48 B, pollux-gen 56 B in session 18: each side's
// free-list link shares a word with a pointer lent only while busy, and the server's header
// timeout start lives in its lent parser).

// Where the connection is in RFC 9293 3.3.2's state diagram and what the next output owes.
struct Status {
  // Changed only through TcpLayer::set_state(); a pooled TCB is CLOSED, so reset leaves it.
  State state = State::closed;
  // Output and ACK state (RFC 9293 3.8.6.3, RFC 5681 4.2).
  bool ack_now = false;
  uint8_t segs_since_ack = 0;
  // On the layer's dirty list (events or output pending): the layer's (mark_dirty, flush),
  // kept here, in what would be padding before SendSpace, so reset leaves it.
  bool dirty = false;
  // The FINs' progress, kept here in the padding before SendSpace (issue 13 item 5: they
  // cost SendSpace and RecvSpace 4 B each of padding of their own). Ours (RFC 9293 3.6): the
  // application shut down its side, so a FIN follows sndq; and it is in flight (or
  // acknowledged) at SND.MAX - 1 (Tcb::snd_fin).
  bool fin_queued = false;
  bool fin_sent = false;
  bool fin_in_ooo = false;  // the peer's FIN arrived beyond rcv_nxt: at fin_seq (RecvSpace)

  void reset() {
    ack_now = false;
    segs_since_ack = 0;
    fin_queued = fin_sent = fin_in_ooo = false;
  }
};

// Send sequence space (RFC 9293 3.3.1). snd_max is the highest sequence number sent plus
// one: after a retransmission timeout snd_nxt goes back to snd_una while snd_max stays.
// Our FIN's sequence number is not kept (it was 4 B, issue 13 item 5): nothing follows a
// FIN, so once one is sent it is the last octet sent, SND.MAX - 1 (Tcb::snd_fin).
struct SendSpace {
  Seq iss, snd_una, snd_nxt, snd_max;
  uint32_t snd_wnd = 0;      // peer's window in bytes (already scaled)
  uint32_t max_snd_wnd = 0;  // largest window the peer ever offered (3.8.6.2.1)
  Seq snd_wl1, snd_wl2;

  void reset(Seq isn) {
    iss = snd_una = snd_nxt = snd_max = isn;
    snd_wnd = max_snd_wnd = 0;
    snd_wl1 = snd_wl2 = Seq(0);
  }
};

// Receive sequence space (RFC 9293 3.3.1).
struct RecvSpace {
  Seq irs, rcv_nxt;
  Seq rcv_adv;  // right edge of the window last advertised: never moved left (3.8.6)
  Seq fin_seq;  // where the peer's FIN lies while Status::fin_in_ooo

  void reset() { irs = rcv_nxt = rcv_adv = fin_seq = Seq(0); }
};

// Negotiated at the handshake (3.7.1, RFC 7323, RFC 2018).
struct Negotiated {
  uint16_t snd_mss = 536;  // largest payload we send (peer's MSS option, path MTU)
  uint16_t rcv_mss = 536;  // what we advertised
  // The shifts (at most net::kMaxWindowScale, 14) and the flags are bits: 2 B where they
  // took 5 (issue 13 item 5: Negotiated 24 -> 20 B).
  uint8_t snd_wscale : 4 = 0;  // shift applied to windows the peer sends
  uint8_t rcv_wscale : 4 = 0;  // shift applied to windows we send
  bool ws_ok : 1 = false, sack_ok : 1 = false, ts_ok : 1 = false;
  uint32_t ts_recent = 0;  // RFC 7323 4.3: latest TSval to echo
  Seq last_ack_sent;       // RFC 7323 4.3: ts_recent updates only for segments covering it
  uint32_t ts_offset = 0;  // per-connection random offset of our TSval (RFC 7323 5.4)

  // Nothing is agreed before the handshake: the peer's MSS is the RFC 9293 3.7.1 default
  // until its option arrives; ours and our window shift are what the SYN will offer.
  void reset(uint16_t our_mss, uint8_t our_wscale, uint32_t our_ts_offset) {
    snd_mss = 536;
    rcv_mss = our_mss;
    snd_wscale = 0;
    rcv_wscale = our_wscale;
    ws_ok = sack_ok = ts_ok = false;
    ts_recent = 0;
    last_ack_sent = Seq(0);
    ts_offset = our_ts_offset;
  }
};

// Congestion control (RFC 5681, NewReno recovery RFC 6582). The window fields are hot; the
// algorithm's state `cc` comes last, so that it starts the resident block.
struct Congestion {
  uint32_t cwnd = 0, ssthresh = 0xffffffff;
  Seq recover;  // RFC 6582 "recover", RFC 6675 RecoveryPoint
  uint8_t dupacks = 0;
  bool in_recovery = false;    // fast recovery, or (with SACK) recovery after a timeout
  bool rto_recovery = false;   // after a timeout: every octet not SACKed is lost (6675 5.1)
  bool partial_acked = false;  // NewReno: this recovery had a partial ACK (RFC 6582 3.2 step 5)
  cc::State cc;                // the algorithm and its state (cc/congestion.hpp)

  void reset(uint32_t initial_cwnd, Seq isn, cc::Algorithm algo, bool hystart) {
    cwnd = initial_cwnd;
    ssthresh = 0xffffffff;
    recover = isn;
    dupacks = 0;
    in_recovery = rto_recovery = partial_acked = false;
    cc::init(cc, algo, hystart);
  }
};

// A connection's deadlines in 32 bits (issue 13 item 5): the TCP layer's timer wheel ticks
// every TimerTicks::kTickNs (1 ms) and runs a deadline in the tick whose boundary is the first
// at or after it (base/timer_wheel.hpp), so the tick is all a deadline needs to keep. Its low
// 32 bits are kept and read back against the wheel's current tick, as sequence numbers are
// (RFC 9293 3.4): exact while the deadline lies less than 2^31 ticks (24.8 days) either side
// of now. TcpLayer::set_timer holds every deadline within kHorizonTicks of now, and a set
// deadline never stays in the past: the wheel entry is always armed for the earliest.
struct TimerTicks {
  static constexpr uint64_t kTickNs = 1'000'000;
  static constexpr uint64_t kHorizonTicks = (uint64_t{1} << 31) - 1;

  [[nodiscard]] static constexpr uint32_t pack(uint64_t tick) {
    return static_cast<uint32_t>(tick);
  }
  [[nodiscard]] static constexpr uint64_t unpack(uint32_t packed, uint64_t now_tick) {
    const int32_t ahead = static_cast<int32_t>(packed - static_cast<uint32_t>(now_tick));
    return now_tick + static_cast<uint64_t>(static_cast<int64_t>(ahead));
  }
};

// Round-trip time (RFC 6298) and the connection's timers. The wheel entry is this part's
// base: the layer's wheel holds TimerLinks, and a firing one is the TCB itself (a static
// downcast, TcpLayer::on_timer), so the entry needs no owner pointer or kind tag (24 B, was
// a 40 B base::Timer; issue 13 item 5). It is cancelled when the TCB is released, so reset
// leaves it.
struct Timing : base::TimerLink {
  // [[no_unique_address]]: the estimator's 6 B of tail padding (34 B of data, 8-aligned)
  // hold the two flags below and rtt_seq (issue 13 item 5: Timing 112 -> 104 B).
  [[no_unique_address]] RttEstimator rtt;
  // Timed segment when timestamps are off (Karn applies).
  bool rtt_timing = false;
  // Bit k: timer k is set (its deadline is due_tick[k]).
  uint8_t due_set = 0;
  Seq rtt_seq;
  uint64_t rtt_sent_ns = 0;
  uint32_t ts_rto_mark = 0;  // our TSval when the last retransmission timeout fired
  uint8_t rexmt_count = 0;   // consecutive timeouts (RTO backoff, SYN retries)
  RexmtKind rexmt_kind = RexmtKind::rto;
  uint8_t keepalive_probes = 0;
  uint8_t persist_shift = 0;
  // One word for two starts that never overlap (issue 13 item 5: -8 B), each in ms of the
  // clock as 32 bits (now / 1 ms, truncated: -4 B more), read only as a difference from now
  // (wrapping, exact for 49.7 days). stall_since_ms: when a retransmission or window probe
  // first found no progress (0: progressing); the ACK of new data clears it; RFC 9293 3.8.3
  // USER TIMEOUT counts from here (user_timed_out, which looks at it at least every 120 s,
  // the largest RTO, and holds the limit under 24.8 days). It is read and written only when
  // the retransmission or persist timer fires and when an ACK acknowledges new data.
  // time_wait_since_ms: when TIME-WAIT began (RFC 6191 reuse, the record's start, which is
  // kept in the same unit), written by enter_time_wait, which stops those timers, and read
  // only in TIME-WAIT, where nothing is left to acknowledge (SND.UNA = SND.MAX) and neither
  // timer is set again. TIME-WAIT ends in CLOSED and a reset (init_tcb) before reuse.
  union {
    uint32_t stall_since_ms = 0;
    uint32_t time_wait_since_ms;
  };
  // When each timer is due, indexed by TimerKind, while its due_set bit is on: the
  // retransmission timer (RTO, RACK reordering or TLP, as rexmt_kind says; RFC 6298), delayed
  // ACK, persist, keepalive, and `linger` (TIME-WAIT's 2 MSL, the orphaned FIN-WAIT-2 limit).
  // Kept here rather than in the wheel (issue 13 items 4 and 5): setting or moving a deadline
  // later only writes it, and the one wheel entry (timer()), armed for the earliest, runs
  // every kind that is due when it fires and re-arms itself for the next
  // (TcpLayer::set_timer). Each is the wheel tick it is due in, as 32 bits (TimerTicks):
  // 20 B where five 64-bit ns deadlines took 40 (issue 13 item 5).
  uint32_t due_tick[kTimerKinds] = {};

  [[nodiscard]] base::TimerLink& timer() { return *this; }
  [[nodiscard]] const base::TimerLink& timer() const { return *this; }

  [[nodiscard]] bool due_is_set(TimerKind k) const {
    return (due_set >> static_cast<unsigned>(k)) & 1u;
  }
  void set_due(TimerKind k, uint64_t tick) {
    due_tick[static_cast<size_t>(k)] = TimerTicks::pack(tick);
    due_set = static_cast<uint8_t>(due_set | (1u << static_cast<unsigned>(k)));
  }
  void clear_due(TimerKind k) {
    due_set = static_cast<uint8_t>(due_set & ~(1u << static_cast<unsigned>(k)));
  }
  // The tick timer k is due in, read against `now_tick` (the wheel's); only when set.
  [[nodiscard]] uint64_t due_tick_of(TimerKind k, uint64_t now_tick) const {
    return TimerTicks::unpack(due_tick[static_cast<size_t>(k)], now_tick);
  }

  // `ts_now` is our TSval at the start: echoes older than that time nothing of ours. The
  // estimator keeps a pointer to `config` (the layer's): no temporaries.
  void reset(const RttConfig&& config, uint32_t ts_now) = delete;
  void reset(const RttConfig& config, uint32_t ts_now) {
    rtt = RttEstimator(config);
    rtt_timing = false;
    rtt_seq = Seq(0);
    rtt_sent_ns = 0;
    ts_rto_mark = ts_now;
    rexmt_count = 0;
    rexmt_kind = RexmtKind::rto;
    due_set = 0;
    keepalive_probes = persist_shift = 0;
    stall_since_ms = 0;  // and time_wait_since_ms, which shares its word
  }
};

// A D-SACK block to report, or none, in the block's 8 bytes (std::optional's flag cost 4
// more, and with the Data part's alignment 8; issue 13 item 5). A reported block is never
// empty (TcpLayer::note_dsack stores only left < right), so an empty one means none.
class PendingDsack {
 public:
  PendingDsack& operator=(const net::SackBlock& b) {
    block_ = b;
    return *this;
  }
  void reset() { block_ = net::SackBlock{}; }
  [[nodiscard]] bool has_value() const { return block_.left != block_.right; }
  explicit operator bool() const { return has_value(); }
  [[nodiscard]] const net::SackBlock& operator*() const { return block_; }
  [[nodiscard]] std::optional<net::SackBlock> get() const {
    return has_value() ? std::optional<net::SackBlock>(block_) : std::nullopt;
  }

 private:
  net::SackBlock block_{};
};

// Data: the queues and what the reassembly found. The queues are emptied, and the
// out-of-order queue given back, when the TCB is released (TcpLayer::release_tcb).
struct Data {
  SendQueue sndq;                  // bytes from snd_una on
  RecvQueue rcvq;                  // in-order bytes not yet consumed by the application
  ReassemblyQueue* ooo = nullptr;  // out-of-order segments, borrowed from the layer's pool
  // D-SACK to report (RFC 2883): a duplicate range seen since the last ACK we sent. The one
  // place this is held: the reassembly queue only reports duplicates as insert() finds them.
  PendingDsack pending_dsack;

  void reset() { pending_dsack.reset(); }
};

// RFC 7323 2.3: the window shift we offer, the smallest that lets the whole buffer be offered
// (0 with window scaling off).
[[nodiscard]] constexpr uint8_t window_shift_for(uint32_t rcvbuf, bool window_scaling) {
  uint8_t shift = 0;
  if (window_scaling)
    while (shift < net::kMaxWindowScale && (rcvbuf >> shift) > 0xffff) ++shift;
  return shift;
}

// Application.
struct AppState {
  void* user = nullptr;  // the application's per-connection pointer
  // While SYN-RECEIVED from a passive open: its listener's slot in the layer's table
  // (TcpLayer::listener_of), 2 B in the flags' padding where a pointer took 8.
  uint16_t listener_slot = kNoListener;
  // The flags are one bit each: nine bools took a word of their own (issue 13 item 5).
  bool passive : 1 = false;
  bool app_closed : 1 = false;  // close() called: input is discarded, the app gets no more events
  bool ev_established : 1 = false, ev_readable : 1 = false, ev_writable : 1 = false,
                        ev_peer_closed : 1 = false, want_writable : 1 = false,
                        closed_pending : 1 = false;
  // send() was cut short by the lcore's send budget while this connection held less than its
  // share: nothing of its own may come back to wake it, so the layer does (api.cpp).
  bool snd_mem_wait : 1 = false;
  // In the flags' second byte (issue 13 item 5: a byte of its own was padding's neighbour).
  CloseReason close_reason : 3 = CloseReason::normal;
  // The connection's options: its reference to a set in the layer's table (OptionSets, read
  // through TcpLayer::options_of), 2 B in what was padding where a 40 B copy was (issue 13 item 5).
  // kNone in a pooled TCB: release_tcb gave the reference back.
  OptionSets::Id opts_id = OptionSets::kNone;
  // The application's callbacks and context (events, ctx): its reference to an interned pair
  // in the layer's table (AppBindings, read through TcpLayer::app_bindings_), 2 B where two
  // pointers took 16 (issue 13 item 5). kNone: no application to tell (none given, the
  // `closed` event delivered, or a half-open connection forgotten before it was accepted).
  AppBindings::Id app = AppBindings::kNone;

  [[nodiscard]] bool has_app() const { return app != AppBindings::kNone; }

  // `options`: a reference the caller took for this connection (OptionSets::acquire, hold).
  void reset(OptionSets::Id options) {
    user = nullptr;
    app = AppBindings::kNone;
    opts_id = options;
    listener_slot = kNoListener;
    passive = app_closed = false;
    ev_established = ev_readable = ev_writable = ev_peer_closed = false;
    want_writable = closed_pending = false;
    close_reason = CloseReason::normal;
  }
};

// SACK-based loss recovery (RFC 6675), used when the peer agreed to SACK, and what is known
// about our retransmissions.
struct Recovery {
  Seq high_rxt;    // one past the highest octet retransmitted in this recovery (HighRxt)
  Seq rescue_rxt;  // RFC 6675 RescueRxt: one rescue retransmission per recovery
  // The TSval of the oldest retransmission still outstanding (Linux's retrans_stamp): Eifel
  // compares the echo with it, not with the episode's start. A hole repaired by an earlier
  // episode's retransmission (a rescue, say) echoes that one, which is older than the new
  // episode yet proves nothing spurious.
  uint32_t rxt_stamp = 0;
  Seq rxt_high;               // one past the highest octet ever retransmitted
  bool rxt_out : 1 = false;   // some retransmission is not yet cumulatively acknowledged
  bool rxt_ever : 1 = false;  // something was retransmitted (the counts may be pooled away)
  // DupThresh while the cold block is away (it is the scoreboard's while one is attached):
  // raised by a spurious fast retransmit, it outlives the scoreboard's ranges.
  uint16_t kept_dupthresh = kDupThresh;

  void reset(Seq isn) {
    kept_dupthresh = kDupThresh;
    high_rxt = rescue_rxt = rxt_high = isn;
    rxt_stamp = 0;
    rxt_out = rxt_ever = false;
  }
};

// Undo of a reduction that proves spurious: RFC 3522 Eifel detection (the ACK of the
// retransmitted segment echoes a timestamp older than the retransmission) or D-SACKs for
// every retransmission of the episode (RFC 2883, RFC 3708); the response restores cwnd and
// ssthresh (RFC 4015). The record (80 B, most of it the algorithm's state before the
// reduction) is needed only from a loss episode on, so it is pooled (issue 13 item 5): lent
// by TcpLayer::begin_undo_episode, given back by the undo or at release. A connection that
// never lost anything holds none. Its pointer lives in the connection's event counts' record
// (EventCounts::undo), which the episode lends if the connection has none yet. Either pool
// empty (tcp_undo_unavailable): the episode has no record, so its reduction stands even if it
// proves spurious -- a slower window, never a wrong one.
struct UndoRecord {
  uint32_t prior_cwnd = 0, prior_ssthresh = 0;
  cc::State prior_cc;
  Seq undo_marker;             // SND.UNA when the episode began
  uint32_t undo_retrans = 0;   // retransmissions not yet reported as duplicates
  uint32_t undo_extent = 0;    // fast recovery: segments SACKed above SND.UNA at entry
  bool eifel_pending = false;  // the next ACK of new data is checked by Eifel (RFC 3522)
  UndoRecord* next_free = nullptr;
};

// RACK-TLP (RFC 8985), on when SACK is (TcpConfig::rack, ::tlp). What matters only while a
// flight is out -- the outstanding probe's details, the retransmissions RACK found lost --
// is in the cold block (ColdBlock); RACK's own state (min_RTT, the reordering window's
// multiplier, the last delivered segment) outlives a flight and stays here.
// Rack is held [[no_unique_address]] and this part's flags are bits after it, in the byte of
// Rack's tail padding (27 B of data in 28): RackTlp 32 -> 28 B, which with Recovery's 20
// fills the 48 B before the undo record's pointer (issue 13 item 5). Rack::reset assigns only
// Rack's own bytes (it is a potentially-overlapping subobject), so the flags survive it.
struct RackTlp {
  [[no_unique_address]] Rack rack;
  bool rack_on : 1 = false, tlp_on : 1 = false;  // decided by negotiate()
  // A probe is outstanding (RFC 8985 7.4 TLP.end_seq is set): its details are in the cold
  // block, which a probe needs and which stays lent until the probe's end is acknowledged.
  bool tlp_out : 1 = false;

  void reset(Seq /*isn*/) {
    rack_on = tlp_on = false;
    tlp_out = false;
    rack.reset();
  }
};

// A connection's event counts for ConnInfo (issue 13 item 5): zero for a connection that
// never lost or retransmitted anything, which most idle ones are, so they live in a record
// pooled from the connection's first event on (TcpLayer::count_event) and held until its
// release, as the undo record is: 32 B that an idle TCB does not carry. The pool
// (TcpConfig::event_counts) is sized for every connection by default, so ConnInfo is exact;
// a smaller one that runs empty counts each event it could not record
// (tcp_event_counts_unavailable) and the connection tries again at its next event, so its
// counts are then a lower bound (the layer's own counters, tcp_retrans_segs and the rest,
// stay exact). A shared overflow record would have added other connections' events to its
// ConnInfo instead: a lower bound, and the counter saying by how much, is the honest answer.
struct EventCounts {
  uint32_t retransmits = 0;
  uint32_t dsacks_received = 0;  // RFC 2883 reports from the peer
  uint32_t rto_count = 0;        // retransmission timeouts over the connection's life
  uint32_t fast_recoveries = 0;
  uint32_t spurious_undos = 0;
  uint32_t spurious_retrans = 0;  // retransmissions the peer reported as duplicates (D-SACK)
  uint32_t tlp_probes = 0, rack_losses = 0;  // RFC 8985 tail loss probes, RACK-found losses
  // FreeList's link while the record is in the pool; while lent, the connection's undo
  // record (UndoRecord), if it holds one (issue 13 item 5: the TCB's 8 B pointer to it moved
  // here, as a loss episode is an event and so finds this record lent, TcpLayer::take_undo).
  // TcpLayer::take_counts makes `undo` the member in use, null, when it lends the record.
  union {
    EventCounts* next_free = nullptr;
    UndoRecord* undo;
  };
};

// Statistics for ConnInfo: the event counts' record, and what the three byte counts need
// beyond the sequence numbers (issue 13 item 5: 16 B, was 56 with three 64-bit counts and
// the eight event counts, then 40). Each byte count
// is a sequence number's distance from where the connection began -- bytes_sent SND.MAX -
// ISS (the SYN and FIN included, as they always were), bytes_acked SND.UNA - ISS without the
// SYN and FIN, bytes_received RCV.NXT - IRS without the SYN and FIN (Tcb's accessors) -- plus
// 2^32 times the number of times that distance wrapped, counted where the sequence number
// moves (note_wrap: a move is always less than 2^31, so at most one wrap). Exact up to 2^53
// bytes each way (8 PiB; 2.8 years at 100 Gbit/s), where ConnInfo's count would wrap.
struct Stats {
  // Lent from the connection's first event on (EventCounts); none: every count is zero. A
  // pooled TCB holds none (TcpLayer::release_tcb gave it back).
  EventCounts* counts = nullptr;
  // Wraps of SND.MAX - ISS, SND.UNA - ISS and RCV.NXT - IRS; whether RCV.NXT covers the
  // peer's FIN (process_fin), which bytes_received leaves out.
  static constexpr uint32_t kWrapBits = 21;  // exact to 2^53 bytes each way
  uint64_t sent_wraps : kWrapBits = 0, acked_wraps : kWrapBits = 0, received_wraps : kWrapBits = 0;
  bool fin_received : 1 = false;

  // The undo record (UndoRecord), lent while an episode's reduction may still be undone:
  // it hangs off the event counts' record, which every connection that had a loss episode
  // holds (TcpLayer::take_undo). None without that record.
  [[nodiscard]] UndoRecord* undo() const { return counts ? counts->undo : nullptr; }
  [[nodiscard]] bool undo_valid() const { return undo() != nullptr; }
  [[nodiscard]] bool eifel_pending() const {
    const UndoRecord* u = undo();
    return u && u->eifel_pending;
  }
  // One of the event counts (zero without a record).
  [[nodiscard]] uint32_t event_count(uint32_t EventCounts::*count) const {
    return counts ? counts->*count : 0;
  }
  // Whether a sequence number moving forward from `from` to `to` (by less than 2^31) wrapped
  // its distance from `base`.
  [[nodiscard]] static constexpr bool wraps(Seq base, Seq from, Seq to) {
    return static_cast<uint32_t>(to - base) < static_cast<uint32_t>(from - base);
  }
  // `wraps` 2^32 plus the distance of `at` from `base`.
  [[nodiscard]] static constexpr uint64_t distance(uint64_t wraps, Seq base, Seq at) {
    return (wraps << 32) + static_cast<uint32_t>(at - base);
  }

  void reset() {
    counts = nullptr;
    sent_wraps = acked_wraps = received_wraps = 0;
    fin_received = false;
  }
};

// The cold block (issue 13 item 5): the two structures sized for the worst flight, which a
// connection needs only while it has data in flight -- the SACK scoreboard (RFC 6675) and
// RACK's send-time log (RFC 8985 5.2). Lent from the layer's preallocated pool
// (TcpConfig::cold_blocks) when the first data segment leaves or the first SACK block
// arrives, returned once everything sent is acknowledged and nothing in it is left to
// remember (TcpLayer::put_cold_if_quiet), so that an idle connection holds none. Without
// one (pool empty: tcp_cold_unavailable) a connection keeps working: its SACK blocks and
// send times go unrecorded, no tail loss probe can be tracked (so none is sent), and its
// losses are repaired by the RTO.
struct ColdBlock {
  SackScoreboard scoreboard;
  SendTimeLog sent_log;  // send time of every octet in flight
  // The tail loss probe outstanding (RFC 8985 7.4), while Tcb::tlp_out: its end, our TSval
  // when it left, and whether it was a retransmission of the last segment.
  Seq tlp_end;
  uint32_t tlp_tsval = 0;
  bool tlp_retrans = false;
  // RACK found retransmissions below rxt_lost_end lost: they go again, from
  // rxt_resend_next on (output_sack_recovery). Both SND.UNA when lent: nothing to resend.
  Seq rxt_lost_end, rxt_resend_next;
  ColdBlock* next_free = nullptr;
};

// What a connection without a cold block reads: an empty scoreboard and log. Nothing read
// from an empty scoreboard depends on its DupThresh (Tcb::dupthresh() keeps that).
inline const ColdBlock kNoColdBlock{};

struct Tcb : base::FlowLink,
             Status,
             SendSpace,
             RecvSpace,
             Negotiated,
             Congestion,
             Timing,
             Data,
             AppState,
             Recovery,
             RackTlp,
             Stats {
  // The layer's lists: dirty (events or output pending) and, through the same hook, free: a
  // TCB in the pool is never dirty (release_tcb takes it off the dirty list first), so one
  // hook serves both (issue 13 item 5). Singly linked, 8 B where a list hook took 16: both
  // lists only push at an end and pop the front; the one unlink from the middle, release_tcb
  // of a TCB still dirty (rare: a TIME-WAIT TCB recycled in the round that dirtied it, say),
  // walks the dirty list for the TCB before it (TcpLayer::unlink_dirty).
  boost::intrusive::slist_member_hook<> dirty_hook;
  ColdBlock* cold = nullptr;  // lent by the layer while data is in flight (ColdBlock)

  [[nodiscard]] const SackScoreboard& scoreboard() const {
    return (cold ? cold : &kNoColdBlock)->scoreboard;
  }
  [[nodiscard]] const SendTimeLog& sent_log() const {
    return (cold ? cold : &kNoColdBlock)->sent_log;
  }
  [[nodiscard]] uint32_t dupthresh() const {
    return cold ? cold->scoreboard.dupthresh() : kept_dupthresh;
  }

  [[nodiscard]] uint32_t flight_size() const { return static_cast<uint32_t>(snd_max - snd_una); }
  // RFC 6675: the scoreboard drives recovery (SACK agreed and a recovery under way).
  [[nodiscard]] bool sack_recovery() const { return sack_ok && in_recovery; }
  [[nodiscard]] uint32_t pipe() const {
    return scoreboard().pipe(snd_una, snd_max, high_rxt, snd_mss, rto_recovery);
  }
  [[nodiscard]] uint32_t unsent_offset() const { return static_cast<uint32_t>(snd_nxt - snd_una); }
  // Our FIN's sequence number, once sent (fin_sent): the last octet sent (SendSpace).
  [[nodiscard]] Seq snd_fin() const { return snd_max - 1; }

  // The byte counts ConnInfo reports (Stats). Sent: the sequence space sent, SYN and FIN
  // included.
  [[nodiscard]] uint64_t bytes_sent() const { return distance(sent_wraps, iss, snd_max); }
  // Acknowledged data: SND.UNA's distance from ISS less the SYN (acknowledged once SND.UNA
  // left ISS) and our FIN (acknowledged once SND.UNA passed it).
  [[nodiscard]] uint64_t bytes_acked() const {
    const uint64_t d = distance(acked_wraps, iss, snd_una);
    return d == 0 ? 0 : d - 1 - (fin_sent && snd_fin() < snd_una ? 1 : 0);
  }
  // Received data: RCV.NXT's distance from IRS less the peer's SYN (0 before one came) and
  // its FIN.
  [[nodiscard]] uint64_t bytes_received() const {
    const uint64_t d = distance(received_wraps, irs, rcv_nxt);
    return d == 0 ? 0 : d - 1 - (fin_received ? 1 : 0);
  }
};

// The layer's lists of TCBs through Tcb::dirty_hook: the dirty list in the order marked
// (push_back: the last is cached) and the free list (a stack); neither counts its size.
using TcbList = boost::intrusive::slist<
    Tcb,
    boost::intrusive::member_hook<Tcb, boost::intrusive::slist_member_hook<>, &Tcb::dirty_hook>,
    boost::intrusive::cache_last<true>, boost::intrusive::constant_time_size<false>>;

// Takes `t` out of `list` if it is there, keeping the others' order; whether it was. The
// list is singly linked, so this walks it to the TCB before `t`.
inline bool unlink_from(TcbList& list, Tcb& t) {
  for (auto prev = list.before_begin(), it = list.begin(); it != list.end(); prev = it++) {
    if (&*it == &t) {
      list.erase_after(prev);
      return true;
    }
  }
  return false;
}

}  // namespace pollux::tcp
