#include "conn_info.hpp"

#include <cstdio>

namespace pollux::apps {

void ConnTotals::add(const ConnCounts& n) {
  ++connections;
  retransmits += n.retransmits;
  timeouts += n.timeouts;
  fast_recoveries += n.fast_recoveries;
  dsacks += n.dsacks;
  spurious_undos += n.spurious_undos;
  spurious_retransmits += n.spurious_retransmits;
  tlp_probes += n.tlp_probes;
  sack += n.sack;
  timestamps += n.timestamps;
  wscale += n.wscale;
}

ConnTotals& ConnTotals::operator+=(const ConnTotals& o) {
  connections += o.connections;
  retransmits += o.retransmits;
  timeouts += o.timeouts;
  fast_recoveries += o.fast_recoveries;
  dsacks += o.dsacks;
  spurious_undos += o.spurious_undos;
  spurious_retransmits += o.spurious_retransmits;
  tlp_probes += o.tlp_probes;
  sack += o.sack;
  timestamps += o.timestamps;
  wscale += o.wscale;
  return *this;
}

std::string conn_info_line(const ConnInfo& i) {
  char buf[512];
  auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  std::snprintf(buf, sizeof buf,
                "%s%s%s%s %s %s rtt %u/%u us rto %u us mss %u cwnd %u ssthresh %u flight %u "
                "snd_wnd %u rcv_wnd %u retrans %u timeouts %u fast_recoveries %u dsacks %u "
                "undos %u spurious_retrans %u tlp_probes %u reordering %u bytes_sent %llu "
                "bytes_acked %llu bytes_received %llu",
                i.cc, i.sack ? " sack" : "", i.timestamps ? " ts" : "", i.wscale ? " wscale" : "",
                i.state, i.ca_state, i.srtt_us, i.rttvar_us, i.rto_us, i.snd_mss, i.cwnd,
                i.ssthresh, i.bytes_in_flight, i.snd_wnd, i.rcv_wnd, i.retransmits, i.timeouts,
                i.fast_recoveries, i.dsacks, i.spurious_undos, i.spurious_retransmits, i.tlp_probes,
                i.reordering, u(i.bytes_sent), u(i.bytes_acked), u(i.bytes_received));
  return buf;
}

std::string describe(const ConnTotals& t) {
  char buf[400];
  auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  std::snprintf(buf, sizeof buf,
                "%llu connections: %llu segments retransmitted, %llu timeouts, %llu fast "
                "recoveries, %llu dsacks, %llu undos, %llu spurious retransmits (D-SACKed), "
                "%llu tail loss probes; negotiated sack %llu, timestamps %llu, wscale %llu",
                u(t.connections), u(t.retransmits), u(t.timeouts), u(t.fast_recoveries),
                u(t.dsacks), u(t.spurious_undos), u(t.spurious_retransmits), u(t.tlp_probes),
                u(t.sack), u(t.timestamps), u(t.wscale));
  return buf;
}

std::string describe(const RetransCauses& r) {
  auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  char buf[320];
  if (r.total == 0) {
    std::snprintf(buf, sizeof buf, "0 segments (%llu tail loss probes of new data)",
                  u(r.tlp_probes));
    return buf;
  }
  std::snprintf(buf, sizeof buf,
                "%llu segments (rto %llu, tail loss probe %llu, recovery %llu, syn %llu, syn-ack "
                "%llu, other %llu; %llu of them D-SACKed as unneeded; %llu tail loss probes, "
                "%llu undos)",
                u(r.total), u(r.rto), u(r.tlp), u(r.recovery), u(r.syn), u(r.synack), u(r.other),
                u(r.dsacked), u(r.tlp_probes), u(r.undos));
  return buf;
}

}  // namespace pollux::apps
