// The options both apps share, declared for cli.hpp's OptionParser, and the small, strict
// parsers behind them: every bad value says what is wrong and what was expected.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli.hpp"
#include "pollux/addr.hpp"
#include "pollux/cc.hpp"
#include "pollux/syn_filter.hpp"
#include "pollux/tcp.hpp"

namespace pollux::apps {

// Parses a whole decimal number in [min, max]; nullopt otherwise.
[[nodiscard]] std::optional<uint64_t> parse_uint(std::string_view text, uint64_t min, uint64_t max);

// The interface options both apps share: `--ip A/N` (repeatable; a host address, not the
// network, broadcast or a multicast one; or a range A-E/N or A-B/N of at most kMaxIpRange
// addresses on one subnet; or an IPv6 prefix) and `--gw A` (an IPv4 or an IPv6 gateway, each
// family at most once).
inline constexpr uint32_t kMaxIpRange = 256;
// One --ip value into `addrs`; false with a one-line `error` naming --ip.
[[nodiscard]] bool add_ip(const std::string& value, std::vector<Ipv4Prefix>& addrs,
                          std::string& error);
// One --ip value with an IPv6 prefix ("fd00::2/64") into `addrs6`: a unicast address that is
// not link-local (the port derives that one from its MAC), loopback, unspecified or
// IPv4-mapped; false with a one-line `error` naming --ip.
[[nodiscard]] bool add_ip6(const std::string& value, std::vector<Ipv6Prefix>& addrs6,
                           std::string& error);
// After parsing: the IPv4 gateway must be on one of the --ip subnets and not one of our
// addresses (false with `error`).
[[nodiscard]] bool check_gateway(const std::vector<Ipv4Prefix>& addrs,
                                 const std::optional<Ipv4Addr>& gateway, std::string& error);
// One --gw value into `gateway` (IPv4) or `gateway6` (IPv6, with a ':'): each family at most
// once; an IPv6 gateway is a unicast address (not multicast, unspecified, loopback or
// IPv4-mapped). False with a one-line `error` naming --gw.
[[nodiscard]] bool add_gateway(const std::string& value, std::optional<Ipv4Addr>& gateway,
                               std::optional<Ipv6Addr>& gateway6, std::string& error);
// After parsing: the IPv6 gateway must be on-link (RFC 4861 5.2: the next hop is a
// neighbour): on one of the IPv6 --ip prefixes, or link-local (fe80::/10 is on every link,
// RFC 4291 2.5.6), and not one of our own addresses (false with `error`).
[[nodiscard]] bool check_gateway6(const std::vector<Ipv6Prefix>& addrs6,
                                  const std::optional<Ipv6Addr>& gateway6, std::string& error);

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
  // --conn-memory SIZE: the connection table per lcore sized from a byte budget instead of
  // --max-conns (issue 13 item 5): as many connections as their TCBs, table slots and the
  // pools they borrow from fit (pollux/runtime.hpp connections_for_memory; startup.hpp
  // resolves it into max_connections before the EAL starts).
  std::optional<uint64_t> conn_memory;
  // --neigh-max N: entries in each neighbour cache (ARP and ND) per lcore. A full cache of
  // neighbours confirmed within their reachable time refuses new ones (counted
  // arp_cache_full / nd_cache_full), so a link with more on-link peers than this needs it
  // larger. Unset: the stack's (1024, NeighbourConfig::capacity). Not TCP, but a limit both
  // apps share, as the two above.
  std::optional<uint32_t> neigh_max;
};
// The largest per-second limit the options take: 0 lifts a limit, and the token bucket
// (base/token_bucket.hpp) keeps rate x burst x 1e9 below 2^64 with the burst equal to the rate.
inline constexpr uint64_t kMaxRateLimit = 100'000;
// The most TIME-WAIT records a lcore may keep: 2^24 x 64 B is 1 GiB (as --max-conns' 2^24).
inline constexpr uint32_t kMaxTimeWaitRecords = 1u << 24;
// --neigh-max's bounds: at least room for every --arp entry (kMaxStaticArp); at most 2^20,
// about 100 MB per cache and lcore (an entry and a bucket are some 100 bytes).
inline constexpr uint32_t kMinNeighbours = 256, kMaxNeighbours = 1u << 20;

// One inbound-SYN rule, `A.B.C.D[/N][:PORT]` (no /N: one host, /32; no :PORT: every port),
// or IPv6: `ADDR[/N]` (no port), `[ADDR]/N:PORT` or `[ADDR/N]:PORT` (no /N: /128):
// nullopt with `error` saying why for anything else, including host bits set below the
// prefix length (10.0.0.1/8 is a typo for 10.0.0.0/8 or 10.0.0.1/32; which, we cannot tell).
[[nodiscard]] std::optional<SynRule> parse_syn_rule(std::string_view text, bool allow,
                                                    std::string& error);
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
// What the in-memory link offers (--link-offloads): see DeviceOptions.
enum class LinkOffloads : uint8_t { none, csum, all };

struct DeviceOptions {
  uint16_t rx_desc = 1024;
  uint16_t tx_desc = 1024;
  uint32_t mbufs = 0;
  // --arp A.B.C.D=MAC (repeatable): a neighbour whose MAC is fixed (issue 14 item 6).
  std::vector<StaticArp> static_arp;
  // --link-offloads none|csum|all: what the in-memory link (--local-server) offers (issue 13
  // item 2). none: MTU frames, software checksums; csum: checksum offload; all: csum + TSO/LRO.
  LinkOffloads link_offloads = LinkOffloads::all;
  // --no-tso: no TSO even where the device grants it (net_tap, NICs; issue 13 item 3).
  bool tso = true;
  // --no-gro: no receive coalescing where the device has no LRO (issue 13 item 3).
  bool gro = true;
};
inline constexpr size_t kMaxStaticArp = 256;
static_assert(kMinNeighbours >= kMaxStaticArp, "the smallest --neigh-max holds every --arp entry");
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

// The options both apps share, declared group by group (the help lists the groups in the
// order the app declares them) into any options struct that has their fields (addrs,
// gateway, tcp, max_connections, mtu, port_id, checksum_offload, device, tx_zero_copy,
// pcap; startup.hpp's runtime_options() hands them to the runtime). The defaults
// --print-config writes are the struct's values at declaration.
void add_address_options(OptionParser& p, std::vector<Ipv4Prefix>& addrs,
                         std::vector<Ipv6Prefix>& addrs6, std::optional<Ipv4Addr>& gateway,
                         std::optional<Ipv6Addr>& gateway6, std::vector<StaticArp>& static_arp);
void add_tcp_options(OptionParser& p, TcpTuning& tuning);
// --max-conns-per-source, --challenge-ack-limit, --rst-limit (and --max-conns: `max_conns`).
void add_limit_options(OptionParser& p, TcpTuning& tuning, uint32_t& max_conns);
// --allow / --deny PREFIX[:PORT] (repeatable, in order, at most SynFilter::kMaxRules).
void add_syn_filter_options(OptionParser& p, SynFilter& filter);
void add_capture_options(OptionParser& p, PcapOption& pcap);

template <class Options>
void add_device_options(OptionParser& p, Options& o) {
  const char* g = "Device";
  p.number("dpdk-port", g, "N", "the DPDK port to serve (default 0)",
           {Unit::plain, 0, 1023, std::to_string(o.port_id)},
           [&o](uint64_t x) { o.port_id = static_cast<uint16_t>(x); });
  p.number("mtu", g, "BYTES", "the interface MTU, 576 to 9000 (default 1500)",
           {Unit::size, 576, 9000, std::to_string(o.mtu)},
           [&o](uint64_t x) { o.mtu = static_cast<uint16_t>(x); });
  p.flag("no-offload", g, "compute checksums in software even where the device offloads them",
         [&o] { o.checksum_offload = false; });
  p.add({"link-offloads", g, "none|csum|all",
         "what the in-memory link (--local-server) offers: all (the default) checksum offload, "
         "TSO and LRO (data frames of up to 64 KB handed over whole, as Linux's veth does), "
         "csum checksum offload only, none MTU frames with checksums in software",
         "all", false, "", [&o](const std::string& v, std::string& e) {
           if (v == "none")
             o.device.link_offloads = LinkOffloads::none;
           else if (v == "csum")
             o.device.link_offloads = LinkOffloads::csum;
           else if (v == "all")
             o.device.link_offloads = LinkOffloads::all;
           else
             e = "--link-offloads: expected none, csum or all, not '" + v + "'";
           return e.empty();
         }});
  p.flag("no-tso", g,
         "send MSS-sized segments even where the device offers TCP segmentation (TSO: net_tap, "
         "NICs; the in-memory link's is --link-offloads)",
         [&o] { o.device.tso = false; });
  p.flag("no-gro", g,
         "hand TCP every received segment on its own on a device without LRO (by default runs "
         "of one connection's in-order segments in a receive burst are coalesced: GRO)",
         [&o] { o.device.gro = false; });
  p.flag("tx-zero-copy", g,
         "a data segment of 256 bytes or more references the send queue's mbufs instead of "
         "copying them, where the port transmits chained mbufs (off by default: slower than "
         "the copy on the in-memory link so far)",
         [&o] { o.tx_zero_copy = true; });
  p.number("rxd", g, "N",
           "descriptors per RX queue (default 1024; the driver may round it: the port line "
           "says what is in effect)",
           {Unit::count, kMinDesc, kMaxDesc, std::to_string(o.device.rx_desc)},
           [&o](uint64_t x) { o.device.rx_desc = static_cast<uint16_t>(x); });
  p.number("txd", g, "N", "descriptors per TX queue (default 1024)",
           {Unit::count, kMinDesc, kMaxDesc, std::to_string(o.device.tx_desc)},
           [&o](uint64_t x) { o.device.tx_desc = static_cast<uint16_t>(x); });
  p.number("mbufs", g, "N",
           "buffers in the pool in all (default: the rings' share plus room for held data)",
           {Unit::count, 1024, kMaxMbufs, ""},
           [&o](uint64_t x) { o.device.mbufs = static_cast<uint32_t>(x); });
}

}  // namespace pollux::apps
