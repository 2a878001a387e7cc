// pollux-server's application arguments (everything after `--`).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "../common/cli.hpp"
#include "../common/options.hpp"
#include "pollux/addr.hpp"

namespace pollux::apps {

enum class ServerMode : uint8_t { echo, discard, source, http };

struct ServerOptions {
  std::vector<Ipv4Prefix> addrs;
  std::vector<Ipv6Prefix> addrs6;  // --ip with an IPv6 prefix
  std::optional<Ipv4Addr> gateway;
  std::optional<Ipv6Addr> gateway6;  // --gw with an IPv6 address
  uint16_t tcp_port = 8080;
  ServerMode mode = ServerMode::echo;
  uint32_t http_body = 128;
  // Buffers per lcore for response heads the send queue takes only part of (not an option
  // on the command line; tests set it). 0: max_connections / 16, at least 16.
  uint32_t http_head_buffers = 0;
  // Parsers per lcore for requests that arrive in pieces (tests set it). 0: as head buffers.
  uint32_t http_parsers = 0;
  uint32_t backlog = 1024;           // connections in SYN-RECEIVED per lcore
  uint32_t max_connections = 16384;  // per lcore (TIME-WAIT records are apart)
  uint16_t mtu = 1500;
  uint16_t port_id = 0;     // DPDK port
  unsigned duration_s = 0;  // 0: until SIGINT/SIGTERM
  bool checksum_offload = true;
  DeviceOptions device;       // --rxd, --txd, --mbufs
  bool tx_zero_copy = false;  // --tx-zero-copy
  TcpTuning tcp;              // --cc, --no-sack, --no-timestamps, --tlp-wc-delack, --syn-cookies
  PcapOption pcap;            // --pcap FILE[:SNAPLEN]: capture to a pcapng file
  SynFilter syn_filter;       // --allow / --deny PREFIX[:PORT], first match wins
  // Slowloris (issue 14 item 3), as nginx's keepalive_timeout and client_header_timeout: a
  // connection that moves no byte either way for idle_timeout_s, or whose HTTP request
  // header is still incomplete header_timeout_s after its first byte, is closed (0: never).
  // pollux-server's sweep runs from its iteration hook; pollux-gen's --local-server has none.
  uint32_t idle_timeout_s = 75;
  uint32_t header_timeout_s = 60;
  bool conn_info = false;  // a TCP_INFO-like line per connection as it closes
  bool lcores_info = false;
  bool quiet = false;  // no per-second progress lines
  bool help = false;
  std::string print_instead;  // --help, --print-config: printed instead of running
};

// Printed after a bad argument; --help prints the whole grouped help.
inline constexpr const char* kServerUsage =
    "usage: pollux-server [--preset tap:IF|afpacket:IF|ring|memif:PATH|pci:BDF] [EAL args] -- \\\n"
    "         --ip A.B.C.D/N [OPTIONS] [--config FILE] [--print-config] [--help]\n";

// Parses (the command line, then --config FILE); on error returns nullopt and sets `error`
// to one line saying what is wrong. With --help or --print-config, `print_instead` holds the
// help or the effective configuration.
[[nodiscard]] std::optional<ServerOptions> parse_server_options(
    const std::vector<std::string>& args, std::string& error);

[[nodiscard]] const char* mode_name(ServerMode m);
// "echo" -> ServerMode::echo, ...; nullopt for anything else.
[[nodiscard]] std::optional<ServerMode> parse_server_mode(const std::string& name);

}  // namespace pollux::apps
