// One lcore's TCP: its shard of the connection table, its listeners, timers and TCB pool.
// The engine hands it validated segments and drains the datagrams it produces; applications
// call the API below on the same lcore (see pollux/tcp.hpp for the model).
//
// Where things happen (RFC 9293 3.10.7 for the input files):
//   segment_arrives.cpp     a segment from the engine, dispatched by state (input())
//   input_listen.cpp        LISTEN: a SYN makes a TCB; option negotiation
//   input_syn_sent.cpp      SYN-SENT: the answer to our SYN
//   fast_path.cpp           header prediction: ESTABLISHED's pure ACKs and in-order data
//   input_synchronized.cpp  SYN-RECEIVED and later: the RFC's checks in order, the handshake's
//                           last ACK, state changes on our FIN's ACK
//   acceptability.hpp       RFC 9293 3.10.7.4's acceptability test (also TIME-WAIT's)
//   ack_processing.cpp      the ACK: send window, duplicates, RTT, cwnd, the RTO
//   recovery.cpp            SACK scoreboard updates, fast recovery, undo of spurious reductions
//   rack_tlp.cpp            RACK-TLP (RFC 8985): time-based loss detection, tail loss probes
//   receive_data.cpp        text into the receive or reassembly queue, ACK policy, D-SACK, FIN
//   output.cpp              what to send and when (windows, Nagle, SWS, recovery by pipe)
//   send_segment.cpp        building a segment: every data segment and ACK leaves here
//   reset.cpp / reset.hpp   the one RST builder (also the engine's CLOSED answer)
//   syn_ack.cpp / .hpp      the SYN cookie's SYN-ACK, written without a TCB (input_listen.cpp)
//   timers.cpp              retransmission (RFC 6298), persist, keepalive, delayed ACK,
//                           linger: deadlines kept in the TCB, one wheel entry for the earliest
//   ip_header.hpp           the IP header of every segment built here, by the tuple's family
//   time_wait.cpp           TIME-WAIT: entering it, the compact record that answers for the
//                           pair for 2 MSL (time_wait_store.hpp), ending it early (RFC 6191)
//   tcb_lifecycle.cpp       TCB pool, initialisation, set_state (every state change), finish,
//                           release
//   tcp_layer.cpp           construction; flush (events, then output per dirty TCB); poll
//   api.cpp                 listen/connect/send/read/shutdown/close/abort, options, ConnInfo
//   path_mtu.cpp            ICMP fragmentation-needed, ICMPv6 Packet Too Big (RFC 1191,
//                           RFC 8201, RFC 5927)
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <array>
#include <boost/intrusive/list.hpp>
#include <boost/intrusive/slist.hpp>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "base/counters.hpp"
#include "base/flow_table.hpp"
#include "base/free_list.hpp"
#include "base/key_counts.hpp"
#include "base/random_budget.hpp"
#include "base/timer_wheel.hpp"
#include "base/token_bucket.hpp"
#include "base/unique_mbuf.hpp"
#include "net/ipv4.hpp"
#include "net/tcp_header.hpp"
#include "net/tcp_options.hpp"
#include "pollux/syn_filter.hpp"
#include "pollux/tcp.hpp"
#include "tcp/ip_header.hpp"
#include "tcp/isn.hpp"
#include "tcp/path_mtu_cache.hpp"
#include "tcp/reset.hpp"
#include "tcp/syn_cookie.hpp"
#include "tcp/tcb.hpp"
#include "tcp/time_wait_store.hpp"

namespace pollux::tcp {

// The largest TSO frame's payload: an IPv4 datagram's 65535 octets less the headers with
// the largest TCP options.
inline constexpr uint32_t kTsoMaxPayload =
    0xffff - net::kIpv4MinHeaderLen - net::kTcpMinHeaderLen - net::kTcpMaxOptionsLen;

struct TcpConfig {
  uint32_t max_connections = 16384;  // TCB pool = table capacity (TIME-WAIT not included)
  // TIME-WAIT records (64 B each, time_wait_store.hpp), outside the table: when full, the
  // oldest is dropped early and counted (tcp_time_wait_evicted).
  uint32_t time_wait_records = 65536;
  uint32_t ooo_queues = 1024;  // connections that may hold out-of-order data at once
  // Cold blocks (tcb.hpp ColdBlock: SACK scoreboard and RACK send-time log), lent to
  // connections while they have data in flight. 0: a quarter of max_connections, at least
  // 64. Too few degrades loss recovery (tcp_cold_unavailable), never correctness.
  uint32_t cold_blocks = 0;
  // Undo records (tcb.hpp UndoRecord, 80 B), lent from a connection's first loss episode
  // until its reduction is undone or it is released. 0: a quarter of max_connections, at
  // least 64. Too few leaves some spurious reductions standing (tcp_undo_unavailable); so
  // does an event_counts pool that runs empty, as the connection's event-count record holds
  // its undo record's pointer.
  uint32_t undo_records = 0;
  // Event-count records (tcb.hpp EventCounts, 40 B), lent from a connection's first
  // retransmission, timeout, D-SACK or probe until it is released. 0: one per connection
  // (reserved whole, resident only as far as lent: an idle connection touches none), so that
  // ConnInfo's counts are exact. Fewer: a connection that finds none misses that event in
  // its ConnInfo (tcp_event_counts_unavailable) and tries again at its next.
  uint32_t event_counts = 0;
  uint16_t max_listeners = 64;
  // Distinct (events, ctx) pairs live at once (app_bindings.hpp; 26 B each, at most 65535):
  // every connection with an application refers to one (its listener's, or the one connect()
  // was given). Full: a connect() or listen() with a pair no live entry has fails
  // (TcpError::apps_full, counted tcp_app_bindings_full).
  uint32_t app_bindings = 1024;
  // Distinct option sets live at once (option_sets.hpp; 48 B each, at most 65535): every
  // connection refers to one (its listener's, the one connect() was given, or one it changed
  // to). Full: a connect() or listen() with options no live set has fails (options_full),
  // a setter that needs a new set is refused; counted, tcp_option_sets_full.
  uint32_t option_sets = 256;
  RttConfig rtt;                         // RTO min/max/initial
  uint64_t delayed_ack_ns = 40'000'000;  // RFC 9293 3.8.6.3: < 0.5 s
  // How long a path MTU learnt for a destination is used for its new connections
  // (path_mtu_cache.hpp): RFC 8201 5.3 and RFC 1191 6.3 suggest 10 minutes.
  uint64_t pmtu_cache_ns = 600ull * 1'000'000'000;
  uint64_t msl_ns = 30ull * 1'000'000'000;  // TIME-WAIT lasts 2 MSL
  // Orphans (closed by the application): FIN-WAIT-2 waits this long for the peer's FIN, and
  // FIN-WAIT-1, CLOSING and LAST-ACK this long for a peer that answers but makes no progress
  // (a zero window, say): Linux's tcp_fin_timeout.
  uint64_t fin_wait_2_ns = 60ull * 1'000'000'000;
  // RFC 9293 3.8.3 USER TIMEOUT for connections that do not set their own
  // (ConnOptions::user_timeout_ns): data unacknowledged, or waiting behind a zero window
  // whose probes the peer answers, for this long (counted from the first retransmission or
  // probe without progress) ends the connection with a RST. 15 minutes: about Linux's
  // tcp_retries2 (924.6 s), the time Linux gives unacknowledged data; unlike Linux without
  // TCP_USER_TIMEOUT, a zero window is not probed forever. 0: no limit (zero windows are
  // then probed for as long as the peer answers, and data gives up after max_retransmits).
  uint64_t user_timeout_ns = 900ull * 1'000'000'000;
  // Connections (any state, TIME-WAIT included) one source address may hold through passive
  // opens on this lcore; 0: no limit. A SYN (or a cookie's ACK) beyond it is dropped,
  // drop_tcp_source_limit.
  uint32_t max_conns_per_source = 0;
  uint8_t syn_retries = 6;  // active open: SYN retransmissions
  uint8_t synack_retries = 5;
  uint8_t max_retransmits = 15;           // data: consecutive RTOs before giving up (RFC 1122 R2)
  uint32_t initial_window_segments = 10;  // RFC 6928: min(IW * MSS, max(2 MSS, 14600))
  cc::Algorithm congestion_control = cc::Algorithm::cubic;  // RFC 9438 (or RFC 5681 NewReno)
  bool hystart = true;  // RFC 9406 HyStart++ in slow start (cc/congestion.hpp)
  uint16_t ephemeral_first = 32768, ephemeral_last = 60999;
  // Multi-core (issue 6): each lcore owns the connections whose tuple the RSS hash maps to
  // it (stack/rss.hpp). When set, connect() takes only ephemeral ports for which this returns
  // true, i.e. ports whose replies arrive on this lcore; every lcore so owns a disjoint
  // share of each port space without coordination, and running out of its share is
  // no_ephemeral_port. Called per candidate port in connect(), never per packet.
  bool (*ephemeral_port_ok)(const void* ctx, const net::FourTuple& t) = nullptr;
  const void* ephemeral_port_ctx = nullptr;
  bool timestamps = true, window_scaling = true, sack = true;
  // TX zero-copy (issue 13 item 4): a data segment of at least `tx_share_min` payload bytes
  // is a header mbuf chained to indirect mbufs that reference the send queue, instead of
  // one mbuf the payload is copied into. Needs a port that transmits chained mbufs: the
  // engine turns it off unless the port's offloads say so (Offloads::tx_multi_segs). Below
  // the threshold the copy is cheaper than the extra mbufs and reference counts.
  bool tx_share = true;
  uint32_t tx_share_min = 256;
  // TSO (issue 13 item 2): full-sized segments that could all go now leave as one frame of
  // at most this many payload octets, which the device cuts into MSS-sized segments
  // (send_tso_frame in output.cpp). 0: off, every segment built here. The engine sets it
  // (kTsoMaxPayload) on ports that grant TSO and take chained mbufs.
  uint32_t tso_max = 0;
  // Checksums of the data segments built here (send_segment: prepare_segment_checksums in
  // ip_header.hpp), completed from what the layer knows instead of by the engine re-reading
  // the headers. The engine sets it from the port's offloads; off (the default), the engine
  // prepares every frame.
  TxChecksums tx_checksums;
  // RFC 8985 RACK-TLP on connections that agreed to SACK: time-based loss detection in
  // place of the DupThresh rule, and tail loss probes. `tlp_wc_delack_ns` is WCDelAckT of
  // RFC 8985 7.2, the receiver's worst-case delayed-ACK wait, added to a probe's timeout
  // when one segment is out: 200 ms, the RFC's RECOMMENDED value and Linux's TCP_DELACK_MAX
  // (Linux's 40 ms is only its minimum; an interactive Linux receiver waits longer, and a
  // probe sent before its ACK can come is a spurious retransmission).
  bool rack = true, tlp = true;
  uint64_t tlp_wc_delack_ns = 200'000'000;
  // Header prediction (fast_path.cpp): the common segments of an ESTABLISHED connection take
  // a short path with the same outcome. Off: every segment takes the full path (A/B tests).
  bool header_prediction = true;
  // RFC 6528 secret. Unset: random per start (the production choice). Simulations set it
  // from their seed so that a failing seed replays exactly.
  std::optional<SipKey> isn_key;
  // RFC 4987 3.6 SYN cookies (tcp/syn_cookie.hpp): `automatic` answers with a cookie when a
  // listener's SYN-RECEIVED queue (its backlog) is full, instead of dropping the SYN.
  SynCookieMode syn_cookies = SynCookieMode::automatic;
  // RFC 5961 section 7: challenge ACKs per second per lcore, 0 unlimited. The RFC asks for a
  // limit so that a flood of spoofed RSTs/SYNs cannot turn us into an ACK amplifier; 1000/s
  // is Linux's tcp_challenge_ack_limit (before 6.0 made it per socket). Each second's
  // budget is drawn at random around it (base/random_budget.hpp: CVE-2016-5696).
  uint32_t challenge_ack_rate = 1000;
  // RSTs answering segments no connection or listener wants (RFC 9293 3.10.7.1, closed
  // ports), per second and burst per lcore, 0 unlimited: Linux's global ICMP budget
  // (icmp_msgs_per_sec 1000, icmp_msgs_burst 50), the one the engine's echo replies use, so
  // that a SYN flood to a closed port (or pollux-gen) reflects a bounded rate.
  uint32_t closed_rst_rate = 1000;
  uint32_t closed_rst_burst = 50;
  // Inbound-SYN filter (pollux/syn_filter.hpp): which passive opens are accepted.
  SynFilter syn_filter;
  // Receive memory (issue 14 item 2): mbufs this lcore's receive and reassembly queues may
  // hold in all, so that peers cannot pin the pool and starve RX refill (receive_data.cpp).
  // 0: half the pool (the runtime gives each lcore its share of the mbufs beyond its rings).
  uint32_t rcv_mbuf_budget = 0;
  // Send memory (issue 14 item 2): mbufs this lcore's send queues may hold in all (api.cpp).
  // A peer that never opens its window pins what we queued for it; past half the budget
  // (pressure) each connection may take at most kSndPressureShare mbufs, and send() takes
  // less than it is given (counted, the app is told `writable` later). 0: half the pool, as
  // the receive side (the runtime gives each lcore a quarter of the mbufs beyond its rings).
  uint32_t snd_mbuf_budget = 0;
};

class TcpLayer {
 public:
  // `local_mtu`: the IP MTU of the port (MSS = MTU - 40). `pool`: mbufs for everything sent.
  TcpLayer(const TcpConfig& config, rte_mempool* pool, uint16_t local_mtu, base::Counters& counters,
           uint64_t now_ns);
  ~TcpLayer();
  TcpLayer(const TcpLayer&) = delete;
  TcpLayer& operator=(const TcpLayer&) = delete;

  // --- Engine side ---
  // A validated segment addressed to one of our addresses, in the mbuf `m` (data starting at
  // the Ethernet header) and keyed by its tuple (`probe`: our address and port first; IPv4
  // or IPv6, as the engine read them from the headers), which it takes: every function of
  // the input path owns the segment as a base::UniqueMbuf it moves on, to a queue or the
  // next step, or lets free. Returns the segment when no connection or listener wants it
  // (the engine then answers as CLOSED), and an empty handle when it was taken.
  [[nodiscard]] base::UniqueMbuf input(base::UniqueMbuf m, const base::FlowProbe& probe,
                                       const net::TcpHeader& seg, const net::TcpOptions& opts,
                                       uint64_t now_ns);
  // ICMP fragmentation-needed quoting one of our segments (RFC 1191, RFC 5927 checks).
  void icmp_frag_needed(const net::Ipv4Header& quoted_ip, net::Bytes quoted_l4, uint16_t mtu,
                        uint64_t now_ns);
  // ICMPv6 Packet Too Big (RFC 8201) quoting one of our segments: `quoted_src` (ours) and
  // `quoted_dst` from the quoted IPv6 header, `quoted_tcp` the quoted TCP bytes (8 or more),
  // `mtu` as reported (raised to 1280, RFC 8201 4; the same RFC 5927 checks as IPv4's).
  void icmp_packet_too_big(const net::Ipv6Addr& quoted_src, const net::Ipv6Addr& quoted_dst,
                           net::Bytes quoted_tcp, uint32_t mtu, uint64_t now_ns);
  // After an RX burst: application events, then one round of output per dirty connection.
  void flush(uint64_t now_ns);
  // Timers.
  void poll(uint64_t now_ns);
  // Datagrams ready for ip_output, in order. The engine takes them all and calls clear_out().
  [[nodiscard]] std::span<rte_mbuf* const> out() const { return {out_.data(), out_count_}; }
  void clear_out() { out_count_ = 0; }

  // --- Application side (pollux/tcp.hpp) ---
  TcpError listen(uint16_t port, const AppEvents* events, void* ctx, uint32_t backlog = 128,
                  const ConnOptions& opts = {});
  void unlisten(uint16_t port);
  // `local` is one of the engine's addresses (the route's source). `local_port` 0 picks one.
  // Either family (net/ip_addr.hpp): both addresses IPv4, or both IPv6.
  Conn* connect(net::IpAddr local, net::IpAddr remote, uint16_t remote_port,
                const AppEvents* events, void* ctx, uint16_t local_port, const ConnOptions& opts,
                TcpError& error, uint64_t now_ns);
  size_t send(Conn* c, std::span<const uint8_t> data);
  [[nodiscard]] uint32_t send_space(const Conn* c) const;
  void want_writable(Conn* c, uint32_t bytes);
  [[nodiscard]] uint32_t readable_bytes(const Conn* c) const;
  size_t peek(const Conn* c, ByteSpan* spans, size_t max) const;
  size_t read(Conn* c, uint8_t* out, size_t len);  // copy + consume
  void consume(Conn* c, uint32_t n);
  void shutdown_write(Conn* c);
  void close(Conn* c);
  void abort(Conn* c);
  // The setters return false when the change needed a new option set and the table had no
  // room (TcpConfig::option_sets): the connection keeps its options.
  bool set_nodelay(Conn* c, bool on);
  bool set_keepalive(Conn* c, bool on, uint64_t idle_ns, uint64_t interval_ns, uint8_t probes);
  // New ceilings for the send queue and the receive window of an open connection (same
  // bounds as ConnOptions). A larger receive buffer is announced at once; a smaller one takes
  // effect as data is read, since the window's right edge never moves left (RFC 9293
  // 3.8.6.2.2), and the window scale fixed at the handshake caps what can be announced.
  bool set_buffers(Conn* c, uint32_t sndbuf, uint32_t rcvbuf);
  // The options connection `t` runs with (its set in the table; bounded_options).
  [[nodiscard]] const ConnOptions& options_of(const Tcb& t) const {
    return option_sets_.get(t.opts_id);
  }
  [[nodiscard]] const OptionSets& option_sets() const { return option_sets_; }
  [[nodiscard]] ConnInfo info(const Conn* c) const;
  [[nodiscard]] ConnCounts counts(const Conn* c) const;
  [[nodiscard]] static net::FourTuple tuple(const Conn* c) { return c->tuple(); }
  [[nodiscard]] static State state(const Conn* c) { return c->state; }
  static void set_user(Conn* c, void* p) { c->user = p; }
  [[nodiscard]] static void* user(const Conn* c) { return c->user; }

  // Connections with a TCB: TIME-WAIT is a record (time_wait_count()) once its final ACK is
  // out, at the end of the flush that entered it.
  [[nodiscard]] size_t connections() const { return table_.size(); }
  [[nodiscard]] size_t time_wait_count() const { return tw_.size(); }
  // The state of the pair `t` (from our side): a TCB's, TIME-WAIT for a record, else CLOSED.
  [[nodiscard]] State state_of(const net::FourTuple& t);
  // Mbufs held by the receive and reassembly queues of every connection, and their budget.
  // Memory (issue 13 item 5): what the tables of a layer with this configuration allocate
  // at start, in bytes. Every part is fixed then; nothing grows per connection later.
  struct Memory {
    size_t tcbs = 0;          // max_connections TCBs (their timers and queue heads inside)
    size_t ipv6_addrs = 0;    // IPv6 connections' addresses, one pair per TCB (untouched by IPv4)
    size_t flow_buckets = 0;  // the connection table's bucket array
    size_t per_source = 0;    // per-source counts (only with max_conns_per_source)
    size_t cold_blocks = 0;   // the cold-block pool (ColdBlock)
    size_t undo_records = 0;  // the undo-record pool (UndoRecord)
    size_t event_counts = 0;  // the event-count pool (EventCounts)
    size_t ooo_queues = 0;    // the reassembly-queue pool
    size_t time_wait = 0;     // TIME-WAIT records and their index
    size_t option_sets = 0;   // the interned option sets (OptionSets)
    size_t app_bindings = 0;  // the interned (events, ctx) pairs (AppBindings)
    [[nodiscard]] size_t connection_tables() const {
      return tcbs + ipv6_addrs + flow_buckets + per_source + cold_blocks + undo_records +
             event_counts + ooo_queues + option_sets + app_bindings;
    }
    [[nodiscard]] size_t total() const { return connection_tables() + time_wait; }
  };
  [[nodiscard]] static Memory memory(const TcpConfig& c);
  [[nodiscard]] static uint32_t cold_block_count(const TcpConfig& c) {
    return c.cold_blocks != 0 ? c.cold_blocks : std::max<uint32_t>(64, c.max_connections / 4);
  }
  [[nodiscard]] static uint32_t undo_record_count(const TcpConfig& c) {
    return c.undo_records != 0 ? c.undo_records : std::max<uint32_t>(64, c.max_connections / 4);
  }
  [[nodiscard]] static uint32_t event_counts_count(const TcpConfig& c) {
    return c.event_counts != 0 ? c.event_counts : std::max<uint32_t>(c.max_connections, 1);
  }
  [[nodiscard]] uint32_t cold_blocks_lent() const { return cold_pool_.lent(); }
  // TCBs constructed so far: the most connections held at once (the table's resident part).
  [[nodiscard]] uint32_t tcbs_built() const { return tcbs_.built(); }
  [[nodiscard]] uint32_t undo_records_lent() const { return undo_pool_.lent(); }
  [[nodiscard]] uint32_t event_counts_lent() const { return counts_pool_.lent(); }
  // Distinct (events, ctx) pairs held now (AppBindings).
  [[nodiscard]] uint32_t app_bindings_live() const { return app_bindings_.live(); }
  [[nodiscard]] uint32_t rcv_mbufs() const { return rcv_mbufs_; }
  [[nodiscard]] uint32_t rcv_mbuf_budget() const { return rcv_budget_; }
  // Mbufs held by the send queues of every connection, and their budget.
  [[nodiscard]] uint32_t snd_mbufs() const { return snd_mbufs_; }
  [[nodiscard]] uint32_t snd_mbuf_budget() const { return snd_budget_; }
  // Arms of this layer's timer wheel so far (benches and tests count them per segment).
  [[nodiscard]] uint64_t timer_arms() const { return wheel_.arms(); }
  // Visits every connection in the table (not the TIME-WAIT records), e.g. for a dump.
  template <class F>
  void for_each_connection(F&& f) {
    table_.for_each([&](Tcb& t) { f(static_cast<const Conn*>(&t)); });
  }
  [[nodiscard]] const TcpConfig& config() const { return config_; }
  [[nodiscard]] Conn* find(const net::FourTuple& t) { return table_.find(t); }

  // --- State changes (set_state, tcb_lifecycle.cpp) ---
  // How many times a TCB of this layer entered `s` (CLOSED: how many left the table).
  [[nodiscard]] uint64_t state_entries(State s) const {
    return state_entries_[static_cast<size_t>(s)];
  }
  // Called on every state change, after it, with the TCB already in `to` (tests, traces).
  // Null by default: then a change costs one predictable branch.
  // `tuple` is the pair's, from our side (a TIME-WAIT record has no TCB).
  using StateObserver = void (*)(void* ctx, const net::FourTuple& tuple, State from, State to,
                                 StateCause why);
  void observe_states(StateObserver fn, void* ctx) {
    state_observer_ = fn;
    state_observer_ctx_ = ctx;
  }

 private:
  // segment_arrives.cpp is input() above: dispatch by state.
  // input_listen.cpp
  // A TCB for a SYN with sequence number `irs` from `key` to listener `l`: fresh, with the
  // receive side started at IRS + 1 and nothing advertised yet.
  void init_passive(Tcb& t, const Listener& l, const net::FourTuple& key, Seq irs, uint64_t now);
  // Files `t` under `l` in SYN-RECEIVED. When the table refuses, `t` is released, the drop
  // counted, and false returned.
  [[nodiscard]] bool file_syn_received(Tcb& t, Listener& l);
  // The listener whose SYN-RECEIVED queue `t` is in, or nullptr.
  [[nodiscard]] Listener* listener_of(const Tcb& t) {
    return t.listener_slot == kNoListener ? nullptr : &listeners_[t.listener_slot];
  }
  // `t` leaves its listener's SYN-RECEIVED queue: accepted, reset, or given up.
  void leave_listener(Tcb& t) {
    if (Listener* l = listener_of(t)) --l->pending;
    t.listener_slot = kNoListener;
  }
  // SYN cookies: the stateless SYN-ACK (written into the SYN's own buffer `syn` when it can
  // be), and a bare ACK to a listener checked as the return of one (an empty handle back: it
  // took the segment; the segment back: the engine answers it as LISTEN answers an ACK).
  void send_cookie_syn_ack(Listener& l, base::UniqueMbuf syn, const net::FourTuple& key,
                           const net::TcpHeader& seg, const net::TcpOptions& opts, uint64_t now);
  [[nodiscard]] base::UniqueMbuf accept_cookie(Listener& l, base::UniqueMbuf m,
                                               const net::FourTuple& key, const net::TcpHeader& seg,
                                               const net::TcpOptions& opts, uint64_t now);
  void input_listen(Listener& l, base::UniqueMbuf m, const net::FourTuple& key,
                    const net::TcpHeader& seg, const net::TcpOptions& opts, uint64_t now);
  void negotiate(Tcb& t, const net::TcpOptions& opts, uint64_t now);
  // The SYN filter (config_.syn_filter) on a passive open; false: refused and counted.
  [[nodiscard]] bool passive_open_allowed(const net::FourTuple& key);
  // input_syn_sent.cpp
  void input_syn_sent(Tcb& t, base::UniqueMbuf m, const net::TcpHeader& seg,
                      const net::TcpOptions& opts, uint64_t now);
  // fast_path.cpp: header prediction. True when it took the segment (moved from `m`); false
  // (nothing changed, `m` untouched) when the segment needs the full path.
  [[nodiscard]] bool fast_path(Tcb& t, base::UniqueMbuf& m, const net::TcpHeader& seg,
                               const net::TcpOptions& opts, uint64_t now);
  // input_synchronized.cpp. What it leaves in `m` (a segment without data, say) is the
  // caller's to free or keep (keep_spare).
  void input_synchronized(Tcb& t, base::UniqueMbuf& m, const net::TcpHeader& seg,
                          const net::TcpOptions& opts, uint64_t now);
  // ack_processing.cpp
  bool process_ack(Tcb& t, const net::TcpHeader& seg, const net::TcpOptions& opts, uint64_t now);
  // RFC 9293 3.10.7.4 fifth: SND.WND from an ACK not older than the last that set it.
  void update_send_window(Tcb& t, const net::TcpHeader& seg, uint32_t new_wnd);
  // An ACK of new data: RTT sample, send queue, recovery's end, cwnd, the RTO (RFC 6298 5).
  void ack_new_data(Tcb& t, Seq a, const net::TcpOptions& opts, uint64_t now);
  // recovery.cpp
  // Applies the ACK's SACK blocks (and RACK's view of them); returns bytes newly SACKed.
  // Inline for the ACK that carries none (every ACK of an in-order exchange): the call and
  // its frame cost more than the test (issue 13).
  uint32_t sack_update(Tcb& t, const net::TcpOptions& opts, uint64_t now) {
    if (!t.sack_ok || opts.sack_count == 0) return 0;
    return apply_sack_blocks(t, opts, now);
  }
  uint32_t apply_sack_blocks(Tcb& t, const net::TcpOptions& opts, uint64_t now);
  void enter_recovery(Tcb& t, uint64_t now);
  void begin_undo_episode(Tcb& t);
  void undo_reduction(Tcb& t);
  // receive_data.cpp
  void process_data(Tcb& t, base::UniqueMbuf m, const net::TcpHeader& seg, uint64_t now);
  void process_fin(Tcb& t, uint64_t now);
  void note_dsack(Tcb& t, Seq left, Seq right);
  // Receive memory: the mbufs `t` holds (in order and out of order), whether the lcore is
  // under pressure, how many mbufs `t` holds before small segments are collapsed, and
  // whether the segment `m` may be queued (false: drop it, counted).
  [[nodiscard]] static uint32_t held_mbufs(const Tcb& t) {
    return t.rcvq.mbufs() + (t.ooo ? t.ooo->mbufs() : 0);
  }
  // Mbufs a connection may hold under pressure: enough for an interactive connection (with
  // collapse, small segments share mbufs) to make progress while the hogs wait.
  static constexpr uint32_t kRcvPressureShare = 16;
  [[nodiscard]] bool rcv_pressure() const { return rcv_mbufs_ >= rcv_pressure_mark_; }
  [[nodiscard]] uint32_t collapse_share(const Tcb& t) const;
  [[nodiscard]] bool rcv_admit(Tcb& t, const rte_mbuf* m, bool in_order);
  // Frees out-of-order data under pressure: `t`'s first, then every connection's while the
  // lcore is over `target` mbufs. Counted per mbuf (drop_tcp_ofo_pruned).
  void prune_ooo(Tcb& t, uint32_t target);
  // Send memory (api.cpp): the mbufs a connection may hold under pressure (8 KB of queue,
  // twice Linux's tcp_wmem[0], the least a socket keeps under tcp_memory_pressure), how many
  // more `t` may take now, and the wake-up of connections refused while holding less.
  static constexpr uint32_t kSndPressureShare = 4;
  static constexpr uint64_t kSndWakeIntervalNs = 1'000'000;
  [[nodiscard]] uint32_t snd_allowance(const Tcb& t) const;
  void wake_snd_waiters(uint64_t now);
  // Every change of a send queue's size goes through here (send, ACKs, release), so that
  // snd_mbufs_ stays the sum of the queues' mbufs: `change` runs on t.sndq, and the
  // difference in its mbufs is added (modular: it may be a decrease).
  template <typename Change>
  void change_sndq(Tcb& t, Change&& change) {
    const uint32_t before = t.sndq.mbufs();
    change(t.sndq);
    snd_mbufs_ += t.sndq.mbufs() - before;
  }
  void prune_one_ooo(ReassemblyQueue& q);
  void append_in_order(Tcb& t, base::UniqueMbuf m);
  // rack_tlp.cpp: RFC 8985, fed by ack_processing.cpp and recovery.cpp; its timers share
  // the retransmission timer (timers.cpp).
  // Feeds RACK the octets of [lo, hi) delivered by this ACK and not SACKed before.
  // `cumulative`: delivered by the cumulative ACK (then the timestamp echo is this data's).
  void rack_deliver(Tcb& t, Seq lo, Seq hi, const net::TcpOptions& opts, bool cumulative,
                    uint64_t now);
  // RFC 8985 6.2 step 5: marks what is lost by time, arms the reordering timer for the
  // rest, and starts recovery when the oldest hole is lost.
  void rack_detect_loss(Tcb& t, uint64_t now);
  // RFC 8985 6.2 step 4: the reordering window for this connection now.
  [[nodiscard]] uint32_t rack_reo_wnd_us(const Tcb& t) const;
  void tlp_on_ack(Tcb& t, const net::TcpOptions& opts, uint32_t flight_before);
  // Whether it set the timer for a probe.
  bool schedule_probe(Tcb& t, uint64_t now);
  void on_probe_timeout(Tcb& t, uint64_t now);
  void on_reorder_timeout(Tcb& t, uint64_t now);
  // time_wait.cpp
  void enter_time_wait(Tcb& t, StateCause why, uint64_t now);
  [[nodiscard]] bool time_wait_accepts_syn(const Tcb& t, const net::TcpHeader& seg,
                                           const net::TcpOptions& opts) const;
  // connect(): a tuple our own TIME-WAIT holds may be reused when timestamps protect the
  // new connection (the peer's PAWS rejects the old one's segments), as Linux's tw_reuse.
  [[nodiscard]] bool time_wait_reusable(const Tcb& t, uint64_t now) const;
  void recycle_time_wait(Tcb& t, uint64_t now);
  // The TIME-WAIT TCB gives way to a record (at the end of the flush that sent its last ACK).
  void file_time_wait(Tcb& t, uint64_t now);
  // When `t`'s TIME-WAIT ends: 2 MSL from its start, rounded up to the tick as a timer's.
  [[nodiscard]] uint64_t time_wait_end(const Tcb& t, uint64_t now) const;
  // A segment for a pair in TIME-WAIT, answered from its record as input_synchronized
  // answers it for a TCB (RFC 9293 3.10.7.4, RFC 1337, RFC 5961).
  void time_wait_input(TimeWaitRecord& r, base::UniqueMbuf m, const net::TcpHeader& seg,
                       const net::TcpOptions& opts, uint64_t now);
  [[nodiscard]] bool time_wait_accepts_syn(const TimeWaitRecord& r, const net::TcpHeader& seg,
                                           const net::TcpOptions& opts) const;
  [[nodiscard]] bool time_wait_reusable(const TimeWaitRecord& r, uint64_t now) const;
  void recycle_time_wait(TimeWaitRecord& r);
  // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> from a record, with a D-SACK block when given.
  void send_time_wait_ack(const TimeWaitRecord& r, const std::optional<net::SackBlock>& dsack,
                          uint64_t now);
  // 2 MSL over: records due at `now` leave the store (FIFO), each TIME-WAIT -> CLOSED.
  void expire_time_wait(uint64_t now);

  // output.cpp
  void output(Tcb& t, uint64_t now);
  // What output sends (RFC 6675 recovery, then new data); `failed` when a segment could not
  // be built (no room, no mbuf: the TCB is dirty again). Whether anything was sent.
  bool output_data(Tcb& t, uint64_t now, bool& failed);
  [[nodiscard]] uint32_t window_room(const Tcb& t, Seq seq) const;
  [[nodiscard]] Seq sent_data_end(const Tcb& t) const;
  void retransmit_first(Tcb& t, uint64_t now);
  uint32_t retransmit_range(Tcb& t, Seq start, uint32_t max_len, uint64_t now);
  bool output_sack_recovery(Tcb& t, uint64_t now);
  // TSO: whole segments of the unsent data at `off` as one frame; false when fewer than two
  // fit (the caller then sends one segment as without TSO). Sets `sent`.
  bool send_tso_frame(Tcb& t, uint32_t off, uint32_t avail, uint32_t usable, uint32_t eff,
                      uint64_t now, bool& sent);
  [[nodiscard]] uint32_t rcv_window(const Tcb& t) const;
  // The window rcv_window gives with the receive queue holding `rcvq_bytes` in `rcvq_mbufs`
  // and the lcore under memory pressure or not (consume: the window before a read, from
  // what was held then, only when the read's window update needs it).
  [[nodiscard]] uint32_t rcv_window_holding(const Tcb& t, uint32_t rcvq_bytes, uint32_t rcvq_mbufs,
                                            bool pressure) const;
  [[nodiscard]] uint32_t payload_mss(const Tcb& t) const;
  // send_segment.cpp
  // `tso_segsz` > 0 with `len` above it: one TSO frame the device cuts into segments of
  // tso_segsz payload octets (RTE_MBUF_F_TX_TCP_SEG).
  bool send_segment(Tcb& t, Seq seq, uint8_t flags, uint32_t data_off, uint32_t len, uint64_t now,
                    uint32_t tso_segsz = 0);
  // Which tcp_retrans_* counter a retransmission goes to (issue 13): from its flags, the
  // connection's recovery state and whether a tail loss probe is being sent (probing_).
  [[nodiscard]] base::Counter retrans_cause(const Tcb& t, uint8_t flags) const;
  // A pure ACK carries <SEQ=SND.NXT> of RFC 9293 3.10.7.4, which is our snd_max: after an
  // RTO rewinds snd_nxt (go-back-N), an ACK with the rewound number would lie below the
  // peer's RCV.NXT, be unacceptable there and its acknowledgment lost (BSD tcp_output does
  // the same for segments without data, SYN or FIN).
  void send_ack(Tcb& t, uint64_t now) {
    send_segment(t, t.snd_max, net::tcp_flags::ack, 0, 0, now);
  }
  // RFC 5961 section 7: may a challenge ACK (3.2, 4.2, 5.2) be sent now? Takes one from the
  // per-lcore budget and counts it (tcp_challenge_acks), or counts the refusal.
  [[nodiscard]] bool take_challenge_ack(uint64_t now);
  [[nodiscard]] net::TcpOptions data_options(const Tcb& t) const;
  // Whether a segment now would carry SACK blocks (RFC 2018 4, RFC 2883 4): without them a
  // data segment's options are the timestamps alone or nothing (net::write_ts_appa).
  [[nodiscard]] static bool sack_to_report(const Tcb& t) {
    return t.sack_ok && (t.ooo || t.pending_dsack);
  }
  [[nodiscard]] uint32_t tsval(const Tcb& t, uint64_t now) const;
  rte_mbuf* alloc_datagram(uint16_t payload_room);
  // A received segment's buffer that input is done with (if `m` still holds one): kept for
  // the next segment sent (spares_) instead of freed, or freed when it cannot serve. Only a
  // plain buffer can be handed out as a new one: one segment, its own bytes (direct, no
  // external buffer), no other reference, and at least the room of ours. It may be of
  // another pool (the in-memory link passes the peer's buffers): it goes back to its own
  // pool when it is freed, as every mbuf does, so each pool's count stays whole.
  void keep_spare(base::UniqueMbuf& m) {
    const rte_mbuf* b = m.get();
    if (b == nullptr) return;
    if (spare_count_ < kSpares && base::is_sole_plain_segment(b) && b->buf_len >= snd_room_)
      spares_[spare_count_++] = m.release();
    else
      m.reset();
  }
  void free_spares();
  bool out_has_room(uint32_t n = 1) const { return out_count_ + n <= out_.size(); }
  // reset.cpp (the builder is tcp/reset.hpp, shared with the engine's CLOSED answer)
  void send_reset(const Reset& r);
  // <SEQ=SND.NXT><CTL=RST>: ABORT (RFC 9293 3.10.5), and giving up on the peer.
  void send_rst(const Tcb& t);
  // The reset `seg`'s sender accepts (3.10.7.1 rule), e.g. for an unacceptable ACK.
  void send_rst_answering(const Tcb& t, const net::TcpHeader& seg);

  // timers.cpp
  void on_timer(base::TimerLink& timer, uint64_t now);
  void on_rexmt(Tcb& t, uint64_t now);
  void on_persist(Tcb& t, uint64_t now);
  void on_keepalive(Tcb& t, uint64_t now);
  // RFC 9293 3.8.3 USER TIMEOUT: called when a retransmission or window probe finds no
  // progress; true (counted) when the connection has waited past its limit and must end.
  [[nodiscard]] bool user_timed_out(Tcb& t, uint64_t now);
  void arm_rexmt(Tcb& t, uint64_t now);
  // Timers without churn (issue 13 items 4 and 5): each kind's deadline is kept in the TCB
  // (Timing::due_tick) and the one wheel entry per TCB is touched only when a deadline is
  // earlier than the entry (or there is none); on_timer runs the kinds that are due and
  // re-arms the entry for the earliest left. stop_timer() only forgets a deadline, leaving
  // the entry to fire for nothing; cancel_timers() also unlinks it, for a TCB released.
  void set_timer(Tcb& t, TimerKind k, uint64_t deadline);
  static void stop_timer(Tcb& t, TimerKind k) { t.clear_due(k); }
  [[nodiscard]] static bool timer_set(const Tcb& t, TimerKind k) { return t.due_is_set(k); }
  // When a set timer runs: the boundary of the tick it is due in (TimerTicks).
  [[nodiscard]] uint64_t timer_due_ns(const Tcb& t, TimerKind k) const {
    return t.due_tick_of(k, wheel_.now_ns() / TimerTicks::kTickNs) * TimerTicks::kTickNs;
  }
  [[nodiscard]] static uint64_t ceil_tick(uint64_t ns) {
    return ns / TimerTicks::kTickNs + (ns % TimerTicks::kTickNs != 0 ? 1 : 0);
  }
  // The earliest deadline left, or none; arms the entry for it when it is not armed earlier.
  void rearm_timer(Tcb& t);
  void run_timer(Tcb& t, TimerKind k, uint64_t now);
  void set_rexmt(Tcb& t, RexmtKind kind, uint64_t deadline) {
    t.rexmt_kind = kind;
    set_timer(t, TimerKind::retransmit, deadline);
  }
  static void stop_rexmt(Tcb& t) { stop_timer(t, TimerKind::retransmit); }
  [[nodiscard]] static bool rexmt_pending(const Tcb& t) {
    return timer_set(t, TimerKind::retransmit);
  }
  void arm_keepalive(Tcb& t, uint64_t now);
  void probe_closed_window(Tcb& t, uint64_t now);
  void send_window_probe(Tcb& t, uint64_t now);

  // tcb_lifecycle.cpp
  // Every change of Tcb::state goes through here: counted, and reported to the observer.
  void set_state(Tcb& t, State to, StateCause why);
  // The same count and report for a pair without a TCB (a TIME-WAIT record). `tuple_of()`
  // gives the pair: it is called only when an observer is set, since building a FourTuple
  // from a packed key (a TCB's, a record's) costs ~20 instructions that nobody reads
  // otherwise, at ten state changes per connection (issue 13).
  template <class TupleOf>
  void note_transition(TupleOf&& tuple_of, State from, State to, StateCause why) {
    ++state_entries_[static_cast<size_t>(to)];
    if (state_observer_) [[unlikely]]
      state_observer_(state_observer_ctx_, tuple_of(), from, to, why);
  }
  Tcb* alloc_tcb();
  // alloc_tcb() would return a TCB: one given back, or one never built yet.
  [[nodiscard]] bool tcb_available() const { return !free_.empty() || !tcbs_.all_built(); }
  // `options`: a reference to the connection's option set, which the TCB keeps until
  // release_tcb gives it back.
  void init_tcb(Tcb& t, const net::FourTuple& tuple, OptionSets::Id options, uint64_t now);
  // Moves `t` to a set equal to `o` (copy on write); false, counted, when the table is full.
  bool change_opts(Tcb& t, const ConnOptions& o);
  void release_tcb(Tcb& t);
  static void cancel_timers(Tcb& t);
  // The connection is over for the application: `closed` is delivered at the next flush and
  // the TCB freed (or kept in TIME-WAIT without an application).
  void finish(Tcb& t, CloseReason why, uint64_t now);
  bool acquire_ooo(Tcb& t);
  void release_ooo(Tcb& t);
  // The connection's cold block, lent from the pool if it has none (nullptr and counted
  // when the pool is empty); given back when quiet (nothing in flight left to remember).
  ColdBlock* take_cold(Tcb& t);
  void put_cold_if_quiet(Tcb& t);
  void put_cold(Tcb& t);
  // The connection's undo record, lent if it has none and held in its event counts' record
  // (that record lent first if the connection has none); nullptr and counted when either
  // pool is empty. Given back by the undo and at release.
  UndoRecord* take_undo(Tcb& t);
  void put_undo(Tcb& t);
  // Adds `n` to one of the connection's event counts (Stats), in its record, lent at its
  // first event (take_counts: nullptr and counted when the pool is empty, the event then
  // unrecorded); given back at release.
  void count_event(Tcb& t, uint32_t EventCounts::*count, uint32_t n = 1) {
    if (EventCounts* c = t.counts ? t.counts : take_counts(t)) c->*count += n;
  }
  EventCounts* take_counts(Tcb& t);
  EventCounts* lend_counts(Tcb& t);  // take_counts without counting an empty pool
  void put_counts(Tcb& t);
  // The application forgets the connection: no more events, its (events, ctx) reference back.
  void forget_app(Tcb& t) {
    if (!t.has_app()) return;
    app_bindings_.release(t.app);
    t.app = AppBindings::kNone;
  }
  // MTU - 40 over IPv4, MTU - 60 over IPv6 (ip_header.hpp).
  uint16_t mss_for_mtu(const net::FourTuple& t) const { return mss_for(mtu_, t); }
  // The largest MSS the path to t's remote address takes: the link's, or the path MTU's
  // this lcore learnt for that address (path_mtu.cpp; counted tcp_pmtu_cache_hits).
  uint16_t path_mss(const net::FourTuple& t, uint64_t now_ns);
  // path_mtu.cpp: both families' reports after their own floors (mtu 0: ignore the MTU).
  void path_too_big(const net::IpAddr& quoted_src, const net::IpAddr& quoted_dst,
                    net::Bytes quoted_tcp, uint32_t mtu, uint64_t now_ns);
  // tcp_layer.cpp
  void mark_dirty(Tcb& t);
  // Takes a TCB off the dirty list (or flush's snapshot of it), wherever it is in it.
  void unlink_dirty(Tcb& t);
  void deliver_events(Tcb& t);
  // After a flush round's output: the delayed ACK's timer for data still unacknowledged.
  void owe_delayed_ack(Tcb& t, uint64_t now);
  // An application event is set that deliver_events has not delivered (yet).
  [[nodiscard]] static bool events_pending(const Tcb& t) {
    return t.ev_established || t.ev_readable || t.ev_writable || t.ev_peer_closed ||
           t.closed_pending;
  }

  TcpConfig config_;
  rte_mempool* pool_;
  uint16_t mtu_;
  base::Counters& counters_;
  PathMtuCache pmtu_cache_;  // per destination (RFC 8201 5.2)
  bool probing_ = false;     // on_probe_timeout is sending a tail loss probe (retrans_cause)
  // output() is running: a data segment that finds the retransmission timer stopped sets
  // rexmt_owed_ instead of arming it, and output's end arms it or the probe (output.cpp).
  bool rexmt_deferred_ = false;
  bool rexmt_owed_ = false;
  IsnGenerator isn_;
  SynCookies cookies_;
  base::RandomBudget challenge_budget_;  // RFC 5961 7
  // One entry per TCB: its Timing part (a TimerLink), no owner pointer or kind (tcb.hpp).
  using Wheel = base::BasicTimerWheel<base::TimerLink>;
  Wheel wheel_;
  base::FlowTable<Tcb> table_;
  // The TCBs, reserved whole at start (memory().tcbs) and each built on its first lend
  // (alloc_tcb), so that a table sized for many connections is resident only as far as the
  // most ever held at once reach; free_ holds the ones given back, lent again first.
  base::Slab<Tcb> tcbs_;
  // An IPv6 connection's addresses, at its TCB's slot (tcbs_.index_of): its FlowLink holds
  // only a pointer here (an IPv4 one holds its addresses inline). Allocated with the slab and
  // never written for an IPv4 connection, so its pages stay untouched unless IPv6 is used
  // (as TIME-WAIT's IPv6 pairs, time_wait_store.hpp). One per slot, owned by the slot's TCB
  // for good: no free list, nothing to give back, reused with the slot.
  std::unique_ptr<base::Ipv6AddrPair[]> v6_addrs_;
  // Through Tcb::dirty_hook (TcbList, singly linked): dirty_ in the order marked, free_ as
  // a stack.
  TcbList free_;  // a free TCB is never dirty
  TcbList dirty_;
  // The connection whose events flush() is delivering, and whether its callbacks marked it
  // dirty meanwhile (mark_dirty; flush then decides whether it needs the next round).
  Tcb* delivering_ = nullptr;
  bool delivering_marked_ = false;
  // While flush() works through its snapshot of dirty_: that snapshot, which a callback's
  // release_tcb may have to unlink a TCB from (unlink_dirty).
  TcbList* flushing_ = nullptr;
  // What a connection borrows only while it needs it (issue 13 item 5), each preallocated.
  base::FreeList<ReassemblyQueue> ooo_pool_;
  base::FreeList<ColdBlock> cold_pool_;
  base::FreeList<UndoRecord> undo_pool_;
  base::FreeList<EventCounts> counts_pool_;
  OptionSets option_sets_;          // every connection's and listener's options, interned
  AppBindings app_bindings_;        // every connection's and listener's (events, ctx), interned
  base::KeyCounts per_source_;      // passive connections per source (max_conns_per_source)
  uint32_t rcv_mbufs_ = 0;          // held by every rcvq and ooo queue of this layer
  uint32_t rcv_budget_ = 0;         // config_.rcv_mbuf_budget, resolved
  uint32_t rcv_pressure_mark_ = 0;  // three quarters of it
  uint32_t snd_mbufs_ = 0;          // held by every sndq of this layer
  uint32_t snd_budget_ = 0;         // config_.snd_mbuf_budget, resolved
  uint32_t snd_pressure_mark_ = 0;  // half of it
  uint32_t snd_room_ = 0;           // bytes one send-queue mbuf holds
  uint32_t snd_waiters_ = 0;        // connections with snd_mem_wait set
  uint64_t snd_wake_not_before_ = 0;
  std::vector<Listener> listeners_;
  std::array<rte_mbuf*, 4096> out_{};
  size_t out_count_ = 0;
  // Buffers of received segments input had no more use for (a SYN answered, a SYN-ACK taken):
  // alloc_datagram hands them out again before asking the pool, which saves a put and a get
  // per buffer. Filled only by input(), emptied into the pool at the end of every flush(),
  // which ends every burst the engine delivers: between bursts the pool's count is exact.
  static constexpr uint32_t kSpares = 32;  // a burst's worth
  std::array<rte_mbuf*, kSpares> spares_{};
  uint32_t spare_count_ = 0;
  uint32_t next_ephemeral_;  // RFC 6056 Algorithm 3 counter
  // Algorithm 3's F(local, remote, remote port) for the last destination connected to: a
  // generator opens to one destination over and over, and F is a SipHash (issue 13 item 4).
  net::FourTuple ephemeral_dest_{};
  uint32_t ephemeral_offset_ = 0;
  bool ephemeral_dest_known_ = false;
  // Destinations whose whole ephemeral range connect() walked in vain, and the earliest time
  // a TIME-WAIT it met there may be reused (RFC 6191): until then, or until some tuple is
  // freed (tuple_freed()), another walk would find nothing, and connect() fails at once.
  // Without this every failing connect() looked at every port (55k lookups), so a generator
  // that wrapped its ports within a second of TIME-WAIT spent its lcore walking (issue 14).
  struct ExhaustedDest {
    net::FourTuple dest;
    uint64_t retry_ns = 0;
  };
  std::array<ExhaustedDest, 8> exhausted_{};
  uint32_t exhausted_count_ = 0, exhausted_next_ = 0;
  void tuple_freed() { exhausted_count_ = 0; }
  [[nodiscard]] bool known_exhausted(const net::FourTuple& dest, uint64_t now) const;
  void note_exhausted(const net::FourTuple& dest, uint64_t retry_ns);
  // When a TIME-WAIT that time_wait_reusable() refuses now becomes reusable (never: UINT64_MAX).
  [[nodiscard]] uint64_t time_wait_reusable_at(const Tcb& t, uint64_t now) const;
  [[nodiscard]] uint64_t time_wait_reusable_at(const TimeWaitRecord& r, uint64_t now) const;
  uint16_t ip_id_ = 0;
  uint64_t now_ = 0;  // time of the current input/flush/poll, for callbacks into the API
  std::array<uint64_t, kStateCount> state_entries_{};
  StateObserver state_observer_ = nullptr;
  TimeWaitStore tw_;
  void* state_observer_ctx_ = nullptr;
};

}  // namespace pollux::tcp
