// Per-connection TCP_INFO-like reporting for the apps (issue 4): one line per connection, as
// `ss -ti` prints, and totals over connections. Pure formatting over ConnInfo snapshots taken
// on the owning lcore (TcpLayer::info), unit-tested without DPDK.
#pragma once

#include <cstdint>
#include <string>

#include "pollux/counters.hpp"
#include "pollux/tcp.hpp"

namespace pollux::apps {

// Loss recovery summed over connections: how often they retransmitted and why, and which
// options their handshakes agreed on (counts of connections, to check negotiation).
struct ConnTotals {
  uint64_t connections = 0;
  uint64_t retransmits = 0;                       // segments (ConnInfo::retransmits)
  uint64_t timeouts = 0;                          // RTO expiries (RFC 6298 5.4)
  uint64_t fast_recoveries = 0;                   // RFC 6675 / RFC 6582 episodes
  uint64_t dsacks = 0;                            // RFC 2883 reports received
  uint64_t spurious_undos = 0;                    // reductions undone
  uint64_t spurious_retransmits = 0;              // retransmissions D-SACKed: not needed
  uint64_t tlp_probes = 0;                        // RFC 8985 tail loss probes sent
  uint64_t sack = 0, timestamps = 0, wscale = 0;  // connections that negotiated each

  void add(const ConnCounts& n);  // from counts(), or a ConnInfo (it holds a ConnCounts)
  ConnTotals& operator+=(const ConnTotals& o);
};

// "cubic sack ts wscale open rtt 210/35 us rto 200000 us mss 1460 cwnd 14600 ssthresh ...
//  retrans 3 timeouts 0 fast_recoveries 1 dsacks 0 undos 0 spurious_retrans 0 tlp_probes 0
//  reordering 3 bytes_sent ... bytes_received ..."
[[nodiscard]] std::string conn_info_line(const ConnInfo& i);

// "12 connections: 40 segments retransmitted, 1 timeouts, 9 fast recoveries, 0 dsacks,
//  0 undos, 0 spurious retransmits (D-SACKed), 2 tail loss probes; negotiated sack 12,
//  timestamps 12, wscale 12"
[[nodiscard]] std::string describe(const ConnTotals& t);

// Retransmitted segments of one stack by cause (issue 13: on the lossless in-memory link
// every retransmission is spurious, and the report says what sent it), from its counters:
// the RTO, tail loss probes, loss recovery (fast retransmit, SACK/RACK), SYN and SYN-ACK
// retries, the rest; and how many the peer proved unneeded with a D-SACK (RFC 2883).
struct RetransCauses {
  uint64_t total = 0, rto = 0, tlp = 0, recovery = 0, syn = 0, synack = 0, other = 0;
  uint64_t dsacked = 0;     // tcp_spurious_retrans
  uint64_t tlp_probes = 0;  // probes sent, new data included (not retransmissions)
  uint64_t undos = 0;       // reductions undone as spurious (Eifel, D-SACK)
  // `get` reads one counter of the stack (Runtime::counter).
  template <typename Get>
  static RetransCauses from(Get&& get) {
    RetransCauses r;
    r.total = get(Counter::tcp_retrans_segs);
    r.rto = get(Counter::tcp_retrans_rto);
    r.tlp = get(Counter::tcp_retrans_tlp);
    r.recovery = get(Counter::tcp_retrans_recovery);
    r.syn = get(Counter::tcp_retrans_syn);
    r.synack = get(Counter::tcp_retrans_synack);
    r.other = get(Counter::tcp_retrans_other);
    r.dsacked = get(Counter::tcp_spurious_retrans);
    r.tlp_probes = get(Counter::tcp_tlp_probes);
    r.undos = get(Counter::tcp_spurious_undos);
    return r;
  }
};

// "16 segments (rto 0, tail loss probe 16, recovery 0, syn 0, syn-ack 0, other 0; 16 of
//  them D-SACKed as unneeded; 20 tail loss probes, 0 undos)"; "0 segments" when none.
[[nodiscard]] std::string describe(const RetransCauses& r);

}  // namespace pollux::apps
