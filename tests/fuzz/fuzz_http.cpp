// The HTTP/1.1 parsers of apps/: pollux-server's request parser and pollux-gen's response
// parser, on arbitrary bytes split at fuzzed points (a parser must give the same answer
// however its input is cut), plus round trips:
//  - request: a request that parsed is written back in canonical form and must parse to the
//    same Request (method, version, persistence, body length);
//  - response: write_response()'s output for fuzzed status, length, persistence and version
//    must parse to that status, persistence and body length.
// The first byte picks the parser.
#include <string>

#include "fuzz_support.hpp"
#include "http.hpp"
#include "http_response.hpp"

using namespace pollux;
using namespace pollux::apps::http;
using pollux::fuzz::require;

namespace {

struct Parsed {
  std::vector<Request> requests;
  int error = 0;
  bool operator==(const Parsed&) const = default;
};

// Feeds `data` in pieces (cuts at the given byte positions) and collects the requests.
Parsed parse_requests(std::span<const uint8_t> data, std::span<const uint8_t> cuts) {
  Parsed out;
  RequestParser p;
  size_t pos = 0, cut = 0;
  while (pos < data.size()) {
    size_t end = data.size();
    if (cut < cuts.size()) end = std::min(data.size(), pos + 1 + cuts[cut++]);
    std::span<const uint8_t> piece = data.subspan(pos, end - pos);
    while (!piece.empty()) {
      size_t used = 0;
      const Result r = p.feed(piece, used);
      require(used <= piece.size(), "request: consumed more than given");
      if (r == Result::error) {
        out.error = p.error_status();
        require(out.error >= 400 && out.error <= 599, "request: error without a 4xx/5xx status");
        size_t again = 0;
        require(p.feed(piece, again) == Result::error && again == 0,
                "request: accepted after error");
        return out;
      }
      if (r == Result::request_complete)
        out.requests.push_back(p.request());
      else
        require(used == piece.size(), "request: need_more without consuming everything");
      piece = piece.subspan(used);
    }
    pos = end;
  }
  return out;
}

std::string canonical(const Request& r) {
  std::string s = r.method == Method::head ? "HEAD" : r.method == Method::post ? "POST" : "GET";
  s += " /x ";
  s += r.version == Version::http_1_0 ? "HTTP/1.0\r\n" : "HTTP/1.1\r\nHost: h\r\n";
  if (r.version == Version::http_1_1 && !r.keep_alive) s += "Connection: close\r\n";
  if (r.version == Version::http_1_0 && r.keep_alive) s += "Connection: keep-alive\r\n";
  if (r.content_length) s += "Content-Length: " + std::to_string(r.content_length) + "\r\n";
  s += "\r\n";
  s.append(r.content_length, 'b');
  return s;
}

void requests(std::span<const uint8_t> in) {
  // The first 8 bytes say where to cut; the rest is the stream.
  const size_t ncuts = std::min<size_t>(in.size(), 8);
  const auto cuts = in.first(ncuts);
  const auto data = in.subspan(ncuts);
  const Parsed whole = parse_requests(data, {});
  const Parsed split = parse_requests(data, cuts);
  require(whole == split, "request: the answer depends on where the input was cut");
  // A head the fast path takes is the request the incremental parser completes at the same
  // byte when it is fed one byte at a time (one byte never holds a whole head).
  Request fast;
  size_t fast_len = 0;
  if (parse_whole_head(data, fast, fast_len)) {
    RequestParser p;
    size_t pos = 0;
    Result r = Result::need_more;
    while (pos < data.size() && r == Result::need_more) {
      size_t used = 0;
      r = p.feed(data.subspan(pos, 1), used);
      pos += used;
    }
    require(r == Result::request_complete && pos == fast_len && p.request() == fast,
            "request: the fast path and the incremental parser disagree");
  }
  for (const Request& r : whole.requests) {
    if (r.content_length > 1 << 20) continue;
    const std::string c = canonical(r);
    const Parsed again = parse_requests({reinterpret_cast<const uint8_t*>(c.data()), c.size()}, {});
    require(again.error == 0 && again.requests.size() == 1, "request: canonical form rejected");
    Request want = r;
    want.head_only = r.method == Method::head;
    Request got = again.requests[0];
    got.head_only = want.head_only;
    require(got == want, "request: round trip changed the request");
  }
}

void responses(std::span<const uint8_t> in) {
  ResponseParser p;
  size_t pos = 0;
  while (pos < in.size()) {
    size_t used = 0;
    const RespResult r = p.feed(in.subspan(pos), used);
    require(used <= in.size() - pos, "response: consumed more than given");
    pos += used;
    if (r == RespResult::bad) return;
    if (r == RespResult::complete) {
      p.reset();
      continue;
    }
    if (used == 0) break;
  }
  (void)p.eof();
}

void response_round_trip(fuzz::Input& in) {
  const int status = 100 + in.u16() % 500;
  const uint64_t body = in.u32() % 100000;
  const bool keep_alive = in.u8() & 1;
  const Version v = (in.u8() & 1) ? Version::http_1_0 : Version::http_1_1;
  std::vector<uint8_t> buf(512);
  const size_t n =
      write_response(buf, status, body, keep_alive, v, "Sun, 06 Nov 1994 08:49:37 GMT");
  require(n > 0, "response: write_response failed for a valid status");
  std::vector<uint8_t> wire(buf.begin(), buf.begin() + static_cast<long>(n));
  wire.resize(n + body, 'p');
  if (status < 200 || status == 204 || status == 304) return;  // no body by definition
  ResponseParser p;
  size_t used = 0;
  const RespResult r = p.feed(wire, used);
  require(r == RespResult::complete && used == wire.size(), "response: built response incomplete");
  require(p.status() == status, "response: status round trip");
  require(p.body_bytes() == body, "response: body length round trip");
  require(p.keep_alive() == keep_alive, "response: persistence round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::span<const uint8_t> rest{data + 1, size - 1};
  switch (data[0] % 3) {
    case 0:
      requests(rest);
      break;
    case 1:
      responses(rest);
      break;
    case 2: {
      fuzz::Input in(rest.data(), rest.size());
      response_round_trip(in);
      break;
    }
  }
  return 0;
}
