#include "http_response.hpp"

#include "../common/http_scan.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <string_view>

namespace pollux::apps::http {

namespace {
// ASCII case folding, as field names are compared (RFC 9110 5.1): what std::tolower does in
// the "C" locale, without a call per character.
constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}
// Inlined: most calls compare names of different lengths and end at the first test (the
// release build kept these out of line: ~15 calls per response, issue 13 item 4).
[[gnu::always_inline]] inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}
// A field name (tchars only: field_line checked it) against `lower`, a name of at least 8
// lowercase letters and '-', regardless of case, eight bytes a step (issue 13: per byte this
// was ~16 instructions of every response's Content-Length). Setting 0x20 in each byte folds
// A-Z onto a-z and leaves '-' alone; of the 256 byte values only a letter's two cases fold
// onto it, and only '-' and CR onto '-', and CR is no tchar: equal words are equal names.
[[gnu::always_inline]] inline bool name_is(std::string_view name, std::string_view lower) {
  if (name.size() != lower.size()) return false;
  constexpr uint64_t kFold = 0x2020202020202020ull;
  const auto word = [](const char* p) {
    uint64_t w;
    std::memcpy(&w, p, sizeof w);
    return w;
  };
  // Whole words, then the last eight bytes (overlapping the previous word when the size is
  // not a multiple of 8).
  for (size_t i = 0; i + 8 < name.size(); i += 8)
    if ((word(name.data() + i) | kFold) != word(lower.data() + i)) return false;
  const size_t last = name.size() - 8;
  return (word(name.data() + last) | kFold) == word(lower.data() + last);
}
[[gnu::always_inline]] inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
// A comma-separated list contains `token` (case-insensitive), as in Connection: a, close.
bool list_has(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    if (iequals(trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}
constexpr bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// What both readers make of a line, so that the fast path and ResponseParser agree by
// construction where both read (tests/unit/apps/gen_test.cpp checks it anyway).

// status-line = HTTP-version SP status-code SP [reason-phrase] (RFC 9112 4), without its CRLF:
// the status (100..999), or 0 when it is not one. The reason phrase is not read.
int status_line(std::string_view l, bool& http10) {
  if (l.size() < 12 || l.substr(0, 7) != "HTTP/1." || (l[7] != '0' && l[7] != '1') || l[8] != ' ' ||
      !is_digit(l[9]) || !is_digit(l[10]) || !is_digit(l[11]) || (l.size() > 12 && l[12] != ' '))
    return 0;
  const int status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
  http10 = l[7] == '0';
  return status < 100 ? 0 : status;
}
// field-line = field-name ":" OWS field-value OWS (RFC 9112 5), without its CRLF: false when
// it is not one (no colon, an empty name, a name with a non-tchar such as whitespace before
// the colon, RFC 9112 5.1).
// One pass: ':' is no tchar, so the name runs to the first byte that is not one, which must be
// the first colon. The name is scanned eight bytes a step (skip_field_name: ~4 instructions a
// byte of the response's names one at a time, issue 13). Inlined into its two readers: a
// call per field line (four a response) cost more than the scan saved.
[[gnu::always_inline]] inline bool field_line(std::string_view l, std::string_view& name,
                                              std::string_view& value) {
  const auto* p = reinterpret_cast<const uint8_t*>(l.data());
  const auto colon = static_cast<size_t>(skip_field_name(p, p + l.size()) - p);
  if (colon == 0 || colon == l.size() || l[colon] != ':') return false;
  name = l.substr(0, colon);
  value = trim(l.substr(colon + 1));
  return true;
}
// Content-Length = 1*DIGIT (RFC 9110 8.6); false when it is not one or contradicts an earlier
// one (RFC 9112 6.3).
bool content_length(std::string_view value, bool& have_length, uint64_t& length) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || ec != std::errc{} || end != value.data() + value.size()) return false;
  if (have_length && n != length) return false;
  have_length = true;
  length = n;
  return true;
}
// Connection's options (RFC 9110 7.6.1): close ends persistence, keep-alive (HTTP/1.0's)
// keeps it; one field that names both closes.
void connection_options(std::string_view value, bool& keep_alive) {
  if (list_has(value, "close"))
    keep_alive = false;
  else if (list_has(value, "keep-alive"))
    keep_alive = true;
}

// The line that starts at p and ends in CRLF within [p, end), at most kMaxLine bytes before
// its LF as ResponseParser allows: its bytes without the CRLF, and p moved past it; false
// (p unchanged) when there is none whole here or it ends in a bare LF.
bool crlf_line(const char*& p, const char* end, std::string_view& line) {
  const auto* lf = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
  if (lf == nullptr || lf == p || lf[-1] != '\r' ||
      static_cast<size_t>(lf - p) > ResponseParser::kMaxLine)
    return false;
  line = {p, static_cast<size_t>(lf - 1 - p)};
  p = lf + 1;
  return true;
}
}  // namespace

bool parse_whole_response(std::span<const uint8_t> in, WholeResponse& out, size_t& consumed) {
  const auto* const begin = reinterpret_cast<const char*>(in.data());
  const char* const end = begin + in.size();
  const char* p = begin;
  std::string_view line;
  bool http10 = false;
  if (!crlf_line(p, end, line)) return false;
  const int status = status_line(line, http10);
  if (status < 200) return false;  // malformed, or interim (1xx, 101): the parser's
  bool keep_alive = !http10;       // HTTP/1.1 persists unless told (RFC 9112 9.3)
  bool have_length = false;
  uint64_t length = 0;
  for (;;) {
    if (!crlf_line(p, end, line)) return false;
    if (line.empty()) break;  // the end of the head
    std::string_view name, value;
    if (!field_line(line, name, value)) return false;
    // Only three names matter; their lengths tell most fields apart in one compare (name_is).
    if (name_is(name, "content-length")) {
      if (!content_length(value, have_length, length)) return false;
    } else if (name_is(name, "transfer-encoding")) {
      return false;  // chunked, or a coding that runs to the close: the parser's
    } else if (name_is(name, "connection")) {
      connection_options(value, keep_alive);
    }
  }
  // Message body length, RFC 9112 6.3: none for 204 and 304 whatever the fields say; without
  // a Content-Length it runs to the close (the parser's).
  if (status == 204 || status == 304)
    length = 0;
  else if (!have_length || length > static_cast<uint64_t>(end - p))
    return false;
  consumed = static_cast<size_t>(p - begin) + static_cast<size_t>(length);
  out = WholeResponse{length, status, keep_alive};
  return true;
}

void ResponseParser::reset() {
  state_ = State::status_line;
  line_.clear();
  status_ = 0;
  http10_ = false;
  keep_alive_ = true;
  chunked_ = have_length_ = false;
  length_ = left_ = body_bytes_ = 0;
}

RespResult ResponseParser::feed(std::span<const uint8_t> in, size_t& consumed) {
  consumed = 0;
  while (consumed < in.size()) {
    switch (state_) {
      case State::done:
        return RespResult::complete;
      case State::failed:
        return RespResult::bad;
      case State::body_length:
      case State::chunk_data:
      case State::body_until_close: {
        const uint64_t take = state_ == State::body_until_close
                                  ? in.size() - consumed
                                  : std::min<uint64_t>(left_, in.size() - consumed);
        consumed += static_cast<size_t>(take);
        body_bytes_ += take;
        if (state_ == State::body_until_close) break;
        left_ -= take;
        if (left_ == 0) {
          if (state_ == State::body_length) {
            state_ = State::done;
            return RespResult::complete;
          }
          state_ = State::chunk_data_crlf;
        }
        break;
      }
      default: {
        // Line-oriented states: up to LF. A line whole in this span is read where it lies;
        // only a line split across spans is collected in line_ (issue 13 item 4: the
        // generator spent more on copying its responses byte by byte than TCP on them).
        const auto* start = reinterpret_cast<const char*>(in.data() + consumed);
        const size_t avail = in.size() - consumed;
        const auto* lf = static_cast<const char*>(std::memchr(start, '\n', avail));
        const size_t len = lf ? static_cast<size_t>(lf - start) : avail;
        if (line_.size() + len > kMaxLine) {
          consumed += kMaxLine - line_.size() + 1;  // the byte that overflowed
          state_ = State::failed;
          return RespResult::bad;
        }
        if (!lf) {
          line_.append(start, len);
          consumed += len;
          break;
        }
        consumed += len + 1;
        std::string_view l{start, len};
        if (!line_.empty()) {
          line_.append(start, len);
          l = line_;
        }
        if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        const RespResult r = line_done(l);
        line_.clear();
        if (r != RespResult::need_more) return r;
      }
    }
  }
  return state_ == State::done ? RespResult::complete : RespResult::need_more;
}

RespResult ResponseParser::eof() {
  if (state_ == State::body_until_close || state_ == State::done) {
    state_ = State::done;
    return RespResult::complete;
  }
  state_ = State::failed;
  return RespResult::bad;
}

RespResult ResponseParser::line_done(std::string_view l) {
  switch (state_) {
    case State::status_line: {
      status_ = status_line(l, http10_);
      if (status_ == 0) {
        state_ = State::failed;
        return RespResult::bad;
      }
      keep_alive_ = !http10_;
      state_ = State::header;
      return RespResult::need_more;
    }
    case State::header:
      if (l.empty()) {
        end_of_head();
        if (state_ == State::done) return RespResult::complete;
        return RespResult::need_more;
      }
      if (!header_field(l)) {
        state_ = State::failed;
        return RespResult::bad;
      }
      return RespResult::need_more;
    case State::chunk_size: {
      // chunk-size [ chunk-ext ] (RFC 9112 7.1)
      std::string_view hex = l.substr(0, l.find(';'));
      hex = trim(hex);
      uint64_t size = 0;
      auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), size, 16);
      if (hex.empty() || ec != std::errc{} || end != hex.data() + hex.size()) {
        state_ = State::failed;
        return RespResult::bad;
      }
      left_ = size;
      state_ = size == 0 ? State::trailer : State::chunk_data;
      return RespResult::need_more;
    }
    case State::chunk_data_crlf:
      if (!l.empty()) {
        state_ = State::failed;
        return RespResult::bad;
      }
      state_ = State::chunk_size;
      return RespResult::need_more;
    case State::trailer:
      if (l.empty()) {
        state_ = State::done;
        return RespResult::complete;
      }
      return RespResult::need_more;  // trailer fields are read and ignored
    default:
      state_ = State::failed;
      return RespResult::bad;
  }
}

bool ResponseParser::header_field(std::string_view l) {
  std::string_view name, value;
  if (!field_line(l, name, value)) return false;
  if (name_is(name, "content-length")) {
    if (!content_length(value, have_length_, length_)) return false;
  } else if (name_is(name, "transfer-encoding")) {
    // Chunked must be the final coding; anything else means "read until close".
    const size_t comma = value.rfind(',');
    chunked_ =
        iequals(trim(comma == std::string_view::npos ? value : value.substr(comma + 1)), "chunked");
    if (!chunked_) have_length_ = false;
  } else if (name_is(name, "connection")) {
    connection_options(value, keep_alive_);
  }
  return true;
}

void ResponseParser::end_of_head() {
  // Interim 1xx responses (not 101) come before the final one: start over.
  if (status_ >= 100 && status_ < 200 && status_ != 101) {
    const bool ka = keep_alive_;
    reset();
    keep_alive_ = ka;
    return;
  }
  // Message body length, RFC 9112 6.3.
  if (status_ == 204 || status_ == 304 || (status_ >= 100 && status_ < 200)) {
    state_ = State::done;
  } else if (chunked_) {
    state_ = State::chunk_size;
  } else if (have_length_) {
    left_ = length_;
    state_ = length_ == 0 ? State::done : State::body_length;
  } else {
    state_ = State::body_until_close;
    keep_alive_ = false;
  }
}

}  // namespace pollux::apps::http
