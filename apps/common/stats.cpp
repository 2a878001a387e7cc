#include "stats.hpp"

#include <cstdio>

namespace pollux::apps {

CounterSnapshot snapshot(const std::function<uint64_t(Counter)>& get) {
  CounterSnapshot s{};
  for (size_t i = 0; i < kCounterCount; ++i) s[i] = get(static_cast<Counter>(i));
  return s;
}

namespace {
uint64_t at(const CounterSnapshot& s, Counter c) { return s[static_cast<size_t>(c)]; }
uint64_t drops(const CounterSnapshot& s) {
  uint64_t sum = 0;
  for (size_t i = 0; i < kCounterCount; ++i)
    if (is_drop_counter(static_cast<Counter>(i))) sum += s[i];
  return sum;
}
}  // namespace

std::string progress_line(unsigned seconds, const CounterSnapshot& now,
                          const CounterSnapshot& before) {
  auto d = [&](Counter c) { return at(now, c) - at(before, c); };
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "[%5us] rx %llu pkt/s %.1f kB/s | tx %llu pkt/s %.1f kB/s | drops %llu/s "
                "(%llu total) | tcp opens %llu/s segs in %llu out %llu retrans %llu rst %llu",
                seconds, static_cast<unsigned long long>(d(Counter::rx_packets)),
                static_cast<double>(d(Counter::rx_bytes)) / 1000.0,
                static_cast<unsigned long long>(d(Counter::tx_packets)),
                static_cast<double>(d(Counter::tx_bytes)) / 1000.0,
                static_cast<unsigned long long>(drops(now) - drops(before)),
                static_cast<unsigned long long>(drops(now)),
                static_cast<unsigned long long>(d(Counter::tcp_passive_opens) +
                                                d(Counter::tcp_active_opens)),
                static_cast<unsigned long long>(d(Counter::tcp_segs_in)),
                static_cast<unsigned long long>(d(Counter::tcp_segs_out)),
                static_cast<unsigned long long>(d(Counter::tcp_retrans_segs)),
                static_cast<unsigned long long>(d(Counter::tcp_rst_sent)));
  return buf;
}

std::string summary(const CounterSnapshot& s) {
  std::string out;
  char buf[128];
  for (size_t i = 0; i < kCounterCount; ++i) {
    if (s[i] == 0) continue;
    std::snprintf(buf, sizeof buf, "  %-28s %llu\n",
                  std::string(kCounterNames[i]).c_str(),
                  static_cast<unsigned long long>(s[i]));
    out += buf;
  }
  std::snprintf(buf, sizeof buf, "  %-28s %llu\n", "dropped_total",
                static_cast<unsigned long long>(drops(s)));
  out += buf;
  return out;
}

}  // namespace pollux::apps
