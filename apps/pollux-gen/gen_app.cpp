#include "gen_app.hpp"

#include <algorithm>
#include <string>

namespace pollux::apps {

struct GenApp::ConnState {
  Conn* conn = nullptr;
  uint64_t t_open = 0;     // connect() called
  uint64_t t_request = 0;  // first byte of the current request handed to send()
  uint64_t req_left = 0;   // request bytes still to send
  uint64_t req_off = 0;    // position in request_ (raw payloads cycle through it)
  uint64_t resp_left = 0;  // raw: response bytes still expected
  uint64_t resp_size = 0;  // raw: the current request's response size
  uint64_t t_due = 0;      // open-loop rps: when the next request is due
  uint64_t work = 0;       // open-loop rps with --ramp: t_due in full-rate time
  uint32_t req_index = 0;  // which of requests_ the current request is
  uint32_t dst = 0;        // which --dst the connection went to
  bool established = false;
  bool in_request = false;  // a request is outstanding
  bool waiting = false;     // open-loop rps: in due_ until t_due
  http::ResponseParser parser;
};

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
      dsts_(destinations(opts)) {
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
  // One state per connection this lcore may have open at once: no allocation afterwards.
  pool_ = std::make_unique<ConnState[]>(share_);
  free_.reserve(share_);
  for (uint32_t i = 0; i < share_; ++i) free_.push_back(&pool_[i]);
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
// due_ is a min-heap on t_due.
bool later(const GenApp::ConnState* a, const GenApp::ConnState* b) {
  return a->t_due > b->t_due;
}
}  // namespace

void GenApp::wait_until_due(ConnState& s) {
  s.waiting = true;
  due_.push_back(&s);
  std::push_heap(due_.begin(), due_.end(), later);
}

void GenApp::send_due() {
  while (!due_.empty() && due_.front()->t_due <= now_) {
    std::pop_heap(due_.begin(), due_.end(), later);
    ConnState* s = due_.back();
    due_.pop_back();
    s->waiting = false;
    start_request(*s, s->t_due);
  }
}

bool GenApp::open_one() {
  ConnState* s = free_.back();
  free_.pop_back();
  *s = ConnState{};
  TcpError err = TcpError::ok;
  s->t_open = now_;
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
    free_.push_back(s);
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
  if (s.conn) {
    if (s.established) finished_conns_.add(tcp_.counts(s.conn));
    Stack::set_user(s.conn, nullptr);
  }
  s.conn = nullptr;
  --live_;
  free_.push_back(&s);
}

ConnTotals GenApp::conn_totals() const {
  ConnTotals t = finished_conns_;
  for (uint32_t i = 0; i < share_; ++i)
    if (pool_[i].conn && pool_[i].established) t.add(tcp_.counts(pool_[i].conn));
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
  self->connect_ns_.record(self->now_ - s->t_open);
  switch (self->opts_.mode) {
    case GenMode::cps:
      return self->start_request(*s, self->now_);
    case GenMode::rps:
      if (!self->open_loop_) return self->start_request(*s, self->now_);
      // Spread the connections' schedules over one interval instead of firing together.
      if (!self->profiled_) {
        s->t_due =
            self->now_ + self->interval_ns_ * (self->stagger_++ % self->share_) / self->share_;
      } else {
        // The same, in full-rate time from the start, mapped through the profile.
        s->work = self->profile_.work_at(self->now_ - self->start_ns_) +
                  self->interval_ns_ * (self->stagger_++ % self->share_) / self->share_;
        s->t_due = self->start_ns_ + self->profile_.time_for_work(s->work);
      }
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
  const bool http_until_close = self->opts_.http && s->in_request && s->parser.started();
  if (http_until_close && s->parser.eof() == http::RespResult::complete) {
    // A body delimited by the end of the connection (RFC 9112 6.3 rule 8).
    return self->response_done(*s, s->parser.status() >= 200 && s->parser.status() < 300);
  }
  if (s->in_request && (self->opts_.http ? s->parser.started() : s->resp_left < s->resp_size))
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
  s.t_request = t_request;
  s.req_off = 0;
  if (opts_.http) {
    // Paths in turn, each with the next body size of the mix.
    const size_t bodies = std::max<size_t>(bodies_.size(), 1);
    s.req_index = static_cast<uint32_t>((s.dst * opts_.http_paths.size() + next_path_) * bodies +
                                        bodies_.next());
    const size_t paths = opts_.http_paths.size();
    next_path_ = next_path_ + 1 == paths ? 0 : next_path_ + 1;
    s.req_left = requests_[s.req_index].size();
  } else {
    // A size mix picks each request's size; its response is the --resp-size mix's next, or
    // (an echo) the request's own size.
    s.req_left = req_sizes_.size() > 1 ? opts_.req_sizes[req_sizes_.next()].value : opts_.req_size;
    s.resp_size = resp_sizes_.size() > 1 ? opts_.resp_sizes[resp_sizes_.next()].value
                  : opts_.resp_size      ? opts_.resp_size
                                         : s.req_left;
  }
  s.resp_left = s.resp_size;
  s.parser.reset();
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
      bool done = false, good = true;
      if (opts_.http) {
        const http::RespResult r = s.parser.feed({spans[i].data, spans[i].len}, used);
        if (r == http::RespResult::bad) {
          count_error(s, stats_.bad_response);
          return finish(s, true);
        }
        done = r == http::RespResult::complete;
        good = s.parser.status() >= 200 && s.parser.status() < 300;
      } else {
        used = static_cast<size_t>(std::min<uint64_t>(s.resp_left, spans[i].len));
        s.resp_left -= used;
        done = s.resp_left == 0;
      }
      stats_.bytes_rx.add(used);
      tcp_.consume(s.conn, static_cast<uint32_t>(used));
      if (done) {
        response_done(s, good);
        if (!s.conn) return;  // finished
        break;                // the queue changed: peek again
      }
    }
  }
}

void GenApp::response_done(ConnState& s, bool good) {
  s.in_request = false;
  if (!good) {
    count_error(s, stats_.bad_response);
    stats_.non_2xx.add();
    return finish(s, false);
  }
  stats_.requests.add();
  dst_stats_[s.dst].requests.add();
  response_ns_.record(now_ - s.t_request);
  if (opts_.mode == GenMode::cps) return finish(s, false);
  // rps: the next request at once (closed loop), unless the server is closing the connection;
  // then reconnect (the slot reopens on the next loop turn).
  if (opts_.http && !s.parser.keep_alive()) {
    stats_.reconnects.add();
    return finish(s, false);
  }
  if (!open_loop_) return start_request(s, now_);
  // Open loop: the next request is due one interval after the previous one was, whether or
  // not the response came in time. A late one goes out at once and its latency counts from
  // when it was due, so a stall shows up in every request it delayed (coordinated omission).
  if (!profiled_) {
    s.t_due += interval_ns_;
  } else {
    s.work += interval_ns_;
    s.t_due = start_ns_ + profile_.time_for_work(s.work);
  }
  if (s.t_due <= now_) return start_request(s, s.t_due);
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
