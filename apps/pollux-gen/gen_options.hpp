// pollux-gen's application arguments (everything after `--`).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

struct GenOptions {
  std::vector<Ipv4Prefix> addrs;
  std::optional<Ipv4Addr> gateway;
  Ipv4Addr dst{};
  uint16_t dst_port = 0;
  GenMode mode = GenMode::rps;
  Direction direction = Direction::down;  // bulk only
  unsigned duration_s = 10;
  unsigned delay_s = 0;       // seconds before the first open (a fresh link coming up)
  uint32_t connections = 16;  // rps, bulk, hold
  uint32_t concurrency = 16;  // cps
  uint32_t rate = 0;          // connection opens per second (0: as fast as possible)
  uint32_t req_size = 64;     // raw payloads
  uint32_t resp_size = 0;     // 0: same as req_size (what an echo server answers)
  bool http = false;          // HTTP/1.1 GET instead of raw payloads
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
  DeviceOptions device;  // --rxd, --txd, --mbufs
  bool tx_zero_copy = false;  // --tx-zero-copy
  TcpTuning tcp;  // --cc, --no-sack, --no-timestamps, --tlp-wc-delack (the --local-server's too)
  // Runs a pollux-server in this process on its own lcores, joined to the generator by an
  // in-memory link (no NIC, tap or root needed). Address defaults: us 198.18.0.2/24, the
  // server --dst 198.18.0.1:8080.
  std::optional<ServerMode> local_server;
  PcapOption pcap;        // --pcap FILE[:SNAPLEN]: capture to a pcapng file
  std::string json_path;  // empty: no JSON report
  bool quiet = false;
  bool help = false;

  [[nodiscard]] uint32_t response_size() const { return resp_size ? resp_size : req_size; }
};

// --local-server without --ip opens from 198.18.0.2 to 198.18.0.(1 + this).
inline constexpr uint32_t kLocalSourceAddrs = 4;

inline constexpr const char* kGenUsage =
    "usage: pollux-gen [--preset tap:IF|afpacket:IF|ring|memif:PATH|pci:BDF] [EAL args] -- \\\n"
    "         --ip A.B.C.D/N|A.B.C.D-E/N [--gw A.B.C.D] --dst A.B.C.D:PORT --mode "
    "cps|rps|bulk|hold\n"
    "         [--duration S] [--delay S] [--connections N] [--concurrency C] [--rate N]\n"
    "         [--req-size B] [--resp-size B] [--http] [--path /P] [--direction up|down|both]\n"
    "         [--max-conns N] [--time-wait MS] [--time-wait-records N] [--mtu N]\n"
    "         [--dpdk-port N] [--no-offload]\n"
    "         [--tx-zero-copy] [--cc newreno|cubic] [--no-sack] [--no-timestamps] [--tlp-wc-delack MS]\n"
    "         [--syn-cookies auto|always|never] [--challenge-ack-limit N] [--rst-limit N]\n"
    "         [--local-server echo|discard|source|http] [--json FILE] [--quiet]\n"
    "         [--pcap FILE[:SNAPLEN]] [--rxd N] [--txd N] [--mbufs N] [--ramp S]\n"
    "         [--path /P ...] [--header 'Name: value' ...] [--arp A.B.C.D=MAC ...]\n"
    "  cps   open, send one request, read the whole response, close; C in flight\n"
    "  rps   N persistent connections, one request outstanding on each\n"
    "  bulk  N streams: down (server sources), up (server discards), both (echo)\n"
    "  hold  open N connections and keep them (--rate: opens per second)\n"
    "  raw payloads: a request is req-size bytes, the response is complete after resp-size\n"
    "  bytes (default req-size: an echo server); --http sends GET and reads a full response\n"
    "  --rate: cps/hold: opens per second; rps: requests per second, open loop, latency\n"
    "  measured from when each request was due (no coordinated omission)\n"
    "  --ramp S: the rate rises linearly from 0 to --rate over the first S seconds\n"
    "  --path (repeatable): requests cycle through the paths; --header adds a request header\n"
    "  --local-server: the server runs in this process over an in-memory link (EAL args\n"
    "  optional; --ip defaults to 198.18.0.2-5/24 and --dst to 198.18.0.1:8080); lcores are\n"
    "  split evenly between generator and server (at least 2)\n"
    "  --time-wait-records N: TIME-WAIT records per lcore (64 bytes each, outside --max-conns;\n"
    "  default 65536); when all are taken the oldest ends early (tcp_time_wait_evicted)\n"
    "  several --ip (or a range) on the --dst subnet: connections come from one address\n"
    "  until its ephemeral ports run short (TIME-WAIT), then from the next\n"
    "  --pcap: every packet received and sent, cut to SNAPLEN bytes, to a pcapng file; with\n"
    "  --local-server interface 0 is the generator's port and interface 1 the server's\n"
    "  --preset pci:BDF: a NIC bound to vfio-pci, with hugepages (drivers-glue/NICS.md);\n"
    "  --rxd/--txd N: descriptors per queue (default 1024); --mbufs N: the pool's buffers\n"
    "  no passive opens: a SYN to the generator is answered as a closed port (RST, at most\n"
    "  --rst-limit per second per lcore, default 1000) and counted drop_tcp_syn_filtered\n";

inline constexpr size_t kMaxPaths = 64, kMaxHeaders = 32;
// A --header value: "Name: value" with a token name and no control characters; Host,
// Content-Length and Transfer-Encoding are pollux-gen's own. False with `why` otherwise.
[[nodiscard]] bool valid_header_line(std::string_view line, std::string& why);

// Parses; on error returns nullopt and sets `error` to one line saying what is wrong.
[[nodiscard]] std::optional<GenOptions> parse_gen_options(const std::vector<std::string>& args,
                                                          std::string& error);

[[nodiscard]] const char* gen_mode_name(GenMode m);
[[nodiscard]] const char* direction_name(Direction d);

}  // namespace pollux::apps
