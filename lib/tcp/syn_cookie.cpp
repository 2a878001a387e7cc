#include "tcp/syn_cookie.hpp"

#include "tcp/isn.hpp"

namespace pollux::tcp {

namespace {
constexpr uint32_t kMacMask = 0x00ffffff;
constexpr uint32_t kPeriodBits = 5;  // T mod 32 in the top bits
constexpr uint32_t kPeriodMask = (1u << kPeriodBits) - 1;
// TSval bits (see the header): bit 5 SACK-permitted, bit 4 wscale present, bits 0-3 shift.
constexpr uint32_t kTsSack = 1u << 5;
constexpr uint32_t kTsWscale = 1u << 4;
constexpr uint32_t kTsShiftMask = 0x0f;
constexpr uint32_t kTsBits = 0x3f;
}  // namespace

uint8_t SynCookies::mss_index(uint16_t peer_mss) {
  uint8_t idx = 0;
  for (uint8_t i = 0; i < kMssTable.size(); ++i)
    if (kMssTable[i] <= peer_mss) idx = i;
  return idx;
}

uint32_t SynCookies::mac(const net::FourTuple& tuple, net::Seq peer_isn, uint32_t period,
                         uint8_t mss_idx) const {
  // The 4-tuple in RFC 6528's layout (isn.hpp: 12 bytes for IPv4, 36 for IPv6), then the
  // peer's ISN, the period and the index, big-endian: 21 or 45 bytes. For IPv4 (what a flood
  // of spoofed SYNs mostly is) the 21 bytes go to SipHash as the words they make, without
  // being laid out: bytes 0-7, bytes 8-15 (the tuple's last 4, the ISN), and 5 bytes left.
  if (tuple.is_v4()) {
    const IsnGenerator::V4Message v = IsnGenerator::v4_message(tuple);
    const std::array<uint64_t, 2> words = {sip_word_of_be(v.head),
                                           sip_word_of_be((uint64_t{v.rest} << 32) | peer_isn.v)};
    const uint64_t tail = __builtin_bswap32(period) | (uint64_t{mss_idx} << 32);
    return static_cast<uint32_t>(siphash24_words(key_, words, tail, 21)) & kMacMask;
  }
  std::array<uint8_t, 45> m{};
  const IsnGenerator::TupleMessage t = IsnGenerator::tuple_message(tuple);
  for (size_t i = 0; i < t.len; ++i) m[i] = t.bytes[i];
  auto put32 = [&m](size_t at, uint32_t v) {
    m[at] = static_cast<uint8_t>(v >> 24);
    m[at + 1] = static_cast<uint8_t>(v >> 16);
    m[at + 2] = static_cast<uint8_t>(v >> 8);
    m[at + 3] = static_cast<uint8_t>(v);
  };
  put32(t.len, peer_isn.v);
  put32(t.len + 4, period);
  m[t.len + 8] = mss_idx;
  return static_cast<uint32_t>(siphash24(key_, std::span<const uint8_t>(m.data(), t.len + 9))) &
         kMacMask;
}

net::Seq SynCookies::make(const net::FourTuple& tuple, net::Seq peer_isn, uint16_t peer_mss,
                          uint64_t now_ns) const {
  const auto period = static_cast<uint32_t>(now_ns / kPeriodNs);
  const uint8_t idx = mss_index(peer_mss);
  return net::Seq(((period & kPeriodMask) << 27) | (uint32_t{idx} << 24) |
                  mac(tuple, peer_isn, period, idx));
}

std::optional<uint16_t> SynCookies::check(const net::FourTuple& tuple, net::Seq peer_isn,
                                          net::Seq cookie, uint64_t now_ns) const {
  const auto now_period = static_cast<uint32_t>(now_ns / kPeriodNs);
  const uint32_t sent_low = cookie.v >> 27;
  // The period the cookie was made in: the latest one not after now whose low bits match.
  const uint32_t age = (now_period - sent_low) & kPeriodMask;
  if (age > kMaxAgePeriods || age > now_period) return std::nullopt;
  const uint32_t period = now_period - age;
  const auto idx = static_cast<uint8_t>((cookie.v >> 24) & 0x7);
  if ((cookie.v & kMacMask) != mac(tuple, peer_isn, period, idx)) return std::nullopt;
  return kMssTable[idx];
}

uint32_t SynCookies::encode_ts(uint32_t tsval, const CookieOptions& o) {
  uint32_t bits = 0;
  if (o.sack_permitted) bits |= kTsSack;
  if (o.wscale) bits |= kTsWscale | (uint32_t{*o.wscale} & kTsShiftMask);
  uint32_t v = (tsval & ~kTsBits) | bits;
  if (static_cast<int32_t>(v - tsval) > 0) v -= kTsBits + 1;
  return v;
}

void SynCookies::decode_ts(uint32_t tsecr, CookieOptions& o) {
  o.sack_permitted = (tsecr & kTsSack) != 0;
  if (tsecr & kTsWscale)
    o.wscale = static_cast<uint8_t>(tsecr & kTsShiftMask);
  else
    o.wscale.reset();
}

}  // namespace pollux::tcp
