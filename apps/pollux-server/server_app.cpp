#include "server_app.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "http.hpp"

namespace pollux::apps {

void ServerConnState::reset() {
  parser = nullptr;
  conn = nullptr;
  head = nullptr;
  active_ns = 0;
  body_left = 0;
  head_off = head_len = 0;
  status = 0;
  version = http::Version::http_1_1;
  head_due = head_waiting = close_after = peer_closed = timed_out = false;
}

namespace {
// Head buffers: enough for the connections whose peers are slow to read at one time, not one
// per connection (a head only needs one while the send queue is nearly full).
uint32_t head_buffer_count(const ServerOptions& o, uint32_t max_connections) {
  if (o.mode != ServerMode::http) return 0;
  if (o.http_head_buffers != 0) return o.http_head_buffers;
  return std::max<uint32_t>(16, max_connections / 16);
}
// Parsers: for the requests that arrive in pieces at one time, as many as head buffers.
uint32_t parser_count(const ServerOptions& o, uint32_t max_connections) {
  if (o.mode != ServerMode::http) return 0;
  if (o.http_parsers != 0) return o.http_parsers;
  return std::max<uint32_t>(16, max_connections / 16);
}
}  // namespace

ServerApp::ServerApp(Stack& tcp, const ServerOptions& opts)
    : tcp_(tcp),
      opts_(opts),
      source_pattern_(64 * 1024),
      http_body_(opts.http_body),
      // Per-connection state for every TCB the layer can hold: no allocation per connection.
      states_(tcp.max_connections()),
      heads_(head_buffer_count(opts, tcp.max_connections())),
      parsers_(parser_count(opts, tcp.max_connections())) {
  events_.accepted = on_accepted;
  events_.readable = on_readable;
  events_.writable = on_writable;
  events_.peer_closed = on_peer_closed;
  events_.closed = on_closed;
  for (size_t i = 0; i < source_pattern_.size(); ++i)
    source_pattern_[i] = static_cast<uint8_t>('a' + i % 26);
  http::fill_body(http_body_);
  // Every 200 head this server sends is one of four (persistence x version; no Date here):
  // made once, copied into the send queue per response instead of formatted each time.
  for (const bool keep_alive : {false, true}) {
    for (const http::Version v : {http::Version::http_1_0, http::Version::http_1_1}) {
      OkHead& h = ok_head(keep_alive, v);
      h.len = static_cast<uint16_t>(
          http::write_response(h.bytes, 200, http_body_.size(), keep_alive, v));
    }
  }
}

ServerApp::~ServerApp() = default;

bool ServerApp::start() {
  return tcp_.listen(opts_.tcp_port, &events_, this, opts_.backlog) == TcpError::ok;
}

void ServerApp::on_accepted(void* ctx, Conn* c) {
  auto* self = static_cast<ServerApp*>(ctx);
  ++self->stats_.accepted;
  ConnState* s = self->states_.take();
  if (!s) {
    // Cannot happen (one state per TCB), but never run without state.
    self->tcp_.abort(c);
    return;
  }
  s->reset();
  s->conn = c;
  s->active_ns = self->now_ns_;
  Stack::set_user(c, s);
  if (self->opts_.mode == ServerMode::source) self->pump(c);
}

// Readable: bytes arrived; writable: the peer acknowledged some of ours. Either is activity.
void ServerApp::on_readable(void* ctx, Conn* c) {
  auto* self = static_cast<ServerApp*>(ctx);
  if (auto* s = static_cast<ConnState*>(Stack::user(c))) s->active_ns = self->now_ns_;
  self->pump(c);
}
void ServerApp::on_writable(void* ctx, Conn* c) {
  auto* self = static_cast<ServerApp*>(ctx);
  if (auto* s = static_cast<ConnState*>(Stack::user(c))) s->active_ns = self->now_ns_;
  self->pump(c);
}

void ServerApp::on_iteration(void* ctx, uint64_t now_ns) {
  static_cast<ServerApp*>(ctx)->tick(now_ns);
}

void ServerApp::tick(uint64_t now_ns) {
  now_ns_ = now_ns;
  if (head_returned_ && now_ns >= next_head_retry_ns_) retry_head_waiters();
  if (now_ns < next_sweep_ns_) return;
  next_sweep_ns_ = now_ns + 250'000'000;
  const uint64_t idle = uint64_t{opts_.idle_timeout_s} * 1'000'000'000;
  const uint64_t head = uint64_t{opts_.header_timeout_s} * 1'000'000'000;
  // One pass over the states (one per TCB the layer can hold) four times a second: cheap
  // beside the traffic, and no timer per connection. Closing is graceful (FIN after what
  // is queued); a peer that will not take it meets the stack's --fin-timeout.
  for (ConnState& s : states_.items()) {
    if (s.conn == nullptr || s.timed_out) continue;
    if (head != 0 && s.parser && s.parser->head_since_ns != 0 &&
        now_ns - s.parser->head_since_ns >= head) {
      ++stats_.header_timeouts;
    } else if (idle != 0 && now_ns - s.active_ns >= idle) {
      ++stats_.idle_timeouts;
    } else {
      continue;
    }
    s.timed_out = true;
    tcp_.close(s.conn);
  }
}

void ServerApp::on_peer_closed(void* ctx, Conn* c) {
  auto* self = static_cast<ServerApp*>(ctx);
  if (auto* s = static_cast<ConnState*>(Stack::user(c))) s->peer_closed = true;
  self->pump(c);
}

void ServerApp::on_closed(void* ctx, Conn* c, CloseReason why) {
  auto* self = static_cast<ServerApp*>(ctx);
  ++self->stats_.closed;
  if (why == CloseReason::reset || why == CloseReason::timeout) ++self->stats_.resets;
  // The TCB lives until this event returns: its final snapshot is the connection's record.
  // The full ConnInfo only when --conn-info asked for the line; the totals need the counts.
  self->conn_totals_.add(self->tcp_.counts(c));
  if (self->opts_.conn_info) {
    const ConnInfo ci = self->tcp_.info(c);
    const Endpoint peer = Stack::remote(c);
    std::printf("conn-closed %s:%u %s %s\n", peer.ip.to_string().c_str(), peer.port,
                close_reason_name(why), conn_info_line(ci).c_str());
    std::fflush(stdout);
  }
  if (auto* s = static_cast<ConnState*>(Stack::user(c))) {
    Stack::set_user(c, nullptr);
    if (s->head) self->put_head(*s);
    if (s->parser) self->return_parser(*s);
    if (s->head_waiting) --self->head_waiters_;
    s->reset();
    self->states_.put(s);
  }
}

void ServerApp::pump(Conn* c) {
  auto* s = static_cast<ConnState*>(Stack::user(c));
  if (!s || s->timed_out) return;
  switch (opts_.mode) {
    case ServerMode::echo:
      return pump_echo(c, *s);
    case ServerMode::discard: {
      const uint32_t n = tcp_.readable_bytes(c);
      stats_.bytes_in += n;
      tcp_.consume(c, n);
      if (s->peer_closed) tcp_.close(c);
      return;
    }
    case ServerMode::source:
      tcp_.consume(c, tcp_.readable_bytes(c));
      if (s->peer_closed) return tcp_.close(c);
      return pump_source(c);
    case ServerMode::http:
      return pump_http(c, *s);
  }
}

void ServerApp::pump_echo(Conn* c, ConnState& s) {
  ByteSpan spans[16];
  for (;;) {
    const size_t n = tcp_.peek(c, spans, 16);
    if (n == 0) break;
    bool short_write = false;
    for (size_t i = 0; i < n; ++i) {
      const size_t sent = tcp_.send(c, {spans[i].data, spans[i].len});
      stats_.bytes_in += sent;
      stats_.bytes_out += sent;
      tcp_.consume(c, static_cast<uint32_t>(sent));
      if (sent < spans[i].len) {
        short_write = true;  // the send queue is full: `writable` resumes us
        break;
      }
    }
    if (short_write) return;
  }
  // Everything received was echoed: after the peer's FIN, finish our side too.
  if (s.peer_closed) tcp_.close(c);
}

void ServerApp::pump_source(Conn* c) {
  for (;;) {
    const size_t sent = tcp_.send(c, source_pattern_);
    stats_.bytes_out += sent;
    if (sent < source_pattern_.size()) return;
  }
}

bool ServerApp::write_pending(Conn* c, ConnState& s) {
  if (s.head_due && !start_head(c, s)) return false;
  if (s.head) {
    s.head_off += static_cast<uint16_t>(
        tcp_.send(c, {s.head->bytes.data() + s.head_off, size_t{s.head_len} - s.head_off}));
    if (s.head_off < s.head_len) return false;
    put_head(s);
  }
  while (s.body_left > 0) {
    const size_t off = http_body_.size() - s.body_left;
    const size_t chunk = std::min<size_t>(s.body_left, 64 * 1024);
    const size_t sent = tcp_.send(c, {http_body_.data() + off, chunk});
    stats_.bytes_out += sent;
    s.body_left -= static_cast<uint32_t>(sent);
    if (sent < chunk) return false;
  }
  return true;
}

// The decided response's head goes straight into the send queue, which copies what it takes;
// only a rest the queue would not take is kept, in a buffer borrowed from the pool. With
// none free, nothing is sent unless all of it fits: the response waits (head_waiting), resumed
// by `writable` (the queue drained) or by a buffer coming back (retry_head_waiters). The head
// comes from what the state kept (status, version): a 200's was made at start (ok_heads_), an
// error's is made again for each attempt, so a
// waiting connection holds no bytes; it depends on nothing else (no Date), so an attempt that
// sent a part (head_off) continues exactly where the last one stopped.
bool ServerApp::start_head(Conn* c, ConnState& s) {
  std::array<uint8_t, kHeadBytes> error;
  const uint8_t* bytes = error.data();
  size_t len = 0;
  if (s.status == 200) {
    const OkHead& h = ok_head(!s.close_after, s.version);
    bytes = h.bytes.data();
    len = h.len;
  } else {
    len = http::write_error_response(error, s.status);
  }
  const size_t rest = len - s.head_off;
  if (heads_.empty() && tcp_.send_space(c) < rest) {
    tcp_.want_writable(c, static_cast<uint32_t>(rest));
    if (!s.head_waiting) {
      s.head_waiting = true;
      ++head_waiters_;
      ++stats_.head_buffer_waits;
    }
    return false;
  }
  const size_t sent = tcp_.send(c, {bytes + s.head_off, rest});
  if (sent < rest) {
    HeadBuffer* b = heads_.take();
    if (!b) {
      // send() took less than send_space() said (no mbuf): the rest is made again next time.
      s.head_off = static_cast<uint16_t>(s.head_off + sent);
      if (!s.head_waiting) {
        s.head_waiting = true;
        ++head_waiters_;
        ++stats_.head_buffer_waits;
      }
      return false;
    }
    ++stats_.head_buffers_borrowed;
    std::memcpy(b->bytes.data(), bytes + s.head_off + sent, rest - sent);
    s.head = b;
    s.head_len = static_cast<uint16_t>(rest - sent);
  }
  s.head_off = 0;
  s.head_due = false;
  if (s.head_waiting) {
    s.head_waiting = false;
    --head_waiters_;
  }
  return true;
}

void ServerApp::put_head(ConnState& s) {
  heads_.put(s.head);
  s.head = nullptr;
  s.head_off = s.head_len = 0;
  if (head_waiters_ > 0) head_returned_ = true;
}

// A buffer came back while responses waited for one: one walk over the states, at most once a
// millisecond (waiting needs the pool empty, which is rare; the walk is then the cheap part).
void ServerApp::retry_head_waiters() {
  head_returned_ = false;
  next_head_retry_ns_ = now_ns_ + 1'000'000;
  for (ConnState& s : states_.items()) {
    if (heads_.empty() || head_waiters_ == 0) return;
    if (s.conn != nullptr && s.head_waiting && !s.timed_out) pump(s.conn);
  }
}

// One received span into the connection's request: in place when a whole head starts it (no
// parser needed), else through a parser borrowed from the pool until the request is done.
// A decided request or error leaves its answer in s (status, version, body_left, close_after).
http::Result ServerApp::parse_request(std::span<const uint8_t> bytes, ConnState& s,
                                      size_t& consumed) {
  http::Request req;
  http::Result r = http::Result::request_complete;
  if (s.parser == nullptr && !http::parse_whole_head(bytes, req, consumed)) {
    s.parser = parsers_.take();
    if (s.parser == nullptr) {
      // Every parser is lent (that many requests arriving in pieces at once): refuse this
      // one rather than hold its bytes unread. 503 (RFC 9110 15.6.4) and close: what
      // follows it on the connection could not be framed without reading it.
      ++stats_.parser_pool_empty;
      consumed = 0;
      s.status = 503;
      s.body_left = 0;
      s.close_after = true;
      return http::Result::error;
    }
    ++stats_.parsers_lent;
    s.parser->parser = http::RequestParser{};
    s.parser->head_since_ns = 0;
  }
  if (s.parser != nullptr) {
    r = s.parser->parser.feed(bytes, consumed);
    if (r == http::Result::request_complete) req = s.parser->parser.request();
  }
  if (r == http::Result::request_complete) {
    ++stats_.requests;
    s.status = 200;
    s.version = req.version;
    s.body_left = req.head_only ? 0 : static_cast<uint32_t>(http_body_.size());
    s.close_after = !req.keep_alive;
  } else if (r == http::Result::error) {
    ++stats_.bad_requests;
    s.status = static_cast<uint16_t>(s.parser->parser.error_status());
    s.body_left = 0;
    s.close_after = true;
  }
  return r;
}

void ServerApp::return_parser(ConnState& s) {
  parsers_.put(s.parser);
  s.parser = nullptr;
}

void ServerApp::pump_http(Conn* c, ConnState& s) {
  for (;;) {
    if (!write_pending(c, s)) return;  // resumed by `writable`
    if (s.close_after) return tcp_.close(c);
    // Next request: answered in order, one at a time (RFC 9112 9.3.2 pipelining). A few
    // spans at a time: a request is mostly one; more are read by going round again.
    constexpr size_t kSpans = 4;
    ByteSpan spans[kSpans];
    const size_t n = tcp_.peek(c, spans, kSpans);
    if (n == 0) {
      if (s.peer_closed) tcp_.close(c);
      return;
    }
    bool have_response = false;
    for (size_t i = 0; i < n && !have_response; ++i) {
      size_t consumed = 0;
      const http::Result r = parse_request({spans[i].data, spans[i].len}, s, consumed);
      stats_.bytes_in += consumed;
      tcp_.consume(c, static_cast<uint32_t>(consumed));
      if (r == http::Result::need_more) continue;
      have_response = true;
      s.head_due = true;  // start_head (write_pending) takes it from here
    }
    // Between requests a parser holds nothing the next one needs: back to the pool.
    if (s.parser && !s.parser->parser.in_head() && !s.parser->parser.in_body()) return_parser(s);
    // The header timeout runs from the first byte of a head until the head is complete: only
    // a head in pieces has a start, and it holds a parser until it is complete.
    if (ServerParser* p = s.parser) {
      if (!p->parser.in_head())
        p->head_since_ns = 0;
      else if (p->head_since_ns == 0)
        p->head_since_ns = std::max<uint64_t>(now_ns_, 1);
    }
    if (!have_response) {
      // Every span peeked was part of an unfinished request: read on if there may be more
      // (a request in more pieces than kSpans, e.g. a hole the reassembly filled, must not
      // wait for the next segment to be read on).
      if (n == kSpans) continue;
      if (s.peer_closed) tcp_.close(c);
      return;
    }
  }
}

}  // namespace pollux::apps
