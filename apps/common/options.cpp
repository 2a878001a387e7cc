#include "options.hpp"

#include <algorithm>
#include <charconv>

namespace pollux::apps {

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

bool add_ip(const std::string& value, std::vector<Ipv4Prefix>& addrs, std::string& error) {
  const std::string* v = &value;
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
      error = "--ip: '" + *v + "' is not a range like 10.0.0.2-9/24 or 10.0.0.2-10.0.0.9/24";
      return false;
    }
  }
  auto p = Ipv4Prefix::parse(first);
  auto host = [](const Ipv4Prefix& q) {
    return !(q.addr.is_unspecified() || q.addr.is_multicast() || q.addr.is_broadcast() ||
             (q.length < 31 && (q.addr == q.network() || q.addr == q.directed_broadcast())));
  };
  if (!p) {
    error = "--ip: '" + *v + "' is not an address with prefix length, like 10.0.0.2/24";
    return false;
  }
  if (!last) {
    if (!host(*p)) {
      error = "--ip: " + *v + " cannot be a host address (network, broadcast or multicast)";
      return false;
    }
    addrs.push_back(*p);
    return true;
  }
  if (last->value < p->addr.value || last->value - p->addr.value >= kMaxIpRange ||
      !p->contains(*last)) {
    error = "--ip: range " + *v + " must run upwards, within its subnet, over at most " +
            std::to_string(kMaxIpRange) + " addresses";
    return false;
  }
  for (uint32_t i = 0; i <= last->value - p->addr.value; ++i) {
    const Ipv4Prefix q{Ipv4Addr{p->addr.value + i}, p->length};
    if (!host(q)) {
      error = "--ip: range " + *v + " includes " + q.addr.to_string() +
              ", which cannot be a host address";
      return false;
    }
    addrs.push_back(q);
  }
  return true;
}

bool add_ip6(const std::string& value, std::vector<Ipv6Prefix>& addrs6, std::string& error) {
  const auto p = Ipv6Prefix::parse(value);
  if (!p || value.find('/') == std::string::npos) {
    error = "--ip: '" + value + "' is not an IPv6 address with prefix length, like fd00::2/64";
    return false;
  }
  if (p->addr.is_multicast() || p->addr.is_unspecified() || p->addr.is_loopback() ||
      p->addr.is_v4_mapped() || p->addr.is_link_local()) {
    error = "--ip: " + value +
            " cannot be an address of ours (multicast, unspecified, loopback, IPv4-mapped, or "
            "link-local: that one comes from the MAC)";
    return false;
  }
  for (const auto& q : addrs6)
    if (q.addr == p->addr) {
      error = "--ip: " + value + " is given twice";
      return false;
    }
  addrs6.push_back(*p);
  return true;
}

bool check_gateway(const std::vector<Ipv4Prefix>& addrs, const std::optional<Ipv4Addr>& gateway,
                   std::string& error) {
  if (!gateway) return true;
  bool reachable = false;
  for (const auto& p : addrs) {
    // Our own address as the next hop would have us resolve ourselves (ARP never answers
    // it): every off-link packet would wait for a neighbour that cannot exist.
    if (p.addr == *gateway) {
      error = "--gw: " + gateway->to_string() + " is one of our own addresses";
      return false;
    }
    // Nor can the subnet's network or directed-broadcast address be a host (RFC 1122
    // 3.2.1.3, RFC 919); a /31 has neither (RFC 3021), as --ip's host check says.
    if (p.length < 31 && p.contains(*gateway) &&
        (*gateway == p.network() || *gateway == p.directed_broadcast())) {
      error = "--gw: " + gateway->to_string() + " is the " +
              (*gateway == p.network() ? "network" : "broadcast") + " address of --ip " +
              p.to_string() + ", not a host";
      return false;
    }
    reachable |= p.contains(*gateway);
  }
  if (!reachable) error = "--gw: " + gateway->to_string() + " is not on any --ip subnet";
  return reachable;
}

bool add_gateway(const std::string& value, std::optional<Ipv4Addr>& gateway,
                 std::optional<Ipv6Addr>& gateway6, std::string& error) {
  if (value.find(':') == std::string::npos) {
    const auto a = Ipv4Addr::parse(value);
    if (!a) {
      error = "--gw: '" + value + "' is not an IPv4 address like 10.0.0.1 or an IPv6 one like fd00::1";
      return false;
    }
    // A next hop is a unicast neighbour (as connect()'s peers and the engine's sources).
    if (!a->is_unicast_peer()) {
      error = "--gw: " + value +
              " cannot be a gateway (multicast, broadcast, unspecified, loopback or reserved)";
      return false;
    }
    if (gateway) {
      error = "--gw: " + value + " is a second IPv4 gateway (one per family)";
      return false;
    }
    gateway = a;
    return true;
  }
  const auto a = Ipv6Addr::parse(value);
  if (!a) {
    error = "--gw: '" + value + "' is not an IPv6 address like fd00::1 or fe80::1";
    return false;
  }
  // RFC 4861 5.2: the next hop is a unicast neighbour; these can never be one.
  if (a->is_multicast() || a->is_unspecified() || a->is_loopback() || a->is_v4_mapped()) {
    error = "--gw: " + value +
            " cannot be a gateway (multicast, unspecified, loopback or IPv4-mapped)";
    return false;
  }
  if (gateway6) {
    error = "--gw: " + value + " is a second IPv6 gateway (one per family)";
    return false;
  }
  gateway6 = a;
  return true;
}

bool check_gateway6(const std::vector<Ipv6Prefix>& addrs6, const std::optional<Ipv6Addr>& gateway6,
                    std::string& error) {
  if (!gateway6) return true;
  const std::string text = gateway6->to_string();
  if (addrs6.empty()) {
    error = "--gw: " + text + " is IPv6 and no --ip names an IPv6 address (e.g. --ip fd00::2/64)";
    return false;
  }
  bool on_link = gateway6->is_link_local();  // fe80::/10 is on every link (RFC 4291 2.5.6)
  for (const auto& p : addrs6) {
    if (p.addr == *gateway6) {
      error = "--gw: " + text + " is one of our own addresses";
      return false;
    }
    on_link |= p.contains(*gateway6);
  }
  if (!on_link) error = "--gw: " + text + " is not on any IPv6 --ip subnet nor link-local (fe80::/10)";
  return on_link;
}

void add_address_options(OptionParser& p, std::vector<Ipv4Prefix>& addrs,
                         std::vector<Ipv6Prefix>& addrs6, std::optional<Ipv4Addr>& gateway,
                         std::optional<Ipv6Addr>& gateway6, std::vector<StaticArp>& static_arp) {
  const char* g = "Addresses";
  p.add({"ip", g, "A.B.C.D/N",
         "an address of ours with its prefix length, or a range A.B.C.D-E/N or "
         "A.B.C.D-W.X.Y.Z/N of at most 256 on one subnet; or an IPv6 address with its prefix "
         "length (X:X::X/N: neighbour discovery and ping; TCP speaks IPv4)",
         "", true, "",
         [&addrs, &addrs6](const std::string& v, std::string& e) {
           return v.find(':') != std::string::npos ? add_ip6(v, addrs6, e) : add_ip(v, addrs, e);
         }});
  p.add({"gw", g, "A.B.C.D|X:X::X",
         "the gateway for off-link destinations: an IPv4 one on one of the --ip subnets, an "
         "IPv6 one on one of the IPv6 --ip prefixes or link-local (fe80::/10); at most one "
         "of each family",
         "", true, "",
         [&gateway, &gateway6](const std::string& v, std::string& e) {
           return add_gateway(v, gateway, gateway6, e);
         }});
  p.add({"arp", g, "A.B.C.D=MAC",
         "a neighbour whose MAC is fixed (never resolved, aged or replaced)", "", true, "",
         [&static_arp](const std::string& v, std::string& e) {
           const auto entry = parse_static_arp(v, e);
           if (entry && static_arp.size() == kMaxStaticArp) {
             e = "--arp: at most " + std::to_string(kMaxStaticArp) + " entries";
             return false;
           }
           if (entry) static_arp.push_back(*entry);
           return entry.has_value();
         }});
}

void add_tcp_options(OptionParser& p, TcpTuning& t) {
  const char* g = "TCP";
  p.add({"cc", g, "newreno|cubic", "congestion control (default cubic, RFC 9438)",
         congestion_control_name(t.cc), false, "", [&t](const std::string& v, std::string& e) {
           if (v == congestion_control_name(CongestionControl::newreno))
             t.cc = CongestionControl::newreno;
           else if (v == congestion_control_name(CongestionControl::cubic))
             t.cc = CongestionControl::cubic;
           else
             e = "--cc: '" + v + "' is not one of newreno, cubic";
           return e.empty();
         }});
  p.flag("no-sack", g, "neither offer SACK-permitted (RFC 2018) nor accept it",
         [&t] { t.sack = false; });
  p.flag("no-timestamps", g, "no RFC 7323 timestamps: no RTTM/PAWS, one RTT sample per flight",
         [&t] { t.timestamps = false; });
  // RFC 9293 3.8.6.3 bounds a receiver's delayed ACK by 500 ms: no point waiting longer.
  p.number(
      "tlp-wc-delack", g, "MS",
      "RFC 8985 7.2 WCDelAckT: what a tail loss probe adds for a delayed ACK with one "
      "segment out (default 200ms)",
      {Unit::milliseconds, 0, 500, std::to_string(t.tlp_wc_delack_ms), "a number of milliseconds"},
      [&t](uint64_t x) { t.tlp_wc_delack_ms = static_cast<uint32_t>(x); });
  p.add({"syn-cookies", g, "auto|always|never",
         "answer SYNs statelessly (RFC 4987) when the backlog is full (auto, the default), "
         "always, or never (a full backlog drops SYNs)",
         "auto", false, "", [&t](const std::string& v, std::string& e) {
           if (v == "auto")
             t.syn_cookies = SynCookieMode::automatic;
           else if (v == "always")
             t.syn_cookies = SynCookieMode::always;
           else if (v == "never")
             t.syn_cookies = SynCookieMode::never;
           else
             e = "--syn-cookies: '" + v + "' is not one of auto, always, never";
           return e.empty();
         }});
  // A day at most: longer is "never" in all but name, and 0 already says that (user
  // timeout); an orphan must give up some time (fin timeout: at least a second).
  p.number("user-timeout", g, "S",
           "RFC 9293 3.8.3 USER TIMEOUT: end a connection whose data stays unacknowledged, or "
           "whose peer keeps a zero window, this long (default 900s, 0 never)",
           {Unit::seconds, 0, 86400, ""},
           [&t](uint64_t x) { t.user_timeout_s = static_cast<uint32_t>(x); });
  p.number("fin-timeout", g, "S",
           "how long a connection closed by its application waits for a peer that makes no "
           "progress (default 60s)",
           {Unit::seconds, 1, 86400, ""},
           [&t](uint64_t x) { t.fin_timeout_s = static_cast<uint32_t>(x); });
}

void add_limit_options(OptionParser& p, TcpTuning& t, uint32_t& max_conns) {
  const char* g = "Limits";
  p.number("max-conns", g, "N", "the connection table per lcore (TIME-WAIT records are kept apart)",
           {Unit::count, 16, 1u << 24, std::to_string(max_conns)},
           [&max_conns](uint64_t x) { max_conns = static_cast<uint32_t>(x); });
  p.number("conn-memory", g, "SIZE",
           "size the connection table per lcore from a byte budget instead of --max-conns: "
           "TCBs, table slots and the pools busy connections borrow from (TIME-WAIT records "
           "apart), e.g. 512Mi; at least what 16 connections take",
           {Unit::size, 1, uint64_t{1} << 40, ""}, [&t](uint64_t x) { t.conn_memory = x; });
  p.number("max-conns-per-source", g, "N",
           "passive connections one source address may hold per lcore (default 0: no limit; "
           "TIME-WAIT does not count)",
           {Unit::count, 0, 1u << 24, ""},
           [&t](uint64_t x) { t.max_conns_per_source = static_cast<uint32_t>(x); });
  // At least one: TIME-WAIT itself cannot be turned off (RFC 9293 3.6.1), only shortened
  // for the pairs beyond the store's size.
  p.number("time-wait-records", g, "N",
           "TIME-WAIT records per lcore, 64 bytes each, outside the connection table (default "
           "65536); when all are taken the oldest ends early (tcp_time_wait_evicted)",
           {Unit::count, 1, kMaxTimeWaitRecords, ""},
           [&t](uint64_t x) { t.time_wait_records = static_cast<uint32_t>(x); });
  p.number("neigh-max", g, "N",
           "entries in each neighbour cache (ARP, IPv6 ND) per lcore (default 1024); when all "
           "hold neighbours confirmed within their reachable time a new one is refused "
           "(arp_cache_full, nd_cache_full)",
           {Unit::count, kMinNeighbours, kMaxNeighbours, ""},
           [&t](uint64_t x) { t.neigh_max = static_cast<uint32_t>(x); });
  const OptionParser::Number rate{Unit::count,     0, kMaxRateLimit, "", "a number per second",
                                  " (0: no limit)"};
  p.number("challenge-ack-limit", g, "N",
           "RFC 5961 challenge ACKs per second per lcore on average, each second's budget drawn "
           "at random from half to 1.5 times it (default 1000, 0 no limit)",
           rate,
           [&t](uint64_t x) { t.challenge_ack_limit = static_cast<uint32_t>(x); });
  p.number("rst-limit", g, "N",
           "RSTs for closed ports per second per lcore (default 1000, 0 no limit)", rate,
           [&t](uint64_t x) { t.rst_limit = static_cast<uint32_t>(x); });
}

void add_capture_options(OptionParser& p, PcapOption& pcap) {
  p.add({"pcap", "Telemetry/capture", "FILE[:SNAPLEN]",
         "write every packet received and sent, each cut to SNAPLEN bytes (default 262144), to "
         "a pcapng file; copies the writer cannot keep up with are dropped and counted. With "
         "hugepages, dpdk-dumpcap works too; the telemetry socket is printed at start",
         "", false, "",
         [&pcap](const std::string& v, std::string& e) { return parse_pcap(v, pcap, e); }});
}

namespace {

// ":PORT" after a rule's prefix (empty: every port).
bool parse_rule_port(std::string_view text, SynRule& rule, std::string& error) {
  if (text.empty()) return true;
  const auto port = text[0] == ':' ? parse_uint(text.substr(1), 1, 65535) : std::nullopt;
  if (!port) {
    error = text[0] == ':'
                ? "port '" + std::string(text.substr(1)) + "' is not a number in [1, 65535]"
                : "'" + std::string(text) + "' after the prefix is not :PORT";
    return false;
  }
  rule.port = static_cast<uint16_t>(*port);
  return true;
}

// An IPv6 rule: "ADDR[/N]" without a port, or "[ADDR]/N:PORT" / "[ADDR/N]:PORT" (the
// brackets of RFC 3986 3.2.2 end the address, so the port cannot be read as a group).
std::optional<SynRule> parse_syn_rule6(std::string_view text, bool allow, std::string& error) {
  SynRule rule = SynRule::v6(Ipv6Prefix{}, 0, allow);
  std::string prefix_text;
  if (text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) {
      error = "'" + std::string(text) + "' has no closing ']'";
      return std::nullopt;
    }
    prefix_text = std::string(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && rest.front() == '/') {  // [ADDR]/N
      if (prefix_text.find('/') != std::string::npos) {
        error = "'" + std::string(text) + "' gives two prefix lengths";
        return std::nullopt;
      }
      const size_t colon = rest.find(':');
      prefix_text += std::string(rest.substr(0, colon));
      rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon);
    }
    if (!parse_rule_port(rest, rule, error)) return std::nullopt;
  } else {
    prefix_text = std::string(text);
  }
  std::optional<Ipv6Prefix> prefix = Ipv6Prefix::parse(prefix_text);
  if (!prefix) {
    error = "'" + prefix_text + "' is not an IPv6 address or prefix like fd00::/8";
    return std::nullopt;
  }
  if (!(prefix->network().addr == prefix->addr)) {
    error = "'" + prefix_text + "' has host bits set (did you mean " +
            prefix->network().to_string() + "?)";
    return std::nullopt;
  }
  rule.source6 = *prefix;
  return rule;
}

}  // namespace

std::optional<SynRule> parse_syn_rule(std::string_view text, bool allow, std::string& error) {
  // Two colons or a bracket: IPv6 (an IPv4 rule has at most the one before its port).
  if (!text.empty() && (text.front() == '[' || std::count(text.begin(), text.end(), ':') > 1))
    return parse_syn_rule6(text, allow, error);
  SynRule rule;
  rule.allow = allow;
  std::string_view addr = text;
  if (const size_t colon = text.find(':'); colon != std::string_view::npos) {
    addr = text.substr(0, colon);
    if (!parse_rule_port(text.substr(colon), rule, error)) return std::nullopt;
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

void add_syn_filter_options(OptionParser& p, SynFilter& filter) {
  for (const bool allow : {true, false}) {
    const std::string name = allow ? "allow" : "deny";
    p.add({name, "Limits", "PREFIX[:PORT]",
           allow ? "accept SYNs from that source prefix (to that port): A.B.C.D[/N][:PORT], or "
                   "IPv6 as ADDR[/N] or [ADDR]/N:PORT with a port, e.g. [fd00::]/64:80. A rule "
                   "matches its own family; the first matching --allow or --deny decides, none: "
                   "accept, except that when one family's rules contain an --allow, sources of "
                   "a family without rules are refused"
                 : "drop SYNs from that source prefix (to that port) silently; the same forms "
                   "as --allow (a deny-only list of one family leaves the other accepted)",
           "", true, "syn-rules", [&filter, allow, name](const std::string& v, std::string& e) {
             std::string why;
             const auto rule = parse_syn_rule(v, allow, why);
             if (!rule)
               e = "--" + name + ": " + why +
                   " (expected PREFIX[:PORT], e.g. 10.0.0.0/8:80 or [fd00::]/64:80)";
             else if (!filter.add(*rule))
               e = "--" + name + ": more than " + std::to_string(SynFilter::kMaxRules) +
                   " --allow/--deny rules";
             return e.empty();
           }});
  }
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
              : std::string()) +
         (tuning.neigh_max ? ", " + std::to_string(*tuning.neigh_max) + " neighbours"
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
