// Both apps' options beyond the command line (issue 15 item 3): --config files (TOML and
// INI), the command line over the file, --print-config read back to the same options, the
// grouped --help, and unit suffixes through the options that take them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "../../../apps/pollux-gen/gen_options.hpp"
#include "../../../apps/pollux-server/server_options.hpp"

namespace pollux::apps {
namespace {

// A file under the test's temporary directory holding `text`; removed at scope exit.
class TempFile {
 public:
  TempFile(const std::string& name, const std::string& text)
      : path_(::testing::TempDir() + "pollux_config_test_" + name) {
    std::ofstream(path_) << text;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::optional<ServerOptions> server(std::vector<std::string> args, std::string* err = nullptr) {
  std::string e;
  auto o = parse_server_options(args, e);
  if (err) *err = e;
  return o;
}

std::optional<GenOptions> gen(std::vector<std::string> args, std::string* err = nullptr) {
  std::string e;
  auto o = parse_gen_options(args, e);
  if (err) *err = e;
  return o;
}

TEST(ConfigFile, ValuesComeFromTheFileAndTheCommandLineOverridesThem) {
  const TempFile f("server.toml",
                   "# a server\n"
                   "ip = \"10.0.0.2/24\"\n"
                   "gw = 10.0.0.1\n"
                   "port = 80\n"
                   "mode = \"http\"   # inline comment\n"
                   "quiet = true\n"
                   "no-sack = false\n"
                   "cc = newreno\n"
                   "rxd = 2k\n"
                   "idle-timeout = 2m\n");
  auto o = server({"--config", f.path()});
  ASSERT_TRUE(o);
  ASSERT_EQ(o->addrs.size(), 1u);
  EXPECT_EQ(o->addrs[0].to_string(), "10.0.0.2/24");
  EXPECT_EQ(o->gateway->to_string(), "10.0.0.1");
  EXPECT_EQ(o->tcp_port, 80);
  EXPECT_EQ(o->mode, ServerMode::http);
  EXPECT_TRUE(o->quiet);
  EXPECT_TRUE(o->tcp.sack) << "a flag set to false in the file stays off";
  EXPECT_EQ(o->tcp.cc, CongestionControl::newreno);
  EXPECT_EQ(o->device.rx_desc, 2000);
  EXPECT_EQ(o->idle_timeout_s, 120u);
  auto c = server({"--port=81", "--config", f.path(), "--mode", "echo", "--ip", "10.0.0.3/24"});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->tcp_port, 81);
  EXPECT_EQ(c->mode, ServerMode::echo);
  ASSERT_EQ(c->addrs.size(), 1u) << "the command line's --ip replaces the file's, not adds";
  EXPECT_EQ(c->addrs[0].to_string(), "10.0.0.3/24");
  EXPECT_TRUE(c->quiet) << "what the command line leaves out still comes from the file";
}

TEST(ConfigFile, IniFilesTakeSemicolonCommentsAndSpaceSeparatedLists) {
  const TempFile f("server.ini",
                   "; a server\n"
                   "[default]\n"
                   "ip = 10.0.0.2/24 10.0.0.3/24\n"
                   "no-timestamps\n"
                   "backlog = 4k\n");
  std::string e;
  auto o = server({"--config", f.path()}, &e);
  ASSERT_TRUE(o) << e;
  ASSERT_EQ(o->addrs.size(), 2u);
  EXPECT_EQ(o->addrs[1].to_string(), "10.0.0.3/24");
  EXPECT_FALSE(o->tcp.timestamps) << "a bare key is a flag set";
  EXPECT_EQ(o->backlog, 4000u);
}

TEST(ConfigFile, AllowAndDenyKeepTheFilesOrderAndTheCommandLineReplacesBoth) {
  const TempFile f("rules.toml",
                   "ip = \"10.0.0.2/24\"\n"
                   "deny = \"10.1.0.0/16\"\n"
                   "allow = \"10.0.0.0/8\"\n"
                   "deny = \"0.0.0.0/0\"\n");
  auto o = server({"--config", f.path()});
  ASSERT_TRUE(o);
  ASSERT_EQ(o->syn_filter.size(), 3u);
  EXPECT_FALSE(o->syn_filter.rule(0).allow);
  EXPECT_TRUE(o->syn_filter.rule(1).allow);
  EXPECT_FALSE(o->syn_filter.allows(make_ipv4(10, 1, 2, 3), 80)) << "the first match decides";
  EXPECT_TRUE(o->syn_filter.allows(make_ipv4(10, 2, 2, 3), 80));
  EXPECT_FALSE(o->syn_filter.allows(make_ipv4(192, 0, 2, 1), 80));
  auto c = server({"--config", f.path(), "--allow", "192.0.2.0/24"});
  ASSERT_TRUE(c);
  ASSERT_EQ(c->syn_filter.size(), 1u) << "the command line's rules replace the file's list";
  EXPECT_TRUE(c->syn_filter.rule(0).allow);
}

struct BadFile {
  const char* name;
  const char* text;
  const char* says;  // after "--config PATH: "
};

class BadConfigFiles : public ::testing::TestWithParam<BadFile> {};

TEST_P(BadConfigFiles, AreRefusedInOneLineNamingTheKey) {
  const TempFile f(GetParam().name, GetParam().text);
  std::string e;
  EXPECT_FALSE(server({"--config", f.path()}, &e));
  EXPECT_EQ(e, "--config " + f.path() + ": " + GetParam().says);
}

INSTANTIATE_TEST_SUITE_P(
    ConfigFile, BadConfigFiles,
    ::testing::Values(
        BadFile{"unknown.toml", "ip = \"10.0.0.2/24\"\nprot = 80\n", "unknown key 'prot'"},
        BadFile{"value.toml", "ip = \"10.0.0.2/24\"\nport = 99999\n",
                "port: '99999' is not a whole number in [1, 65535]"},
        BadFile{"suffix.toml", "ip = \"10.0.0.2/24\"\nbacklog = 2X\n",
                "backlog: '2X' has an unknown suffix 'X' (k, M, G (x1000))"},
        BadFile{"mode.toml", "ip = \"10.0.0.2/24\"\nmode = gopher\n",
                "mode: 'gopher' is not one of echo, discard, source, http"},
        BadFile{"flag.toml", "ip = \"10.0.0.2/24\"\nquiet = maybe\n",
                "quiet: 'maybe' is not true or false"},
        BadFile{"twice.toml", "ip = \"10.0.0.2/24\"\nport = 80\nmtu = 1500\nport = 81\n",
                "key 'port' is set twice"},
        BadFile{"list.toml", "ip = \"10.0.0.2/24\"\nport = [80, 81]\n",
                "key 'port' takes one value, not a list"},
        BadFile{"section.toml", "ip = \"10.0.0.2/24\"\n[server]\nport = 80\n",
                "unknown key 'server.port'"},
        BadFile{"self.toml", "ip = \"10.0.0.2/24\"\nconfig = other.toml\n", "unknown key 'config'"},
        BadFile{"ip.toml", "ip = [\"10.0.0.2/24\", \"10.0.0.0/24\"]\n",
                "ip: 10.0.0.0/24 cannot be a host address (network, broadcast or multicast)"}));

TEST(ConfigFile, AMissingFileIsRefusedWithTheReason) {
  std::string e;
  EXPECT_FALSE(server({"--ip", "10.0.0.2/24", "--config", "/nonexistent-dir/x.toml"}, &e));
  EXPECT_EQ(e, "--config: cannot read /nonexistent-dir/x.toml: No such file or directory");
  EXPECT_FALSE(server({"--ip", "10.0.0.2/24", "--config"}, &e));
  EXPECT_EQ(e, "--config needs a value");
}

TEST(ConfigFile, RequiredOptionsMayComeFromTheFile) {
  const TempFile f("gen.toml", "mode = rps\nlocal-server = echo\nconnections = 2k\n");
  std::string e;
  auto o = gen({"--config", f.path(), "--max-conns", "4k"}, &e);
  ASSERT_TRUE(o) << e;
  EXPECT_EQ(o->mode, GenMode::rps);
  EXPECT_EQ(o->connections, 2000u);
  EXPECT_EQ(o->max_connections, 4000u);
  EXPECT_FALSE(gen({"--config", f.path(), "--max-conns", "1k"}, &e));
  EXPECT_EQ(e, "--connections 2000 exceeds --max-conns 1000") << "checks run on both together";
}

// Issue 16: one gateway per family, as a list in the file.
TEST(ConfigFile, GwTakesAnIpv4AndAnIpv6GatewayAsAList) {
  const TempFile f("gw6.toml",
                   "ip = [\"10.0.0.2/24\", \"fd00:99::2/64\"]\n"
                   "gw = [\"10.0.0.1\", \"fe80::1\"]\n");
  std::string e;
  auto o = server({"--config", f.path()}, &e);
  ASSERT_TRUE(o) << e;
  EXPECT_EQ(o->gateway->to_string(), "10.0.0.1");
  EXPECT_EQ(o->gateway6->to_string(), "fe80::1");
  const TempFile two("gw6-twice.toml",
                     "ip = [\"fd00:99::2/64\"]\n"
                     "gw = [\"fd00:99::1\", \"fd00:99::3\"]\n");
  EXPECT_FALSE(server({"--config", two.path()}, &e));
  EXPECT_NE(e.find("gw: fd00:99::3 is a second IPv6 gateway"), std::string::npos) << e;
}

// --print-config's output, read back through --config, gives the same options: the printed
// text is the same and so are the parsed values.
TEST(PrintConfig, ServerOptionsReadBackToTheSameOptions) {
  const std::vector<std::string> args{"--ip",
                                      "10.0.0.2-4/24",
                                      "--ip",
                                      "192.168.7.9/16",
                                      "--gw",
                                      "10.0.0.1",
                                      "--port",
                                      "80",
                                      "--mode",
                                      "http",
                                      "--http-body",
                                      "4Ki",
                                      "--duration",
                                      "1h",
                                      "--no-sack",
                                      "--cc",
                                      "newreno",
                                      "--deny",
                                      "10.1.0.0/16",
                                      "--allow",
                                      "10.0.0.0/8:80",
                                      "--deny",
                                      "0.0.0.0/0",
                                      "--arp",
                                      "10.0.0.9=02:aa:bb:cc:dd:ee",
                                      "--pcap",
                                      "/tmp/x y.pcapng:96",
                                      "--rst-limit",
                                      "0",
                                      "--user-timeout",
                                      "10m",
                                      "--quiet",
                                      "--rxd",
                                      "512",
                                      "--print-config"};
  std::string e;
  auto o = server(args, &e);
  ASSERT_TRUE(o) << e;
  ASSERT_FALSE(o->print_instead.empty());
  const std::string text = o->print_instead;
  EXPECT_NE(text.find("\nport = 80\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nmtu = 1500\n"), std::string::npos) << "defaults are written too";
  EXPECT_NE(text.find("\n# mbufs = N\n"), std::string::npos) << "no default: commented";
  const TempFile f("printed.toml", text);
  auto r = server({"--config", f.path(), "--print-config"}, &e);
  ASSERT_TRUE(r) << e << "\n" << text;
  EXPECT_EQ(r->print_instead, text);
  ASSERT_EQ(r->addrs.size(), 4u);
  EXPECT_EQ(r->addrs[3].to_string(), "192.168.7.9/16");
  EXPECT_EQ(r->tcp_port, 80);
  EXPECT_EQ(r->mode, ServerMode::http);
  EXPECT_EQ(r->http_body, 4096u);
  EXPECT_EQ(r->duration_s, 3600u);
  EXPECT_FALSE(r->tcp.sack);
  EXPECT_TRUE(r->tcp.timestamps);
  EXPECT_EQ(r->tcp.cc, CongestionControl::newreno);
  ASSERT_EQ(r->syn_filter.size(), 3u);
  EXPECT_FALSE(r->syn_filter.rule(0).allow) << "the rules keep their order";
  EXPECT_EQ(r->syn_filter.rule(1).port, 80);
  ASSERT_EQ(r->device.static_arp.size(), 1u);
  EXPECT_EQ(r->device.static_arp[0].mac[5], 0xee);
  EXPECT_EQ(r->pcap.path, "/tmp/x y.pcapng");
  EXPECT_EQ(r->pcap.snaplen, 96u);
  EXPECT_EQ(r->tcp.rst_limit, 0u);
  EXPECT_FALSE(r->tcp.challenge_ack_limit) << "unset stays unset (the stack's default)";
  EXPECT_EQ(r->tcp.user_timeout_s, 600u);
  EXPECT_TRUE(r->quiet);
  EXPECT_FALSE(r->conn_info);
  EXPECT_EQ(r->device.rx_desc, 512);
  EXPECT_EQ(r->device.tx_desc, 1024);
}

// --gw is repeatable (one gateway per family, issue 16), so --print-config writes it as a
// list, even of one: that is what --config reads back, from TOML or INI, to the same
// gateways (a scalar `gw = 10.0.0.1` in a hand-written file is read too, above).
TEST(PrintConfig, GatewaysOfBothFamiliesReadBackAsTheirList) {
  std::string e;
  auto o = server({"--ip", "10.0.0.2/24", "--ip", "fd00:99::2/64", "--gw", "10.0.0.1", "--gw",
                   "fe80::1", "--print-config"},
                  &e);
  ASSERT_TRUE(o) << e;
  EXPECT_NE(o->print_instead.find("\ngw = [\"10.0.0.1\", \"fe80::1\"]\n"), std::string::npos)
      << o->print_instead;
  for (const char* name : {"printed-gw.toml", "printed-gw.ini"}) {
    const TempFile f(name, o->print_instead);
    auto r = server({"--config", f.path(), "--print-config"}, &e);
    ASSERT_TRUE(r) << name << ": " << e << "\n" << o->print_instead;
    EXPECT_EQ(r->print_instead, o->print_instead) << name;
    ASSERT_TRUE(r->gateway && r->gateway6) << name;
    EXPECT_EQ(r->gateway->to_string(), "10.0.0.1") << name;
    EXPECT_EQ(r->gateway6->to_string(), "fe80::1") << name;
  }
  auto g = gen({"--ip", "fd00:99::2/64", "--gw", "fd00:99::1", "--dst", "[2001:db8::80]:80",
                "--mode", "cps", "--print-config"},
               &e);
  ASSERT_TRUE(g) << e;
  EXPECT_NE(g->print_instead.find("\ngw = [\"fd00:99::1\"]\n"), std::string::npos)
      << g->print_instead;
  const TempFile f("printed-gw-gen.toml", g->print_instead);
  auto r = gen({"--config", f.path(), "--print-config"}, &e);
  ASSERT_TRUE(r) << e << "\n" << g->print_instead;
  EXPECT_EQ(r->print_instead, g->print_instead);
  EXPECT_FALSE(r->gateway);
  ASSERT_TRUE(r->gateway6);
  EXPECT_EQ(r->gateway6->to_string(), "fd00:99::1");
}

TEST(PrintConfig, GenOptionsReadBackToTheSameOptions) {
  const std::vector<std::string> args{"--mode",
                                      "rps",
                                      "--http",
                                      "--local-server",
                                      "http",
                                      "--path",
                                      "/a",
                                      "--path",
                                      "/b?x=1,2",
                                      "--header",
                                      "X-Test: 1, 2",
                                      "--header",
                                      "Accept: \"quoted\"",
                                      "--method",
                                      "POST",
                                      "--body-size",
                                      "100@3,1Ki",
                                      "--rate",
                                      "10k",
                                      "--ramp",
                                      "5s",
                                      "--duration",
                                      "1m",
                                      "--connections",
                                      "64",
                                      "--time-wait",
                                      "1s",
                                      "--json",
                                      "/tmp/r.json",
                                      "--print-config"};
  std::string e;
  auto o = gen(args, &e);
  ASSERT_TRUE(o) << e;
  const std::string text = o->print_instead;
  const TempFile f("printed-gen.toml", text);
  auto r = gen({"--config", f.path(), "--print-config"}, &e);
  ASSERT_TRUE(r) << e << "\n" << text;
  EXPECT_EQ(r->print_instead, text);
  EXPECT_EQ(r->mode, GenMode::rps);
  EXPECT_TRUE(r->http);
  EXPECT_EQ(r->local_server, ServerMode::http);
  EXPECT_EQ(r->http_paths, (std::vector<std::string>{"/a", "/b?x=1,2"}));
  EXPECT_EQ(r->http_headers, (std::vector<std::string>{"X-Test: 1, 2", "Accept: \"quoted\""}));
  EXPECT_EQ(r->rate, 10'000u);
  EXPECT_EQ(r->http_method, HttpMethod::post);
  EXPECT_EQ(r->body_sizes, (std::vector<Weighted>{{100, 3}, {1024, 1}}));
  EXPECT_EQ(r->ramp_s, 5u);
  EXPECT_EQ(r->duration_s, 60u);
  EXPECT_EQ(r->connections, 64u);
  EXPECT_EQ(r->time_wait_ms, 1000u);
  EXPECT_EQ(r->json_path, "/tmp/r.json");
  EXPECT_EQ(r->addrs.size(), kLocalSourceAddrs) << "--local-server's defaults, as before";
  EXPECT_EQ(r->dst_port, 8080);
}

TEST(PrintConfig, GenStepsAndSizeMixesReadBackToTheSameOptions) {
  std::string e;
  auto o = gen({"--mode", "rps", "--local-server", "echo", "--rate", "1k,2k,4k", "--step", "5s",
                "--req-size", "64@3,1k", "--resp-size", "10,20@2", "--dst", "198.18.0.1:8080@3",
                "--dst", "198.18.0.7:8080", "--print-config"},
               &e);
  ASSERT_TRUE(o) << e;
  const std::string text = o->print_instead;
  EXPECT_NE(text.find("rate = \"1k,2k,4k\""), std::string::npos) << text;
  const TempFile f("printed-gen-steps.toml", text);
  auto r = gen({"--config", f.path(), "--print-config"}, &e);
  ASSERT_TRUE(r) << e << "\n" << text;
  EXPECT_EQ(r->print_instead, text);
  EXPECT_EQ(r->rate_steps, (std::vector<uint32_t>{1000, 2000, 4000}));
  EXPECT_EQ(r->rate, 4000u);
  EXPECT_EQ(r->step_s, 5u);
  EXPECT_EQ(r->req_sizes, (std::vector<Weighted>{{64, 3}, {1000, 1}}));
  EXPECT_EQ(r->resp_sizes, (std::vector<Weighted>{{10, 1}, {20, 2}}));
  ASSERT_EQ(r->dsts.size(), 2u);
  EXPECT_EQ(r->dsts[0].to_string(), "198.18.0.1:8080");
  EXPECT_EQ(r->dsts[0].weight, 3u);
  EXPECT_EQ(r->dsts[1].to_string(), "198.18.0.7:8080");
  EXPECT_EQ(r->dsts[1].weight, 1u);
  // The command line's one rate replaces the file's steps (and then needs no --step).
  auto c = gen({"--config", f.path(), "--rate", "500", "--step", "5"}, &e);
  EXPECT_FALSE(c);
  EXPECT_EQ(e, "--step: it needs several rates (--rate 10k,20k,40k)");
}

TEST(PrintConfig, NeedsAValidConfiguration) {
  std::string e;
  EXPECT_FALSE(server({"--print-config"}, &e));
  EXPECT_EQ(e, "--ip is required (e.g. --ip 10.0.0.2/24)");
}

TEST(Help, ListsEveryGroupThenTheExamples) {
  auto s = server({"--help"});
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->help);
  const std::string& h = s->print_instead;
  EXPECT_EQ(h.rfind("usage: pollux-server", 0), 0u) << h;
  size_t at = 0;
  for (const char* group :
       {"\nDevice:\n", "\nAddresses:\n", "\nServer:\n", "\nTCP:\n", "\nLimits:\n", "\nOutput:\n",
        "\nTelemetry/capture:\n", "\nConfiguration:\n", "\nExamples:\n"}) {
    const size_t p = h.find(group);
    EXPECT_NE(p, std::string::npos) << group << h;
    EXPECT_GT(p, at) << group << " in its place";
    at = p == std::string::npos ? at : p;
  }
  for (const char* option :
       {"--rxd N", "--ip A.B.C.D/N", "--syn-cookies auto|always|never",
        "--allow PREFIX[:PORT]", "[fd00::]/64:80", "--pcap FILE[:SNAPLEN]", "--config FILE", "--print-config"})
    EXPECT_NE(h.find(option), std::string::npos) << option;
  auto g = gen({"--help"});
  ASSERT_TRUE(g);
  const std::string& gh = g->print_instead;
  EXPECT_EQ(gh.rfind("usage: pollux-gen", 0), 0u) << gh;
  for (const char* group :
       {"\nDevice:\n", "\nAddresses:\n", "\nTraffic:\n", "\nTCP:\n", "\nLimits:\n", "\nOutput:\n",
        "\nTelemetry/capture:\n", "\nConfiguration:\n", "\nExamples:\n"})
    EXPECT_NE(gh.find(group), std::string::npos) << group;
  for (const std::string& text : {h, gh}) {
    size_t start = 0;
    while (start < text.size()) {
      const size_t end = std::min(text.find('\n', start), text.size());
      EXPECT_LE(end - start, 100u) << text.substr(start, end - start);
      start = end + 1;
    }
  }
}

TEST(Suffixes, OptionsTakeTheUnitsOfWhatTheyCount) {
  std::string e;
  auto o = gen({"--mode",        "cps", "--local-server", "echo",   "--rate",      "10k",
                "--concurrency", "2k",  "--req-size",     "1Ki",    "--resp-size", "2k",
                "--duration",    "2m",  "--delay",        "1000ms", "--time-wait", "1s",
                "--max-conns",   "1M",  "--mbufs",        "256k"},
               &e);
  ASSERT_TRUE(o) << e;
  EXPECT_EQ(o->rate, 10'000u);
  EXPECT_EQ(o->concurrency, 2'000u);
  EXPECT_EQ(o->req_size, 1024u);
  EXPECT_EQ(o->resp_size, 2000u);
  EXPECT_EQ(o->duration_s, 120u);
  EXPECT_EQ(o->delay_s, 1u);
  EXPECT_EQ(o->time_wait_ms, 1000u);
  EXPECT_EQ(o->max_connections, 1'000'000u);
  EXPECT_EQ(o->device.mbufs, 256'000u);
  auto s = server({"--ip", "10.0.0.2/24", "--tlp-wc-delack", "40ms", "--fin-timeout", "1m",
                   "--challenge-ack-limit", "2k"},
                  &e);
  ASSERT_TRUE(s) << e;
  EXPECT_EQ(s->tcp.tlp_wc_delack_ms, 40u);
  EXPECT_EQ(s->tcp.fin_timeout_s, 60u);
  EXPECT_EQ(s->tcp.challenge_ack_limit, 2000u);
  struct Bad {
    std::vector<std::string> args;
    const char* says;
  };
  for (const Bad& b :
       {Bad{{"--duration", "500ms"}, "--duration: '500ms' is not a whole number of seconds"},
        Bad{{"--duration", "5d"}, "--duration: '5d' has an unknown suffix 'd' (ms, s, m, h)"},
        Bad{{"--connections", "10K"}, "--connections: '10K' has an unknown suffix 'K'"},
        Bad{{"--rate", "1Ki"}, "--rate: '1Ki' has an unknown suffix 'Ki' (k, M, G (x1000))"},
        Bad{{"--req-size", "2Gi"}, "--req-size: '2Gi' is not a whole number in [1, 1073741824]"},
        Bad{{"--time-wait", "99999999999999999999h"},
            "--time-wait: '99999999999999999999h' is not"}}) {
    auto args = b.args;
    for (const char* a : {"--mode", "rps", "--local-server", "echo"}) args.emplace_back(a);
    EXPECT_FALSE(gen(args, &e)) << b.says;
    EXPECT_EQ(e.find(b.says), 0u) << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
}

}  // namespace
}  // namespace pollux::apps
