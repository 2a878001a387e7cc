// pollux-gen's application arguments (everything after `--`).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../common/cli.hpp"
#include "../common/options.hpp"
#include "../pollux-server/server_options.hpp"
#include "pollux/addr.hpp"

namespace pollux::apps {

enum class GenMode : uint8_t {
  cps,   // open, one request, full response, close; `concurrency` in flight
  rps,   // `connections` persistent connections, closed-loop request/response
  bulk,  // `connections` streams, goodput
  hold,  // open `connections` and keep them
};
enum class Direction : uint8_t { up, down, both };
enum class HttpMethod : uint8_t { get, post };

// One entry of a weighted list (`--req-size 64@3,1k@1`): the value and its share.
struct Weighted {
  uint64_t value = 0;
  uint32_t weight = 1;
  friend bool operator==(const Weighted&, const Weighted&) = default;
};

// An address of either family, as --dst and the sources name them (issue 16).
struct HostAddr {
  Ipv4Addr v4{};
  Ipv6Addr v6{};
  bool ipv6 = false;

  HostAddr() = default;
  HostAddr(Ipv4Addr a) : v4(a) {}                     // NOLINT(google-explicit-constructor)
  HostAddr(const Ipv6Addr& a) : v6(a), ipv6(true) {}  // NOLINT(google-explicit-constructor)

  // RFC 5952 text for IPv6 (no brackets), the dotted quad for IPv4.
  [[nodiscard]] std::string to_string() const { return ipv6 ? v6.to_string() : v4.to_string(); }
  // With a port: "[fd00::1]:80" (RFC 5952 6, RFC 3986 3.2.2: an HTTP Host header's form too)
  // or "10.0.0.1:80".
  [[nodiscard]] std::string with_port(uint16_t port) const {
    return (ipv6 ? "[" + v6.to_string() + "]" : v4.to_string()) + ":" + std::to_string(port);
  }
  [[nodiscard]] const char* family() const { return ipv6 ? "ipv6" : "ipv4"; }
  friend bool operator==(const HostAddr& a, const HostAddr& b) {
    return a.ipv6 == b.ipv6 && (a.ipv6 ? a.v6 == b.v6 : a.v4 == b.v4);
  }
};

// One --dst: a server and its share of the connections.
struct Destination {
  HostAddr addr{};
  uint16_t port = 0;
  uint32_t weight = 1;
  [[nodiscard]] std::string to_string() const { return addr.with_port(port); }
};

struct GenOptions {
  std::vector<Ipv4Prefix> addrs;
  std::vector<Ipv6Prefix> addrs6;  // --ip with an IPv6 prefix
  std::optional<Ipv4Addr> gateway;
  std::optional<Ipv6Addr> gateway6;  // --gw with an IPv6 address
  HostAddr dst{};                    // the first --dst (the only one unless several are given)
  uint16_t dst_port = 0;
  // --dst ADDR:PORT[@WEIGHT] (repeatable): connections are spread over these in proportion
  // to their weights (WeightedCycle); after parsing it holds at least the one above.
  std::vector<Destination> dsts;
  GenMode mode = GenMode::rps;
  Direction direction = Direction::down;  // bulk only
  unsigned duration_s = 10;
  unsigned delay_s = 0;       // seconds before the first open (a fresh link coming up)
  uint32_t connections = 16;  // rps, bulk, hold
  uint32_t concurrency = 16;  // cps
  uint32_t rate = 0;          // connection opens per second (0: as fast as possible)
  // --rate A,B,C --step S: the rate steps through these every S seconds, the last held to
  // the end (empty: one rate). `rate` is then the highest of them, the peak.
  std::vector<uint32_t> rate_steps;
  unsigned step_s = 0;
  uint32_t req_size = 64;  // raw payloads (with a mix, its first size)
  uint32_t resp_size = 0;  // 0: same as req_size (what an echo server answers)
  // --req-size/--resp-size as weighted mixes (`64@3,1k@1`): each request picks its sizes in
  // those proportions (empty or one entry: req_size/resp_size for every request).
  std::vector<Weighted> req_sizes, resp_sizes;
  bool http = false;  // HTTP/1.1 requests instead of raw payloads
  // --parsers: per lcore, the response parsers lent to responses that did not arrive whole in
  // one span (0: one per connection of the lcore, each built when first lent).
  uint32_t parsers = 0;
  HttpMethod http_method = HttpMethod::get;  // --method
  // --body-size (POST): the bodies' sizes, a weighted mix; empty: Content-Length 0.
  std::vector<Weighted> body_sizes;
  // --path (repeatable): the requests cycle through these paths, one after the other.
  std::vector<std::string> http_paths = {"/"};
  // --header "Name: value" (repeatable): sent with every HTTP request.
  std::vector<std::string> http_headers;
  // --ramp S: the --rate rises linearly from 0 over the first S seconds (after --delay).
  unsigned ramp_s = 0;
  uint32_t max_connections = 65536;  // per lcore TCB table (TIME-WAIT records are apart)
  uint32_t time_wait_ms = 2000;      // our TIME-WAIT (2 MSL); short so ports recycle
  uint16_t mtu = 1500;
  uint16_t port_id = 0;
  bool checksum_offload = true;
  DeviceOptions device;       // --rxd, --txd, --mbufs
  bool tx_zero_copy = false;  // --tx-zero-copy
  TcpTuning tcp;  // --cc, --no-sack, --no-timestamps, --tlp-wc-delack (the --local-server's too)
  // Runs a pollux-server in this process on its own lcores, joined to the generator by an
  // in-memory link (no NIC, tap or root needed). Address defaults: us 198.18.0.2-5/24, the
  // server --dst 198.18.0.1:8080; with an IPv6 --dst and no --ip, us 2001:2::2-5/64. The
  // server holds every --dst address (either family) on the generator's --ip prefix.
  std::optional<ServerMode> local_server;
  PcapOption pcap;        // --pcap FILE[:SNAPLEN]: capture to a pcapng file
  std::string json_path;  // empty: no JSON report
  bool quiet = false;
  bool help = false;
  std::string print_instead;  // --help, --print-config: printed instead of running

  [[nodiscard]] uint32_t response_size() const { return resp_size ? resp_size : req_size; }
};

// --local-server without --ip opens from 198.18.0.2 to 198.18.0.(1 + this), or for an IPv6
// --dst from 2001:2::2 to 2001:2::(1 + this) (RFC 5180's benchmarking prefix, 2001:2::/48).
inline constexpr uint32_t kLocalSourceAddrs = 4;

// Printed after a bad argument; --help prints the whole grouped help.
inline constexpr const char* kGenUsage =
    "usage: pollux-gen [--preset tap:IF|afpacket:IF|ring|memif:PATH|pci:BDF] [EAL args] -- \\\n"
    "         --ip A.B.C.D/N|A.B.C.D-E/N --dst ADDR:PORT --mode cps|rps|bulk|hold [OPTIONS]\n"
    "         [--local-server echo|discard|source|http] [--config FILE] [--print-config] "
    "[--help]\n";

inline constexpr size_t kMaxPaths = 64, kMaxHeaders = 32, kMaxDestinations = 16;
// A --header value: "Name: value" with a token name and no control characters; Host,
// Content-Length and Transfer-Encoding are pollux-gen's own. False with `why` otherwise.
[[nodiscard]] bool valid_header_line(std::string_view line, std::string& why);

// Parses (the command line, then --config FILE); on error returns nullopt and sets `error`
// to one line saying what is wrong. With --help or --print-config, `print_instead` holds the
// help or the effective configuration.
[[nodiscard]] std::optional<GenOptions> parse_gen_options(const std::vector<std::string>& args,
                                                          std::string& error);

[[nodiscard]] const char* gen_mode_name(GenMode m);
[[nodiscard]] const char* direction_name(Direction d);
[[nodiscard]] const char* http_method_name(HttpMethod m);

}  // namespace pollux::apps
