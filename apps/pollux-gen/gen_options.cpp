#include "gen_options.hpp"

#include <cctype>
#include <string_view>

#include "../common/options.hpp"

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

std::optional<GenOptions> parse_gen_options(const std::vector<std::string>& args,
                                            std::string& error) {
  GenOptions o;
  bool have_dst = false, have_mode = false, paths_given = false;
  ArgReader r(args);
  read_options(r, o, [&](const std::string& n) {
    if (n == "--dst") {
      auto v = r.value();
      if (!v) return true;
      const auto colon = v->rfind(':');
      const auto a =
          colon == std::string::npos ? std::nullopt : Ipv4Addr::parse(v->substr(0, colon));
      const auto p =
          colon == std::string::npos ? std::nullopt : parse_uint(v->substr(colon + 1), 1, 65535);
      if (!a || !p) {
        r.fail("--dst: '" + *v + "' is not ADDRESS:PORT like 10.0.0.1:8080");
      } else if (a->is_unspecified() || a->is_multicast() || a->is_broadcast()) {
        r.fail("--dst: " + a->to_string() + " is not a unicast address");
      } else {
        o.dst = *a;
        o.dst_port = static_cast<uint16_t>(*p);
        have_dst = true;
      }
    } else if (n == "--mode") {
      auto v = r.value();
      if (!v) return true;
      have_mode = true;
      if (*v == "cps")
        o.mode = GenMode::cps;
      else if (*v == "rps")
        o.mode = GenMode::rps;
      else if (*v == "bulk")
        o.mode = GenMode::bulk;
      else if (*v == "hold")
        o.mode = GenMode::hold;
      else
        r.fail("--mode: '" + *v + "' is not one of cps, rps, bulk, hold");
    } else if (n == "--direction") {
      auto v = r.value();
      if (!v) return true;
      if (*v == "up")
        o.direction = Direction::up;
      else if (*v == "down")
        o.direction = Direction::down;
      else if (*v == "both")
        o.direction = Direction::both;
      else
        r.fail("--direction: '" + *v + "' is not one of up, down, both");
    } else if (n == "--duration") {
      if (auto x = r.number(1, 86400u * 365)) o.duration_s = static_cast<unsigned>(*x);
    } else if (n == "--delay") {
      if (auto x = r.number(0, 3600)) o.delay_s = static_cast<unsigned>(*x);
    } else if (n == "--connections") {
      if (auto x = r.number(1, 1u << 24)) o.connections = static_cast<uint32_t>(*x);
    } else if (n == "--concurrency") {
      if (auto x = r.number(1, 1u << 24)) o.concurrency = static_cast<uint32_t>(*x);
    } else if (n == "--rate") {
      if (auto x = r.number(0, 100'000'000)) o.rate = static_cast<uint32_t>(*x);
    } else if (n == "--req-size") {
      if (auto x = r.number(1, 1u << 30)) o.req_size = static_cast<uint32_t>(*x);
    } else if (n == "--resp-size") {
      if (auto x = r.number(1, 1u << 30)) o.resp_size = static_cast<uint32_t>(*x);
    } else if (n == "--path") {
      auto v = r.value();
      if (!v) return true;
      bool clean = !v->empty() && (*v)[0] == '/';
      for (char ch : *v) clean &= ch > ' ' && ch < 0x7f;
      if (!clean) {
        r.fail("--path: '" + *v + "' is not an absolute path without spaces");
      } else {
        if (!paths_given) o.http_paths.clear();
        paths_given = true;
        if (o.http_paths.size() == kMaxPaths)
          r.fail("--path: at most " + std::to_string(kMaxPaths) + " paths");
        else
          o.http_paths.push_back(*v);
      }
    } else if (n == "--header") {
      auto v = r.value();
      if (!v) return true;
      std::string why;
      if (!valid_header_line(*v, why))
        r.fail("--header: '" + *v + "' " + why);
      else if (o.http_headers.size() == kMaxHeaders)
        r.fail("--header: at most " + std::to_string(kMaxHeaders) + " headers");
      else
        o.http_headers.push_back(*v);
    } else if (n == "--ramp") {
      if (auto x = r.number(1, 3600)) o.ramp_s = static_cast<unsigned>(*x);
    } else if (n == "--time-wait") {
      if (auto x = r.number(0, 240'000)) o.time_wait_ms = static_cast<uint32_t>(*x);
    } else if (n == "--local-server") {
      auto v = r.value();
      if (!v) return true;
      if (auto m = parse_server_mode(*v))
        o.local_server = *m;
      else
        r.fail("--local-server: '" + *v + "' is not one of echo, discard, source, http");
    } else if (n == "--json") {
      auto v = r.value();
      if (!v) return true;
      if (v->empty())
        r.fail("--json needs a file name");
      else
        o.json_path = *v;
    } else if (n == "--http" || n == "--quiet" || n == "--help") {
      if (r.has_inline_value()) r.fail(n + " takes no value");
      if (n == "--http") o.http = true;
      if (n == "--quiet") o.quiet = true;
      if (n == "--help") o.help = true;
    } else {
      return false;
    }
    return true;
  });
  if (r.ok() && o.local_server) {
    // The in-memory link is ours alone: default to the benchmarking range (RFC 2544), and
    // to several source addresses, each with its own ephemeral ports toward the server: at
    // 100k+ connections/s with a 400 ms TIME-WAIT one address's 55k ports last 0.4 s.
    if (o.addrs.empty())
      for (uint32_t i = 0; i < kLocalSourceAddrs; ++i)
        o.addrs.push_back(Ipv4Prefix{make_ipv4(198, 18, 0, static_cast<uint8_t>(2 + i)), 24});
    if (!have_dst) {
      o.dst = *Ipv4Addr::parse("198.18.0.1");
      o.dst_port = 8080;
      have_dst = true;
    }
  }
  if (r.ok() && !o.help) {
    if (o.addrs.empty())
      r.fail("--ip is required (e.g. --ip 10.0.0.2/24)");
    else if (!have_dst)
      r.fail("--dst is required (e.g. --dst 10.0.0.1:8080)");
    else if (!have_mode)
      r.fail("--mode is required (cps, rps, bulk or hold)");
  }
  check_gateway(r, o.addrs, o.gateway);
  if (r.ok() && o.local_server) {
    bool on_link = false;
    for (const auto& p : o.addrs) on_link |= p.contains(o.dst);
    if (!on_link)
      r.fail("--local-server: --dst " + o.dst.to_string() +
             " must be on an --ip subnet (the server sits on the in-memory link)");
  }
  if (r.ok() && !o.help) {
    bool on_link = false;
    for (const auto& p : o.addrs) {
      on_link |= p.contains(o.dst);
      if (p.addr == o.dst) r.fail("--dst: " + o.dst.to_string() + " is one of our own addresses");
    }
    if (r.ok() && !on_link && !o.gateway)
      r.fail("--dst: " + o.dst.to_string() + " is not on any --ip subnet and there is no --gw");
  }
  if (r.ok() && o.local_server) {
    // The server must speak what the generator asks for.
    const ServerMode want = o.http ? ServerMode::http
                            : o.mode != GenMode::bulk || o.direction == Direction::both
                                ? ServerMode::echo
                            : o.direction == Direction::down ? ServerMode::source
                                                             : ServerMode::discard;
    if (*o.local_server != want && !(o.mode == GenMode::hold))
      r.fail(std::string("--local-server ") + mode_name(*o.local_server) + " does not answer " +
             gen_mode_name(o.mode) + (o.http ? " --http" : "") + " traffic; use --local-server " +
             mode_name(want));
  }
  if (r.ok() && o.ramp_s != 0 && (o.rate == 0 || o.mode == GenMode::bulk))
    r.fail("--ramp raises --rate: it needs --rate N and mode cps, rps or hold");
  if (r.ok() && !o.http_headers.empty() && !o.http)
    r.fail("--header: headers are for --http requests");
  if (r.ok() && o.http && o.mode == GenMode::bulk)
    r.fail("--http: bulk mode moves raw bytes; use cps or rps for HTTP");
  if (r.ok() && o.mode == GenMode::cps && o.concurrency > o.max_connections)
    r.fail("--concurrency " + std::to_string(o.concurrency) + " exceeds --max-conns " +
           std::to_string(o.max_connections));
  if (r.ok() && o.mode != GenMode::cps && o.connections > o.max_connections)
    r.fail("--connections " + std::to_string(o.connections) + " exceeds --max-conns " +
           std::to_string(o.max_connections));
  if (!r.ok()) {
    error = r.error();
    return std::nullopt;
  }
  return o;
}

}  // namespace pollux::apps
