// The apps' TCP_INFO reporting: a connection's line names its congestion control, the options
// its handshake agreed on and its retransmissions by cause; totals add connections up.
#include "../../../apps/common/conn_info.hpp"

#include <gtest/gtest.h>

namespace pollux::apps {
namespace {

ConnInfo lossy_sack_connection() {
  ConnInfo i;
  i.state = "ESTABLISHED";
  i.cc = "cubic";
  i.ca_state = "recovery";
  i.sack = i.timestamps = i.wscale = true;
  i.srtt_us = 210;
  i.rttvar_us = 35;
  i.retransmits = 7;
  i.timeouts = 1;
  i.fast_recoveries = 3;
  i.dsacks = 2;
  i.spurious_undos = 1;
  i.spurious_retransmits = 2;
  i.tlp_probes = 1;
  i.bytes_sent = 100'000'000;
  return i;
}

TEST(ConnInfoLine, NamesCcOptionsAndRetransmissionsByCause) {
  const std::string line = conn_info_line(lossy_sack_connection());
  EXPECT_EQ(line.rfind("cubic sack ts wscale ESTABLISHED recovery rtt 210/35 us", 0), 0u) << line;
  for (const char* part :
       {" retrans 7 ", " timeouts 1 ", " fast_recoveries 3 ", " dsacks 2 ", " undos 1 ",
        " spurious_retrans 2 ", " tlp_probes 1 ", " bytes_sent 100000000 "})
    EXPECT_NE(line.find(part), std::string::npos) << part << " in " << line;
}

TEST(ConnInfoLine, OptionsNotNegotiatedAreNotClaimed) {
  ConnInfo i;
  i.cc = "newreno";
  i.state = "ESTABLISHED";
  i.ca_state = "open";
  const std::string line = conn_info_line(i);
  EXPECT_EQ(line.rfind("newreno ESTABLISHED open ", 0), 0u) << line;
}

TEST(ConnTotals, SumRetransmissionsAndCountNegotiations) {
  ConnTotals t;
  t.add(lossy_sack_connection());
  ConnInfo plain;
  plain.retransmits = 2;
  plain.timeouts = 2;
  t.add(plain);
  EXPECT_EQ(t.connections, 2u);
  EXPECT_EQ(t.retransmits, 9u);
  EXPECT_EQ(t.timeouts, 3u);
  EXPECT_EQ(t.fast_recoveries, 3u);
  EXPECT_EQ(t.sack, 1u);
  EXPECT_EQ(t.timestamps, 1u);
  ConnTotals u;
  u += t;
  u += t;
  EXPECT_EQ(u.connections, 4u);
  EXPECT_EQ(u.retransmits, 18u);
  EXPECT_EQ(describe(t),
            "2 connections: 9 segments retransmitted, 3 timeouts, 3 fast recoveries, 2 dsacks, "
            "1 undos, 2 spurious retransmits (D-SACKed), 1 tail loss probes; negotiated sack 1, "
            "timestamps 1, wscale 1");
}

// Issue 13: retransmissions reported with their cause. The counters of one stack, read
// through the same accessor the apps give a Runtime, make one line: by what sent them, and
// how many the peer's D-SACKs proved unneeded.
TEST(RetransCauses, ReadEachCauseFromTheStacksCountersAndSayHowManyWereUnneeded) {
  const auto get = [](Counter c) -> uint64_t {
    switch (c) {
      case Counter::tcp_retrans_segs:
        return 21;
      case Counter::tcp_retrans_rto:
        return 1;
      case Counter::tcp_retrans_tlp:
        return 16;
      case Counter::tcp_retrans_recovery:
        return 2;
      case Counter::tcp_retrans_syn:
        return 0;
      case Counter::tcp_retrans_synack:
        return 2;
      case Counter::tcp_retrans_other:
        return 0;
      case Counter::tcp_spurious_retrans:
        return 17;
      case Counter::tcp_tlp_probes:
        return 20;
      case Counter::tcp_spurious_undos:
        return 1;
      default:
        return 999;  // no other counter is read
    }
  };
  const RetransCauses r = RetransCauses::from(get);
  EXPECT_EQ(r.total, r.rto + r.tlp + r.recovery + r.syn + r.synack + r.other);
  EXPECT_EQ(describe(r),
            "21 segments (rto 1, tail loss probe 16, recovery 2, syn 0, syn-ack 2, other 0; 17 "
            "of them D-SACKed as unneeded; 20 tail loss probes, 1 undos)");
  EXPECT_EQ(describe(RetransCauses{}), "0 segments (0 tail loss probes of new data)");
}

}  // namespace
}  // namespace pollux::apps
