// Exhaustion (issue 14 item 9): every resource the data path draws from can run out, and
// when it does the stack counts it, loses nothing it promised to deliver, and carries on by
// itself once the resource comes back. Each scenario runs two real engines in virtual time:
//   - the mbuf pool empty while a transfer is in flight (neither side can build a segment:
//     the sender's data, the receiver's ACKs), then given back;
//   - the pool empty when connect() sends its SYN;
//   - a TX ring that takes nothing while a burst of connections opens, so that the engine's
//     TX batch overflows;
//   - the connection table full (tests/sim/tcp_states_test.cpp, TcpLimits) and TIME-WAIT
//     pressure (TimeWait tests) are covered beside the states they concern; the steering
//     ring (tests/unit/engine/steering_test.cpp) beside the steering.
#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "sim_world.hpp"
#include "tcp/tcp_layer.hpp"

namespace pollux::sim {
namespace {

using base::Counter;
using tcp::State;
using tcp::TcpLayer;

constexpr uint16_t kPort = 80;

// One application per host: the sender writes a known pattern as space opens, the
// receiver reads everything, both sides close when the peer does.
struct App {
  TcpLayer* tcp = nullptr;
  std::string to_send;  // what the connecting side writes, once connected, then closes
  size_t sent = 0;
  std::string rx;
  int connected = 0, accepted = 0, closed = 0;
  std::vector<CloseReason> reasons;

  void pump(Conn* c) {
    while (sent < to_send.size()) {
      const size_t n = tcp->send(
          c, {reinterpret_cast<const uint8_t*>(to_send.data()) + sent, to_send.size() - sent});
      if (n == 0) return;
      sent += n;
      if (sent == to_send.size()) tcp->close(c);
    }
  }
};
App& app(void* ctx) {
  return *static_cast<App*>(ctx);
}
const AppEvents kEvents{
    .accepted = [](void* ctx, Conn*) { ++app(ctx).accepted; },
    .connected =
        [](void* ctx, Conn* c) {
          ++app(ctx).connected;
          app(ctx).pump(c);
        },
    .readable =
        [](void* ctx, Conn* c) {
          uint8_t buf[4096];
          while (size_t n = app(ctx).tcp->read(c, buf, sizeof buf))
            app(ctx).rx.append(reinterpret_cast<char*>(buf), n);
        },
    .writable = [](void* ctx, Conn* c) { app(ctx).pump(c); },
    .peer_closed = [](void* ctx, Conn* c) { app(ctx).tcp->close(c); },
    .closed =
        [](void* ctx, Conn*, CloseReason why) {
          ++app(ctx).closed;
          app(ctx).reasons.push_back(why);
        },
};

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

WorldConfig config(uint64_t seed = 1) {
  WorldConfig c;
  c.seed = seed;
  c.a_to_b.delay_ns = 5 * kMillisecond;
  c.b_to_a.delay_ns = 5 * kMillisecond;
  return c;
}

// Takes every free mbuf out of the pool until given back (as a peer pinning memory, or
// another lcore's burst, would).
class PoolDrain {
 public:
  explicit PoolDrain(rte_mempool* pool) {
    while (rte_mbuf* m = rte_pktmbuf_alloc(pool)) held_.push_back(m);
  }
  ~PoolDrain() { release(); }
  void release() {
    for (rte_mbuf* m : held_) rte_pktmbuf_free(m);
    held_.clear();
  }
  [[nodiscard]] size_t held() const { return held_.size(); }

 private:
  std::vector<rte_mbuf*> held_;
};

TEST(Exhaustion, AnEmptyPoolMidTransferIsCountedOnBothSidesAndTheTransferCompletesIntact) {
  SimWorld w(config());
  App sender, receiver;
  sender.tcp = &w.a().tcp();
  receiver.tcp = &w.b().tcp();
  sender.to_send = pattern(2 << 20);
  ASSERT_EQ(receiver.tcp->listen(kPort, &kEvents, &receiver), TcpError::ok);
  TcpError e;
  Conn* c = sender.tcp->connect(kIpA, kIpB, kPort, &kEvents, &sender, 0, {}, e, w.now());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(w.run_until([&] { return receiver.rx.size() >= (512u << 10); }, 10 * kSecond))
      << w.describe();

  // Two seconds without a single mbuf: both engines try (the sender's retransmission timer,
  // the receiver's ACKs for what was in flight) and count every failure.
  const uint64_t no_mbuf_a = w.a().counters().get(Counter::drop_tcp_no_mbuf);
  const uint64_t no_mbuf_b = w.b().counters().get(Counter::drop_tcp_no_mbuf);
  const size_t rx_before = receiver.rx.size();
  {
    PoolDrain drain(w.pool());
    ASSERT_GT(drain.held(), 0u);
    w.run_for(2 * kSecond);
    EXPECT_GT(w.a().counters().get(Counter::drop_tcp_no_mbuf), no_mbuf_a) << w.describe();
    EXPECT_GT(w.b().counters().get(Counter::drop_tcp_no_mbuf), no_mbuf_b) << w.describe();
    EXPECT_EQ(TcpLayer::state(c), State::established) << "nothing gives up in 2 s";
  }
  EXPECT_GT(receiver.rx.size(), rx_before) << "what was in flight was delivered";

  // Given back, the transfer resumes by itself (timers retry) and every byte arrives once.
  ASSERT_TRUE(w.run_until([&] { return sender.closed == 1 && receiver.closed == 1; }, 60 * kSecond))
      << w.describe() << " rx " << receiver.rx.size();
  EXPECT_EQ(receiver.rx, sender.to_send);
  EXPECT_EQ(sender.reasons, std::vector<CloseReason>{CloseReason::normal});
  EXPECT_EQ(w.shutdown(), 0u) << "mbufs leaked";
}

TEST(Exhaustion, ASynThatCannotBeBuiltIsRetriedAndTheConnectionOpensOnceMbufsReturn) {
  SimWorld w(config());
  App client, server;
  client.tcp = &w.a().tcp();
  server.tcp = &w.b().tcp();
  client.to_send = pattern(1000);
  ASSERT_EQ(server.tcp->listen(kPort, &kEvents, &server), TcpError::ok);
  // ARP first, so that the SYN is the only thing that needs an mbuf.
  {
    TcpError e;
    App warm;
    warm.tcp = client.tcp;
    ASSERT_NE(client.tcp->connect(kIpA, kIpB, kPort + 1, &kEvents, &warm, 0, {}, e, w.now()),
              nullptr);
    ASSERT_TRUE(w.run_until([&] { return warm.closed == 1; }, kSecond));
  }
  Conn* c = nullptr;
  {
    PoolDrain drain(w.pool());
    const uint64_t before = w.a().counters().get(Counter::drop_tcp_no_mbuf);
    TcpError e;
    c = client.tcp->connect(kIpA, kIpB, kPort, &kEvents, &client, 0, {}, e, w.now());
    ASSERT_NE(c, nullptr) << "a TCB is not an mbuf: connect() itself succeeds";
    w.run_for(500 * kMillisecond);
    EXPECT_GT(w.a().counters().get(Counter::drop_tcp_no_mbuf), before);
    EXPECT_EQ(server.accepted, 0);
    EXPECT_EQ(TcpLayer::state(c), State::syn_sent);
  }
  ASSERT_TRUE(w.run_until([&] { return server.rx.size() == client.to_send.size(); }, 10 * kSecond))
      << "the SYN's retransmission timer sends it once mbufs are back";
  EXPECT_EQ(server.rx, client.to_send);
  EXPECT_EQ(client.connected, 1);
  client.tcp->close(c);
  ASSERT_TRUE(w.run_until([&] { return client.closed == 1 && server.closed == 1; }, 10 * kSecond));
  EXPECT_EQ(w.shutdown(), 0u) << "mbufs leaked";
}

TEST(Exhaustion, ATxRingThatTakesNothingOverflowsTheBatchCountedAndEveryConnectionStillOpens) {
  // More SYNs at once than the TX batch holds while the device takes none of them: what
  // does not fit is freed and counted (drop_tx_full), never leaked or blocking; once the
  // ring drains, the SYN retransmission timers open every connection.
  constexpr int kConns = base::TxBatch::kCapacity + 476;
  WorldConfig cfg = config();
  cfg.pool_size = 16384;
  cfg.a.tcp.max_connections = cfg.b.tcp.max_connections = 4096;
  SimWorld w(cfg);
  App clients, server;
  clients.tcp = &w.a().tcp();
  server.tcp = &w.b().tcp();
  ASSERT_EQ(server.tcp->listen(kPort, &kEvents, &server, 4096), TcpError::ok);
  // ARP first (one connection to a closed port), so the burst is SYNs only.
  {
    TcpError e;
    App warm;
    warm.tcp = clients.tcp;
    ASSERT_NE(clients.tcp->connect(kIpA, kIpB, kPort + 1, &kEvents, &warm, 0, {}, e, w.now()),
              nullptr);
    ASSERT_TRUE(w.run_until([&] { return warm.closed == 1; }, kSecond));
  }
  w.set_tx_ring(Host::a, 0);
  std::vector<Conn*> conns;
  for (int i = 0; i < kConns; ++i) {
    TcpError e;
    Conn* c = clients.tcp->connect(kIpA, kIpB, kPort, &kEvents, &clients, 0, {}, e, w.now());
    ASSERT_NE(c, nullptr) << i << ": " << static_cast<int>(e);
    conns.push_back(c);
  }
  w.run_for(100 * kMillisecond);
  EXPECT_EQ(w.a().tx().size(), base::TxBatch::kCapacity) << "the batch waits for the ring";
  EXPECT_EQ(w.a().counters().get(Counter::drop_tx_full),
            uint64_t(kConns) - base::TxBatch::kCapacity);
  EXPECT_EQ(server.accepted, 0);

  // The ring drains slowly (64 frames per step) and then normally.
  w.set_tx_ring(Host::a, 64);
  ASSERT_TRUE(w.run_until([&] { return clients.connected == kConns; }, 10 * kSecond))
      << "connected " << clients.connected << " of " << kConns;
  ASSERT_TRUE(w.run_until([&] { return server.accepted == kConns; }, kSecond))
      << "accepted " << server.accepted << "; cookies "
      << w.b().counters().get(Counter::syn_cookies_sent) << " table full "
      << w.b().counters().get(Counter::drop_tcp_table_full) << " backlog full "
      << w.b().counters().get(Counter::drop_tcp_backlog_full);
  w.set_tx_ring(Host::a, -1);
  for (Conn* c : conns) clients.tcp->close(c);
  ASSERT_TRUE(w.run_until([&] { return clients.closed == kConns && server.closed == kConns; },
                          10 * kSecond))
      << "closed " << clients.closed << "/" << server.closed;
  EXPECT_EQ(w.shutdown(), 0u) << "mbufs leaked";
}

}  // namespace
}  // namespace pollux::sim
