#include "gen_options.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "../common/options.hpp"
#include "profile.hpp"

namespace pollux::apps {

const char* gen_mode_name(GenMode m) {
  switch (m) {
    case GenMode::cps:
      return "cps";
    case GenMode::rps:
      return "rps";
    case GenMode::bulk:
      return "bulk";
    case GenMode::hold:
      return "hold";
  }
  return "?";
}

const char* http_method_name(HttpMethod m) {
  return m == HttpMethod::post ? "POST" : "GET";
}

const char* direction_name(Direction d) {
  switch (d) {
    case Direction::up:
      return "up";
    case Direction::down:
      return "down";
    case Direction::both:
      return "both";
  }
  return "?";
}

bool valid_header_line(std::string_view line, std::string& why) {
  // field-name ":" OWS field-value (RFC 9110 5.1, 5.5): a token, then visible characters,
  // spaces and tabs; no CR or LF, which would end the header section early.
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    why = "is not 'Name: value'";
    return false;
  }
  const std::string_view name = line.substr(0, colon);
  for (char c : name) {
    const bool tchar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!tchar) {
      why = "has a name that is not an HTTP token";
      return false;
    }
  }
  for (char c : line.substr(colon + 1)) {
    if (c == '\r' || c == '\n' || (static_cast<unsigned char>(c) < 0x20 && c != '\t') ||
        c == 0x7f) {
      why = "has a control character in its value";
      return false;
    }
  }
  auto is = [&](std::string_view want) {
    if (name.size() != want.size()) return false;
    for (size_t i = 0; i < name.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(name[i])) != want[i]) return false;
    return true;
  };
  if (is("host") || is("content-length") || is("transfer-encoding")) {
    why = "is set by pollux-gen itself";
    return false;
  }
  return true;
}

namespace {

constexpr const char* kGenFooter =
    "Raw payloads: a request is --req-size bytes, the response is complete after --resp-size\n"
    "bytes (default --req-size: an echo server); --http sends GET and reads a full response.\n"
    "--rate in rps mode is open loop: latency counts from when each request was due (no\n"
    "coordinated omission). Several --ip (or a range) on the --dst subnet: connections come\n"
    "from one address until its ephemeral ports run short (TIME-WAIT), then from the next.\n"
    "No passive opens: a SYN to the generator is answered as a closed port (RST, at most\n"
    "--rst-limit per second per lcore) and counted drop_tcp_syn_filtered.\n"
    "Presets (before --, with any EAL arguments): tap:IF, afpacket:IF, afxdp:IF, ring,\n"
    "memif:PATH, pci:BDF (a NIC bound to vfio-pci, with hugepages: drivers-glue/NICS.md).\n"
    "Numbers take suffixes: counts and rates k, M, G (x1000); sizes k, M, G (x1000) or Ki, Mi,\n"
    "Gi (x1024); durations ms, s, m, h (a bare number is in the option's own unit).\n"
    "Every option can come from a --config file (`mode = \"rps\"`, `path = [\"/a\", \"/b\"]`,\n"
    "`http = true`); the command line overrides it.\n"
    "\n"
    "Examples:\n"
    "  pollux-gen -l 0-1 -- --mode rps --http --connections 32 --local-server http\n"
    "  pollux-gen -l 0-1 -- --mode cps --rate 20k --ramp 10s --duration 1m --local-server echo\n"
    "  pollux-gen -l 0-1 -- --mode rps --rate 1k,2k,4k --step 10s --req-size 64@3,1k \\\n"
    "      --local-server echo\n"
    "  pollux-gen -l 0-1 -- --mode rps --http --method POST --body-size 1k --local-server http\n"
    "  pollux-gen --preset tap:px1 -l 0 -- --ip 10.0.1.2/24 --dst 10.0.1.1:80@3 \\\n"
    "      --dst 10.0.1.9:80 --mode cps --http\n"
    "  pollux-gen --preset tap:px1 -l 0 -- --ip 10.0.1.2/24 --dst 10.0.1.1:7 --mode bulk \\\n"
    "      --direction both --json report.json\n"
    "  pollux-gen -- --mode rps --http --local-server http --print-config > gen.toml\n"
    "  pollux-gen -l 0-1 -- --config gen.toml --duration 30s\n";

// One of `names` (an enum's, in order) -> its index; nullopt for anything else.
std::optional<size_t> pick(const std::string& v, std::initializer_list<const char*> names) {
  size_t i = 0;
  for (const char* n : names) {
    if (v == n) return i;
    ++i;
  }
  return std::nullopt;
}

struct Given {
  bool dst = false, mode = false, paths = false;
};

void declare(OptionParser& p, GenOptions& o, Given& given) {
  add_device_options(p, o);
  add_address_options(p, o.addrs, o.addrs6, o.gateway, o.gateway6, o.device.static_arp);
  const char* g = "Traffic";
  p.add({"dst", g, "ADDR:PORT[@W]",
         "the server, A.B.C.D:PORT or [IPV6]:PORT (e.g. [fd00::1]:80; connections then open "
         "from the --ip IPv6 addresses); with --local-server: 198.18.0.1:8080 unless given. "
         "Several spread the connections over them in proportion to their weights (default 1)",
         "", true, "", [&o, &given](const std::string& text, std::string& e) {
           const auto at = text.find('@');
           const std::string v = text.substr(0, at);
           const auto colon = v.rfind(':');
           std::optional<HostAddr> a;
           if (colon != std::string::npos) {
             const std::string host = v.substr(0, colon);
             // IPv6 only in brackets (RFC 3986 3.2.2): "fd00::1:80" could be either.
             if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
               if (auto a6 = Ipv6Addr::parse(host.substr(1, host.size() - 2))) a = HostAddr{*a6};
             } else if (auto a4 = Ipv4Addr::parse(host)) {
               a = HostAddr{*a4};
             }
           }
           const auto port = colon == std::string::npos ? std::nullopt
                                                        : parse_uint(v.substr(colon + 1), 1, 65535);
           Destination d;
           if (!a || !port) {
             e = "--dst: '" + v + "' is not ADDRESS:PORT like 10.0.0.1:8080 or [fd00::1]:8080";
             return false;
           }
           if (!(a->ipv6 ? a->v6.is_unicast_peer() : a->v4.is_unicast_peer())) {
             e = "--dst: " + a->to_string() + " is not a unicast address";
             return false;
           }
           if (at != std::string::npos) {
             const auto w = parse_option_value("--dst", text.substr(at + 1), Unit::plain, 1,
                                               1'000'000, e, "a weight");
             if (!w) return false;
             d.weight = static_cast<uint32_t>(*w);
           }
           d.addr = *a;
           d.port = static_cast<uint16_t>(*port);
           if (!given.dst) o.dsts.clear();
           given.dst = true;
           for (const auto& other : o.dsts)
             if (other.addr == d.addr && other.port == d.port) {
               e = "--dst: " + d.to_string() + " is given twice";
               return false;
             }
           if (o.dsts.size() == kMaxDestinations) {
             e = "--dst: at most " + std::to_string(kMaxDestinations) + " destinations";
             return false;
           }
           o.dsts.push_back(d);
           o.dst = o.dsts.front().addr;
           o.dst_port = o.dsts.front().port;
           return true;
         }});
  p.add({"mode", g, "cps|rps|bulk|hold",
         "cps: open, send one request, read the whole response, close, --concurrency in "
         "flight; rps: --connections persistent connections, one request outstanding on each; "
         "bulk: --connections streams, --direction down (server sources), up (server "
         "discards) or both (echo); hold: open --connections and keep them",
         "", false, "", [&o, &given](const std::string& v, std::string& e) {
           given.mode = true;
           const auto m = pick(v, {"cps", "rps", "bulk", "hold"});
           if (m) o.mode = static_cast<GenMode>(*m);
           if (!m) e = "--mode: '" + v + "' is not one of cps, rps, bulk, hold";
           return m.has_value();
         }});
  p.add({"direction", g, "up|down|both", "bulk mode's direction (default down)",
         direction_name(o.direction), false, "", [&o](const std::string& v, std::string& e) {
           const auto d = pick(v, {"up", "down", "both"});
           if (d) o.direction = static_cast<Direction>(*d);
           if (!d) e = "--direction: '" + v + "' is not one of up, down, both";
           return d.has_value();
         }});
  p.add({"local-server", g, "echo|discard|source|http",
         "run the server in this process over an in-memory link (EAL args optional; --ip "
         "defaults to 198.18.0.2-5/24, or 2001:2::2-5/64 for an IPv6 --dst such as "
         "[2001:2::1]:8080); the lcores are split evenly between generator and "
         "server (at least 2)",
         "", false, "", [&o](const std::string& v, std::string& e) {
           const auto m = parse_server_mode(v);
           if (m) o.local_server = *m;
           if (!m) e = "--local-server: '" + v + "' is not one of echo, discard, source, http";
           return m.has_value();
         }});
  p.number("duration", g, "S", "how long to run (default 10s)",
           {Unit::seconds, 1, 86400u * 365, std::to_string(o.duration_s)},
           [&o](uint64_t x) { o.duration_s = static_cast<unsigned>(x); });
  p.number("delay", g, "S", "wait before the first open, for a fresh link (default 0)",
           {Unit::seconds, 0, 3600, std::to_string(o.delay_s)},
           [&o](uint64_t x) { o.delay_s = static_cast<unsigned>(x); });
  p.number("connections", g, "N", "rps, bulk, hold: connections (default 16)",
           {Unit::count, 1, 1u << 24, std::to_string(o.connections)},
           [&o](uint64_t x) { o.connections = static_cast<uint32_t>(x); });
  p.number("concurrency", g, "C", "cps: connections in flight (default 16)",
           {Unit::count, 1, 1u << 24, std::to_string(o.concurrency)},
           [&o](uint64_t x) { o.concurrency = static_cast<uint32_t>(x); });
  p.add({"rate", g, "N|N,N,..",
         "cps, hold: opens per second; rps: requests per second, open loop (default 0: as "
         "fast as possible). Several rates step through them, each for --step seconds, the "
         "last held to the end (--rate 10k,20k,40k --step 10s)",
         std::to_string(o.rate), false, "", [&o](const std::string& v, std::string& e) {
           if (v.find(',') == std::string::npos) {
             const auto x = parse_option_value("--rate", v, Unit::count, 0, 100'000'000, e);
             if (x) o.rate = static_cast<uint32_t>(*x);
             o.rate_steps.clear();
             return x.has_value();
           }
           std::vector<Weighted> steps;
           if (!parse_weighted_list("--rate", v, Unit::count, 1, 100'000'000, steps, e))
             return false;
           o.rate_steps.clear();
           for (const auto& s : steps) {
             if (s.weight != 1) {
               e = "--rate: '" + v + "': steps take no @weight";
               return false;
             }
             o.rate_steps.push_back(static_cast<uint32_t>(s.value));
           }
           o.rate = *std::max_element(o.rate_steps.begin(), o.rate_steps.end());
           return true;
         }});
  p.number("step", g, "S", "how long each of several --rate values lasts",
           {Unit::seconds, 1, 86400, ""},
           [&o](uint64_t x) { o.step_s = static_cast<unsigned>(x); });
  p.number("ramp", g, "S",
           "raise --rate linearly from 0 over the first S seconds (to the first step's rate)",
           {Unit::seconds, 1, 3600, ""}, [&o](uint64_t x) { o.ramp_s = static_cast<unsigned>(x); });
  // A size mix: each request picks its size in the weights' proportions (WeightedCycle).
  auto sizes = [](const char* option, uint32_t& first, std::vector<Weighted>& mix) {
    return [option, &first, &mix](const std::string& v, std::string& e) {
      if (!parse_weighted_list(option, v, Unit::size, 1, 1u << 30, mix, e)) return false;
      first = static_cast<uint32_t>(mix.front().value);
      if (mix.size() == 1) mix.clear();
      return true;
    };
  };
  p.add({"req-size", g, "BYTES[@W],..",
         "a raw request's size (default 64); a weighted mix such as 64@3,1k@1 sends 64-byte "
         "requests three times as often as 1000-byte ones",
         std::to_string(o.req_size), false, "", sizes("--req-size", o.req_size, o.req_sizes)});
  p.add({"resp-size", g, "BYTES[@W],..",
         "a raw response's size, or a weighted mix (default: each request's own size, what an "
         "echo server answers)",
         "", false, "", sizes("--resp-size", o.resp_size, o.resp_sizes)});
  p.flag("http", g, "HTTP/1.1 requests instead of raw payloads", [&o] { o.http = true; });
  p.number("parsers", g, "N",
           "http: response parsers per lcore, lent to responses that arrive in pieces; with "
           "none free such a response aborts its connection (default: one per connection)",
           {Unit::count, 1, 1u << 24, ""},
           [&o](uint64_t x) { o.parsers = static_cast<uint32_t>(x); });
  p.add({"method", g, "GET|POST", "the HTTP method (default GET); POST sends --body-size bytes",
         "GET", false, "", [&o](const std::string& v, std::string& e) {
           const auto m = pick(v, {"GET", "POST"});
           if (m) o.http_method = static_cast<HttpMethod>(*m);
           if (!m) e = "--method: '" + v + "' is not one of GET, POST";
           return m.has_value();
         }});
  p.add({"body-size", g, "BYTES[@W],..",
         "--method POST: each request's body (Content-Length), one size or a weighted mix "
         "(default 0)",
         "", false, "", [&o](const std::string& v, std::string& e) {
           return parse_weighted_list("--body-size", v, Unit::size, 0, 1u << 20, o.body_sizes, e);
         }});
  p.add({"path", g, "/P", "the requests cycle through the paths given (default /)", "/", true, "",
         [&o, &given](const std::string& v, std::string& e) {
           bool clean = !v.empty() && v[0] == '/';
           for (char ch : v) clean &= ch > ' ' && ch < 0x7f;
           if (!clean) {
             e = "--path: '" + v + "' is not an absolute path without spaces";
             return false;
           }
           if (!given.paths) o.http_paths.clear();
           given.paths = true;
           if (o.http_paths.size() == kMaxPaths) {
             e = "--path: at most " + std::to_string(kMaxPaths) + " paths";
             return false;
           }
           o.http_paths.push_back(v);
           return true;
         }});
  p.add({"header", g, "'Name: value'", "a header sent with every HTTP request", "", true, "",
         [&o](const std::string& v, std::string& e) {
           std::string why;
           if (!valid_header_line(v, why))
             e = "--header: '" + v + "' " + why;
           else if (o.http_headers.size() == kMaxHeaders)
             e = "--header: at most " + std::to_string(kMaxHeaders) + " headers";
           else
             o.http_headers.push_back(v);
           return e.empty();
         }});
  add_tcp_options(p, o.tcp);
  p.number("time-wait", "TCP", "MS",
           "our TIME-WAIT (2 MSL), short so that ports recycle (default 2000ms)",
           {Unit::milliseconds, 0, 240'000, std::to_string(o.time_wait_ms)},
           [&o](uint64_t x) { o.time_wait_ms = static_cast<uint32_t>(x); });
  add_limit_options(p, o.tcp, o.max_connections);
  p.add({"json", "Output", "FILE", "write the report (totals, series, counters) as JSON", "", false,
         "", [&o](const std::string& v, std::string& e) {
           if (v.empty()) e = "--json needs a file name";
           o.json_path = v;
           return !v.empty();
         }});
  p.flag("quiet", "Output", "no progress line every second", [&o] { o.quiet = true; });
  add_capture_options(p, o.pcap);
}

// The checks across options, once every value is in; false with `error`.
bool check(GenOptions& o, const Given& given, std::string& error);

}  // namespace

std::optional<GenOptions> parse_gen_options(const std::vector<std::string>& args,
                                            std::string& error) {
  GenOptions o;
  Given given;
  OptionParser p("pollux-gen", kGenUsage, kGenFooter);
  declare(p, o, given);
  const auto outcome = p.parse(args, error);
  if (outcome == OptionParser::Outcome::error) return std::nullopt;
  if (outcome == OptionParser::Outcome::help) {
    o.help = true;
    o.print_instead = p.help();
    return o;
  }
  if (!check(o, given, error)) return std::nullopt;
  if (outcome == OptionParser::Outcome::print_config) o.print_instead = p.effective_config();
  return o;
}

namespace {

bool check(GenOptions& o, const Given& given, std::string& error) {
  bool have_dst = given.dst;
  if (o.local_server) {
    // The in-memory link is ours alone: default to the benchmarking ranges (RFC 2544 for
    // IPv4, RFC 5180 for IPv6), and to several source addresses, each with its own
    // ephemeral ports toward the server: at 100k+ connections/s with a 400 ms TIME-WAIT one
    // address's 55k ports last 0.4 s. The families follow the --dst (IPv4 without one).
    const bool no_ip = o.addrs.empty() && o.addrs6.empty();
    if (!have_dst) {
      o.dst = *Ipv4Addr::parse("198.18.0.1");
      o.dst_port = 8080;
      o.dsts = {Destination{o.dst, o.dst_port, 1}};
      have_dst = true;
    }
    const auto any_dst = [&o](bool ipv6) {
      return std::any_of(o.dsts.begin(), o.dsts.end(),
                         [ipv6](const Destination& d) { return d.addr.ipv6 == ipv6; });
    };
    if (o.addrs.empty() && any_dst(false))
      for (uint32_t i = 0; i < kLocalSourceAddrs; ++i)
        o.addrs.push_back(Ipv4Prefix{make_ipv4(198, 18, 0, static_cast<uint8_t>(2 + i)), 24});
    if (no_ip && any_dst(true))
      for (uint32_t i = 0; i < kLocalSourceAddrs; ++i)
        o.addrs6.push_back(*Ipv6Prefix::parse("2001:2::" + std::to_string(2 + i) + "/64"));
  }
  auto fail = [&error](std::string why) {
    error = std::move(why);
    return false;
  };
  if (o.addrs.empty() && o.addrs6.empty()) return fail("--ip is required (e.g. --ip 10.0.0.2/24)");
  if (!have_dst) return fail("--dst is required (e.g. --dst 10.0.0.1:8080)");
  if (!given.mode) return fail("--mode is required (cps, rps, bulk or hold)");
  if (!check_gateway(o.addrs, o.gateway, error)) return false;
  if (!check_gateway6(o.addrs6, o.gateway6, error)) return false;
  for (const Destination& d : o.dsts) {
    if (d.addr.ipv6) {
      // Connections to an IPv6 server open from our IPv6 addresses (the tuple has one
      // family), on their link or through the IPv6 --gw.
      if (o.addrs6.empty())
        return fail("--dst: " + d.to_string() +
                    " is IPv6 and no --ip names an IPv6 address (e.g. --ip fd00::2/64)");
      bool on_link6 = false;
      for (const auto& p : o.addrs6) {
        if (p.addr == d.addr.v6)
          return fail("--dst: " + d.addr.to_string() + " is one of our own addresses");
        on_link6 |= p.contains(d.addr.v6);
      }
      if (o.local_server && !on_link6)
        return fail("--local-server: --dst " + d.addr.to_string() +
                    " must be on an --ip subnet (the server sits on the in-memory link)");
      if (o.local_server && d.port != o.dst_port)
        return fail("--local-server: every --dst must use one port (the server listens on " +
                    std::to_string(o.dst_port) + ")");
      if (!on_link6 && !o.gateway6)
        return fail("--dst: " + d.addr.to_string() +
                    " is not on any IPv6 --ip subnet and there is no IPv6 --gw");
      continue;
    }
    if (o.addrs.empty())
      return fail("--dst: " + d.to_string() +
                  " is IPv4 and no --ip names an IPv4 address (e.g. --ip 10.0.0.2/24)");
    bool on_link = false;
    for (const auto& p : o.addrs) on_link |= p.contains(d.addr.v4);
    if (o.local_server && !on_link)
      return fail("--local-server: --dst " + d.addr.to_string() +
                  " must be on an --ip subnet (the server sits on the in-memory link)");
    if (o.local_server && d.port != o.dst_port)
      return fail("--local-server: every --dst must use one port (the server listens on " +
                  std::to_string(o.dst_port) + ")");
    for (const auto& p : o.addrs)
      if (p.addr == d.addr.v4)
        return fail("--dst: " + d.addr.to_string() + " is one of our own addresses");
    if (!on_link && !o.gateway)
      return fail("--dst: " + d.addr.to_string() +
                  " is not on any --ip subnet and there is no --gw");
  }
  if (o.local_server) {
    // The server must speak what the generator asks for.
    const ServerMode want = o.http ? ServerMode::http
                            : o.mode != GenMode::bulk || o.direction == Direction::both
                                ? ServerMode::echo
                            : o.direction == Direction::down ? ServerMode::source
                                                             : ServerMode::discard;
    if (*o.local_server != want && !(o.mode == GenMode::hold))
      return fail(std::string("--local-server ") + mode_name(*o.local_server) +
                  " does not answer " + gen_mode_name(o.mode) + (o.http ? " --http" : "") +
                  " traffic; use --local-server " + mode_name(want));
  }
  if (o.ramp_s != 0 && (o.rate == 0 || o.mode == GenMode::bulk))
    return fail("--ramp raises --rate: it needs --rate N and mode cps, rps or hold");
  if (!o.rate_steps.empty() && o.step_s == 0)
    return fail("--rate: several rates need --step S (how long each lasts)");
  if (o.step_s != 0 && o.rate_steps.empty())
    return fail("--step: it needs several rates (--rate 10k,20k,40k)");
  if (!o.rate_steps.empty() && o.mode == GenMode::bulk)
    return fail("--rate: bulk mode has no rate to step");
  if (!o.http_headers.empty() && !o.http) return fail("--header: headers are for --http requests");
  if (o.http_method != HttpMethod::get && !o.http)
    return fail("--method: methods are for --http requests");
  if (!o.body_sizes.empty() && o.http_method != HttpMethod::post)
    return fail("--body-size: bodies are sent with --method POST");
  if (o.http && (!o.req_sizes.empty() || !o.resp_sizes.empty()))
    return fail(
        "--req-size/--resp-size: size mixes are for raw payloads; with --http use "
        "--body-size");
  if (o.mode == GenMode::bulk && (!o.req_sizes.empty() || !o.resp_sizes.empty()))
    return fail("--req-size/--resp-size: bulk mode streams; size mixes are for cps and rps");
  if (o.http && o.mode == GenMode::bulk)
    return fail("--http: bulk mode moves raw bytes; use cps or rps for HTTP");
  if (o.mode == GenMode::cps && o.concurrency > o.max_connections)
    return fail("--concurrency " + std::to_string(o.concurrency) + " exceeds --max-conns " +
                std::to_string(o.max_connections));
  if (o.mode != GenMode::cps && o.connections > o.max_connections)
    return fail("--connections " + std::to_string(o.connections) + " exceeds --max-conns " +
                std::to_string(o.max_connections));
  return true;
}

}  // namespace
}  // namespace pollux::apps
