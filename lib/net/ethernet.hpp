// Ethernet II framing (IEEE 802.3 with EtherType). 802.1Q tags are recognised so they can be
// counted, not processed: pollux ports are untagged.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "net/bytes.hpp"

namespace pollux::net {

struct MacAddr {
  std::array<uint8_t, 6> bytes{};

  constexpr auto operator<=>(const MacAddr&) const = default;
  [[nodiscard]] static constexpr MacAddr broadcast() {
    return {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
  }
  [[nodiscard]] constexpr bool is_broadcast() const { return *this == broadcast(); }
  [[nodiscard]] constexpr bool is_multicast() const { return (bytes[0] & 1) != 0; }
  [[nodiscard]] constexpr bool is_zero() const { return *this == MacAddr{}; }

  // Whole copies rather than byte loops: two MACs per frame, both ways.
  [[nodiscard]] static MacAddr load(const uint8_t* p) {
    MacAddr m;
    std::memcpy(m.bytes.data(), p, m.bytes.size());
    return m;
  }
  void store(uint8_t* p) const { std::memcpy(p, bytes.data(), bytes.size()); }
  // "aa:bb:cc:dd:ee:ff" (hex, either case).
  [[nodiscard]] static std::optional<MacAddr> parse(std::string_view text);
  [[nodiscard]] std::string to_string() const;
};

enum class EtherType : uint16_t {
  ipv4 = 0x0800,
  arp = 0x0806,
  vlan = 0x8100,
  ipv6 = 0x86dd,
};

inline constexpr size_t kEthernetHeaderLen = 14;
inline constexpr size_t kEthernetMinFrame = 60;  // without FCS; shorter frames are padded

// A bounds-checked view of an Ethernet II header. Values below 0x0600 in the type field are
// 802.3 lengths (LLC frames), which pollux does not speak.
class EthernetView {
 public:
  [[nodiscard]] static std::optional<EthernetView> parse(Bytes frame) {
    if (frame.size() < kEthernetHeaderLen) return std::nullopt;
    return EthernetView(frame);
  }
  [[nodiscard]] MacAddr dst() const { return MacAddr::load(p_.data()); }
  [[nodiscard]] MacAddr src() const { return MacAddr::load(p_.data() + 6); }
  [[nodiscard]] uint16_t ether_type() const { return load_be16(p_.data() + 12); }
  [[nodiscard]] Bytes payload() const { return p_.subspan(kEthernetHeaderLen); }

 private:
  explicit EthernetView(Bytes p) : p_(p) {}
  Bytes p_;
};

// Writes a 14-byte header at `out` (which must have room) and returns the bytes written.
inline size_t write_ethernet_header(uint8_t* out, const MacAddr& dst, const MacAddr& src,
                                    EtherType type) {
  dst.store(out);
  src.store(out + 6);
  store_be16(out + 12, static_cast<uint16_t>(type));
  return kEthernetHeaderLen;
}

}  // namespace pollux::net
