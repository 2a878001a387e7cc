// pollux-server's arguments: good ones parse to what they say; bad ones are refused with one
// line that names the option and what was expected.
#include "../../../apps/pollux-server/server_options.hpp"
#include "../../../apps/common/startup.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "eal.hpp"
#include "tcp/cc/congestion.hpp"

namespace pollux::apps {
namespace {

std::optional<ServerOptions> parse(std::vector<std::string> args, std::string* err = nullptr) {
  std::string e;
  auto o = parse_server_options(args, e);
  if (err) *err = e;
  return o;
}

TEST(ServerOptions, FullCommandLineParses) {
  auto o = parse({"--ip", "10.0.0.2/24", "--ip=192.168.7.9/16", "--gw", "10.0.0.1", "--port",
                  "80", "--mode", "http", "--http-body", "1024", "--mtu", "9000", "--duration",
                  "3", "--no-offload", "--lcores-info", "--quiet"});
  ASSERT_TRUE(o);
  ASSERT_EQ(o->addrs.size(), 2u);
  EXPECT_EQ(o->addrs[1].to_string(), "192.168.7.9/16");
  EXPECT_EQ(o->gateway->to_string(), "10.0.0.1");
  EXPECT_EQ(o->tcp_port, 80);
  EXPECT_EQ(o->mode, ServerMode::http);
  EXPECT_EQ(o->http_body, 1024u);
  EXPECT_EQ(o->mtu, 9000);
  EXPECT_EQ(o->duration_s, 3u);
  EXPECT_FALSE(o->checksum_offload);
  EXPECT_TRUE(o->lcores_info);
  EXPECT_TRUE(o->quiet);
}

TEST(ServerOptions, IpTakesIpv6PrefixesBesideIpv4OnesAndTheyReachTheRuntime) {
  auto o = parse({"--ip", "10.0.0.2/24", "--ip", "fd00:99::2/64", "--ip=2001:db8::7/48"});
  ASSERT_TRUE(o);
  ASSERT_EQ(o->addrs.size(), 1u);
  ASSERT_EQ(o->addrs6.size(), 2u);
  EXPECT_EQ(o->addrs6[0].to_string(), "fd00:99::2/64");
  EXPECT_EQ(o->addrs6[1].to_string(), "2001:db8::7/48");
  EXPECT_EQ(runtime_options(*o).addrs6.size(), 2u);
  std::string e;
  for (const char* bad : {"fd00::2", "fd00::2/129", "ff02::1/64", "::/64", "::1/128",
                          "fe80::1/64", "::ffff:10.0.0.2/96", "fd00:::2/64"}) {
    EXPECT_FALSE(parse({"--ip", "10.0.0.2/24", "--ip", bad}, &e)) << bad;
    EXPECT_TRUE(e.starts_with("--ip: ")) << bad << ": " << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
  EXPECT_FALSE(parse({"--ip", "10.0.0.2/24", "--ip", "fd00::2/64", "--ip", "fd00::2/48"}, &e));
  EXPECT_NE(e.find("twice"), std::string::npos) << e;
}

// Issue 16: --gw takes an IPv6 gateway too, at most one per family, and it reaches the
// runtime (RuntimeOptions::gateway6, the engine's next hop for off-link IPv6 destinations).
TEST(ServerOptions, GwTakesOneGatewayOfEachFamilyAndBothReachTheRuntime) {
  std::string e;
  auto o = parse({"--ip", "10.0.0.2/24", "--ip", "fd00:99::2/64", "--gw", "10.0.0.1", "--gw",
                  "FD00:99::1"},
                 &e);
  ASSERT_TRUE(o) << e;
  EXPECT_EQ(o->gateway->to_string(), "10.0.0.1");
  ASSERT_TRUE(o->gateway6);
  EXPECT_EQ(o->gateway6->to_string(), "fd00:99::1");
  const RuntimeOptions r = runtime_options(*o);
  EXPECT_EQ(r.gateway->to_string(), "10.0.0.1");
  EXPECT_EQ(r.gateway6->to_string(), "fd00:99::1");
  // Only the IPv6 one: the IPv4 family has none.
  o = parse({"--ip", "fd00:99::2/64", "--gw", "fd00:99::1"}, &e);
  ASSERT_TRUE(o) << e;
  EXPECT_FALSE(o->gateway);
  EXPECT_EQ(o->gateway6->to_string(), "fd00:99::1");
  // A link-local gateway (as routers advertise themselves, RFC 4861 4.2) is on every link,
  // whatever the --ip prefixes.
  o = parse({"--ip", "fd00:99::2/64", "--gw", "fe80::1"}, &e);
  ASSERT_TRUE(o) << e;
  EXPECT_EQ(o->gateway6->to_string(), "fe80::1");
  EXPECT_EQ(runtime_options(*o).gateway6->to_string(), "fe80::1");
  // Any IPv6 --ip prefix holding the gateway will do.
  o = parse({"--ip", "fd00:99::2/64", "--ip", "2001:db8::7/48", "--gw", "2001:db8:0:1::1"}, &e);
  ASSERT_TRUE(o) << e;
  EXPECT_FALSE(parse({"--ip", "10.0.0.2/24"})->gateway6) << "no --gw, no gateway";
}

// Either family's gateway: not our own address (we would resolve ourselves), nor one no
// neighbour can have; one line naming --gw.
TEST(ServerOptions, AGwThatCannotBeANeighbourIsRefusedWithOneLineNamingGw) {
  struct Bad {
    std::vector<std::string> args;
    const char* says;
  };
  for (const Bad& b : {
           Bad{{"--gw", "fd00:98::1"},
               "--gw: fd00:98::1 is not on any IPv6 --ip subnet nor link-local (fe80::/10)"},
           Bad{{"--gw", "fd00:99::2"}, "--gw: fd00:99::2 is one of our own addresses"},
           Bad{{"--gw", "ff02::2"}, "--gw: ff02::2 cannot be a gateway (multicast"},
           Bad{{"--gw", "::"}, "--gw: :: cannot be a gateway"},
           Bad{{"--gw", "::1"}, "--gw: ::1 cannot be a gateway"},
           Bad{{"--gw", "::ffff:10.0.0.1"}, "--gw: ::ffff:10.0.0.1 cannot be a gateway"},
           Bad{{"--gw", "fd00:99::zz"}, "--gw: 'fd00:99::zz' is not an IPv6 address"},
           Bad{{"--gw", "fd00:99::1/64"}, "--gw: 'fd00:99::1/64' is not an IPv6 address"},
           Bad{{"--gw", "fd00:99::1", "--gw", "fd00:99::3"},
               "--gw: fd00:99::3 is a second IPv6 gateway (one per family)"},
           Bad{{"--gw", "10.0.0.1", "--gw", "10.0.0.3"},
               "--gw: 10.0.0.3 is a second IPv4 gateway (one per family)"},
           Bad{{"--gw", "10.0.0"}, "--gw: '10.0.0' is not an IPv4 address"},
           Bad{{"--gw", "10.0.0.2"}, "--gw: 10.0.0.2 is one of our own addresses"},
           Bad{{"--ip", "10.0.1.7/24", "--gw", "10.0.1.7"},
               "--gw: 10.0.1.7 is one of our own addresses"},
           Bad{{"--gw", "10.0.2.1"}, "--gw: 10.0.2.1 is not on any --ip subnet"},
           // RFC 1122 3.2.1.3: a subnet's network and directed-broadcast addresses are
           // nobody's; no neighbour answers ARP for them.
           Bad{{"--gw", "10.0.0.0"},
               "--gw: 10.0.0.0 is the network address of --ip 10.0.0.2/24, not a host"},
           Bad{{"--gw", "10.0.0.255"},
               "--gw: 10.0.0.255 is the broadcast address of --ip 10.0.0.2/24, not a host"},
           Bad{{"--gw", "224.0.0.1"}, "--gw: 224.0.0.1 cannot be a gateway (multicast"},
           Bad{{"--gw", "255.255.255.255"}, "--gw: 255.255.255.255 cannot be a gateway"},
           Bad{{"--gw", "0.0.0.0"}, "--gw: 0.0.0.0 cannot be a gateway"},
           Bad{{"--gw", "127.0.0.1"}, "--gw: 127.0.0.1 cannot be a gateway"},
       }) {
    std::string e;
    std::vector<std::string> args{"--ip", "10.0.0.2/24", "--ip", "fd00:99::2/64"};
    args.insert(args.end(), b.args.begin(), b.args.end());
    EXPECT_FALSE(parse(args, &e)) << b.says;
    EXPECT_NE(e.find(b.says), std::string::npos) << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << "one line: " << e;
  }
  // A /31 has no network or broadcast address (RFC 3021): its other end is the gateway.
  std::string e;
  auto o = parse({"--ip", "10.0.0.2/31", "--gw", "10.0.0.3"}, &e);
  ASSERT_TRUE(o) << e;
  o = parse({"--ip", "10.0.0.3/31", "--gw", "10.0.0.2"}, &e);
  ASSERT_TRUE(o) << e;
  // A subnet's first and last host addresses are hosts.
  for (const char* gw : {"10.0.0.1", "10.0.0.254"})
    ASSERT_TRUE(parse({"--ip", "10.0.0.2/24", "--gw", gw}, &e)) << e;
  // No IPv6 address of ours: no prefix the gateway could be on.
  EXPECT_FALSE(parse({"--ip", "10.0.0.2/24", "--gw", "fe80::1"}, &e));
  EXPECT_EQ(e, "--gw: fe80::1 is IPv6 and no --ip names an IPv6 address (e.g. --ip fd00::2/64)");
}

// Issue 16: one listener serves both families; an IPv6 address alone is enough.
TEST(ServerOptions, AnIpv6AddressAloneIsEnoughForAServer) {
  auto o = parse({"--ip", "fd00:99::2/64", "--port", "80"});
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->addrs.empty());
  ASSERT_EQ(o->addrs6.size(), 1u);
  EXPECT_EQ(runtime_options(*o).addrs6.size(), 1u);
  std::string e;
  EXPECT_FALSE(parse({"--port", "80"}, &e));
  EXPECT_EQ(e, "--ip is required (e.g. --ip 10.0.0.2/24)");
}

TEST(ServerOptions, RingsAndPoolAreSizedByRxdTxdAndMbufsAndReachTheRuntime) {
  auto d = parse({"--ip", "10.0.0.2/24"});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->device.rx_desc, 1024);
  EXPECT_EQ(d->device.tx_desc, 1024);
  EXPECT_EQ(d->device.mbufs, 0u);  // the rings' share plus room for held data
  auto o = parse({"--ip", "10.0.0.2/24", "--rxd", "4096", "--txd=512", "--mbufs", "262144"});
  ASSERT_TRUE(o);
  const RuntimeOptions r = runtime_options(*o);
  EXPECT_EQ(r.rx_desc, 4096);
  EXPECT_EQ(r.tx_desc, 512);
  EXPECT_EQ(r.mbufs, 262144u);
}

TEST(ServerOptions, StaticArpEntriesReachTheRuntimeAndBadOnesSayWhy) {
  auto o = parse({"--ip", "10.0.0.2/24", "--arp", "10.0.0.1=02:00:00:00:00:0A", "--arp",
                  "10.0.0.9=02:aa:bb:cc:dd:ee"});
  ASSERT_TRUE(o);
  const RuntimeOptions r = runtime_options(*o);
  ASSERT_EQ(r.static_arp.size(), 2u);
  EXPECT_EQ(r.static_arp[0].ip.to_string(), "10.0.0.1");
  EXPECT_EQ(r.static_arp[0].mac, (std::array<uint8_t, 6>{0x02, 0, 0, 0, 0, 0x0a}));
  EXPECT_EQ(r.static_arp[1].mac[5], 0xee);
  std::string e;
  for (const auto& [arg, says] : std::vector<std::pair<const char*, const char*>>{
           {"10.0.0.1", "is not A.B.C.D=MAC with a unicast address"},
           {"224.0.0.1=02:00:00:00:00:01", "is not A.B.C.D=MAC with a unicast address"},
           {"10.0.0.1=02:00:00:00:00", "is not a MAC address like 02:00:00:00:00:01"},
           {"10.0.0.1=02-00-00-00-00-01", "is not a MAC address"},
           {"10.0.0.1=01:00:5e:00:00:01", "is a multicast MAC, not a neighbour's"}}) {
    EXPECT_FALSE(parse_server_options({"--ip", "10.0.0.2/24", "--arp", arg}, e)) << arg;
    EXPECT_NE(e.find(says), std::string::npos) << e;
  }
}

TEST(ServerOptions, TcpDefaultsAreTheStacksCubicWithSackAndTimestamps) {
  auto o = parse({"--ip", "10.0.0.2/24"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->tcp.cc, tcp::cc::Algorithm::cubic);
  EXPECT_TRUE(o->tcp.sack);
  EXPECT_TRUE(o->tcp.timestamps);
  EXPECT_FALSE(o->conn_info);
  EXPECT_EQ(describe(o->tcp), "cc cubic, sack on, timestamps on");
}

TEST(ServerOptions, TcpChoicesForLossExperiments) {
  auto o = parse(
      {"--ip", "10.0.0.2/24", "--cc", "newreno", "--no-sack", "--no-timestamps", "--conn-info"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->tcp.cc, tcp::cc::Algorithm::newreno);
  EXPECT_FALSE(o->tcp.sack);
  EXPECT_FALSE(o->tcp.timestamps);
  EXPECT_TRUE(o->conn_info);
  EXPECT_EQ(describe(o->tcp), "cc newreno, sack off, timestamps off");
  auto c = parse({"--ip", "10.0.0.2/24", "--cc=newreno", "--cc", "cubic"});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->tcp.cc, tcp::cc::Algorithm::cubic) << "the last --cc wins";
}

// RFC 8985 7.2 WCDelAckT: 200 ms unless chosen, and named in the banner only when chosen.
TEST(ServerOptions, TlpWorstCaseDelayedAckIsTwoHundredMillisecondsUnlessChosen) {
  auto d = parse({"--ip", "10.0.0.2/24"});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->tcp.tlp_wc_delack_ms, 200u);
  auto o = parse({"--ip", "10.0.0.2/24", "--tlp-wc-delack", "40"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->tcp.tlp_wc_delack_ms, 40u);
  EXPECT_EQ(describe(o->tcp), "cc cubic, sack on, timestamps on, tlp wc-delack 40 ms");
}

// RFC 4987 3.6: cookies when the backlog is full unless chosen otherwise.
TEST(ServerOptions, SynCookiesAreAutomaticUnlessChosen) {
  auto d = parse({"--ip", "10.0.0.2/24"});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->tcp.syn_cookies, SynCookieMode::automatic);
  EXPECT_EQ(describe(d->tcp), "cc cubic, sack on, timestamps on");
  auto a = parse({"--ip", "10.0.0.2/24", "--syn-cookies", "always"});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->tcp.syn_cookies, SynCookieMode::always);
  EXPECT_EQ(describe(a->tcp), "cc cubic, sack on, timestamps on, syn cookies always");
  auto n = parse({"--ip", "10.0.0.2/24", "--syn-cookies=never"});
  ASSERT_TRUE(n);
  EXPECT_EQ(n->tcp.syn_cookies, SynCookieMode::never);
}

// Issue 14 item 4: the rate limits are the stack's (1000/s each) unless chosen; 0 lifts them.
TEST(ServerOptions, RateLimitsAreTheStacksUnlessChosenAndZeroMeansNone) {
  auto d = parse({"--ip", "10.0.0.2/24"});
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->tcp.challenge_ack_limit);
  EXPECT_FALSE(d->tcp.rst_limit);
  auto o = parse({"--ip", "10.0.0.2/24", "--challenge-ack-limit", "0", "--rst-limit=200"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->tcp.challenge_ack_limit, 0u);
  EXPECT_EQ(o->tcp.rst_limit, 200u);
  EXPECT_EQ(describe(o->tcp),
            "cc cubic, sack on, timestamps on, challenge acks 0/s, closed-port rsts 200/s");
}

// Issue 14 item 3: the stack's USER TIMEOUT, FIN timeout and per-source limit unless chosen;
// the server's idle and header timeouts default to nginx's (75 s, 60 s), 0 turns them off.
TEST(ServerOptions, TimeoutsAndTheSourceLimitAreTheDefaultsUnlessChosen) {
  auto d = parse({"--ip", "10.0.0.2/24"});
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->tcp.user_timeout_s);
  EXPECT_FALSE(d->tcp.fin_timeout_s);
  EXPECT_FALSE(d->tcp.max_conns_per_source);
  EXPECT_EQ(d->idle_timeout_s, 75u);
  EXPECT_EQ(d->header_timeout_s, 60u);
  auto o = parse({"--ip", "10.0.0.2/24", "--user-timeout", "0", "--fin-timeout=30",
                  "--max-conns-per-source", "100", "--idle-timeout", "0", "--header-timeout=5"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->tcp.user_timeout_s, 0u);
  EXPECT_EQ(o->tcp.fin_timeout_s, 30u);
  EXPECT_EQ(o->tcp.max_conns_per_source, 100u);
  EXPECT_EQ(o->idle_timeout_s, 0u);
  EXPECT_EQ(o->header_timeout_s, 5u);
  EXPECT_EQ(describe(o->tcp),
            "cc cubic, sack on, timestamps on, user timeout 0 s, fin timeout 30 s, 100 conns "
            "per source");
}

// A per-lcore size both apps share that is the stack's unless chosen: unset by default (in
// TcpTuning's `field` and RuntimeOptions' `runtime` alike); else each of `values` (the text
// given, the number it is) reaches both, and the banner names the first as `banner`.
void expect_size_unless_chosen(const std::string& option, std::optional<uint32_t> TcpTuning::*field,
                               std::optional<uint32_t> RuntimeOptions::*runtime,
                               const std::vector<std::pair<std::string, uint32_t>>& values,
                               const std::string& banner) {
  auto d = parse({"--ip", "10.0.0.2/24"});
  ASSERT_TRUE(d);
  EXPECT_FALSE((d->tcp.*field).has_value()) << option;
  EXPECT_FALSE((runtime_options(*d).*runtime).has_value()) << option;
  for (const auto& [text, number] : values) {
    auto o = parse({"--ip", "10.0.0.2/24", option, text});
    ASSERT_TRUE(o) << option << " " << text;
    EXPECT_EQ(o->tcp.*field, number) << option << " " << text;
    EXPECT_EQ(runtime_options(*o).*runtime, number) << option << " " << text;
    if (text == values.front().first) {
      EXPECT_EQ(describe(o->tcp), "cc cubic, sack on, timestamps on, " + banner);
    }
  }
}

// Issue 13 item 5: the TIME-WAIT store's size is the stack's (65536 records of 64 B per
// lcore) unless chosen, from 1 to 2^24, and reaches the runtime's TcpConfig.
TEST(ServerOptions, TimeWaitRecordsAreTheStacksUnlessChosen) {
  expect_size_unless_chosen(
      "--time-wait-records", &TcpTuning::time_wait_records, &RuntimeOptions::time_wait_records,
      {{"1000", 1000}, {"1", 1}, {"16777216", kMaxTimeWaitRecords}}, "1000 time-wait records");
}

// Session 13's review: the neighbour caches' size was fixed at 1024. --neigh-max N sets both
// (ARP and ND) for every lcore, from 256 (room for every --arp entry) to 2^20; unset, the
// engine's default stays.
TEST(ServerOptions, NeighbourCacheSizeIsTheEnginesUnlessChosen) {
  expect_size_unless_chosen(
      "--neigh-max", &TcpTuning::neigh_max, &RuntimeOptions::neighbour_capacity,
      {{"8k", 8000}, {"256", kMinNeighbours}, {"1048576", kMaxNeighbours}}, "8000 neighbours");
}

// Issue 13 item 5: --conn-memory SIZE sizes the connection table from a byte budget: the most
// connections whose tables fit it, with the other options as given; one line when it cannot
// hold 16.
TEST(ServerOptions, ConnMemorySizesTheConnectionTableToTheMostThatFitTheBudget) {
  auto o = parse({"--ip", "10.0.0.2/24", "--conn-memory", "512Mi"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->tcp.conn_memory, uint64_t{512} << 20);
  ASSERT_TRUE(resolve_conn_memory("pollux-server", *o));
  const RuntimeOptions r = runtime_options(*o);
  const uint32_t n = o->max_connections;
  EXPECT_EQ(r.max_connections, n);
  EXPECT_LE(connection_memory(n, r), uint64_t{512} << 20);
  EXPECT_GT(connection_memory(n + 1, r), uint64_t{512} << 20);
  std::printf("--conn-memory 512Mi: %u connections per lcore, %.0f bytes each\n", n,
              static_cast<double>(connection_memory(n, r)) / n);
  EXPECT_GT(n, 100'000u);  // about 1.2 KB each today (tcb_layout_test prints the parts)

  // Without it, --max-conns stands.
  auto d = parse({"--ip", "10.0.0.2/24", "--max-conns", "1000"});
  ASSERT_TRUE(d);
  ASSERT_TRUE(resolve_conn_memory("pollux-server", *d));
  EXPECT_EQ(d->max_connections, 1000u);

  // Too small for 16 connections: refused (start() exits 2 after this line).
  auto tiny = parse({"--ip", "10.0.0.2/24", "--conn-memory", "64k"});
  ASSERT_TRUE(tiny);
  testing::internal::CaptureStderr();
  EXPECT_FALSE(resolve_conn_memory("pollux-server", *tiny));
  const std::string line = testing::internal::GetCapturedStderr();
  EXPECT_EQ(line.rfind("pollux-server: --conn-memory 64000: less than the ", 0), 0u) << line;
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
}

// Issue 14 item 5: --allow/--deny PREFIX[:PORT] in order; the first matching rule decides.
TEST(ServerOptions, AllowAndDenyRulesKeepTheirOrderAndTheFirstMatchDecides) {
  auto o = parse({"--ip", "10.0.0.2/24", "--allow", "10.1.2.0/24:80", "--deny=10.0.0.0/8", "--deny",
                  "192.168.1.7", "--allow", "0.0.0.0/0:22", "--deny", "0.0.0.0/0"});
  ASSERT_TRUE(o);
  const SynFilter& f = o->syn_filter;
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(f.rule(0).source.to_string(), "10.1.2.0/24");
  EXPECT_EQ(f.rule(0).port, 80);
  EXPECT_TRUE(f.rule(0).allow);
  EXPECT_EQ(f.rule(1).port, 0) << "no :PORT: every port";
  EXPECT_FALSE(f.rule(1).allow);
  EXPECT_EQ(f.rule(2).source.to_string(), "192.168.1.7/32") << "no /N: one host";
  EXPECT_TRUE(f.allows(make_ipv4(10, 1, 2, 3), 80));
  EXPECT_FALSE(f.allows(make_ipv4(10, 1, 2, 3), 81)) << "falls through to the /8 deny";
  EXPECT_FALSE(f.allows(make_ipv4(192, 168, 1, 7), 22)) << "the host deny comes before :22";
  EXPECT_TRUE(f.allows(make_ipv4(192, 168, 1, 8), 22));
  EXPECT_FALSE(f.allows(make_ipv4(192, 168, 1, 8), 80)) << "the final deny-all";
  EXPECT_TRUE(parse({"--ip", "10.0.0.2/24"})->syn_filter.allows(make_ipv4(1, 2, 3, 4), 80))
      << "no rules: every passive open is accepted";
}

// Issue 16: rules name IPv6 prefixes too; a port needs the address in brackets.
TEST(ServerOptions, AllowAndDenyTakeIpv6PrefixesWithABracketedAddressBeforeAPort) {
  auto o = parse({"--ip", "10.0.0.2/24", "--deny", "fd00:1::/32", "--allow", "[fd00::]/16:80",
                  "--allow=[fd00::/16]:443", "--deny", "[2001:db8::7]", "--deny", "::/0", "--allow",
                  "2001:db8::9"});
  ASSERT_TRUE(o);
  const SynFilter& f = o->syn_filter;
  ASSERT_EQ(f.size(), 6u);
  EXPECT_TRUE(f.rule(0).ipv6);
  EXPECT_EQ(f.rule(0).source_text(), "fd00:1::/32");
  EXPECT_EQ(f.rule(0).port, 0) << "unbracketed: no port";
  EXPECT_EQ(f.rule(1).source_text(), "fd00::/16");
  EXPECT_EQ(f.rule(1).port, 80);
  EXPECT_EQ(f.rule(2).source_text(), "fd00::/16");
  EXPECT_EQ(f.rule(2).port, 443) << "the length may be inside the brackets too";
  EXPECT_EQ(f.rule(3).source_text(), "2001:db8::7/128") << "no /N: one host";
  EXPECT_EQ(f.rule(5).source_text(), "2001:db8::9/128");
  const auto v6 = [](const char* t) { return *Ipv6Addr::parse(t); };
  EXPECT_FALSE(f.allows(v6("fd00:1::5"), 80)) << "the first match decides";
  EXPECT_TRUE(f.allows(v6("fd00:2::5"), 80));
  EXPECT_TRUE(f.allows(v6("fd00:2::5"), 443));
  EXPECT_FALSE(f.allows(v6("fd00:2::5"), 22)) << "falls through to ::/0";
  EXPECT_FALSE(f.allows(v6("2001:db8::9"), 80)) << "after the deny-all";
  EXPECT_FALSE(f.allows(make_ipv4(10, 1, 2, 3), 80))
      << "no IPv4 rules and IPv6's contain an allow: IPv4 is refused";
  EXPECT_EQ(parse({"--ip", "10.0.0.2/24", "--allow", "10.0.0.0/8:22"})->syn_filter.rule(0).port, 22)
      << "IPv4 keeps its unbracketed :PORT";
}

// A rule matches sources of its own family only; a family without rules is refused only
// when the other's rules contain an allow.
TEST(SynFilter, EachFamilysRulesDecideForItsOwnSourcesOnly) {
  const Ipv6Addr ula = *Ipv6Addr::parse("fd00::1");
  const Ipv6Addr global = *Ipv6Addr::parse("2001:db8::1");
  const Ipv4Addr v4 = make_ipv4(10, 1, 2, 3);
  std::string e;
  const auto filter = [&e](std::initializer_list<const char*> rules) {
    SynFilter f;
    bool allow = true;
    for (const char* r : rules) {
      if (std::string_view(r) == "allow" || std::string_view(r) == "deny") {
        allow = std::string_view(r) == "allow";
        continue;
      }
      const auto rule = parse_syn_rule(r, allow, e);
      EXPECT_TRUE(rule) << r << ": " << e;
      if (rule) {
        EXPECT_TRUE(f.add(*rule));
      }
    }
    return f;
  };
  {  // no rules: everything
    const SynFilter f;
    EXPECT_TRUE(f.allows(v4, 80));
    EXPECT_TRUE(f.allows(ula, 80));
  }
  {  // --deny fd00::/8 (deny only, IPv6): the ULA refused, other IPv6 and all of IPv4 accepted
    const SynFilter f = filter({"deny", "fd00::/8"});
    EXPECT_FALSE(f.allows(ula, 80));
    EXPECT_TRUE(f.allows(global, 80));
    EXPECT_TRUE(f.allows(v4, 80));
    EXPECT_TRUE(f.allows(make_ipv4(0, 0, 0, 0), 80));
  }
  {  // --deny 0.0.0.0/0 (deny only, IPv4): all of IPv4 refused, IPv6 accepted
    const SynFilter f = filter({"deny", "0.0.0.0/0"});
    EXPECT_FALSE(f.allows(v4, 80));
    EXPECT_TRUE(f.allows(ula, 80));
  }
  {  // --allow 10.0.0.0/8 --deny 0.0.0.0/0: an IPv4 allow list refuses every IPv6 SYN
    const SynFilter f = filter({"allow", "10.0.0.0/8", "deny", "0.0.0.0/0"});
    EXPECT_TRUE(f.allows(v4, 80));
    EXPECT_FALSE(f.allows(make_ipv4(192, 0, 2, 1), 80));
    EXPECT_FALSE(f.allows(ula, 80));
    EXPECT_FALSE(f.allows(*Ipv6Addr::parse("::ffff:10.1.2.3"), 80))
        << "an IPv6 source is never matched by an IPv4 rule";
  }
  {  // --allow 10.0.0.0/8 alone (no deny): still an allow list for the rule's author; IPv6
     // refused, IPv4 outside it accepted (none matching accepts within a family)
    const SynFilter f = filter({"allow", "10.0.0.0/8"});
    EXPECT_FALSE(f.allows(ula, 80));
    EXPECT_TRUE(f.allows(make_ipv4(192, 0, 2, 1), 80));
  }
  {  // rules of both families: each decides for its own; a rule for ::/0 does not match IPv4
    const SynFilter f = filter(
        {"allow", "[fd00::]/8:80", "deny", "::/0", "allow", "10.0.0.0/8", "deny", "0.0.0.0/0"});
    EXPECT_TRUE(f.allows(ula, 80));
    EXPECT_FALSE(f.allows(ula, 81));
    EXPECT_FALSE(f.allows(global, 80));
    EXPECT_TRUE(f.allows(v4, 81)) << "the IPv4 allow, IPv6's rules passed over";
    EXPECT_FALSE(f.allows(make_ipv4(192, 0, 2, 1), 80));
  }
  {  // IPv6 deny rules beside an IPv4 allow list: IPv6 has rules, so its own decide
    const SynFilter f = filter({"allow", "10.0.0.0/8", "deny", "0.0.0.0/0", "deny", "fd00::/8"});
    EXPECT_FALSE(f.allows(ula, 80));
    EXPECT_TRUE(f.allows(global, 80)) << "no IPv6 rule matches: accepted";
  }
  {  // no passive opens (pollux-gen): nothing, either family
    SynFilter f;
    f.set_passive_opens(false);
    EXPECT_FALSE(f.allows(v4, 80));
    EXPECT_FALSE(f.allows(ula, 80));
  }
}

TEST(ServerOptions, AtMostThirtyTwoSynRulesAreTaken) {
  std::vector<std::string> args{"--ip", "10.0.0.2/24"};
  for (size_t i = 0; i < SynFilter::kMaxRules; ++i) {
    args.push_back("--deny");
    args.push_back("10." + std::to_string(i) + ".0.0/16");
  }
  ASSERT_TRUE(parse(args));
  args.push_back("--allow");
  args.push_back("10.200.0.0/16");
  std::string err;
  EXPECT_FALSE(parse(args, &err));
  EXPECT_NE(err.find("--allow: more than 32 --allow/--deny rules"), std::string::npos) << err;
}

struct BadCase {
  std::vector<std::string> args;
  const char* must_mention;
};

class BadServerOptions : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadServerOptions, AreRefusedWithAReason) {
  std::string err;
  EXPECT_FALSE(parse(GetParam().args, &err));
  EXPECT_NE(err.find(GetParam().must_mention), std::string::npos) << err;
  EXPECT_EQ(err.find('\n'), std::string::npos) << "one line: " << err;
}

INSTANTIATE_TEST_SUITE_P(
    ServerOptions, BadServerOptions,
    ::testing::Values(
        BadCase{{}, "--ip is required"}, BadCase{{"--ip", "10.0.0.2"}, "--ip: '10.0.0.2'"},
        BadCase{{"--ip", "10.0.0.0/24"}, "cannot be a host address"},
        BadCase{{"--ip", "10.0.0.255/24"}, "cannot be a host address"},
        BadCase{{"--ip", "224.0.0.1/4"}, "cannot be a host address"},
        BadCase{{"--ip", "10.0.0.2/33"}, "--ip"}, BadCase{{"--ip"}, "--ip needs a value"},
        BadCase{{"--ip", "10.0.0.2/24", "--gw", "10.9.0.1"}, "not on any --ip subnet"},
        BadCase{{"--ip", "10.0.0.2/24", "--gw", "x"}, "--gw: 'x'"},
        BadCase{{"--ip", "10.0.0.2/24", "--port", "0"}, "--port: '0'"},
        BadCase{{"--ip", "10.0.0.2/24", "--port", "65536"}, "--port"},
        BadCase{{"--ip", "10.0.0.2/24", "--port", "80x"}, "--port: '80x'"},
        BadCase{{"--ip", "10.0.0.2/24", "--mode", "ftp"}, "--mode: 'ftp'"},
        BadCase{{"--ip", "10.0.0.2/24", "--mtu", "100"}, "--mtu"},
        BadCase{{"--ip", "10.0.0.2/24", "--quiet=yes"}, "--quiet takes no value"},
        BadCase{{"--ip", "10.0.0.2/24", "--cc", "bbr"}, "--cc: 'bbr' is not one of newreno, cubic"},
        BadCase{{"--ip", "10.0.0.2/24", "--cc", "CUBIC"}, "--cc: 'CUBIC'"},
        BadCase{{"--ip", "10.0.0.2/24", "--cc"}, "--cc needs a value"},
        BadCase{{"--ip", "10.0.0.2/24", "--no-sack=1"}, "--no-sack takes no value"},
        BadCase{{"--ip", "10.0.0.2/24", "--no-timestamps=0"}, "--no-timestamps takes no value"},
        BadCase{{"--ip", "10.0.0.2/24", "--tlp-wc-delack", "501"},
                "--tlp-wc-delack: '501' is not a number of milliseconds in [0, 500]"},
        BadCase{{"--ip", "10.0.0.2/24", "--syn-cookies", "on"},
                "--syn-cookies: 'on' is not one of auto, always, never"},
        BadCase{{"--ip", "10.0.0.2/24", "--syn-cookies"}, "--syn-cookies needs a value"},
        BadCase{{"--ip", "10.0.0.2/24", "--challenge-ack-limit", "-1"},
                "--challenge-ack-limit: '-1' is not a number per second in [0, 100000]"},
        BadCase{{"--ip", "10.0.0.2/24", "--rst-limit", "1e3"}, "--rst-limit: '1e3'"},
        BadCase{{"--ip", "10.0.0.2/24", "--rst-limit", "100001"}, "--rst-limit: '100001'"},
        BadCase{{"--ip", "10.0.0.2/24", "--rst-limit"}, "--rst-limit needs a value"},
        BadCase{{"--ip", "10.0.0.2/24", "--allow", "10.0.0.1/8"},
                "--allow: '10.0.0.1/8' has host bits set (did you mean 10.0.0.0/8?)"},
        BadCase{{"--ip", "10.0.0.2/24", "--deny", "10.0.0.0/33"},
                "--deny: '10.0.0.0/33' is not an address or prefix like 10.0.0.0/8"},
        BadCase{{"--ip", "10.0.0.2/24", "--deny", "10.0.0.0/8:0"},
                "--deny: port '0' is not a number in [1, 65535]"},
        BadCase{{"--ip", "10.0.0.2/24", "--allow", "10.0.0.0/8:http"}, "--allow: port 'http'"},
        BadCase{{"--ip", "10.0.0.2/24", "--allow", "example.com"}, "--allow: 'example.com'"},
        BadCase{{"--ip", "10.0.0.2/24", "--allow"}, "--allow needs a value"},
        BadCase{{"--ip", "10.0.0.2/24", "--allow", "fd00::1/8"},
                "--allow: 'fd00::1/8' has host bits set (did you mean fd00::/8?)"},
        BadCase{{"--ip", "10.0.0.2/24", "--deny", "[fd00::]/129:80"},
                "--deny: 'fd00::/129' is not an IPv6 address or prefix like fd00::/8"},
        BadCase{{"--ip", "10.0.0.2/24", "--deny", "[fd00::/8"}, "has no closing ']'"},
        BadCase{{"--ip", "10.0.0.2/24", "--deny", "[fd00::]/8:0"},
                "--deny: port '0' is not a number in [1, 65535]"},
        BadCase{{"--ip", "10.0.0.2/24", "--deny", "[fd00::]80"},
                "'80' after the prefix is not :PORT"},
        BadCase{{"--ip", "10.0.0.2/24", "--deny", "[fd00::/8]/8"}, "gives two prefix lengths"},
        BadCase{{"--ip", "10.0.0.2/24", "--allow", "fd00::g"}, "--allow: 'fd00::g'"},
        BadCase{{"--ip", "10.0.0.2/24", "--user-timeout", "86401"},
                "--user-timeout: '86401' is not a whole number in [0, 86400]"},
        BadCase{{"--ip", "10.0.0.2/24", "--fin-timeout", "0"},
                "--fin-timeout: '0' is not a whole number in [1, 86400]"},
        BadCase{{"--ip", "10.0.0.2/24", "--max-conns-per-source", "x"},
                "--max-conns-per-source: 'x' is not a whole number"},
        BadCase{{"--ip", "10.0.0.2/24", "--time-wait-records", "0"},
                "--time-wait-records: '0' is not a whole number in [1, 16777216]"},
        BadCase{{"--ip", "10.0.0.2/24", "--time-wait-records", "16777217"},
                "--time-wait-records: '16777217'"},
        BadCase{{"--ip", "10.0.0.2/24", "--time-wait-records", "64K"},
                "--time-wait-records: '64K' has an unknown suffix 'K'"},  // 64k is 64000
        BadCase{{"--ip", "10.0.0.2/24", "--time-wait-records"},
                "--time-wait-records needs a value"},
        // Fewer places than --arp may fix (256), or more than 2^20.
        BadCase{{"--ip", "10.0.0.2/24", "--neigh-max", "255"},
                "--neigh-max: '255' is not a whole number in [256, 1048576]"},
        BadCase{{"--ip", "10.0.0.2/24", "--neigh-max", "1048577"}, "--neigh-max: '1048577'"},
        BadCase{{"--ip", "10.0.0.2/24", "--neigh-max", "many"},
                "--neigh-max: 'many' is not a whole number"},
        BadCase{{"--ip", "10.0.0.2/24", "--neigh-max"}, "--neigh-max needs a value"},
        BadCase{{"--ip", "10.0.0.2/24", "--conn-memory", "lots"}, "--conn-memory: 'lots'"},
        BadCase{{"--ip", "10.0.0.2/24", "--conn-memory", "0"}, "--conn-memory: '0'"},
        BadCase{{"--ip", "10.0.0.2/24", "--idle-timeout", "-5"}, "--idle-timeout: '-5'"},
        BadCase{{"--ip", "10.0.0.2/24", "--header-timeout"}, "--header-timeout needs a value"},
        BadCase{{"--ip", "10.0.0.2/24", "--sack"}, "unknown option --sack"},
        BadCase{{"--ip", "10.0.0.2/24", "--frobnicate"}, "unknown option --frobnicate"},
        BadCase{{"--ip", "10.0.0.2/24", "stray"}, "unexpected argument 'stray'"}));

TEST(Presets, ExpandToTheVirtualDeviceTheyName) {
  auto tap = dpdk::expand_preset("tap:px0", true);
  ASSERT_TRUE(tap.error.empty());
  EXPECT_EQ(tap.eal_args, (std::vector<std::string>{"--vdev=net_tap0,iface=px0", "--no-pci"}));
  auto ring = dpdk::expand_preset("ring", false);
  EXPECT_EQ(ring.eal_args, (std::vector<std::string>{"--vdev=net_ring0", "--no-pci", "--no-huge",
                                                     "-m", "1024", "--no-shconf"}));
  auto memif = dpdk::expand_preset("memif:/tmp/m.sock:server", true);
  EXPECT_EQ(memif.eal_args[0], "--vdev=net_memif0,role=server,socket=/tmp/m.sock");
  auto afp = dpdk::expand_preset("afpacket:veth0", true);
  EXPECT_EQ(afp.eal_args[0], "--vdev=net_af_packet0,iface=veth0,qpairs=1");
  auto afx = dpdk::expand_preset("afxdp:veth0", false);
  EXPECT_EQ(afx.eal_args,
            (std::vector<std::string>{"--vdev=net_af_xdp0,iface=veth0,start_queue=0,queue_count=1",
                                      "--no-pci", "--no-huge", "-m", "1024", "--no-shconf"}));
}

TEST(Presets, BadPresetsSayWhatIsExpected) {
  EXPECT_NE(dpdk::expand_preset("tap", true).error.find("tap:IFNAME"), std::string::npos);
  EXPECT_NE(dpdk::expand_preset("afpacket:", true).error.find("interface"), std::string::npos);
  EXPECT_NE(dpdk::expand_preset("afxdp", true).error.find("afxdp:IFNAME"), std::string::npos);
  EXPECT_NE(dpdk::expand_preset("pcap:x", true).error.find("afxdp:IF"), std::string::npos);
  EXPECT_NE(dpdk::expand_preset("ring:x", true).error.find("no argument"), std::string::npos);
  EXPECT_NE(dpdk::expand_preset("memif:/s:boss", true).error.find("server or client"),
            std::string::npos);
  EXPECT_NE(dpdk::expand_preset("pcap:x", true).error.find("unknown preset"), std::string::npos);
  EXPECT_TRUE(dpdk::expand_preset("pcap:x", true).eal_args.empty());
}

}  // namespace
}  // namespace pollux::apps
