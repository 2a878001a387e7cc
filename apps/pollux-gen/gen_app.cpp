#include "gen_app.hpp"

#include <algorithm>
#include <string>

namespace pollux::apps {

namespace {
constexpr uint32_t kMaxOpensPerTurn = 32;  // SYNs per loop turn: bursts stay small
constexpr size_t kPatternBytes = 64 * 1024;
}  // namespace

GenApp::GenApp(Stack& tcp, std::vector<Ipv4Addr> sources, std::vector<Ipv6Addr> sources6,
               const GenOptions& opts, uint32_t share, double rate)
    : tcp_(tcp),
      sources_(std::move(sources)),
      sources6_(std::move(sources6)),
      opts_(opts),
      share_(share),
      rate_(rate),
      open_loop_(opts.mode == GenMode::rps && rate > 0),
      dsts_(destinations(opts)),
      states_(share),
      parsers_(!opts.http          ? 0
               : opts.parsers != 0 ? opts.parsers
                                   : share) {
  {
    std::vector<Weighted> weights;
    for (const auto& d : dsts_) weights.push_back(Weighted{0, d.weight});
    dst_pick_ = WeightedCycle(weights);
    dst_stats_ = std::vector<DestStats>(dsts_.size());
  }
  events_.connected = on_connected;
  events_.readable = on_readable;
  events_.writable = on_writable;
  events_.peer_closed = on_peer_closed;
  events_.closed = on_closed;
  conn_opts_.nodelay = true;  // requests go out whole and at once
  profile_ = RateProfile(opts_);
  profiled_ = !profile_.flat();
  req_sizes_ = WeightedCycle(opts_.req_sizes);
  resp_sizes_ = WeightedCycle(opts_.resp_sizes);
  bodies_ = WeightedCycle(opts_.body_sizes);
  if (opts_.http) {
    for (const auto& r : http_requests(opts_)) requests_.emplace_back(r.begin(), r.end());
  } else {
    uint64_t largest = opts_.req_size;
    for (const auto& w : opts_.req_sizes) largest = std::max(largest, w.value);
    auto& pattern = requests_.emplace_back(
        std::min<size_t>(opts_.mode == GenMode::bulk ? kPatternBytes : largest, kPatternBytes));
    for (size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<uint8_t>('a' + i % 26);
  }
  if (open_loop_) {
    // Each connection sends every share/rate seconds, like wrk2: the aggregate is `rate`.
    interval_ns_ = static_cast<uint64_t>(1e9 * static_cast<double>(share_) / rate_);
    due_.reserve(share_);
  }
}

GenApp::~GenApp() = default;

void GenApp::on_iteration(void* ctx, uint64_t now_ns) {
  auto* self = static_cast<GenApp*>(ctx);
  // Most turns of a loaded closed-loop generator find every slot in use: nothing to open and
  // nothing due, so only the clock moves (as tick() would: it returns at the same test, and
  // the token bucket gains nothing for such a turn either). This keeps the call small: tick()
  // saves half the registers on entry (issue 13 item 4: ~400 instructions per connection).
  if (self->last_ns_ != 0 && !self->open_loop_ && self->live_ >= self->share_) {
    self->last_ns_ = self->now_ = now_ns;
    return;
  }
  self->tick(now_ns);
}

void GenApp::tick(uint64_t now) {
  if (last_ns_ == 0) start_ns_ = now + uint64_t{opts_.delay_s} * 1'000'000'000;
  const uint64_t dt = last_ns_ ? now - last_ns_ : 0;
  last_ns_ = now;
  now_ = now;
  if (now < start_ns_) return;
  if (open_loop_) send_due();
  if (live_ >= share_ || (!probed_ && live_ > 0)) return;
  uint32_t budget = probed_ ? std::min(kMaxOpensPerTurn, share_ - live_) : 1;
  if (rate_ > 0 && !open_loop_) {
    // Token bucket: at most 10 ms worth (and at least one) saved up; during --ramp and
    // --rate's steps the rate is the profile's share of it.
    const double share = profiled_ ? profile_.fraction_at(now - start_ns_) : 1.0;
    tokens_ = std::min(tokens_ + rate_ * share * static_cast<double>(dt) * 1e-9,
                       std::max(1.0, rate_ / 100.0));
    budget = std::min<uint32_t>(budget, static_cast<uint32_t>(tokens_));
  }
  for (uint32_t i = 0; i < budget; ++i) {
    if (!open_one()) break;
    if (rate_ > 0 && !open_loop_) tokens_ -= 1.0;
  }
}

namespace {
// due_ is a min-heap on due (ConnState::due).
bool later(const GenApp::ConnState* a, const GenApp::ConnState* b) {
  return a->due > b->due;
}
}  // namespace

void GenApp::wait_until_due(ConnState& s) {
  s.waiting = true;
  due_.push_back(&s);
  std::push_heap(due_.begin(), due_.end(), later);
}

uint64_t GenApp::due_time(const ConnState& s) const {
  return profiled_ ? start_ns_ + profile_.time_for_work(s.due) : s.due;
}

void GenApp::send_due() {
  while (!due_.empty()) {
    const uint64_t t_due = due_time(*due_.front());
    if (t_due > now_) return;
    std::pop_heap(due_.begin(), due_.end(), later);
    ConnState* s = due_.back();
    due_.pop_back();
    s->waiting = false;
    start_request(*s, t_due);
  }
}

bool GenApp::open_one() {
  ConnState* s = states_.take();  // never empty: live_ < share_
  *s = ConnState{};
  TcpError err = TcpError::ok;
  s->t_mark = now_;
  s->dst = static_cast<uint32_t>(dst_pick_.next());
  const Destination& d = dsts_[s->dst];
  if (d.addr.ipv6) {
    s->conn = sources6_.open(
        [&](const Ipv6Addr& src, TcpError& e) {
          return tcp_.connect(src, d.addr.v6, d.port, &events_, this, 0, conn_opts_, e, now_);
        },
        err);
  } else {
    s->conn = sources_.open(
        [&](Ipv4Addr src, TcpError& e) {
          return tcp_.connect(src, d.addr.v4, d.port, &events_, this, 0, conn_opts_, e, now_);
        },
        err);
  }
  if (!s->conn) {
    // Table full (an error), or no free port on any source address (TIME-WAIT holds them: a
    // wait): counted, tried again next turn.
    if (err == TcpError::no_ephemeral_port)
      stats_.port_waits.add();
    else
      count_error(*s, stats_.local);
    states_.put(s);
    return false;
  }
  Stack::set_user(s->conn, s);
  ++live_;
  stats_.opens.add();
  dst_stats_[s->dst].opens.add();
  return true;
}

void GenApp::release(ConnState& s) {
  if (s.established) stats_.active.sub();
  if (s.waiting) {
    // Rare (a reset or a close while idle): a linear removal keeps the heap exact.
    due_.erase(std::find(due_.begin(), due_.end(), &s));
    std::make_heap(due_.begin(), due_.end(), later);
    s.waiting = false;
  }
  if (s.parser) return_parser(s);
  if (s.conn) {
    if (s.established) finished_conns_.add(tcp_.counts(s.conn));
    Stack::set_user(s.conn, nullptr);
  }
  s.conn = nullptr;
  --live_;
  states_.put(&s);
}

void GenApp::return_parser(ConnState& s) {
  parsers_.put(s.parser);
  s.parser = nullptr;
}

ConnTotals GenApp::conn_totals() {
  ConnTotals t = finished_conns_;
  for (const ConnState& s : states_.items())  // every state ever lent; free ones hold no conn
    if (s.conn && s.established) t.add(tcp_.counts(s.conn));
  return t;
}

void GenApp::count_error(const ConnState& s, StatCounter& c) {
  c.add();
  dst_stats_[s.dst].errors.add();
}

void GenApp::finish(ConnState& s, bool abort) {
  Conn* c = s.conn;
  stats_.closes.add();
  release(s);
  if (abort)
    tcp_.abort(c);
  else
    tcp_.close(c);
}

void GenApp::on_connected(void* ctx, Conn* c) {
  auto* self = static_cast<GenApp*>(ctx);
  auto* s = static_cast<ConnState*>(Stack::user(c));
  if (!s) return;
  s->established = true;
  self->probed_ = true;
  self->stats_.established.add();
  self->dst_stats_[s->dst].established.add();
  self->stats_.active.add();
  self->connect_ns_.record(self->now_ - s->t_mark);
  switch (self->opts_.mode) {
    case GenMode::cps:
      return self->start_request(*s, self->now_);
    case GenMode::rps:
      if (!self->open_loop_) return self->start_request(*s, self->now_);
      // Spread the connections' schedules over one interval instead of firing together.
      // With a profile, the same in full-rate time from the start (ConnState::due).
      s->due =
          (self->profiled_ ? self->profile_.work_at(self->now_ - self->start_ns_) : self->now_) +
          self->interval_ns_ * (self->stagger_++ % self->share_) / self->share_;
      return self->wait_until_due(*s);
    case GenMode::bulk:
      return self->pump_bulk(*s);
    case GenMode::hold:
      return;
  }
}

void GenApp::on_readable(void* ctx, Conn* c) {
  auto* self = static_cast<GenApp*>(ctx);
  auto* s = static_cast<ConnState*>(Stack::user(c));
  if (!s) return;
  switch (self->opts_.mode) {
    case GenMode::cps:
    case GenMode::rps:
      return self->read_response(*s);
    case GenMode::bulk:
      self->drain(*s);
      return self->pump_bulk(*s);
    case GenMode::hold:
      return self->drain(*s);
  }
}

void GenApp::on_writable(void* ctx, Conn* c) {
  auto* self = static_cast<GenApp*>(ctx);
  auto* s = static_cast<ConnState*>(Stack::user(c));
  if (!s) return;
  if (self->opts_.mode == GenMode::bulk) return self->pump_bulk(*s);
  if (s->in_request) self->write_request(*s);
}

void GenApp::on_peer_closed(void* ctx, Conn* c) {
  auto* self = static_cast<GenApp*>(ctx);
  auto* s = static_cast<ConnState*>(Stack::user(c));
  if (!s) return;
  // http: a response begun and unfinished has a parser (a whole one was read in place).
  http::ResponseParser* p = s->parser ? &s->parser->parser : nullptr;
  const bool started = self->opts_.http ? p && p->started() : s->resp_started;
  if (s->in_request && p && p->started() && p->eof() == http::RespResult::complete) {
    // A body delimited by the end of the connection (RFC 9112 6.3 rule 8).
    const int status = p->status();
    self->return_parser(*s);
    return self->response_done(*s, Outcome{status, false});
  }
  if (s->in_request && started)
    self->count_error(*s, self->stats_.bad_response);  // truncated response
  else
    self->count_error(*s, self->stats_.closed_early);
  self->finish(*s, false);
}

void GenApp::on_closed(void* ctx, Conn* c, CloseReason why) {
  auto* self = static_cast<GenApp*>(ctx);
  auto* s = static_cast<ConnState*>(Stack::user(c));
  if (!s) return;  // we had finished with it already
  switch (why) {
    case CloseReason::refused:
      self->count_error(*s, self->stats_.refused);
      break;
    case CloseReason::reset:
      self->count_error(*s, self->stats_.reset);
      break;
    case CloseReason::timeout:
      self->count_error(*s, self->stats_.timeout);
      break;
    case CloseReason::no_resources:
      self->count_error(*s, self->stats_.local);
      break;
    case CloseReason::normal:
    case CloseReason::aborted:
      self->count_error(*s, self->stats_.closed_early);
      break;
  }
  // The TCB lives until this event returns: its last snapshot is the connection's record.
  if (s->established) self->finished_conns_.add(self->tcp_.counts(c));
  s->conn = nullptr;  // gone: nothing to detach
  self->release(*s);
}

void GenApp::start_request(ConnState& s, uint64_t t_request) {
  s.in_request = true;
  s.t_mark = t_request;
  s.req_off = 0;
  if (opts_.http) {
    // Paths in turn, each with the next body size of the mix.
    const size_t bodies = std::max<size_t>(bodies_.size(), 1);
    s.req_index = static_cast<uint32_t>((s.dst * opts_.http_paths.size() + next_path_) * bodies +
                                        bodies_.next());
    const size_t paths = opts_.http_paths.size();
    next_path_ = next_path_ + 1 == paths ? 0 : next_path_ + 1;
    s.req_left = static_cast<uint32_t>(requests_[s.req_index].size());
  } else {
    // A size mix picks each request's size; its response is the --resp-size mix's next, or
    // (an echo) the request's own size.
    s.req_left = req_sizes_.size() > 1
                     ? static_cast<uint32_t>(opts_.req_sizes[req_sizes_.next()].value)
                     : opts_.req_size;
    s.resp_left = resp_sizes_.size() > 1
                      ? static_cast<uint32_t>(opts_.resp_sizes[resp_sizes_.next()].value)
                  : opts_.resp_size ? opts_.resp_size
                                    : s.req_left;
    s.resp_started = false;
  }
  write_request(s);
}

void GenApp::write_request(ConnState& s) {
  const std::vector<uint8_t>& request = requests_[s.req_index];
  while (s.req_left > 0) {
    const size_t chunk =
        static_cast<size_t>(std::min<uint64_t>(s.req_left, request.size() - s.req_off));
    const size_t sent = tcp_.send(s.conn, {request.data() + s.req_off, chunk});
    stats_.bytes_tx.add(sent);
    s.req_left -= sent;
    s.req_off = (s.req_off + sent) % request.size();
    if (sent < chunk) return;  // `writable` resumes
  }
}

void GenApp::read_response(ConnState& s) {
  ByteSpan spans[16];
  for (;;) {
    const size_t n = tcp_.peek(s.conn, spans, 16);
    if (n == 0) return;
    for (size_t i = 0; i < n; ++i) {
      if (!s.in_request) {
        // Bytes nobody asked for (raw mode: more than --resp-size).
        count_error(s, stats_.bad_response);
        return finish(s, true);
      }
      size_t used = 0;
      bool done = false;
      Outcome out;  // raw: every whole response is a good one
      if (opts_.http) {
        if (!read_http(s, {spans[i].data, spans[i].len}, used, done, out)) return;
      } else {
        used = std::min<uint32_t>(s.resp_left, spans[i].len);
        s.resp_left -= static_cast<uint32_t>(used);
        s.resp_started = true;
        done = s.resp_left == 0;
      }
      stats_.bytes_rx.add(used);
      tcp_.consume(s.conn, static_cast<uint32_t>(used));
      if (done) {
        response_done(s, out);
        if (!s.conn) return;  // finished
        break;                // the queue changed: peek again
      }
    }
  }
}

bool GenApp::read_http(ConnState& s, std::span<const uint8_t> span, size_t& used, bool& done,
                       Outcome& out) {
  if (s.parser == nullptr) {
    http::WholeResponse whole;
    if (http::parse_whole_response(span, whole, used)) {
      done = true;
      out = Outcome{whole.status, whole.keep_alive};
      return true;
    }
    s.parser = parsers_.take();
    if (s.parser == nullptr) {
      // Every parser is lent (--parsers is below the responses arriving in pieces at once):
      // this response cannot be read, nor what follows it found, so the connection ends
      // here; counted, and its slot opens a new connection next turn.
      stats_.parser_pool_empty.add();
      count_error(s, stats_.local);
      finish(s, true);
      return false;
    }
    stats_.parsers_lent.add();
    s.parser->parser.reset();
  }
  http::ResponseParser& p = s.parser->parser;
  const http::RespResult r = p.feed(span, used);
  if (r == http::RespResult::bad) {
    count_error(s, stats_.bad_response);
    finish(s, true);
    return false;
  }
  done = r == http::RespResult::complete;
  if (done) {
    out = Outcome{p.status(), p.keep_alive()};
    return_parser(s);
  }
  return true;
}

void GenApp::response_done(ConnState& s, Outcome out) {
  s.in_request = false;
  if (out.status < 200 || out.status >= 300) {
    count_error(s, stats_.bad_response);
    stats_.non_2xx.add();
    return finish(s, false);
  }
  stats_.requests.add();
  dst_stats_[s.dst].requests.add();
  response_ns_.record(now_ - s.t_mark);
  if (opts_.mode == GenMode::cps) return finish(s, false);
  // rps: the next request at once (closed loop), unless the server is closing the connection;
  // then reconnect (the slot reopens on the next loop turn).
  if (!out.keep_alive) {
    stats_.reconnects.add();
    return finish(s, false);
  }
  if (!open_loop_) return start_request(s, now_);
  // Open loop: the next request is due one interval after the previous one was, whether or
  // not the response came in time. A late one goes out at once and its latency counts from
  // when it was due, so a stall shows up in every request it delayed (coordinated omission).
  s.due += interval_ns_;
  const uint64_t t_due = due_time(s);
  if (t_due <= now_) return start_request(s, t_due);
  wait_until_due(s);
}

void GenApp::drain(ConnState& s) {
  const uint32_t n = tcp_.readable_bytes(s.conn);
  stats_.bytes_rx.add(n);
  tcp_.consume(s.conn, n);
}

void GenApp::pump_bulk(ConnState& s) {
  if (opts_.direction == Direction::down) return;
  for (;;) {
    const size_t sent = tcp_.send(s.conn, requests_[0]);
    stats_.bytes_tx.add(sent);
    if (sent < requests_[0].size()) return;
  }
}

}  // namespace pollux::apps
