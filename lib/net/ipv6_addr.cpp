#include "net/ipv6_addr.hpp"

#include <cstdio>

#include "net/bytes.hpp"

namespace pollux {

namespace {

// "a.b.c.d", each 0..255 in decimal without leading zeros (RFC 4291 2.2 form 3 uses the
// IPv4 dotted-decimal of RFC 3986's IPv4address).
bool parse_dotted(std::string_view s, uint8_t out[4]) {
  int part = 0;
  size_t i = 0;
  while (part < 4) {
    if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
    unsigned v = 0;
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      v = v * 10 + static_cast<unsigned>(s[i] - '0');
      if (v > 255 || i - start >= 3) return false;
      ++i;
    }
    if (i - start > 1 && s[start] == '0') return false;
    out[part++] = static_cast<uint8_t>(v);
    if (part < 4) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size();
}

}  // namespace

std::optional<Ipv6Addr> Ipv6Addr::parse(std::string_view s) {
  // Groups before and after "::" (at most one), each 1-4 hex digits; the last part may be a
  // dotted IPv4 address worth two groups.
  uint16_t head[8], tail[8];
  size_t nhead = 0, ntail = 0;
  bool compressed = false;
  uint8_t v4[4];
  bool has_v4 = false;
  if (s.empty() || s.size() > 45) return std::nullopt;
  size_t i = 0;
  if (s.substr(0, 2) == "::") {
    compressed = true;
    i = 2;
    if (i == s.size()) return Ipv6Addr{};
  } else if (s[0] == ':') {
    return std::nullopt;
  }
  while (i < s.size()) {
    // One group, or the dotted tail.
    size_t j = i;
    while (j < s.size() && s[j] != ':' && s[j] != '.') ++j;
    if (j < s.size() && s[j] == '.') {
      if (!parse_dotted(s.substr(i), v4)) return std::nullopt;
      has_v4 = true;
      break;
    }
    if (j == i || j - i > 4) return std::nullopt;
    unsigned v = 0;
    for (size_t k = i; k < j; ++k) {
      const int h = net::hex_digit_value(s[k]);
      if (h < 0) return std::nullopt;
      v = v << 4 | static_cast<unsigned>(h);
    }
    uint16_t* dst = compressed ? tail : head;
    size_t& n = compressed ? ntail : nhead;
    if (n == 8) return std::nullopt;
    dst[n++] = static_cast<uint16_t>(v);
    if (j == s.size()) break;
    // s[j] == ':'
    if (j + 1 < s.size() && s[j + 1] == ':') {
      if (compressed) return std::nullopt;  // a second "::"
      compressed = true;
      i = j + 2;
      if (i == s.size()) break;
    } else {
      if (j + 1 == s.size()) return std::nullopt;  // a trailing single ':'
      i = j + 1;
    }
  }
  const size_t groups = nhead + ntail + (has_v4 ? 2 : 0);
  if (compressed ? groups > 7 : groups != 8) return std::nullopt;
  Ipv6Addr a;
  size_t g = 0;
  auto put = [&](uint16_t v) {
    a.bytes[2 * g] = static_cast<uint8_t>(v >> 8);
    a.bytes[2 * g + 1] = static_cast<uint8_t>(v);
    ++g;
  };
  for (size_t k = 0; k < nhead; ++k) put(head[k]);
  if (compressed) g = 8 - ntail - (has_v4 ? 2 : 0);
  for (size_t k = 0; k < ntail; ++k) put(tail[k]);
  if (has_v4)
    for (int k = 0; k < 4; ++k) a.bytes[12 + k] = v4[k];
  return a;
}

bool Ipv6Addr::is_loopback() const {
  for (size_t i = 0; i < 15; ++i)
    if (bytes[i] != 0) return false;
  return bytes[15] == 1;
}

bool Ipv6Addr::is_v4_mapped() const {
  for (size_t i = 0; i < 10; ++i)
    if (bytes[i] != 0) return false;
  return bytes[10] == 0xff && bytes[11] == 0xff;
}

bool Ipv6Addr::is_v4_compatible() const {
  for (size_t i = 0; i < 12; ++i)
    if (bytes[i] != 0) return false;
  return !is_unspecified() && !is_loopback();
}

bool Ipv6Addr::is_unicast_peer() const {
  return !is_unspecified() && !is_multicast() && !is_loopback() && !is_v4_mapped() &&
         !is_v4_compatible();
}

std::string Ipv6Addr::to_string() const {
  char buf[64];
  if (is_v4_mapped()) {  // RFC 5952 5
    std::snprintf(buf, sizeof buf, "::ffff:%u.%u.%u.%u", bytes[12], bytes[13], bytes[14],
                  bytes[15]);
    return buf;
  }
  // RFC 5952 4.2: the longest run of zero groups, at least two, the first on a tie.
  size_t best = 8, best_len = 0;
  for (size_t i = 0; i < 8;) {
    if (group(i) != 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < 8 && group(j) == 0) ++j;
    if (j - i > best_len && j - i >= 2) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  std::string out;
  for (size_t i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    std::snprintf(buf, sizeof buf, "%x", group(i));  // RFC 5952 4.1 and 4.3
    out += buf;
  }
  return out;
}

Ipv6Addr Ipv6Addr::solicited_node() const {
  Ipv6Addr m;
  m.bytes[0] = 0xff;
  m.bytes[1] = 0x02;
  m.bytes[11] = 0x01;
  m.bytes[12] = 0xff;
  m.bytes[13] = bytes[13];
  m.bytes[14] = bytes[14];
  m.bytes[15] = bytes[15];
  return m;
}

Ipv6Addr Ipv6Addr::link_local_from_mac(const std::array<uint8_t, 6>& mac) {
  Ipv6Addr a;
  a.bytes[0] = 0xfe;
  a.bytes[1] = 0x80;
  a.bytes[8] = mac[0] ^ 0x02;  // the universal/local bit inverted
  a.bytes[9] = mac[1];
  a.bytes[10] = mac[2];
  a.bytes[11] = 0xff;
  a.bytes[12] = 0xfe;
  a.bytes[13] = mac[3];
  a.bytes[14] = mac[4];
  a.bytes[15] = mac[5];
  return a;
}

std::array<uint8_t, 6> Ipv6Addr::multicast_mac() const {
  return {0x33, 0x33, bytes[12], bytes[13], bytes[14], bytes[15]};
}

std::optional<Ipv6Prefix> Ipv6Prefix::parse(std::string_view text) {
  Ipv6Prefix p;
  const size_t slash = text.find('/');
  auto a = Ipv6Addr::parse(text.substr(0, slash));
  if (!a) return std::nullopt;
  p.addr = *a;
  if (slash != std::string_view::npos) {
    const std::string_view n = text.substr(slash + 1);
    if (n.empty() || n.size() > 3) return std::nullopt;
    unsigned v = 0;
    for (char c : n) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v > 128 || (n.size() > 1 && n[0] == '0')) return std::nullopt;
    p.len = static_cast<uint8_t>(v);
  }
  return p;
}

Ipv6Prefix Ipv6Prefix::network() const {
  Ipv6Prefix n{Ipv6Addr{}, len};
  const size_t full = len / 8;
  for (size_t i = 0; i < full; ++i) n.addr.bytes[i] = addr.bytes[i];
  if (const unsigned rest = len % 8; rest != 0)
    n.addr.bytes[full] = static_cast<uint8_t>(addr.bytes[full] & (0xff << (8 - rest)));
  return n;
}

bool Ipv6Prefix::contains(const Ipv6Addr& a) const {
  const size_t full = len / 8;
  for (size_t i = 0; i < full; ++i)
    if (a.bytes[i] != addr.bytes[i]) return false;
  if (const unsigned rest = len % 8; rest != 0) {
    const auto mask = static_cast<uint8_t>(0xff << (8 - rest));
    if ((a.bytes[full] & mask) != (addr.bytes[full] & mask)) return false;
  }
  return true;
}

std::string Ipv6Prefix::to_string() const {
  return addr.to_string() + "/" + std::to_string(len);
}

}  // namespace pollux
