// pollux-server's application arguments (everything after `--`).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "../common/options.hpp"
#include "pollux/addr.hpp"

namespace pollux::apps {

enum class ServerMode : uint8_t { echo, discard, source, http };

struct ServerOptions {
  std::vector<Ipv4Prefix> addrs;
  std::optional<Ipv4Addr> gateway;
  uint16_t tcp_port = 8080;
  ServerMode mode = ServerMode::echo;
  uint32_t http_body = 128;
  uint32_t backlog = 1024;      // connections in SYN-RECEIVED per lcore
  uint32_t max_connections = 16384;  // per lcore (TIME-WAIT records are apart)
  uint16_t mtu = 1500;
  uint16_t port_id = 0;        // DPDK port
  unsigned duration_s = 0;     // 0: until SIGINT/SIGTERM
  bool checksum_offload = true;
  DeviceOptions device;        // --rxd, --txd, --mbufs
  bool tx_zero_copy = false;   // --tx-zero-copy
  TcpTuning tcp;               // --cc, --no-sack, --no-timestamps, --tlp-wc-delack, --syn-cookies
  PcapOption pcap;             // --pcap FILE[:SNAPLEN]: capture to a pcapng file
  SynFilter syn_filter;        // --allow / --deny PREFIX[:PORT], first match wins
  // Slowloris (issue 14 item 3), as nginx's keepalive_timeout and client_header_timeout: a
  // connection that moves no byte either way for idle_timeout_s, or whose HTTP request
  // header is still incomplete header_timeout_s after its first byte, is closed (0: never).
  // pollux-server's sweep runs from its iteration hook; pollux-gen's --local-server has none.
  uint32_t idle_timeout_s = 75;
  uint32_t header_timeout_s = 60;
  bool conn_info = false;      // a TCP_INFO-like line per connection as it closes
  bool lcores_info = false;
  bool quiet = false;          // no per-second progress lines
  bool help = false;
};

inline constexpr const char* kServerUsage =
    "usage: pollux-server [--preset tap:IF|afpacket:IF|ring|memif:PATH|pci:BDF] [EAL args] -- \\\n"
    "         --ip A.B.C.D/N [--ip ...] [--gw A.B.C.D] [--port P] [--mode echo|discard|source|http]\n"
    "         [--http-body BYTES] [--backlog N] [--max-conns N] [--mtu N] [--dpdk-port N]\n"
    "         [--duration SECONDS] [--cc newreno|cubic] [--no-sack] [--no-timestamps]\n"
    "         [--tlp-wc-delack MS] [--syn-cookies auto|always|never] [--conn-info]\n"
    "         [--challenge-ack-limit N] [--rst-limit N] [--allow RULE] [--deny RULE]\n"
    "         [--no-offload] [--tx-zero-copy] [--lcores-info] [--quiet] [--pcap FILE[:SNAPLEN]]\n"
    "         [--rxd N] [--txd N] [--mbufs N] [--arp A.B.C.D=MAC ...]\n"
    "         [--idle-timeout S] [--header-timeout S] [--user-timeout S] [--fin-timeout S]\n"
    "         [--max-conns-per-source N] [--time-wait-records N]\n"
    "  --preset pci:BDF: a NIC (e.g. 0000:03:00.0) bound to vfio-pci, with hugepages; the\n"
    "                 start-up says what to fix when it cannot be used (drivers-glue/NICS.md)\n"
    "  --rxd/--txd N: descriptors per RX/TX queue (default 1024); --mbufs N: buffers in\n"
    "                 the pool in all (default: the rings' share plus room for held data)\n"
    "  --arp A.B.C.D=MAC: a neighbour whose MAC is fixed (never resolved, aged or replaced)\n"
    "  --idle-timeout S: close a connection that moved no byte either way for S seconds\n"
    "                 (default 75, 0 never); --header-timeout S: close an HTTP connection\n"
    "                 whose request header is incomplete S seconds after its first byte\n"
    "                 (default 60, 0 never)\n"
    "  --user-timeout S: RFC 9293 USER TIMEOUT, end a connection whose data stays\n"
    "                 unacknowledged, or whose peer keeps a zero window, S seconds (default\n"
    "                 900, 0 never); --fin-timeout S: how long a closed connection waits for\n"
    "                 a peer that makes no progress (default 60)\n"
    "  --max-conns-per-source N: connections one source address may hold per lcore\n"
    "                 (default 0: no limit; TIME-WAIT does not count)\n"
    "  --time-wait-records N: TIME-WAIT records per lcore, 64 bytes each, outside the\n"
    "                 connection table (default 65536); when full the oldest ends early\n"
    "  --syn-cookies: answer SYNs statelessly (RFC 4987) when the backlog is full (auto,\n"
    "                 the default), always, or never (a full backlog drops SYNs)\n"
    "  --challenge-ack-limit N: RFC 5961 challenge ACKs per second per lcore (default 1000,\n"
    "                 0 no limit); --rst-limit N: RSTs for closed ports, the same\n"
    "  --allow/--deny A.B.C.D[/N][:PORT]: accept or silently drop SYNs from that source\n"
    "                 prefix (to that port); the first matching rule decides, none: accept\n"
    "  --conn-info: one line per connection when it closes (cc, options, rtt, retransmissions)\n"
    "  --pcap FILE[:SNAPLEN]: write every packet received and sent (each cut to SNAPLEN\n"
    "                 bytes) to a pcapng file; copies the writer cannot keep up with are\n"
    "                 dropped and counted. With hugepages, dpdk-dumpcap works too\n";

// Parses; on error returns nullopt and sets `error` to one line saying what is wrong.
[[nodiscard]] std::optional<ServerOptions> parse_server_options(const std::vector<std::string>& args,
                                                                std::string& error);

[[nodiscard]] const char* mode_name(ServerMode m);
// "echo" -> ServerMode::echo, ...; nullopt for anything else.
[[nodiscard]] std::optional<ServerMode> parse_server_mode(const std::string& name);

}  // namespace pollux::apps
