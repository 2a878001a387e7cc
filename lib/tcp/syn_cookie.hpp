// SYN cookies (RFC 4987 3.6): when a listener's SYN-RECEIVED queue is full, the SYN-ACK's
// initial sequence number carries what the connection needs, and no state is kept until the
// handshake's final ACK returns the number (as SEG.ACK - 1) with the peer's ISN (SEG.SEQ - 1).
//
// The 32-bit cookie, high bits first:
//
//     | T mod 32 (5) | MSS index (3) | MAC (24) |
//
// T counts periods of kPeriodNs since the clock's origin. MAC is the low 24 bits of
// SipHash-2-4 (the RFC 6528 secret, see isn.hpp) over the 4-tuple, the peer's ISN, the full T
// and the MSS index, so that a cookie is bound to one SYN, expires, and cannot be forged
// without the key except by guessing 24 bits. A cookie is valid for kMaxAgePeriods periods
// after the one it was made in (64 to 128 s; a half-open connection without cookies lives
// about as long).
//
// The MSS travels as an index into kMssTable (the largest entry not above the peer's MSS).
// Window scale and SACK-permitted do not fit in 32 bits; when the SYN carries timestamps
// (RFC 7323), they travel in the low bits of our SYN-ACK's TSval and come back in the ACK's
// TSecr:
//
//     TSval low 6 bits: | SACK-permitted (1) | wscale present (1) | peer's shift (4) |
//
// Without timestamps the connection goes on without window scaling and SACK, as RFC 4987 3.6
// notes is the cost of cookies. Nothing here reads a clock or touches a packet.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "net/four_tuple.hpp"
#include "net/seq.hpp"
#include "pollux/tcp.hpp"
#include "tcp/siphash.hpp"

namespace pollux::tcp {

using SynCookieMode = pollux::SynCookieMode;  // pollux/tcp.hpp: when a listener uses them

// Options the peer's SYN offered, as the cookie can carry them back.
struct CookieOptions {
  uint16_t mss = 536;              // RFC 9293 3.7.1 default when the SYN had no MSS option
  std::optional<uint8_t> wscale;   // the peer's shift (RFC 7323 2.3), when offered
  bool sack_permitted = false;     // RFC 2018
};

class SynCookies {
 public:
  // MSS values a cookie can carry: common path MTUs less 40 (IPv4 + TCP headers). Index 0 is
  // RFC 9293's default; a peer offering less than that still gets 536 (RFC 9293 3.7.1 says
  // the sender must not exceed it; a tinier MSS would be the peer's to clamp).
  static constexpr std::array<uint16_t, 8> kMssTable = {536, 1200, 1360, 1400,
                                                        1440, 1452, 1460, 8960};
  static constexpr uint64_t kPeriodNs = 64ull * 1'000'000'000;  // 64 s
  static constexpr uint32_t kMaxAgePeriods = 1;                 // this period and the last

  explicit SynCookies(const SipKey& key) : key_(key) {}

  // The index of the largest table MSS not above `peer_mss` (0 when all are above).
  [[nodiscard]] static uint8_t mss_index(uint16_t peer_mss);

  // Our ISN for a SYN from `tuple` (our point of view) whose sequence number is `peer_isn`.
  [[nodiscard]] net::Seq make(const net::FourTuple& tuple, net::Seq peer_isn, uint16_t peer_mss,
                              uint64_t now_ns) const;

  // Checks the cookie returned by a bare ACK: `cookie` is SEG.ACK - 1, `peer_isn` SEG.SEQ - 1.
  // Returns the MSS it carried, or nothing when the MAC does not match or the cookie has
  // expired (or comes from the future: a T ahead of now).
  [[nodiscard]] std::optional<uint16_t> check(const net::FourTuple& tuple, net::Seq peer_isn,
                                              net::Seq cookie, uint64_t now_ns) const;

  // The TSval of a cookie SYN-ACK: `tsval` (what the connection would send now) with its low
  // six bits replaced by the options, and moved back by 64 when that would put it ahead of
  // `tsval`, so that the connection's later TSvals never go backwards (RFC 7323 5.4).
  [[nodiscard]] static uint32_t encode_ts(uint32_t tsval, const CookieOptions& o);
  // Recovers window scale and SACK-permitted from the TSecr of the handshake's ACK.
  static void decode_ts(uint32_t tsecr, CookieOptions& o);

 private:
  [[nodiscard]] uint32_t mac(const net::FourTuple& tuple, net::Seq peer_isn, uint32_t period,
                             uint8_t mss_idx) const;

  SipKey key_;
};

}  // namespace pollux::tcp
