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

}  // namespace
}  // namespace pollux::apps
