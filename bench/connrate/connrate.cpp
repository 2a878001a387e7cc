#include "connrate.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <string_view>

#include "units.hpp"

namespace pollux::bench {
namespace {

bool parse_to(std::string_view text, ConnRateOptions& o, std::string& error) {
  const size_t colon = text.rfind(':');
  std::string ip(text.substr(0, colon == std::string_view::npos ? text.size() : colon));
  in_addr a{};
  if (colon == std::string_view::npos || inet_pton(AF_INET, ip.c_str(), &a) != 1) {
    error = "--to: '" + std::string(text) + "' is not IPv4:PORT (e.g. 10.91.0.2:8080)";
    return false;
  }
  const auto port = apps::parse_option_value("--to", text.substr(colon + 1), apps::Unit::plain, 1,
                                             65535, error, "a port");
  if (!port) return false;
  o.ip = ntohl(a.s_addr);
  o.port = static_cast<uint16_t>(*port);
  return true;
}

}  // namespace

const char* connrate_usage() {
  return "usage: bench_connrate --to IPv4:PORT --rate N [--seconds S] [--in-flight N]\n"
         "                      [--timeout MS] [--bin MS] [--path /]\n"
         "  Opens N connections a second for S seconds on a fixed schedule (an open loop),\n"
         "  each a GET with Connection: close read to the end; at most --in-flight open at\n"
         "  once (a connection due beyond it is not started and counted). SIGUSR1 marks an\n"
         "  instant: the rate before it and the recovery after it are reported.\n"
         "  Prints completions per bin and one summary line of key=value pairs.\n";
}

std::optional<ConnRateOptions> parse_connrate_options(int argc, const char* const* argv,
                                                      std::string& error) {
  ConnRateOptions o;
  bool have_to = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view opt = argv[i];
    if (opt == "-h" || opt == "--help") {
      o.help = true;
      return o;
    }
    if (i + 1 >= argc) {
      error = std::string(opt).rfind("--", 0) == 0 ? std::string(opt) + ": needs a value"
                                                   : "unknown argument '" + std::string(opt) + "'";
      return std::nullopt;
    }
    const std::string_view val = argv[++i];
    struct Num {
      std::string_view name;
      apps::Unit unit;
      uint64_t min, max;
      uint64_t* to;
    };
    const Num nums[] = {{"--rate", apps::Unit::count, 1, 10'000'000, &o.rate},
                        {"--seconds", apps::Unit::seconds, 1, 86'400, &o.seconds},
                        {"--in-flight", apps::Unit::count, 1, 1'000'000, &o.in_flight},
                        {"--timeout", apps::Unit::milliseconds, 1, 600'000, &o.timeout_ms},
                        {"--bin", apps::Unit::milliseconds, 1, 10'000, &o.bin_ms}};
    const auto num =
        std::find_if(std::begin(nums), std::end(nums), [&](const Num& n) { return n.name == opt; });
    if (num != std::end(nums)) {
      const auto v = apps::parse_option_value(opt, val, num->unit, num->min, num->max, error);
      if (!v) return std::nullopt;
      *num->to = *v;
    } else if (opt == "--to") {
      if (!parse_to(val, o, error)) return std::nullopt;
      have_to = true;
    } else if (opt == "--path") {
      if (val.empty() || val.front() != '/' ||
          val.find_first_of(" \r\n") != std::string_view::npos) {
        error = "--path: '" + std::string(val) + "' is not an absolute path without spaces";
        return std::nullopt;
      }
      o.path = val;
    } else {
      error = "unknown option '" + std::string(opt) + "'";
      return std::nullopt;
    }
  }
  if (!have_to || o.rate == 0) {
    error = !have_to ? "--to IPv4:PORT is required" : "--rate N is required";
    return std::nullopt;
  }
  return o;
}

uint64_t due_ns(uint64_t i, uint64_t rate) {
  return static_cast<uint64_t>(static_cast<unsigned __int128>(i) * 1'000'000'000u / rate);
}

uint64_t offered_total(uint64_t rate, uint64_t seconds) {
  return rate * seconds;
}

std::optional<double> recovery_seconds(std::span<const uint64_t> bins, double bin_s, double per_bin,
                                       double mark_s, size_t settle, double share) {
  const auto first = static_cast<size_t>(std::max(0.0, mark_s / bin_s));
  for (size_t k = first; k < bins.size(); ++k) {
    const size_t end = std::min(bins.size(), k + std::max<size_t>(settle, 1));
    uint64_t sum = 0;
    for (size_t j = k; j < end; ++j) sum += bins[j];
    if (static_cast<double>(sum) >= share * per_bin * static_cast<double>(end - k)) {
      return std::max(0.0, static_cast<double>(k) * bin_s - mark_s);
    }
  }
  return std::nullopt;
}

double completed_rate_before(std::span<const uint64_t> bins, double bin_s,
                             std::optional<double> mark_s) {
  size_t end = bins.size();
  if (mark_s) end = std::min(end, static_cast<size_t>(std::max(0.0, *mark_s / bin_s)));
  if (end <= 1) return 0;
  uint64_t sum = 0;
  for (size_t k = 1; k < end; ++k) sum += bins[k];
  return static_cast<double>(sum) / (static_cast<double>(end - 1) * bin_s);
}

std::string summary_line(const ConnRateSummary& s) {
  const ConnRateTotals& t = s.totals;
  char head[512];
  std::snprintf(head, sizeof head,
                "offered=%" PRIu64 " completed=%" PRIu64 " failed=%" PRIu64 " not_started=%" PRIu64
                " local_error=%" PRIu64 " refused=%" PRIu64 " reset=%" PRIu64
                " bad_response=%" PRIu64 " timed_out=%" PRIu64
                " rate_before_mark=%.0f connect_p50_us=%" PRIu64 " connect_p99_us=%" PRIu64
                " done_p50_us=%" PRIu64 " done_p99_us=%" PRIu64,
                t.offered, t.completed, t.failed(), t.not_started, t.local_error, t.refused,
                t.reset, t.bad_response, t.timed_out, s.rate_before_mark, s.connect_p50_us,
                s.connect_p99_us, s.done_p50_us, s.done_p99_us);
  char tail[64];
  if (!s.mark_s) {
    std::snprintf(tail, sizeof tail, " mark_s=- recovery_s=-");
  } else if (!s.recovery_s) {
    std::snprintf(tail, sizeof tail, " mark_s=%.3f recovery_s=never", *s.mark_s);
  } else {
    std::snprintf(tail, sizeof tail, " mark_s=%.3f recovery_s=%.3f", *s.mark_s, *s.recovery_s);
  }
  return std::string(head) + tail;
}

}  // namespace pollux::bench
