// Readable one-line decodes of frames, for packet traces in the style of tcpdump:
//
//   0.000010 a>b ARP request who-has 10.0.0.2 tell 10.0.0.1
//   0.000020 b>a TCP 10.0.0.2:9 > 10.0.0.1:40000 [RA] seq=0 ack=1 win=0 len=0
//   0.000030 a>b LOST TCP 10.0.0.1:40000 > 10.0.0.2:9 [S] seq=0 win=64240 len=0 <mss 1460>
//   state 0.000040 b 10.0.0.2:7 < 10.0.0.1:40000 CLOSED -> SYN-RECEIVED passive_open
//
// The "state" lines (TCP state changes, from TcpLayer::set_state) appear when the world was
// asked for them (WorldConfig::trace_states); they start with "state " so that a comparison
// with a trace of an older build can filter them out.
//
// A frame is summarized (decoded with the lib/net parsers into plain fields) when it is
// recorded, and formatted later, so that sequence numbers can be shown relative to each
// side's initial sequence number (as tcpdump does) or absolute.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "net/arp.hpp"
#include "net/bytes.hpp"
#include "net/ip_addr.hpp"
#include "net/ipv4_addr.hpp"
#include "net/tcp_options.hpp"
#include "sim_link.hpp"

namespace pollux::sim {

enum class FrameKind : uint8_t {
  malformed,    // could not be decoded; `problem` says where it failed
  other_ether,  // an EtherType we do not decode
  arp,
  ipv4,  // a protocol we do not decode (IPv4 or IPv6: `ipv6` says which)
  icmp,  // ICMP, or ICMPv6 when `ipv6`
  tcp,
};

struct FrameSummary {
  FrameKind kind = FrameKind::malformed;
  uint32_t frame_len = 0;
  uint16_t ether_type = 0;
  const char* problem = "";
  net::ArpPacket arp;
  // IPv4 or IPv6 (`ipv6`: protocol is the upper-layer protocol after the extension headers,
  // ip_len the payload length, the IPv6 header's own 40 octets not counted)
  bool ipv6 = false;
  net::IpAddr src;
  net::IpAddr dst;
  uint8_t protocol = 0;
  uint16_t ip_len = 0;
  bool ip_checksum_ok = true;
  bool fragment = false;
  // ICMP
  uint8_t icmp_type = 0;
  uint8_t icmp_code = 0;
  // TCP
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
  uint32_t payload_len = 0;
  bool tcp_checksum_ok = true;
  bool options_ok = true;
  net::TcpOptions options;
};

[[nodiscard]] FrameSummary summarize_frame(net::Bytes frame);
// Summary of a (possibly chained) mbuf.
[[nodiscard]] FrameSummary summarize_frame(const rte_mbuf* m);

// "S", "SA", "RA", "PA", "FA", ... (SYN FIN RST PSH ACK URG ECE CWR order).
[[nodiscard]] std::string tcp_flags_string(uint8_t flags);

// Formats summaries, remembering the initial sequence number each TCP sender used (taken
// from its SYN) so that later segments can be shown relative to it.
class FrameFormatter {
 public:
  // `first_syn_only`: a sender's ISN is taken from its first SYN and kept (a later SYN, e.g.
  // one injected into a synchronized connection, does not renumber what follows).
  explicit FrameFormatter(bool relative_seq, bool first_syn_only = false)
      : relative_(relative_seq), first_syn_only_(first_syn_only) {}
  [[nodiscard]] std::string format(const FrameSummary& s);

 private:
  using Addr = std::array<uint8_t, 16>;                     // net::IpAddr's bytes
  using Flow = std::tuple<Addr, uint16_t, Addr, uint16_t>;  // src, sport, dst, dport
  bool relative_;
  bool first_syn_only_;
  std::map<Flow, uint32_t> isn_;
};

// One line, absolute sequence numbers.
[[nodiscard]] std::string describe_frame(net::Bytes frame);

enum class Direction : uint8_t { a_to_b, b_to_a };
[[nodiscard]] inline const char* direction_name(Direction d) {
  return d == Direction::a_to_b ? "a>b" : "b>a";
}

// A TCB of host `host` ('a' or 'b') changed state. Names are the RFC's (state_name) and
// the cause's (state_cause_name), static strings.
struct StateChange {
  char host = '?';
  net::IpAddr local, remote;
  uint16_t local_port = 0, remote_port = 0;
  const char* from = "";
  const char* to = "";
  const char* why = "";
};

struct TraceEntry {
  uint64_t time_ns;  // virtual time: of delivery, or of the send for a drop
  Direction dir;
  LinkEvent event;
  uint8_t marks;  // link_mark bits
  FrameSummary frame;
  std::optional<StateChange> state{};  // set: this entry is a state change, not a frame
};

struct TraceOptions {
  bool time = true;          // leading seconds since the world's t0, microsecond resolution
  bool relative_seq = true;  // TCP seq/ack/SACK relative to the sender's/receiver's ISN
};

// The lines for `entries`; times are shown relative to `t0`.
[[nodiscard]] std::vector<std::string> format_trace_lines(const std::vector<TraceEntry>& entries,
                                                          uint64_t t0, const TraceOptions& o);

}  // namespace pollux::sim
