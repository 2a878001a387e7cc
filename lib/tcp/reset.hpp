// Resets: the one builder of a RST segment. It serves the engine's answer to a segment that
// no connection wants (RFC 9293 3.10.7.1) and a connection's own resets: ABORT (3.10.5), an
// unacceptable ACK in SYN-SENT or SYN-RECEIVED (3.10.7.3, 3.10.7.4), giving up after
// retransmissions or keepalive probes.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "net/four_tuple.hpp"
#include "net/seq.hpp"
#include "net/tcp_header.hpp"

namespace pollux::tcp {

// A RST to send. `tuple` is seen from our side: local is the RST's source.
struct Reset {
  net::FourTuple tuple;
  net::Seq seq;
  net::Seq ack;  // sent (with the ACK flag) only when `with_ack`
  bool with_ack = false;
};

// RFC 9293 3.10.7.1: the reset the sender of `seg` accepts. If the segment had an ACK,
// <SEQ=SEG.ACK><CTL=RST>; otherwise <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. `tuple` is the
// segment's connection from our side. 3.10.7.2-4 answer unacceptable ACKs the same way.
[[nodiscard]] Reset reset_answering(const net::FourTuple& tuple, const net::TcpHeader& seg);

// Writes `r` into `m`, which must be empty (freshly allocated or reset): an Ethernet header
// slot, an IPv4 header with identification `ip_id` (checksum field zero: the engine's
// ip_output fills in both checksums or leaves them to the NIC), a TCP header without
// options. False when `m` has no room for the frame.
[[nodiscard]] bool write_reset(rte_mbuf* m, const Reset& r, uint16_t ip_id);

}  // namespace pollux::tcp
