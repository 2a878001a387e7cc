// GRO: receive coalescing in software for devices without LRO (net_tap, af_packet; issue 13
// item 3). Within one RX burst, a run of consecutive frames carrying in-order segments of
// one connection becomes one frame -- the first segment's headers, the others' payloads
// chained after it -- as a NIC's LRO (or Linux's GRO) would hand it over, so that TCP
// processes the run once and answers it with one ACK (receive_data.cpp counts such a frame
// as the full-sized segments it holds for RFC 5681 4.2's every-second-segment rule).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "base/counters.hpp"
#include "engine/interface.hpp"

namespace pollux::engine {

// The largest payload a coalesced frame takes: an IPv4 datagram's 65535 octets less the
// headers with the largest TCP options (as tcp::kTsoMaxPayload for TSO frames). IPv6 uses
// the same bound (its payload length field would allow 20 octets more).
inline constexpr uint32_t kGroMaxPayload = 0xffff - 20 - 60;

// Coalesces runs in pkts[0, n) in place and returns how many frames remain (their order
// kept). Merged: only TCP segments with payload over IPv4 (no options, not a fragment) or
// IPv6 (TCP right after the 40-octet header, no extension header), flags ACK (PSH allowed
// on a run's last segment, which ends the run), the same addresses and ports, IP fields
// (IPv4 TOS, TTL, DF; IPv6 traffic class, flow label, hop limit), ACK number, window and
// option bytes (so one TSval: RFC 7323's checks hold for the run), each starting where the
// one before ended, each in one buffer with checksums known good (the device's verdict
// where `o` has RX checksum offload, else verified here). Anything else is left as it is,
// for the engine's usual checks and counters. A merged frame has its IPv4 total length and
// header checksum (or its IPv6 payload length) redone, PSH if its last segment had it,
// RTE_MBUF_F_RX_LRO with tso_segsz = its largest segment's payload length, and the RX
// checksum flags GOOD (its TCP checksum field is the first segment's: the engine trusts the
// flags of a frame GRO made, checksum_offload.cpp).
[[nodiscard]] uint16_t gro_merge(rte_mbuf** pkts, uint16_t n, const Offloads& o,
                                 base::Counters& counters);

}  // namespace pollux::engine
