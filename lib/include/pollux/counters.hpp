// The stack's named counters: what an application reads to report what happened (every drop
// has a name). Values are per lcore, summed by the runtime (pollux/runtime.hpp); lib/base's
// Counters holds them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pollux {

// The list is the single source of truth for names: keep the enum and kCounterNames in the
// same order (a static_assert checks the count, the unit test checks every name is unique).
enum class Counter : uint16_t {
  rx_packets,
  rx_bytes,
  tx_packets,
  tx_bytes,
  // Link layer.
  drop_short_frame,     // shorter than an Ethernet header
  drop_unlinearizable,  // a multi-segment frame that could not be made contiguous
  drop_not_our_mac,     // unicast to another station (promiscuous device)
  drop_vlan_tagged,     // 802.1Q: ports are untagged
  drop_ipv6,            // IPv6 frame while the port has no IPv6 address (kernels chatter it)
  drop_bad_ether_type,  // anything else, including 802.3 length frames
  // ARP.
  drop_arp_malformed,
  drop_arp_not_for_us,  // request for an address we do not own
  drop_arp_bad_sender,  // sender address broadcast/multicast/ours (conflict)
  arp_requests_received,
  arp_replies_received,
  arp_replies_sent,
  arp_requests_sent,  // resolutions and refreshes
  arp_gratuitous_sent,
  arp_cache_full,             // no entry could be made or evicted for a new neighbour
  arp_resolve_failed,         // retries exhausted; pending packets dropped
  drop_arp_pending_overflow,  // more packets queued for an unresolved neighbour than allowed
  drop_arp_pending_total,     // ArpConfig::max_pending_total packets held over all neighbours
  arp_mac_changed,            // a neighbour's hardware address was replaced by a new one
  arp_update_refused,         // a different MAC ignored: static entry, or within locktime unasked
  drop_arp_new_entry_rate_limited,  // a packet to a new neighbour over the new-entry budget
  drop_arp_unresolved,              // packets dropped because their neighbour never answered
  neighbour_sync_sent,              // neighbour facts published to sibling lcores
  neighbour_sync_received,
  neighbour_sync_overflow,  // facts not published: outbox or sibling ring full
  // Multi-core steering (stack/steering.hpp): TCP segments that arrived on a lcore other
  // than their connection's owner (shard function, stack/rss.hpp) and were passed over.
  steered_out,           // received here, handed to the owning lcore's ring
  steered_in,            // taken from other lcores' rings and processed here
  drop_steer_ring_full,  // the owner's ring was full: freed (TCP retransmits)
  // IPv4.
  drop_ip_truncated,
  drop_ip_bad_version,
  drop_ip_bad_header_length,
  drop_ip_bad_total_length,
  drop_ip_bad_checksum,
  drop_ip_bad_source,  // martian: 0/8, 127/8, 240/4, broadcast (limited or directed), multicast
  drop_ip_land,        // source is one of our addresses: LAND (source = destination) or spoofed
  drop_ip_not_for_us,  // destination is not one of our addresses
  drop_ip_fragment,    // a fragment while reassembly is off (ReassemblyConfig::max_datagrams 0)
  // IPv4 reassembly (engine/ip_reassembly.hpp). The drops count fragments: a rule that
  // drops a datagram counts every fragment it held and the one that broke it.
  ip_reasm_fragments,           // fragments received
  ip_reasm_datagrams,           // datagrams reassembled and handed on
  drop_ip_reasm_duplicate,      // an exact duplicate (same offset and length): ignored
  drop_ip_reasm_overlap,        // overlapping fragments: the datagram dropped (RFC 5722 rule)
  drop_ip_reasm_bad_length,     // zero length, or More Fragments and not a multiple of 8
  drop_ip_reasm_too_long,       // ends beyond 65535 bytes of datagram
  drop_ip_reasm_oversize,       // ends beyond ReassemblyConfig::max_datagram_len
  drop_ip_reasm_last_conflict,  // a second last fragment disagrees, or data beyond the end
  drop_ip_reasm_after_error,    // a fragment of a datagram already dropped (until its timeout)
  drop_ip_reasm_table_full,     // a new datagram refused: max_datagrams in reassembly
  drop_ip_reasm_no_memory,      // refused: max_mbufs held
  drop_ip_reasm_timeout,        // held when its datagram timed out (RFC 791 3.2)
  drop_ip_reasm_wrong_lcore,    // reassembled TCP segment owned by another lcore, no mesh
  ip_reasm_passed_to_owner,     // reassembled TCP segment passed to the lcore that owns it
  icmp_time_exceeded_sent,      // RFC 1122 3.3.2: reassembly timed out holding fragment zero
  icmp_errors_rate_limited,     // an ICMP error not sent: over the per-lcore budget
  ip_fragments_created,         // fragments sent for datagrams above the MTU (echo replies)
  drop_ip_unknown_protocol,
  drop_no_route,  // off-link destination and no gateway
  // ICMP.
  drop_icmp_malformed,
  drop_icmp_bad_checksum,
  icmp_echo_requests,
  icmp_echo_replies_sent,
  icmp_frag_needed_received,
  // Fragmentation needed refused for its quote (not an IPv4 header and 8 bytes of TCP from
  // one of our addresses), as drop_icmpv6_bad_quote is for IPv6's Packet Too Big.
  drop_icmp_bad_quote,
  // Fragmentation needed about a connection another lcore owns: passed to it over the
  // steering mesh (counted received there), or dropped when there is no mesh.
  icmp_frag_needed_passed_to_owner,
  drop_icmp_frag_needed_wrong_lcore,
  icmp_other_received,
  drop_icmp_rate_limited,  // echo request not answered: over the per-lcore reply budget
  // IPv6 (RFC 8200) and ICMPv6 (RFC 4443, RFC 4861 neighbour discovery).
  drop_ipv6_malformed,         // truncated, bad version or payload length, bad extension chain
  drop_ipv6_routing_type0,     // RFC 5095: type 0 routing headers are always dropped
  drop_ipv6_fragment,          // no reassembly: pollux's IPv6 peers fit the path MTU
  drop_ipv6_bad_source,        // multicast, loopback, unspecified (but for DAD) or our own
  drop_ipv6_not_for_us,        // not our address, our solicited-node group or all-nodes
  drop_ipv6_unknown_protocol,  // neither ICMPv6 nor TCP
  drop_ipv6_tcp_wrong_lcore,   // IPv6 TCP segment (or Packet Too Big) for another lcore, no mesh
  ipv6_tcp_passed_to_owner,    // IPv6 TCP segment passed to the lcore that owns it
  drop_icmpv6_malformed,
  drop_icmpv6_bad_checksum,
  drop_icmpv6_bad_nd,           // NS/NA failing RFC 4861 7.1 (hop limit 255, code, target)
  drop_icmpv6_bad_mld,          // an MLD query not from a link-local router with hop limit 1
  drop_nd_not_our_target,       // a solicitation for an address that is not ours
  icmpv6_echo_requests,
  icmpv6_echo_replies_sent,
  drop_icmpv6_rate_limited,     // echo request over the per-lcore reply budget
  drop_icmpv6_reply_too_big,    // an echo reply above our MTU (IPv6 output does not fragment)
  icmpv6_other_received,
  // RFC 8201 PMTUD: Packet Too Big received (before the TCP layer's RFC 5927 checks, which
  // count drop_tcp_icmp_invalid and tcp_pmtu_updates), refused for its quote (shorter than
  // an IPv6 header and 8 bytes of TCP, not TCP, or not from one of our addresses), and
  // passed to the lcore owning the quoted connection.
  icmpv6_packet_too_big_received,
  drop_icmpv6_bad_quote,
  icmpv6_too_big_passed_to_owner,
  nd_solicitations_received,    // for one of our addresses
  nd_advertisements_sent,       // answers, and the unsolicited ones at start (RFC 4861 7.2.6)
  nd_advertisements_received,
  nd_duplicate_address,         // another node advertises or probes (DAD) one of our addresses
  nd_solicitations_sent,        // resolutions (multicast) and re-validations (unicast probes)
  nd_cache_full,                // no entry could be made or evicted for a new neighbour
  drop_nd_pending_overflow,     // more packets queued for an unresolved neighbour than allowed
  drop_nd_pending_total,        // NdConfig::max_pending_total packets held over all neighbours
  drop_nd_new_entry_rate_limited,  // a packet to a new neighbour over the new-entry budget
  drop_nd_unresolved,           // packets dropped because their neighbour never answered
  nd_mac_changed,               // a neighbour's link-layer address was replaced
  nd_update_refused,            // a different address without override (RFC 4861 7.2.5)
  drop_nd_tentative_target,     // a solicitation for an address still in DAD (RFC 4862 5.4.3)
  drop_nd_looped,               // our own solicitation or advertisement came back to us
  nd_dad_probes_sent,           // duplicate address detection probes (RFC 4862 5.4.2)
  nd_dad_duplicate,             // an address of ours found in use during DAD: never used
  mld_reports_sent,             // MLDv2 reports of our groups (RFC 3810 6), joins and answers
  mld_queries_received,         // MLD queries from a router, general or for a group of ours
  // TCP (this layer only validates; the protocol lives in lib/tcp).
  drop_tcp_malformed,  // truncated or bad data offset
  drop_tcp_bad_checksum,
  drop_tcp_bad_options,
  drop_tcp_bad_ports,         // source or destination port 0
  drop_tcp_bad_flags,         // SYN with FIN or RST: no stack sends them; scans and evasion do
  drop_tcp_rst_to_closed,     // a RST for no connection is dropped silently (RFC 9293 3.10.7.1)
  drop_tcp_rst_unacceptable,  // RST failing RFC 9293 3.10.7.3/3.10.7.4 (RFC 5961 3.2) checks
  drop_tcp_rst_rate_limited,  // a closed port's RST not sent: over the per-lcore budget
  tcp_rst_sent,
  tcp_active_opens,        // connect() sent a SYN
  tcp_passive_opens,       // a listener answered a SYN
  tcp_attempt_fails,       // active opens refused or timed out
  tcp_established_resets,  // RST received in a synchronized state
  tcp_segs_in,
  tcp_segs_out,    // segments on the wire: a TSO frame counts as the segments it is cut into
  // Header prediction (RFC 9293 3.10.7.4's common cases, tcp/fast_path.cpp): segments that
  // took the short path, as pure ACKs of new data and as in-order data.
  tcp_fast_path_acks,
  tcp_fast_path_data,
  tcp_tso_frames,  // TSO frames sent (issue 13 item 2)
  // TSO frames cut into segments by the engine, not the device, on a port whose device TSO
  // cannot be used (net_tap; engine/tso_cut.hpp, drivers-glue/port.cpp)
  tcp_tso_software_cuts,
  // GRO (issue 13 item 3, engine/gro.hpp): frames made of two or more received segments,
  // and the segments that were appended to another (so a frame of k counts k - 1)
  gro_frames,
  gro_segments_merged,
  tcp_retrans_segs,
  // tcp_retrans_segs by what sent them (issue 13: retransmissions on a lossless link are
  // reported with their cause): the retransmission timeout (RFC 6298 5.4, go-back-N or
  // RFC 6675 5.1), a tail loss probe resending the last segment (RFC 8985 7.3), loss
  // recovery (fast retransmit, SACK recovery with RACK's verdicts: RFC 6675, RFC 8985 6),
  // SYN and SYN-ACK retries, and the rest (window probes, a FIN resent alone).
  tcp_retrans_rto,
  tcp_retrans_tlp,
  tcp_retrans_recovery,
  tcp_retrans_syn,
  tcp_retrans_synack,
  tcp_retrans_other,
  tcp_timeouts,  // retransmission timer expiries
  tcp_fast_retransmits,
  tcp_dsacks_received,                  // RFC 2883 duplicate reports from peers
  tcp_spurious_undos,                   // congestion reductions undone (Eifel / D-SACK)
  tcp_spurious_retrans,                 // retransmissions a D-SACK proved unnecessary (RFC 2883 4)
  tcp_rack_lost,                        // RFC 8985: RACK loss verdicts (first transmissions)
  tcp_rack_lost_retransmits,            // RFC 8985: retransmissions RACK found lost and resent
  tcp_rack_reorder_timeouts,            // RFC 8985 6.2: reordering timer expiries
  tcp_tlp_probes,                       // RFC 8985 7: tail loss probes sent
  tcp_tlp_recoveries,                   // RFC 8985 7.4: losses a probe repaired (cwnd reduced)
  tcp_ofo_queued,                       // segments queued out of order
  tcp_challenge_acks,                   // RFC 5961
  drop_tcp_challenge_ack_rate_limited,  // RFC 5961 7: over the per-lcore budget, not sent
  tcp_zero_window_probes,
  tcp_keepalive_probes,
  tcp_delayed_acks,
  tcp_pmtu_updates,
  // The per-destination path MTU cache (tcp/path_mtu_cache.hpp): a believed report stored
  // for its destination, a connection that opened with a stored MTU's smaller MSS, and a
  // destination's entry evicted for another's while still valid (the cache is full).
  tcp_pmtu_cache_learnt,
  tcp_pmtu_cache_hits,
  tcp_pmtu_cache_evictions,
  tcp_time_wait_recycled,  // RFC 6191 / timestamp-protected reuse of a TIME-WAIT tuple
  tcp_time_wait_evicted,   // the TIME-WAIT store was full: its oldest record dropped early
  tcp_no_ephemeral_port,   // connect() found no ephemeral port (TcpError::no_ephemeral_port)
  // Of those, the ones that walked the whole range; the rest failed at once, nothing having
  // freed a port of that destination since its last walk (RFC 6056 3.3.3, issue 14).
  tcp_ephemeral_range_walks,
  drop_tcp_paws,           // RFC 7323 5.3: old timestamp
  drop_tcp_out_of_window,  // not acceptable (RFC 9293 3.10.7.4), answered with an ACK
  drop_tcp_ack_unsent,     // acknowledges data never sent, answered with an ACK
  drop_tcp_backlog_full,   // SYN dropped: SYN-RECEIVED limit reached and cookies off
  drop_tcp_syn_filtered,   // passive open refused by the SYN filter (--allow/--deny, pollux-gen)
  syn_cookies_sent,        // SYN answered with a cookie SYN-ACK (RFC 4987 3.6)
  syn_cookies_accepted,    // ACK whose cookie was valid: a connection made from it
  syn_cookies_rejected,    // ACK to a listener sending cookies, with an invalid cookie
  drop_tcp_table_full,     // SYN dropped: connection table full
  drop_tcp_ofo_no_queue,   // out-of-order segment dropped: no reassembly queue free
  drop_tcp_ofo_limit,      // out-of-order segment dropped: reassembly limits
  // SACK blocks ignored because they report octets never sent (past SND.MAX; RFC 2018 3,
  // RFC 6675 5.1), as Linux's tcp_is_sackblock_valid() ignores them; the ACK is processed.
  drop_tcp_sack_block_invalid,
  // Receive memory (issue 14 item 2): mbufs held by receive and reassembly queues are
  // budgeted per lcore (TcpConfig::rcv_mbuf_budget), so that no peer pins the pool.
  drop_tcp_ofo_pruned,  // out-of-order mbufs freed under memory pressure (the peer resends)
  drop_tcp_rcv_memory,  // segment dropped: the lcore's budget, or the connection's share, spent
  tcp_rcv_collapsed,    // small in-order segments copied into the receive queue's last mbuf
  // Send memory (issue 14 item 2): send() took less than it was given (or nothing) because
  // the lcore's send budget, or the connection's share of it under pressure, was spent (or
  // the pool was empty). Nothing queued is dropped; the app is told `writable` later.
  tcp_snd_memory_refused,
  // Nothing held forever (issue 14 item 3).
  tcp_user_timeouts,      // RFC 9293 3.8.3 USER TIMEOUT: no progress (zero window included)
  tcp_orphan_timeouts,    // closed by the app, stuck in FIN-WAIT-1/CLOSING/LAST-ACK: ended
  drop_tcp_source_limit,  // passive open refused: the source holds max_conns_per_source
  drop_tcp_no_mbuf,       // a segment could not be built (pool empty); timers retry
  drop_tcp_icmp_invalid,  // ICMP quoting a sequence number we never sent (RFC 5927)
  // Memory per connection (issue 13 item 5): a connection wanted a cold block (SACK
  // scoreboard, RACK send-time log) and the pool had none; it works on without them.
  tcp_cold_unavailable,
  // A loss episode found the undo-record pool empty, or had no event-count record to hold
  // the undo record's pointer (that pool empty too): its reduction cannot be undone.
  tcp_undo_unavailable,
  // An event of a connection (a retransmission, a timeout, a D-SACK, a probe, a RACK loss)
  // found the event-count pool empty (TcpConfig::event_counts): its ConnInfo misses it.
  tcp_event_counts_unavailable,
  // The table of option sets (TcpConfig::option_sets) was full: a connect() or listen()
  // failed (TcpError::options_full) or a setter was refused (it returned false).
  tcp_option_sets_full,
  // The table of (events, ctx) pairs (TcpConfig::app_bindings) was full: a connect() or
  // listen() with a pair unlike every live one failed (TcpError::apps_full).
  tcp_app_bindings_full,
  // Resources.
  drop_no_mbuf,      // mempool empty: the reply or request was not sent
  drop_tx_full,      // the TX batch overflowed before the flush
  drop_tx_oversize,  // a frame above the MTU reached the TX batch (a bug, never sent)
  count_             // not a counter
};

inline constexpr size_t kCounterCount = static_cast<size_t>(Counter::count_);

inline constexpr std::array<std::string_view, kCounterCount> kCounterNames = {
    "rx_packets",
    "rx_bytes",
    "tx_packets",
    "tx_bytes",
    "drop_short_frame",
    "drop_unlinearizable",
    "drop_not_our_mac",
    "drop_vlan_tagged",
    "drop_ipv6",
    "drop_bad_ether_type",
    "drop_arp_malformed",
    "drop_arp_not_for_us",
    "drop_arp_bad_sender",
    "arp_requests_received",
    "arp_replies_received",
    "arp_replies_sent",
    "arp_requests_sent",
    "arp_gratuitous_sent",
    "arp_cache_full",
    "arp_resolve_failed",
    "drop_arp_pending_overflow",
    "drop_arp_pending_total",
    "arp_mac_changed",
    "arp_update_refused",
    "drop_arp_new_entry_rate_limited",
    "drop_arp_unresolved",
    "neighbour_sync_sent",
    "neighbour_sync_received",
    "neighbour_sync_overflow",
    "steered_out",
    "steered_in",
    "drop_steer_ring_full",
    "drop_ip_truncated",
    "drop_ip_bad_version",
    "drop_ip_bad_header_length",
    "drop_ip_bad_total_length",
    "drop_ip_bad_checksum",
    "drop_ip_bad_source",
    "drop_ip_land",
    "drop_ip_not_for_us",
    "drop_ip_fragment",
    "ip_reasm_fragments",
    "ip_reasm_datagrams",
    "drop_ip_reasm_duplicate",
    "drop_ip_reasm_overlap",
    "drop_ip_reasm_bad_length",
    "drop_ip_reasm_too_long",
    "drop_ip_reasm_oversize",
    "drop_ip_reasm_last_conflict",
    "drop_ip_reasm_after_error",
    "drop_ip_reasm_table_full",
    "drop_ip_reasm_no_memory",
    "drop_ip_reasm_timeout",
    "drop_ip_reasm_wrong_lcore",
    "ip_reasm_passed_to_owner",
    "icmp_time_exceeded_sent",
    "icmp_errors_rate_limited",
    "ip_fragments_created",
    "drop_ip_unknown_protocol",
    "drop_no_route",
    "drop_icmp_malformed",
    "drop_icmp_bad_checksum",
    "icmp_echo_requests",
    "icmp_echo_replies_sent",
    "icmp_frag_needed_received",
    "drop_icmp_bad_quote",
    "icmp_frag_needed_passed_to_owner",
    "drop_icmp_frag_needed_wrong_lcore",
    "icmp_other_received",
    "drop_icmp_rate_limited",
    "drop_ipv6_malformed",
    "drop_ipv6_routing_type0",
    "drop_ipv6_fragment",
    "drop_ipv6_bad_source",
    "drop_ipv6_not_for_us",
    "drop_ipv6_unknown_protocol",
    "drop_ipv6_tcp_wrong_lcore",
    "ipv6_tcp_passed_to_owner",
    "drop_icmpv6_malformed",
    "drop_icmpv6_bad_checksum",
    "drop_icmpv6_bad_nd",
    "drop_icmpv6_bad_mld",
    "drop_nd_not_our_target",
    "icmpv6_echo_requests",
    "icmpv6_echo_replies_sent",
    "drop_icmpv6_rate_limited",
    "drop_icmpv6_reply_too_big",
    "icmpv6_other_received",
    "icmpv6_packet_too_big_received",
    "drop_icmpv6_bad_quote",
    "icmpv6_too_big_passed_to_owner",
    "nd_solicitations_received",
    "nd_advertisements_sent",
    "nd_advertisements_received",
    "nd_duplicate_address",
    "nd_solicitations_sent",
    "nd_cache_full",
    "drop_nd_pending_overflow",
    "drop_nd_pending_total",
    "drop_nd_new_entry_rate_limited",
    "drop_nd_unresolved",
    "nd_mac_changed",
    "nd_update_refused",
    "drop_nd_tentative_target",
    "drop_nd_looped",
    "nd_dad_probes_sent",
    "nd_dad_duplicate",
    "mld_reports_sent",
    "mld_queries_received",
    "drop_tcp_malformed",
    "drop_tcp_bad_checksum",
    "drop_tcp_bad_options",
    "drop_tcp_bad_ports",
    "drop_tcp_bad_flags",
    "drop_tcp_rst_to_closed",
    "drop_tcp_rst_unacceptable",
    "drop_tcp_rst_rate_limited",
    "tcp_rst_sent",
    "tcp_active_opens",
    "tcp_passive_opens",
    "tcp_attempt_fails",
    "tcp_established_resets",
    "tcp_segs_in",
    "tcp_segs_out",
    "tcp_fast_path_acks",
    "tcp_fast_path_data",
    "tcp_tso_frames",
    "tcp_tso_software_cuts",
    "gro_frames",
    "gro_segments_merged",
    "tcp_retrans_segs",
    "tcp_retrans_rto",
    "tcp_retrans_tlp",
    "tcp_retrans_recovery",
    "tcp_retrans_syn",
    "tcp_retrans_synack",
    "tcp_retrans_other",
    "tcp_timeouts",
    "tcp_fast_retransmits",
    "tcp_dsacks_received",
    "tcp_spurious_undos",
    "tcp_spurious_retrans",
    "tcp_rack_lost",
    "tcp_rack_lost_retransmits",
    "tcp_rack_reorder_timeouts",
    "tcp_tlp_probes",
    "tcp_tlp_recoveries",
    "tcp_ofo_queued",
    "tcp_challenge_acks",
    "drop_tcp_challenge_ack_rate_limited",
    "tcp_zero_window_probes",
    "tcp_keepalive_probes",
    "tcp_delayed_acks",
    "tcp_pmtu_updates",
    "tcp_pmtu_cache_learnt",
    "tcp_pmtu_cache_hits",
    "tcp_pmtu_cache_evictions",
    "tcp_time_wait_recycled",
    "tcp_time_wait_evicted",
    "tcp_no_ephemeral_port",
    "tcp_ephemeral_range_walks",
    "drop_tcp_paws",
    "drop_tcp_out_of_window",
    "drop_tcp_ack_unsent",
    "drop_tcp_backlog_full",
    "drop_tcp_syn_filtered",
    "syn_cookies_sent",
    "syn_cookies_accepted",
    "syn_cookies_rejected",
    "drop_tcp_table_full",
    "drop_tcp_ofo_no_queue",
    "drop_tcp_ofo_limit",
    "drop_tcp_sack_block_invalid",
    "drop_tcp_ofo_pruned",
    "drop_tcp_rcv_memory",
    "tcp_rcv_collapsed",
    "tcp_snd_memory_refused",
    "tcp_user_timeouts",
    "tcp_orphan_timeouts",
    "drop_tcp_source_limit",
    "drop_tcp_no_mbuf",
    "drop_tcp_icmp_invalid",
    "tcp_cold_unavailable",
    "tcp_undo_unavailable",
    "tcp_event_counts_unavailable",
    "tcp_option_sets_full",
    "tcp_app_bindings_full",
    "drop_no_mbuf",
    "drop_tx_full",
    "drop_tx_oversize",
};

[[nodiscard]] constexpr std::string_view counter_name(Counter c) {
  return kCounterNames[static_cast<size_t>(c)];
}

// True for counters whose name starts with "drop_": summed into the "dropped" total.
[[nodiscard]] constexpr bool is_drop_counter(Counter c) {
  return counter_name(c).starts_with("drop_");
}

}  // namespace pollux
