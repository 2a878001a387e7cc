// A SYN-ACK without a TCB: the SYN cookie's answer (RFC 4987 3.6). A listener answering a
// flood with cookies keeps nothing per SYN, so its SYN-ACK is written straight from the SYN,
// as the closed-port RST is (reset.hpp): no scratch connection is set up and torn down for
// every spoofed segment.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "net/four_tuple.hpp"
#include "net/seq.hpp"
#include "net/tcp_options.hpp"

namespace pollux::tcp {

// A SYN-ACK to send. `tuple` is seen from our side: local is the SYN-ACK's source.
struct SynAck {
  net::FourTuple tuple;
  net::Seq seq;             // our ISS (the cookie)
  net::Seq ack;             // the peer's ISN + 1
  uint16_t window = 0;      // RFC 7323 2.2: a SYN's window is never scaled
  net::TcpOptions options;  // MSS, and what the peer's SYN offered that we take up
};

// Writes `s` into `m`, which must be empty (freshly allocated or reset): an Ethernet header
// slot, an IPv4 header with identification `ip_id` (checksum fields zero: the engine's
// ip_output fills in both checksums or leaves them to the NIC), the TCP header and its
// options. The same bytes send_segment() writes for a TCB's SYN-ACK. False when `m` has no
// room for the frame.
[[nodiscard]] bool write_syn_ack(rte_mbuf* m, const SynAck& s, uint16_t ip_id);

}  // namespace pollux::tcp
