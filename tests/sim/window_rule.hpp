// A rule the simulator checks on every TCP segment an engine sends, whatever the fault mix:
// no octet of data lies beyond the right edge of the window its receiver advertised
// (RFC 9293 3.8.6: the sender may send up to SND.UNA + SND.WND and no further; RFC 8985 7.3
// holds tail loss probes to the same). The edge is the largest SEG.ACK + SEG.WND (scaled as
// the window scale options agreed, RFC 7323 2.3) the other side has sent on the connection
// so far: whatever the sender knows of the window, it learnt from one of those segments.
//
// IPv4 and IPv6 (without extension headers, which pollux never sends) alike. Frames are
// decoded from their headers only (no checksums, no copies of the payload): it
// is cheap enough to run on every frame of every seed.
#pragma once

#include <rte_mbuf.h>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>

namespace pollux::sim {

class WindowRule {
 public:
  // Looks at one frame leaving a host. Returns "" when it keeps the rule (or is not a TCP
  // segment with data), else one line saying which segment crossed which edge.
  [[nodiscard]] std::string check(const rte_mbuf* m);
  // The same for a frame's first `have` octets (its headers at least: the payload's length
  // comes from the IPv4 or IPv6 header).
  [[nodiscard]] std::string check(const uint8_t* p, uint32_t have);

  [[nodiscard]] uint64_t data_segments_checked() const { return checked_; }
  [[nodiscard]] uint64_t violations() const { return violations_; }

 private:
  // What one side of a connection announced: its window scale and its window's right edge.
  struct Side {
    bool syn_seen = false;
    bool wscale_offered = false;
    uint8_t wscale = 0;
    bool has_edge = false;
    uint32_t edge = 0;
  };
  // src, sport, dst, dport; addresses as net::IpAddr holds them (IPv4-mapped for IPv4)
  using Addr = std::array<uint8_t, 16>;
  using Flow = std::tuple<Addr, uint16_t, Addr, uint16_t>;

  std::map<Flow, Side> sides_;
  uint64_t checked_ = 0;
  uint64_t violations_ = 0;
};

}  // namespace pollux::sim
