// See bulk_transfer.hpp.
#include "bulk_transfer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>

#include "sim_seeds.hpp"
#include "sim_trace.hpp"
#include "engine/engine.hpp"
#include "tcp/tcp_layer.hpp"

namespace pollux::sim {
namespace {

constexpr uint16_t kPort = 6002;

uint8_t pattern(uint64_t pos) {
  uint64_t x = pos * 0x9e3779b97f4a7c15ull;
  x ^= x >> 29;
  return static_cast<uint8_t>(x >> 17);
}

struct Sender {
  tcp::TcpLayer* tcp = nullptr;
  Conn* c = nullptr;
  ConnInfo at_peer_close;
  uint64_t total = 0, sent = 0;
  bool fin = false, closed = false;
  void pump() {
    if (!c) return;
    std::array<uint8_t, 16384> buf;
    while (sent < total) {
      const size_t n = std::min<uint64_t>(buf.size(), total - sent);
      for (size_t i = 0; i < n; ++i) buf[i] = pattern(sent + i);
      const size_t took = tcp->send(c, {buf.data(), n});
      sent += took;
      if (took < n) return;
    }
    if (!fin) {
      fin = true;
      tcp->shutdown_write(c);
    }
  }
};

struct Receiver {
  tcp::TcpLayer* tcp = nullptr;
  const SimWorld* w = nullptr;
  uint64_t total = 0, got = 0, done_at = 0;
  bool bad = false, closed = false;
};

const AppEvents kSenderEvents{
    .connected = [](void* ctx, Conn*) { static_cast<Sender*>(ctx)->pump(); },
    .writable = [](void* ctx, Conn*) { static_cast<Sender*>(ctx)->pump(); },
    .peer_closed =
        [](void* ctx, Conn* c) {
          Sender& s = *static_cast<Sender*>(ctx);
          s.at_peer_close = s.tcp->info(c);
          s.tcp->close(c);
        },
    .closed =
        [](void* ctx, Conn*, CloseReason) {
          static_cast<Sender*>(ctx)->closed = true;
          static_cast<Sender*>(ctx)->c = nullptr;
        },
};

const AppEvents kReceiverEvents{
    .readable =
        [](void* ctx, Conn* c) {
          Receiver& r = *static_cast<Receiver*>(ctx);
          uint8_t buf[8192];
          while (size_t n = r.tcp->read(c, buf, sizeof buf)) {
            for (size_t i = 0; i < n; ++i)
              if (buf[i] != pattern(r.got + i)) r.bad = true;
            r.got += n;
          }
          if (r.got >= r.total && r.done_at == 0) r.done_at = r.w->now();
        },
    .peer_closed = [](void* ctx, Conn* c) { static_cast<Receiver*>(ctx)->tcp->close(c); },
    .closed = [](void* ctx, Conn*, CloseReason) { static_cast<Receiver*>(ctx)->closed = true; },
};

}  // namespace

BulkResult run_bulk_transfer(const BulkSpec& spec) {
  WorldConfig wc;
  wc.seed = spec.seed;
  wc.family = spec.family;
  wc.a_to_b = spec.ab;
  wc.b_to_a = spec.ba;
  wc.a.tcp.sack = spec.sack;
  wc.a.tcp.congestion_control = spec.cc;
  wc.a.tcp.rack = spec.rack;
  wc.a.tcp.tlp = spec.tlp;
  wc.a.tcp.timestamps = spec.timestamps;
  wc.b.tcp.syn_cookies = spec.b_syn_cookies;
  for (engine::EngineConfig* h : {&wc.a, &wc.b}) {
    engine::Offloads& o = h->iface.offloads;
    o.tx_ipv4_checksum = o.tx_tcp_checksum = spec.checksum_offload || spec.tso_lro;
    o.tx_tso = o.rx_lro = spec.tso_lro;
    o.tx_tso_in_engine = spec.tso_lro && spec.tso_in_engine;
    if (o.tx_tso_in_engine) o.rx_lro = false;
  }
  wc.trace = std::getenv("POLLUX_SIM_TRACE") != nullptr;  // print the whole trace (debugging)
  wc.trace_states = wc.trace;
  SimWorld w(wc);
  if (spec.drop_ab) w.link_ab().set_drop_filter(spec.drop_ab);
  if (spec.drop_ba) w.link_ba().set_drop_filter(spec.drop_ba);
  BulkResult res;
  res.where = repro(spec.seed) + " " + w.describe() + (spec.sack ? " sack " : " nosack ") +
              tcp::cc::algorithm_name(spec.cc);
  Sender s;
  s.tcp = &w.a().tcp();
  s.total = spec.bytes;
  Receiver r;
  r.tcp = &w.b().tcp();
  r.w = &w;
  r.total = spec.bytes;
  ConnOptions opts;
  opts.sndbuf = opts.rcvbuf = spec.buf;
  EXPECT_EQ(w.b().tcp().listen(kPort, &kReceiverEvents, &r, spec.b_backlog, opts), TcpError::ok);
  uint64_t start = 0;
  std::vector<bool> stalls_done(spec.stalls.size(), false);
  w.set_on_step([&](uint64_t now) {
    if (start == 0) {
      start = now;
      TcpError e{};
      s.c = w.a().tcp().connect(w.address(Host::a), w.address(Host::b), kPort, &kSenderEvents, &s,
                                0, opts, e, now);
      EXPECT_NE(s.c, nullptr);
    }
    for (const Stall& st : spec.stalls)
      if (now - start >= st.at_ns && now - start < st.at_ns + st.ns && !w.stalled(st.host) &&
          !stalls_done[&st - spec.stalls.data()]) {
        stalls_done[&st - spec.stalls.data()] = true;
        w.stall(st.host, st.ns);
      }
    if (s.c && spec.watch) spec.watch(now - start, w.a().tcp().info(s.c));
  });
  const bool ok = w.run_until([&] { return s.closed && r.closed; }, spec.max_ns);
  w.set_on_step(nullptr);
  if (wc.trace) std::printf("%s", w.format_trace().c_str());
  const auto& ca = w.a().counters();
  res.complete = ok && !r.bad && r.got == spec.bytes;
  res.elapsed_ns = r.done_at ? r.done_at - start : spec.max_ns;
  res.timeouts = ca.get(base::Counter::tcp_timeouts);
  res.fast_recoveries = ca.get(base::Counter::tcp_fast_retransmits);
  res.retrans_segs = ca.get(base::Counter::tcp_retrans_segs);
  res.dsacks = ca.get(base::Counter::tcp_dsacks_received);
  res.undos = ca.get(base::Counter::tcp_spurious_undos);
  res.rack_lost_retransmits = ca.get(base::Counter::tcp_rack_lost_retransmits);
  res.tlp_probes = ca.get(base::Counter::tcp_tlp_probes);
  res.spurious_retrans = ca.get(base::Counter::tcp_spurious_retrans);
  res.rack_reorder_timeouts = ca.get(base::Counter::tcp_rack_reorder_timeouts);
  res.tlp_recoveries = ca.get(base::Counter::tcp_tlp_recoveries);
  res.tso_software_cuts = ca.get(base::Counter::tcp_tso_software_cuts);
  res.queue_drops = w.link_ab().stats().queue_drops;
  res.lost_frames = w.link_ab().stats().lost + w.link_ba().stats().lost;
  res.at_peer_close = s.at_peer_close;
  const auto& cb = w.b().counters();
  res.b_cookies_sent = cb.get(base::Counter::syn_cookies_sent);
  res.b_cookies_accepted = cb.get(base::Counter::syn_cookies_accepted);
  res.b_cookies_rejected = cb.get(base::Counter::syn_cookies_rejected);
  w.run_for(2 * w.a().tcp().config().msl_ns + kSecond);  // TIME-WAIT drains
  res.leaked = w.shutdown();
  return res;
}

int64_t StreamOffsets::data_offset(const rte_mbuf* m) {
  const FrameSummary f = summarize_frame(m);
  if (f.kind != FrameKind::tcp) return -1;
  if (f.flags & net::tcp_flags::syn) {
    isn_ = f.seq;
    have_isn_ = true;
    return -1;
  }
  if (!have_isn_ || f.payload_len == 0) return -1;
  return static_cast<uint32_t>(f.seq - isn_ - 1);
}

}  // namespace pollux::sim
