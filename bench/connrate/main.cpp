// bench_connrate's sockets (see connrate.hpp): one thread, one epoll set, a slot per
// connection in flight (preallocated), a FIFO of deadlines in due order (every connection has
// the same timeout), and a signalfd for the mark (SIGUSR1) and for an early stop (SIGINT,
// SIGTERM: the report is still printed).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <string>
#include <vector>

#include "connrate.hpp"
#include "histogram.hpp"
#include "http_response.hpp"

namespace pollux::bench {
namespace {

uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

enum class Phase : uint8_t { free, connecting, reading, draining };

struct Conn {
  int fd = -1;
  Phase phase = Phase::free;
  uint32_t gen = 0;  // bumped at every start: a stale deadline names an older generation
  uint64_t due = 0;  // ns since the start
  uint64_t connect_call = 0;
  apps::http::ResponseParser parser;
};

struct Deadline {
  uint64_t at;
  uint32_t slot;
  uint32_t gen;
};

constexpr uint64_t kSignalKey = ~uint64_t{0};

class Runner {
 public:
  explicit Runner(const ConnRateOptions& o)
      : o_(o), slots_(o.in_flight), bin_ns_(o.bin_ms * 1'000'000u) {
    const uint64_t span_ns = o.seconds * 1'000'000'000u + o.timeout_ms * 1'000'000u;
    bins_.assign(span_ns / bin_ns_ + 2, 0);
    free_.reserve(o.in_flight);
    for (size_t i = o.in_flight; i > 0; --i) free_.push_back(static_cast<uint32_t>(i - 1));
    addr_.sin_family = AF_INET;
    addr_.sin_port = htons(o.port);
    addr_.sin_addr.s_addr = htonl(o.ip);
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &addr_.sin_addr, ip, sizeof ip);
    request_ = "GET " + o.path + " HTTP/1.1\r\nHost: " + ip + "\r\nConnection: close\r\n\r\n";
  }

  int run();

 private:
  void start(uint64_t i, uint64_t now);
  void on_event(uint32_t slot, uint32_t events, uint64_t now);
  void on_connect(Conn& c, uint32_t slot, uint32_t events, uint64_t now);
  void on_readable(Conn& c, uint32_t slot, uint64_t now);
  void completed(Conn& c, uint32_t slot, uint64_t now);
  void finish(Conn& c, uint32_t slot, uint64_t* failure_counter);
  void on_signal(uint64_t now);
  void expire(uint64_t now);
  bool after_mark(uint64_t now) const { return mark_ && now >= *mark_; }
  void report();

  ConnRateOptions o_;
  std::vector<Conn> slots_;
  std::vector<uint32_t> free_;
  std::deque<Deadline> deadlines_;
  std::vector<uint64_t> bins_;
  uint64_t bin_ns_;
  sockaddr_in addr_{};
  std::string request_;
  int ep_ = -1, sig_ = -1;
  uint64_t t0_ = 0;
  std::optional<uint64_t> mark_;  // ns since the start
  bool stop_ = false;
  ConnRateTotals t_;
  apps::LatencyHistogram connect_ns_, done_ns_;  // before the mark
};

void Runner::start(uint64_t i, uint64_t now) {
  ++t_.offered;
  if (free_.empty()) {
    ++t_.not_started;
    return;
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ++t_.local_error;
    return;
  }
  const uint32_t slot = free_.back();
  Conn& c = slots_[slot];
  c.fd = fd;
  c.gen++;
  c.due = due_ns(i, o_.rate);
  c.connect_call = now;
  c.parser.reset();
  free_.pop_back();
  deadlines_.push_back({c.due + o_.timeout_ms * 1'000'000u, slot, c.gen});
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_) != 0 &&
      errno != EINPROGRESS) {
    finish(c, slot, errno == ECONNREFUSED ? &t_.refused : &t_.local_error);
    return;
  }
  c.phase = Phase::connecting;
  epoll_event ev{};
  ev.events = EPOLLOUT;
  ev.data.u64 = slot;
  if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) finish(c, slot, &t_.local_error);
}

void Runner::finish(Conn& c, uint32_t slot, uint64_t* failure_counter) {
  if (failure_counter) ++*failure_counter;
  close(c.fd);  // also leaves the epoll set
  c.fd = -1;
  c.phase = Phase::free;
  free_.push_back(slot);
}

void Runner::on_connect(Conn& c, uint32_t slot, uint32_t events, uint64_t now) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0 || !(events & EPOLLOUT)) {
    finish(c, slot,
           err == ECONNREFUSED ? &t_.refused
           : err == ETIMEDOUT  ? &t_.timed_out
                               : &t_.reset);
    return;
  }
  if (!after_mark(c.due)) connect_ns_.record(now - c.connect_call);
  // A request this small fits any send buffer of a new connection whole.
  if (send(c.fd, request_.data(), request_.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request_.size())) {
    finish(c, slot, &t_.reset);
    return;
  }
  c.phase = Phase::reading;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.u64 = slot;
  if (epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev) != 0) finish(c, slot, &t_.local_error);
}

void Runner::completed(Conn& c, uint32_t slot, uint64_t now) {
  ++t_.completed;
  const uint64_t since = now - t0_;
  ++bins_[std::min<size_t>(since / bin_ns_, bins_.size() - 1)];
  if (!after_mark(c.due)) done_ns_.record(since - c.due);
  c.phase = Phase::draining;  // until the server's FIN
  (void)slot;
}

void Runner::on_readable(Conn& c, uint32_t slot, uint64_t now) {
  uint8_t buf[16384];
  for (;;) {
    const ssize_t n = read(c.fd, buf, sizeof buf);
    if (n > 0) {
      if (c.phase == Phase::draining) continue;  // bytes after the response: ignored
      size_t used = 0;
      const auto r = c.parser.feed({buf, static_cast<size_t>(n)}, used);
      if (r == apps::http::RespResult::bad ||
          (r == apps::http::RespResult::complete && c.parser.status() != 200)) {
        finish(c, slot, &t_.bad_response);
        return;
      }
      if (r == apps::http::RespResult::complete) completed(c, slot, now);
      continue;
    }
    if (n == 0) {  // the server's FIN
      if (c.phase == Phase::reading) {
        const auto r = c.parser.eof();
        if (r == apps::http::RespResult::complete && c.parser.status() == 200) {
          completed(c, slot, now);
        } else {
          finish(c, slot, c.parser.started() ? &t_.bad_response : &t_.reset);
          return;
        }
      }
      finish(c, slot, nullptr);
      return;
    }
    if (errno == EAGAIN || errno == EINTR) return;
    finish(c, slot, c.phase == Phase::draining ? nullptr : &t_.reset);
    return;
  }
}

void Runner::on_event(uint32_t slot, uint32_t events, uint64_t now) {
  Conn& c = slots_[slot];
  if (c.phase == Phase::connecting) {
    on_connect(c, slot, events, now);
  } else if (c.phase != Phase::free) {
    on_readable(c, slot, now);
  }
}

void Runner::on_signal(uint64_t now) {
  signalfd_siginfo si{};
  while (read(sig_, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    if (si.ssi_signo == SIGUSR1) {
      if (!mark_) mark_ = now - t0_;
    } else {
      stop_ = true;
    }
  }
}

void Runner::expire(uint64_t now) {
  while (!deadlines_.empty() && deadlines_.front().at <= now - t0_) {
    const Deadline d = deadlines_.front();
    deadlines_.pop_front();
    Conn& c = slots_[d.slot];
    if (c.gen != d.gen || c.phase == Phase::free) continue;
    finish(c, d.slot, c.phase == Phase::draining ? nullptr : &t_.timed_out);
  }
}

int Runner::run() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  sig_ = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  if (sig_ < 0 || ep_ < 0) {
    std::perror("bench_connrate: signalfd/epoll");
    return 1;
  }
  epoll_event sev{};
  sev.events = EPOLLIN;
  sev.data.u64 = kSignalKey;
  epoll_ctl(ep_, EPOLL_CTL_ADD, sig_, &sev);

  const uint64_t total = offered_total(o_.rate, o_.seconds);
  std::vector<epoll_event> evs(256);
  t0_ = now_ns();
  uint64_t next = 0;
  for (;;) {
    uint64_t now = now_ns();
    while (!stop_ && next < total && due_ns(next, o_.rate) <= now - t0_) start(next++, now);
    expire(now);
    const bool offering = !stop_ && next < total;
    if (!offering && free_.size() == slots_.size()) break;
    // Sleep until the next due connection or the oldest deadline, whichever is first.
    uint64_t wake = UINT64_MAX;
    if (offering) wake = due_ns(next, o_.rate);
    if (!deadlines_.empty()) wake = std::min(wake, deadlines_.front().at);
    const uint64_t rel = wake == UINT64_MAX ? 100'000'000u
                         : wake > now - t0_ ? wake - (now - t0_)
                                            : 0;
    const timespec ts{static_cast<time_t>(rel / 1'000'000'000u),
                      static_cast<long>(rel % 1'000'000'000u)};
    const int n = epoll_pwait2(ep_, evs.data(), static_cast<int>(evs.size()), &ts, nullptr);
    now = now_ns();
    for (int k = 0; k < n; ++k) {
      if (evs[k].data.u64 == kSignalKey) {
        on_signal(now);
      } else {
        on_event(static_cast<uint32_t>(evs[k].data.u64), evs[k].events, now);
      }
    }
  }
  report();
  return 0;
}

void Runner::report() {
  // Only the bins while connections were offered; the drain after the last one would read
  // as a collapse.
  const size_t offered_bins = std::min<size_t>(bins_.size(), o_.seconds * 1000 / o_.bin_ms);
  const std::span<const uint64_t> bins(bins_.data(), offered_bins);
  const double bin_s = static_cast<double>(o_.bin_ms) / 1000.0;
  ConnRateSummary s;
  s.totals = t_;
  if (mark_) s.mark_s = static_cast<double>(*mark_) / 1e9;
  s.rate_before_mark = completed_rate_before(bins, bin_s, s.mark_s);
  s.connect_p50_us = connect_ns_.percentile(50) / 1000;
  s.connect_p99_us = connect_ns_.percentile(99) / 1000;
  s.done_p50_us = done_ns_.percentile(50) / 1000;
  s.done_p99_us = done_ns_.percentile(99) / 1000;
  if (s.mark_s) {
    s.recovery_s = recovery_seconds(bins, bin_s, static_cast<double>(o_.rate) * bin_s, *s.mark_s);
  }
  std::printf("completions per %" PRIu64 " ms:", o_.bin_ms);
  for (const uint64_t b : bins) std::printf(" %" PRIu64, b);
  std::printf("\n%s\n", summary_line(s).c_str());
}

}  // namespace
}  // namespace pollux::bench

int main(int argc, char** argv) {
  std::string error;
  const auto o = pollux::bench::parse_connrate_options(argc, argv, error);
  if (!o) {
    std::fprintf(stderr, "bench_connrate: %s\n%s", error.c_str(), pollux::bench::connrate_usage());
    return 2;
  }
  if (o->help) {
    std::fputs(pollux::bench::connrate_usage(), stdout);
    return 0;
  }
  // One descriptor per connection in flight, plus a few.
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < o->in_flight + 16) {
    r.rlim_cur = std::min<rlim_t>(r.rlim_max, o->in_flight + 16);
    setrlimit(RLIMIT_NOFILE, &r);
  }
  pollux::bench::Runner runner(*o);
  return runner.run();
}
