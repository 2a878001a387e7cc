// Multi-core sharding in memory (issue 6): two hosts of four lcores each, every lcore a real
// engine with its own TCP, joined by a wire that plays the NIC's part in choosing the
// receive queue, in virtual time on one thread (the rings are SP/SC; each is touched by its
// two lcores' turns only). Thousands of connections are opened from every client lcore to
// an echo service listening on every server lcore; every byte is checked.
//
// Two NICs:
//  - rss:         the queue is the shard function (symmetric Toeplitz + RETA), what a NIC
//                 programmed at bring-up does. Nothing may need steering: steered_out == 0
//                 on every lcore of both hosts, which fails if active-open port selection,
//                 the key or the RETA disagree anywhere.
//  - kernel-hash: the queue comes from an unrelated per-flow hash, as net_tap's multi-queue
//                 tun and af_packet's PACKET_FANOUT_HASH choose it. Software steering must
//                 move about (n-1)/n of the TCP segments and the result must be the same.
// In both, every TCP segment an engine processes is checked to belong to that engine's shard
// (the "processed on the owner" property) and every connection's callbacks run on the
// lcore that opened or accepted it.
#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <cstdio>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine.hpp"
#include "engine/rss.hpp"
#include "engine/steering.hpp"
#include "window_rule.hpp"

namespace pollux::engine {
namespace {

using net::make_ipv4;

enum class Nic { rss, kernel_hash };

constexpr uint16_t kEchoPort = 7;
constexpr uint64_t kStepNs = 20'000;  // one wire hop per turn

struct PoolDeleter {
  void operator()(rte_mempool* p) const { rte_mempool_free(p); }
};

uint8_t pattern(uint32_t conn_id, uint64_t offset) {
  return static_cast<uint8_t>(conn_id * 131 + offset * 7 + (offset >> 8));
}

struct Host;

// Client side: per lcore, opens `total` connections, `concurrency` at a time; each sends
// `size` bytes, reads the echo, checks it and closes.
struct Client;
struct ClientConn {
  Client* owner = nullptr;
  uint32_t id = 0;
  uint64_t size = 0, sent = 0, received = 0;
  bool bad = false;
};
struct Client {
  Host* host = nullptr;
  uint16_t lcore = 0;
  uint32_t total = 0, concurrency = 0, started = 0, active = 0;
  uint32_t completed = 0, failed = 0, wrong_lcore = 0, connect_errors = 0;
  uint64_t bulk_bytes = 0;
  std::deque<ClientConn> conns;  // stable addresses
};

struct Server {
  Host* host = nullptr;
  uint16_t lcore = 0;
  uint32_t accepted = 0, wrong_lcore = 0;
};

struct Host {
  net::Ipv4Addr ip;
  net::MacAddr mac;
  uint16_t lcores;
  ShardMap map;
  std::unique_ptr<SteeringMesh> mesh;
  std::vector<std::unique_ptr<Engine>> engines;
  std::vector<std::unique_ptr<Steerer>> steerers;
  std::vector<std::deque<rte_mbuf*>> rxq;  // the device's receive queues
  uint64_t misrouted = 0;                  // TCP segments processed off their owner

  Host(const char* name, net::Ipv4Addr a, uint8_t last_mac_byte, uint16_t n, rte_mempool* pool)
      : ip(a), mac{{0x02, 0, 0, 0, 0, last_mac_byte}}, lcores(n), map(n), rxq(n) {
    std::string err;
    mesh = SteeringMesh::create(name, n, 1024, SOCKET_ID_ANY, err);
    EXPECT_NE(mesh, nullptr) << err;
    for (uint16_t i = 0; i < n; ++i) {
      EngineConfig c;
      c.iface.mac = mac;
      c.iface.addrs = {net::Ipv4Prefix{ip, 24}};
      c.tcp.max_connections = 4096;
      c.tcp.ooo_queues = 64;
      c.tcp.msl_ns = 100'000'000;  // short TIME-WAIT: ports and TCBs recycle in the run
      c.lcore_index = i;
      c.shards = &map;
      engines.push_back(std::make_unique<Engine>(c, pool));
      steerers.push_back(std::make_unique<Steerer>(*mesh, map, i, engines[i]->counters()));
    }
  }
  ~Host() {
    steerers.clear();
    engines.clear();
    for (auto& q : rxq)
      for (rte_mbuf* m : q) rte_pktmbuf_free(m);
  }
  uint64_t sum(base::Counter c) const {
    uint64_t s = 0;
    for (const auto& e : engines) s += e->counters().get(c);
    return s;
  }
  void check_owner(uint16_t lcore, rte_mbuf* const* pkts, uint16_t n) {
    for (uint16_t i = 0; i < n; ++i) {
      RxTuple t;
      if (rx_tcp_tuple({rte_pktmbuf_mtod(pkts[i], const uint8_t*), rte_pktmbuf_data_len(pkts[i])},
                       t) &&
          map.shard_of_hash(map.hash_rx(t.src, t.dst, t.sport, t.dport)) != lcore)
        ++misrouted;
    }
  }
};

// Event callbacks --------------------------------------------------------------------------

void client_send(tcp::TcpLayer& tcp, Conn* c, ClientConn& cc) {
  uint8_t buf[4096];
  while (cc.sent < cc.size) {
    const size_t len = std::min<uint64_t>(sizeof buf, cc.size - cc.sent);
    for (size_t i = 0; i < len; ++i) buf[i] = pattern(cc.id, cc.sent + i);
    const size_t n = tcp.send(c, {buf, len});
    cc.sent += n;
    if (n < len) break;  // `writable` follows
  }
}

tcp::TcpLayer& tcp_of(Client& cl) {
  return cl.host->engines[cl.lcore]->tcp();
}

const AppEvents kClientEvents{
    .accepted = nullptr,
    .connected =
        [](void* ctx, Conn* c) {
          auto& cc = *static_cast<ClientConn*>(ctx);
          Client& cl = *cc.owner;
          if (cl.host->map.shard_of(tcp::TcpLayer::tuple(c)) != cl.lcore) ++cl.wrong_lcore;
          client_send(tcp_of(cl), c, cc);
        },
    .readable =
        [](void* ctx, Conn* c) {
          auto& cc = *static_cast<ClientConn*>(ctx);
          auto& tcp = tcp_of(*cc.owner);
          uint8_t buf[4096];
          while (size_t n = tcp.read(c, buf, sizeof buf)) {
            for (size_t i = 0; i < n; ++i)
              if (buf[i] != pattern(cc.id, cc.received + i)) cc.bad = true;
            cc.received += n;
          }
          if (cc.received >= cc.size) tcp.close(c);
        },
    .writable =
        [](void* ctx, Conn* c) {
          client_send(tcp_of(*static_cast<ClientConn*>(ctx)->owner), c,
                      *static_cast<ClientConn*>(ctx));
        },
    .peer_closed = nullptr,
    .closed =
        [](void* ctx, Conn*, CloseReason why) {
          auto& cc = *static_cast<ClientConn*>(ctx);
          Client& cl = *cc.owner;
          --cl.active;
          if (why == CloseReason::normal && cc.received == cc.size && !cc.bad)
            ++cl.completed;
          else
            ++cl.failed;
        },
};

const AppEvents kEchoEvents{
    .accepted =
        [](void* ctx, Conn* c) {
          auto& s = *static_cast<Server*>(ctx);
          ++s.accepted;
          if (s.host->map.shard_of(tcp::TcpLayer::tuple(c)) != s.lcore) ++s.wrong_lcore;
        },
    .connected = nullptr,
    .readable =
        [](void* ctx, Conn* c) {
          // Zero-copy echo: send straight from the received mbufs' bytes and release what
          // the send queue took; a short send arms `writable`, which comes back here.
          auto& s = *static_cast<Server*>(ctx);
          auto& tcp = s.host->engines[s.lcore]->tcp();
          tcp::ByteSpan spans[16];
          while (const size_t k = tcp.peek(c, spans, 16)) {
            for (size_t i = 0; i < k; ++i) {
              const size_t n = tcp.send(c, {spans[i].data, spans[i].len});
              tcp.consume(c, static_cast<uint32_t>(n));
              if (n < spans[i].len) return;
            }
          }
          // The peer's FIN came while data was still waiting: close once it is all echoed.
          if (tcp::TcpLayer::user(c) && tcp.readable_bytes(c) == 0) tcp.close(c);
        },
    .writable = [](void* ctx, Conn* c) { kEchoEvents.readable(ctx, c); },
    .peer_closed =
        [](void* ctx, Conn* c) {
          auto& s = *static_cast<Server*>(ctx);
          auto& tcp = s.host->engines[s.lcore]->tcp();
          tcp::TcpLayer::set_user(c, c);  // marks "peer closed" for the echo path
          if (tcp.readable_bytes(c) == 0) tcp.close(c);
        },
    .closed = nullptr,
};

// The world ---------------------------------------------------------------------------------

class ShardedWorld {
 public:
  ShardedWorld(uint16_t lcores, Nic nic, rte_mempool* pool, const char* tag)
      : nic_(nic),
        client_host_((std::string("c") + tag).c_str(), make_ipv4(10, 6, 0, 1), 1, lcores, pool),
        server_host_((std::string("s") + tag).c_str(), make_ipv4(10, 6, 0, 2), 2, lcores, pool),
        clients_(lcores),
        servers_(lcores) {
    for (uint16_t i = 0; i < lcores; ++i) {
      servers_[i].host = &server_host_;
      servers_[i].lcore = i;
      EXPECT_EQ(server_host_.engines[i]->tcp().listen(kEchoPort, &kEchoEvents, &servers_[i], 1024),
                TcpError::ok);
      clients_[i].host = &client_host_;
      clients_[i].lcore = i;
    }
    for (Host* h : {&client_host_, &server_host_})
      for (auto& e : h->engines) e->start(now_);
  }

  void set_load(uint32_t per_lcore, uint32_t concurrency, uint64_t size, uint64_t bulk) {
    for (auto& c : clients_) {
      c.total = per_lcore;
      c.concurrency = concurrency;
      c.bulk_bytes = bulk;
      size_ = size;
    }
  }

  bool done() const {
    for (const auto& c : clients_)
      if (c.completed + c.failed + c.connect_errors < c.total) return false;
    return true;
  }

  // Runs until every connection ended or `limit_ns` of virtual time passed.
  void run(uint64_t limit_ns) {
    const uint64_t end = now_ + limit_ns;
    while (!done() && now_ < end) {
      const bool moved = turn();
      // Nothing on the wire: skip ahead to where timers (delayed ACK, TIME-WAIT) matter.
      now_ += moved ? kStepNs : 1'000'000;
    }
    // Let the last FINs and TIME-WAITs play out.
    for (int i = 0; i < 2000; ++i, now_ += 1'000'000) turn();
  }

  Host& client_host() { return client_host_; }
  Host& server_host() { return server_host_; }
  const std::vector<Client>& clients() const { return clients_; }
  const std::vector<Server>& servers() const { return servers_; }

 private:
  void open_connections(Client& cl) {
    auto& tcp = tcp_of(cl);
    while (cl.active < cl.concurrency && cl.started < cl.total) {
      ClientConn& cc = cl.conns.emplace_back();
      cc.owner = &cl;
      cc.id = cl.lcore * 1'000'000u + cl.started;
      cc.size = cl.started == 0 && cl.bulk_bytes ? cl.bulk_bytes : size_;
      ++cl.started;
      TcpError err;
      Conn* c = tcp.connect(client_host_.ip, server_host_.ip, kEchoPort, &kClientEvents, &cc, 0, {},
                            err, now_);
      if (!c) {
        ++cl.connect_errors;
        continue;
      }
      ++cl.active;
    }
  }

  // The receive queue the NIC picks for a frame arriving at `to`.
  uint16_t rx_queue(const Host& to, rte_mbuf* m) const {
    RxTuple t;
    if (!rx_tcp_tuple({rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_data_len(m)}, t))
      return 0;  // what RSS does not hash goes to queue 0
    if (nic_ == Nic::rss)
      return to.map.shard_of_hash(to.map.hash_rx(t.src, t.dst, t.sport, t.dport));
    // A per-flow hash unrelated to Toeplitz (like the kernel's skb flow hash).
    return static_cast<uint16_t>(base::flow_bucket_hash(net::FourTuple{t.src, t.dst, t.sport, t.dport}) %
                                 to.lcores);
  }

  bool turn() {
    bool moved = false;
    for (Host* h : {&client_host_, &server_host_}) {
      Host& other = h == &client_host_ ? server_host_ : client_host_;
      for (uint16_t i = 0; i < h->lcores; ++i) {
        Engine& e = *h->engines[i];
        if (h == &client_host_) open_connections(clients_[i]);
        // RX: one burst from the queue, steered, then what siblings steered here.
        rte_mbuf* pkts[Steerer::kBurst];
        uint16_t n = 0;
        while (n < Steerer::kBurst && !h->rxq[i].empty()) {
          pkts[n++] = h->rxq[i].front();
          h->rxq[i].pop_front();
        }
        if (n) {
          moved = true;
          n = h->steerers[i]->distribute(pkts, n);
          h->check_owner(i, pkts, n);
          if (n) e.input(pkts, n, now_);
        }
        n = h->steerers[i]->collect(pkts, Steerer::kBurst);
        if (n) {
          moved = true;
          h->check_owner(i, pkts, n);
          e.input(pkts, n, now_);
        }
        // Neighbour sync (what the poller does over its rings).
        for (const NeighbourUpdate& u : e.neighbour_updates())
          for (uint16_t j = 0; j < h->lcores; ++j)
            if (j != i) h->engines[j]->neighbour_update(u, now_);
        e.clear_neighbour_updates();
        e.poll(now_);
        // TX: onto the wire, into the queue the other host's NIC picks.
        base::TxBatch& tx = e.tx();
        for (uint16_t k = 0; k < tx.size(); ++k) {
          rte_mbuf* m = tx.data()[k];
          // The window rule (window_rule.hpp) holds here too.
          const std::string breach = window_rule_.check(m);
          if (!breach.empty() && window_rule_.violations() <= 3) ADD_FAILURE() << breach;
          other.rxq[rx_queue(other, m)].push_back(m);
          moved = true;
        }
        tx.consume(tx.size());
      }
    }
    return moved;
  }

  Nic nic_;
  uint64_t now_ = 1'000'000'000;
  uint64_t size_ = 0;
  Host client_host_, server_host_;
  std::vector<Client> clients_;
  std::vector<Server> servers_;
  sim::WindowRule window_rule_;
};

class Sharded : public ::testing::TestWithParam<Nic> {
 protected:
  void SetUp() override {
    pool_.reset(rte_pktmbuf_pool_create(("sharded" + std::to_string(serial_++)).c_str(), 32767, 256,
                                        0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY));
    ASSERT_NE(pool_, nullptr);
  }
  std::unique_ptr<rte_mempool, PoolDeleter> pool_;
  static inline int serial_ = 0;
};

TEST_P(Sharded, FourLcoresEachSideThousandsOfConnectionsFromEveryLcore) {
  const Nic nic = GetParam();
  constexpr uint16_t kLcores = 4;
  constexpr uint32_t kPerLcore = 1500;
  const size_t free_before = rte_mempool_avail_count(pool_.get());
  {
    ShardedWorld w(kLcores, nic, pool_.get(), nic == Nic::rss ? "r" : "k");
    // Each lcore: 1500 connections, 48 at a time, 3000 bytes each way (three segments), and
    // one that echoes 2 MiB, so that long streams cross the steering rings too.
    w.set_load(kPerLcore, 48, 3000, 2u << 20);
    w.run(120ull * 1'000'000'000);

    uint64_t completed = 0;
    // Every connection ended (only TIME-WAIT may remain); what did not is shown like `ss`.
    size_t open = 0;
    for (Host* h : {&w.client_host(), &w.server_host()})
      for (auto& e : h->engines)
        e->tcp().for_each_connection([&](const Conn* c) {
          const ConnInfo ci = e->tcp().info(c);
          if (std::string_view(ci.state) == "TIME-WAIT") return;
          ++open;
          std::printf(
              "open: %s lcore %u %s port %u sent %lu acked %lu received %lu sndq %u "
              "rcvq %u snd_wnd %u rcv_wnd %u\n",
              h == &w.client_host() ? "client" : "server", e->lcore_index(), ci.state,
              tcp::TcpLayer::tuple(c).local_port, ci.bytes_sent, ci.bytes_acked, ci.bytes_received,
              ci.sndq_bytes, ci.rcvq_bytes, ci.snd_wnd, ci.rcv_wnd);
        });
    EXPECT_EQ(open, 0u);
    for (const Client& c : w.clients()) {
      EXPECT_EQ(c.completed, kPerLcore) << "client lcore " << c.lcore;
      EXPECT_EQ(c.failed, 0u) << "client lcore " << c.lcore;
      EXPECT_EQ(c.connect_errors, 0u) << "client lcore " << c.lcore;
      EXPECT_EQ(c.wrong_lcore, 0u) << "client lcore " << c.lcore;
      completed += c.completed;
    }
    EXPECT_EQ(completed, uint64_t{kLcores} * kPerLcore);
    for (const Server& s : w.servers()) {
      EXPECT_EQ(s.wrong_lcore, 0u);
      // The shard function spreads the accepted connections over every server lcore.
      EXPECT_GT(s.accepted, kLcores * kPerLcore / kLcores / 2) << "server lcore " << s.lcore;
    }
    for (Host* h : {&w.client_host(), &w.server_host()}) {
      EXPECT_EQ(h->misrouted, 0u);
      EXPECT_EQ(h->sum(base::Counter::drop_steer_ring_full), 0u);
      EXPECT_EQ(h->sum(base::Counter::tcp_rst_sent), 0u);
      EXPECT_EQ(h->sum(base::Counter::steered_in), h->sum(base::Counter::steered_out));
      const uint64_t segs = h->sum(base::Counter::tcp_segs_in);
      const uint64_t steered = h->sum(base::Counter::steered_out);
      if (nic == Nic::rss) {
        // Programmed RSS: no cross-lcore message at all.
        for (const auto& e : h->engines) EXPECT_EQ(e->counters().get(base::Counter::steered_out), 0u);
      } else {
        // An unrelated hash agrees with the owner for about 1 in 4 segments.
        EXPECT_GT(steered, segs / 2);
        EXPECT_LT(steered, segs);
      }
      std::printf("[ host %s ] tcp_segs_in %lu steered %lu (%s)\n",
                  h == &w.client_host() ? "client" : "server", static_cast<unsigned long>(segs),
                  static_cast<unsigned long>(steered), nic == Nic::rss ? "rss" : "kernel-hash");
    }
  }
  // Every mbuf came back: nothing leaked in rings, queues or connections.
  EXPECT_EQ(rte_mempool_avail_count(pool_.get()), free_before);
}

INSTANTIATE_TEST_SUITE_P(Nics, Sharded, ::testing::Values(Nic::rss, Nic::kernel_hash),
                         [](const auto& info) {
                           return info.param == Nic::rss ? std::string("rss")
                                                         : std::string("kernel_hash");
                         });

}  // namespace
}  // namespace pollux::engine
