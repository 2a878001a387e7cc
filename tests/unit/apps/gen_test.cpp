// pollux-gen's pure logic: the option parser (good lines parse, bad ones are refused with one
// line naming the option), the log-bucketed latency histogram, the HTTP/1.1 response reader
// and the JSON report.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../../../apps/common/cpu_report.hpp"
#include "../../../apps/pollux-gen/gen_options.hpp"
#include "../../../apps/pollux-gen/histogram.hpp"
#include "../../../apps/pollux-gen/http_response.hpp"
#include "../../../apps/pollux-gen/json.hpp"
#include "../../../apps/pollux-gen/profile.hpp"
#include "../../../apps/pollux-gen/report.hpp"
#include "base/counters.hpp"
#include "net/ipv4_addr.hpp"
#include "tcp/cc/congestion.hpp"

namespace pollux::apps {
namespace {

// --- options ---------------------------------------------------------------------------------

std::optional<GenOptions> parse(std::vector<std::string> args, std::string* err = nullptr) {
  std::string e;
  auto o = parse_gen_options(args, e);
  if (err) *err = e;
  return o;
}

TEST(GenOptions, FullCommandLineParses) {
  auto o = parse({"--ip",
                  "10.0.0.2/24",
                  "--gw=10.0.0.254",
                  "--dst",
                  "192.168.1.1:8080",
                  "--mode",
                  "cps",
                  "--duration",
                  "7",
                  "--delay",
                  "1",
                  "--connections",
                  "100",
                  "--concurrency",
                  "32",
                  "--rate",
                  "5000",
                  "--req-size",
                  "200",
                  "--resp-size",
                  "4000",
                  "--http",
                  "--path",
                  "/x?y=1",
                  "--max-conns",
                  "1000",
                  "--time-wait",
                  "0",
                  "--json",
                  "/tmp/r.json",
                  "--quiet",
                  "--no-offload",
                  "--mtu",
                  "9000"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->dst.to_string(), "192.168.1.1");
  EXPECT_EQ(o->dst_port, 8080);
  EXPECT_EQ(o->mode, GenMode::cps);
  EXPECT_EQ(o->duration_s, 7u);
  EXPECT_EQ(o->delay_s, 1u);
  EXPECT_EQ(o->connections, 100u);
  EXPECT_EQ(o->concurrency, 32u);
  EXPECT_EQ(o->rate, 5000u);
  EXPECT_EQ(o->req_size, 200u);
  EXPECT_EQ(o->response_size(), 4000u);
  EXPECT_TRUE(o->http);
  EXPECT_EQ(o->http_paths, std::vector<std::string>{"/x?y=1"});
  EXPECT_EQ(o->max_connections, 1000u);
  EXPECT_EQ(o->time_wait_ms, 0u);
  EXPECT_EQ(o->json_path, "/tmp/r.json");
  EXPECT_TRUE(o->quiet);
  EXPECT_FALSE(o->checksum_offload);
  EXPECT_EQ(o->mtu, 9000);
}

TEST(GenOptions, TcpChoicesAreSharedWithTheServer) {
  auto d = parse({"--ip", "10.0.0.2/24", "--dst", "10.0.0.1:7", "--mode", "bulk"});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->tcp.cc, tcp::cc::Algorithm::cubic);
  EXPECT_TRUE(d->tcp.sack);
  EXPECT_TRUE(d->tcp.timestamps);
  auto o = parse({"--mode", "bulk", "--direction", "down", "--local-server", "source", "--cc",
                  "newreno", "--no-sack", "--no-timestamps"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->tcp.cc, tcp::cc::Algorithm::newreno);
  EXPECT_FALSE(o->tcp.sack);
  EXPECT_FALSE(o->tcp.timestamps);
}

// Issue 13 item 5: the generator (which closes first and so holds TIME-WAIT) sizes its
// TIME-WAIT store as the server does; unset, the stack's.
TEST(GenOptions, TimeWaitRecordsAreSharedWithTheServer) {
  auto d = parse({"--ip", "10.0.0.2/24", "--dst", "10.0.0.1:7", "--mode", "cps"});
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->tcp.time_wait_records);
  auto o = parse({"--mode", "cps", "--local-server", "echo", "--time-wait-records", "300000"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->tcp.time_wait_records, 300000u);
}

TEST(GenOptions, NeighbourCacheSizeIsSharedWithTheServer) {
  auto d = parse({"--ip", "10.0.0.2/24", "--dst", "10.0.0.1:7", "--mode", "cps"});
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->tcp.neigh_max);
  auto o =
      parse({"--ip", "10.0.0.2/24", "--dst", "10.0.0.1:7", "--mode", "cps", "--neigh-max", "4096"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->tcp.neigh_max, 4096u);
}

// --parsers: 0 means one per connection of the lcore (GenApp); a count is taken as given.
TEST(GenOptions, ParsersDefaultToOnePerConnectionOrTakeACount) {
  auto o = parse({"--ip", "10.0.0.2/24", "--dst", "10.0.0.1:80", "--mode", "rps", "--http"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->parsers, 0u);
  o = parse(
      {"--ip", "10.0.0.2/24", "--dst", "10.0.0.1:80", "--mode", "rps", "--http", "--parsers", "4"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->parsers, 4u);
}

TEST(GenOptions, EchoDefaultsResponseSizeToRequestSize) {
  auto o =
      parse({"--ip", "10.0.0.2/24", "--dst", "10.0.0.1:7", "--mode", "rps", "--req-size", "1000"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->response_size(), 1000u);
  EXPECT_FALSE(o->http);
}

TEST(GenOptions, ModesAndDirections) {
  for (const char* m : {"cps", "rps", "bulk", "hold"}) {
    auto o = parse({"--ip", "10.0.0.2/24", "--dst", "10.0.0.1:7", "--mode", m});
    ASSERT_TRUE(o) << m;
    EXPECT_STREQ(gen_mode_name(o->mode), m);
  }
  for (const char* d : {"up", "down", "both"}) {
    auto o =
        parse({"--ip", "10.0.0.2/24", "--dst", "10.0.0.1:7", "--mode", "bulk", "--direction", d});
    ASSERT_TRUE(o) << d;
    EXPECT_STREQ(direction_name(o->direction), d);
  }
}

TEST(GenOptions, LocalServerDefaultsToTheBenchmarkingRange) {
  auto o = parse({"--mode", "rps", "--local-server", "echo"});
  ASSERT_TRUE(o);
  ASSERT_TRUE(o->local_server);
  EXPECT_EQ(*o->local_server, ServerMode::echo);
  // Several source addresses by default (issue 12.1): each has its own ephemeral ports.
  ASSERT_EQ(o->addrs.size(), kLocalSourceAddrs);
  EXPECT_EQ(o->addrs[0].to_string(), "198.18.0.2/24");
  EXPECT_EQ(o->addrs.back().to_string(), "198.18.0.5/24");
  EXPECT_EQ(o->dst.to_string(), "198.18.0.1");
  EXPECT_EQ(o->dst_port, 8080);
}

// Issue 16: an IPv6 --dst without --ip opens from RFC 5180's benchmarking prefix, IPv6 only.
TEST(GenOptions, LocalServerWithAnIpv6DstDefaultsToTheIpv6BenchmarkingRange) {
  std::string e;
  auto o = parse({"--mode", "cps", "--local-server", "echo", "--dst", "[2001:2::1]:8080"}, &e);
  ASSERT_TRUE(o) << e;
  ASSERT_EQ(o->addrs6.size(), kLocalSourceAddrs);
  EXPECT_EQ(o->addrs6[0].to_string(), "2001:2::2/64");
  EXPECT_EQ(o->addrs6.back().to_string(), "2001:2::5/64");
  EXPECT_TRUE(o->addrs.empty()) << "no IPv4 source for an IPv6-only run";
  EXPECT_TRUE(o->dst.ipv6);
  EXPECT_EQ(o->dst_port, 8080);
}

// Given IPv6 addresses are kept; an IPv4 --dst beside an IPv6 one still gets the IPv4
// defaults, so the in-memory server answers on both families.
TEST(GenOptions, LocalServerTakesGivenIpv6AddressesAndMixedFamilies) {
  std::string e;
  auto o = parse({"--mode", "rps", "--local-server", "echo", "--ip", "fd00:1::2/64", "--dst",
                  "[fd00:1::1]:80"},
                 &e);
  ASSERT_TRUE(o) << e;
  ASSERT_EQ(o->addrs6.size(), 1u);
  EXPECT_EQ(o->addrs6[0].to_string(), "fd00:1::2/64");
  EXPECT_TRUE(o->addrs.empty());
  o = parse({"--mode", "rps", "--local-server", "echo", "--dst", "[2001:2::1]:8080", "--dst",
             "198.18.0.1:8080"},
            &e);
  ASSERT_TRUE(o) << e;
  EXPECT_EQ(o->addrs.size(), kLocalSourceAddrs);
  EXPECT_EQ(o->addrs6.size(), kLocalSourceAddrs);
  // Off the link, or on another port, an IPv6 --dst is refused as an IPv4 one is.
  EXPECT_FALSE(parse({"--mode", "rps", "--local-server", "echo", "--ip", "fd00:1::2/64", "--dst",
                      "[fd00:2::1]:80", "--gw", "fd00:1::1"},
                     &e));
  EXPECT_NE(e.find("--local-server: --dst fd00:2::1 must be on an --ip subnet"), std::string::npos)
      << e;
  EXPECT_FALSE(parse({"--mode", "rps", "--local-server", "echo", "--dst", "[2001:2::1]:8080",
                      "--dst", "[2001:2::9]:8081"},
                     &e));
  EXPECT_NE(e.find("--local-server: every --dst must use one port (the server listens on 8080)"),
            std::string::npos)
      << e;
}

TEST(GenOptions, AnIpRangeGivesEveryAddressFromFirstToLast) {
  auto o = parse({"--ip", "10.0.0.2-4/24", "--ip", "10.0.1.250-10.0.1.251/23", "--dst",
                  "10.0.0.1:80", "--mode", "cps"});
  ASSERT_TRUE(o);
  ASSERT_EQ(o->addrs.size(), 5u);
  EXPECT_EQ(o->addrs[0].to_string(), "10.0.0.2/24");
  EXPECT_EQ(o->addrs[2].to_string(), "10.0.0.4/24");
  EXPECT_EQ(o->addrs[3].to_string(), "10.0.1.250/23");
  EXPECT_EQ(o->addrs[4].to_string(), "10.0.1.251/23");
}

TEST(GenOptions, LocalServerMustAnswerTheTrafficAsked) {
  // Which server each kind of traffic needs: http for --http, source for a download, discard
  // for an upload, echo for the rest.
  EXPECT_TRUE(parse({"--mode", "cps", "--http", "--local-server", "http"}));
  EXPECT_TRUE(parse({"--mode", "bulk", "--direction", "down", "--local-server", "source"}));
  EXPECT_TRUE(parse({"--mode", "bulk", "--direction", "up", "--local-server", "discard"}));
  EXPECT_TRUE(parse({"--mode", "bulk", "--direction", "both", "--local-server", "echo"}));
  EXPECT_TRUE(parse({"--mode", "hold", "--local-server", "discard"}));
  std::string err;
  EXPECT_FALSE(parse({"--mode", "rps", "--http", "--local-server", "echo"}, &err));
  EXPECT_NE(err.find("use --local-server http"), std::string::npos) << err;
  EXPECT_FALSE(parse({"--mode", "bulk", "--direction", "down", "--local-server", "echo"}, &err));
  EXPECT_NE(err.find("use --local-server source"), std::string::npos) << err;
  EXPECT_FALSE(parse({"--mode", "rps", "--local-server", "nope"}, &err));
  EXPECT_NE(err.find("--local-server: 'nope'"), std::string::npos) << err;
  EXPECT_FALSE(parse({"--mode", "rps", "--local-server", "echo", "--ip", "10.0.0.2/24", "--dst",
                      "10.1.0.1:80", "--gw", "10.0.0.1"},
                     &err));
  EXPECT_NE(err.find("must be on an --ip subnet"), std::string::npos) << err;
}

// A valid rps command line followed by `extra`.
std::vector<std::string> rps_with(std::vector<std::string> extra) {
  std::vector<std::string> a{"--ip", "10.0.0.2/24", "--dst", "10.0.0.1:80", "--mode", "rps"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

TEST(GenOptions, PcapTakesAFileAndAnOptionalSnaplen) {
  auto o = parse(rps_with({"--pcap", "/tmp/gen.pcapng"}));
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->pcap.enabled());
  EXPECT_EQ(o->pcap.path, "/tmp/gen.pcapng");
  EXPECT_EQ(o->pcap.snaplen, kPcapMaxSnaplen);
  o = parse(rps_with({"--pcap=/tmp/gen.pcapng:96"}));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->pcap.path, "/tmp/gen.pcapng");
  EXPECT_EQ(o->pcap.snaplen, 96u);
  o = parse(rps_with({}));
  ASSERT_TRUE(o);
  EXPECT_FALSE(o->pcap.enabled());
}

TEST(GenOptions, HelpNeedsNothingElse) {
  auto o = parse({"--help"});
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->help);
}

struct BadCase {
  std::vector<std::string> args;
  const char* must_mention;
};

class BadGenOptions : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadGenOptions, AreRefusedWithAReason) {
  std::string err;
  EXPECT_FALSE(parse(GetParam().args, &err));
  EXPECT_NE(err.find(GetParam().must_mention), std::string::npos) << err;
  EXPECT_EQ(err.find('\n'), std::string::npos) << "one line: " << err;
}

#define GOOD "--ip", "10.0.0.2/24", "--dst", "10.0.0.1:80"
INSTANTIATE_TEST_SUITE_P(
    GenOptions, BadGenOptions,
    ::testing::Values(
        BadCase{{}, "--ip is required"},
        BadCase{{"--ip", "10.0.0.2/24", "--mode", "rps"}, "--dst is required"},
        BadCase{{GOOD}, "--mode is required"},
        BadCase{{GOOD, "--mode", "flood"}, "--mode: 'flood'"},
        BadCase{{GOOD, "--mode", "rps", "--http", "--parsers", "0"}, "--parsers"},
        BadCase{{GOOD, "--mode", "rps", "--pcap", "x.pcapng:0"}, "--pcap: snaplen '0'"},
        BadCase{{GOOD, "--mode", "rps", "--pcap", "x.pcapng:big"}, "--pcap: snaplen 'big'"},
        BadCase{{GOOD, "--mode", "rps", "--pcap", "x.pcapng:262145"}, "[1, 262144]"},
        BadCase{{GOOD, "--mode", "rps", "--pcap", ":64"}, "--pcap: needs a file name"},
        BadCase{{GOOD, "--mode", "rps", "--pcap"}, "--pcap needs a value"},
        BadCase{{"--ip", "10.0.0.2/24", "--dst", "10.0.0.1", "--mode", "rps"}, "ADDRESS:PORT"},
        BadCase{{"--ip", "10.0.0.2/24", "--dst", "10.0.0.1:0", "--mode", "rps"}, "--dst"},
        BadCase{{"--ip", "10.0.0.2/24", "--dst", "10.0.0.1:70000", "--mode", "rps"}, "--dst"},
        BadCase{{"--ip", "10.0.0.2/24", "--dst", "255.255.255.255:80", "--mode", "rps"},
                "not a unicast address"},
        BadCase{{"--ip", "10.0.0.2/24", "--dst", "10.0.0.2:80", "--mode", "rps"},
                "one of our own addresses"},
        BadCase{{"--ip", "10.0.0.2/24", "--dst", "10.9.0.1:80", "--mode", "rps"}, "no --gw"},
        BadCase{{GOOD, "--mode", "rps", "--connections", "0"}, "--connections: '0'"},
        BadCase{{GOOD, "--mode", "rps", "--connections", "many"}, "--connections: 'many'"},
        BadCase{{GOOD, "--mode", "cps", "--concurrency", "-1"}, "--concurrency"},
        BadCase{{GOOD, "--mode", "rps", "--duration", "0"}, "--duration: '0'"},
        BadCase{{GOOD, "--mode", "rps", "--req-size", "0"}, "--req-size"},
        BadCase{{GOOD, "--mode", "rps", "--rate", "1e6"}, "--rate"},
        BadCase{{GOOD, "--mode", "bulk", "--direction", "sideways"}, "--direction: 'sideways'"},
        BadCase{{GOOD, "--mode", "bulk", "--http"}, "bulk mode moves raw bytes"},
        BadCase{{GOOD, "--mode", "rps", "--http=yes"}, "--http takes no value"},
        BadCase{{GOOD, "--mode", "bulk", "--cc", "reno"},
                "--cc: 'reno' is not one of newreno, cubic"},
        BadCase{{GOOD, "--mode", "bulk", "--no-sack=yes"}, "--no-sack takes no value"},
        BadCase{{GOOD, "--mode", "cps", "--time-wait-records", "0"},
                "--time-wait-records: '0' is not a whole number in [1, 16777216]"},
        BadCase{{GOOD, "--mode", "cps", "--time-wait-records", "-1"}, "--time-wait-records: '-1'"},
        BadCase{{GOOD, "--mode", "cps", "--neigh-max", "0"},
                "--neigh-max: '0' is not a whole number in [256, 1048576]"},
        BadCase{{GOOD, "--mode", "rps", "--path", "no-slash"}, "--path"},
        BadCase{{GOOD, "--mode", "rps", "--connections", "100", "--max-conns", "50"},
                "exceeds --max-conns"},
        BadCase{{GOOD, "--mode", "rps", "--json"}, "--json needs a value"},
        BadCase{{GOOD, "--mode", "rps", "--frobnicate"}, "unknown option --frobnicate"},
        BadCase{{GOOD, "--mode", "rps", "stray"}, "unexpected argument 'stray'"},
        BadCase{{GOOD, "--mode", "rps", "--gw", "10.1.0.1"}, "not on any --ip subnet"},
        BadCase{{"--ip", "10.0.0.9-2/24", "--dst", "10.0.0.1:80", "--mode", "rps"},
                "must run upwards"},
        BadCase{{"--ip", "10.0.0.2-10.0.1.2/24", "--dst", "10.0.0.1:80", "--mode", "rps"},
                "within its subnet"},
        BadCase{{"--ip", "10.0.0.250-255/24", "--dst", "10.0.0.1:80", "--mode", "rps"},
                "includes 10.0.0.255"},
        BadCase{{"--ip", "10.0.0.2-x/24", "--dst", "10.0.0.1:80", "--mode", "rps"},
                "is not a range"}));
#undef GOOD

// --- traffic profiles (issue 15 item 4) ------------------------------------------------------

TEST(GenProfiles, PathsAndHeadersMakeOneRequestPerPathWithEveryHeader) {
  std::string e;
  auto o = parse_gen_options(
      {"--ip", "10.0.0.2/24", "--dst", "10.0.0.1:80", "--mode", "rps", "--http", "--path", "/a",
       "--path", "/b?x=1", "--header", "X-Test: 1", "--header", "Accept-Language:en"},
      e);
  ASSERT_TRUE(o) << e;
  EXPECT_EQ(o->http_paths, (std::vector<std::string>{"/a", "/b?x=1"}));
  const auto reqs = http_requests(*o);
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0],
            "GET /a HTTP/1.1\r\nHost: 10.0.0.1:80\r\nUser-Agent: pollux-gen\r\nAccept: */*\r\n"
            "X-Test: 1\r\nAccept-Language:en\r\n\r\n");
  EXPECT_EQ(reqs[1].substr(0, 23), "GET /b?x=1 HTTP/1.1\r\nHo");
  // Without --path, the one request is for "/".
  auto d = parse_gen_options(
      {"--ip", "10.0.0.2/24", "--dst", "10.0.0.1:80", "--mode", "rps", "--http"}, e);
  ASSERT_TRUE(d);
  EXPECT_EQ(http_requests(*d).size(), 1u);
  EXPECT_EQ(http_requests(*d)[0].substr(0, 16), "GET / HTTP/1.1\r\n");
}

TEST(GenProfiles, BadHeadersAndRampsSayWhatIsWrong) {
  const std::vector<std::string> base = {"--ip",   "10.0.0.2/24", "--dst", "10.0.0.1:80",
                                         "--mode", "rps",         "--http"};
  struct Bad {
    std::vector<std::string> extra;
    const char* says;
  };
  for (const Bad& b : {Bad{{"--header", "NoColon"}, "--header: 'NoColon' is not 'Name: value'"},
                       Bad{{"--header", "Bad Name: x"}, "has a name that is not an HTTP token"},
                       Bad{{"--header", "X: a\r\nInjected: 1"}, "has a control character"},
                       Bad{{"--header", "host: other"}, "is set by pollux-gen itself"},
                       Bad{{"--header", "Content-Length: 5"}, "is set by pollux-gen itself"},
                       Bad{{"--ramp", "5"}, "--ramp raises --rate: it needs --rate N"},
                       Bad{{"--ramp", "0", "--rate", "10"}, "--ramp: '0' is not a whole number"}}) {
    auto args = base;
    args.insert(args.end(), b.extra.begin(), b.extra.end());
    std::string e;
    EXPECT_FALSE(parse_gen_options(args, e)) << b.says;
    EXPECT_NE(e.find(b.says), std::string::npos) << e;
  }
  std::string e;
  EXPECT_FALSE(parse_gen_options(
      {"--ip", "10.0.0.2/24", "--dst", "10.0.0.1:80", "--mode", "rps", "--header", "X: 1"}, e));
  EXPECT_NE(e.find("headers are for --http requests"), std::string::npos) << e;
  EXPECT_FALSE(parse_gen_options({"--ip", "10.0.0.2/24", "--dst", "10.0.0.1:80", "--mode", "bulk",
                                  "--rate", "10", "--ramp", "3"},
                                 e));
}

TEST(GenProfiles, ARampSendsTheIntegralOfALinearRiseThenTheFullRate) {
  constexpr uint64_t s = 1'000'000'000, ramp = 10 * s;
  EXPECT_EQ(ramp_work_at(0, ramp), 0u);
  EXPECT_EQ(ramp_work_at(5 * s, ramp), 5 * s / 4);  // half way: a quarter of the full work
  EXPECT_EQ(ramp_work_at(10 * s, ramp), 5 * s);     // the ramp's end: half
  EXPECT_EQ(ramp_work_at(12 * s, ramp), 7 * s);     // then one for one
  // The inverse maps each back.
  for (uint64_t t : std::vector<uint64_t>{0, 1, 3 * s, 5 * s, 9 * s + 7, 10 * s, 11 * s, 100 * s}) {
    const uint64_t back = ramp_time_for_work(ramp_work_at(t, ramp), ramp);
    EXPECT_LE(back > t ? back - t : t - back, 2000u) << t;  // within 2 us of rounding
  }
  // At 1000 requests/s over a 10 s ramp, the first second carries 50 of them (1/20 of the
  // full rate's work), the tenth 950, the eleventh 1000: requests k = 0, 1, ... go out at
  // ramp_time_for_work(k ms).
  auto sent_in = [&](uint64_t from, uint64_t to) {
    unsigned n = 0;
    for (uint64_t k = 0; k < 20'000; ++k) {
      const uint64_t t = ramp_time_for_work(k * 1'000'000, ramp);
      n += t >= from && t < to;
    }
    return n;
  };
  EXPECT_NEAR(sent_in(0, s), 50, 1);
  EXPECT_NEAR(sent_in(9 * s, 10 * s), 950, 1);
  EXPECT_NEAR(sent_in(10 * s, 11 * s), 1000, 1);
  // No ramp: the schedule is the full rate's.
  EXPECT_EQ(ramp_time_for_work(123, 0), 123u);
  EXPECT_EQ(ramp_work_at(123, 0), 123u);
}

TEST(GenProfiles, AWeightedListReadsValuesWithUnitsAndOptionalWeights) {
  std::vector<Weighted> out;
  std::string e;
  ASSERT_TRUE(parse_weighted_list("--req-size", "64@3,1k@1,2Ki", Unit::size, 1, 1u << 30, out, e))
      << e;
  EXPECT_EQ(out, (std::vector<Weighted>{{64, 3}, {1000, 1}, {2048, 1}}));
  EXPECT_EQ(weighted_list_text(out), "64@3,1000,2048");
  struct Bad {
    const char* text;
    const char* says;
  };
  for (const Bad& b : {Bad{"64@0", "--req-size: '0' is not a weight in [1, 1000000]"},
                       Bad{"64@", "--req-size: '' is not a weight"},
                       Bad{"64@x", "--req-size: 'x' is not a weight"},
                       Bad{"64,,1k", "--req-size: '' is not a whole number"},
                       Bad{"0@1", "--req-size: '0' is not a whole number in [1, 1073741824]"},
                       Bad{"1q", "--req-size: '1q' has an unknown suffix 'q'"}}) {
    out = {{7, 7}};
    EXPECT_FALSE(parse_weighted_list("--req-size", b.text, Unit::size, 1, 1u << 30, out, e))
        << b.text;
    EXPECT_NE(e.find(b.says), std::string::npos) << b.text << ": " << e;
    EXPECT_EQ(out, (std::vector<Weighted>{{7, 7}})) << "a refused list leaves the old one";
  }
  std::string many = "1";
  for (size_t i = 1; i <= kMaxWeighted; ++i) many += ",1";
  EXPECT_FALSE(parse_weighted_list("--req-size", many, Unit::size, 1, 10, out, e));
  EXPECT_EQ(e, "--req-size: at most 64 entries");
}

TEST(GenProfiles, AWeightedCyclePicksInProportionEvenlySpread) {
  WeightedCycle c({{64, 3}, {1000, 1}});
  std::vector<size_t> picks;
  for (int i = 0; i < 8; ++i) picks.push_back(c.next());
  // Every cycle of 4 picks holds three 0s and one 1, the 1 never twice in a row.
  EXPECT_EQ(picks, (std::vector<size_t>{0, 0, 1, 0, 0, 0, 1, 0}));
  WeightedCycle w({{1, 5}, {2, 2}, {3, 1}, {4, 2}});
  std::vector<int> counts(4);
  for (int i = 0; i < 1000; ++i) ++counts[w.next()];
  EXPECT_EQ(counts, (std::vector<int>{500, 200, 100, 200}));
  EXPECT_EQ(WeightedCycle({{9, 4}}).size(), 1u);
  WeightedCycle none;
  EXPECT_EQ(none.next(), 0u);
}

TEST(GenProfiles, SizeMixesMethodAndBodiesParseAndBadCombinationsAreRefused) {
  std::string e;
  auto o = parse({"--ip", "10.0.0.2/24", "--dst", "10.0.0.1:7", "--mode", "rps", "--req-size",
                  "64@3,1k@1", "--resp-size", "10,20"},
                 &e);
  ASSERT_TRUE(o) << e;
  EXPECT_EQ(o->req_sizes, (std::vector<Weighted>{{64, 3}, {1000, 1}}));
  EXPECT_EQ(o->req_size, 64u);
  EXPECT_EQ(o->resp_sizes, (std::vector<Weighted>{{10, 1}, {20, 1}}));
  // One size is no mix.
  auto one =
      parse({"--ip", "10.0.0.2/24", "--dst", "10.0.0.1:7", "--mode", "rps", "--req-size", "100"});
  ASSERT_TRUE(one);
  EXPECT_TRUE(one->req_sizes.empty());
  EXPECT_EQ(one->req_size, 100u);
  auto post = parse({"--ip", "10.0.0.2/24", "--dst", "10.0.0.1:80", "--mode", "rps", "--http",
                     "--method", "POST", "--body-size", "100@1,1Ki@3"},
                    &e);
  ASSERT_TRUE(post) << e;
  EXPECT_EQ(post->http_method, HttpMethod::post);
  EXPECT_EQ(post->body_sizes, (std::vector<Weighted>{{100, 1}, {1024, 3}}));
  const std::vector<std::string> base = {"--ip",        "10.0.0.2/24", "--dst",
                                         "10.0.0.1:80", "--mode",      "rps"};
  struct Bad {
    std::vector<std::string> extra;
    const char* says;
  };
  for (const Bad& b :
       {Bad{{"--method", "PUT", "--http"}, "--method: 'PUT' is not one of GET, POST"},
        Bad{{"--method", "POST"}, "--method: methods are for --http requests"},
        Bad{{"--http", "--body-size", "10"}, "--body-size: bodies are sent with --method POST"},
        Bad{{"--http", "--method", "POST", "--body-size", "2Mi"},
            "--body-size: '2Mi' is not a whole number in [0, 1048576]"},
        Bad{{"--http", "--req-size", "1,2"}, "size mixes are for raw payloads"},
        Bad{{"--mode", "bulk", "--req-size", "1,2"}, "bulk mode streams"},
        Bad{{"--rate", "10k,20k"}, "--rate: several rates need --step S"},
        Bad{{"--rate", "10k", "--step", "5"}, "--step: it needs several rates"},
        Bad{{"--rate", "10k,0", "--step", "5"}, "--rate: '0' is not a whole number in [1, "},
        Bad{{"--rate", "10k@2,20k", "--step", "5"}, "steps take no @weight"},
        Bad{{"--mode", "bulk", "--rate", "1,2", "--step", "5"}, "bulk mode has no rate to step"}}) {
    auto args = base;
    args.insert(args.end(), b.extra.begin(), b.extra.end());
    EXPECT_FALSE(parse(args, &e)) << b.says;
    EXPECT_NE(e.find(b.says), std::string::npos) << e;
  }
}

TEST(GenProfiles, APostCarriesContentLengthAndItsBodyForEveryPathAndSize) {
  std::string e;
  auto o = parse({"--ip", "10.0.0.2/24", "--dst", "10.0.0.1:80", "--mode", "rps", "--http",
                  "--method", "POST", "--body-size", "3,30@2", "--path", "/a", "--path", "/b"},
                 &e);
  ASSERT_TRUE(o) << e;
  const auto reqs = http_requests(*o);
  ASSERT_EQ(reqs.size(), 4u);  // path-major: /a 3, /a 30, /b 3, /b 30
  EXPECT_EQ(reqs[0],
            "POST /a HTTP/1.1\r\nHost: 10.0.0.1:80\r\nUser-Agent: pollux-gen\r\nAccept: */*\r\n"
            "Content-Length: 3\r\n\r\nabc");
  EXPECT_EQ(reqs[1].substr(0, 8), "POST /a ");
  EXPECT_TRUE(reqs[1].ends_with("Content-Length: 30\r\n\r\nabcdefghijklmnopqrstuvwxyzabcd"))
      << reqs[1];
  EXPECT_EQ(reqs[3].substr(0, 8), "POST /b ");
  EXPECT_EQ(http_bodies(*o), 2u);
  // POST without --body-size: an empty body, still framed.
  auto empty = parse({"--ip", "10.0.0.2/24", "--dst", "10.0.0.1:80", "--mode", "rps", "--http",
                      "--method", "POST"});
  ASSERT_TRUE(empty);
  ASSERT_EQ(http_requests(*empty).size(), 1u);
  EXPECT_NE(http_requests(*empty)[0].find("Content-Length: 0\r\n\r\n"), std::string::npos);
}

TEST(GenProfiles, SteppedRatesHoldEachStepThenTheLast) {
  std::string e;
  auto o = parse({"--ip", "10.0.0.2/24", "--dst", "10.0.0.1:80", "--mode", "rps", "--rate",
                  "10k,20k,40k", "--step", "10s"},
                 &e);
  ASSERT_TRUE(o) << e;
  EXPECT_EQ(o->rate_steps, (std::vector<uint32_t>{10'000, 20'000, 40'000}));
  EXPECT_EQ(o->rate, 40'000u) << "the peak";
  constexpr uint64_t s = 1'000'000'000;
  const RateProfile p(*o);
  EXPECT_FALSE(p.flat());
  EXPECT_DOUBLE_EQ(p.fraction_at(0), 0.25);
  EXPECT_DOUBLE_EQ(p.fraction_at(15 * s), 0.5);
  EXPECT_DOUBLE_EQ(p.fraction_at(25 * s), 1.0);
  EXPECT_DOUBLE_EQ(p.fraction_at(1000 * s), 1.0);
  EXPECT_EQ(p.work_at(10 * s), 10 * s / 4);
  EXPECT_EQ(p.work_at(20 * s), 10 * s / 4 + 10 * s / 2);
  EXPECT_EQ(p.work_at(21 * s), 17 * s / 2);  // 2.5 + 5 + 1
  for (uint64_t t : std::vector<uint64_t>{0, 1, 3 * s, 10 * s, 19 * s + 7, 20 * s, 35 * s}) {
    const uint64_t back = p.time_for_work(p.work_at(t));
    EXPECT_LE(back > t ? back - t : t - back, 10u) << t;
  }
  // The progress line's target, second by second: 10k, then 20k, then 40k.
  EXPECT_NEAR(p.expected(o->rate, 0, s), 10'000, 1);
  EXPECT_NEAR(p.expected(o->rate, 9 * s, 10 * s), 10'000, 1);
  EXPECT_NEAR(p.expected(o->rate, 10 * s, 11 * s), 20'000, 1);
  EXPECT_NEAR(p.expected(o->rate, 25 * s, 26 * s), 40'000, 1);
  // A schedule at the peak in work time (one request every 25 us of work) is 10k/s, 20k/s,
  // 40k/s in real time.
  auto sent_in = [&](uint64_t from, uint64_t to) {
    unsigned n = 0;
    for (uint64_t k = 0; k < 1'500'000; ++k) {
      const uint64_t t = p.time_for_work(k * 25'000);
      n += t >= from && t < to;
    }
    return n;
  };
  EXPECT_NEAR(sent_in(5 * s, 6 * s), 10'000, 1);
  EXPECT_NEAR(sent_in(12 * s, 13 * s), 20'000, 1);
  EXPECT_NEAR(sent_in(30 * s, 31 * s), 40'000, 1);
  // With --ramp the rise goes to the first step, then the steps follow.
  const RateProfile r(4 * s, {1000, 2000}, 2 * s);
  EXPECT_DOUBLE_EQ(r.fraction_at(2 * s), 0.25);
  EXPECT_DOUBLE_EQ(r.fraction_at(5 * s), 0.5);
  EXPECT_DOUBLE_EQ(r.fraction_at(6 * s), 1.0);
  EXPECT_EQ(r.work_at(4 * s), s);
  EXPECT_NEAR(static_cast<double>(r.time_for_work(s / 4)), 2.0 * s, 10);
  // No ramp and no steps: flat, work is time.
  const RateProfile flat(
      *parse({"--ip", "10.0.0.2/24", "--dst", "10.0.0.1:80", "--mode", "rps", "--rate", "500"}));
  EXPECT_TRUE(flat.flat());
  EXPECT_EQ(flat.work_at(123), 123u);
  EXPECT_EQ(flat.time_for_work(123), 123u);
  // A ramp alone is the same schedule ramp_work_at gives.
  const RateProfile ramp(10 * s, {}, 0);
  for (uint64_t t : std::vector<uint64_t>{0, 3 * s, 10 * s, 12 * s})
    EXPECT_NEAR(static_cast<double>(ramp.work_at(t)), static_cast<double>(ramp_work_at(t, 10 * s)),
                2);
}

TEST(GenProfiles, SeveralDestinationsTakeWeightsAndEachGetsItsOwnHost) {
  std::string e;
  auto o = parse({"--ip", "10.0.0.2/24", "--dst", "10.0.0.1:80@3", "--dst", "10.0.0.9:8080",
                  "--mode", "rps", "--http"},
                 &e);
  ASSERT_TRUE(o) << e;
  ASSERT_EQ(o->dsts.size(), 2u);
  EXPECT_EQ(o->dsts[0].to_string(), "10.0.0.1:80");
  EXPECT_EQ(o->dsts[0].weight, 3u);
  EXPECT_EQ(o->dsts[1].to_string(), "10.0.0.9:8080");
  EXPECT_EQ(o->dsts[1].weight, 1u);
  EXPECT_EQ(o->dst.to_string(), "10.0.0.1") << "the first stays the main one";
  EXPECT_EQ(o->dst_port, 80);
  const auto reqs = http_requests(*o);
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_NE(reqs[0].find("Host: 10.0.0.1:80\r\n"), std::string::npos);
  EXPECT_NE(reqs[1].find("Host: 10.0.0.9:8080\r\n"), std::string::npos);
  const std::vector<std::string> base = {"--ip", "10.0.0.2/24", "--mode", "rps"};
  struct Bad {
    std::vector<std::string> extra;
    const char* says;
  };
  for (const Bad& b :
       {Bad{{"--dst", "10.0.0.1:80@0"}, "--dst: '0' is not a weight in [1, 1000000]"},
        Bad{{"--dst", "10.0.0.1:80@"}, "--dst: '' is not a weight"},
        Bad{{"--dst", "10.0.0.1:80", "--dst", "10.0.0.1:80@2"},
            "--dst: 10.0.0.1:80 is given twice"},
        Bad{{"--dst", "10.0.0.1:80", "--dst", "10.9.0.1:80"},
            "--dst: 10.9.0.1 is not on any --ip subnet and there is no --gw"},
        Bad{{"--dst", "10.0.0.1:80", "--dst", "10.0.0.2:80"},
            "--dst: 10.0.0.2 is one of our own addresses"},
        Bad{{"--dst", "10.0.0.1:80", "--dst", "10.0.0.3:81", "--local-server", "echo"},
            "--local-server: every --dst must use one port (the server listens on 80)"}}) {
    auto args = base;
    args.insert(args.end(), b.extra.begin(), b.extra.end());
    EXPECT_FALSE(parse(args, &e)) << b.says;
    EXPECT_NE(e.find(b.says), std::string::npos) << e;
  }
  std::vector<std::string> many = base;
  for (int i = 0; i <= 16; ++i) {
    many.push_back("--dst");
    many.push_back("10.0.0." + std::to_string(10 + i) + ":80");
  }
  EXPECT_FALSE(parse(many, &e));
  EXPECT_EQ(e, "--dst: at most 16 destinations");
}

// Issue 16: an IPv6 server, bracketed (RFC 5952 6), reached from the --ip IPv6 addresses.
TEST(GenOptions, AnIpv6DstIsBracketedAndItsHostHeaderToo) {
  std::string e;
  auto o = parse({"--ip", "10.0.0.2/24", "--ip", "fd00:99::2/64", "--dst", "[FD00:99:0::1]:8080",
                  "--dst", "10.0.0.1:80", "--mode", "rps", "--http"},
                 &e);
  ASSERT_TRUE(o) << e;
  ASSERT_EQ(o->dsts.size(), 2u);
  EXPECT_TRUE(o->dst.ipv6);
  EXPECT_EQ(o->dst.to_string(), "fd00:99::1") << "the canonical text (RFC 5952 4)";
  EXPECT_EQ(o->dsts[0].to_string(), "[fd00:99::1]:8080");
  EXPECT_STREQ(o->dst.family(), "ipv6");
  EXPECT_EQ(o->dst_port, 8080);
  EXPECT_FALSE(o->dsts[1].addr.ipv6) << "families may be mixed: each opens from its own";
  const auto reqs = http_requests(*o);
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_NE(reqs[0].find("Host: [fd00:99::1]:8080\r\n"), std::string::npos) << reqs[0];
  EXPECT_NE(reqs[1].find("Host: 10.0.0.1:80\r\n"), std::string::npos);
  // Only IPv6 addresses: enough for an IPv6 server.
  ASSERT_TRUE(parse({"--ip", "fd00:99::2/64", "--dst", "[fd00:99::1]:80", "--mode", "cps"}, &e))
      << e;
}

// Issue 16: an IPv6 server off our link is reached through the IPv6 --gw (on an IPv6 --ip
// prefix or link-local), beside an IPv4 gateway for the IPv4 destinations.
TEST(GenOptions, AnOffLinkIpv6DstIsReachedThroughTheIpv6Gw) {
  std::string e;
  auto o = parse({"--ip", "10.0.0.2/24", "--ip", "fd00:99::2/64", "--gw", "fd00:99::1", "--gw",
                  "10.0.0.1", "--dst", "[2001:db8::80]:8080", "--dst", "10.9.0.1:80", "--mode",
                  "rps"},
                 &e);
  ASSERT_TRUE(o) << e;
  EXPECT_EQ(o->gateway6->to_string(), "fd00:99::1");
  EXPECT_EQ(o->gateway->to_string(), "10.0.0.1");
  o = parse({"--ip", "fd00:99::2/64", "--gw", "fe80::1", "--dst", "[2001:db8::80]:80", "--mode",
             "cps"},
            &e);
  ASSERT_TRUE(o) << e;
  EXPECT_EQ(o->gateway6->to_string(), "fe80::1");
}

TEST(GenOptions, AnIpv6DstWithoutAnIpv6AddressOfOursIsRefusedWithAReason) {
  struct Bad {
    std::vector<std::string> args;
    const char* says;
  };
  for (const Bad& b : {
           Bad{{"--ip", "10.0.0.2/24", "--dst", "[fd00:99::1]:80"},
               "--dst: [fd00:99::1]:80 is IPv6 and no --ip names an IPv6 address (e.g. --ip "
               "fd00::2/64)"},
           Bad{{"--ip", "fd00:99::2/64", "--dst", "10.0.0.1:80"},
               "--dst: 10.0.0.1:80 is IPv4 and no --ip names an IPv4 address"},
           Bad{{"--ip", "10.0.0.2/24", "--ip", "fd00:99::2/64", "--dst", "[fd00:98::1]:80"},
               "--dst: fd00:98::1 is not on any IPv6 --ip subnet and there is no IPv6 --gw"},
           Bad{{"--ip", "10.0.0.2/24", "--ip", "fd00:99::2/64", "--gw", "10.0.0.1", "--dst",
                "[fd00:98::1]:80"},
               "there is no IPv6 --gw"},
           Bad{{"--ip", "fd00:99::2/64", "--gw", "fd00:98::1", "--dst", "[fd00:98::7]:80"},
               "--gw: fd00:98::1 is not on any IPv6 --ip subnet nor link-local"},
           Bad{{"--ip", "fd00:99::2/64", "--gw", "fd00:99::1", "--gw", "fe80::1", "--dst",
                "[fd00:98::7]:80"},
               "--gw: fe80::1 is a second IPv6 gateway"},
           Bad{{"--ip", "fd00:99::2/64", "--gw", "ff02::1", "--dst", "[fd00:98::7]:80"},
               "--gw: ff02::1 cannot be a gateway"},
           Bad{{"--ip", "fd00:99::2/64", "--dst", "[fd00:99::2]:80"},
               "--dst: fd00:99::2 is one of our own addresses"},
           Bad{{"--ip", "fd00:99::2/64", "--dst", "fd00:99::1:80"},
               "--dst: 'fd00:99::1:80' is not ADDRESS:PORT like 10.0.0.1:8080 or [fd00::1]:8080"},
           Bad{{"--ip", "fd00:99::2/64", "--dst", "[fd00:99::1]"}, "is not ADDRESS:PORT"},
           Bad{{"--ip", "fd00:99::2/64", "--dst", "[fd00:99::1:80"}, "is not ADDRESS:PORT"},
           Bad{{"--ip", "fd00:99::2/64", "--dst", "[ff02::1]:80"},
               "--dst: ff02::1 is not a unicast address"},
           Bad{{"--ip", "fd00:99::2/64", "--dst", "[::ffff:10.0.0.1]:80"},
               "is not a unicast address"},
           Bad{{"--ip", "fd00:99::2/64", "--dst", "[::1]:80"},
               "--dst: ::1 is not a unicast address"},
           Bad{{"--ip", "10.0.0.2/24", "--dst", "127.0.0.1:80"},
               "--dst: 127.0.0.1 is not a unicast address"},
           Bad{{"--ip", "10.0.0.2/24", "--dst", "240.0.0.1:80"},
               "--dst: 240.0.0.1 is not a unicast address"},
       }) {
    std::string e;
    auto args = b.args;
    args.insert(args.end(), {"--mode", "rps"});
    EXPECT_FALSE(parse(args, &e)) << b.says;
    EXPECT_NE(e.find(b.says), std::string::npos) << e;
  }
}

TEST(GenReport, TheSummaryAndTheReportShowTheDestinationsFamily) {
  std::string e;
  auto o = parse({"--ip", "fd00:99::2/64", "--dst", "[fd00:99::1]:8080", "--mode", "rps"}, &e);
  ASSERT_TRUE(o) << e;
  const GenTotals t;
  const std::string text = gen_summary(*o, 1.0, t, LatencyHistogram{}, LatencyHistogram{});
  EXPECT_EQ(text.rfind("summary: rps raw to [fd00:99::1]:8080 (ipv6) for 1.00 s\n", 0), 0u) << text;
  const std::string doc = gen_json(*o, 1.0, t, {}, LatencyHistogram{}, LatencyHistogram{}, {});
  EXPECT_NE(doc.find("\"dst\":\"fd00:99::1\",\"dst_port\":8080,\"family\":\"ipv6\""),
            std::string::npos)
      << doc;
  auto v4 = parse({"--ip", "10.0.0.2/24", "--dst", "10.0.0.1:80", "--mode", "rps"}, &e);
  ASSERT_TRUE(v4) << e;
  EXPECT_EQ(gen_summary(*v4, 1.0, t, LatencyHistogram{}, LatencyHistogram{})
                .rfind("summary: rps raw to 10.0.0.1:80 (ipv4) for", 0),
            0u);
  EXPECT_NE(gen_json(*v4, 1.0, t, {}, LatencyHistogram{}, LatencyHistogram{}, {})
                .find("\"family\":\"ipv4\""),
            std::string::npos);
}

TEST(GenReport, EachDestinationHasItsLineInTheSummaryAndItsEntryInTheReport) {
  GenOptions o;
  GenTotals t;
  t.dsts = {DestTotals{"10.0.0.1:80", 3, 300, 300, 3000, 0},
            DestTotals{"10.0.0.9:80", 1, 101, 100, 1000, 1}};
  const std::string text = gen_summary(o, 1.0, t, LatencyHistogram{}, LatencyHistogram{});
  EXPECT_NE(text.find("  dst 10.0.0.1:80           weight 3: 300 opened, 300 established, 3000 "
                      "requests, 0 errors\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  dst 10.0.0.9:80           weight 1: 101 opened"), std::string::npos)
      << text;
  const std::string doc = gen_json(o, 1.0, t, {}, LatencyHistogram{}, LatencyHistogram{}, {});
  EXPECT_NE(
      doc.find("\"destinations\":[{\"dst\":\"10.0.0.1:80\",\"weight\":3,\"opens\":300,"
               "\"established\":300,\"requests\":3000,\"errors\":0},{\"dst\":\"10.0.0.9:80\""),
      std::string::npos)
      << doc;
  // One destination: no per-destination lines (the totals say it all).
  t.dsts.resize(1);
  EXPECT_EQ(gen_summary(o, 1.0, t, LatencyHistogram{}, LatencyHistogram{}).find("  dst "),
            std::string::npos);
}

TEST(GenReport, EachSecondsTargetRateIsInTheLineAndTheSeries) {
  GenSample s;
  s.second = 12;
  s.target = 20'000;
  EXPECT_NE(gen_progress_line(s).find("| target 20000/s"), std::string::npos)
      << gen_progress_line(s);
  EXPECT_EQ(gen_progress_line(GenSample{}).find("target"), std::string::npos);
  GenOptions o;
  o.rate_steps = {10, 20};
  o.step_s = 3;
  o.req_sizes = {{64, 3}, {1000, 1}};
  o.http = true;
  o.http_method = HttpMethod::post;
  o.body_sizes = {{5, 1}};
  LatencyHistogram h;
  const std::string doc = gen_json(o, 1.0, GenTotals{}, {s}, h, h, {});
  for (const char* k : {"\"target\":20000", "\"step_s\":3", "\"rate_steps\":[10,20]",
                        "\"req_sizes\":[[64,3],[1000,1]]", "\"resp_sizes\":[]",
                        "\"method\":\"POST\"", "\"body_sizes\":[[5,1]]"})
    EXPECT_NE(doc.find(k), std::string::npos) << k << " in " << doc;
}

// --- histogram -------------------------------------------------------------------------------

using H = LatencyHistogram;

TEST(LatencyHistogram, BucketsTileTheRangeWithoutGapsOrOverlap) {
  EXPECT_EQ(H::bucket_low(0), 0u);
  for (size_t i = 0; i + 1 < H::kBuckets; ++i) {
    ASSERT_LE(H::bucket_low(i), H::bucket_high(i)) << i;
    ASSERT_EQ(H::bucket_high(i) + 1, H::bucket_low(i + 1)) << i;
  }
  EXPECT_EQ(H::bucket_high(H::kBuckets - 1), UINT64_MAX);
  EXPECT_EQ(H::bucket_of(UINT64_MAX), H::kBuckets - 1);
}

TEST(LatencyHistogram, EveryValueLandsInTheBucketThatCoversIt) {
  std::mt19937_64 rng(42);
  std::vector<uint64_t> values = {0,
                                  1,
                                  15,
                                  16,
                                  17,
                                  31,
                                  32,
                                  33,
                                  1000,
                                  1023,
                                  1024,
                                  1025,
                                  (1ull << 40) - 1,
                                  1ull << 40,
                                  UINT64_MAX - 1,
                                  UINT64_MAX};
  for (int i = 0; i < 100000; ++i) values.push_back(rng() >> (rng() % 64));
  for (uint64_t v : values) {
    const size_t b = H::bucket_of(v);
    ASSERT_LT(b, H::kBuckets);
    ASSERT_LE(H::bucket_low(b), v) << v;
    ASSERT_GE(H::bucket_high(b), v) << v;
    // Relative width at most 1/128: the upper edge overstates by no more than 0.78%.
    ASSERT_LE(H::bucket_high(b) - H::bucket_low(b), H::bucket_low(b) / 128) << v;
  }
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  H h;
  for (uint64_t v = 0; v < 16; ++v) h.record(v);
  EXPECT_EQ(h.count(), 16u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 15u);
  EXPECT_EQ(h.percentile(50), 7u);  // the 8th of 16
  EXPECT_EQ(h.percentile(100), 15u);
  EXPECT_EQ(h.percentile(0), 0u);
  EXPECT_DOUBLE_EQ(h.mean(), 7.5);
}

TEST(LatencyHistogram, PercentilesOfAUniformRunAreWithinTheBucketError) {
  H h;
  for (uint64_t v = 1; v <= 1'000'000; ++v) h.record(v * 1000);  // 1 us .. 1 s
  const double expect[][2] = {{50, 500e6}, {90, 900e6}, {99, 990e6}, {99.9, 999e6}};
  for (const auto& e : expect) {
    const double got = static_cast<double>(h.percentile(e[0]));
    EXPECT_GE(got, e[1]) << "p" << e[0];
    EXPECT_LE(got, e[1] * (1 + 1.0 / 128)) << "p" << e[0];
  }
  EXPECT_EQ(h.percentile(100), 1'000'000'000u);
  EXPECT_EQ(h.max(), 1'000'000'000u);
  EXPECT_EQ(h.min(), 1000u);
}

TEST(LatencyHistogram, PercentileNeverExceedsTheMaximum) {
  H h;
  h.record(1000);
  h.record(1001);
  EXPECT_EQ(h.percentile(99.9), 1001u);
  // Both share the bucket [1000, 1003]: its upper edge, clamped to the largest value seen.
  EXPECT_EQ(h.percentile(50), 1001u);
  h.record(2000);
  EXPECT_EQ(h.percentile(50), 1003u);  // no longer the maximum: the bucket's upper edge
  EXPECT_EQ(h.percentile(100), 2000u);
}

TEST(LatencyHistogram, PercentilesAreWithinOnePercentOfTheExactSortedValues) {
  // Latencies spread over five decades (log-uniform, 1 us .. 100 ms), as a loaded run gives.
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> decades(3.0, 8.0);
  std::vector<uint64_t> values;
  H h;
  for (int i = 0; i < 200000; ++i) {
    const auto v = static_cast<uint64_t>(std::pow(10.0, decades(rng)));
    values.push_back(v);
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  for (double p : {0.1, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    const auto rank =
        static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
    const uint64_t exact = values[std::max<size_t>(rank, 1) - 1];
    const uint64_t got = h.percentile(p);
    EXPECT_GE(got, exact) << "p" << p;
    EXPECT_LE(static_cast<double>(got), static_cast<double>(exact) * 1.01) << "p" << p;
  }
}

TEST(LatencyHistogram, SinceAnEarlierSnapshotIsTheIntervalsHistogram) {
  H h, interval_alone;
  for (uint64_t v = 1; v <= 1000; ++v) h.record(v * 10'000);  // the first second
  const H before = h.snapshot();
  for (uint64_t v = 1; v <= 500; ++v) {  // the second second: faster
    h.record(v * 100);
    interval_alone.record(v * 100);
  }
  const H d = h.snapshot().since(before);
  EXPECT_EQ(d.count(), 500u);
  for (size_t i = 0; i < H::kBuckets; ++i)
    ASSERT_EQ(d.bucket_count(i), interval_alone.bucket_count(i)) << i;
  for (double p : {50.0, 99.0})
    EXPECT_EQ(d.percentile(p), interval_alone.percentile(p)) << "p" << p;
  // The interval's own maximum is unknown, so its top percentile is the bucket's upper edge
  // (the whole histogram would clamp to the largest value, 50,000).
  EXPECT_EQ(d.percentile(99.9), H::bucket_high(H::bucket_of(50'000)));
  EXPECT_DOUBLE_EQ(d.mean(), interval_alone.mean());
  // Extremes are the interval's bucket edges: the run's min and max are not the interval's.
  EXPECT_EQ(d.min(), H::bucket_low(H::bucket_of(100)));
  EXPECT_EQ(d.max(), H::bucket_high(H::bucket_of(50'000)));
  EXPECT_EQ(h.snapshot().since(h.snapshot()).count(), 0u);
  EXPECT_EQ(h.snapshot().since(h.snapshot()).percentile(99), 0u);
}

TEST(LatencyHistogram, SnapshotsTakenWhileAnotherThreadRecordsNeverGoBackwards) {
  auto h = std::make_unique<H>();
  constexpr uint64_t kN = 300'000;
  std::atomic<bool> done{false};
  std::thread recorder([&] {
    for (uint64_t i = 0; i < kN; ++i) h->record(1000 + i % 5000);
    done.store(true);
  });
  uint64_t last = 0;
  int snapshots = 0;
  for (bool finished = false; !finished;) {
    finished = done.load();
    const H s = h->snapshot();
    ASSERT_GE(s.count(), last);
    ASSERT_LE(s.count(), kN);
    if (s.count() != 0) {
      ASSERT_GE(s.percentile(50), 1000u);
      ASSERT_LE(s.percentile(100), 5999u);
    }
    last = s.count();
    ++snapshots;
  }
  recorder.join();
  EXPECT_EQ(h->snapshot().count(), kN);
  EXPECT_GE(snapshots, 1);
}

TEST(LatencyHistogram, MergeAddsCountsAndKeepsExtremes) {
  H a, b;
  a.record(10);
  a.record(5000);
  b.record(3);
  b.record(70000);
  b.record(70000);
  a.merge(b);
  EXPECT_EQ(a.count(), 5u);
  EXPECT_EQ(a.min(), 3u);
  EXPECT_EQ(a.max(), 70000u);
  EXPECT_EQ(a.bucket_count(H::bucket_of(70000)), 2u);
  H empty;
  EXPECT_EQ(empty.percentile(99), 0u);
  EXPECT_EQ(empty.min(), 0u);
  a.merge(empty);
  EXPECT_EQ(a.min(), 3u);
}

// --- HTTP response reader --------------------------------------------------------------------

using http::ResponseParser;
using http::RespResult;

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Feeds `text` in pieces of `step` bytes; returns the final result and the bytes used.
RespResult feed_all(ResponseParser& p, const std::string& text, size_t step, size_t& used) {
  used = 0;
  RespResult r = RespResult::need_more;
  while (used < text.size()) {
    const size_t n = std::min(step, text.size() - used);
    size_t c = 0;
    r = p.feed(bytes(text).subspan(used, n), c);
    used += c;
    if (r != RespResult::need_more) break;
  }
  return r;
}

TEST(HttpResponse, ContentLengthBodyInAnySplit) {
  const std::string resp =
      "HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 200";
  for (size_t step = 1; step <= resp.size(); ++step) {
    ResponseParser p;
    size_t used = 0;
    ASSERT_EQ(feed_all(p, resp, step, used), RespResult::complete) << step;
    EXPECT_EQ(used, resp.find("hello") + 5) << "stops at the end of the response";
    EXPECT_EQ(p.status(), 200);
    EXPECT_TRUE(p.keep_alive());
    EXPECT_EQ(p.body_bytes(), 5u);
  }
}

TEST(HttpResponse, ChunkedBodyWithExtensionsAndTrailers) {
  const std::string resp =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
      "5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: y\r\n\r\n";
  for (size_t step : {size_t{1}, size_t{3}, size_t{1000}}) {
    ResponseParser p;
    size_t used = 0;
    ASSERT_EQ(feed_all(p, resp, step, used), RespResult::complete) << step;
    EXPECT_EQ(used, resp.size());
    EXPECT_EQ(p.body_bytes(), 15u);
  }
}

TEST(HttpResponse, Http10AndConnectionClose) {
  ResponseParser p;
  size_t used = 0;
  ASSERT_EQ(feed_all(p, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 100, used),
            RespResult::complete);
  EXPECT_FALSE(p.keep_alive());
  p.reset();
  ASSERT_EQ(feed_all(p, "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
                     100, used),
            RespResult::complete);
  EXPECT_TRUE(p.keep_alive());
  p.reset();
  ASSERT_EQ(
      feed_all(p, "HTTP/1.1 200 OK\r\nconnection: Close\r\ncontent-length: 0\r\n\r\n", 100, used),
      RespResult::complete);
  EXPECT_FALSE(p.keep_alive());
}

TEST(HttpResponse, BodyUntilCloseCompletesAtEof) {
  ResponseParser p;
  size_t used = 0;
  EXPECT_EQ(feed_all(p, "HTTP/1.1 200 OK\r\n\r\nsome body", 4, used), RespResult::need_more);
  EXPECT_EQ(p.body_bytes(), 9u);
  EXPECT_EQ(p.eof(), RespResult::complete);
  EXPECT_FALSE(p.keep_alive());
}

TEST(HttpResponse, NoBodyStatusesAndInterimResponses) {
  ResponseParser p;
  size_t used = 0;
  EXPECT_EQ(feed_all(p, "HTTP/1.1 204 No Content\r\n\r\n", 100, used), RespResult::complete);
  EXPECT_EQ(p.status(), 204);
  p.reset();
  const std::string two =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno";
  EXPECT_EQ(feed_all(p, two, 7, used), RespResult::complete);
  EXPECT_EQ(p.status(), 404);
  EXPECT_EQ(used, two.size());
}

TEST(HttpResponse, TruncatedResponseIsBadAtEof) {
  ResponseParser p;
  size_t used = 0;
  EXPECT_EQ(feed_all(p, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 100, used),
            RespResult::need_more);
  EXPECT_EQ(p.eof(), RespResult::bad);
}

class BadResponses : public ::testing::TestWithParam<const char*> {};
TEST_P(BadResponses, AreRefused) {
  ResponseParser p;
  size_t used = 0;
  EXPECT_EQ(feed_all(p, GetParam(), 5, used), RespResult::bad) << GetParam();
  // The fast path leaves every one to the parser, which counts it as before.
  http::WholeResponse w;
  EXPECT_FALSE(http::parse_whole_response(bytes(GetParam()), w, used)) << GetParam();
}
INSTANTIATE_TEST_SUITE_P(
    HttpResponse, BadResponses,
    ::testing::Values("HTTP/2.0 200 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n",
                      "http/1.1 200 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n",
                      "HTTP/1.1 099 Low\r\n\r\n", "SSH-2.0-OpenSSH\r\n",
                      "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
                      "HTTP/1.1 200 OK\r\nBad name: x\r\n\r\n",
                      "HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n",
                      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n"));

TEST(HttpResponse, OverlongLineIsBad) {
  ResponseParser p;
  size_t used = 0;
  const std::string big = "HTTP/1.1 200 OK\r\nX: " + std::string(ResponseParser::kMaxLine, 'a');
  EXPECT_EQ(feed_all(p, big, 4096, used), RespResult::bad);
}

// A header line may be kMaxLine bytes long (its CR counted, its LF not), whether it arrives
// whole in one span or split across many; one byte more is bad.
TEST(HttpResponse, ALineOfTheLimitIsReadWholeOrSplitAndOneMoreIsBad) {
  const std::string field = "X: " + std::string(ResponseParser::kMaxLine - 4, 'a');
  const std::string ok = "HTTP/1.1 200 OK\r\n" + field + "\r\nContent-Length: 0\r\n\r\n";
  const std::string too_long = "HTTP/1.1 200 OK\r\n" + field + "a\r\nContent-Length: 0\r\n\r\n";
  for (size_t step : {size_t{1}, size_t{7}, size_t{4096}, ok.size()}) {
    ResponseParser p;
    size_t used = 0;
    EXPECT_EQ(feed_all(p, ok, step, used), RespResult::complete) << step;
    EXPECT_EQ(used, ok.size()) << step;
    ResponseParser q;
    EXPECT_EQ(feed_all(q, too_long, step, used), RespResult::bad) << step;
  }
}

// started(): a response has begun once any byte of its status line arrived, even a partial
// line held between spans.
TEST(HttpResponse, APartialStatusLineCountsAsStarted) {
  ResponseParser p;
  EXPECT_FALSE(p.started());
  size_t used = 0;
  EXPECT_EQ(p.feed(bytes("HTTP/1."), used), RespResult::need_more);
  EXPECT_EQ(used, 7u);
  EXPECT_TRUE(p.started());
  EXPECT_EQ(p.feed(bytes("1 200 OK\r\nContent-Length: 0\r\n\r\n"), used), RespResult::complete);
  EXPECT_EQ(p.status(), 200);
}

// --- The whole-response fast path ------------------------------------------------------------

// What pollux-gen makes of a response that arrives in `spans`: each span read in place while
// no parser is lent and the span holds the whole response, else fed to a parser lent until the
// response is done (GenApp::read_http). The bytes left after the response stay unread.
struct ReadOutcome {
  RespResult result = RespResult::need_more;
  int status = 0;
  bool keep_alive = false;
  size_t consumed = 0;
  bool lent = false;  // a parser was needed
};
ReadOutcome read_like_the_gen(const std::string& text, const std::vector<size_t>& cuts) {
  ReadOutcome o;
  std::unique_ptr<ResponseParser> parser;
  size_t from = 0;
  for (size_t i = 0; i <= cuts.size() && o.result == RespResult::need_more; ++i) {
    const size_t to = i < cuts.size() ? cuts[i] : text.size();
    const auto span = bytes(text).subspan(from, to - from);
    from = to;
    if (span.empty()) continue;
    size_t used = 0;
    http::WholeResponse w;
    if (!parser && http::parse_whole_response(span, w, used)) {
      o = ReadOutcome{RespResult::complete, w.status, w.keep_alive, o.consumed + used, false};
      break;
    }
    if (!parser) parser = std::make_unique<ResponseParser>();
    o.lent = true;
    o.result = parser->feed(span, used);
    o.consumed += used;
    o.status = parser->status();
    o.keep_alive = parser->keep_alive();
    if (used < span.size()) break;  // the response ended (or failed) inside this span
  }
  return o;
}
// The reference: the incremental parser fed everything at once.
ReadOutcome parse_whole_text(const std::string& text) {
  ResponseParser p;
  ReadOutcome o;
  o.result = p.feed(bytes(text), o.consumed);
  o.status = p.status();
  o.keep_alive = p.keep_alive();
  o.lent = true;
  return o;
}
std::string describe(const ReadOutcome& o) {
  return "result " + std::to_string(static_cast<int>(o.result)) + " status " +
         std::to_string(o.status) + " keep-alive " + std::to_string(o.keep_alive) + " consumed " +
         std::to_string(o.consumed);
}
bool same(const ReadOutcome& a, const ReadOutcome& b) {
  return a.result == b.result && a.consumed == b.consumed &&
         (a.result != RespResult::complete ||
          (a.status == b.status && a.keep_alive == b.keep_alive));
}

// Responses as real servers write them: nginx 1.22 (keep-alive, a 404, a 304 with a length,
// a close), pollux-server's own (write_response: 1.1 and 1.0 keep-alive), and Linux peers'
// Python http.server (HTTP/1.0, mixed-case names, no Connection field). Each is followed by
// the start of another response, which must stay unread.
const std::vector<std::string>& real_responses() {
  static const std::vector<std::string> r = [] {
    const std::string nginx_body(615, 'n');
    return std::vector<std::string>{
        "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 07 Dec 2026 10:40:00 GMT\r\n"
        "Content-Type: text/html\r\nContent-Length: 615\r\nLast-Modified: Tue, 13 Jun 2023 "
        "15:08:10 GMT\r\nConnection: keep-alive\r\nETag: \"6488865a-267\"\r\n"
        "Accept-Ranges: bytes\r\n\r\n" +
            nginx_body,
        "HTTP/1.1 404 Not Found\r\nServer: nginx/1.22.1\r\nDate: Mon, 07 Dec 2026 10:40:00 "
        "GMT\r\nContent-Type: text/html\r\nContent-Length: 153\r\nConnection: keep-alive\r\n"
        "\r\n" +
            std::string(153, 'x'),
        "HTTP/1.1 304 Not Modified\r\nServer: nginx/1.22.1\r\nContent-Length: 615\r\n"
        "Connection: keep-alive\r\nETag: \"6488865a-267\"\r\n\r\n",
        "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Length: 3\r\nConnection: close\r\n"
        "\r\nabc",
        "HTTP/1.1 200 OK\r\nServer: pollux\r\nContent-Type: text/plain\r\nContent-Length: 128"
        "\r\n\r\n" +
            std::string(128, 'p'),
        "HTTP/1.1 200 OK\r\nDate: Mon, 07 Dec 2026 10:40:00 GMT\r\nServer: pollux\r\n"
        "Content-Type: text/plain\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n",
        "HTTP/1.1 204 No Content\r\nServer: pollux\r\nContent-Type: text/plain\r\n"
        "Content-Length: 0\r\n\r\n",
        "HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.11.2\r\nDate: Mon, 07 Dec 2026 "
        "10:40:00 GMT\r\nContent-type: text/html; charset=utf-8\r\nContent-Length: 5\r\n"
        "Last-Modified: Mon, 07 Dec 2026 10:00:00 GMT\r\n\r\nhello",
        "HTTP/1.0 200 OK\r\nconnection: Keep-Alive\r\nCONTENT-LENGTH:   2  \r\n\r\nok",
        "HTTP/1.1 200 OK\r\nConnection: upgrade, close\r\nContent-Length: 1\r\n"
        "Content-Length: 1\r\n\r\n1",
        "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nfail",
        "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
    };
  }();
  return r;
}

TEST(HttpResponseFastPath, TakesRealServersWholeResponsesAsTheParserReadsThem) {
  for (const std::string& resp : real_responses()) {
    const std::string text = resp + "HTTP/1.1 200 OK\r\n";
    http::WholeResponse w;
    size_t used = 0;
    ASSERT_TRUE(http::parse_whole_response(bytes(text), w, used)) << resp;
    ResponseParser p;
    size_t parsed = 0;
    ASSERT_EQ(p.feed(bytes(text), parsed), RespResult::complete) << resp;
    EXPECT_EQ(used, resp.size()) << "stops at the end of the response: " << resp;
    EXPECT_EQ(used, parsed) << resp;
    EXPECT_EQ(w.status, p.status()) << resp;
    EXPECT_EQ(w.keep_alive, p.keep_alive()) << resp;
    EXPECT_EQ(w.body_bytes, p.body_bytes()) << resp;
  }
}

// Cut in two at every byte (and in three at every pair of bytes for the short ones): the
// fast path takes the first piece only when it holds the whole response; otherwise a parser is
// lent from the first piece on, and either way the outcome is the parser's on the whole text.
TEST(HttpResponseFastPath, AgreesWithTheParserAtEveryCut) {
  for (const std::string& resp : real_responses()) {
    const std::string text = resp + "HTTP/1.1 200 OK\r\n";
    const ReadOutcome want = parse_whole_text(text);
    ASSERT_EQ(want.result, RespResult::complete) << resp;
    for (size_t cut = 0; cut <= text.size(); ++cut) {
      const ReadOutcome got = read_like_the_gen(text, {cut});
      EXPECT_TRUE(same(got, want))
          << "cut at " << cut << ": " << describe(got) << " want " << describe(want) << "\n"
          << resp;
      EXPECT_EQ(got.lent, cut != 0 && cut < resp.size()) << "cut at " << cut << "\n" << resp;
    }
    if (text.size() > 200) continue;
    for (size_t a = 1; a < text.size(); ++a)
      for (size_t b = a; b <= text.size(); ++b)
        ASSERT_TRUE(same(read_like_the_gen(text, {a, b}), want))
            << "cuts at " << a << ", " << b << "\n"
            << resp;
  }
}

// The three field names that matter are recognised in any case and nothing else is: every
// byte of each name replaced by each of the 256 values, read by the fast path and the parser.
// A name that equals it ignoring ASCII case (RFC 9110 5.1) acts (Content-Length gives the body,
// Connection: close ends persistence, Transfer-Encoding leaves the response to the parser);
// any other name of tchars is an ordinary field; with any other byte the two readers agree.
TEST(HttpResponseFastPath, KnowsItsThreeFieldNamesInAnyCaseAndNoOthers) {
  const auto folds_to = [](std::string_view name, std::string_view lower) {
    if (name.size() != lower.size()) return false;
    for (size_t i = 0; i < name.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(name[i])) != lower[i]) return false;
    return true;
  };
  const auto is_tchar = [](unsigned char c) {
    return std::isalnum(c) ||
           std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
  };
  for (const std::string_view lower : {"content-length", "connection", "transfer-encoding"}) {
    for (size_t at = 0; at < lower.size(); ++at) {
      for (int v = 0; v < 256; ++v) {
        std::string name(lower);
        name[at] = static_cast<char>(v);
        const bool named = folds_to(name, lower);
        const bool field = std::all_of(name.begin(), name.end(),
                                       [&](char c) { return is_tchar(static_cast<uint8_t>(c)); });
        std::string resp;
        if (lower == "content-length")
          resp = "HTTP/1.1 200 OK\r\n" + name + ": 2\r\n\r\nok";
        else if (lower == "connection")
          resp = "HTTP/1.1 200 OK\r\n" + name + ": close\r\nContent-Length: 0\r\n\r\n";
        else
          resp = "HTTP/1.1 200 OK\r\n" + name + ": chunked\r\nContent-Length: 0\r\n\r\n";
        const std::string text = resp + "HTTP/1.1 200 OK\r\n";
        const std::string why =
            "byte " + std::to_string(at) + " of " + std::string(lower) + " as " + std::to_string(v);
        http::WholeResponse w;
        size_t used = 0;
        const bool whole = http::parse_whole_response(bytes(text), w, used);
        ResponseParser p;
        size_t parsed = 0;
        const RespResult r = p.feed(bytes(text), parsed);
        // Whatever the byte (':' splits the name, CR or LF the line), both readers agree.
        EXPECT_TRUE(same(read_like_the_gen(text, {}), parse_whole_text(text))) << why;
        if (!field) continue;
        if (lower == "content-length") {
          // Without its length the body runs to the close: the parser's, and unfinished.
          EXPECT_EQ(whole, named) << why;
          EXPECT_EQ(r, named ? RespResult::complete : RespResult::need_more) << why;
          if (named) {
            EXPECT_EQ(used, resp.size()) << why;
          }
        } else if (lower == "connection") {
          ASSERT_TRUE(whole) << why;
          EXPECT_EQ(w.keep_alive, !named) << why;
          EXPECT_EQ(p.keep_alive(), !named) << why;
        } else {
          // Chunked: the parser's (which reads the next bytes as a chunk size and refuses them).
          EXPECT_EQ(whole, !named) << why;
          if (!named) {
            EXPECT_EQ(used, resp.size()) << why;
          }
          EXPECT_EQ(r, named ? RespResult::bad : RespResult::complete) << why;
        }
      }
    }
  }
}

// What the fast path leaves to the parser, and the parser still reads (or refuses) as before.
TEST(HttpResponseFastPath, LeavesEverythingUnusualToTheParser) {
  const char* const left[] = {
      "HTTP/1.1 200 OK\nContent-Length: 0\n\n",      // bare LF
      "HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n",  // one bare LF
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\n\r\nruns to the close",                         // no length
      "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",               // body continues
      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n",                         // head continues
      "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",  // overflows
  };
  for (const char* r : left) {
    http::WholeResponse w;
    size_t used = 0;
    EXPECT_FALSE(http::parse_whole_response(bytes(r), w, used)) << r;
  }
  // A line of the parser's limit is taken; one byte more is the parser's (which refuses it).
  const std::string field = "X: " + std::string(ResponseParser::kMaxLine - 4, 'a');
  const std::string ok = "HTTP/1.1 200 OK\r\n" + field + "\r\nContent-Length: 0\r\n\r\n";
  const std::string too_long = "HTTP/1.1 200 OK\r\n" + field + "a\r\nContent-Length: 0\r\n\r\n";
  http::WholeResponse w;
  size_t used = 0;
  EXPECT_TRUE(http::parse_whole_response(bytes(ok), w, used));
  EXPECT_EQ(used, ok.size());
  EXPECT_FALSE(http::parse_whole_response(bytes(too_long), w, used));
}

// Seeded mutations of the real responses (bytes replaced by the ones that matter to HTTP's
// syntax, inserted, deleted, lines duplicated): wherever the fast path takes a response it
// agrees with the parser, and it never takes one the parser refuses or reads differently.
// Bounded: 20,000 mutants, a fixed seed (printed on failure).
TEST(HttpResponseFastPath, AgreesWithTheParserOnSeededMutations) {
  constexpr uint32_t kSeed = 20261207;
  std::mt19937 rng(kSeed);
  const std::string syntax = "\r\n: \t,0123456789aAzZ-HTTP/1.\x7f";
  uint32_t taken = 0, refused_by_parser = 0;
  for (int i = 0; i < 20000; ++i) {
    const auto& base = real_responses()[rng() % real_responses().size()];
    std::string m = base + "HTTP/1.1 200 OK\r\n";
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % m.size();
      const char c =
          rng() % 4 == 0 ? static_cast<char>(rng() % 256) : syntax[rng() % syntax.size()];
      switch (rng() % 4) {
        case 0:
          m[at] = c;
          break;
        case 1:
          m.insert(m.begin() + static_cast<std::ptrdiff_t>(at), c);
          break;
        case 2:
          m.erase(at, 1 + rng() % 3);
          break;
        default: {  // a line said twice (duplicate fields)
          const size_t start = m.rfind('\n', at) == std::string::npos ? 0 : m.rfind('\n', at) + 1;
          const size_t end = m.find('\n', at);
          if (end != std::string::npos) m.insert(start, m.substr(start, end + 1 - start));
        }
      }
      if (m.empty()) m = "H";
    }
    const ReadOutcome want = parse_whole_text(m);
    if (want.result == RespResult::bad) ++refused_by_parser;
    http::WholeResponse w;
    size_t used = 0;
    if (!http::parse_whole_response(bytes(m), w, used)) continue;
    ++taken;
    ASSERT_EQ(want.result, RespResult::complete)
        << "seed " << kSeed << " mutant " << i << " taken but the parser says " << describe(want)
        << ":\n"
        << m;
    ResponseParser p;
    size_t parsed = 0;
    p.feed(bytes(m), parsed);
    ASSERT_TRUE(used == parsed && w.status == p.status() && w.keep_alive == p.keep_alive() &&
                w.body_bytes == p.body_bytes())
        << "seed " << kSeed << " mutant " << i << ": fast status " << w.status << " keep-alive "
        << w.keep_alive << " consumed " << used << ", parser " << describe(want) << ":\n"
        << m;
  }
  // Both sides of the line were exercised.
  EXPECT_GT(taken, 2000u);
  EXPECT_GT(refused_by_parser, 2000u);
}

// --- JSON ------------------------------------------------------------------------------------

TEST(JsonWriter, NestingCommasAndEscapes) {
  JsonWriter j;
  j.begin_object()
      .field("a", uint64_t{1})
      .field("s", "q\"\\\n\t\x01")
      .key("arr")
      .begin_array()
      .value(1.5)
      .value(true)
      .null()
      .begin_object()
      .end_object()
      .end_array()
      .field("neg", -3)
      .field("inf", 1.0 / 0.0)
      .end_object();
  EXPECT_EQ(j.str(),
            "{\"a\":1,\"s\":\"q\\\"\\\\\\n\\t\\u0001\",\"arr\":[1.5,true,null,{}],\"neg\":-3,"
            "\"inf\":null}");
}

TEST(GenReport, JsonHasEverySection) {
  GenOptions o;
  o.dst = *net::Ipv4Addr::parse("10.0.0.1");
  o.dst_port = 80;
  GenTotals t;
  t.requests = 10;
  t.established = 2;
  std::vector<GenSample> series = {sample_between(1, t, GenTotals{})};
  H h;
  h.record(1500);
  std::vector<uint64_t> counters(base::kCounterCount, 0);
  counters[0] = 7;
  o.tcp.cc = tcp::cc::Algorithm::newreno;
  o.tcp.sack = false;
  ConnInfo a, b;
  a.retransmits = 5;
  a.timeouts = 1;
  a.fast_recoveries = 2;
  a.timestamps = true;
  b.retransmits = 3;
  b.fast_recoveries = 1;
  b.dsacks = 4;
  t.conns.add(a);
  t.conns.add(b);
  const std::string doc = gen_json(o, 1.0, t, series, h, h, counters);
  for (const char* k : {"\"config\"", "\"series\"", "\"totals\"", "\"errors\"", "\"latency\"",
                        "\"buckets\"", "\"stack_counters\"", "\"req_per_s\":10",
                        "\"cc\":\"newreno\"", "\"sack\":false", "\"timestamps\":true",
                        "\"tcp_info\":{\"connections\":2,\"retransmits\":8,\"timeouts\":1,"
                        "\"fast_recoveries\":3,\"dsacks\":4,\"spurious_undos\":0,\"sack\":0,"
                        "\"timestamps\":1,\"wscale\":0,\"spurious_retransmits\":0,"
                        "\"tlp_probes\":0}",
                        "\"tlp_wc_delack_ms\":200"})
    EXPECT_NE(doc.find(k), std::string::npos) << k << " in " << doc;
  EXPECT_NE(gen_progress_line(series[0]).find("req/s 10"), std::string::npos);
  const std::string text = gen_summary(o, 1.0, t, h, h);
  EXPECT_NE(text.find("p99.9"), std::string::npos);
  EXPECT_NE(text.find("tcp:         cc newreno, sack off, timestamps on; 2 connections: 8 "
                      "segments retransmitted, 1 timeouts, 3 fast recoveries, 4 dsacks"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("retrans local server"), std::string::npos) << "no local server: " << text;
  EXPECT_NE(doc.find("\"retransmissions\":{\"generator\":{\"total\":0,"), std::string::npos) << doc;
  // Issue 13: each side's retransmissions by cause, in the summary and the JSON.
  t.gen_retrans.total = t.gen_retrans.tlp = t.gen_retrans.dsacked = 3;
  t.gen_retrans.tlp_probes = 4;
  t.local_server = true;
  t.server_retrans.total = t.server_retrans.synack = 2;
  const std::string both = gen_summary(o, 1.0, t, h, h);
  EXPECT_NE(both.find("  retrans gen:          3 segments (rto 0, tail loss probe 3, recovery 0, "
                      "syn 0, syn-ack 0, other 0; 3 of them D-SACKed as unneeded; 4 tail loss "
                      "probes, 0 undos)\n"),
            std::string::npos)
      << both;
  EXPECT_NE(both.find("  retrans local server: 2 segments (rto 0, tail loss probe 0, recovery 0, "
                      "syn 0, syn-ack 2,"),
            std::string::npos)
      << both;
  const std::string both_doc = gen_json(o, 1.0, t, series, h, h, counters);
  EXPECT_NE(both_doc.find("\"local_server\":{\"total\":2,\"rto\":0,\"tlp\":0,\"recovery\":0,"
                          "\"syn\":0,\"synack\":2,"),
            std::string::npos)
      << both_doc;
}

// Issue 13: with --local-server the server's stack is the other half of every handshake; what
// it dropped is in the summary (its non-zero drop_* counters, as the generator's) and in the
// JSON (every non-zero counter), so a lossless link's retransmissions can be traced to a queue.
TEST(GenReport, TheLocalServersDropsAreInTheSummaryAndItsCountersInTheJson) {
  GenOptions o;
  o.dst = *net::Ipv4Addr::parse("10.0.0.1");
  GenTotals t;
  H h;
  std::vector<uint64_t> counters(base::kCounterCount, 0);
  t.gen_counters.assign(base::kCounterCount, 0);
  t.gen_counters[static_cast<size_t>(base::Counter::drop_tcp_out_of_window)] = 13;
  t.gen_counters[static_cast<size_t>(base::Counter::tcp_segs_out)] = 99;  // not a drop
  std::string text = gen_summary(o, 1.0, t, h, h);
  EXPECT_NE(text.find("  drops gen:            drop_tcp_out_of_window 13\n"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("drops local server"), std::string::npos) << "no local server: " << text;
  EXPECT_EQ(gen_json(o, 1.0, t, {}, h, h, counters).find("local_server_counters"),
            std::string::npos);

  t.local_server = true;
  t.server_counters.assign(base::kCounterCount, 0);
  text = gen_summary(o, 1.0, t, h, h);
  EXPECT_NE(text.find("  drops local server:   none\n"), std::string::npos) << text;
  t.server_counters[static_cast<size_t>(base::Counter::drop_arp_pending_overflow)] = 28;
  t.server_counters[static_cast<size_t>(base::Counter::drop_tcp_backlog_full)] = 2;
  t.server_counters[static_cast<size_t>(base::Counter::tcp_retrans_synack)] = 27;
  text = gen_summary(o, 1.0, t, h, h);
  EXPECT_NE(text.find("  drops local server:   drop_arp_pending_overflow 28, "
                      "drop_tcp_backlog_full 2\n"),
            std::string::npos)
      << text;
  const std::string doc = gen_json(o, 1.0, t, {}, h, h, counters);
  EXPECT_NE(doc.find("\"local_server_counters\":{\"drop_arp_pending_overflow\":28,"),
            std::string::npos)
      << doc;
  EXPECT_NE(doc.find("\"tcp_retrans_synack\":27"), std::string::npos) << doc;
}

// Session 13's port wrap: a turn that finds no free port (our TIME-WAIT holds every tuple)
// attempts no connection. It is a wait, reported on its own line with what helps, not an
// error: once connect() fails at once, a generator retrying every turn would otherwise show
// hundreds of thousands of "errors" a second.
TEST(GenReport, TurnsWithoutAFreePortAreWaitsNotErrors) {
  GenOptions o;
  o.dst = *net::Ipv4Addr::parse("10.0.0.1");
  GenTotals t;
  H h;
  EXPECT_EQ(gen_summary(o, 1.0, t, h, h).find("  ports:"), std::string::npos);
  t.port_waits = 5;
  const std::string text = gen_summary(o, 1.0, t, h, h);
  EXPECT_NE(text.find("  errors:      0 ("), std::string::npos) << text;
  EXPECT_NE(text.find("  ports:       5 turns found no free port (TIME-WAIT holds them"),
            std::string::npos)
      << text;
  const std::string doc = gen_json(o, 1.0, t, {}, h, h, {});
  EXPECT_NE(doc.find("\"port_waits\":5"), std::string::npos) << doc;
  EXPECT_NE(doc.find("\"total\":0"), std::string::npos) << doc;
}

TEST(GenReport, EachSecondCarriesItsOwnLatencyPercentilesInTheLineAndTheSeries) {
  // Values at their buckets' upper edges, so that percentiles come back exactly.
  auto edge = [](uint64_t v) { return H::bucket_high(H::bucket_of(v)); };
  auto connect = std::make_unique<H>();
  auto response = std::make_unique<H>();
  GenSample quiet;
  quiet.set_latency(*connect, *response);
  EXPECT_NE(gen_progress_line(quiet).find("| p50 - p99 -"), std::string::npos)
      << gen_progress_line(quiet);
  for (uint64_t i = 1; i <= 100; ++i) connect->record(edge(i * 1000));  // 1 .. 100 us
  GenSample connecting;
  connecting.set_latency(*connect, *response);
  EXPECT_EQ(connecting.connect_p50, 50'175u);
  EXPECT_EQ(connecting.connect_p99, 99'327u);
  EXPECT_NE(gen_progress_line(connecting).find("| connect p50 50.2 us p99 99.3 us"),
            std::string::npos)
      << gen_progress_line(connecting);
  for (int i = 0; i < 98; ++i) response->record(edge(2000));
  response->record(edge(7000));
  response->record(edge(9000));
  GenSample s;
  s.second = 3;
  s.set_latency(*connect, *response);
  EXPECT_EQ(s.response_p50, 2007u);
  EXPECT_EQ(s.response_p99, 7007u);
  EXPECT_EQ(s.response_p99_9, 9023u);
  EXPECT_NE(gen_progress_line(s).find("| p50 2.0 us p99 7.0 us"), std::string::npos)
      << gen_progress_line(s);
  GenOptions o;
  const std::string doc = gen_json(o, 1.0, GenTotals{}, {s}, *connect, *response, {});
  EXPECT_NE(doc.find("\"connect_p50_ns\":50175,\"connect_p99_ns\":99327,\"response_p50_ns\":2007,"
                     "\"response_p99_ns\":7007,\"response_p99_9_ns\":9023"),
            std::string::npos)
      << doc;
}

// Busy cycles (issue 13): each busy turn pays the empty turn's fixed cost, which is taken out
// before dividing by segments and connections; several lcores add up, their empty turns
// weighted by how many there were.
TEST(CpuReport, BusyCyclesPerSegmentLeaveOutTheEmptyTurnsCost) {
  LcoreLoad a;
  a.lcore = 1;
  a.tsc_hz = 2'000'000'000;
  a.busy_turns = 100;
  a.idle_turns = 300;
  a.empty_turn_cycles = 100;
  a.busy_cycles = 90'000;  // (100 turns x 1000 cycles) less 100 x 100
  a.segments = 60;
  a.connections = 3;
  EXPECT_DOUBLE_EQ(a.cycles_per_segment(), 1500.0);
  EXPECT_DOUBLE_EQ(a.cycles_per_connection(), 30000.0);
  EXPECT_DOUBLE_EQ(a.busy_fraction(), 100'000.0 / 130'000.0);
  LcoreLoad b = a;
  b.lcore = 2;
  b.idle_turns = 100;
  b.empty_turn_cycles = 200;
  b.segments = 0;
  const LcoreLoad t = total_load({a, b});
  EXPECT_EQ(t.busy_cycles, 180'000u);
  EXPECT_EQ(t.empty_turn_cycles, (300u * 100 + 100u * 200) / 400);
  EXPECT_DOUBLE_EQ(t.cycles_per_segment(), 3000.0);
  const std::string text = cpu_lines("gen", {a, b});
  EXPECT_NE(text.find("cpu gen lcore 1: busy 76.9%, 1500 cycles per TCP segment, 30000 per "
                      "connection (empty turn 100)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("cpu gen total: "), std::string::npos) << text;
  EXPECT_EQ(cpu_lines("gen", {a}).find("total"), std::string::npos);
  EXPECT_EQ(text.find("stalled"), std::string::npos) << "no stall, no mention: " << text;
  // Issue 13: an lcore that lost its CPU says so, with how long: the peer's tail loss probes
  // on a lossless link come from such gaps. The total adds counts and keeps the longest.
  a.stalls = 12;
  a.stalls_after_yield = 10;
  a.stalls_over_pto = 5;
  a.max_gap_us = 4100;
  b.stalls = 1;
  b.stalls_over_pto = 1;
  b.max_gap_us = 2500;
  const std::string stalled = cpu_lines("gen", {a, b});
  EXPECT_NE(stalled.find("(empty turn 100); stalled 12 times >= 1 ms (10 after a yield, 5 >= 2 "
                         "ms, longest 4.1 ms)\n"),
            std::string::npos)
      << stalled;
  EXPECT_NE(stalled.find("stalled 13 times >= 1 ms (10 after a yield, 6 >= 2 ms, longest 4.1 "
                         "ms)\n"),
            std::string::npos)
      << stalled;
  EXPECT_EQ(LcoreLoad{}.cycles_per_segment(), 0.0);  // nothing done: no division by zero
  EXPECT_EQ(cpu_lines("gen", {}), "");

  GenOptions o;
  const std::string doc = gen_json(o, 1.0, GenTotals{}, {}, H{}, H{}, {}, {a}, {b});
  for (const char* k : {"\"cpu\":{\"generator\":{\"tsc_hz\":2000000000,\"lcores\":{\"1\":{",
                        "\"cycles_per_segment\":1500", "\"local_server\":{", "\"2\":{"})
    EXPECT_NE(doc.find(k), std::string::npos) << k << " in " << doc;
}

}  // namespace
}  // namespace pollux::apps
