// pollux-server's HTTP/1.1: requests parse the same however the stream is cut into
// fragments; each request completes with what the answer depends on (method, version,
// persistence); anything RFC 9112 calls malformed ends the connection with the status
// http.hpp documents; responses are byte-exact.
#include "http.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace pollux::apps::http {
namespace {

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Everything a connection's parser reported, with the stream offset just past the byte that
// completed each request or raised the error.
struct Trace {
  std::vector<Request> requests;
  std::vector<size_t> request_ends;
  int error = 0;
  size_t error_at = 0;
  size_t consumed = 0;

  bool operator==(const Trace&) const = default;
};

void PrintTo(const Trace& t, std::ostream* os) {
  *os << t.requests.size() << " requests, ends at";
  for (size_t e : t.request_ends) *os << ' ' << e;
  *os << "; error " << t.error << " at " << t.error_at << "; consumed " << t.consumed;
}

// Feeds `stream` in fragments cut at `cuts` (ascending offsets), the way a connection's
// receive side would: each fragment until it is used up or the parser fails.
Trace feed_in_pieces(std::string_view stream, const std::vector<size_t>& cuts) {
  RequestParser p;
  Trace t;
  size_t begin = 0;
  for (size_t k = 0; k <= cuts.size() && t.error == 0; ++k) {
    const size_t end = k < cuts.size() ? cuts[k] : stream.size();
    auto piece = bytes(stream.substr(begin, end - begin));
    const size_t piece_size = piece.size();
    // Every call consumes at least one byte unless it fails or has nothing to consume, so a
    // fragment of n bytes takes at most n + 1 calls.
    for (size_t calls = 0; !piece.empty() || calls == 0; ++calls) {
      EXPECT_LE(calls, piece_size + 1);
      size_t consumed = 12345;
      const Result r = p.feed(piece, consumed);
      EXPECT_LE(consumed, piece.size());
      t.consumed += consumed;
      piece = piece.subspan(consumed);
      if (r == Result::request_complete) {
        EXPECT_GT(consumed, 0u);
        t.requests.push_back(p.request());
        t.request_ends.push_back(t.consumed);
      } else if (r == Result::error) {
        t.error = p.error_status();
        t.error_at = t.consumed;
        EXPECT_TRUE(p.failed());
        break;
      } else {
        EXPECT_EQ(r, Result::need_more);
        EXPECT_TRUE(piece.empty()) << "need_more must consume everything";
        break;
      }
    }
    begin = end;
  }
  return t;
}

Trace feed_whole(std::string_view stream) {
  return feed_in_pieces(stream, {});
}

Trace feed_bytewise(std::string_view stream) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < stream.size(); ++i) cuts.push_back(i);
  return feed_in_pieces(stream, cuts);
}

// The status a stream ends in (0: none), fed whole.
int status_of(std::string_view stream) {
  return feed_whole(stream).error;
}

Request get_1_1(bool keep_alive = true) {
  return Request{Method::get, Version::http_1_1, keep_alive, false, 0};
}

// ---- requests that complete ----

TEST(HttpParser, SimpleGetCompletesWithKeepAlive) {
  const std::string_view req = "GET / HTTP/1.1\r\nHost: example.org\r\n\r\n";
  const Trace t = feed_whole(req);
  ASSERT_EQ(t.requests.size(), 1u);
  EXPECT_EQ(t.requests[0], get_1_1());
  EXPECT_EQ(t.request_ends[0], req.size());
  EXPECT_EQ(t.error, 0);
}

TEST(HttpParser, HeadIsHeadOnly) {
  const Trace t = feed_whole("HEAD /index.html HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(t.requests.size(), 1u);
  EXPECT_EQ(t.requests[0].method, Method::head);
  EXPECT_TRUE(t.requests[0].head_only);
  EXPECT_TRUE(t.requests[0].keep_alive);
}

TEST(HttpParser, Http10ClosesByDefaultAndNeedsNoHost) {
  const Trace t = feed_whole("GET / HTTP/1.0\r\n\r\n");
  ASSERT_EQ(t.requests.size(), 1u);
  EXPECT_EQ(t.requests[0].version, Version::http_1_0);
  EXPECT_FALSE(t.requests[0].keep_alive);
}

TEST(HttpParser, Http10KeepsAliveWhenAsked) {
  const Trace t = feed_whole("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
  ASSERT_EQ(t.requests.size(), 1u);
  EXPECT_EQ(t.requests[0].version, Version::http_1_0);
  EXPECT_TRUE(t.requests[0].keep_alive);
}

TEST(HttpParser, Http11ConnectionCloseCloses) {
  const Trace t = feed_whole("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(t.requests.size(), 1u);
  EXPECT_EQ(t.requests[0], get_1_1(false));
}

struct ConnectionCase {
  const char* fields;  // header lines after the request line
  bool keep_alive;
};

class HttpConnectionOptions : public ::testing::TestWithParam<ConnectionCase> {};

// RFC 9110 7.6.1: Connection is a comma-separated list of case-insensitive options, possibly
// spread over several field lines; RFC 9112 9.6: "close" wins.
TEST_P(HttpConnectionOptions, DecidePersistence) {
  const std::string req = std::string("GET / HTTP/1.1\r\nHost: a\r\n") + GetParam().fields + "\r\n";
  const Trace t = feed_whole(req);
  ASSERT_EQ(t.requests.size(), 1u) << req;
  EXPECT_EQ(t.requests[0].keep_alive, GetParam().keep_alive) << req;
}

INSTANTIATE_TEST_SUITE_P(
    HttpParser, HttpConnectionOptions,
    ::testing::Values(ConnectionCase{"Connection: close\r\n", false},
                      ConnectionCase{"Connection: CLOSE\r\n", false},
                      ConnectionCase{"connection:close\r\n", false},
                      ConnectionCase{"Connection: upgrade, close\r\n", false},
                      ConnectionCase{"Connection: ,, close ,\r\n", false},
                      ConnectionCase{"Connection: keep-alive, close\r\n", false},
                      ConnectionCase{"Connection: keep-alive\r\nConnection: close\r\n", false},
                      ConnectionCase{"Connection: \t close\t \r\n", false},
                      ConnectionCase{"Connection: keep-alive\r\n", true},
                      ConnectionCase{"Connection: upgrade\r\n", true},
                      ConnectionCase{"Connection: closed\r\n", true},
                      ConnectionCase{"Connection: xclose\r\n", true},
                      ConnectionCase{"Connection: clo se\r\n", true},
                      ConnectionCase{"Connection: \"close\"\r\n", true},
                      ConnectionCase{"Connection:\r\n", true},
                      ConnectionCase{"X-Connection: close\r\n", true},
                      ConnectionCase{"Connection-X: close\r\n", true},
                      ConnectionCase{"Proxy-Connection: close\r\n", true}));

TEST(HttpParser, HeaderNamesAnyCaseValuesWithOws) {
  const Trace t = feed_whole(
      "GET / HTTP/1.1\r\n"
      "hOsT:   example.org  \r\n"
      "CoNtEnT-lEnGtH:\t 3 \t\r\n"
      "cOnNeCtIoN:\tClOsE \t\r\n"
      "X-Empty:\r\n"
      "X-Obs-Text: caf\xc3\xa9\r\n"
      "\r\n"
      "abc");
  ASSERT_EQ(t.requests.size(), 1u);
  EXPECT_FALSE(t.requests[0].keep_alive);
  EXPECT_EQ(t.requests[0].content_length, 3u);
}

TEST(HttpParser, EmptyLinesBeforeTheRequestLineAreIgnored) {
  // RFC 9112 2.2: SHOULD ignore at least one empty line before the request-line.
  const Trace t = feed_whole("\r\n\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(t.requests.size(), 1u);
  EXPECT_EQ(t.error, 0);
}

TEST(HttpParser, BareLfLineEndsAreAccepted) {
  // RFC 9112 2.2: a recipient MAY recognize a single LF as a line terminator.
  const Trace t = feed_whole("GET / HTTP/1.1\nHost: a\nConnection: close\n\n");
  ASSERT_EQ(t.requests.size(), 1u);
  EXPECT_EQ(t.requests[0], get_1_1(false));
}

TEST(HttpParser, HigherMinorVersionIsAnsweredAsHttp11) {
  // RFC 9110 2.5: process as the highest minor version we implement of that major version.
  const Trace t = feed_whole("GET / HTTP/1.7\r\nHost: a\r\n\r\n");
  ASSERT_EQ(t.requests.size(), 1u);
  EXPECT_EQ(t.requests[0].version, Version::http_1_1);
}

TEST(HttpParser, AnyRequestTargetFormIsAccepted) {
  for (const char* target : {"/", "/a/b?c=d&e#f", "http://example.org:8080/x", "*",
                             "example.org:443", "/%7Euser/~!$&'()*+,;=:@"}) {
    const std::string req = std::string("GET ") + target + " HTTP/1.1\r\nHost: a\r\n\r\n";
    EXPECT_EQ(feed_whole(req).requests.size(), 1u) << req;
  }
}

TEST(HttpParser, EmptyHostIsAHost) {
  // RFC 9112 3.2: a client with no authority sends Host with an empty value.
  EXPECT_EQ(feed_whole("GET / HTTP/1.1\r\nHost:\r\n\r\n").requests.size(), 1u);
}

TEST(HttpParser, PipelinedRequestsCompleteInOrder) {
  const std::string_view first = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string_view second = "HEAD /2 HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string_view third = "GET /3 HTTP/1.0\r\n\r\n";
  const std::string_view fourth = "GET /4 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
  const std::string stream =
      std::string(first) + std::string(second) + std::string(third) + std::string(fourth);
  const Trace t = feed_whole(stream);
  ASSERT_EQ(t.requests.size(), 4u);
  EXPECT_EQ(t.requests[0], get_1_1());
  EXPECT_EQ(t.requests[1], (Request{Method::head, Version::http_1_1, true, true, 0}));
  EXPECT_EQ(t.requests[2], (Request{Method::get, Version::http_1_0, false, false, 0}));
  EXPECT_EQ(t.requests[3], get_1_1(false));
  EXPECT_EQ(t.request_ends,
            (std::vector<size_t>{first.size(), first.size() + second.size(),
                                 first.size() + second.size() + third.size(), stream.size()}));
  EXPECT_EQ(t.error, 0);
}

TEST(HttpParser, ARequestBodyIsSkippedBeforeTheNextPipelinedRequest) {
  // The body holds what would be a request if it were not skipped.
  const std::string_view with_body =
      "GET /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 26\r\n\r\nGET /evil HTTP/1.1\r\nX: y\r\n";
  const std::string_view next = "HEAD /2 HTTP/1.1\r\nHost: a\r\n\r\n";
  const Trace t = feed_whole(std::string(with_body) + std::string(next));
  ASSERT_EQ(t.requests.size(), 2u);
  EXPECT_EQ(t.requests[0], (Request{Method::get, Version::http_1_1, true, false, 26}));
  EXPECT_EQ(t.requests[1].method, Method::head);
  EXPECT_EQ(t.request_ends[0], with_body.size());
  EXPECT_EQ(t.request_ends[1], with_body.size() + next.size());
}

TEST(HttpParser, APostCompletesAfterItsBodyAndIsAnsweredLikeAGet) {
  // RFC 9110 9.3.3: the body is the Content-Length's 1000 bytes; the next request follows it.
  const std::string post =
      "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n" + std::string(1000, 'x');
  const std::string_view next = "POST /2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
  const std::string stream = post + std::string(next);
  for (size_t piece : {size_t{1}, size_t{7}, size_t{4096}}) {
    std::vector<size_t> cuts;
    for (size_t at = piece; at < stream.size(); at += piece) cuts.push_back(at);
    const Trace t = feed_in_pieces(stream, cuts);
    ASSERT_EQ(t.requests.size(), 2u) << "pieces of " << piece;
    EXPECT_EQ(t.requests[0], (Request{Method::post, Version::http_1_1, true, false, 1000}));
    EXPECT_EQ(t.requests[1], (Request{Method::post, Version::http_1_1, false, false, 0}));
    EXPECT_EQ(t.request_ends[0], post.size());
    EXPECT_EQ(t.error, 0);
  }
}

TEST(HttpParser, ARequestCompletesOnlyWhenItsBodyHasArrived) {
  RequestParser p;
  size_t consumed = 0;
  EXPECT_EQ(p.feed(bytes("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nab"), consumed),
            Result::need_more);
  EXPECT_EQ(p.feed(bytes("c"), consumed), Result::need_more);
  EXPECT_EQ(consumed, 1u);
  EXPECT_EQ(p.feed(bytes("dGET"), consumed), Result::request_complete);
  EXPECT_EQ(consumed, 1u);
  EXPECT_EQ(p.request().content_length, 4u);
  EXPECT_EQ(p.feed(bytes("GET"), consumed), Result::need_more);
  EXPECT_EQ(consumed, 3u);
}

TEST(HttpParser, RepeatedEqualContentLengthsAreOneLength) {
  // RFC 9110 8.6: a list of one repeated value, in one field or several, MAY be taken as it.
  for (const char* fields :
       {"Content-Length: 2, 2\r\n", "Content-Length: 2\r\nContent-Length: 2\r\n",
        "Content-Length: 002\r\n", "Content-Length:2 ,2\r\n"}) {
    const std::string req = std::string("GET / HTTP/1.1\r\nHost: a\r\n") + fields + "\r\nxx";
    const Trace t = feed_whole(req);
    ASSERT_EQ(t.requests.size(), 1u) << req;
    EXPECT_EQ(t.requests[0].content_length, 2u);
    EXPECT_EQ(t.request_ends[0], req.size());
  }
}

TEST(HttpParser, ZeroContentLengthCompletesAtTheEmptyLine) {
  const Trace t = feed_whole("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(t.requests.size(), 1u);
  EXPECT_EQ(t.requests[0].content_length, 0u);
}

// ---- the same bytes, however they are cut ----

// A stream exercising every state: leading empty line, bodies, OWS, lists, both versions.
constexpr std::string_view kPipeline =
    "\r\n"
    "GET /a?b=c HTTP/1.1\r\nHost: example.org\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n"
    "HEAD / HTTP/1.1\r\nhost:x\r\nConnection: keep-alive, Upgrade\r\n\r\n"
    "GET / HTTP/1.1\r\nHost: y\r\nContent-Length: 5, 5\r\n\r\nhello"
    "GET / HTTP/1.0\nConnection:\tkeep-alive \n\n"
    "GET /last HTTP/1.1\r\nHost: z\r\nConnection: close\r\n\r\n";

TEST(HttpParser, SplitAtEveryByteParsesTheSame) {
  const Trace whole = feed_whole(kPipeline);
  ASSERT_EQ(whole.requests.size(), 5u);
  EXPECT_EQ(whole.consumed, kPipeline.size());
  EXPECT_EQ(feed_bytewise(kPipeline), whole);
}

TEST(HttpParser, EveryTwoWaySplitParsesTheSame) {
  const Trace whole = feed_whole(kPipeline);
  for (size_t cut = 0; cut <= kPipeline.size(); ++cut) {
    ASSERT_EQ(feed_in_pieces(kPipeline, {cut}), whole) << "cut at " << cut;
  }
}

TEST(HttpParser, EveryThreeWaySplitOfOneRequestParsesTheSame) {
  constexpr std::string_view req = "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx";
  const Trace whole = feed_whole(req);
  ASSERT_EQ(whole.requests.size(), 1u);
  for (size_t a = 0; a <= req.size(); ++a) {
    for (size_t b = a; b <= req.size(); ++b) {
      ASSERT_EQ(feed_in_pieces(req, {a, b}), whole) << "cuts at " << a << ", " << b;
    }
  }
}

TEST(HttpParser, AnErrorIsFoundAtTheSameByteHoweverTheStreamIsCut) {
  const std::string stream = std::string(kPipeline) + "GET / HTTP/1.1\r\nHost : a\r\n\r\n";
  const Trace whole = feed_whole(stream);
  EXPECT_EQ(whole.requests.size(), 5u);
  EXPECT_EQ(whole.error, 400);
  EXPECT_EQ(whole.error_at, kPipeline.size() + std::string_view("GET / HTTP/1.1\r\nHost ").size());
  EXPECT_EQ(feed_bytewise(stream), whole);
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    ASSERT_EQ(feed_in_pieces(stream, {cut}), whole) << "cut at " << cut;
  }
}

// ---- requests as real clients send them ----

// Captured on 127.0.0.1 with a Python listener that recorded each connection's bytes up to
// the first CRLFCRLF and answered "HTTP/1.1 200 OK", Content-Length: 2, Connection: close:
//   curl -s http://127.0.0.1:18083/           (curl 7.88.1, Debian 12)
//   curl -s -I http://127.0.0.1:18085/
//   curl -s -0 http://127.0.0.1:18086/
//   wrk -t1 -c1 -d1s http://127.0.0.1:18084/  (wrk 4.1.0; its first connection only probes
//                                              the address and sends nothing)
constexpr std::string_view kCurlGet =
    "GET / HTTP/1.1\r\nHost: 127.0.0.1:18083\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";
constexpr std::string_view kCurlHead =
    "HEAD / HTTP/1.1\r\nHost: 127.0.0.1:18085\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";
constexpr std::string_view kCurlHttp10 =
    "GET / HTTP/1.0\r\nHost: 127.0.0.1:18086\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";
constexpr std::string_view kWrkGet = "GET / HTTP/1.1\r\nHost: 127.0.0.1:18084\r\n\r\n";

TEST(HttpParser, CurlGet) {
  const Trace t = feed_whole(kCurlGet);
  ASSERT_EQ(t.requests.size(), 1u);
  EXPECT_EQ(t.requests[0], get_1_1());
  EXPECT_EQ(feed_bytewise(kCurlGet), t);
}

TEST(HttpParser, CurlHead) {
  const Trace t = feed_whole(kCurlHead);
  ASSERT_EQ(t.requests.size(), 1u);
  EXPECT_EQ(t.requests[0], (Request{Method::head, Version::http_1_1, true, true, 0}));
}

TEST(HttpParser, CurlHttp10) {
  const Trace t = feed_whole(kCurlHttp10);
  ASSERT_EQ(t.requests.size(), 1u);
  EXPECT_EQ(t.requests[0], (Request{Method::get, Version::http_1_0, false, false, 0}));
}

TEST(HttpParser, WrkKeepAliveStream) {
  // wrk sends the next request on the same connection after each response; a server that
  // reads slowly sees them back to back.
  std::string stream;
  for (int i = 0; i < 100; ++i) stream += kWrkGet;
  const Trace t = feed_whole(stream);
  ASSERT_EQ(t.requests.size(), 100u);
  for (const Request& r : t.requests) EXPECT_EQ(r, get_1_1());
  EXPECT_EQ(t.consumed, stream.size());
}

// ---- requests that end the connection ----

struct BadCase {
  const char* name;
  std::string_view stream;
  int status;
};

void PrintTo(const BadCase& c, std::ostream* os) {
  *os << c.name;
}

class HttpBadRequests : public ::testing::TestWithParam<BadCase> {};

TEST_P(HttpBadRequests, AreAnsweredWithTheirStatus) {
  const Trace whole = feed_whole(GetParam().stream);
  EXPECT_TRUE(whole.requests.empty());
  EXPECT_EQ(whole.error, GetParam().status);
  EXPECT_EQ(feed_bytewise(GetParam().stream), whole);
}

using namespace std::string_view_literals;
using namespace std::string_literals;

const std::vector<BadCase> kBadCases = {
    // Request line (RFC 9112 3): method SP request-target SP HTTP-version CRLF.
    BadCase{"missing_version", "GET /\r\n\r\n", 400},
    BadCase{"missing_target", "GET HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    BadCase{"only_a_method", "GET\r\n", 400},
    BadCase{"http2_version", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
    BadCase{"http09_version", "GET / HTTP/0.9\r\n\r\n", 505},
    BadCase{"lowercase_http_name", "GET / http/1.1\r\nHost: a\r\n\r\n", 400},
    BadCase{"two_digit_minor", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400},
    BadCase{"no_dot", "GET / HTTP/11\r\nHost: a\r\n\r\n", 400},
    BadCase{"letter_version", "GET / HTTP/x.1\r\nHost: a\r\n\r\n", 400},
    BadCase{"lowercase_method", "get / HTTP/1.1\r\nHost: a\r\n\r\n", 405},
    BadCase{"longer_than_post", "POSTS / HTTP/1.1\r\nHost: a\r\n\r\n", 405},
    BadCase{"lowercase_post", "post / HTTP/1.1\r\nHost: a\r\n\r\n", 405},
    BadCase{"delete", "DELETE / HTTP/1.1\r\nHost: a\r\n\r\n", 405},
    BadCase{"longer_than_head", "HEADS / HTTP/1.1\r\nHost: a\r\n\r\n", 405},
    BadCase{"prefix_of_get", "GE / HTTP/1.1\r\nHost: a\r\n\r\n", 405},
    BadCase{"two_spaces", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    BadCase{"leading_space", " GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    BadCase{"trailing_space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400},
    BadCase{"space_in_target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    BadCase{"tab_separator", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    BadCase{"non_token_method", "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    BadCase{"ctl_in_target", "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    BadCase{"non_ascii_target", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    BadCase{"bare_cr_after_version", "GET / HTTP/1.1\rHost: a\r\n\r\n", 400},
    BadCase{"bare_cr_before_request", "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    BadCase{"nul_in_method", "G\0T / HTTP/1.1\r\nHost: a\r\n\r\n"sv, 400},
    // Field lines (RFC 9112 5, RFC 9110 5).
    BadCase{"obs_fold_space", "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n", 400},
    BadCase{"obs_fold_tab", "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\tc\r\n\r\n", 400},
    BadCase{"space_before_first_field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400},
    BadCase{"space_before_colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
    BadCase{"tab_before_colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400},
    BadCase{"empty_field_name", "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", 400},
    BadCase{"no_colon", "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400},
    BadCase{"non_token_name", "GET / HTTP/1.1\r\nHost: a\r\nX(y): b\r\n\r\n", 400},
    BadCase{"ctl_in_value", "GET / HTTP/1.1\r\nHost: a\r\nX: b\x01\r\n\r\n", 400},
    BadCase{"del_in_value", "GET / HTTP/1.1\r\nHost: a\r\nX: b\x7f\r\n\r\n", 400},
    BadCase{"nul_in_value", "GET / HTTP/1.1\r\nHost: a\r\nX: \0\r\n\r\n"sv, 400},
    BadCase{"bare_cr_in_value", "GET / HTTP/1.1\r\nHost: a\r\nX: b\rc\r\n\r\n", 400},
    BadCase{"bare_cr_empty_line", "GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", 400},
    // Host (RFC 9112 3.2).
    BadCase{"missing_host_1_1", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400},
    BadCase{"two_hosts_1_1", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400},
    BadCase{"two_hosts_1_0", "GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", 400},
    // Content-Length (RFC 9110 8.6, RFC 9112 6.3 item 5).
    BadCase{"cl_letters", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n", 400},
    BadCase{"cl_negative", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400},
    BadCase{"cl_plus", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", 400},
    BadCase{"cl_hex", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", 400},
    BadCase{"cl_empty", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400},
    BadCase{"cl_inner_space", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", 400},
    BadCase{"cl_list_differs", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n", 400},
    BadCase{"cl_lines_differ",
            "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400},
    BadCase{"cl_empty_element", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,\r\n\r\n", 400},
    BadCase{"cl_overflows_64_bits",
            "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n", 400},
    // Transfer-Encoding (RFC 9112 6.1).
    BadCase{"te_chunked_1_1",
            "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501},
    BadCase{"te_with_cl_1_1",
            "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n"
            "\r\nabc",
            501},
    BadCase{"te_1_0", "GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400}};

INSTANTIATE_TEST_SUITE_P(HttpParser, HttpBadRequests, ::testing::ValuesIn(kBadCases));

TEST(HttpParser, ContentLengthAtTheEdgeOf64BitsParses) {
  RequestParser p;
  size_t consumed = 0;
  EXPECT_EQ(
      p.feed(bytes("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551615\r\n\r\nx"),
             consumed),
      Result::need_more);
}

TEST(HttpParser, AfterAnErrorNothingMoreIsAccepted) {
  RequestParser p;
  size_t consumed = 0;
  EXPECT_EQ(p.feed(bytes("GET / HTTP/3.0\r\n"), consumed), Result::error);
  EXPECT_EQ(consumed, std::string_view("GET / HTTP/3.0\r\n").size());
  EXPECT_EQ(p.error_status(), 505);
  EXPECT_TRUE(p.failed());
  EXPECT_EQ(p.feed(bytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), consumed), Result::error);
  EXPECT_EQ(consumed, 0u);
  EXPECT_EQ(p.error_status(), 505);
}

TEST(HttpParser, ErrorsAfterGoodRequestsKeepTheGoodOnes) {
  const Trace t = feed_whole("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(t.requests.size(), 1u);
  EXPECT_EQ(t.error, 400);
}

TEST(HttpParser, EmptyInputNeedsMore) {
  RequestParser p;
  size_t consumed = 1;
  EXPECT_EQ(p.feed({}, consumed), Result::need_more);
  EXPECT_EQ(consumed, 0u);
}

// ---- limits ----

std::string request_line_of_length(size_t n) {  // n bytes without the CRLF
  const std::string prefix = "GET /";
  const std::string suffix = " HTTP/1.1";
  return prefix + std::string(n - prefix.size() - suffix.size(), 'a') + suffix;
}

TEST(HttpParser, RequestLineOfMaxLengthIsAccepted) {
  const std::string req = request_line_of_length(RequestParser::kMaxLine) + "\r\nHost: a\r\n\r\n";
  EXPECT_EQ(feed_whole(req).requests.size(), 1u);
}

TEST(HttpParser, RequestLineOneLongerIs414) {
  const std::string req =
      request_line_of_length(RequestParser::kMaxLine + 1) + "\r\nHost: a\r\n\r\n";
  const Trace t = feed_whole(req);
  EXPECT_EQ(t.error, 414);
  EXPECT_EQ(t.error_at, RequestParser::kMaxLine + 1);
}

TEST(HttpParser, EndlessRequestTargetStopsAtTheLimit) {
  const std::string req = "GET /" + std::string(100'000, 'a');
  const Trace t = feed_whole(req);
  EXPECT_EQ(t.error, 414);
  EXPECT_EQ(t.error_at, RequestParser::kMaxLine + 1);
}

TEST(HttpParser, EndlessMethodIs501) {
  EXPECT_EQ(status_of(std::string(RequestParser::kMaxLine + 1, 'G')), 501);
}

TEST(HttpParser, FieldLineOfMaxLengthIsAccepted) {
  const std::string field = "X: " + std::string(RequestParser::kMaxLine - 3, 'v');
  const std::string req = "GET / HTTP/1.1\r\nHost: a\r\n" + field + "\r\n\r\n";
  EXPECT_EQ(feed_whole(req).requests.size(), 1u);
}

TEST(HttpParser, FieldLineOneLongerIs431) {
  for (const std::string& field : {"X: " + std::string(RequestParser::kMaxLine - 2, 'v'),
                                   std::string(RequestParser::kMaxLine + 1, 'N') + ": v",
                                   "X:" + std::string(RequestParser::kMaxLine - 1, ' ') + "v"}) {
    const std::string req = "GET / HTTP/1.1\r\nHost: a\r\n" + field + "\r\n\r\n";
    EXPECT_EQ(status_of(req), 431);
  }
}

// A head of exactly `n` bytes, request line through the empty line, in field lines well
// under the line limit ("X: " value CRLF is at least 5 bytes, so never leave 1..4 over).
std::string head_of_length(size_t n) {
  std::string head = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (size_t room = n - 2 - head.size(); room > 0; room = n - 2 - head.size()) {
    const size_t line = room <= 4005 ? room : std::min<size_t>(4005, room - 5);
    head += "X: " + std::string(line - 5, 'v') + "\r\n";
  }
  return head + "\r\n";
}

TEST(HttpParser, HeadOfMaxLengthIsAccepted) {
  const std::string head = head_of_length(RequestParser::kMaxHead);
  ASSERT_EQ(head.size(), RequestParser::kMaxHead);
  const Trace t = feed_whole(head);
  EXPECT_EQ(t.requests.size(), 1u);
  EXPECT_EQ(t.error, 0);
}

TEST(HttpParser, HeadOneLongerIs431) {
  const std::string head = head_of_length(RequestParser::kMaxHead + 1);
  ASSERT_EQ(head.size(), RequestParser::kMaxHead + 1);
  const Trace t = feed_whole(head);
  EXPECT_EQ(t.error, 431);
  EXPECT_EQ(t.error_at, RequestParser::kMaxHead + 1);
}

TEST(HttpParser, HeadLimitIsPerRequest) {
  std::string stream;
  for (int i = 0; i < 8; ++i) stream += head_of_length(RequestParser::kMaxHead);
  const Trace t = feed_whole(stream);
  EXPECT_EQ(t.requests.size(), 8u);
  EXPECT_EQ(t.error, 0);
}

// ---- a head that arrived whole: the fast path ----

// pollux-gen's keep-alive request (apps/pollux-gen/profile.cpp), the benchmark's common case.
constexpr std::string_view kGenGet =
    "GET / HTTP/1.1\r\nHost: 198.18.0.1:8080\r\nUser-Agent: pollux-gen\r\nAccept: */*\r\n\r\n";

// What parse_whole_head made of `stream` (nullopt: it left the stream to feed()).
std::optional<std::pair<Request, size_t>> fast(std::string_view stream) {
  Request r{Method::post, Version::http_1_0, false, true, 99};
  size_t consumed = 12345;
  if (!parse_whole_head(bytes(stream), r, consumed)) {
    EXPECT_EQ(consumed, 12345u) << "a head left to feed() consumes nothing";
    return std::nullopt;
  }
  return std::pair{r, consumed};
}

// The incremental parser alone: one byte at a time never holds a whole head.
std::optional<std::pair<Request, size_t>> incremental(std::string_view stream) {
  const Trace t = feed_bytewise(stream);
  if (t.requests.empty()) return std::nullopt;
  return std::pair{t.requests[0], t.request_ends[0]};
}

TEST(HttpFastPath, TakesTheHeadsRealClientsSendWhole) {
  for (std::string_view head : {kGenGet, kCurlGet, kCurlHead, kCurlHttp10, kWrkGet}) {
    const auto f = fast(head);
    ASSERT_TRUE(f.has_value()) << head;
    EXPECT_EQ(f->second, head.size()) << head;
    EXPECT_EQ(f, incremental(head)) << head;
  }
}

TEST(HttpFastPath, ReadsPersistenceLikeTheIncrementalParser) {
  for (std::string_view head : {
           "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"sv,
           "GET / HTTP/1.1\r\nHost: a\r\nconnection:CLOSE \r\n\r\n"sv,
           "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n"sv,
           "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade,\t close ,x\r\n\r\n"sv,
           "GET / HTTP/1.1\r\nHost: a\r\nConnection: clo se\r\n\r\n"sv,
           "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\x80\r\n\r\n"sv,
           "GET / HTTP/1.1\r\nHost: a\r\nConnection: ,,\r\n\r\n"sv,
           "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"sv,
           "GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n"sv,
           "GET / HTTP/1.0\r\nConnection: keep-alivex\r\n\r\n"sv,
           "GET / HTTP/1.9\r\nHost: a\r\n\r\n"sv,
           "POST /p HTTP/1.1\r\nHost: a\r\n\r\n"sv,
           "HEAD * HTTP/1.1\r\nHost: a\r\nX-Obs: caf\xc3\xa9\t!\r\n\r\n"sv,
       }) {
    const auto f = fast(head);
    ASSERT_TRUE(f.has_value()) << head;
    EXPECT_EQ(f, incremental(head)) << head;
  }
}

TEST(HttpFastPath, LeavesEverythingElseToTheIncrementalParser) {
  for (std::string_view head : {
           "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"sv,                         // empty line first
           "GET / HTTP/1.1\nHost: a\n\n"sv,                                   // bare LF
           "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nab"sv,     // body not all here
           "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2, 2\r\n\r\nab"sv,  // a list
           "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nab"sv,
           "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2 \r\n\r\nab"sv,  // OWS after it
           "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 00000000000000000002\r\n\r\nab"sv,
           "GET / HTTP/1.1\r\nHost: a\r\n"sv,    // not all here
           "GET / HTTP/1.1\r\nHost: a\r\n\r"sv,  // nor here
           "GET / HTTP/1.1\r\nHo"sv,             // nor here
       }) {
    EXPECT_FALSE(fast(head).has_value()) << head;
  }
  EXPECT_FALSE(fast(std::string(RequestParser::kMaxHead, 'G')).has_value());
}

TEST(HttpFastPath, LeavesEveryMalformedRequestToTheIncrementalParser) {
  for (const BadCase& c : kBadCases) EXPECT_FALSE(fast(c.stream).has_value()) << c.name;
}

TEST(HttpFastPath, TakesHeadsUpToTheLimitsAndNoFurther) {
  const std::string line = request_line_of_length(RequestParser::kMaxLine);
  EXPECT_TRUE(fast(line + "\r\nHost: a\r\n\r\n").has_value());
  EXPECT_FALSE(fast(request_line_of_length(RequestParser::kMaxLine + 1) + "\r\nHost: a\r\n\r\n")
                   .has_value());
  const std::string field = "X: " + std::string(RequestParser::kMaxLine - 3, 'v');
  EXPECT_TRUE(fast("GET / HTTP/1.1\r\nHost: a\r\n" + field + "\r\n\r\n").has_value());
  EXPECT_FALSE(fast("GET / HTTP/1.1\r\nHost: a\r\n" + field + "v\r\n\r\n").has_value());
  EXPECT_TRUE(fast(head_of_length(RequestParser::kMaxHead)).has_value());
  EXPECT_FALSE(fast(head_of_length(RequestParser::kMaxHead + 1)).has_value());
}

// The fast path scans the request-target, field names and field values eight bytes at a
// time. Every byte value at every position of runs of 1..20 bytes (so at every place in the
// first, second and third word, and runs ending anywhere in a word): the head is taken
// exactly when the byte belongs there, and then as the incremental parser completes it.
TEST(HttpFastPath, EveryByteAtEveryPlaceOfAScannedWordIsJudgedByItsClass) {
  const auto tchar = [](uint8_t c) {
    return std::isalnum(c) ||
           std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
  };
  struct Place {
    const char* name;
    std::string (*head)(const std::string& run);
    std::function<bool(uint8_t)> belongs;
  };
  const Place places[] = {
      {"target",
       [](const std::string& run) { return "GET /" + run + " HTTP/1.1\r\nHost: a\r\n\r\n"; },
       [](uint8_t c) { return c > 0x20 && c < 0x7f; }},
      // "X" first keeps the name from ever being one the parser reads; a ':' inside ends
      // the name early and the rest is a good value.
      {"field name",
       [](const std::string& run) {
         return "GET / HTTP/1.1\r\nHost: a\r\nX" + run + ": v\r\n\r\n";
       },
       [&](uint8_t c) { return tchar(c) || c == ':'; }},
      {"field value",
       [](const std::string& run) {
         return "GET / HTTP/1.1\r\nHost: a\r\nX: v" + run + "\r\n\r\n";
       },
       [](uint8_t c) { return (c >= 0x20 && c != 0x7f) || c == '\t'; }},
  };
  for (const Place& place : places) {
    for (size_t len = 1; len <= 20; ++len) {
      for (size_t at = 0; at < len; ++at) {
        for (int c = 0; c < 256; ++c) {
          std::string run(len, 'v');
          run[at] = static_cast<char>(c);
          const std::string head = place.head(run);
          const auto f = fast(head);
          ASSERT_EQ(f.has_value(), place.belongs(static_cast<uint8_t>(c)))
              << place.name << ": byte " << c << " at " << at << " of " << len;
          if (f) {
            ASSERT_EQ(f, incremental(head)) << place.name << ": byte " << c << " at " << at;
          }
        }
      }
    }
  }
}

// `stream` (a request, then more bytes) cut short at every byte, each time in a buffer of
// exactly that size (so that a scan reading past the end is a heap overflow the sanitizer
// build reports): the request is never taken short, and taken whole it consumes only its own
// `request_len` bytes.
void expect_taken_only_whole(const std::string& stream, size_t request_len) {
  for (size_t n = 0; n <= stream.size(); ++n) {
    const std::vector<uint8_t> exact(stream.begin(), stream.begin() + static_cast<ptrdiff_t>(n));
    Request r;
    size_t consumed = 0;
    const bool taken = parse_whole_head(exact, r, consumed);
    ASSERT_EQ(taken, n >= request_len) << "cut at " << n;
    if (taken) {
      EXPECT_EQ(consumed, request_len) << "cut at " << n;
    }
  }
}

TEST(HttpFastPath, AHeadCutAnywhereIsLeftAndWordScansStopAtTheBufferEnd) {
  const std::string head =
      "GET /a/long/path/to/scan?q=1 HTTP/1.1\r\nHost: 198.18.0.1:8080\r\n"
      "User-Agent: pollux-gen/with-a-long-version-string\r\nAccept: */*\r\n\r\n";
  expect_taken_only_whole(head + std::string(9, 'G'), head.size());
}

// A request with a Content-Length whose body arrived with its head is taken whole too: the
// same request, completed at the body's last byte, as the incremental parser completes it.
TEST(HttpFastPath, TakesARequestWithItsWholeBody) {
  const std::string post =
      "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n" + std::string(1000, 'x');
  for (const std::string& stream : {post, post + std::string(kGenGet),
                                    "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"s,
                                    "POST / HTTP/1.0\r\ncontent-length:0002\r\n\r\nab"s}) {
    const auto f = fast(stream);
    ASSERT_TRUE(f.has_value()) << stream;
    EXPECT_EQ(f, incremental(stream)) << stream;
  }
  const auto f = fast(post + std::string(kGenGet));
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->first, (Request{Method::post, Version::http_1_1, true, false, 1000}));
  EXPECT_EQ(f->second, post.size()) << "the next request is not consumed";
}

// The POST and the GET after it, in one buffer cut short at every byte: taken only once the
// whole body is there; then exactly the POST's bytes are consumed.
TEST(HttpFastPath, ARequestIsTakenOnlyWhenItsBodyIsAllThere) {
  const std::string post = "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 20\r\n\r\n" +
                           std::string("GET /evil HTTP/1.1\r\n");
  expect_taken_only_whole(post + std::string(kGenGet), post.size());
  const auto f = fast(post);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->first.content_length, 20u);
}

// Content-Length errors keep their statuses: the fast path leaves them, feed() answers 400.
TEST(HttpFastPath, MalformedDuplicatedOrTooLargeContentLengthsKeepTheirStatus) {
  for (std::string_view value :
       {"abc", "-1", "1 2", "5, 6", "5,", "", "18446744073709551616", "5\r\nContent-Length: 6"}) {
    const std::string stream =
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::string(value) + "\r\n\r\nabcdef";
    EXPECT_FALSE(fast(stream).has_value()) << value;
    EXPECT_EQ(status_of(stream), 400) << value;
  }
}

// The benchmark's request, and a pipeline of them, cut at every byte: the pieces go through
// the incremental parser and must complete the same requests at the same bytes as the whole.
TEST(HttpFastPath, ARequestSplitAtEveryBytePositionParsesAsWhole) {
  std::string stream;
  for (int i = 0; i < 3; ++i) stream += kGenGet;
  const Trace whole = feed_whole(stream);
  ASSERT_EQ(whole.requests.size(), 3u);
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    ASSERT_EQ(feed_in_pieces(stream, {cut}), whole) << "cut at " << cut;
  }
  EXPECT_EQ(feed_bytewise(stream), whole);
}

// Seeded heads built from good parts with a few bytes changed: wherever the fast path takes
// one, the incremental parser completes the same request at the same byte.
TEST(HttpFastPath, AgreesWithTheIncrementalParserOnMutatedHeads) {
  const std::vector<std::string_view> seeds = {
      kGenGet,     kCurlGet, kCurlHead,
      kCurlHttp10, kWrkGet,  "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"};
  constexpr std::string_view kAlphabet =
      "GEHADPOST/ :,\r\n\t019.HTTPhostconnectionclosekeep-alive\x80";
  uint32_t taken = 0;
  for (uint32_t seed = 1; seed <= 5000; ++seed) {
    std::mt19937 rng(seed);
    std::string input(seeds[rng() % seeds.size()]);
    for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0 && !input.empty(); --edits) {
      const size_t at = rng() % input.size();
      switch (rng() % 3) {
        case 0:
          input[at] = kAlphabet[rng() % kAlphabet.size()];
          break;
        case 1:
          input.insert(at, 1, kAlphabet[rng() % kAlphabet.size()]);
          break;
        default:
          input.erase(at, 1);
          break;
      }
    }
    const auto f = fast(input);
    if (!f) continue;
    ++taken;
    ASSERT_EQ(f, incremental(input)) << "seed " << seed;
  }
  EXPECT_GT(taken, 500u) << "the mutations should leave many heads good";
}

// ---- hostile input ----

// Whatever the bytes and however they are cut, the parser reports the same requests and the
// same error at the same offset, every call consumes or ends, and an error is one of the
// documented statuses. Seeded, so a failure reproduces; the seed is in the failure message.
TEST(HttpParser, RandomAndMutatedInputNeverMisbehaves) {
  const std::vector<std::string_view> seeds = {kPipeline, kCurlGet, kCurlHead, kCurlHttp10,
                                               kWrkGet};
  constexpr std::string_view kAlphabet =
      "GETHEADPOST/ :,\r\n\t0123456789HTTP/1.1Hostcontent-length"
      "connectionclosekeep-alivetransfer-encoding";
  for (uint32_t seed = 1; seed <= 3000; ++seed) {
    std::mt19937 rng(seed);
    std::string input;
    switch (seed % 3) {
      case 0: {  // arbitrary bytes, non-ASCII included
        input.resize(rng() % 300);
        for (char& c : input) c = static_cast<char>(rng());
        break;
      }
      case 1: {  // HTTP-flavoured noise
        input.resize(rng() % 300);
        for (char& c : input) c = kAlphabet[rng() % kAlphabet.size()];
        break;
      }
      default: {  // a good stream with a few bytes flipped, inserted or dropped
        input = seeds[rng() % seeds.size()];
        for (int edits = 1 + static_cast<int>(rng() % 4); edits > 0 && !input.empty(); --edits) {
          const size_t at = rng() % input.size();
          switch (rng() % 3) {
            case 0:
              input[at] = static_cast<char>(rng());
              break;
            case 1:
              input.insert(at, 1, kAlphabet[rng() % kAlphabet.size()]);
              break;
            default:
              input.erase(at, 1);
              break;
          }
        }
      }
    }
    std::vector<size_t> cuts;
    for (size_t i = 1; i < input.size(); ++i) {
      if (rng() % 8 == 0) cuts.push_back(i);
    }
    const Trace whole = feed_whole(input);
    ASSERT_EQ(feed_in_pieces(input, cuts), whole) << "seed " << seed;
    if (whole.error != 0) {
      const std::vector<int> documented = {400, 405, 414, 431, 501, 505};
      EXPECT_NE(std::find(documented.begin(), documented.end(), whole.error), documented.end())
          << "seed " << seed << " status " << whole.error;
    } else {
      EXPECT_EQ(whole.consumed, input.size()) << "seed " << seed;
    }
    if (::testing::Test::HasFailure()) FAIL() << "seed " << seed;
  }
}

// ---- responses ----

std::string as_string(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::string response(int status, uint64_t body_len, bool keep_alive,
                     Version version = Version::http_1_1, std::string_view date = {}) {
  std::array<uint8_t, 512> buf{};
  const size_t n = write_response(buf, status, body_len, keep_alive, version, date);
  return as_string(std::span(buf).first(n));
}

TEST(HttpResponse, OkKeepAlive) {
  EXPECT_EQ(response(200, 7, true),
            "HTTP/1.1 200 OK\r\n"
            "Server: pollux\r\n"
            "Content-Type: text/plain\r\n"
            "Content-Length: 7\r\n"
            "\r\n");
}

TEST(HttpResponse, OkClose) {
  EXPECT_EQ(response(200, 1048576, false),
            "HTTP/1.1 200 OK\r\n"
            "Server: pollux\r\n"
            "Content-Type: text/plain\r\n"
            "Content-Length: 1048576\r\n"
            "Connection: close\r\n"
            "\r\n");
}

TEST(HttpResponse, Http10KeepAliveSaysSo) {
  EXPECT_EQ(response(200, 0, true, Version::http_1_0),
            "HTTP/1.1 200 OK\r\n"
            "Server: pollux\r\n"
            "Content-Type: text/plain\r\n"
            "Content-Length: 0\r\n"
            "Connection: keep-alive\r\n"
            "\r\n");
  EXPECT_EQ(response(200, 0, false, Version::http_1_0), response(200, 0, false));
}

TEST(HttpResponse, DateWhenGiven) {
  EXPECT_EQ(response(200, 3, true, Version::http_1_1, "Sun, 06 Nov 1994 08:49:37 GMT"),
            "HTTP/1.1 200 OK\r\n"
            "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
            "Server: pollux\r\n"
            "Content-Type: text/plain\r\n"
            "Content-Length: 3\r\n"
            "\r\n");
}

TEST(HttpResponse, ForAParsedRequest) {
  RequestParser p;
  size_t consumed = 0;
  ASSERT_EQ(p.feed(bytes(kCurlHttp10), consumed), Result::request_complete);
  std::array<uint8_t, 256> buf{};
  const size_t n = write_response(buf, p.request(), 5);
  EXPECT_EQ(as_string(std::span(buf).first(n)), response(200, 5, false));
}

TEST(HttpResponse, APostIsAnsweredAsAGetIs) {
  std::array<uint8_t, 256> buf{};
  Request post;
  post.method = Method::post;
  post.content_length = 1000;
  EXPECT_EQ(as_string(std::span(buf).first(write_response(buf, post, 5))), response(200, 5, true));
}

TEST(HttpResponse, MethodNotAllowedWithAllowAndBody) {
  std::array<uint8_t, 512> buf{};
  const size_t n = write_error_response(buf, 405);
  EXPECT_EQ(as_string(std::span(buf).first(n)),
            "HTTP/1.1 405 Method Not Allowed\r\n"
            "Server: pollux\r\n"
            "Content-Type: text/plain\r\n"
            "Content-Length: 19\r\n"
            "Allow: GET, HEAD, POST\r\n"
            "Connection: close\r\n"
            "\r\n"
            "Method Not Allowed\n");
}

TEST(HttpResponse, BadRequest) {
  std::array<uint8_t, 512> buf{};
  const size_t n = write_error_response(buf, 400);
  EXPECT_EQ(as_string(std::span(buf).first(n)),
            "HTTP/1.1 400 Bad Request\r\n"
            "Server: pollux\r\n"
            "Content-Type: text/plain\r\n"
            "Content-Length: 12\r\n"
            "Connection: close\r\n"
            "\r\n"
            "Bad Request\n");
}

TEST(HttpResponse, EveryParserStatusHasAPhraseAndABody) {
  for (int status : {400, 405, 414, 431, 501, 505}) {
    EXPECT_FALSE(reason_phrase(status).empty()) << status;
    EXPECT_EQ(error_body(status), std::string(reason_phrase(status)) + "\n");
    std::array<uint8_t, 512> buf{};
    EXPECT_GT(write_error_response(buf, status), 0u) << status;
  }
}

TEST(HttpResponse, NothingIsWrittenUnlessAllOfItFits) {
  const std::string full = response(200, 123, false);
  std::vector<uint8_t> buf(full.size());
  for (size_t len = 0; len < full.size(); ++len) {
    EXPECT_EQ(write_response(std::span(buf).first(len), 200, 123, false), 0u) << len;
  }
  EXPECT_EQ(write_response(buf, 200, 123, false), full.size());

  std::array<uint8_t, 512> big{};
  const size_t error_len = write_error_response(big, 431);
  ASSERT_GT(error_len, 0u);
  EXPECT_EQ(write_error_response(std::span(big).first(error_len - 1), 431), 0u);
  EXPECT_EQ(write_error_response(std::span(big).first(error_len), 431), error_len);
}

TEST(HttpResponse, UnnamedStatusHasAnEmptyPhraseAndImpossibleOnesAreRefused) {
  EXPECT_EQ(response(299, 0, true).substr(0, 14), "HTTP/1.1 299 \r");
  EXPECT_EQ(response(99, 0, true), "");
  EXPECT_EQ(response(600, 0, true), "");
}

TEST(HttpResponse, LargestBodyLength) {
  EXPECT_NE(response(200, UINT64_MAX, true).find("Content-Length: 18446744073709551615\r\n"),
            std::string::npos);
}

TEST(HttpBody, RepeatsThePatternAndIsCutAtTheLength) {
  EXPECT_EQ(as_string(FixedBody(0).bytes()), "");
  EXPECT_EQ(as_string(FixedBody(3).bytes()), "pol");
  EXPECT_EQ(as_string(FixedBody(17).bytes()), "pollux\npollux\npol");
  const FixedBody big(1 << 20);
  ASSERT_EQ(big.size(), 1u << 20);
  for (size_t i : {size_t{0}, size_t{6}, size_t{7}, size_t{700001}, (size_t{1} << 20) - 1}) {
    EXPECT_EQ(big.bytes()[i], body_byte(i));
  }
}

TEST(HttpBody, FillBodyIntoCallerMemory) {
  std::array<uint8_t, 10> buf{};
  fill_body(buf);
  EXPECT_EQ(as_string(buf), "pollux\npol");
}

TEST(HttpDate, ImfFixdateOfTheRfcExample) {
  // RFC 9110 5.6.7's example, 784111777 seconds after the epoch.
  std::array<char, kImfFixdateLen> out{};
  imf_fixdate(std::chrono::sys_seconds(std::chrono::seconds(784111777)), out);
  EXPECT_EQ(std::string_view(out.data(), out.size()), "Sun, 06 Nov 1994 08:49:37 GMT");
  imf_fixdate(std::chrono::sys_seconds(std::chrono::seconds(0)), out);
  EXPECT_EQ(std::string_view(out.data(), out.size()), "Thu, 01 Jan 1970 00:00:00 GMT");
  imf_fixdate(std::chrono::sys_seconds(std::chrono::seconds(951825599)), out);
  EXPECT_EQ(std::string_view(out.data(), out.size()), "Tue, 29 Feb 2000 11:59:59 GMT");
}

}  // namespace
}  // namespace pollux::apps::http
