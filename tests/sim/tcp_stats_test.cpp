// ConnInfo's byte counts past 2^32 (issue 13 item 5). The TCB no longer keeps three 64-bit
// counts: each is a sequence number's distance from the ISS or IRS plus the number of times
// that 32-bit distance wrapped (Stats, tcb.hpp). One connection moves more than 2^32 bytes
// from a to b over TSO/LRO ports (64 KB frames, so that the 4 GiB take a few seconds of CPU),
// b consuming without copying; then both close. The counts must be exact at every step:
//   a: bytes_sent = data + SYN (+ FIN once sent), bytes_acked <= data, = data at the end;
//   b: bytes_received = what b consumed plus what it holds, = data at the end (FIN left out),
//      bytes_sent = SYN + FIN, bytes_acked = 0.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstdio>

#include "pollux/tcp.hpp"
#include "sim_seeds.hpp"
#include "sim_world.hpp"

namespace pollux::sim {
namespace {

constexpr uint16_t kPort = 6003;
// Past 2^32 by an odd amount, so that neither the wrap nor the end falls on a frame boundary.
constexpr uint64_t kBytes = (uint64_t{1} << 32) + 3 * 1460 + 7;

struct Side {
  tcp::TcpLayer* tcp = nullptr;
  Conn* c = nullptr;
  uint64_t to_send = 0, sent = 0, consumed = 0;
  bool fin = false, closed = false;
  ConnInfo at_peer_close;
  void pump() {
    static const std::array<uint8_t, 65536> zeros{};
    while (sent < to_send) {
      const size_t n = std::min<uint64_t>(zeros.size(), to_send - sent);
      const size_t took = tcp->send(c, {zeros.data(), n});
      sent += took;
      if (took < n) return;
    }
    if (!fin) {
      fin = true;
      tcp->shutdown_write(c);
    }
  }
};

const AppEvents kEvents{
    .accepted = [](void* ctx, Conn* c) { static_cast<Side*>(ctx)->c = c; },
    .connected = [](void* ctx, Conn*) { static_cast<Side*>(ctx)->pump(); },
    .readable =
        [](void* ctx, Conn* c) {
          Side& s = *static_cast<Side*>(ctx);
          const uint32_t n = s.tcp->readable_bytes(c);
          s.tcp->consume(c, n);
          s.consumed += n;
        },
    .writable = [](void* ctx, Conn*) { static_cast<Side*>(ctx)->pump(); },
    .peer_closed =
        [](void* ctx, Conn* c) {
          Side& s = *static_cast<Side*>(ctx);
          s.at_peer_close = s.tcp->info(c);
          s.tcp->close(c);
        },
    .closed =
        [](void* ctx, Conn*, CloseReason) {
          static_cast<Side*>(ctx)->closed = true;
          static_cast<Side*>(ctx)->c = nullptr;
        },
};

TEST(ConnInfoBytes, StayExactPastTwoToTheThirtyTwoBytesOneWay) {
  const uint64_t seed = *sim_seeds(1).begin();  // POLLUX_SIM_SEED picks another
  WorldConfig wc;
  wc.seed = seed;
  for (engine::EngineConfig* h : {&wc.a, &wc.b}) {
    engine::Offloads& o = h->iface.offloads;
    o.tx_ipv4_checksum = o.tx_tcp_checksum = o.tx_tso = o.rx_lro = true;
  }
  SimWorld w(wc);
  Side a, b;
  a.tcp = &w.a().tcp();
  a.to_send = kBytes;
  b.tcp = &w.b().tcp();
  ConnOptions opts;
  opts.sndbuf = opts.rcvbuf = 4 << 20;
  ASSERT_EQ(b.tcp->listen(kPort, &kEvents, &b, 16, opts), TcpError::ok);
  bool started = false;
  uint64_t checks = 0;
  std::string bad;
  w.set_on_step([&](uint64_t now) {
    if (!started) {
      started = true;
      TcpError e{};
      a.c = a.tcp->connect(w.address(Host::a), w.address(Host::b), kPort, &kEvents, &a, 0, opts, e,
                           now);
      ASSERT_NE(a.c, nullptr);
    }
    // Every step, while both are open and established: the counts agree with what the
    // applications did.
    if (!bad.empty() || !a.c || !b.c) return;
    const ConnInfo ia = a.tcp->info(a.c), ib = b.tcp->info(b.c);
    if (std::string(ia.state) != "ESTABLISHED" || std::string(ib.state) != "ESTABLISHED") return;
    ++checks;
    const uint64_t queued = a.sent - ia.bytes_acked;  // in a's send queue
    if (ia.bytes_sent != ia.bytes_acked + 1 + ia.bytes_in_flight || ia.sndq_bytes != queued ||
        ib.bytes_received != b.consumed + ib.rcvq_bytes || ia.bytes_acked > ib.bytes_received ||
        ib.bytes_sent != 1 || ib.bytes_acked != 0)
      bad = "at " + std::to_string(now) + ": a sent " + std::to_string(ia.bytes_sent) + " acked " +
            std::to_string(ia.bytes_acked) + " in flight " + std::to_string(ia.bytes_in_flight) +
            " sndq " + std::to_string(ia.sndq_bytes) + " (app sent " + std::to_string(a.sent) +
            "); b received " + std::to_string(ib.bytes_received) + " consumed " +
            std::to_string(b.consumed) + " rcvq " + std::to_string(ib.rcvq_bytes);
  });
  const bool ok = w.run_until([&] { return a.closed && b.closed; }, 600 * kSecond);
  w.set_on_step(nullptr);
  EXPECT_TRUE(ok) << repro(seed);
  EXPECT_EQ(bad, "") << repro(seed);
  EXPECT_GT(checks, 1000u);
  EXPECT_EQ(b.consumed, kBytes);
  // b saw a's FIN after every byte: all of them, and the FIN not counted.
  EXPECT_EQ(b.at_peer_close.bytes_received, kBytes) << repro(seed);
  EXPECT_EQ(b.at_peer_close.bytes_acked, 0u);
  // a saw b's FIN, which came after b read a's: everything acknowledged; the SYN and FIN
  // sent are counted in bytes_sent (sequence space), not in bytes_acked.
  EXPECT_EQ(a.at_peer_close.bytes_acked, kBytes) << repro(seed);
  EXPECT_EQ(a.at_peer_close.bytes_sent, kBytes + 2) << repro(seed);
  EXPECT_EQ(a.at_peer_close.bytes_received, 0u);
  std::printf("%llu bytes a -> b, %llu checks of the counts on the way\n",
              static_cast<unsigned long long>(kBytes), static_cast<unsigned long long>(checks));
  w.run_for(2 * a.tcp->config().msl_ns + kSecond);
  EXPECT_EQ(w.shutdown(), 0u);
}

}  // namespace
}  // namespace pollux::sim
