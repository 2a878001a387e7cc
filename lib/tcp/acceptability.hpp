// RFC 9293 3.10.7.4's first check, the segment acceptability test, shared by the synchronized
// states (input_synchronized.cpp) and TIME-WAIT records (time_wait.cpp).
#pragma once

#include <cstdint>

#include "net/seq.hpp"

namespace pollux::tcp {

// Whether a segment occupying `seg_len` sequence numbers from `seq` is acceptable to a
// receive window of `rcv_wnd` octets from `rcv_nxt`. The table's four cases: an empty segment
// must sit at RCV.NXT in a zero window, or inside an open one; a non-empty segment is never
// acceptable in a zero window, and otherwise needs its first or its last octet inside. One
// rule beside the table: an empty segment at RCV.NXT is always acceptable, so that a zero
// window never blocks the ACKs that would open it.
[[nodiscard]] constexpr bool segment_acceptable(net::Seq rcv_nxt, uint32_t rcv_wnd, net::Seq seq,
                                                uint32_t seg_len) {
  if (seg_len == 0)
    return seq == rcv_nxt || (rcv_wnd != 0 && net::seq_in_range(rcv_nxt, seq, rcv_nxt + rcv_wnd));
  return rcv_wnd != 0 && (net::seq_in_range(rcv_nxt, seq, rcv_nxt + rcv_wnd) ||
                          net::seq_in_range(rcv_nxt, seq + (seg_len - 1), rcv_nxt + rcv_wnd));
}

}  // namespace pollux::tcp
