// Several engines of one port, as drivers-glue sets them up for software steering: the shard
// function, one engine per lcore over a shared pool, and the steering mesh with a Steerer per
// lcore (not yet given to the engines: a test first shows what an engine does on its own).
// The lcores are played in turn on the calling thread: frames fed to one engine, what it
// steered collected and delivered to the owner, what each queued for TX taken back out.
#pragma once

#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "engine/rss.hpp"
#include "engine/steering.hpp"
#include "frames.hpp"

namespace pollux::testing {

class ShardedEngines {
 public:
  // `n` engines with `config` (its shards and lcore_index are set here); the mesh's rings
  // are named after `name` (DPDK ring names are process-wide: each instance gets a serial).
  ShardedEngines(engine::EngineConfig config, rte_mempool* pool, uint16_t n,
                 const std::string& name)
      : pool_(pool), map_(n) {
    std::string error;
    mesh_ =
        engine::SteeringMesh::create(name + std::to_string(serial_++), n, 64, SOCKET_ID_ANY, error);
    if (!mesh_) {
      ADD_FAILURE() << "steering mesh: " << error;
      return;
    }
    config.shards = &map_;
    for (uint16_t i = 0; i < n; ++i) {
      config.lcore_index = i;
      engines_.push_back(std::make_unique<engine::Engine>(config, pool));
      steerers_.push_back(
          std::make_unique<engine::Steerer>(*mesh_, map_, i, engines_[i]->counters()));
    }
  }
  ~ShardedEngines() { stop(); }
  ShardedEngines(const ShardedEngines&) = delete;
  ShardedEngines& operator=(const ShardedEngines&) = delete;

  [[nodiscard]] bool ok() const { return mesh_ != nullptr; }
  [[nodiscard]] const engine::ShardMap& map() const { return map_; }
  [[nodiscard]] engine::Engine& operator[](size_t i) { return *engines_[i]; }
  [[nodiscard]] uint64_t count(size_t i, base::Counter c) const {
    return engines_[i]->counters().get(c);
  }

  // Each engine steers what it does not own through the mesh from now on.
  void connect_mesh() {
    for (size_t i = 0; i < engines_.size(); ++i) engines_[i]->set_steerer(steerers_[i].get());
  }
  void feed(size_t i, const Frame& f, uint64_t now = 0) {
    rte_mbuf* m = to_mbuf(pool_, f);
    ASSERT_NE(m, nullptr);
    engines_[i]->input(&m, 1, now);
  }
  // The same frame to every engine, whatever they send back discarded: what each lcore
  // learns on its own (a neighbour's ARP request or solicitation).
  void feed_each(const Frame& f) {
    for (size_t i = 0; i < engines_.size(); ++i) {
      feed(i, f);
      (void)sent(i);
    }
  }
  // Takes every frame engine `i` queued for transmission.
  std::vector<Frame> sent(size_t i) {
    std::vector<Frame> out;
    base::TxBatch& tx = engines_[i]->tx();
    for (uint16_t k = 0; k < tx.size(); ++k) out.push_back(bytes_of(tx.data()[k]));
    tx.free_all();
    return out;
  }
  // What the other lcores steered to `i`, given to its engine; how many packets that was.
  uint16_t deliver_steered(size_t i, uint64_t now = 0) {
    rte_mbuf* got[64];
    const uint16_t n = steerers_[i]->collect(got, 64);
    if (n != 0) engines_[i]->input(got, n, now);
    return n;
  }
  // A connection lcore `i` accepts on `port` (its listener made here): the peer's SYN offers
  // MSS `mss`, then its ACK completes the handshake, each frame built by
  // `to_us(seq, ack, flags, options)`; `l3_len` is the IP header length of lcore `i`'s
  // SYN-ACK (where its sequence number is read). Null if the handshake did not complete.
  template <class ToUs>
  Conn* accept_on(size_t i, uint16_t port, ToUs to_us, size_t l3_len, uint16_t mss) {
    static constexpr AppEvents kEvents{on_accepted, nullptr, nullptr, nullptr, nullptr, nullptr};
    accepted_ = nullptr;
    if (engines_[i]->tcp().listen(port, &kEvents, this) != TcpError::ok) return nullptr;
    net::TcpOptions syn;
    syn.has_mss = true;
    syn.mss = mss;
    const net::Seq peer_iss(1000);
    feed(i, to_us(peer_iss, net::Seq(0), net::tcp_flags::syn, &syn));
    const std::vector<Frame> synack = sent(i);
    if (synack.size() != 1) return nullptr;
    const net::Seq iss(net::load_be32(synack[0].data() + kEthHeaderLen + l3_len + 4));
    feed(i, to_us(peer_iss + 1, iss + 1, net::tcp_flags::ack, nullptr));
    return accepted_;
  }
  // `conn` on lcore `i` sends `bytes` bytes: the frames that leave at once.
  std::vector<Frame> send_from(size_t i, Conn* conn, size_t bytes) {
    const std::vector<uint8_t> data(bytes, 'd');
    if (engines_[i]->tcp().send(conn, {data.data(), data.size()}) != bytes) return {};
    engines_[i]->poll(0);
    return sent(i);
  }

  // The engines, the steerers and the mesh gone, in that order: every mbuf back in the pool.
  void stop() {
    engines_.clear();
    steerers_.clear();
    mesh_.reset();
  }

 private:
  static constexpr size_t kEthHeaderLen = 14;
  static void on_accepted(void* ctx, Conn* c) { static_cast<ShardedEngines*>(ctx)->accepted_ = c; }
  static inline int serial_ = 0;
  Conn* accepted_ = nullptr;
  rte_mempool* pool_;
  engine::ShardMap map_;
  std::unique_ptr<engine::SteeringMesh> mesh_;
  std::vector<std::unique_ptr<engine::Steerer>> steerers_;
  std::vector<std::unique_ptr<engine::Engine>> engines_;
};

// An ICMP error about a connection lcore 1 owns arriving on lcore 0, as a NIC's RSS puts it
// (hashed by the router's address and ours, not by the quoted connection's ports): RFC 1191's
// fragmentation needed and RFC 8201's Packet Too Big, played the same way for either family
// (engine_test's FragNeededSharded, tcp6_test's Tcp6PmtuSharded) with what differs given here.
struct IcmpToOwner {
  Frame neighbour;     // the peer's ARP request or neighbour solicitation for us, fed to each lcore
  uint16_t port = 80;  // ours, where lcore 1 listens (as `tuple` names it)
  std::function<net::FourTuple(uint16_t sport)> tuple;  // ours and the peer's, from `sport`
  // The peer's segment `b` to us, in its IP datagram and Ethernet frame.
  std::function<Frame(const net::TcpBuild& b, const net::TcpOptions* options)> to_us;
  size_t l3_len = 0;  // the IP header's length in our segments
  uint16_t mss = 0;   // what the peer's SYN offers: the connection's MSS until the message
  std::function<Frame(const Frame& data)> icmp_about;    // the router's message quoting `data`
  base::Counter received, wrong_lcore, passed_to_owner;  // the family's counters
  uint32_t mss_after = 0;  // the connection's MSS once its owner has taken the message
};
struct IcmpToOwnerPlayed {
  Conn* conn = nullptr;      // lcore 1's connection (null: the set-up failed, reported)
  std::vector<Frame> after;  // what lcore 1 sent on taking the message
};

// The connection is made on lcore 1 (the first source port from 40000 the shard function
// gives it) and sends 1000 bytes; the router's message about that segment is fed to lcore 0.
// Without the mesh (a sharded engine on its own) lcore 0 cannot act on it: counted, and not
// taken for a forgery. With the mesh lcore 0 passes it on, and lcore 1 lowers the MSS.
inline IcmpToOwnerPlayed play_icmp_to_owner(ShardedEngines& lcores, const IcmpToOwner& c) {
  IcmpToOwnerPlayed played;
  if (!lcores.ok()) return played;
  lcores.feed_each(c.neighbour);
  uint16_t sport = 40000;
  while (lcores.map().shard_of(c.tuple(sport)) != 1) ++sport;
  Conn* conn = lcores.accept_on(
      1, c.port,
      [&](net::Seq seq, net::Seq ack, uint8_t flags, const net::TcpOptions* o) {
        net::TcpBuild b;
        b.src_port = sport;
        b.dst_port = c.port;
        b.seq = seq;
        b.ack = ack;
        b.flags = flags;
        b.window = 65535;
        return c.to_us(b, o);
      },
      c.l3_len, c.mss);
  if (!conn) {
    ADD_FAILURE() << "lcore 1 did not accept the connection from port " << sport;
    return played;
  }
  played.conn = conn;
  EXPECT_EQ(lcores[1].tcp().info(conn).snd_mss, c.mss);
  const std::vector<Frame> first = lcores.send_from(1, conn, 1000);
  if (first.size() != 1) {
    ADD_FAILURE() << "1000 bytes left in " << first.size() << " frames, not 1";
    return played;
  }
  const Frame icmp = c.icmp_about(first[0]);

  lcores.feed(0, icmp);
  EXPECT_EQ(lcores.count(0, c.received), 1u);
  EXPECT_EQ(lcores.count(0, c.wrong_lcore), 1u);
  EXPECT_EQ(lcores.count(0, base::Counter::drop_tcp_icmp_invalid), 0u) << "not taken for a forgery";

  lcores.connect_mesh();
  lcores.feed(0, icmp);
  EXPECT_EQ(lcores.count(0, c.passed_to_owner), 1u);
  EXPECT_EQ(lcores.count(0, c.received), 1u);
  EXPECT_TRUE(lcores.sent(0).empty());
  EXPECT_EQ(lcores.deliver_steered(1), 1u);
  EXPECT_EQ(lcores.count(1, c.received), 1u);
  EXPECT_EQ(lcores.count(1, c.passed_to_owner), 0u);
  EXPECT_EQ(lcores.count(1, base::Counter::tcp_pmtu_updates), 1u);
  EXPECT_EQ(lcores[1].tcp().info(conn).snd_mss, c.mss_after);
  played.after = lcores.sent(1);
  return played;
}

}  // namespace pollux::testing
