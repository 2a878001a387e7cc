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

std::optional<ServerOptions> parse_server_options(const std::vector<std::string>& args,
                                                  std::string& error) {
  ServerOptions o;
  ArgReader r(args);
  read_options(r, o, [&](const std::string& n) {
    if (read_syn_filter_option(r, n, o.syn_filter)) return true;
    if (n == "--port") {
      if (auto x = r.number(1, 65535)) o.tcp_port = static_cast<uint16_t>(*x);
    } else if (n == "--mode") {
      auto v = r.value();
      if (!v) return true;
      if (auto m = parse_server_mode(*v))
        o.mode = *m;
      else
        r.fail("--mode: '" + *v + "' is not one of echo, discard, source, http");
    } else if (n == "--http-body") {
      if (auto x = r.number(0, 64u << 20)) o.http_body = static_cast<uint32_t>(*x);
    } else if (n == "--backlog") {
      if (auto x = r.number(1, 1u << 20)) o.backlog = static_cast<uint32_t>(*x);
    } else if (n == "--idle-timeout" || n == "--header-timeout") {
      if (auto x = r.number(0, 86400))
        (n == "--idle-timeout" ? o.idle_timeout_s : o.header_timeout_s) = static_cast<uint32_t>(*x);
    } else if (n == "--duration") {
      if (auto x = r.number(0, 86400u * 365)) o.duration_s = static_cast<unsigned>(*x);
    } else if (n == "--lcores-info" || n == "--quiet" || n == "--help" || n == "--conn-info") {
      if (r.has_inline_value()) r.fail(n + " takes no value");
      if (n == "--conn-info") o.conn_info = true;
      if (n == "--lcores-info") o.lcores_info = true;
      if (n == "--quiet") o.quiet = true;
      if (n == "--help") o.help = true;
    } else {
      return false;
    }
    return true;
  });
  if (r.ok() && !o.help && o.addrs.empty()) r.fail("--ip is required (e.g. --ip 10.0.0.2/24)");
  check_gateway(r, o.addrs, o.gateway);
  if (!r.ok()) {
    error = r.error();
    return std::nullopt;
  }
  return o;
}

}  // namespace pollux::apps
