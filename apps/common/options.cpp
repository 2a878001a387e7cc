#include "options.hpp"

#include <charconv>

namespace pollux::apps {

std::optional<std::string> ArgReader::next_option() {
  inline_value_.reset();
  const std::string& a = args_[i_++];
  if (a.size() < 3 || a.rfind("--", 0) != 0) {
    fail("unexpected argument '" + a + "' (options start with --; try --help)");
    return std::nullopt;
  }
  auto eq = a.find('=');
  if (eq != std::string::npos) {
    current_ = a.substr(0, eq);
    inline_value_ = a.substr(eq + 1);
  } else {
    current_ = a;
  }
  return current_;
}

std::optional<std::string> ArgReader::value() {
  if (inline_value_) {
    auto v = std::move(*inline_value_);
    inline_value_.reset();
    return v;
  }
  if (i_ >= args_.size()) {
    fail(current_ + " needs a value");
    return std::nullopt;
  }
  return args_[i_++];
}

std::optional<uint64_t> ArgReader::number(uint64_t min, uint64_t max) {
  auto v = value();
  if (!v) return std::nullopt;
  auto x = parse_uint(*v, min, max);
  if (!x)
    fail(current_ + ": '" + *v + "' is not a whole number in [" + std::to_string(min) + ", " +
         std::to_string(max) + "]");
  return x;
}

std::optional<StaticArp> parse_static_arp(std::string_view text, std::string& error) {
  const std::string t(text);
  const size_t eq = text.find('=');
  auto ip = eq == std::string_view::npos ? std::nullopt : Ipv4Addr::parse(t.substr(0, eq));
  if (!ip || ip->is_unspecified() || ip->is_multicast() || ip->is_broadcast()) {
    error = "--arp: '" + t + "' is not A.B.C.D=MAC with a unicast address";
    return std::nullopt;
  }
  const std::string_view mac = text.substr(eq + 1);
  StaticArp e;
  e.ip = *ip;
  auto hex = [](char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
  };
  bool ok = mac.size() == 17;
  for (size_t i = 0; ok && i < 6; ++i) {
    const int hi = hex(mac[3 * i]), lo = hex(mac[3 * i + 1]);
    ok = hi >= 0 && lo >= 0 && (i == 5 || mac[3 * i + 2] == ':');
    if (ok) e.mac[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  if (!ok) {
    error = "--arp: '" + std::string(mac) + "' is not a MAC address like 02:00:00:00:00:01";
    return std::nullopt;
  }
  if (e.mac[0] & 1) {
    error = "--arp: " + std::string(mac) + " is a multicast MAC, not a neighbour's";
    return std::nullopt;
  }
  return e;
}

bool read_interface_option(ArgReader& r, const std::string& name, std::vector<Ipv4Prefix>& addrs,
                           std::optional<Ipv4Addr>& gateway) {
  if (name == "--ip") {
    auto v = r.value();
    if (!v) return true;
    // A range "A.B.C.D-E/N" or "A.B.C.D-W.X.Y.Z/N" gives every address from the first to
    // the last, all on one subnet (a load generator's source addresses).
    std::string first = *v;
    std::optional<Ipv4Addr> last;
    const auto dash = v->find('-'), slash = v->find('/');
    if (dash != std::string::npos && slash != std::string::npos && dash < slash) {
      first = v->substr(0, dash) + v->substr(slash);
      const std::string tail = v->substr(dash + 1, slash - dash - 1);
      if (auto octet = parse_uint(tail, 0, 255)) {
        if (auto a = Ipv4Addr::parse(v->substr(0, dash)))
          last = Ipv4Addr{(a->value & 0xffffff00u) | static_cast<uint32_t>(*octet)};
      } else {
        last = Ipv4Addr::parse(tail);
      }
      if (!last) {
        r.fail("--ip: '" + *v + "' is not a range like 10.0.0.2-9/24 or 10.0.0.2-10.0.0.9/24");
        return true;
      }
    }
    auto p = Ipv4Prefix::parse(first);
    auto host = [](const Ipv4Prefix& q) {
      return !(q.addr.is_unspecified() || q.addr.is_multicast() || q.addr.is_broadcast() ||
               (q.length < 31 && (q.addr == q.network() || q.addr == q.directed_broadcast())));
    };
    if (!p) {
      r.fail("--ip: '" + *v + "' is not an address with prefix length, like 10.0.0.2/24");
    } else if (!last) {
      if (host(*p))
        addrs.push_back(*p);
      else
        r.fail("--ip: " + *v + " cannot be a host address (network, broadcast or multicast)");
    } else if (last->value < p->addr.value || last->value - p->addr.value >= kMaxIpRange ||
               !p->contains(*last)) {
      r.fail("--ip: range " + *v + " must run upwards, within its subnet, over at most " +
             std::to_string(kMaxIpRange) + " addresses");
    } else {
      for (uint32_t i = 0; i <= last->value - p->addr.value; ++i) {
        const Ipv4Prefix q{Ipv4Addr{p->addr.value + i}, p->length};
        if (!host(q)) {
          r.fail("--ip: range " + *v + " includes " + q.addr.to_string() +
                 ", which cannot be a host address");
          return true;
        }
        addrs.push_back(q);
      }
    }
    return true;
  }
  if (name == "--gw") {
    auto v = r.value();
    if (!v) return true;
    auto a = Ipv4Addr::parse(*v);
    if (!a)
      r.fail("--gw: '" + *v + "' is not an IPv4 address like 10.0.0.1");
    else
      gateway = a;
    return true;
  }
  return false;
}

void check_gateway(ArgReader& r, const std::vector<Ipv4Prefix>& addrs,
                   const std::optional<Ipv4Addr>& gateway) {
  if (!r.ok() || !gateway) return;
  bool reachable = false;
  for (const auto& p : addrs) reachable |= p.contains(*gateway);
  if (!reachable) r.fail("--gw: " + gateway->to_string() + " is not on any --ip subnet");
}

bool read_tcp_option(ArgReader& r, const std::string& name, TcpTuning& tuning) {
  if (name == "--cc") {
    auto v = r.value();
    if (!v) return true;
    if (*v == congestion_control_name(CongestionControl::newreno))
      tuning.cc = CongestionControl::newreno;
    else if (*v == congestion_control_name(CongestionControl::cubic))
      tuning.cc = CongestionControl::cubic;
    else
      r.fail("--cc: '" + *v + "' is not one of newreno, cubic");
    return true;
  }
  if (name == "--no-sack" || name == "--no-timestamps") {
    if (r.has_inline_value()) r.fail(name + " takes no value");
    (name == "--no-sack" ? tuning.sack : tuning.timestamps) = false;
    return true;
  }
  if (name == "--syn-cookies") {
    auto v = r.value();
    if (!v) return true;
    if (*v == "auto")
      tuning.syn_cookies = SynCookieMode::automatic;
    else if (*v == "always")
      tuning.syn_cookies = SynCookieMode::always;
    else if (*v == "never")
      tuning.syn_cookies = SynCookieMode::never;
    else
      r.fail("--syn-cookies: '" + *v + "' is not one of auto, always, never");
    return true;
  }
  if (name == "--challenge-ack-limit" || name == "--rst-limit") {
    auto v = r.value();
    if (!v) return true;
    if (auto x = parse_uint(*v, 0, kMaxRateLimit))
      (name == "--rst-limit" ? tuning.rst_limit : tuning.challenge_ack_limit) =
          static_cast<uint32_t>(*x);
    else
      r.fail(name + ": '" + *v + "' is not a number per second in [0, " +
             std::to_string(kMaxRateLimit) + "] (0: no limit)");
    return true;
  }
  if (name == "--user-timeout" || name == "--fin-timeout") {
    // A day at most: longer is "never" in all but name, and 0 already says that (user
    // timeout); an orphan must give up some time (fin timeout: at least a second).
    const bool user = name == "--user-timeout";
    if (auto x = r.number(user ? 0 : 1, 86400))
      (user ? tuning.user_timeout_s : tuning.fin_timeout_s) = static_cast<uint32_t>(*x);
    return true;
  }
  if (name == "--max-conns-per-source") {
    if (auto x = r.number(0, 1u << 24)) tuning.max_conns_per_source = static_cast<uint32_t>(*x);
    return true;
  }
  if (name == "--time-wait-records") {
    // At least one: TIME-WAIT itself cannot be turned off (RFC 9293 3.6.1), only shortened
    // for the pairs beyond the store's size.
    if (auto x = r.number(1, kMaxTimeWaitRecords))
      tuning.time_wait_records = static_cast<uint32_t>(*x);
    return true;
  }
  if (name == "--tlp-wc-delack") {
    auto v = r.value();
    if (!v) return true;
    // RFC 9293 3.8.6.3 bounds a receiver's delayed ACK by 500 ms: no point waiting longer.
    if (auto ms = parse_uint(*v, 0, 500))
      tuning.tlp_wc_delack_ms = static_cast<uint32_t>(*ms);
    else
      r.fail("--tlp-wc-delack: '" + *v + "' is not a number of milliseconds in [0, 500]");
    return true;
  }
  return false;
}

std::optional<SynRule> parse_syn_rule(std::string_view text, bool allow, std::string& error) {
  SynRule rule;
  rule.allow = allow;
  std::string_view addr = text;
  if (const size_t colon = text.find(':'); colon != std::string_view::npos) {
    addr = text.substr(0, colon);
    const auto port = parse_uint(text.substr(colon + 1), 1, 65535);
    if (!port) {
      error = "port '" + std::string(text.substr(colon + 1)) + "' is not a number in [1, 65535]";
      return std::nullopt;
    }
    rule.port = static_cast<uint16_t>(*port);
  }
  std::optional<Ipv4Prefix> prefix;
  if (addr.find('/') == std::string_view::npos) {
    if (auto a = Ipv4Addr::parse(addr)) prefix = Ipv4Prefix{*a, 32};
  } else {
    prefix = Ipv4Prefix::parse(addr);
  }
  if (!prefix) {
    error = "'" + std::string(addr) + "' is not an address or prefix like 10.0.0.0/8";
    return std::nullopt;
  }
  if (prefix->addr != prefix->network()) {
    error = "'" + std::string(addr) + "' has host bits set (did you mean " +
            Ipv4Prefix{prefix->network(), prefix->length}.to_string() + "?)";
    return std::nullopt;
  }
  rule.source = *prefix;
  return rule;
}

bool read_syn_filter_option(ArgReader& r, const std::string& name, SynFilter& filter) {
  if (name != "--allow" && name != "--deny") return false;
  auto v = r.value();
  if (!v) return true;
  std::string why;
  const auto rule = parse_syn_rule(*v, name == "--allow", why);
  if (!rule)
    r.fail(name + ": " + why + " (expected PREFIX[:PORT], e.g. 10.0.0.0/8:80)");
  else if (!filter.add(*rule))
    r.fail(name + ": more than " + std::to_string(SynFilter::kMaxRules) + " --allow/--deny rules");
  return true;
}

std::string describe(const TcpTuning& tuning) {
  return std::string("cc ") + congestion_control_name(tuning.cc) +
         (tuning.sack ? ", sack on" : ", sack off") +
         (tuning.timestamps ? ", timestamps on" : ", timestamps off") +
         (tuning.tlp_wc_delack_ms == TcpTuning{}.tlp_wc_delack_ms
              ? std::string()
              : ", tlp wc-delack " + std::to_string(tuning.tlp_wc_delack_ms) + " ms") +
         (tuning.syn_cookies == SynCookieMode::always  ? ", syn cookies always"
          : tuning.syn_cookies == SynCookieMode::never ? ", syn cookies never"
                                                       : "") +
         (tuning.challenge_ack_limit
              ? ", challenge acks " + std::to_string(*tuning.challenge_ack_limit) + "/s"
              : std::string()) +
         (tuning.rst_limit ? ", closed-port rsts " + std::to_string(*tuning.rst_limit) + "/s"
                           : std::string()) +
         (tuning.user_timeout_s ? ", user timeout " + std::to_string(*tuning.user_timeout_s) + " s"
                                : std::string()) +
         (tuning.fin_timeout_s ? ", fin timeout " + std::to_string(*tuning.fin_timeout_s) + " s"
                               : std::string()) +
         (tuning.max_conns_per_source
              ? ", " + std::to_string(*tuning.max_conns_per_source) + " conns per source"
              : std::string()) +
         (tuning.time_wait_records
              ? ", " + std::to_string(*tuning.time_wait_records) + " time-wait records"
              : std::string());
}

bool parse_pcap(std::string_view value, PcapOption& pcap, std::string& error) {
  std::string_view path = value;
  uint32_t snaplen = kPcapMaxSnaplen;
  if (const auto colon = value.rfind(':'); colon != std::string_view::npos) {
    path = value.substr(0, colon);
    const std::string_view len = value.substr(colon + 1);
    const auto n = parse_uint(len, 1, kPcapMaxSnaplen);
    if (!n) {
      error = "--pcap: snaplen '" + std::string(len) + "' is not a whole number in [1, " +
              std::to_string(kPcapMaxSnaplen) + "] (FILE[:SNAPLEN])";
      return false;
    }
    snaplen = static_cast<uint32_t>(*n);
  }
  if (path.empty()) {
    error = "--pcap: needs a file name (FILE[:SNAPLEN])";
    return false;
  }
  pcap.path = std::string(path);
  pcap.snaplen = snaplen;
  return true;
}

std::optional<uint64_t> parse_uint(std::string_view text, uint64_t min, uint64_t max) {
  uint64_t v = 0;
  if (text.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v < min || v > max)
    return std::nullopt;
  return v;
}

}  // namespace pollux::apps
