// RFC 6691: the MSS bounds a segment's payload when it carries no options; the options a
// segment does carry (timestamps, SACK blocks) come out of it, so no frame ever exceeds the
// MTU. The case that broke it: a bulk sender that is also receiving out of order, so its
// data segments carry SACK blocks (found against the Linux kernel with reordering: net_tap
// refuses an oversize frame and the TX queue stalled behind it).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "sim_seeds.hpp"
#include "sim_world.hpp"

namespace pollux::sim {
namespace {

struct Echo {
  tcp::TcpLayer* tcp = nullptr;
  static void readable(void* ctx, Conn* c) {
    auto* self = static_cast<Echo*>(ctx);
    tcp::ByteSpan spans[8];
    while (size_t n = self->tcp->peek(c, spans, 8)) {
      for (size_t i = 0; i < n; ++i) {
        const size_t sent = self->tcp->send(c, {spans[i].data, spans[i].len});
        self->tcp->consume(c, static_cast<uint32_t>(sent));
        if (sent < spans[i].len) return;  // `writable` brings us back
      }
    }
  }
};

struct Client {
  tcp::TcpLayer* tcp = nullptr;
  Conn* conn = nullptr;
  std::vector<uint8_t> data;
  size_t sent = 0;
  size_t received = 0;
  bool corrupt = false;
  void pump() {
    if (!conn) return;
    while (sent < data.size()) {
      const size_t n = tcp->send(conn, {data.data() + sent, std::min<size_t>(data.size() - sent, 16384)});
      if (n == 0) break;
      sent += n;
    }
    uint8_t buf[4096];
    while (size_t n = tcp->read(conn, buf, sizeof buf)) {
      if (std::memcmp(buf, data.data() + received, n) != 0) corrupt = true;
      received += n;
    }
  }
  static void event(void* ctx, Conn*) { static_cast<Client*>(ctx)->pump(); }
};

std::string describe(tcp::TcpLayer& l) {
  std::string out;
  l.for_each_connection([&](const Conn* c) {
    const ConnInfo i = l.info(c);
    out += std::string(i.state) + " flight " + std::to_string(i.bytes_in_flight) + " cwnd " +
           std::to_string(i.cwnd) + " snd_wnd " + std::to_string(i.snd_wnd) + " rcv_wnd " +
           std::to_string(i.rcv_wnd) + " sndq " + std::to_string(i.sndq_bytes) + " rcvq " +
           std::to_string(i.rcvq_bytes) + " ooo " + std::to_string(i.ooo_bytes) + " rto_us " +
           std::to_string(i.rto_us) + "; ";
  });
  return out;
}

TEST(TcpMss, FramesStayWithinTheMtuWhenDataSegmentsCarrySackBlocks) {
  for (uint64_t seed : sim_seeds(20)) {
    WorldConfig wc;
    wc.seed = seed;
    wc.a_to_b.reorder = 0.1;  // a's segments arrive out of order: b's data carries SACKs
    wc.a_to_b.reorder_delay_ns = 2 * kMillisecond;
    wc.a_to_b.delay_ns = wc.b_to_a.delay_ns = 500 * kMicrosecond;
    wc.a = sim_engine_config(Host::a);
    wc.b = sim_engine_config(Host::b);
    SimWorld w(wc);
    Echo echo{&w.b().tcp()};
    AppEvents server_events;
    server_events.readable = Echo::readable;
    server_events.writable = Echo::readable;
    ASSERT_EQ(w.b().tcp().listen(7, &server_events, &echo), TcpError::ok);
    Client client{&w.a().tcp()};
    client.data.resize(2 << 20);
    for (size_t i = 0; i < client.data.size(); ++i)
      client.data[i] = static_cast<uint8_t>((i * 2654435761u) >> 13);
    AppEvents client_events;
    client_events.connected = Client::event;
    client_events.readable = Client::event;
    client_events.writable = Client::event;
    TcpError err;
    client.conn = w.a().tcp().connect(kIpA, kIpB, 7, &client_events, &client, 0, {}, err, w.now());
    ASSERT_NE(client.conn, nullptr);
    ASSERT_TRUE(w.run_until([&] { return client.received == client.data.size(); },
                            120 * kSecond))
        << repro(seed) << " received " << client.received << " sent " << client.sent
        << " a: " << describe(w.a().tcp()) << " b: " << describe(w.b().tcp());
    EXPECT_FALSE(client.corrupt) << repro(seed);
    EXPECT_GT(w.b().counters().get(base::Counter::tcp_ofo_queued), 0u) << repro(seed);
    EXPECT_EQ(w.a().counters().get(base::Counter::drop_tx_oversize), 0u) << repro(seed);
    EXPECT_EQ(w.b().counters().get(base::Counter::drop_tx_oversize), 0u) << repro(seed);
    if (HasFailure()) break;
  }
}

}  // namespace
}  // namespace pollux::sim
