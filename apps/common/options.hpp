// Small, strict command-line helpers shared by the apps: every bad value says what is wrong
// and what was expected.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pollux/addr.hpp"
#include "pollux/cc.hpp"
#include "pollux/syn_filter.hpp"
#include "pollux/tcp.hpp"

namespace pollux::apps {

// Walks `args` as --name value / --name=value / --flag. Errors accumulate in `error`.
class ArgReader {
 public:
  explicit ArgReader(const std::vector<std::string>& args) : args_(args) {}

  [[nodiscard]] bool done() const { return i_ >= args_.size(); }
  // The next option name (e.g. "--ip"), or an error if the next word is not an option.
  [[nodiscard]] std::optional<std::string> next_option();
  // The value of the current option (from "=value" or the next word).
  [[nodiscard]] std::optional<std::string> value();
  [[nodiscard]] bool has_inline_value() const { return inline_value_.has_value(); }
  // The value of the current option as a whole number in [min, max]; a value that is not
  // fails with a message naming the option and the range.
  [[nodiscard]] std::optional<uint64_t> number(uint64_t min, uint64_t max);

  void fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
  }
  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] bool ok() const { return error_.empty(); }

 private:
  const std::vector<std::string>& args_;
  size_t i_ = 0;
  std::string current_;
  std::optional<std::string> inline_value_;
  std::string error_;
};

// Parses a whole decimal number in [min, max]; nullopt otherwise.
[[nodiscard]] std::optional<uint64_t> parse_uint(std::string_view text, uint64_t min, uint64_t max);

// The interface options both apps share: `--ip A/N` (repeatable; a host address, not the
// network, broadcast or a multicast one; or a range A-E/N or A-B/N of at most kMaxIpRange
// addresses on one subnet) and `--gw A`. Returns false when `name` is neither.
inline constexpr uint32_t kMaxIpRange = 256;
bool read_interface_option(ArgReader& r, const std::string& name, std::vector<Ipv4Prefix>& addrs,
                           std::optional<Ipv4Addr>& gateway);
// After parsing: the gateway must be on one of the --ip subnets.
void check_gateway(ArgReader& r, const std::vector<Ipv4Prefix>& addrs,
                   const std::optional<Ipv4Addr>& gateway);

// The TCP behaviour both apps let the user choose, for loss and congestion experiments
// (issue 4). The defaults are the stack's: CUBIC (RFC 9438), SACK (RFC 2018) and timestamps
// (RFC 7323) offered in the handshake.
struct TcpTuning {
  CongestionControl cc = CongestionControl::cubic;
  bool sack = true;        // --no-sack: neither offer SACK-permitted nor accept it
  bool timestamps = true;  // --no-timestamps: no RTTM/PAWS, RTT sampled once per flight
  // --tlp-wc-delack MS: RFC 8985 7.2 WCDelAckT, the wait added to a tail loss probe's
  // timeout with one segment out (RuntimeOptions::tlp_wc_delack_ns).
  uint32_t tlp_wc_delack_ms = 200;
  // --syn-cookies auto|always|never: RFC 4987 3.6 cookies when a listener's queue is full
  // (auto), for every SYN, or never (a full queue drops SYNs).
  SynCookieMode syn_cookies = SynCookieMode::automatic;
  // --challenge-ack-limit N: RFC 5961 7 challenge ACKs per second per lcore (0: no limit);
  // --rst-limit N: RSTs for closed ports per second per lcore (0: no limit). Unset: the
  // stack's defaults (1000/s each; TcpConfig).
  std::optional<uint32_t> challenge_ack_limit;
  std::optional<uint32_t> rst_limit;
  // Nothing held forever (issue 14 item 3). Unset: the stack's defaults (TcpConfig).
  // --user-timeout S: RFC 9293 3.8.3 USER TIMEOUT, data unacknowledged or a zero window
  // kept without progress this long ends the connection (default 900, 0: no limit);
  // --fin-timeout S: orphans (closed by the app) wait this long in FIN-WAIT-2, or without
  // progress in FIN-WAIT-1/CLOSING/LAST-ACK (default 60, Linux's tcp_fin_timeout);
  // --max-conns-per-source N: passive connections one source address may hold per lcore
  // (default 0: no limit).
  std::optional<uint32_t> user_timeout_s;
  std::optional<uint32_t> fin_timeout_s;
  std::optional<uint32_t> max_conns_per_source;
  // --time-wait-records N: TIME-WAIT records per lcore (64 B each, outside the connection
  // table, issue 13 item 5); when they are all taken the oldest ends early, counted
  // (tcp_time_wait_evicted). Unset: the stack's (65536, TcpConfig::time_wait_records).
  std::optional<uint32_t> time_wait_records;
};
// `--cc newreno|cubic`, `--no-sack`, `--no-timestamps`, `--tlp-wc-delack MS`,
// `--syn-cookies auto|always|never`, `--challenge-ack-limit N`, `--rst-limit N`,
// `--user-timeout S`, `--fin-timeout S`, `--max-conns-per-source N`, `--time-wait-records N`.
// Returns false when `name` is none.
bool read_tcp_option(ArgReader& r, const std::string& name, TcpTuning& tuning);
// The largest per-second limit the options take: 0 lifts a limit, and the token bucket
// (base/token_bucket.hpp) keeps rate x burst x 1e9 below 2^64 with the burst equal to the rate.
inline constexpr uint64_t kMaxRateLimit = 100'000;
// The most TIME-WAIT records a lcore may keep: 2^24 x 64 B is 1 GiB (as --max-conns' 2^24).
inline constexpr uint32_t kMaxTimeWaitRecords = 1u << 24;

// One inbound-SYN rule, `A.B.C.D[/N][:PORT]` (no /N: one host, /32; no :PORT: every port):
// nullopt with `error` saying why for anything else, including host bits set below the
// prefix length (10.0.0.1/8 is a typo for 10.0.0.0/8 or 10.0.0.1/32; which, we cannot tell).
[[nodiscard]] std::optional<SynRule> parse_syn_rule(std::string_view text, bool allow,
                                                    std::string& error);
// `--allow RULE` / `--deny RULE` (repeatable, first match wins, at most SynFilter::kMaxRules)
// into `filter`. Returns false when `name` is neither.
bool read_syn_filter_option(ArgReader& r, const std::string& name, SynFilter& filter);

// "cc cubic, sack on, timestamps on" (", tlp wc-delack 40 ms" when not the default): what
// the startup banners print.
[[nodiscard]] std::string describe(const TcpTuning& tuning);

// The device's rings and the pool (issue 15 item 5: real NICs want other sizes than the
// virtual devices' 1024): --rxd N and --txd N descriptors per queue (the driver may round
// them to what it supports: the port line says what is in effect), --mbufs N buffers in
// the pool in all (0: the rings' share plus the app's room for held data).
struct StaticArp {
  Ipv4Addr ip;
  std::array<uint8_t, 6> mac{};
};
struct DeviceOptions {
  uint16_t rx_desc = 1024;
  uint16_t tx_desc = 1024;
  uint32_t mbufs = 0;
  // --arp A.B.C.D=MAC (repeatable): a neighbour whose MAC is fixed (issue 14 item 6).
  std::vector<StaticArp> static_arp;
};
inline constexpr size_t kMaxStaticArp = 256;
// "A.B.C.D=aa:bb:cc:dd:ee:ff" (a unicast MAC); nullopt with `error` naming --arp otherwise.
[[nodiscard]] std::optional<StaticArp> parse_static_arp(std::string_view text, std::string& error);
inline constexpr uint32_t kMinDesc = 64, kMaxDesc = 16384, kMaxMbufs = 1u << 26;

// --pcap FILE[:SNAPLEN] (issue 15.2): capture every port's packets, both directions, into a
// pcapng file, each cut to SNAPLEN bytes (default and maximum 262144, what tcpdump uses). A
// FILE with a ':' in its name needs the :SNAPLEN after it.
inline constexpr uint32_t kPcapMaxSnaplen = 262144;
struct PcapOption {
  std::string path;  // empty: no capture
  uint32_t snaplen = kPcapMaxSnaplen;
  [[nodiscard]] bool enabled() const { return !path.empty(); }
};
// Parses "FILE[:SNAPLEN]"; false with a one-line `error` naming --pcap.
[[nodiscard]] bool parse_pcap(std::string_view value, PcapOption& pcap, std::string& error);

// The options both apps share, read into any options struct that has their fields
// (addrs, gateway, tcp, max_connections, mtu, port_id, checksum_offload; startup.hpp's
// runtime_options() hands them to the runtime): --ip, --gw, --cc, --no-sack,
// --no-timestamps, --max-conns, --mtu, --dpdk-port, --no-offload, --tx-zero-copy, --pcap, --rxd,
// --txd, --mbufs (into `device`). Returns false
// when `name` is none of them.
template <class Options>
bool read_shared_option(ArgReader& r, const std::string& name, Options& o) {
  if (read_interface_option(r, name, o.addrs, o.gateway) || read_tcp_option(r, name, o.tcp))
    return true;
  if (name == "--max-conns") {
    if (auto x = r.number(16, 1u << 24)) o.max_connections = static_cast<uint32_t>(*x);
  } else if (name == "--mtu") {
    if (auto x = r.number(576, 9000)) o.mtu = static_cast<uint16_t>(*x);
  } else if (name == "--dpdk-port") {
    if (auto x = r.number(0, 1023)) o.port_id = static_cast<uint16_t>(*x);
  } else if (name == "--no-offload") {
    if (r.has_inline_value()) r.fail(name + " takes no value");
    o.checksum_offload = false;
  } else if (name == "--rxd") {
    if (auto x = r.number(kMinDesc, kMaxDesc)) o.device.rx_desc = static_cast<uint16_t>(*x);
  } else if (name == "--txd") {
    if (auto x = r.number(kMinDesc, kMaxDesc)) o.device.tx_desc = static_cast<uint16_t>(*x);
  } else if (name == "--arp") {
    auto v = r.value();
    std::string error;
    if (!v) return true;
    if (auto e = parse_static_arp(*v, error)) {
      if (o.device.static_arp.size() == kMaxStaticArp)
        r.fail("--arp: at most " + std::to_string(kMaxStaticArp) + " entries");
      else
        o.device.static_arp.push_back(*e);
    } else {
      r.fail(error);
    }
  } else if (name == "--mbufs") {
    if (auto x = r.number(1024, kMaxMbufs)) o.device.mbufs = static_cast<uint32_t>(*x);
  } else if (name == "--tx-zero-copy") {
    if (r.has_inline_value()) r.fail(name + " takes no value");
    o.tx_zero_copy = true;
  } else if (name == "--pcap") {
    auto v = r.value();
    std::string error;
    if (v && !parse_pcap(*v, o.pcap, error)) r.fail(error);
  } else {
    return false;
  }
  return true;
}

// Reads every option in `r`: the shared ones (read_shared_option) and then the app's own
// through `own(name)`, which returns false for a name it does not know ("unknown option").
// Stops at the first error.
template <class Options, class Own>
void read_options(ArgReader& r, Options& o, Own&& own) {
  while (r.ok() && !r.done()) {
    const auto name = r.next_option();
    if (!name) break;
    if (!read_shared_option(r, *name, o) && !own(*name)) r.fail("unknown option " + *name);
  }
}

}  // namespace pollux::apps
