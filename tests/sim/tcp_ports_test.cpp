// Ephemeral ports for active opens (RFC 6056 3.3.3): within the configured range, never a
// tuple already in use, a start that depends on the destination (so a restarted process does
// not walk into the tuples its predecessor left in TIME-WAIT), and exhaustion reported as an
// error, not a hang.
#include <gtest/gtest.h>

#include <cstdio>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "../../apps/pollux-gen/sources.hpp"
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
  EXPECT_EQ(err, TcpError::no_ephemeral_port);
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

namespace pollux::sim {
namespace {

// A server that counts accepts and closes when told to (at accept) or when the peer does.
struct Server {
  tcp::TcpLayer* tcp = nullptr;
  bool close_first = false;
  int accepted = 0;
  static void on_accepted(void* ctx, Conn* c) {
    auto* s = static_cast<Server*>(ctx);
    ++s->accepted;
    if (s->close_first) s->tcp->close(c);
  }
  static void on_peer_closed(void* ctx, Conn* c) { static_cast<Server*>(ctx)->tcp->close(c); }
};

struct Client {
  tcp::TcpLayer* tcp = nullptr;
  int connected = 0;
  int closed = 0;
  static void on_connected(void* ctx, Conn*) { ++static_cast<Client*>(ctx)->connected; }
  static void on_peer_closed(void* ctx, Conn* c) { static_cast<Client*>(ctx)->tcp->close(c); }
  static void on_closed(void* ctx, Conn*, CloseReason) { ++static_cast<Client*>(ctx)->closed; }
};

struct Pair {
  explicit Pair(bool server_closes_first, const WorldConfig& wc = make_config()) : w(wc) {
    server.tcp = &w.b().tcp();
    server.close_first = server_closes_first;
    sev.accepted = Server::on_accepted;
    sev.peer_closed = Server::on_peer_closed;
    EXPECT_EQ(w.b().tcp().listen(7, &sev, &server), TcpError::ok);
    client.tcp = &w.a().tcp();
    cev.connected = Client::on_connected;
    cev.peer_closed = Client::on_peer_closed;
    cev.closed = Client::on_closed;
  }
  static WorldConfig make_config() {
    WorldConfig wc;
    wc.a = sim_engine_config(Host::a);
    wc.b = sim_engine_config(Host::b);
    wc.a.tcp.msl_ns = wc.b.tcp.msl_ns = 30 * kSecond;  // TIME-WAIT far longer than the test
    return wc;
  }
  Conn* connect(TcpError& err) {
    return w.a().tcp().connect(kIpA, kIpB, 7, &cev, &client, 40001, {}, err, w.now());
  }
  SimWorld w;
  Server server;
  Client client;
  AppEvents sev, cev;
};

// Round `round` of eight connections from an ephemeral port, each opened, then closed by the
// client so that its tuple ends in the client's TIME-WAIT (the rounds before made 8 each).
void open_and_close_eight(Pair& p, int round) {
  for (int i = 0; i < 8; ++i) {
    TcpError err;
    Conn* c = p.w.a().tcp().connect(kIpA, kIpB, 7, &p.cev, &p.client, 0, {}, err, p.w.now());
    ASSERT_NE(c, nullptr) << "round " << round << " connection " << i << " error "
                          << static_cast<int>(err);
    ASSERT_TRUE(
        p.w.run_until([&] { return p.client.connected == round * 8 + i + 1; }, 5 * kSecond));
    p.w.a().tcp().close(c);
    ASSERT_TRUE(p.w.run_until([&] { return p.client.closed == round * 8 + i + 1; }, 5 * kSecond));
  }
}

TEST(TimeWaitReuse, ActiveOpenerReusesItsTimeWaitTupleOnceTimestampsMakeItSafe) {
  Pair p(false);
  TcpError err;
  Conn* c = p.connect(err);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(p.w.run_until([&] { return p.client.connected == 1; }, 5 * kSecond));
  p.w.a().tcp().close(c);  // the client closes first: its side ends in TIME-WAIT
  ASSERT_TRUE(p.w.run_until([&] { return p.client.closed == 1; }, 5 * kSecond));
  ASSERT_EQ(p.w.a().tcp().connections(), 0u) << "TIME-WAIT holds no TCB";
  ASSERT_EQ(p.w.a().tcp().time_wait_count(), 1u) << "the TIME-WAIT record";
  // Within a second of TIME-WAIT the tuple is still taken.
  EXPECT_EQ(p.connect(err), nullptr);
  EXPECT_EQ(err, TcpError::port_in_use);
  p.w.run_for(1100 * kMillisecond);
  c = p.connect(err);
  ASSERT_NE(c, nullptr) << "timestamps make the old incarnation's segments recognisable";
  ASSERT_TRUE(p.w.run_until([&] { return p.client.connected == 2 && p.server.accepted == 2; },
                            5 * kSecond));
  EXPECT_EQ(p.server.accepted, 2);
  EXPECT_EQ(p.w.a().counters().get(base::Counter::tcp_time_wait_recycled), 1u);
}

TEST(TimeWaitReuse, PassiveSideInTimeWaitAcceptsANewerSyn) {
  Pair p(true);  // the server closes first: its side ends in TIME-WAIT
  TcpError err;
  Conn* c = p.connect(err);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(p.w.run_until([&] { return p.client.closed == 1; }, 5 * kSecond));
  p.w.run_for(100 * kMillisecond);
  ASSERT_EQ(p.w.b().tcp().time_wait_count(), 1u) << "the server's TIME-WAIT record";
  ASSERT_EQ(p.w.a().tcp().connections(), 0u);
  // RFC 6191: the new SYN's timestamp is newer than the old connection's: accepted.
  c = p.connect(err);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(p.w.run_until([&] { return p.client.connected == 2 && p.server.accepted == 2; },
                            5 * kSecond));
  EXPECT_EQ(p.server.accepted, 2);
  EXPECT_EQ(p.w.b().counters().get(base::Counter::tcp_time_wait_recycled), 1u);
}

}  // namespace
}  // namespace pollux::sim

namespace pollux::sim {
namespace {

// A generator cycling connections faster than TIME-WAIT ends: once every ephemeral port is
// held by our own TIME-WAIT, connect() takes the next one as soon as reuse is safe, without
// a failure and without waiting out 2 MSL.
TEST(TimeWaitReuse, AFullEphemeralRangeRecyclesItsOwnTimeWaitTuples) {
  WorldConfig wc = Pair::make_config();
  wc.a.tcp.ephemeral_first = 50000;
  wc.a.tcp.ephemeral_last = 50007;  // eight ports
  Pair p(false, wc);
  open_and_close_eight(p, 0);
  EXPECT_EQ(p.w.a().tcp().time_wait_count(), 8u) << "eight tuples in TIME-WAIT";
  TcpError err;
  EXPECT_EQ(p.w.a().tcp().connect(kIpA, kIpB, 7, &p.cev, &p.client, 0, {}, err, p.w.now()),
            nullptr);
  EXPECT_EQ(err, TcpError::no_ephemeral_port) << "within a second nothing is safe to reuse";
  p.w.run_for(1100 * kMillisecond);
  open_and_close_eight(p, 1);
  EXPECT_EQ(p.w.a().counters().get(base::Counter::tcp_time_wait_recycled), 8u);
  EXPECT_EQ(p.server.accepted, 16);
}

// Session 13's collapse at the first port wrap: with every port of a destination in
// TIME-WAIT that may not be reused yet, each connect() used to look at every port before
// failing (55k lookups for pollux-gen), so a generator retrying on every loop turn spent its
// lcore walking. One walk now; later calls fail at once until a TIME-WAIT met on the way
// reaches its second (RFC 6191 with timestamps) or some tuple is freed, such as the one of
// a connection that ends without TIME-WAIT.
TEST(TimeWaitReuse, WithEveryPortHeldConnectFailsAtOnceUntilAPortCanComeBack) {
  WorldConfig wc = Pair::make_config();
  wc.a.tcp.ephemeral_first = 50000;
  wc.a.tcp.ephemeral_last = 50007;  // eight ports
  Pair p(false, wc);
  tcp::TcpLayer& a = p.w.a().tcp();
  auto walks = [&] { return p.w.a().counters().get(base::Counter::tcp_ephemeral_range_walks); };
  open_and_close_eight(p, 0);  // eight tuples in the client's TIME-WAIT
  // A second on they may be reused: one connection stays open, seven close again.
  p.w.run_for(1100 * kMillisecond);
  TcpError err;
  Conn* open = a.connect(kIpA, kIpB, 7, &p.cev, &p.client, 0, {}, err, p.w.now());
  ASSERT_NE(open, nullptr);
  ASSERT_TRUE(p.w.run_until([&] { return p.client.connected == 9; }, kSecond));
  std::vector<Conn*> more;
  for (int i = 0; i < 7; ++i) {
    more.push_back(a.connect(kIpA, kIpB, 7, &p.cev, &p.client, 0, {}, err, p.w.now()));
    ASSERT_NE(more.back(), nullptr) << i;
  }
  ASSERT_TRUE(p.w.run_until([&] { return p.client.connected == 16; }, kSecond));
  for (Conn* c : more) a.close(c);
  ASSERT_TRUE(p.w.run_until([&] { return p.client.closed == 15; }, kSecond));
  const uint64_t tw_start = p.w.now();  // within a step or two of the seven TIME-WAITs
  // Every port is held: seven fresh TIME-WAITs and one open connection.
  EXPECT_EQ(a.connect(kIpA, kIpB, 7, &p.cev, &p.client, 0, {}, err, p.w.now()), nullptr);
  EXPECT_EQ(err, TcpError::no_ephemeral_port);
  const uint64_t walks_after_first = walks();
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(a.connect(kIpA, kIpB, 7, &p.cev, &p.client, 0, {}, err, p.w.now()), nullptr);
    ASSERT_EQ(err, TcpError::no_ephemeral_port);
    p.w.run_for(100 * kMicrosecond);
  }
  EXPECT_EQ(walks(), walks_after_first) << "a thousand failures, no second walk";
  EXPECT_EQ(p.w.a().counters().get(base::Counter::tcp_no_ephemeral_port), 1001u);
  // The open connection ends without TIME-WAIT on our side (we abort it): its port is free
  // at once, and the next connect() walks again and finds it.
  a.abort(open);
  ASSERT_TRUE(p.w.run_until([&] { return p.client.closed == 16; }, kSecond));
  Conn* c = a.connect(kIpA, kIpB, 7, &p.cev, &p.client, 0, {}, err, p.w.now());
  ASSERT_NE(c, nullptr) << "the freed port, found by a new walk";
  EXPECT_EQ(walks(), walks_after_first);  // a walk that finds a port is not counted
  ASSERT_TRUE(p.w.run_until([&] { return p.client.connected == 17; }, kSecond));
  // Full again; the seven TIME-WAITs become reusable a second after they began, not later.
  EXPECT_EQ(a.connect(kIpA, kIpB, 7, &p.cev, &p.client, 0, {}, err, p.w.now()), nullptr);
  ASSERT_TRUE(p.w.run_until(
      [&] { return a.connect(kIpA, kIpB, 7, &p.cev, &p.client, 0, {}, err, p.w.now()) != nullptr; },
      2 * kSecond));
  EXPECT_GE(p.w.now() - tw_start, 995 * kMillisecond);
  EXPECT_LE(p.w.now() - tw_start, 1002 * kMillisecond);
  EXPECT_LE(walks(), walks_after_first + 2);
}

}  // namespace
}  // namespace pollux::sim

namespace pollux::sim {
namespace {

// Issue 12.1 and issue 13 item 5: a generator cycling connections faster than TIME-WAIT ends
// does not fill its TCB table with it. The TIME-WAITs are records outside the table: with 8
// TCBs and 16 ports, eight connections in TIME-WAIT leave the table empty and the next eight
// open at once on the free ports; then every port is held, and connect() recycles a record
// once reuse is safe (RFC 6191, timestamps).
TEST(TimeWaitReuse, TimeWaitDoesNotFillTheTableOfAnActiveOpener) {
  WorldConfig wc = Pair::make_config();
  wc.a.tcp.max_connections = 8;
  wc.a.tcp.ephemeral_first = 50000;
  wc.a.tcp.ephemeral_last = 50015;  // twice as many ports as TCBs
  Pair p(false, wc);
  open_and_close_eight(p, 0);
  EXPECT_EQ(p.w.a().tcp().connections(), 0u) << "TIME-WAIT holds no TCB";
  EXPECT_EQ(p.w.a().tcp().time_wait_count(), 8u);
  open_and_close_eight(p, 1);  // within the first second: the other eight ports
  EXPECT_EQ(p.w.a().tcp().time_wait_count(), 16u);
  TcpError err;
  EXPECT_EQ(p.w.a().tcp().connect(kIpA, kIpB, 7, &p.cev, &p.client, 0, {}, err, p.w.now()),
            nullptr);
  EXPECT_EQ(err, TcpError::no_ephemeral_port) << "every port in TIME-WAIT, none safe to reuse";
  p.w.run_for(1100 * kMillisecond);
  open_and_close_eight(p, 2);
  EXPECT_EQ(p.w.a().counters().get(base::Counter::tcp_time_wait_recycled), 8u);
  EXPECT_EQ(p.server.accepted, 24);
  EXPECT_EQ(p.w.a().tcp().connections(), 0u);
}

// The other half of issue 12.1 with records: a TIME-WAIT record holds no TCB, so with the
// table full of open connections connect() fails as "table full" and leaves every record in
// place (ending one early would lose the old pair's protection for nothing), by ephemeral
// port and by explicit port alike. Once a TCB is free, the explicit port's record is
// recycled (RFC 6191 with timestamps, a second on) for the new connection.
TEST(TimeWaitReuse, AFullTableSpendsNoTimeWaitRecord) {
  WorldConfig wc = Pair::make_config();
  wc.a.tcp.max_connections = 8;
  wc.a.tcp.ephemeral_first = 50000;
  wc.a.tcp.ephemeral_last = 50015;
  Pair p(false, wc);
  tcp::TcpLayer& a = p.w.a().tcp();
  std::vector<uint16_t> tw_ports;
  for (int i = 0; i < 8; ++i) {
    TcpError err;
    Conn* c = a.connect(kIpA, kIpB, 7, &p.cev, &p.client, 0, {}, err, p.w.now());
    ASSERT_NE(c, nullptr) << i;
    tw_ports.push_back(tcp::TcpLayer::tuple(c).local_port);
    ASSERT_TRUE(p.w.run_until([&] { return p.client.connected == i + 1; }, 5 * kSecond));
    a.close(c);
    ASSERT_TRUE(p.w.run_until([&] { return p.client.closed == i + 1; }, 5 * kSecond));
  }
  ASSERT_EQ(a.time_wait_count(), 8u);
  p.w.run_for(1100 * kMillisecond);  // every record may now be reused
  std::vector<Conn*> open;
  for (int i = 0; i < 8; ++i) {
    TcpError err;
    open.push_back(a.connect(kIpA, kIpB, 7, &p.cev, &p.client, 0, {}, err, p.w.now()));
    ASSERT_NE(open.back(), nullptr) << i;
    ASSERT_TRUE(p.w.run_until([&] { return p.client.connected == 8 + i + 1; }, 5 * kSecond));
  }
  ASSERT_EQ(a.connections(), 8u) << "the table is full of open connections";
  const uint64_t recycled = p.w.a().counters().get(base::Counter::tcp_time_wait_recycled);
  const size_t records = a.time_wait_count();
  TcpError err;
  EXPECT_EQ(a.connect(kIpA, kIpB, 7, &p.cev, &p.client, 0, {}, err, p.w.now()), nullptr);
  EXPECT_EQ(err, TcpError::table_full);
  EXPECT_EQ(a.connect(kIpA, kIpB, 7, &p.cev, &p.client, tw_ports[0], {}, err, p.w.now()), nullptr);
  EXPECT_EQ(err, TcpError::table_full);
  EXPECT_EQ(p.w.a().counters().get(base::Counter::tcp_time_wait_recycled), recycled);
  EXPECT_EQ(a.time_wait_count(), records);
  EXPECT_EQ(a.state_of(net::FourTuple{kIpA, kIpB, tw_ports[0], 7}), tcp::State::time_wait);
  // One open connection closes: its TCB is free, and the record gives way to a new one.
  a.close(open[0]);
  ASSERT_TRUE(p.w.run_until([&] { return p.client.closed == 9; }, 5 * kSecond));
  ASSERT_EQ(a.connections(), 7u);
  Conn* c = a.connect(kIpA, kIpB, 7, &p.cev, &p.client, tw_ports[0], {}, err, p.w.now());
  ASSERT_NE(c, nullptr) << static_cast<int>(err);
  EXPECT_EQ(p.w.a().counters().get(base::Counter::tcp_time_wait_recycled), recycled + 1);
  EXPECT_TRUE(p.w.run_until([&] { return p.client.connected == 17; }, 5 * kSecond));
}

}  // namespace
}  // namespace pollux::sim

namespace pollux::sim {
namespace {

// Issue 12.1: pollux-gen opens from a second source address once the first one's ephemeral
// ports are all held, and the connection from it completes (the address is ours: ARP and
// the reply reach it).
TEST(SourceAddresses, TheSecondAddressIsUsedWhenTheFirstsPortsAreExhausted) {
  constexpr net::Ipv4Addr kIpA2 = net::make_ipv4(10, 0, 0, 3);
  WorldConfig wc = Pair::make_config();
  wc.a.iface.addrs.push_back(net::Ipv4Prefix{kIpA2, 24});
  wc.a.tcp.ephemeral_first = 50000;
  wc.a.tcp.ephemeral_last = 50007;  // eight ports per source address
  Pair p(false, wc);
  apps::SourceAddresses sources({kIpA, kIpA2});
  auto open = [&](TcpError& err) {
    return sources.open(
        [&](net::Ipv4Addr src, TcpError& e) {
          return p.w.a().tcp().connect(src, kIpB, 7, &p.cev, &p.client, 0, {}, e, p.w.now());
        },
        err);
  };
  for (int i = 0; i < 8; ++i) {
    TcpError err;
    Conn* c = open(err);
    ASSERT_NE(c, nullptr) << i << " error " << static_cast<int>(err);
    EXPECT_EQ(tcp::TcpLayer::tuple(c).local_ip, kIpA) << "the first address until it runs short";
  }
  ASSERT_TRUE(p.w.run_until([&] { return p.client.connected == 8; }, 5 * kSecond));
  TcpError err;
  Conn* c = open(err);
  ASSERT_NE(c, nullptr) << "error " << static_cast<int>(err);
  EXPECT_EQ(tcp::TcpLayer::tuple(c).local_ip, kIpA2);
  EXPECT_EQ(sources.moves(), 1u);
  EXPECT_TRUE(
      p.w.run_until([&] { return p.client.connected == 9 && p.server.accepted == 9; }, 5 * kSecond))
      << "connected " << p.client.connected << ", accepted " << p.server.accepted;
  // The second address stays in use while it has ports.
  c = open(err);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(tcp::TcpLayer::tuple(c).local_ip, kIpA2);
  // With both exhausted, the error says so.
  for (int i = 0; i < 6; ++i) ASSERT_NE(open(err), nullptr);
  EXPECT_EQ(open(err), nullptr);
  EXPECT_EQ(err, TcpError::no_ephemeral_port);
}

}  // namespace
}  // namespace pollux::sim

namespace pollux::sim {
namespace {

// Issue 13 item 5, issue 14 item 3: a server that closes first leaves each connection in its
// own TIME-WAIT for 2 MSL. Those are 64-byte records outside the connection table, so
// thousands of them never fill a 16-TCB table: its count comes back to the open connections
// (none) after each, and a store of 64 records drops its oldest early, counted, once full.
TEST(TimeWaitRecords, AServerClosingFirstThousandsOfTimesDoesNotFillItsTable) {
  WorldConfig wc = Pair::make_config();
  wc.b.tcp.max_connections = 16;
  wc.b.tcp.time_wait_records = 64;
  Pair p(true, wc);  // the server closes at accept: its side ends in TIME-WAIT
  constexpr int kConnections = 2000;
  for (int i = 0; i < kConnections; ++i) {
    TcpError err;
    Conn* c = p.w.a().tcp().connect(kIpA, kIpB, 7, &p.cev, &p.client, 0, {}, err, p.w.now());
    ASSERT_NE(c, nullptr) << "connection " << i << " error " << static_cast<int>(err);
    ASSERT_TRUE(p.w.run_until([&] { return p.client.closed == i + 1; }, 5 * kSecond)) << i;
    ASSERT_TRUE(p.w.run_until([&] { return p.w.b().tcp().connections() == 0; }, kSecond)) << i;
  }
  EXPECT_EQ(p.server.accepted, kConnections);
  EXPECT_EQ(p.w.b().tcp().connections(), 0u);
  EXPECT_EQ(p.w.b().tcp().time_wait_count(), 64u);
  EXPECT_EQ(p.w.b().counters().get(base::Counter::tcp_time_wait_evicted),
            static_cast<uint64_t>(kConnections - 64));
  EXPECT_EQ(p.w.b().counters().get(base::Counter::drop_tcp_table_full), 0u);
  EXPECT_LE(tcp::TimeWaitStore::bytes_per_record(), 64u);
}

}  // namespace
}  // namespace pollux::sim

namespace pollux::sim {
namespace {

// pollux-gen's cps mode in miniature (session 13's two collapses): `target` connections in
// flight from ephemeral ports, each sends a request, reads the whole response and closes
// first (so its tuple ends in the client's TIME-WAIT); the server answers and closes when
// the client does. A small port range makes the client wrap its ports within the run.
struct CpsLoop {
  explicit CpsLoop(const WorldConfig& wc, uint32_t concurrency) : w(wc), target(concurrency) {
    cev.connected = [](void* ctx, Conn* c) {
      auto* s = static_cast<CpsLoop*>(ctx);
      EXPECT_EQ(s->client().send(c, std::span<const uint8_t>(s->request, kRequest)), kRequest);
    };
    cev.readable = [](void* ctx, Conn* c) {
      auto* s = static_cast<CpsLoop*>(ctx);
      uint8_t buf[512];
      auto it = s->got.find(c);
      while (size_t n = s->client().read(c, buf, sizeof buf))
        if (it != s->got.end()) it->second += static_cast<uint32_t>(n);
      if (it == s->got.end() || it->second < kResponse) return;
      s->got.erase(it);
      --s->in_flight;
      ++s->done;
      s->client().close(c);
    };
    cev.closed = [](void* ctx, Conn* c, CloseReason) {
      auto* s = static_cast<CpsLoop*>(ctx);
      if (s->got.erase(c) == 0) return;  // finished with it already
      --s->in_flight;
      ++s->failed;
    };
    sev.readable = [](void* ctx, Conn* c) {
      auto* s = static_cast<CpsLoop*>(ctx);
      uint8_t buf[512];
      uint32_t& n = s->served[c];
      while (size_t k = s->server().read(c, buf, sizeof buf)) n += static_cast<uint32_t>(k);
      if (n < kRequest) return;
      EXPECT_EQ(s->server().send(c, std::span<const uint8_t>(s->response, kResponse)), kResponse);
      n = 0;
      if (s->server_closes) s->server().close(c);
    };
    sev.peer_closed = [](void* ctx, Conn* c) { static_cast<CpsLoop*>(ctx)->server().close(c); };
    sev.closed = [](void* ctx, Conn* c, CloseReason) {
      static_cast<CpsLoop*>(ctx)->served.erase(c);
    };
    EXPECT_EQ(server().listen(80, &sev, this), TcpError::ok);
    w.set_on_step([this](uint64_t now) {
      while (in_flight < target) {
        TcpError err;
        Conn* c = client().connect(kIpA, kIpB, 80, &cev, this, 0, {}, err, now);
        if (!c) {
          ++(err == TcpError::no_ephemeral_port ? no_port : failed);
          return;
        }
        got[c] = 0;
        ++in_flight;
      }
    });
  }
  tcp::TcpLayer& client() { return w.a().tcp(); }
  tcp::TcpLayer& server() { return w.b().tcp(); }
  [[nodiscard]] uint64_t count(Host h, base::Counter c) { return w.engine(h).counters().get(c); }
  [[nodiscard]] std::string summary() {
    std::string s = w.describe() + ": " + std::to_string(done) + " done, " +
                    std::to_string(failed) + " failed, " + std::to_string(no_port) +
                    " connect() without a port;";
    for (Host h : {Host::a, Host::b}) {
      s += h == Host::a ? " client" : " server";
      for (base::Counter c :
           {base::Counter::tcp_retrans_segs, base::Counter::tcp_rst_sent,
            base::Counter::drop_tcp_out_of_window, base::Counter::tcp_time_wait_recycled,
            base::Counter::tcp_time_wait_evicted, base::Counter::tcp_ephemeral_range_walks})
        s += " " + std::string(counter_name(c)) + " " + std::to_string(count(h, c));
      s += ";";
    }
    return s;
  }

  static constexpr uint32_t kRequest = 80, kResponse = 160;
  SimWorld w;
  uint32_t target;
  uint32_t in_flight = 0;
  bool server_closes = false;  // after its response, as for `Connection: close`
  uint64_t done = 0, failed = 0, no_port = 0;
  std::unordered_map<const Conn*, uint32_t> got, served;
  uint8_t request[kRequest] = {}, response[kResponse] = {};
  AppEvents cev, sev;
};

struct CpsCase {
  bool timestamps;
  bool server_closes;
};

WorldConfig cps_config(const CpsCase& k) {
  WorldConfig wc;
  wc.a.tcp.timestamps = wc.b.tcp.timestamps = k.timestamps;
  wc.a.tcp.ephemeral_first = 50000;
  wc.a.tcp.ephemeral_last = 50063;  // 64 ports: they wrap many times in the run
  wc.a.tcp.msl_ns = kSecond;        // pollux-gen's --time-wait 2000
  wc.b.tcp.msl_ns = 30 * kSecond;   // the server's lasts longer than the run
  wc.a_to_b.delay_ns = wc.b_to_a.delay_ns = 200 * kMicrosecond;
  return wc;
}

// Session 13's collapses, by the four ways a port comes back: with or without timestamps,
// TIME-WAIT on the client (it closes first, as pollux-gen does) or on the server (it closes
// first, as for `Connection: close`). In none does a connection fail, a segment go twice, a
// RST or an out-of-window segment appear:
//  - the client reuses its own TIME-WAIT tuple only with timestamps, a second on (RFC 6191
//    via PAWS), and otherwise waits for its end; in the meantime connect() fails at once,
//    without walking the 64 ports again and again (tcp_ephemeral_range_walks);
//  - the server, in TIME-WAIT, takes the new SYN of the same tuple as a new incarnation:
//    its TSval is newer (RFC 6191 2), or without timestamps its ISN lies above the old
//    RCV.NXT (RFC 9293 3.10.7.4, RFC 1122 4.2.2.13), which pollux's ISNs (RFC 6528: a 4 us
//    clock plus a hash of the tuple) guarantee once the tuple comes back after more than
//    (bytes received + 2) * 4 us.
class CpsCollapse : public ::testing::TestWithParam<CpsCase> {};

TEST_P(CpsCollapse, PortsComeBackWithoutFailuresRetransmissionsOrResets) {
  const CpsCase k = GetParam();
  CpsLoop l(cps_config(k), 8);
  l.server_closes = k.server_closes;
  l.w.run_for(3500 * kMillisecond);
  const std::string why = l.summary();
  EXPECT_EQ(l.failed, 0u) << why;
  for (Host h : {Host::a, Host::b}) {
    EXPECT_EQ(l.count(h, base::Counter::tcp_retrans_segs), 0u) << why;
    EXPECT_EQ(l.count(h, base::Counter::tcp_rst_sent), 0u) << why;
    EXPECT_EQ(l.count(h, base::Counter::drop_tcp_out_of_window), 0u) << why;
    EXPECT_EQ(l.count(h, base::Counter::tcp_challenge_acks), 0u) << why;
  }
  // Every port served a connection at 0 s and 2 s (the client's TIME-WAIT ended), with
  // timestamps also at 1 s and 3 s (reused a second on); with the server's TIME-WAIT, the
  // ports come back at once.
  EXPECT_GE(l.done, (k.server_closes ? 20u : k.timestamps ? 4u : 2u) * 64) << why;
  const uint64_t walks = l.count(Host::a, base::Counter::tcp_ephemeral_range_walks);
  if (k.server_closes) {
    EXPECT_EQ(l.no_port, 0u) << "the client holds no TIME-WAIT: " << why;
    EXPECT_GE(l.count(Host::b, base::Counter::tcp_time_wait_recycled), l.done - 64 - 8) << why;
  } else {
    EXPECT_GT(l.no_port, 0u) << "the client waited for its TIME-WAIT: " << why;
    EXPECT_EQ(l.count(Host::a, base::Counter::tcp_time_wait_recycled) > 0, k.timestamps) << why;
    // A walk only when a port may have come back: a TIME-WAIT reached its second (with
    // timestamps) or ended (without). Walking on every failed connect() was one per step.
    EXPECT_LE(walks, l.done) << why;
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, CpsCollapse,
                         ::testing::Values(CpsCase{true, false}, CpsCase{false, false},
                                           CpsCase{true, true}, CpsCase{false, true}),
                         [](const ::testing::TestParamInfo<CpsCase>& i) {
                           return std::string(i.param.timestamps ? "Timestamps" : "NoTimestamps") +
                                  (i.param.server_closes ? "ServerTimeWait" : "ClientTimeWait");
                         });

}  // namespace
}  // namespace pollux::sim
