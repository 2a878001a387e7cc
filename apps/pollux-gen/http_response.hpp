// Incremental HTTP/1.1 response reader for the load generator (RFC 9112): status line,
// header fields, and the body framed by Content-Length, chunked transfer coding, or the end
// of the connection. Fed the receive queue's spans as they come; stops at the end of one
// response so that the next one (or nothing) stays in the queue.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace pollux::apps::http {

enum class RespResult : uint8_t { need_more, complete, bad };

// A response read in place by parse_whole_response.
struct WholeResponse {
  uint64_t body_bytes = 0;
  int status = 0;
  bool keep_alive = true;
};

// The fast path for a response that arrived whole (issue 13): its head -- status line, then
// field lines each ending in CRLF, then the empty line -- and its Content-Length body all in
// `in`, read where they lie with straight scans and no state. It takes a subset of what
// ResponseParser takes and agrees with it there (status, keep_alive, body_bytes, consumed);
// false leaves the response to ResponseParser: a head or body that continues past `in`, bare
// LF line ends, a 1xx, Transfer-Encoding, no Content-Length (the body runs to the close), an
// overlong line and every malformed one (so each error is still the parser's to count).
[[nodiscard]] bool parse_whole_response(std::span<const uint8_t> in, WholeResponse& out,
                                        size_t& consumed);

class ResponseParser {
 public:
  // No buffer until a line arrives split across spans (the only time line_ collects one):
  // a held connection that never reads a response allocates nothing, and opening one does
  // not allocate (ConnState{} builds a parser per connection; issue 13 item 5: the reserve
  // cost each generator connection 272 B of heap).
  ResponseParser() = default;

  // Reads from `in` up to the end of the current response; `consumed` says how much.
  RespResult feed(std::span<const uint8_t> in, size_t& consumed);
  // The peer closed: completes a body that runs to the end of the connection; anything else
  // unfinished is a bad (truncated) response.
  RespResult eof();
  void reset();

  [[nodiscard]] int status() const { return status_; }
  [[nodiscard]] bool keep_alive() const { return keep_alive_; }
  [[nodiscard]] uint64_t body_bytes() const { return body_bytes_; }
  [[nodiscard]] bool started() const { return state_ != State::status_line || !line_.empty(); }

  static constexpr size_t kMaxLine = 16 * 1024;

 private:
  enum class State : uint8_t {
    status_line,
    header,
    body_length,
    body_until_close,
    chunk_size,
    chunk_data,
    chunk_data_crlf,
    trailer,
    done,
    failed
  };
  RespResult line_done(std::string_view l);  // a complete line, without its CRLF
  bool header_field(std::string_view l);
  void end_of_head();

  State state_ = State::status_line;
  std::string line_;
  int status_ = 0;
  bool http10_ = false;
  bool keep_alive_ = true;
  bool chunked_ = false;
  bool have_length_ = false;
  uint64_t length_ = 0;
  uint64_t left_ = 0;  // body or chunk bytes still to come
  uint64_t body_bytes_ = 0;
};

}  // namespace pollux::apps::http
