// HTTP/1.1 for pollux-server's `http` mode: an incremental request parser and a response
// builder. The server answers every GET/HEAD/POST with one fixed body, so the parser keeps only
// what decides the answer (method, version, persistence, body framing) and never stores the
// request-target or header values.
//
// Requests arrive as spans of received mbufs, split anywhere (mid-token, mid-CRLF). The parser
// is a byte-at-a-time state machine over fixed-size state, so a split costs nothing and there
// is no line buffer to fill, no allocation and no copy. A request that arrived whole, head and
// any Content-Length body (the common case: one segment per request), skips it:
// parse_whole_head reads it where it lies with word-at-a-time scans and needs no state at
// all, so pollux-server lends a parser to a connection
// only while one of its requests is unfinished. It is strict where RFC 9112 asks a
// server to be (request smuggling lives in lenient framing) and lenient where RFC 9112 allows
// it (bare LF line ends, empty lines before the request line).
//
// Errors and the status each one gets (every error closes the connection):
//   400  syntax: request line not `method SP target SP HTTP-version`, bad tokens, bare CR,
//        whitespace before a colon, obs-fold (RFC 9112 5.2), CTLs in a field value, invalid
//        or conflicting Content-Length (RFC 9112 6.3 item 5), HTTP/1.1 without Host or any
//        request with two Host lines (RFC 9112 3.2), Transfer-Encoding on HTTP/1.0
//        (RFC 9112 6.1: faulty framing).
//   405  any method but GET, HEAD and POST, lower-case `get` included (methods are
//        case-sensitive, RFC 9110 9.1). RFC 9110 9.1 would prefer 501 for methods the server
//        has never heard of; one rule is simpler for clients and tests, and 405 carries
//        `Allow: GET, HEAD, POST`. A POST's body (Content-Length) is read and thrown away and
//        the POST answered as a GET is (a load generator's POST run measures the upload).
//   414  request line longer than kMaxLine bytes with the overflow in the request-target
//        (RFC 9112 3: "MUST respond with a 414").
//   431  a header field line longer than kMaxLine, or a message head (request line through
//        the empty line) longer than kMaxHead (RFC 6585 5).
//   501  Transfer-Encoding on an HTTP/1.1 request: we do not decode chunked request bodies
//        (RFC 9112 6.1: "SHOULD respond with 501"); also a method longer than kMaxLine
//        (RFC 9112 3: longer than any method we implement).
//   505  a well-formed HTTP-version whose major version is not 1 (RFC 9110 15.6.6).
// And one the server adds (not a parse error): 503 when a request arrives in pieces and every
// parser of the lcore's pool is lent (server_app.hpp, app_parser_pool_empty).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace pollux::apps::http {

enum class Method : uint8_t { get, head, post };

// HTTP/1.2..1.9 are answered as 1.1 (RFC 9110 2.5: process as the highest minor version of
// the major version we implement).
enum class Version : uint8_t { http_1_0, http_1_1 };

// What the server needs to answer one request.
struct Request {
  Method method = Method::get;
  Version version = Version::http_1_1;
  // RFC 9112 9.3: HTTP/1.1 persists unless `Connection: close`; HTTP/1.0 closes unless
  // `Connection: keep-alive`. `close` wins when both are listed.
  bool keep_alive = true;
  bool head_only = false;       // HEAD: same headers as GET, no body bytes (RFC 9110 9.3.2)
  uint64_t content_length = 0;  // request body bytes that were read and thrown away

  friend bool operator==(const Request&, const Request&) = default;
};

enum class Result : uint8_t {
  need_more,         // every byte consumed, the request is not complete yet
  request_complete,  // request() holds it; feed the rest of the data (pipelining)
  error,             // error_status() says how to answer; then close the connection
};

// The common case in one call: a whole request at the start of `data`, found and parsed in
// place. It takes only requests that are plainly good -- GET, HEAD or POST, HTTP/1.0 or 1.x,
// CRLF line ends, at most one Host, no Transfer-Encoding, at most one Content-Length with one
// plain value (1 to 19 digits) whose body is all in `data` too, within kMaxLine and kMaxHead --
// and for those returns true with the request RequestParser::feed would complete and
// `consumed` = the head's length plus the body's (the byte feed would complete it at).
// Anything else returns false with nothing consumed: a head or body not all in `data` (split
// across fragments), empty lines first, bare LF, a Content-Length list or a second one, any
// error, any limit reached. The caller then
// feeds the same bytes to a RequestParser, which decides (and keeps every error status exactly
// as before). Needs no state, so a connection whose requests arrive whole keeps none.
[[nodiscard]] bool parse_whole_head(std::span<const uint8_t> data, Request& req, size_t& consumed);

class RequestParser {
 public:
  static constexpr size_t kMaxLine = 8 * 1024;   // one line, without its CRLF
  static constexpr size_t kMaxHead = 16 * 1024;  // request line + fields + empty line

  // Consumes bytes of the connection's stream in order, in fragments of any size.
  //   need_more:         consumed == data.size().
  //   request_complete:  consumed counts up to the last byte of this request (its body, if
  //                      it had a Content-Length); call feed again with what is left. The
  //                      body of a request is consumed before it completes so that closing
  //                      after the answer never leaves unread bytes (which would make the
  //                      peer's kernel send RST and lose our response).
  //   error:             consumed counts up to the offending byte. The parser then refuses
  //                      all further input (error again, consumed 0): after an error the
  //                      message framing is unknown (RFC 9112 6.3), so the connection must
  //                      be answered and closed.
  [[nodiscard]] Result feed(std::span<const uint8_t> data, size_t& consumed);

  // The request the last request_complete reported.
  [[nodiscard]] const Request& request() const { return request_; }
  // 400, 405, 414, 431, 501 or 505 after an error; 0 otherwise.
  [[nodiscard]] int error_status() const { return error_status_; }
  // True after an error: nothing more will be accepted.
  [[nodiscard]] bool failed() const { return state_ == State::failed; }
  // Part of a request's head (request line and fields) has arrived, not all of it: what a
  // slowloris client keeps a connection in, and what the server's header timeout bounds.
  [[nodiscard]] bool in_head() const {
    return state_ != State::start && state_ != State::body && state_ != State::failed;
  }
  // A request's body is being read past.
  [[nodiscard]] bool in_body() const { return state_ == State::body; }

 private:
  enum class State : uint8_t {
    start,            // empty lines before a request line (RFC 9112 2.2) or its first byte
    start_lf,         // CR of such an empty line; LF must follow
    method,           // method token (RFC 9110 9.1)
    target,           // request-target (RFC 9112 3.2)
    version,          // HTTP-version (RFC 9112 2.3)
    request_line_lf,  // CR after the version; LF must follow
    field_start,      // first byte of a field line, or of the empty line ending the head
    field_name,       // field-name token (RFC 9110 5.1)
    field_ows,        // OWS between the colon and the value (RFC 9112 5)
    field_value,      // field-value (RFC 9110 5.5)
    field_lf,         // CR after a field line; LF must follow
    head_end_lf,      // CR of the empty line; LF must follow
    body,             // discarding content_length bytes of body
    failed,           // an error was reported; terminal
  };
  enum class Field : uint8_t { other, host, connection, content_length, transfer_encoding };

  static constexpr size_t kMaxFieldName = 17;  // "transfer-encoding", the longest we look for
  static constexpr size_t kMaxElement = 10;    // "keep-alive", the longest list element we use

  Result fail(int status);
  Result end_of_request_line();
  Result end_of_field_line();
  Result end_of_head();
  // Feeds one field-value byte (or the end of the value) to the field it belongs to.
  Result value_byte(uint8_t c);
  void start_field_value();
  Result end_of_element();
  // A field whose value only counts toward the limits (value_byte ignores its bytes).
  [[nodiscard]] bool value_ignored() const;
  // Takes the run of plain bytes at the start of `data` in state target, field_name or an
  // ignored field_value; returns how many.
  size_t take_run(std::span<const uint8_t> data);
  // Forgets the finished request's state (not request_) to parse the next one.
  void start_request();

  State state_ = State::start;
  int error_status_ = 0;
  Request request_{};

  // Per-request state; start_request() resets it.
  uint32_t line_len_ = 0;          // bytes of the current line, line end excluded
  uint32_t head_len_ = 0;          // bytes of the head so far, line ends included
  uint32_t token_len_ = 0;         // bytes of the request-target, then of the HTTP-version
  uint8_t method_len_ = 0;         // saturates at 5
  std::array<char, 4> method_{};   // enough to tell GET and HEAD from anything else
  std::array<char, 8> version_{};  // "HTTP/" DIGIT "." DIGIT
  Version version_parsed_ = Version::http_1_1;
  uint8_t name_len_ = 0;                    // saturates at kMaxFieldName + 1
  std::array<char, kMaxFieldName> name_{};  // lower-cased
  Field field_ = Field::other;
  // One element of a comma-separated value (RFC 9110 5.6.1), for Connection and
  // Content-Length.
  uint8_t elem_len_ = 0;                  // saturates at kMaxElement + 1
  std::array<char, kMaxElement> elem_{};  // lower-cased
  bool elem_ows_ = false;                 // OWS seen after the element's first byte
  bool elem_bad_ = false;                 // byte that cannot be part of a token
  uint64_t elem_number_ = 0;              // Content-Length element value
  bool seen_close_ = false;
  bool seen_keep_alive_ = false;
  bool seen_content_length_ = false;
  bool seen_transfer_encoding_ = false;
  uint8_t host_count_ = 0;  // saturates at 2
  uint64_t content_length_ = 0;
  uint64_t body_left_ = 0;
};

// ---- responses ----

// "OK", "Bad Request", ...; empty for codes this file does not name (still valid on the wire,
// RFC 9112 4: the reason-phrase may be empty).
[[nodiscard]] std::string_view reason_phrase(int status);

// Writes the status line and header section of a response into `out`:
//   HTTP/1.1 <status> <reason>\r\n
//   [Date: <date>\r\n]                 when given (see imf_fixdate)
//   Server: pollux\r\n
//   Content-Type: text/plain\r\n
//   Content-Length: <body_len>\r\n
//   [Allow: GET, HEAD, POST\r\n]       on 405 (RFC 9110 15.5.6: MUST)
//   [Connection: close\r\n]            when !keep_alive
//   [Connection: keep-alive\r\n]       when keep_alive and the client spoke HTTP/1.0, whose
//                                      default is close (RFC 9112 9.3, C.2.2)
//   \r\n
// Always HTTP/1.1, also to 1.0 clients (RFC 9110 2.5: our highest version with that major).
// A HEAD response has exactly these bytes with the GET's body_len (RFC 9110 9.3.2); the
// caller then sends no body. Returns the bytes written, or 0 when they do not fit or the
// status is not 100..599.
[[nodiscard]] size_t write_response(std::span<uint8_t> out, int status, uint64_t body_len,
                                    bool keep_alive, Version version = Version::http_1_1,
                                    std::string_view date = {});

// The 200 answer to a parsed request.
[[nodiscard]] inline size_t write_response(std::span<uint8_t> out, const Request& req,
                                           uint64_t body_len, std::string_view date = {}) {
  return write_response(out, 200, body_len, req.keep_alive, req.version, date);
}

// The small text body of an error status ("Bad Request\n"); empty for other codes.
[[nodiscard]] std::string_view error_body(int status);

// A complete error response (head and error_body), always `Connection: close`. Returns the
// bytes written, or 0 when it does not fit.
[[nodiscard]] size_t write_error_response(std::span<uint8_t> out, int status,
                                          std::string_view date = {});

// The fixed body: "pollux\n" repeated and cut at the requested length, so any prefix or
// slice of it can be checked by a client without knowing the length.
inline constexpr std::string_view kBodyPattern = "pollux\n";
[[nodiscard]] constexpr uint8_t body_byte(uint64_t offset) {
  return static_cast<uint8_t>(kBodyPattern[offset % kBodyPattern.size()]);
}
// Fills `out` with the body bytes starting at offset 0 (caller-owned memory, e.g. memory a
// DPDK external buffer will point at).
void fill_body(std::span<uint8_t> out);

// The body, generated once at start and shared by every response.
class FixedBody {
 public:
  explicit FixedBody(size_t len) : bytes_(len) { fill_body(bytes_); }
  [[nodiscard]] std::span<const uint8_t> bytes() const { return bytes_; }
  [[nodiscard]] size_t size() const { return bytes_.size(); }

 private:
  std::vector<uint8_t> bytes_;
};

// IMF-fixdate (RFC 9110 5.6.7), e.g. "Sun, 06 Nov 1994 08:49:37 GMT": the Date value an
// origin server with a clock sends (RFC 9110 6.6.1). It changes once a second, so the server
// formats it once per second, not per response.
inline constexpr size_t kImfFixdateLen = 29;
void imf_fixdate(std::chrono::sys_seconds t, std::span<char, kImfFixdateLen> out);

}  // namespace pollux::apps::http
