// HTTP/1.1 request parsing (RFC 9112 2-6, RFC 9110 5 and 8.6) and response heads. See
// http.hpp for the error statuses and why each was chosen.
#include "http.hpp"

#include "../common/http_scan.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <limits>

namespace pollux::apps::http {
namespace {

constexpr bool is_ows(uint8_t c) {
  return c == ' ' || c == '\t';
}
constexpr bool is_digit(int c) {
  return c >= '0' && c <= '9';
}
constexpr char lower(uint8_t c) {
  return static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
}
// field-value bytes (RFC 9110 5.5): VCHAR, obs-text, and SP/HTAB inside the value. Other
// CTLs (NUL, bare CR, DEL, ...) make the field invalid; we reject rather than replace.
constexpr bool is_field_byte(uint8_t c) {
  return c >= 0x20 ? c != 0x7f : c == '\t';
}
// request-target bytes: the URI forms of RFC 9112 3.2 are all visible ASCII.
constexpr bool is_target_byte(uint8_t c) {
  return c > 0x20 && c < 0x7f;
}

// Counts a byte into a length that only has to tell "fits in N" from "longer than N".
template <size_t N>
void saturating_push(std::array<char, N>& buf, uint8_t& len, char c) {
  if (len < N) buf[len] = c;
  if (len <= N) ++len;
}

// The same classes as tables, for the fast path's scans (one load and one test a byte).
constexpr auto kFieldByte = [] {
  std::array<bool, 256> t{};
  for (size_t c = 0; c < 256; ++c) t[c] = is_field_byte(static_cast<uint8_t>(c));
  return t;
}();
constexpr auto kTargetByte = [] {
  std::array<bool, 256> t{};
  for (size_t c = 0; c < 256; ++c) t[c] = is_target_byte(static_cast<uint8_t>(c));
  return t;
}();

// The end of the run of request-target bytes (is_target_byte: 0x21..0x7e) from p.
const uint8_t* skip_target(const uint8_t* p, const uint8_t* end) {
  while (end - p >= 8) {
    const uint64_t w = load_word(p);
    const uint64_t stop = bytes_below(w, 0x21) | bytes_equal(w, 0x7f) | (w & kHighs);
    if (stop != 0) return p + first_flagged(stop);
    p += 8;
  }
  while (p < end && kTargetByte[*p]) ++p;
  return p;
}

// The end of the run of field-value bytes (is_field_byte) from p: CTLs but HTAB and DEL stop
// it. HTAB is the one CTL a value may hold: stopped at, stepped over.
const uint8_t* skip_field_value(const uint8_t* p, const uint8_t* end) {
  while (end - p >= 8) {
    const uint64_t w = load_word(p);
    const uint64_t stop = bytes_below(w, 0x20) | bytes_equal(w, 0x7f);
    if (stop == 0) {
      p += 8;
      continue;
    }
    p += first_flagged(stop);
    if (*p != '\t') return p;
    ++p;
  }
  while (p < end && kFieldByte[*p]) ++p;
  return p;
}

// A field name or list element against a lower-case literal, case-insensitively (RFC 9110
// 5.1 for names, 7.6.1 for Connection options).
bool lower_equals(const uint8_t* p, size_t n, std::string_view lit) {
  if (n != lit.size()) return false;
  for (size_t i = 0; i < n; ++i) {
    if (lower(p[i]) != lit[i]) return false;
  }
  return true;
}

// The options of one Connection field value [p, end), read as the incremental parser's
// value_byte/end_of_element read them: comma-separated elements (RFC 9110 5.6.1), OWS around
// each trimmed, an element that is not one token ignored.
void connection_options(const uint8_t* p, const uint8_t* end, bool& close, bool& keep_alive) {
  for (;;) {
    const auto* comma = static_cast<const uint8_t*>(std::memchr(p, ',', end - p));
    const uint8_t* e = comma ? comma : end;
    while (p < e && is_ows(*p)) ++p;
    while (e > p && is_ows(e[-1])) --e;
    const bool token = std::all_of(p, e, is_tchar);
    if (token && lower_equals(p, e - p, "close")) close = true;
    if (token && lower_equals(p, e - p, "keep-alive")) keep_alive = true;
    if (!comma) return;
    p = comma + 1;
  }
}

// A Content-Length value [p, end) the fast path takes: 1 to 19 digits and nothing else (19
// digits never overflow 64 bits; longer values are feed()'s, which checks for overflow).
bool plain_length(const uint8_t* p, const uint8_t* end, uint64_t& length) {
  const size_t n = static_cast<size_t>(end - p);
  if (n == 0 || n > 19) return false;
  uint64_t v = 0;
  for (; p < end; ++p) {
    if (!is_digit(*p)) return false;
    v = v * 10 + (*p - '0');
  }
  length = v;
  return true;
}

}  // namespace

// The fast path for a head that arrived whole: straight scans over the bytes instead of
// feed()'s state machine, and no state kept. It accepts a subset of what feed() accepts and
// must agree with it there (tests/unit/apps/http_test.cpp compares the two on every cut of
// every test stream and on seeded random input); everything outside the subset is feed()'s.
bool parse_whole_head(std::span<const uint8_t> data, Request& req, size_t& consumed) {
  // feed() fails a head longer than kMaxHead (431): only a head ending within it is ours.
  const uint8_t* const begin = data.data();
  const uint8_t* const end = begin + std::min(data.size(), RequestParser::kMaxHead);
  const size_t size = static_cast<size_t>(end - begin);
  const uint8_t* p = begin;
  // request-line = method SP request-target SP HTTP-version CRLF (RFC 9112 3); methods are
  // case-sensitive (RFC 9110 9.1).
  Method method;
  if (size >= 4 && std::memcmp(p, "GET ", 4) == 0) {
    method = Method::get;
    p += 4;
  } else if (size >= 5 && std::memcmp(p, "HEAD ", 5) == 0) {
    method = Method::head;
    p += 5;
  } else if (size >= 5 && std::memcmp(p, "POST ", 5) == 0) {
    method = Method::post;
    p += 5;
  } else {
    return false;
  }
  const uint8_t* const target = p;
  p = skip_target(p, end);
  // Then SP "HTTP/1." DIGIT CRLF: HTTP/1.1 and above are answered as 1.1 (RFC 9110 2.5).
  if (p == target || end - p < 11 || *p != ' ') return false;
  ++p;
  if (std::memcmp(p, "HTTP/1.", 7) != 0 || !is_digit(p[7]) || p[8] != '\r' || p[9] != '\n')
    return false;
  if (static_cast<size_t>(p + 8 - begin) > RequestParser::kMaxLine) return false;
  const Version version = p[7] == '0' ? Version::http_1_0 : Version::http_1_1;
  p += 10;
  // field-line = field-name ":" OWS field-value OWS CRLF (RFC 9112 5), until the empty line.
  unsigned hosts = 0;
  bool have_length = false;
  uint64_t length = 0;
  bool close = false;
  bool keep_alive = false;
  for (;;) {
    if (end - p < 2) return false;
    if (p[0] == '\r') {
      if (p[1] != '\n') return false;
      p += 2;
      break;
    }
    const uint8_t* const line = p;
    p = skip_field_name(p, end);
    const size_t name_len = static_cast<size_t>(p - line);
    if (name_len == 0 || p == end || *p != ':') return false;
    ++p;
    while (p < end && is_ows(*p)) ++p;
    const uint8_t* const value = p;
    p = skip_field_value(p, end);
    if (end - p < 2 || p[0] != '\r' || p[1] != '\n') return false;
    if (static_cast<size_t>(p - line) > RequestParser::kMaxLine) return false;
    if (lower_equals(line, name_len, "host")) {
      ++hosts;
    } else if (lower_equals(line, name_len, "connection")) {
      connection_options(value, p, close, keep_alive);
    } else if (lower_equals(line, name_len, "content-length")) {
      // Content-Length = 1*DIGIT (RFC 9110 8.6). Only one field with one plain value is
      // ours; a list ("42, 42"), a second field, OWS after the digits or more digits than
      // surely fit in 64 bits go to feed(), which reads them or answers 400.
      if (have_length || !plain_length(value, p, length)) return false;
      have_length = true;
    } else if (lower_equals(line, name_len, "transfer-encoding")) {
      return false;  // a coding we do not decode, or faulty framing: feed() answers it
    }
    p += 2;
  }
  // RFC 9112 3.2: exactly one Host on HTTP/1.1, at most one on 1.0; feed() answers the rest.
  if (hosts > 1 || (version == Version::http_1_1 && hosts == 0)) return false;
  // The body (RFC 9112 6.3 item 6) must be here too: feed() completes the request at its
  // last byte, and so do we, or we leave it all to feed().
  const size_t head_len = static_cast<size_t>(p - begin);
  if (length > data.size() - head_len) return false;
  const bool http_1_0 = version == Version::http_1_0;
  req =
      Request{method, version, !close && (!http_1_0 || keep_alive), method == Method::head, length};
  consumed = head_len + static_cast<size_t>(length);
  return true;
}

Result RequestParser::fail(int status) {
  state_ = State::failed;
  error_status_ = status;
  return Result::error;
}

void RequestParser::start_request() {
  const Request done = request_;
  const int status = error_status_;
  *this = RequestParser{};
  request_ = done;
  error_status_ = status;
}

Result RequestParser::feed(std::span<const uint8_t> data, size_t& consumed) {
  consumed = 0;
  if (state_ == State::failed) return Result::error;
  size_t i = 0;
  while (i < data.size()) {
    if (state_ == State::body) {
      // The body of a GET means nothing to us (RFC 9110 9.3.1) but must be read past to
      // find the next request (RFC 9112 6.3 item 6).
      const uint64_t take = std::min<uint64_t>(body_left_, data.size() - i);
      i += take;
      body_left_ -= take;
      if (body_left_ == 0) {
        start_request();
        consumed = i;
        return Result::request_complete;
      }
      continue;
    }
    if (state_ == State::target || state_ == State::field_name ||
        (state_ == State::field_value && value_ignored())) {
      i += take_run(data.subspan(i));
      if (i == data.size()) break;
    }
    const uint8_t c = data[i++];
    if (state_ != State::start && state_ != State::start_lf && ++head_len_ > kMaxHead) {
      consumed = i;
      return fail(431);
    }
    Result r = Result::need_more;
    switch (state_) {
      case State::start:
        // RFC 9112 2.2: a server SHOULD ignore empty lines received before the request line
        // (some clients send a CRLF after a POST body). They carry no state, so any number
        // of them is harmless.
        if (c == '\r') {
          state_ = State::start_lf;
          break;
        }
        if (c == '\n') break;
        state_ = State::method;
        head_len_ = 1;
        [[fallthrough]];
      case State::method:
        if (is_tchar(c)) {
          if (++line_len_ > kMaxLine) {
            r = fail(501);  // RFC 9112 3: longer than any method we implement
            break;
          }
          saturating_push(method_, method_len_, static_cast<char>(c));
        } else if (c == ' ' && method_len_ > 0) {
          ++line_len_;
          state_ = State::target;
        } else {
          r = fail(400);  // not a token, or the line starts with whitespace
        }
        break;
      case State::start_lf:
        if (c == '\n') {
          state_ = State::start;
        } else {
          r = fail(400);  // a bare CR is invalid (RFC 9112 2.2)
        }
        break;
      case State::target:
        if (is_target_byte(c)) {
          ++token_len_;
          if (++line_len_ > kMaxLine) r = fail(414);
        } else if (c == ' ' && token_len_ > 0) {
          ++line_len_;
          token_len_ = 0;
          state_ = State::version;
        } else {
          // Two spaces, a CTL, a non-ASCII byte, or the line ended without a version (an
          // HTTP/0.9 simple request, which we do not speak).
          r = fail(400);
        }
        break;
      case State::version:
        if (c == '\r') {
          state_ = State::request_line_lf;
        } else if (c == '\n') {
          r = end_of_request_line();
        } else if (++line_len_ > kMaxLine) {
          r = fail(414);
        } else if (token_len_ >= version_.size()) {
          r = fail(400);  // longer than "HTTP/x.y": trailing whitespace or garbage
        } else {
          version_[token_len_++] = static_cast<char>(c);
        }
        break;
      case State::request_line_lf:
        r = c == '\n' ? end_of_request_line() : fail(400);
        break;
      case State::field_start:
        if (c == '\r') {
          state_ = State::head_end_lf;
        } else if (c == '\n') {
          r = end_of_head();
        } else if (is_tchar(c)) {
          line_len_ = 1;
          name_len_ = 0;
          saturating_push(name_, name_len_, lower(c));
          state_ = State::field_name;
        } else {
          // SP/HTAB here is obs-fold (RFC 9112 5.2: reject with 400) or, before the first
          // field, whitespace after the start line (RFC 9112 2.2: reject or ignore); ':' is
          // an empty field name.
          r = fail(400);
        }
        break;
      case State::field_name:
        if (is_tchar(c)) {
          if (++line_len_ > kMaxLine) {
            r = fail(431);
            break;
          }
          saturating_push(name_, name_len_, lower(c));
        } else if (c == ':') {
          ++line_len_;
          start_field_value();
          state_ = State::field_ows;
        } else {
          // Whitespace between name and colon MUST get a 400 (RFC 9112 5.1): it is how
          // requests are smuggled past proxies that read the name differently.
          r = fail(400);
        }
        break;
      case State::field_ows:
        if (is_ows(c)) {
          if (++line_len_ > kMaxLine) r = fail(431);
          break;
        }
        state_ = State::field_value;
        [[fallthrough]];
      case State::field_value:
        if (c == '\r') {
          state_ = State::field_lf;
        } else if (c == '\n') {
          r = end_of_field_line();
        } else if (!is_field_byte(c)) {
          r = fail(400);
        } else if (++line_len_ > kMaxLine) {
          r = fail(431);
        } else {
          r = value_byte(c);
        }
        break;
      case State::field_lf:
        r = c == '\n' ? end_of_field_line() : fail(400);
        break;
      case State::head_end_lf:
        r = c == '\n' ? end_of_head() : fail(400);
        break;
      case State::body:
      case State::failed:
        break;  // handled above
    }
    if (r != Result::need_more) {
      consumed = i;
      return r;
    }
  }
  consumed = i;
  return Result::need_more;
}

bool RequestParser::value_ignored() const {
  return field_ == Field::other || field_ == Field::host || field_ == Field::transfer_encoding;
}

// The bytes of a request-target, a field name, or a value no field reads, up to the first
// byte that ends or breaks the run or that would cross kMaxHead or kMaxLine: one tight loop
// instead of feed()'s per-byte dispatch, with the same effect on the counts (and the name).
// The byte it stops at goes through feed()'s per-byte path, which reports any error there.
size_t RequestParser::take_run(std::span<const uint8_t> data) {
  const size_t head_room = kMaxHead > head_len_ ? kMaxHead - head_len_ : 0;
  const size_t line_room = kMaxLine > line_len_ ? kMaxLine - line_len_ : 0;
  const size_t room = std::min({data.size(), head_room, line_room});
  size_t k = 0;
  switch (state_) {
    case State::target:
      while (k < room && is_target_byte(data[k])) ++k;
      token_len_ += static_cast<uint32_t>(k);
      break;
    case State::field_name:
      while (k < room && is_tchar(data[k])) saturating_push(name_, name_len_, lower(data[k++]));
      break;
    default:  // field_value of a field whose value is not read
      while (k < room && is_field_byte(data[k])) ++k;
      break;
  }
  head_len_ += static_cast<uint32_t>(k);
  line_len_ += static_cast<uint32_t>(k);
  return k;
}

Result RequestParser::end_of_request_line() {
  // HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 2.3).
  const std::string_view v(version_.data(), token_len_);
  if (v.size() != 8 || !v.starts_with("HTTP/") || !is_digit(v[5]) || v[6] != '.' ||
      !is_digit(v[7])) {
    return fail(400);
  }
  // Another major version is a different message syntax: we cannot even frame it.
  if (v[5] != '1') return fail(505);
  version_parsed_ = v[7] == '0' ? Version::http_1_0 : Version::http_1_1;
  line_len_ = 0;
  state_ = State::field_start;
  return Result::need_more;
}

void RequestParser::start_field_value() {
  const std::string_view name(name_.data(), std::min<size_t>(name_len_, name_.size()));
  field_ = Field::other;
  if (name_len_ <= name_.size()) {
    if (name == "host") field_ = Field::host;
    if (name == "connection") field_ = Field::connection;
    if (name == "content-length") field_ = Field::content_length;
    if (name == "transfer-encoding") field_ = Field::transfer_encoding;
  }
  elem_len_ = 0;
  elem_ows_ = false;
  elem_bad_ = false;
  elem_number_ = 0;
}

Result RequestParser::value_byte(uint8_t c) {
  switch (field_) {
    case Field::other:
    case Field::host:  // its value is not used: one fixed body for every authority
    case Field::transfer_encoding:
      return Result::need_more;
    case Field::connection:
    case Field::content_length:
      break;
  }
  // Both are comma-separated lists (RFC 9110 5.6.1): elements separated by "," with OWS
  // around them; a recipient accepts empty elements.
  if (c == ',') return end_of_element();
  if (is_ows(c)) {
    if (elem_len_ > 0) elem_ows_ = true;  // leading OWS is skipped, anything after ends it
    return Result::need_more;
  }
  if (field_ == Field::content_length) {
    // Content-Length = 1*DIGIT (RFC 9110 8.6). A value we cannot represent is as invalid
    // as one with letters in it: either way the body's end is unknown.
    if (elem_ows_ || !is_digit(c)) return fail(400);
    const uint64_t d = c - '0';
    if (elem_number_ > (std::numeric_limits<uint64_t>::max() - d) / 10) return fail(400);
    elem_number_ = elem_number_ * 10 + d;
    saturating_push(elem_, elem_len_, static_cast<char>(c));
    return Result::need_more;
  }
  // Connection options are tokens (RFC 9110 7.6.1), compared case-insensitively. Anything
  // else is an option we would not act on anyway: ignore it instead of refusing the request.
  if (elem_ows_ || !is_tchar(c)) elem_bad_ = true;
  saturating_push(elem_, elem_len_, lower(c));
  return Result::need_more;
}

Result RequestParser::end_of_element() {
  if (field_ == Field::content_length) {
    // RFC 9110 8.6 lets a recipient take "42, 42" (a list of one repeated value, from
    // combined duplicate fields) as 42. An empty element or two different values leave the
    // framing ambiguous: RFC 9112 6.3 item 5 makes that an unrecoverable 400.
    if (elem_len_ == 0) return fail(400);
    if (seen_content_length_ && elem_number_ != content_length_) return fail(400);
    seen_content_length_ = true;
    content_length_ = elem_number_;
  } else if (!elem_bad_ && elem_len_ <= elem_.size()) {
    const std::string_view option(elem_.data(), elem_len_);
    // RFC 9112 9.6 ("close") and 9.3 / C.2.2 ("keep-alive", the HTTP/1.0 opt-in).
    if (option == "close") seen_close_ = true;
    if (option == "keep-alive") seen_keep_alive_ = true;
  }
  elem_len_ = 0;
  elem_ows_ = false;
  elem_bad_ = false;
  elem_number_ = 0;
  return Result::need_more;
}

Result RequestParser::end_of_field_line() {
  switch (field_) {
    case Field::connection:
      end_of_element();
      break;
    case Field::content_length:
      if (end_of_element() == Result::error) return Result::error;
      break;
    case Field::host:
      if (host_count_ < 2) ++host_count_;
      break;
    case Field::transfer_encoding:
      seen_transfer_encoding_ = true;
      break;
    case Field::other:
      break;
  }
  line_len_ = 0;
  state_ = State::field_start;
  return Result::need_more;
}

Result RequestParser::end_of_head() {
  const bool http_1_0 = version_parsed_ == Version::http_1_0;
  // Framing first: with a transfer coding we cannot find where this request ends, so the
  // connection cannot go on whatever else is wrong. HTTP/1.0 has no transfer codings at all
  // (RFC 9112 6.1: faulty framing, 400); on 1.1 it is a coding we do not implement (501).
  if (seen_transfer_encoding_) return fail(http_1_0 ? 400 : 501);
  // RFC 9112 3.2: 400 for an HTTP/1.1 request without Host and for any request with more
  // than one Host field line.
  if (host_count_ > 1 || (!http_1_0 && host_count_ == 0)) return fail(400);
  // Methods are case-sensitive (RFC 9110 9.1): "get" is some other method.
  const std::string_view method(method_.data(), std::min<size_t>(method_len_, method_.size()));
  const bool get = method_len_ == 3 && method == "GET";
  const bool head = method_len_ == 4 && method == "HEAD";
  // POST (RFC 9110 9.3.3): its content is the Content-Length body, skipped below like any
  // request body; the answer is a GET's. method_ holds 4 bytes and method_len_ tells "POST"
  // from "POSTX".
  const bool post = method_len_ == 4 && method == "POST";
  if (!get && !head && !post) return fail(405);

  request_.method = get ? Method::get : head ? Method::head : Method::post;
  request_.version = version_parsed_;
  request_.keep_alive = !seen_close_ && (!http_1_0 || seen_keep_alive_);
  request_.head_only = head;
  request_.content_length = content_length_;
  if (content_length_ > 0) {
    body_left_ = content_length_;
    state_ = State::body;
    return Result::need_more;
  }
  start_request();
  return Result::request_complete;
}

// ---- responses ----

namespace {

// Appends into a caller buffer; remembers running out so that callers check once at the end.
class Writer {
 public:
  explicit Writer(std::span<uint8_t> out) : out_(out) {}

  void put(std::string_view s) {
    if (s.size() > out_.size() - len_) {
      ok_ = false;
      return;
    }
    if (s.empty()) return;  // an empty view may have a null data(): not for memcpy
    std::memcpy(out_.data() + len_, s.data(), s.size());
    len_ += s.size();
  }
  void put_number(uint64_t v) {
    char digits[std::numeric_limits<uint64_t>::digits10 + 1];
    const auto res = std::to_chars(std::begin(digits), std::end(digits), v);
    put(std::string_view(digits, static_cast<size_t>(res.ptr - digits)));
  }
  [[nodiscard]] size_t written() const { return ok_ ? len_ : 0; }

 private:
  std::span<uint8_t> out_;
  size_t len_ = 0;
  bool ok_ = true;
};

}  // namespace

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return {};
  }
}

size_t write_response(std::span<uint8_t> out, int status, uint64_t body_len, bool keep_alive,
                      Version version, std::string_view date) {
  if (status < 100 || status > 599) return 0;
  Writer w(out);
  w.put("HTTP/1.1 ");
  w.put_number(static_cast<uint64_t>(status));
  w.put(" ");
  w.put(reason_phrase(status));
  w.put("\r\n");
  if (!date.empty()) {
    w.put("Date: ");
    w.put(date);
    w.put("\r\n");
  }
  w.put("Server: pollux\r\nContent-Type: text/plain\r\nContent-Length: ");
  w.put_number(body_len);
  w.put("\r\n");
  if (status == 405) w.put("Allow: GET, HEAD, POST\r\n");
  if (!keep_alive) {
    w.put("Connection: close\r\n");
  } else if (version == Version::http_1_0) {
    w.put("Connection: keep-alive\r\n");
  }
  w.put("\r\n");
  return w.written();
}

std::string_view error_body(int status) {
  switch (status) {
    case 400:
      return "Bad Request\n";
    case 405:
      return "Method Not Allowed\n";
    case 414:
      return "URI Too Long\n";
    case 431:
      return "Request Header Fields Too Large\n";
    case 501:
      return "Not Implemented\n";
    case 503:
      return "Service Unavailable\n";
    case 505:
      return "HTTP Version Not Supported\n";
    default:
      return {};
  }
}

size_t write_error_response(std::span<uint8_t> out, int status, std::string_view date) {
  const std::string_view body = error_body(status);
  const size_t head = write_response(out, status, body.size(), false, Version::http_1_1, date);
  if (head == 0 || body.size() > out.size() - head) return 0;
  if (!body.empty()) std::memcpy(out.data() + head, body.data(), body.size());
  return head + body.size();
}

void fill_body(std::span<uint8_t> out) {
  for (size_t i = 0; i < out.size(); ++i) out[i] = body_byte(i);
}

void imf_fixdate(std::chrono::sys_seconds t, std::span<char, kImfFixdateLen> out) {
  using namespace std::chrono;
  static constexpr std::string_view kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const sys_days day = floor<days>(t);
  const year_month_day ymd(day);
  const hh_mm_ss hms(t - day);
  char* p = out.data();
  const auto text = [&p](std::string_view s) { p = std::copy(s.begin(), s.end(), p); };
  const auto number = [&p](unsigned v, int width) {
    for (int i = width - 1; i >= 0; --i, v /= 10) p[i] = static_cast<char>('0' + v % 10);
    p += width;
  };
  // day-name "," SP day SP month SP year SP hour ":" minute ":" second SP "GMT"
  text(kDays[weekday(day).c_encoding()]);
  text(", ");
  number(static_cast<unsigned>(ymd.day()), 2);
  text(" ");
  text(kMonths[static_cast<unsigned>(ymd.month()) - 1]);
  text(" ");
  number(static_cast<unsigned>(static_cast<int>(ymd.year())), 4);
  text(" ");
  number(static_cast<unsigned>(hms.hours().count()), 2);
  text(":");
  number(static_cast<unsigned>(hms.minutes().count()), 2);
  text(":");
  number(static_cast<unsigned>(hms.seconds().count()), 2);
  text(" GMT");
}

}  // namespace pollux::apps::http
