// Checksums on mbufs: verification on receive (trusting the NIC's verdict when it gave one)
// and preparation on transmit (either the NIC's pseudo-header seed or the full software
// checksum, which yield the same bytes on the wire).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "engine/interface.hpp"

namespace pollux::engine {

// One's-complement sum of `len` bytes starting `offset` bytes into the (possibly chained)
// mbuf, added to `sum`. Segments may have any length: a segment that starts at an odd
// position of the logical byte stream is summed byte-swapped (RFC 1071 2(B)).
[[nodiscard]] uint32_t mbuf_checksum_accumulate(const rte_mbuf* m, uint32_t offset, uint32_t len,
                                                uint32_t sum = 0);

enum class RxChecksum : uint8_t { good, bad, unknown };

// What the device said about the IPv4 header / L4 checksum of a received packet; `unknown`
// when the offload is off or the device did not look (then software checks).
[[nodiscard]] RxChecksum rx_ip_checksum(const rte_mbuf* m, const Offloads& o);
[[nodiscard]] RxChecksum rx_l4_checksum(const rte_mbuf* m, const Offloads& o);

// For a frame of Ethernet + 20..60-byte IPv4 header + (for TCP) a complete segment, whose
// checksum fields hold zero: sets the IPv4 header checksum and, for TCP, the TCP checksum,
// either in software or by seeding the fields and setting the mbuf's TX offload flags. A TSO
// frame (RTE_MBUF_F_TX_TCP_SEG set by the TCP layer) is always left to the device.
void prepare_tx_checksums(rte_mbuf* m, const Offloads& o);

// Whether a frame's checksums are prepared already: the TCP layer's data segments
// (tcp::prepare_segment_checksums) and any frame through prepare_tx_checksums carry
// RTE_MBUF_F_TX_IPV4 or _IPV6, which a freshly allocated or reset buffer does not. Asked
// only of the TCP layer's frames (Engine::tcp_output): a received buffer may still hold a
// TX flag of its last transmission (a loopback port hands them over as they were).
[[nodiscard]] inline bool tx_checksums_prepared(const rte_mbuf* m) {
  return (m->ol_flags & (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IPV6)) != 0;
}

}  // namespace pollux::engine
