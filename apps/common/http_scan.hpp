// Byte classes and word-at-a-time scans of HTTP/1.1 text shared by the server's request
// parser (apps/pollux-server/http.cpp) and the generator's response reader
// (apps/pollux-gen/http_response.cpp): one definition of tchar and of the field-name scan.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace pollux::apps::http {

// tchar (RFC 9110 5.6.2): ALPHA, DIGIT or one of !#$%&'*+-.^_`|~ -- the bytes of methods,
// field names and Connection options. A table: one load a byte.
inline constexpr std::array<bool, 256> kTchar = [] {
  std::array<bool, 256> t{};
  for (size_t c = '0'; c <= '9'; ++c) t[c] = true;
  for (size_t c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (size_t c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<uint8_t>(c)] = true;
  return t;
}();
constexpr bool is_tchar(uint8_t c) {
  return kTchar[c];
}

// Word-at-a-time scans (eight bytes a step instead of one): a 64-bit word holds bytes
// p[0..7] with p[0] lowest (x86-64 and every little-endian target).
static_assert(std::endian::native == std::endian::little, "the scans read words little-endian");
inline constexpr uint64_t kOnes = 0x0101010101010101;
inline constexpr uint64_t kHighs = 0x8080808080808080;
inline uint64_t load_word(const uint8_t* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}
// The high bit of each byte of w that is below n (n <= 0x80). Subtracting borrows into a byte
// only from a byte below n, so the lowest flagged byte is always a true one (bytes above it
// may be flagged falsely); the scans only ever use the lowest.
constexpr uint64_t bytes_below(uint64_t w, uint8_t n) {
  return (w - kOnes * n) & ~w & kHighs;
}
// The high bit of each byte of w above n (n < 0x7f): adding carries out of a byte only from
// one at 0x80 or more, itself flagged, so again the lowest flagged byte is a true one.
constexpr uint64_t bytes_above(uint64_t w, uint8_t n) {
  return ((w + kOnes * (0x7f - n)) | w) & kHighs;
}
// The same for the bytes equal to c.
constexpr uint64_t bytes_equal(uint64_t w, uint8_t c) {
  return bytes_below(w ^ (kOnes * c), 1);
}
// The index of the lowest flagged byte of a non-zero mask.
constexpr unsigned first_flagged(uint64_t mask) {
  return static_cast<unsigned>(std::countr_zero(mask)) / 8;
}

// The end of the run of field-name bytes (tchar) from p. Names are mostly letters and '-'
// (Host, User-Agent, Content-Length): those eight at a time, anything else byte by byte.
inline const uint8_t* skip_field_name(const uint8_t* p, const uint8_t* end) {
  while (end - p >= 8) {
    const uint64_t w = load_word(p) | (kOnes * 0x20);  // A-Z to a-z; nothing else becomes one
    const uint64_t stop = bytes_below(w, 'a') | bytes_above(w, 'z');
    if (stop == 0) {
      p += 8;
      continue;
    }
    p += first_flagged(stop);
    if (*p != '-') break;
    ++p;
  }
  while (p < end && is_tchar(*p)) ++p;
  return p;
}

}  // namespace pollux::apps::http
