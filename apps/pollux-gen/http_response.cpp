#include "http_response.hpp"

#include <algorithm>
#include <cctype>
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
// tchar (RFC 9110 5.6.2): ALPHA, DIGIT or one of !#$%&'*+-.^_`|~.
constexpr bool is_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
}  // namespace

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
      // HTTP-version SP status-code SP [reason-phrase]  (RFC 9112 4)
      if (l.size() < 12 || l.substr(0, 7) != "HTTP/1." || (l[7] != '0' && l[7] != '1') ||
          l[8] != ' ' || !std::isdigit(static_cast<unsigned char>(l[9])) ||
          !std::isdigit(static_cast<unsigned char>(l[10])) ||
          !std::isdigit(static_cast<unsigned char>(l[11])) || (l.size() > 12 && l[12] != ' ')) {
        state_ = State::failed;
        return RespResult::bad;
      }
      status_ = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
      if (status_ < 100) {
        state_ = State::failed;
        return RespResult::bad;
      }
      http10_ = l[7] == '0';
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
  const size_t colon = l.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const std::string_view name = l.substr(0, colon);
  for (char c : name)
    if (!is_tchar(c)) return false;  // no whitespace before the colon (RFC 9112 5.1)
  const std::string_view value = trim(l.substr(colon + 1));
  if (iequals(name, "content-length")) {
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (value.empty() || ec != std::errc{} || end != value.data() + value.size()) return false;
    if (have_length_ && n != length_) return false;  // conflicting lengths (RFC 9112 6.3)
    have_length_ = true;
    length_ = n;
  } else if (iequals(name, "transfer-encoding")) {
    // Chunked must be the final coding; anything else means "read until close".
    const size_t comma = value.rfind(',');
    chunked_ =
        iequals(trim(comma == std::string_view::npos ? value : value.substr(comma + 1)), "chunked");
    if (!chunked_) have_length_ = false;
  } else if (iequals(name, "connection")) {
    if (list_has(value, "close"))
      keep_alive_ = false;
    else if (list_has(value, "keep-alive"))
      keep_alive_ = true;
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
