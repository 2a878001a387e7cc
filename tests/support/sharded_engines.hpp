// Several engines of one port, as drivers-glue sets them up for software steering: the shard
// function, one engine per lcore over a shared pool, and the steering mesh with a Steerer per
// lcore (not yet given to the engines: a test first shows what an engine does on its own).
// The lcores are played in turn on the calling thread: frames fed to one engine, what it
// steered collected and delivered to the owner, what each queued for TX taken back out.
#pragma once

#include <gtest/gtest.h>
#include <rte_mbuf.h>

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

}  // namespace pollux::testing
