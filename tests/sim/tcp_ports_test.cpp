// Ephemeral ports for active opens (RFC 6056 3.3.3): within the configured range, never a
// tuple already in use, a start that depends on the destination (so a restarted process does
// not walk into the tuples its predecessor left in TIME-WAIT), and exhaustion reported as an
// error, not a hang.
#include <gtest/gtest.h>

#include <set>

#include "sim_world.hpp"

namespace pollux::sim {
namespace {

TEST(EphemeralPorts, StayInRangeAreDistinctAndRunOutWithAnError) {
  WorldConfig wc;
  wc.a = sim_engine_config(Host::a);
  wc.b = sim_engine_config(Host::b);
  wc.a.tcp.ephemeral_first = 40000;
  wc.a.tcp.ephemeral_last = 40007;
  SimWorld w(wc);
  AppEvents ev;
  std::set<uint16_t> ports;
  for (int i = 0; i < 8; ++i) {
    TcpError err;
    Conn* c = w.a().tcp().connect(kIpA, kIpB, 7, &ev, nullptr, 0, {}, err, w.now());
    ASSERT_NE(c, nullptr) << i;
    const uint16_t p = tcp::TcpLayer::tuple(c).local_port;
    EXPECT_GE(p, 40000);
    EXPECT_LE(p, 40007);
    ports.insert(p);
  }
  EXPECT_EQ(ports.size(), 8u);
  TcpError err;
  EXPECT_EQ(w.a().tcp().connect(kIpA, kIpB, 7, &ev, nullptr, 0, {}, err, w.now()), nullptr);
  EXPECT_EQ(err, TcpError::kNoEphemeralPort);
  // Another destination port has its own tuples: the same local ports are free again.
  EXPECT_NE(w.a().tcp().connect(kIpA, kIpB, 8, &ev, nullptr, 0, {}, err, w.now()), nullptr);
}

TEST(EphemeralPorts, TheSearchStartsWhereTheDestinationHashes) {
  std::set<uint16_t> first_ports;
  for (uint16_t dport = 1; dport <= 16; ++dport) {
    WorldConfig wc;
    wc.a = sim_engine_config(Host::a);
    wc.b = sim_engine_config(Host::b);
    SimWorld w(wc);
    AppEvents ev;
    TcpError err;
    Conn* c = w.a().tcp().connect(kIpA, kIpB, dport, &ev, nullptr, 0, {}, err, w.now());
    ASSERT_NE(c, nullptr);
    first_ports.insert(tcp::TcpLayer::tuple(c).local_port);
  }
  // A fixed start would give one port for all sixteen; a keyed hash spreads them.
  EXPECT_GT(first_ports.size(), 12u);
}

}  // namespace
}  // namespace pollux::sim
