#include "server_options.hpp"

#include "../common/options.hpp"

namespace pollux::apps {

const char* mode_name(ServerMode m) {
  switch (m) {
    case ServerMode::echo:
      return "echo";
    case ServerMode::discard:
      return "discard";
    case ServerMode::source:
      return "source";
    case ServerMode::http:
      return "http";
  }
  return "?";
}

std::optional<ServerMode> parse_server_mode(const std::string& name) {
  for (ServerMode m : {ServerMode::echo, ServerMode::discard, ServerMode::source, ServerMode::http})
    if (name == mode_name(m)) return m;
  return std::nullopt;
}

namespace {

constexpr const char* kServerFooter =
    "Presets (before --, with any EAL arguments): tap:IF, afpacket:IF, afxdp:IF, ring (in\n"
    "memory), memif:PATH[:server|client], pci:BDF (a NIC bound to vfio-pci, with hugepages;\n"
    "the start-up says what to fix when it cannot be used: drivers-glue/NICS.md).\n"
    "Numbers take suffixes: counts and rates k, M, G (x1000); sizes k, M, G (x1000) or Ki, Mi,\n"
    "Gi (x1024); durations ms, s, m, h (a bare number is in the option's own unit).\n"
    "Every option can come from a --config file (`port = 80`, `ip = [\"10.0.0.2/24\"]`,\n"
    "`quiet = true`); the command line overrides it.\n"
    "\n"
    "Examples:\n"
    "  pollux-server --preset tap:px0 -l 0 -- --ip 10.0.0.2/24 --gw 10.0.0.1 --mode http\n"
    "  pollux-server --preset ring -l 0 -- --ip 10.9.0.2/24 --duration 1m --quiet\n"
    "  pollux-server -- --ip 10.0.0.2/24 --mode http --backlog 4k --print-config > server.toml\n"
    "  pollux-server --preset pci:0000:03:00.0 -l 0-3 -- --config server.toml --port 80\n";

void declare(OptionParser& p, ServerOptions& o) {
  add_device_options(p, o);
  add_address_options(p, o.addrs, o.addrs6, o.gateway, o.gateway6, o.device.static_arp);
  const char* g = "Server";
  p.number("port", g, "P", "the TCP port to listen on (default 8080)",
           {Unit::plain, 1, 65535, std::to_string(o.tcp_port)},
           [&o](uint64_t x) { o.tcp_port = static_cast<uint16_t>(x); });
  p.add({"mode", g, "echo|discard|source|http",
         "what to serve: echo, discard, source (an endless stream) or http (default echo)",
         mode_name(o.mode), false, "", [&o](const std::string& v, std::string& e) {
           const auto m = parse_server_mode(v);
           if (m) o.mode = *m;
           if (!m) e = "--mode: '" + v + "' is not one of echo, discard, source, http";
           return m.has_value();
         }});
  p.number("http-body", g, "BYTES", "the HTTP response body's size (default 128)",
           {Unit::size, 0, 64u << 20, std::to_string(o.http_body)},
           [&o](uint64_t x) { o.http_body = static_cast<uint32_t>(x); });
  p.number("duration", g, "S", "stop after this long (default 0: at SIGINT or SIGTERM)",
           {Unit::seconds, 0, 86400u * 365, std::to_string(o.duration_s)},
           [&o](uint64_t x) { o.duration_s = static_cast<unsigned>(x); });
  add_tcp_options(p, o.tcp);
  add_limit_options(p, o.tcp, o.max_connections);
  p.number("backlog", "Limits", "N", "connections in SYN-RECEIVED per lcore (default 1024)",
           {Unit::count, 1, 1u << 20, std::to_string(o.backlog)},
           [&o](uint64_t x) { o.backlog = static_cast<uint32_t>(x); });
  p.number("idle-timeout", "Limits", "S",
           "close a connection that moved no byte either way this long (default 75s, nginx's "
           "keepalive_timeout; 0 never)",
           {Unit::seconds, 0, 86400, std::to_string(o.idle_timeout_s)},
           [&o](uint64_t x) { o.idle_timeout_s = static_cast<uint32_t>(x); });
  p.number("header-timeout", "Limits", "S",
           "close an HTTP connection whose request header is incomplete this long after its "
           "first byte (default 60s, slowloris; 0 never)",
           {Unit::seconds, 0, 86400, std::to_string(o.header_timeout_s)},
           [&o](uint64_t x) { o.header_timeout_s = static_cast<uint32_t>(x); });
  add_syn_filter_options(p, o.syn_filter);
  g = "Output";
  p.flag("quiet", g, "no progress line every second", [&o] { o.quiet = true; });
  p.flag("conn-info", g,
         "one line per connection when it closes (cc, options, rtt, retransmissions)",
         [&o] { o.conn_info = true; });
  p.flag("lcores-info", g, "which lcore polls which queue, at start",
         [&o] { o.lcores_info = true; });
  add_capture_options(p, o.pcap);
}

}  // namespace

std::optional<ServerOptions> parse_server_options(const std::vector<std::string>& args,
                                                  std::string& error) {
  ServerOptions o;
  OptionParser p("pollux-server", kServerUsage, kServerFooter);
  declare(p, o);
  const auto outcome = p.parse(args, error);
  if (outcome == OptionParser::Outcome::error) return std::nullopt;
  if (outcome == OptionParser::Outcome::help) {
    o.help = true;
    o.print_instead = p.help();
    return o;
  }
  if (o.addrs.empty() && o.addrs6.empty()) {  // either family alone is enough
    error = "--ip is required (e.g. --ip 10.0.0.2/24)";
    return std::nullopt;
  }
  if (!check_gateway(o.addrs, o.gateway, error)) return std::nullopt;
  if (!check_gateway6(o.addrs6, o.gateway6, error)) return std::nullopt;
  if (outcome == OptionParser::Outcome::print_config) o.print_instead = p.effective_config();
  return o;
}

}  // namespace pollux::apps
