#include "server_options.hpp"

#include "../common/options.hpp"

namespace pollux::apps {

const char* mode_name(ServerMode m) {
  switch (m) {
    case ServerMode::echo: return "echo";
    case ServerMode::discard: return "discard";
    case ServerMode::source: return "source";
    case ServerMode::http: return "http";
  }
  return "?";
}

std::optional<ServerOptions> parse_server_options(const std::vector<std::string>& args,
                                                  std::string& error) {
  ServerOptions o;
  ArgReader r(args);
  while (r.ok() && !r.done()) {
    auto name = r.next_option();
    if (!name) break;
    const std::string& n = *name;
    auto number = [&](uint64_t min, uint64_t max) -> std::optional<uint64_t> {
      auto v = r.value();
      if (!v) return std::nullopt;
      auto x = parse_uint(*v, min, max);
      if (!x)
        r.fail(n + ": '" + *v + "' is not a whole number in [" + std::to_string(min) + ", " +
               std::to_string(max) + "]");
      return x;
    };
    if (n == "--ip") {
      auto v = r.value();
      if (!v) break;
      auto p = net::Ipv4Prefix::parse(*v);
      if (!p) r.fail("--ip: '" + *v + "' is not an address with prefix length, like 10.0.0.2/24");
      else if (p->addr.is_unspecified() || p->addr.is_multicast() || p->addr.is_broadcast() ||
               (p->length < 31 && (p->addr == p->network() || p->addr == p->directed_broadcast())))
        r.fail("--ip: " + *v + " cannot be a host address (network, broadcast or multicast)");
      else o.addrs.push_back(*p);
    } else if (n == "--gw") {
      auto v = r.value();
      if (!v) break;
      auto a = net::Ipv4Addr::parse(*v);
      if (!a) r.fail("--gw: '" + *v + "' is not an IPv4 address like 10.0.0.1");
      else o.gateway = a;
    } else if (n == "--port") {
      if (auto x = number(1, 65535)) o.tcp_port = static_cast<uint16_t>(*x);
    } else if (n == "--mode") {
      auto v = r.value();
      if (!v) break;
      if (*v == "echo") o.mode = ServerMode::echo;
      else if (*v == "discard") o.mode = ServerMode::discard;
      else if (*v == "source") o.mode = ServerMode::source;
      else if (*v == "http") o.mode = ServerMode::http;
      else r.fail("--mode: '" + *v + "' is not one of echo, discard, source, http");
    } else if (n == "--http-body") {
      if (auto x = number(0, 64u << 20)) o.http_body = static_cast<uint32_t>(*x);
    } else if (n == "--backlog") {
      if (auto x = number(1, 1u << 20)) o.backlog = static_cast<uint32_t>(*x);
    } else if (n == "--max-conns") {
      if (auto x = number(16, 1u << 24)) o.max_connections = static_cast<uint32_t>(*x);
    } else if (n == "--mtu") {
      if (auto x = number(576, 9000)) o.mtu = static_cast<uint16_t>(*x);
    } else if (n == "--dpdk-port") {
      if (auto x = number(0, 1023)) o.port_id = static_cast<uint16_t>(*x);
    } else if (n == "--duration") {
      if (auto x = number(0, 86400u * 365)) o.duration_s = static_cast<unsigned>(*x);
    } else if (n == "--no-offload" || n == "--lcores-info" || n == "--quiet" || n == "--help") {
      if (r.has_inline_value()) r.fail(n + " takes no value");
      if (n == "--no-offload") o.checksum_offload = false;
      if (n == "--lcores-info") o.lcores_info = true;
      if (n == "--quiet") o.quiet = true;
      if (n == "--help") o.help = true;
    } else {
      r.fail("unknown option " + n);
    }
  }
  if (r.ok() && !o.help && o.addrs.empty()) r.fail("--ip is required (e.g. --ip 10.0.0.2/24)");
  if (r.ok() && o.gateway) {
    bool reachable = false;
    for (const auto& p : o.addrs) reachable |= p.contains(*o.gateway);
    if (!reachable) r.fail("--gw: " + o.gateway->to_string() + " is not on any --ip subnet");
  }
  if (!r.ok()) {
    error = r.error();
    return std::nullopt;
  }
  return o;
}

}  // namespace pollux::apps
