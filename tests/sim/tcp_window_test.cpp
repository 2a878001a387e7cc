// The peer's window and the tail loss probe (issue 12, items 4 and 7), against a scripted
// peer: engine a (pollux) opens a connection to host b, which is this test writing segments
// by hand, so that b can offer exactly the windows the issue describes and stay silent
// (a lost or delayed ACK) for as long as a case needs. Every frame both ways goes through
// the simulator's window rule (window_rule.hpp) as well as the cases' own expectations.
//
//   RFC 9293 3.8.6   the sender sends nothing beyond SND.UNA + SND.WND
//   RFC 8985 7.2     PTO = 2 SRTT, plus WCDelAckT (RECOMMENDED 200 ms) with one segment out,
//                    no later than the RTO
//   RFC 8985 7.3     the probe is new data if the window allows, else the most recently sent
//                    segment again
#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../support/frames.hpp"
#include "engine/engine.hpp"
#include "sim_trace.hpp"
#include "sim_world.hpp"
#include "window_rule.hpp"

namespace pollux::sim {
namespace {

using pollux::testing::Frame;

constexpr uint16_t kPeerPort = 7;
constexpr uint32_t kPeerIsn = 5000;
constexpr uint32_t kMss = 1460;  // b offers 1460 and no timestamps: the payload of a segment

struct PoolDeleter {
  void operator()(rte_mempool* p) const { rte_mempool_free(p); }
};

// What a sent: a data segment, relative to a's ISN + 1, at a virtual time.
struct Sent {
  uint64_t at_ns;  // since the data was queued
  uint32_t seq;    // relative
  uint32_t len;
};

class ScriptedPeer : public ::testing::Test {
 protected:
  void make(const tcp::TcpConfig& tweak = {}) {
    static int serial = 0;
    pool_.reset(rte_pktmbuf_pool_create(("peer_win_" + std::to_string(serial++)).c_str(), 1023, 0,
                                        0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY));
    ASSERT_NE(pool_, nullptr);
    engine::EngineConfig c = sim_engine_config(Host::a);
    c.tcp.tlp_wc_delack_ns = tweak.tlp_wc_delack_ns;
    engine_ = std::make_unique<engine::Engine>(c, pool_.get());
    // b asks for a's address first, as a kernel would: a learns b's MAC from it.
    net::ArpPacket req{net::ArpOp::request, kMacB, kIpB, net::MacAddr{}, kIpA};
    feed(pollux::testing::eth_frame(net::MacAddr::broadcast(), kMacB, 0x0806,
                                    pollux::testing::arp_body(req)));
    (void)take();
  }

  // a connects; b answers with a SYN-ACK offering `window` (unscaled, as in every SYN) and
  // window scale `wscale` if set, SACK permitted, no timestamps. One millisecond of RTT.
  void open(uint16_t window, std::optional<uint8_t> wscale) {
    TcpError err;
    conn_ = engine_->tcp().connect(kIpA, kIpB, kPeerPort, &kEvents, this, 0, {}, err, now_);
    ASSERT_NE(conn_, nullptr);
    engine_->poll(now_);
    auto syn = take();
    ASSERT_EQ(syn.size(), 1u);
    ASSERT_TRUE(syn[0].flags & net::tcp_flags::syn);
    iss_ = syn[0].seq;
    local_port_ = syn[0].src_port;
    now_ += kMillisecond;
    net::TcpOptions o;
    o.has_mss = true;
    o.mss = 1460;
    o.sack_permitted = true;
    if (wscale) {
      o.has_wscale = true;
      o.wscale = *wscale;
    }
    wscale_ = wscale.value_or(0);
    peer_segment(kPeerIsn, iss_ + 1, net::tcp_flags::syn | net::tcp_flags::ack, window, &o);
    engine_->poll(now_);
    (void)take();  // the handshake's ACK
    ASSERT_EQ(engine_->tcp().info(conn_).state, std::string("ESTABLISHED"));
  }

  // b acknowledges up to a's relative `ack` with window field `field` (scaled by b's shift).
  void peer_ack(uint32_t ack, uint16_t field) {
    peer_segment(kPeerIsn + 1, iss_ + 1 + ack, net::tcp_flags::ack, field, nullptr);
    engine_->poll(now_);
  }

  // The application on a queues `n` bytes.
  void app_send(uint32_t n) {
    std::vector<uint8_t> data(n, 'x');
    ASSERT_EQ(engine_->tcp().send(conn_, data), n);
    queued_at_ = now_;
    engine_->poll(now_);
  }

  // Polls a every 100 us for `ns` of virtual time with b silent; returns the data segments a
  // sent meanwhile (and before, since the last take()).
  std::vector<Sent> silence(uint64_t ns) {
    std::vector<Sent> out;
    const uint64_t end = now_ + ns;
    for (;;) {
      for (const FrameSummary& f : take())
        if (f.payload_len > 0)
          out.push_back(Sent{now_ - queued_at_, f.seq - (iss_ + 1), f.payload_len});
      if (now_ >= end) break;
      now_ += 100 * kMicrosecond;
      engine_->poll(now_);
    }
    return out;
  }

  // Takes every frame a queued; each goes through the window rule first.
  std::vector<FrameSummary> take() {
    std::vector<FrameSummary> out;
    base::TxBatch& tx = engine_->tx();
    for (uint16_t i = 0; i < tx.size(); ++i) {
      const std::string breach = rule_.check(tx.data()[i]);
      EXPECT_EQ(breach, "") << "a sent a segment beyond b's window";
      const FrameSummary f = summarize_frame(tx.data()[i]);
      if (f.kind == FrameKind::tcp) out.push_back(f);
    }
    tx.free_all();
    return out;
  }

  ConnInfo info() { return engine_->tcp().info(conn_); }

  void feed(const Frame& f) {
    const std::string breach = rule_.check(f.data(), static_cast<uint32_t>(f.size()));
    EXPECT_EQ(breach, "");
    rte_mbuf* m = pollux::testing::to_mbuf(pool_.get(), f);
    ASSERT_NE(m, nullptr);
    engine_->input(&m, 1, now_);
  }

  void peer_segment(uint32_t seq, uint32_t ack, uint8_t flags, uint16_t window,
                    const net::TcpOptions* o) {
    net::TcpBuild b;
    b.src_port = kPeerPort;
    b.dst_port = local_port_;
    b.seq = net::Seq(seq);
    b.ack = net::Seq(ack);
    b.flags = flags;
    b.window = window;
    const Frame tcp = pollux::testing::tcp_segment(kIpB, kIpA, b, o);
    feed(pollux::testing::eth_frame(
        kMacA, kMacB, 0x0800, pollux::testing::ipv4_datagram(kIpB, kIpA, net::kIpProtoTcp, tcp)));
  }

  static inline const AppEvents kEvents{};
  std::unique_ptr<rte_mempool, PoolDeleter> pool_;
  std::unique_ptr<engine::Engine> engine_;
  WindowRule rule_;
  Conn* conn_ = nullptr;
  uint64_t now_ = kSecond;
  uint64_t queued_at_ = 0;
  uint32_t iss_ = 0;
  uint16_t local_port_ = 0;
  uint8_t wscale_ = 0;
};

// Issue 12 item 7, first case: b offers 2048 bytes (field 128, shift 4) and a has 2800 to
// send. a sends one full segment (no timestamps here: 1460 bytes; the 588 left would be a
// silly window, 3.8.6.2.1) and b stays silent. The probe may not be [1340, 2800), the
// queue's last MSS (never sent, and past the window): it is [0, 1460) again, the most
// recently sent segment.
TEST_F(ScriptedPeer, ProbeBehindAScaled2048ByteWindowResendsTheLastSegmentSent) {
  make();
  open(2048, 4);
  peer_ack(0, 128);  // the window as b's later segments give it: 128 << 4
  app_send(2800);
  const auto sent = silence(2 * kSecond);
  ASSERT_GE(sent.size(), 2u) << "the first transmission and at least a probe";
  EXPECT_EQ(sent[0].seq, 0u);
  EXPECT_EQ(sent[0].len, kMss);
  // The probe: the same octets again.
  EXPECT_EQ(sent[1].seq, 0u) << "probe at " << sent[1].at_ns << " ns";
  EXPECT_EQ(sent[1].len, kMss);
  EXPECT_EQ(info().tlp_probes, 1u);
  for (const Sent& s : sent) EXPECT_LE(s.seq + s.len, 2048u) << "at " << s.at_ns << " ns";
  // b acknowledges it all and opens to 2048 beyond: the rest goes, within that.
  peer_ack(kMss, 128);
  const auto rest = silence(10 * kMillisecond);
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest[0].seq, kMss);
  EXPECT_EQ(rest[0].len, 2800 - kMss);
  EXPECT_EQ(rule_.violations(), 0u);
}

// Issue 12 item 7, second case: b offers 1000 bytes, unscaled. a's first segment is 1000
// bytes; every later transmission of it (probe, timeouts) is 1000 bytes too, never the
// full 1460 a segment could carry.
TEST_F(ScriptedPeer, RetransmissionsBehindAnUnscaled1000ByteWindowStayWithinIt) {
  make();
  open(1000, std::nullopt);
  app_send(2800);
  const auto sent = silence(2 * kSecond);
  ASSERT_GE(sent.size(), 3u) << "the first transmission, a probe and a timeout";
  for (const Sent& s : sent) {
    EXPECT_EQ(s.seq, 0u) << "at " << s.at_ns << " ns";
    EXPECT_EQ(s.len, 1000u) << "at " << s.at_ns << " ns";
  }
  EXPECT_EQ(info().tlp_probes, 1u);
  EXPECT_GE(info().timeouts, 1u);
  EXPECT_EQ(rule_.violations(), 0u);
  // b takes the thousand and offers a thousand more: a sends the next thousand only.
  peer_ack(1000, 1000);
  const auto next = silence(kMillisecond);
  ASSERT_FALSE(next.empty());
  EXPECT_EQ(next[0].seq, 1000u);
  EXPECT_EQ(next[0].len, 1000u);
}

// The window shrinking to nothing while data is outstanding (RFC 9293 3.8.6.2.1 lets a
// receiver do it): the timeouts that follow send no data beyond it; a's RTO probes the
// window with a segment of no data instead, and b's answer opening the window lets the
// data go again.
TEST_F(ScriptedPeer, WindowShrunkToZeroBehindOutstandingDataIsProbedNotOverrun) {
  make();
  open(4096, std::nullopt);
  app_send(1000);
  auto sent = silence(kMillisecond);
  ASSERT_EQ(sent.size(), 1u);
  peer_ack(0, 0);  // nothing acknowledged, and the window withdrawn
  sent = silence(3 * kSecond);
  EXPECT_TRUE(sent.empty()) << sent.size() << " data segments past a zero window";
  EXPECT_GE(info().timeouts, 1u);
  peer_ack(0, 4096);
  sent = silence(kSecond);
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent[0].seq, 0u);
  EXPECT_EQ(sent[0].len, 1000u);
}

// Issue 12 item 4: one segment out to a receiver that delays its ACK. RFC 8985 7.2 adds
// WCDelAckT (200 ms) to the probe timeout, and the RTO (200 ms at least) bounds it: a
// receiver answering within 190 ms, as a delaying Linux receiver does, sees no probe.
TEST_F(ScriptedPeer, LoneSegmentIsNotProbedBeforeADelayedAckCanCome) {
  make();
  open(65535, std::nullopt);
  app_send(100);
  auto sent = silence(190 * kMillisecond);
  ASSERT_EQ(sent.size(), 1u) << "probe at " << sent.back().at_ns << " ns";
  EXPECT_EQ(info().tlp_probes, 0u);
  peer_ack(100, 65535);  // the delayed ACK
  sent = silence(kSecond);
  EXPECT_TRUE(sent.empty());
  EXPECT_EQ(info().retransmits, 0u);
}

// Without the ACK the probe still comes, at the PTO: not before 200 ms.
TEST_F(ScriptedPeer, LoneSegmentUnansweredIsProbedAfterWcDelAckT) {
  make();
  open(65535, std::nullopt);
  app_send(100);
  const auto sent = silence(kSecond);
  ASSERT_GE(sent.size(), 2u);
  EXPECT_GE(sent[1].at_ns, 200 * kMillisecond);
  EXPECT_LT(sent[1].at_ns, 250 * kMillisecond);
  EXPECT_EQ(info().tlp_probes, 1u);
}

// WCDelAckT is configurable (TcpConfig::tlp_wc_delack_ns, the apps' --tlp-wc-delack): 40 ms,
// pollux's old value, probes a lone segment after 2 SRTT + 40 ms.
TEST_F(ScriptedPeer, ShorterWcDelAckTProbesALoneSegmentSooner) {
  tcp::TcpConfig c;
  c.tlp_wc_delack_ns = 40 * kMillisecond;
  make(c);
  open(65535, std::nullopt);
  app_send(100);
  const auto sent = silence(kSecond);
  ASSERT_GE(sent.size(), 2u);
  EXPECT_GE(sent[1].at_ns, 40 * kMillisecond);
  EXPECT_LT(sent[1].at_ns, 50 * kMillisecond);
}

}  // namespace
}  // namespace pollux::sim
