// The exact software cut of a TSO frame into the segments a device makes of it: for ports
// whose device TSO cannot be used (net_tap), and for --pcap, which writes the wire's segments.
// A TSO frame (RTE_MBUF_F_TX_TCP_SEG, tso_segsz) is Ethernet + IPv4 or IPv6 (no extension
// headers: pollux sends none) + TCP headers in its first mbuf and up to 64 KB of payload
// chained after them (send_segment.cpp).
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstdint>
#include <span>

namespace pollux::engine {

// Cuts a TSO frame into the segments a NIC would send (one mbuf each, headers and payload
// copied): segment k carries SEQ + k * tso_segsz, IP ID + k (IPv4; IPv6 has none outside a
// fragment header), IP total (IPv6: payload) length of its own, and
// the frame's flags, PSH and FIN only on the last (as a NIC and librte_gso do), checksum
// fields zero and no offload requested. Returns how many; 0 when `out` is too small or the
// pool ran dry (nothing allocated is left behind). The frame itself is left to the caller.
[[nodiscard]] uint16_t tso_cut(const rte_mbuf* m, rte_mempool* pool, std::span<rte_mbuf*> out);

}  // namespace pollux::engine
