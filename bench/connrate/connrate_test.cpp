// bench_connrate's logic: options, the fixed schedule, the rate before the mark, recovery,
// and the summary line flood.sh reads. The sockets are exercised by bench/flood.sh.
#include "connrate.hpp"

#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

namespace pollux::bench {
namespace {

std::optional<ConnRateOptions> parse(std::vector<const char*> args, std::string& error) {
  args.insert(args.begin(), "bench_connrate");
  return parse_connrate_options(static_cast<int>(args.size()), args.data(), error);
}

TEST(ConnRateOptions, ReadsEveryOptionWithUnits) {
  std::string error;
  const auto o = parse({"--to", "10.91.0.2:8080", "--rate", "5k", "--seconds", "2m", "--in-flight",
                        "2000", "--timeout", "2s", "--bin", "50", "--path", "/x"},
                       error);
  ASSERT_TRUE(o) << error;
  EXPECT_EQ(o->ip, 0x0a5b0002u);
  EXPECT_EQ(o->port, 8080);
  EXPECT_EQ(o->rate, 5000u);
  EXPECT_EQ(o->seconds, 120u);
  EXPECT_EQ(o->in_flight, 2000u);
  EXPECT_EQ(o->timeout_ms, 2000u);
  EXPECT_EQ(o->bin_ms, 50u);
  EXPECT_EQ(o->path, "/x");
}

TEST(ConnRateOptions, DefaultsAreFiveSecondsAThousandInFlightThreeSecondTimeoutAndTenthBins) {
  std::string error;
  const auto o = parse({"--to", "127.0.0.1:80", "--rate", "100"}, error);
  ASSERT_TRUE(o) << error;
  // seconds, in flight, timeout (ms), bin (ms), path
  EXPECT_EQ(std::tie(o->seconds, o->in_flight, o->timeout_ms, o->bin_ms, o->path),
            std::make_tuple(uint64_t{5}, uint64_t{1000}, uint64_t{3000}, uint64_t{100},
                            std::string("/")));
}

TEST(ConnRateOptions, RefusesBadInputWithALineNamingTheOption) {
  const std::vector<std::pair<std::vector<const char*>, std::string>> cases = {
      {{"--rate", "100"}, "--to IPv4:PORT is required"},
      {{"--to", "10.0.0.1:80"}, "--rate N is required"},
      {{"--to", "10.0.0.1", "--rate", "1"}, "--to: '10.0.0.1' is not IPv4:PORT"},
      {{"--to", "host:80", "--rate", "1"}, "--to: 'host:80' is not IPv4:PORT"},
      {{"--to", "10.0.0.1:0", "--rate", "1"}, "--to: '0' is not a port in [1, 65535]"},
      {{"--to", "10.0.0.1:80", "--rate", "0"}, "--rate: '0' is not a whole number in [1,"},
      {{"--to", "10.0.0.1:80", "--rate", "5q"}, "--rate: '5q' has an unknown suffix 'q'"},
      {{"--to", "10.0.0.1:80", "--rate", "1", "--timeout", "-1"}, "--timeout: '-1' is not"},
      {{"--to", "10.0.0.1:80", "--rate", "1", "--path", "x y"}, "--path: 'x y' is not"},
      {{"--to", "10.0.0.1:80", "--rate", "1", "--seconds"}, "--seconds: needs a value"},
      {{"--to", "10.0.0.1:80", "--rate", "1", "--bogus", "1"}, "unknown option '--bogus'"},
  };
  for (const auto& [args, want] : cases) {
    std::string error;
    EXPECT_FALSE(parse(args, error)) << want;
    EXPECT_EQ(error.rfind(want, 0), 0u) << "got: " << error << "\nwanted a start of: " << want;
  }
}

TEST(ConnRateOptions, HelpNeedsNothingElse) {
  std::string error;
  const auto o = parse({"--help"}, error);
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->help);
}

TEST(ConnRateSchedule, ConnectionIIsDueAtIOverRateWithoutDrift) {
  EXPECT_EQ(due_ns(0, 3000), 0u);
  EXPECT_EQ(due_ns(1, 3000), 333'333u);
  EXPECT_EQ(due_ns(3000, 3000), 1'000'000'000u);
  // An hour at 3k/s: still exact where a summed interval would have drifted.
  EXPECT_EQ(due_ns(3000ull * 3600, 3000), 3600ull * 1'000'000'000u);
  EXPECT_EQ(offered_total(5000, 7), 35'000u);
}

TEST(ConnRateRecovery, ZeroWhenTheBinsAroundTheMarkAreAlreadyFull) {
  const std::vector<uint64_t> bins(20, 500);
  EXPECT_EQ(recovery_seconds(bins, 0.1, 500, 1.05), 0.0);
}

TEST(ConnRateRecovery, TheStartOfTheFirstRunOfFullBinsAfterTheMark) {
  // Flooded to 100 a bin until 1.1 s (the mark at 1.02 s), 300 in the next bin, full from
  // 1.2 s: the window from 1.1 s holds 300 + 4 x 500 >= 90% of 5 x 500, the one from 1.0 s
  // does not: recovered 0.08 s after the mark.
  std::vector<uint64_t> bins(11, 100);
  bins.push_back(300);
  bins.resize(20, 500);
  const auto r = recovery_seconds(bins, 0.1, 500, 1.02);
  ASSERT_TRUE(r);
  EXPECT_NEAR(*r, 0.08, 1e-9);
}

TEST(ConnRateRecovery, BurstsThatMoveCompletionsBetweenNeighbouringBinsAreNotALoss) {
  const std::vector<uint64_t> bins = {300, 700, 300, 700, 300, 700, 300, 700};
  EXPECT_EQ(recovery_seconds(bins, 0.1, 500, 0.1), 0.0);
}

TEST(ConnRateRecovery, OneFullBinInsideAStillPoorStretchIsNotRecovery) {
  std::vector<uint64_t> bins = {500, 500, 100, 500, 100, 100, 500, 500, 500, 500, 500, 500};
  const auto r = recovery_seconds(bins, 0.1, 500, 0.2);
  ASSERT_TRUE(r);
  EXPECT_NEAR(*r, 0.4, 1e-9);  // the run from bin 6 (0.6 s), not bin 3
}

TEST(ConnRateRecovery, NinetyPercentOfWhatIsOfferedCountsAsFull) {
  const std::vector<uint64_t> bins = {100, 450, 450, 450, 450, 450};
  EXPECT_EQ(recovery_seconds(bins, 0.1, 500, 0.1), 0.0);
  const std::vector<uint64_t> short_of_it = {100, 449, 450, 450, 450, 450, 450};
  EXPECT_NEAR(*recovery_seconds(short_of_it, 0.1, 500, 0.1), 0.1, 1e-9);
}

TEST(ConnRateRecovery, NeverWhenNoRunOfFullBinsFollows) {
  const std::vector<uint64_t> bins = {500, 500, 0, 0, 0, 0};
  EXPECT_FALSE(recovery_seconds(bins, 0.1, 500, 0.15));
}

TEST(ConnRateRecovery, ATrailingShortRunCountsWhenItIsAllThereIs) {
  // Full again only in the last two bins: the run is cut short by the end of the offering.
  const std::vector<uint64_t> bins = {0, 0, 0, 0, 500, 500};
  EXPECT_NEAR(*recovery_seconds(bins, 0.1, 500, 0.0), 0.4, 1e-9);
}

TEST(ConnRateBeforeMark, CompletedPerSecondInTheWholeBinsBeforeTheMarkLeavingOutTheFirst) {
  // The first bin (the start) and the bin holding the mark (1.05 s: bin 10) are left out.
  std::vector<uint64_t> bins = {7, 400, 400, 400, 400, 400, 400, 400, 400, 400, 1, 500, 500};
  EXPECT_DOUBLE_EQ(completed_rate_before(bins, 0.1, 1.05), 4000.0);
  // Without a mark: every bin but the first.
  EXPECT_DOUBLE_EQ(completed_rate_before(bins, 0.1, std::nullopt), (400.0 * 9 + 1 + 1000) / 1.2);
  EXPECT_EQ(completed_rate_before(bins, 0.1, 0.05), 0.0);
}

TEST(ConnRateSummary, OneLineOfKeyValuePairsWithDashesForWhatIsUnknown) {
  ConnRateSummary s;
  s.totals.offered = 100;
  s.totals.completed = 90;
  s.totals.timed_out = 6;
  s.totals.refused = 4;
  s.rate_before_mark = 4999.6;
  s.connect_p50_us = 80;
  s.connect_p99_us = 1010000;
  s.done_p50_us = 120;
  s.done_p99_us = 1020000;
  EXPECT_EQ(summary_line(s),
            "offered=100 completed=90 failed=10 not_started=0 local_error=0 refused=4 reset=0 "
            "bad_response=0 timed_out=6 rate_before_mark=5000 connect_p50_us=80 "
            "connect_p99_us=1010000 done_p50_us=120 done_p99_us=1020000 mark_s=- recovery_s=-");
  s.mark_s = 5.0004;
  EXPECT_NE(summary_line(s).find(" mark_s=5.000 recovery_s=never"), std::string::npos);
  s.recovery_s = 0.1;
  EXPECT_NE(summary_line(s).find(" mark_s=5.000 recovery_s=0.100"), std::string::npos);
}

}  // namespace
}  // namespace pollux::bench
