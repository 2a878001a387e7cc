#include "server_app.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "http.hpp"

namespace pollux::apps {

struct ServerApp::ConnState {
  http::RequestParser parser;
  // The response being written: head bytes, then `body_left` bytes of the fixed body.
  std::array<uint8_t, 512> head{};
  uint32_t head_len = 0, head_off = 0;
  uint64_t body_off = 0, body_left = 0;
  const uint8_t* body = nullptr;
  bool close_after = false;  // close once the response is out (Connection: close, errors)
  bool peer_closed = false;
  // Timeouts (tick): the connection while it is ours, when a byte last moved either way,
  // when the unfinished request head began (0: none), and whether we closed it for that.
  Conn* conn = nullptr;
  uint64_t active_ns = 0;
  uint64_t head_since_ns = 0;
  bool timed_out = false;

  void reset() {
    parser = http::RequestParser{};
    head_len = head_off = 0;
    body_off = body_left = 0;
    body = nullptr;
    close_after = peer_closed = false;
    conn = nullptr;
    active_ns = head_since_ns = 0;
    timed_out = false;
  }
};

ServerApp::ServerApp(Stack& tcp, const ServerOptions& opts)
    : tcp_(tcp), opts_(opts), source_pattern_(64 * 1024), http_body_(opts.http_body) {
  events_.accepted = on_accepted;
  events_.readable = on_readable;
  events_.writable = on_writable;
  events_.peer_closed = on_peer_closed;
  events_.closed = on_closed;
  for (size_t i = 0; i < source_pattern_.size(); ++i)
    source_pattern_[i] = static_cast<uint8_t>('a' + i % 26);
  http::fill_body(http_body_);
  // Per-connection state for every TCB the layer can hold: no allocation per connection.
  const uint32_t n = tcp.max_connections();
  pool_.reserve(n);
  free_.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    pool_.push_back(std::make_unique<ConnState>());
    free_.push_back(pool_.back().get());
  }
}

ServerApp::~ServerApp() = default;

bool ServerApp::start() {
  return tcp_.listen(opts_.tcp_port, &events_, this, opts_.backlog) == TcpError::ok;
}

void ServerApp::on_accepted(void* ctx, Conn* c) {
  auto* self = static_cast<ServerApp*>(ctx);
  ++self->stats_.accepted;
  if (self->free_.empty()) {
    // Cannot happen (one state per TCB), but never run without state.
    self->tcp_.abort(c);
    return;
  }
  ConnState* s = self->free_.back();
  self->free_.pop_back();
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
  if (now_ns < next_sweep_ns_) return;
  next_sweep_ns_ = now_ns + 250'000'000;
  const uint64_t idle = uint64_t{opts_.idle_timeout_s} * 1'000'000'000;
  const uint64_t head = uint64_t{opts_.header_timeout_s} * 1'000'000'000;
  // One pass over the states (one per TCB the layer can hold) four times a second: cheap
  // beside the traffic, and no timer per connection. Closing is graceful (FIN after what
  // is queued); a peer that will not take it meets the stack's --fin-timeout.
  for (const auto& p : pool_) {
    ConnState& s = *p;
    if (s.conn == nullptr || s.timed_out) continue;
    if (head != 0 && s.head_since_ns != 0 && now_ns - s.head_since_ns >= head) {
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
    s->conn = nullptr;
    self->free_.push_back(s);
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
  if (s.head_off < s.head_len) {
    s.head_off +=
        static_cast<uint32_t>(tcp_.send(c, {s.head.data() + s.head_off, s.head_len - s.head_off}));
    if (s.head_off < s.head_len) return false;
  }
  while (s.body_left > 0) {
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(s.body_left, 64 * 1024));
    const size_t sent = tcp_.send(c, {s.body + s.body_off, chunk});
    stats_.bytes_out += sent;
    s.body_off += sent;
    s.body_left -= sent;
    if (sent < chunk) return false;
  }
  return true;
}

void ServerApp::pump_http(Conn* c, ConnState& s) {
  for (;;) {
    if (!write_pending(c, s)) return;  // resumed by `writable`
    if (s.close_after) return tcp_.close(c);
    // Next request: answered in order, one at a time (RFC 9112 9.3.2 pipelining).
    ByteSpan spans[16];
    const size_t n = tcp_.peek(c, spans, 16);
    if (n == 0) {
      if (s.peer_closed) tcp_.close(c);
      return;
    }
    bool have_response = false;
    for (size_t i = 0; i < n && !have_response; ++i) {
      size_t consumed = 0;
      const http::Result r = s.parser.feed({spans[i].data, spans[i].len}, consumed);
      stats_.bytes_in += consumed;
      tcp_.consume(c, static_cast<uint32_t>(consumed));
      if (r == http::Result::need_more) continue;
      have_response = true;
      s.head_off = 0;
      s.body_off = 0;
      if (r == http::Result::request_complete) {
        ++stats_.requests;
        const http::Request& req = s.parser.request();
        s.head_len = static_cast<uint32_t>(http::write_response(s.head, req, http_body_.size()));
        s.body = http_body_.data();
        s.body_left = req.head_only ? 0 : http_body_.size();
        s.close_after = !req.keep_alive;
      } else {
        ++stats_.bad_requests;
        s.head_len =
            static_cast<uint32_t>(http::write_error_response(s.head, s.parser.error_status()));
        s.body_left = 0;
        s.close_after = true;
      }
    }
    // The header timeout runs from the first byte of a head until the head is complete.
    if (!s.parser.in_head())
      s.head_since_ns = 0;
    else if (s.head_since_ns == 0)
      s.head_since_ns = std::max<uint64_t>(now_ns_, 1);
    if (!have_response) {
      // Everything readable was part of an unfinished request.
      if (s.peer_closed) tcp_.close(c);
      return;
    }
  }
}

}  // namespace pollux::apps
