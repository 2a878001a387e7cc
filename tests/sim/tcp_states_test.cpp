// The TCP state machine of RFC 9293 between two real engines in virtual time, scenario by
// scenario. Each test reads like a packet trace: it sets up a situation, runs it, and checks
// (a) the states both sides end in and the `closed` reasons the applications saw, (b) for
// the runs without faults, the exact segments on the wire (an expected trace written out
// like a spec), and (c) the counters.
//
// Trace conventions (see sim_trace.hpp): times are seconds since the scenario started
// (after ARP was resolved), seq/ack are relative to each side's ISN, and timestamp values
// are shown relative to the first TSval each host sent (1 tick = 1 ms), so the lines do not
// depend on the RFC 6528 secret or the per-connection TSval offset.
#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "../support/frames.hpp"
#include "engine/engine.hpp"
#include "net/icmp.hpp"
#include "sim_trace.hpp"
#include "sim_world.hpp"
#include "tcp/tcp_layer.hpp"

namespace pollux::sim {
namespace {

using base::Counter;
using tcp::State;
using tcp::TcpLayer;
using Lines = std::vector<std::string>;

constexpr uint16_t kPort = 80;

// --- The application: records what the stack told it ---------------------------------------

struct App {
  TcpLayer* tcp = nullptr;
  std::vector<Conn*> conns;  // accepted or connected, until closed
  std::vector<CloseReason> closed;
  int accepted = 0, connected = 0, peer_closed = 0, writable = 0;
  std::string rx;         // every byte read, in order
  bool auto_read = true;  // read everything on `readable`
  bool close_on_peer_close = false;

  Conn* conn() const { return conns.empty() ? nullptr : conns.front(); }
  void forget(Conn* c) { conns.erase(std::remove(conns.begin(), conns.end(), c), conns.end()); }
  void read_all(Conn* c) {
    uint8_t buf[4096];
    while (size_t n = tcp->read(c, buf, sizeof buf)) rx.append(reinterpret_cast<char*>(buf), n);
  }
};

App& app_of(void* ctx) {
  return *static_cast<App*>(ctx);
}

const AppEvents kEvents{
    .accepted =
        [](void* ctx, Conn* c) {
          ++app_of(ctx).accepted;
          app_of(ctx).conns.push_back(c);
        },
    .connected =
        [](void* ctx, Conn* c) {
          ++app_of(ctx).connected;
          if (std::find(app_of(ctx).conns.begin(), app_of(ctx).conns.end(), c) ==
              app_of(ctx).conns.end())
            app_of(ctx).conns.push_back(c);
        },
    .readable =
        [](void* ctx, Conn* c) {
          if (app_of(ctx).auto_read) app_of(ctx).read_all(c);
        },
    .writable = [](void* ctx, Conn*) { ++app_of(ctx).writable; },
    .peer_closed =
        [](void* ctx, Conn* c) {
          ++app_of(ctx).peer_closed;
          if (app_of(ctx).close_on_peer_close) app_of(ctx).tcp->close(c);
        },
    .closed =
        [](void* ctx, Conn* c, CloseReason why) {
          app_of(ctx).closed.push_back(why);
          app_of(ctx).forget(c);
        },
};

// --- The world -------------------------------------------------------------------------------

constexpr uint64_t kDelay = 5 * kMillisecond;  // one way: RTT 10 ms

WorldConfig base_config() {
  WorldConfig c;
  c.trace = true;
  c.trace_states = true;  // "state ..." lines: states() below; trace() keeps to segments
  c.a_to_b.delay_ns = kDelay;
  c.b_to_a.delay_ns = kDelay;
  for (auto* e : {&c.a, &c.b}) {
    e->tcp.msl_ns = 500 * kMillisecond;
    e->tcp.delayed_ack_ns = 40 * kMillisecond;
  }
  return c;
}

struct Harness {
  explicit Harness(const WorldConfig& c = base_config()) : w(c) {
    a.tcp = &w.a().tcp();
    b.tcp = &w.b().tcp();
    // ARP first (a SYN to a closed port resolves both directions), so traces start clean.
    TcpError e;
    App warm;
    warm.tcp = a.tcp;
    Conn* c0 = a.tcp->connect(kIpA, kIpB, 1, &kEvents, &warm, 0, {}, e, w.now());
    EXPECT_NE(c0, nullptr);
    EXPECT_TRUE(w.run_until([&] { return !warm.closed.empty(); }, kSecond));
    w.run_for(kMillisecond);
    w.clear_trace();
    base_counters_a = w.a().counters();
    base_counters_b = w.b().counters();
    mark();
  }
  // The scenario's trace starts here (earlier segments still name the ISNs).
  void mark() {
    start = w.now();
    first_entry = w.trace_entries().size();
  }
  ~Harness() { EXPECT_EQ(w.shutdown(), 0u) << "mbufs leaked"; }

  Conn* connect(uint16_t port = kPort, const ConnOptions& o = {}, uint16_t lport = 0,
                App* app = nullptr, TcpLayer* from = nullptr, net::Ipv4Addr src = kIpA,
                net::Ipv4Addr dst = kIpB) {
    TcpError e;
    if (!app) app = &a;
    if (!from) from = a.tcp;
    // Explicit local ports so the traces do not depend on ephemeral port selection
    // (RFC 6056 hashes the destination with a secret).
    if (lport == 0) lport = next_lport++;
    Conn* c = from->connect(src, dst, port, &kEvents, app, lport, o, e, w.now());
    last_error = e;
    if (c) app->conns.push_back(c);
    w.step();  // the SYN leaves now (an API call outside a callback is sent by the next step)
    return c;
  }
  void listen(uint16_t port = kPort, uint32_t backlog = 128, const ConnOptions& o = {}) {
    ASSERT_EQ(b.tcp->listen(port, &kEvents, &b, backlog, o), TcpError::ok);
  }
  // a connects to b's listener; both ESTABLISHED.
  void open(const ConnOptions& ao = {}, const ConnOptions& bo = {}) {
    listen(kPort, 128, bo);
    ASSERT_NE(connect(kPort, ao), nullptr);
    ASSERT_TRUE(w.run_until([&] { return a.connected == 1 && b.accepted == 1; }, kSecond));
  }
  bool run_until(const std::function<bool()>& p, uint64_t max = 10 * kSecond) {
    return w.run_until(p, max);
  }
  // The TCP lines of the trace since the scenario started, timestamps made relative.
  Lines trace() const {
    Lines out;
    std::map<char, uint64_t> ts_base;  // by sender: 'a' or 'b'
    static const std::regex kTs(R"(ts (\d+) (\d+))");
    const Lines all = format_trace_lines(w.trace_entries(), start, {});
    for (size_t k = 0; k < all.size(); ++k) {
      std::string line = all[k];
      if (line.find(" TCP ") == std::string::npos) continue;
      const auto dir = line.find('>');
      const char sender = line[dir - 1], receiver = line[dir + 1];
      std::smatch m;
      if (std::regex_search(line, m, kTs)) {
        const uint64_t val = std::stoull(m[1]), ecr = std::stoull(m[2]);
        if (!ts_base.count(sender)) ts_base[sender] = val;
        const auto rel = [&](uint64_t v, char who) {
          if (!ts_base.count(who)) return std::to_string(v);
          return std::to_string(static_cast<int32_t>(static_cast<uint32_t>(v - ts_base[who])));
        };
        const std::string r =
            "ts " + rel(val, sender) + " " + (ecr == 0 ? std::string("0") : rel(ecr, receiver));
        line = m.prefix().str() + r + m.suffix().str();
      }
      if (k >= first_entry) out.push_back(line);
    }
    return out;
  }
  // The state changes since the scenario started ("state" lines without the time).
  Lines states() const {
    Lines out;
    const Lines all = format_trace_lines(w.trace_entries(), start, {.time = false});
    for (size_t k = first_entry; k < all.size(); ++k)
      if (all[k].starts_with("state ")) out.push_back(all[k]);
    return out;
  }
  std::string dump() const {
    std::string s;
    for (const auto& l : trace()) s += "  \"" + l + "\",\n";
    return s;
  }
  uint64_t ca(Counter c) { return w.a().counters().get(c) - base_counters_a.get(c); }
  uint64_t cb(Counter c) { return w.b().counters().get(c) - base_counters_b.get(c); }
  uint64_t elapsed() const { return w.now() - start; }
  void kick() { w.step(); }  // sends what API calls made outside a callback queued
  void set_faults(const Faults& ab, const Faults& ba) {
    w.link_ab().set_faults(ab);
    w.link_ba().set_faults(ba);
  }

  SimWorld w;
  App a, b;
  uint64_t start = 0;
  size_t first_entry = 0;
  uint16_t next_lport = 40000;
  base::Counters base_counters_a, base_counters_b;
  TcpError last_error = TcpError::ok;
};

std::string pattern(size_t n, uint8_t salt = 0) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + salt + i / 251) % 26);
  return s;
}

size_t send_str(TcpLayer& tcp, Conn* c, const std::string& s) {
  return tcp.send(c, {reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

// A segment as if from b's side of connection `cb`, put on the b>a wire (so it shows in the
// trace and reaches a's engine.input() after the link delay like any other frame).
void inject_from_b(Harness& h, Conn* cb, net::Seq seq, net::Seq ack, uint8_t flags,
                   const std::string& payload = {}, const net::TcpOptions* opts = nullptr,
                   uint16_t window = 1000) {
  const auto& t = TcpLayer::tuple(cb);
  net::TcpBuild b;
  b.src_port = t.local_port;
  b.dst_port = t.remote_port;
  b.seq = seq;
  b.ack = ack;
  b.flags = flags;
  b.window = window;
  const testing::Frame l4 =
      testing::tcp_segment(kIpB, kIpA, b, opts, testing::Frame(payload.begin(), payload.end()));
  const testing::Frame f = testing::eth_frame(
      kMacA, kMacB, 0x0800, testing::ipv4_datagram(kIpB, kIpA, net::kIpProtoTcp, l4));
  h.w.link_ba().send(testing::to_mbuf(h.w.pool(), f), h.w.now());
}

// ICMP destination unreachable / fragmentation needed (RFC 1191 4) from b, quoting a
// segment of a's connection `ca` with sequence number `seq`.
void inject_frag_needed(Harness& h, Conn* ca, net::Seq seq, uint16_t mtu) {
  const auto& t = TcpLayer::tuple(ca);
  net::TcpBuild q;
  q.src_port = t.local_port;
  q.dst_port = t.remote_port;
  q.seq = seq;
  q.flags = net::tcp_flags::ack;
  const testing::Frame quoted_full =
      testing::ipv4_datagram(kIpA, kIpB, net::kIpProtoTcp,
                             testing::tcp_segment(kIpA, kIpB, q, nullptr, testing::Frame(1400, 0)));
  const testing::Frame quoted(quoted_full.begin(), quoted_full.begin() + 20 + 8);  // header + 8
  testing::Frame icmp(net::kIcmpHeaderLen + quoted.size());
  std::memcpy(icmp.data() + net::kIcmpHeaderLen, quoted.data(), quoted.size());
  net::write_icmp_header(icmp.data(), 3, net::kIcmpCodeFragNeeded, mtu, quoted.size());
  const testing::Frame f = testing::eth_frame(
      kMacA, kMacB, 0x0800, testing::ipv4_datagram(kIpB, kIpA, net::kIpProtoIcmp, icmp));
  h.w.link_ba().send(testing::to_mbuf(h.w.pool(), f), h.w.now());
}

WorldConfig no_ts_config() {
  WorldConfig c = base_config();
  c.a.tcp.timestamps = c.b.tcp.timestamps = false;
  return c;
}

// --- 1. Opening: RFC 9293 3.5, options 3.7.1, RFC 7323, RFC 2018 ------------------------------

TEST(TcpOpen, ThreeWayHandshakeNegotiatesEveryOption) {
  Harness h;
  h.listen();
  Conn* c = h.connect();
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(TcpLayer::state(c), State::syn_sent);
  ASSERT_TRUE(h.run_until([&] { return h.a.connected == 1 && h.b.accepted == 1; }));
  const Lines expected = {
      "0.005000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [S] seq=0 win=65535 len=0 "
      "<mss 1460,ws 3,sackOK,ts 0 0>",
      "0.010000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [SA] seq=0 ack=1 win=65535 len=0 "
      "<mss 1460,ws 3,sackOK,ts 0 0>",
      "0.015000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=1 ack=1 win=32768 len=0 "
      "<ts 10 0>",
  };
  EXPECT_EQ(h.trace(), expected) << h.dump();
  EXPECT_EQ(TcpLayer::state(h.a.conn()), State::established);
  EXPECT_EQ(TcpLayer::state(h.b.conn()), State::established);
  for (Conn* x : {h.a.conn(), h.b.conn()}) {
    const ConnInfo i = (x == h.a.conn() ? h.a.tcp : h.b.tcp)->info(x);
    EXPECT_STREQ(i.state, "ESTABLISHED");
    EXPECT_EQ(i.snd_mss, 1460u);
    EXPECT_EQ(i.rcv_mss, 1460u);
    EXPECT_TRUE(i.wscale);
    EXPECT_TRUE(i.sack);
    EXPECT_TRUE(i.timestamps);
  }
  EXPECT_EQ(h.ca(Counter::tcp_active_opens), 1u);
  EXPECT_EQ(h.cb(Counter::tcp_passive_opens), 1u);
}

// RFC 9293 3.8.6 / RFC 7323 2.3: whatever the ISNs, the window offered never exceeds the
// receive buffer (with a 256 KiB buffer and shift 3: a field of at most 32768). The right
// edge of the window once started at sequence number 0 instead of RCV.NXT, which made this
// depend on the peer's ISN.
TEST(TcpOpen, AdvertisedWindowNeverExceedsTheBufferWhateverTheIsns) {
  for (uint64_t seed = 1; seed <= 24; ++seed) {
    WorldConfig c = base_config();
    c.seed = seed;
    Harness h(c);
    h.open();
    send_str(*h.a.tcp, h.a.conn(), pattern(100));
    send_str(*h.b.tcp, h.b.conn(), pattern(100));
    h.kick();
    ASSERT_TRUE(h.run_until([&] { return h.a.rx.size() == 100 && h.b.rx.size() == 100; }));
    static const std::regex kWin(R"(\[[^S\]]*\] .* win=(\d+))");
    for (const auto& line : h.trace()) {
      std::smatch m;
      if (std::regex_search(line, m, kWin)) {
        EXPECT_LE(std::stoul(m[1]), 32768u) << "seed " << seed << ": " << line;
      }
    }
  }
}

// RFC 7323 1.3 / 2.2 (wscale, timestamps), RFC 2018 2 (SACK-permitted): an option is used only
// when both SYNs carry it, and a SYN-ACK never offers what the SYN did not.
struct OptionCase {
  const char* name;  // the token in the trace
  bool tcp::TcpConfig::*flag;
  bool ConnInfo::*info;
};
const OptionCase kOptionCases[] = {
    {"ws ", &tcp::TcpConfig::window_scaling, &ConnInfo::wscale},
    {"sackOK", &tcp::TcpConfig::sack, &ConnInfo::sack},
    {"ts ", &tcp::TcpConfig::timestamps, &ConnInfo::timestamps},
};

TEST(TcpOpen, AnOptionSwitchedOffOnEitherSideIsUsedByNeither) {
  for (const OptionCase& oc : kOptionCases) {
    for (bool off_on_a : {true, false}) {
      SCOPED_TRACE(std::string(oc.name) + (off_on_a ? " off on a" : " off on b"));
      WorldConfig c = base_config();
      (off_on_a ? c.a : c.b).tcp.*oc.flag = false;
      Harness h(c);
      h.open();
      // Data both ways, and a hole so that SACK blocks would show if SACK were on.
      send_str(*h.a.tcp, h.a.conn(), pattern(3000));
      send_str(*h.b.tcp, h.b.conn(), pattern(3000, 1));
      h.kick();
      ASSERT_TRUE(h.run_until([&] { return h.a.rx.size() == 3000 && h.b.rx.size() == 3000; }));
      const Lines t = h.trace();
      ASSERT_GE(t.size(), 3u);
      // Only a's SYN may carry the option (when a offered it and b did not accept).
      EXPECT_EQ(t[0].find(oc.name) != std::string::npos, !off_on_a) << t[0];
      for (size_t i = 1; i < t.size(); ++i)
        EXPECT_EQ(t[i].find(oc.name), std::string::npos) << t[i];
      for (Conn* x : {h.a.conn(), h.b.conn()}) {
        const ConnInfo i = (x == h.a.conn() ? h.a.tcp : h.b.tcp)->info(x);
        EXPECT_FALSE(i.*oc.info);
        EXPECT_EQ(i.snd_mss, 1460u);
      }
      EXPECT_EQ(h.a.rx, pattern(3000, 1));
      EXPECT_EQ(h.b.rx, pattern(3000));
      if (std::string(oc.name) == "ws ") {
        // Without scaling, windows are plain byte counts capped at 65535.
        for (const auto& line : t) EXPECT_NE(line.find("win=65535"), std::string::npos) << line;
      }
    }
  }
}

// --- 2. Closing: RFC 9293 3.6 -----------------------------------------------------------------

TEST(TcpClose, HalfCloseBothWaysThroughTimeWait) {
  WorldConfig c = base_config();
  c.a.tcp.timestamps = c.b.tcp.timestamps = false;  // shorter lines
  Harness h(c);
  h.open();
  Conn* ca = h.a.conn();
  Conn* cb = h.b.conn();
  // TIME-WAIT is a record once its last ACK is out (no TCB): asked for by tuple.
  [[maybe_unused]] const net::FourTuple ta = TcpLayer::tuple(ca), tb = TcpLayer::tuple(cb);
  h.mark();
  send_str(*h.a.tcp, ca, "hello");
  send_str(*h.b.tcp, cb, "world");
  h.kick();
  ASSERT_TRUE(h.run_until([&] { return h.a.rx == "world" && h.b.rx == "hello"; }));
  // a: CLOSE of its sending side (3.10.4): FIN-WAIT-1, then FIN-WAIT-2 once b ACKs the FIN.
  h.a.tcp->shutdown_write(ca);
  EXPECT_EQ(TcpLayer::state(ca), State::fin_wait_1);
  h.kick();
  ASSERT_TRUE(h.run_until([&] { return TcpLayer::state(ca) == State::fin_wait_2; }));
  EXPECT_EQ(TcpLayer::state(cb), State::close_wait);
  EXPECT_EQ(h.b.peer_closed, 1);
  // b may go on sending in CLOSE-WAIT; a still receives in FIN-WAIT-2.
  send_str(*h.b.tcp, cb, "more from b");
  h.kick();
  ASSERT_TRUE(h.run_until([&] { return h.a.rx == "worldmore from b"; }));
  EXPECT_EQ(TcpLayer::state(ca), State::fin_wait_2);
  // b closes: LAST-ACK until a's ACK of its FIN; a goes to TIME-WAIT.
  h.b.tcp->close(cb);
  EXPECT_EQ(TcpLayer::state(cb), State::last_ack);
  h.kick();
  ASSERT_TRUE(h.run_until([&] { return h.a.tcp->state_of(ta) == State::time_wait; }));
  const uint64_t tw_start = h.w.now();
  ASSERT_TRUE(h.run_until([&] { return !h.b.closed.empty(); }));
  EXPECT_EQ(h.a.tcp->state_of(ta), State::time_wait);
  EXPECT_EQ(h.a.closed, std::vector<CloseReason>{CloseReason::normal});
  EXPECT_EQ(h.b.closed, std::vector<CloseReason>{CloseReason::normal});
  EXPECT_EQ(h.a.peer_closed, 1);
  EXPECT_EQ(h.b.tcp->connections(), 0u);
  EXPECT_EQ(h.a.tcp->connections(), 0u);      // TIME-WAIT holds no TCB...
  EXPECT_EQ(h.a.tcp->time_wait_count(), 1u);  // ...but a record
  // TIME-WAIT lasts 2 MSL (3.6.1), then the record is gone.
  ASSERT_TRUE(h.run_until([&] { return h.a.tcp->time_wait_count() == 0; }, 5 * kSecond));
  const uint64_t tw = h.w.now() - tw_start;
  EXPECT_GE(tw, 2 * c.a.tcp.msl_ns);
  EXPECT_LE(tw, 2 * c.a.tcp.msl_ns + 20 * kMillisecond);
  const Lines expected = {
      "0.005000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [PA] seq=1 ack=1 win=32768 len=5",
      "0.005000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [PA] seq=1 ack=1 win=32768 len=5",
      "0.010000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [FA] seq=6 ack=6 win=32767 len=0",
      "0.015000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=6 ack=7 win=32767 len=0",
      "0.020000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [PA] seq=6 ack=7 win=32767 len=11",
      "0.025000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [FA] seq=17 ack=7 win=32767 len=0",
      "0.030000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=7 ack=18 win=32765 len=0",
  };
  EXPECT_EQ(h.trace(), expected) << h.dump();
}

// TIME-WAIT (3.10.7.4 eighth): "The only thing that can arrive in this state is a
// retransmission of the remote FIN. Acknowledge it, and restart the 2 MSL timeout." Here
// a's ACKs of b's FIN are lost for 1.1 s; b resends the FIN 0.2, 0.6 and 1.4 s after a
// entered TIME-WAIT (RTO 200 ms, doubled each time). 2 MSL is 1 s: only because the FINs at
// 0.2 and 0.6 restarted it is a still there at 1.4 to ACK; otherwise b would meet a RST.
TEST(TcpClose, RetransmittedFinRestartsTimeWait) {
  const WorldConfig c = no_ts_config();
  Harness h(c);
  h.open();
  Conn* ca = h.a.conn();
  Conn* cb = h.b.conn();
  // TIME-WAIT is a record once its last ACK is out (no TCB): asked for by tuple.
  [[maybe_unused]] const net::FourTuple ta = TcpLayer::tuple(ca), tb = TcpLayer::tuple(cb);
  h.a.tcp->shutdown_write(ca);
  h.kick();
  ASSERT_TRUE(h.run_until([&] { return TcpLayer::state(ca) == State::fin_wait_2; }));
  Faults cut;
  cut.loss = 1.0;
  cut.delay_ns = kDelay;
  h.set_faults(cut, Faults{.delay_ns = kDelay});
  h.b.tcp->close(cb);
  h.kick();
  ASSERT_TRUE(h.run_until([&] { return h.a.tcp->state_of(ta) == State::time_wait; }));
  const uint64_t tw_start = h.w.now();
  h.w.run_for(1100 * kMillisecond);
  EXPECT_EQ(h.b.closed.size(), 0u);  // LAST-ACK: no ACK of its FIN got through
  EXPECT_GE(h.cb(Counter::tcp_timeouts), 2u);
  h.set_faults(Faults{.delay_ns = kDelay}, Faults{.delay_ns = kDelay});
  ASSERT_TRUE(h.run_until([&] { return !h.b.closed.empty(); }, 5 * kSecond));
  EXPECT_EQ(h.b.closed, std::vector<CloseReason>{CloseReason::normal});
  EXPECT_GT(h.w.now() - tw_start, 2 * c.a.tcp.msl_ns);  // b's last FIN came after the first 2 MSL
  ASSERT_TRUE(h.run_until(
      [&] { return h.a.tcp->connections() == 0 && h.a.tcp->time_wait_count() == 0; }, 5 * kSecond));
}

// 3.6 case 2: both CLOSE at once; the FINs cross: FIN-WAIT-1 -> CLOSING -> TIME-WAIT.
TEST(TcpClose, SimultaneousCloseGoesThroughClosing) {
  WorldConfig c = base_config();
  c.a.tcp.timestamps = c.b.tcp.timestamps = false;
  Harness h(c);
  h.open();
  Conn* ca = h.a.conn();
  Conn* cb = h.b.conn();
  // TIME-WAIT is a record once its last ACK is out (no TCB): asked for by tuple.
  [[maybe_unused]] const net::FourTuple ta = TcpLayer::tuple(ca), tb = TcpLayer::tuple(cb);
  h.mark();
  h.a.tcp->close(ca);
  h.b.tcp->close(cb);
  h.kick();
  ASSERT_TRUE(h.run_until([&] {
    return TcpLayer::state(ca) == State::closing && TcpLayer::state(cb) == State::closing;
  }));
  ASSERT_TRUE(h.run_until([&] { return h.a.closed.size() == 1 && h.b.closed.size() == 1; }));
  EXPECT_EQ(h.a.tcp->state_of(ta), State::time_wait);
  EXPECT_EQ(h.b.tcp->state_of(tb), State::time_wait);
  EXPECT_EQ(h.a.closed, std::vector<CloseReason>{CloseReason::normal});
  EXPECT_EQ(h.b.closed, std::vector<CloseReason>{CloseReason::normal});
  ASSERT_TRUE(h.run_until(
      [&] {
        return h.a.tcp->connections() + h.a.tcp->time_wait_count() == 0 &&
               h.b.tcp->connections() + h.b.tcp->time_wait_count() == 0;
      },
      5 * kSecond));
  const Lines expected = {
      "0.005000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [FA] seq=1 ack=1 win=32768 len=0",
      "0.005000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [FA] seq=1 ack=1 win=32768 len=0",
      "0.010000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=2 ack=2 win=32767 len=0",
      "0.010000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=2 ack=2 win=32767 len=0",
  };
  EXPECT_EQ(h.trace(), expected) << h.dump();
}

// The same close as the trace's state lines: each side FIN-WAIT-1 (its close), CLOSING (the
// other's FIN), TIME-WAIT (the ACK of its FIN), CLOSED after 2 MSL.
TEST(TcpClose, SimultaneousCloseShowsTheSameArcsOnBothSidesInTheStateTrace) {
  WorldConfig c = base_config();
  c.a.tcp.timestamps = c.b.tcp.timestamps = false;
  Harness h(c);
  h.open();
  h.mark();
  h.a.tcp->close(h.a.conn());
  h.b.tcp->close(h.b.conn());
  h.kick();
  ASSERT_TRUE(h.run_until(
      [&] {
        return h.a.tcp->connections() + h.a.tcp->time_wait_count() == 0 &&
               h.b.tcp->connections() + h.b.tcp->time_wait_count() == 0;
      },
      5 * kSecond));
  const Lines expected = {
      "state a 10.0.0.1:40000 < 10.0.0.2:80 ESTABLISHED -> FIN-WAIT-1 app_close",
      "state b 10.0.0.2:80 < 10.0.0.1:40000 ESTABLISHED -> FIN-WAIT-1 app_close",
      "state a 10.0.0.1:40000 < 10.0.0.2:80 FIN-WAIT-1 -> CLOSING fin_received",
      "state b 10.0.0.2:80 < 10.0.0.1:40000 FIN-WAIT-1 -> CLOSING fin_received",
      "state a 10.0.0.1:40000 < 10.0.0.2:80 CLOSING -> TIME-WAIT fin_acked",
      "state b 10.0.0.2:80 < 10.0.0.1:40000 CLOSING -> TIME-WAIT fin_acked",
      "state a 10.0.0.1:40000 < 10.0.0.2:80 TIME-WAIT -> CLOSED time_wait_expired",
      "state b 10.0.0.2:80 < 10.0.0.1:40000 TIME-WAIT -> CLOSED time_wait_expired",
  };
  EXPECT_EQ(h.states(), expected);
}

// --- 4. Simultaneous open (3.5, figure 7) ------------------------------------------------------

TEST(TcpOpen, SimultaneousOpenPassesThroughSynReceivedOnBoth) {
  WorldConfig c = base_config();
  c.a.tcp.timestamps = c.b.tcp.timestamps = false;
  Harness h(c);
  TcpError e;
  Conn* ca = h.a.tcp->connect(kIpA, kIpB, 6000, &kEvents, &h.a, 5000, {}, e, h.w.now());
  Conn* cb = h.b.tcp->connect(kIpB, kIpA, 5000, &kEvents, &h.b, 6000, {}, e, h.w.now());
  ASSERT_NE(ca, nullptr);
  ASSERT_NE(cb, nullptr);
  h.kick();
  ASSERT_TRUE(h.run_until([&] {
    return TcpLayer::state(ca) == State::syn_received && TcpLayer::state(cb) == State::syn_received;
  }));
  ASSERT_TRUE(h.run_until([&] { return h.a.connected == 1 && h.b.connected == 1; })) << h.dump();
  EXPECT_EQ(TcpLayer::state(ca), State::established);
  EXPECT_EQ(TcpLayer::state(cb), State::established);
  send_str(*h.a.tcp, ca, "ping");
  send_str(*h.b.tcp, cb, "pong");
  h.kick();
  ASSERT_TRUE(h.run_until([&] { return h.a.rx == "pong" && h.b.rx == "ping"; }));
  const Lines expected = {
      "0.005000 b>a TCP 10.0.0.2:6000 > 10.0.0.1:5000 [S] seq=0 win=65535 len=0 <mss 1460,ws "
      "3,sackOK>",
      "0.005000 a>b TCP 10.0.0.1:5000 > 10.0.0.2:6000 [S] seq=0 win=65535 len=0 <mss 1460,ws "
      "3,sackOK>",
      "0.010000 b>a TCP 10.0.0.2:6000 > 10.0.0.1:5000 [SA] seq=0 ack=1 win=65535 len=0 <mss "
      "1460,ws 3,sackOK>",
      "0.010000 a>b TCP 10.0.0.1:5000 > 10.0.0.2:6000 [SA] seq=0 ack=1 win=65535 len=0 <mss "
      "1460,ws 3,sackOK>",
      "0.015000 b>a TCP 10.0.0.2:6000 > 10.0.0.1:5000 [PA] seq=1 ack=1 win=32768 len=4",
      "0.015000 a>b TCP 10.0.0.1:5000 > 10.0.0.2:6000 [PA] seq=1 ack=1 win=32768 len=4",
  };
  EXPECT_EQ(h.trace(), expected) << h.dump();
}

// --- 5. Failed opens ---------------------------------------------------------------------------

TEST(TcpOpen, ConnectToClosedPortIsRefused) {
  Harness h;
  Conn* c = h.connect(4444);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(h.run_until([&] { return !h.a.closed.empty(); }));
  EXPECT_EQ(h.a.closed, std::vector<CloseReason>{CloseReason::refused});
  EXPECT_EQ(h.a.tcp->connections(), 0u);
  const Lines expected = {
      "0.005000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:4444 [S] seq=0 win=65535 len=0 <mss 1460,ws "
      "3,sackOK,ts 0 0>",
      "0.010000 b>a TCP 10.0.0.2:4444 > 10.0.0.1:40000 [RA] seq=0 ack=1 win=0 len=0",
  };
  EXPECT_EQ(h.trace(), expected) << h.dump();
  EXPECT_EQ(h.ca(Counter::tcp_attempt_fails), 1u);
  EXPECT_EQ(h.cb(Counter::tcp_rst_sent), 1u);
}

// RFC 6298 5.5 / 5.7 and RFC 9293 3.8.1: SYN retransmissions with the RTO doubling each time,
// then the attempt times out.
TEST(TcpOpen, SilentPeerSynRetriesBackOffThenTimeOut) {
  WorldConfig c = base_config();
  c.a.tcp.syn_retries = 3;
  Harness h(c);
  Faults deaf;
  deaf.delay_ns = kDelay;
  deaf.loss = 1.0;
  h.set_faults(Faults{.delay_ns = kDelay}, deaf);
  Conn* conn = h.connect(4444);
  ASSERT_NE(conn, nullptr);
  ASSERT_TRUE(h.run_until([&] { return !h.a.closed.empty(); }, 60 * kSecond));
  EXPECT_EQ(h.a.closed, std::vector<CloseReason>{CloseReason::timeout});
  // 1 + 2 + 4 + 8 s (initial RTO 1 s, three retries, then one more RTO to give up).
  EXPECT_EQ(h.elapsed(), 15 * kSecond);
  const Lines expected = {
      "0.005000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:4444 [S] seq=0 win=65535 len=0 <mss 1460,ws "
      "3,sackOK,ts 0 0>",
      "0.005000 b>a LOST TCP 10.0.0.2:4444 > 10.0.0.1:40000 [RA] seq=0 ack=1 win=0 len=0",
      "1.005000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:4444 [S] seq=0 win=65535 len=0 <mss 1460,ws "
      "3,sackOK,ts 1000 0>",
      "1.005000 b>a LOST TCP 10.0.0.2:4444 > 10.0.0.1:40000 [RA] seq=0 ack=1 win=0 len=0",
      "3.005000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:4444 [S] seq=0 win=65535 len=0 <mss 1460,ws "
      "3,sackOK,ts 3000 0>",
      "3.005000 b>a LOST TCP 10.0.0.2:4444 > 10.0.0.1:40000 [RA] seq=0 ack=1 win=0 len=0",
      "7.005000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:4444 [S] seq=0 win=65535 len=0 <mss 1460,ws "
      "3,sackOK,ts 7000 0>",
      "7.005000 b>a LOST TCP 10.0.0.2:4444 > 10.0.0.1:40000 [RA] seq=0 ack=1 win=0 len=0",
  };
  EXPECT_EQ(h.trace(), expected) << h.dump();
  EXPECT_EQ(h.ca(Counter::tcp_attempt_fails), 1u);
  EXPECT_EQ(h.ca(Counter::tcp_timeouts), 4u);
  // Issue 13: the three retries are reported as SYN retransmissions.
  EXPECT_EQ(h.ca(Counter::tcp_retrans_segs), 3u);
  EXPECT_EQ(h.ca(Counter::tcp_retrans_syn), 3u);
}

// --- 6. RST, SYN and ACK rules (RFC 9293 3.10.7.4, RFC 5961) ----------------------------------

TEST(TcpRules, InWindowRstSynAndBadAcksDrawChallengeAcksOnlyTheExactRstResets) {
  Harness h(no_ts_config());
  h.open();
  Conn* ca = h.a.conn();
  Conn* cb = h.b.conn();
  h.mark();
  using namespace net::tcp_flags;
  // RFC 5961 3.2: a RST inside the window but not at RCV.NXT: challenge ACK, no reset.
  inject_from_b(h, cb, cb->snd_nxt + 100, cb->rcv_nxt, rst);
  h.w.run_for(20 * kMillisecond);
  EXPECT_EQ(TcpLayer::state(ca), State::established);
  // 3.10.7.4 fifth: an ACK of something not yet sent: ACK and drop (the data is not taken).
  inject_from_b(h, cb, cb->snd_nxt, cb->rcv_nxt + 5000, ack | psh, "bogus");
  h.w.run_for(20 * kMillisecond);
  EXPECT_EQ(h.a.rx, "");
  // 3.10.7.4 first: a segment outside the window: ACK and drop.
  inject_from_b(h, cb, cb->snd_nxt + 1'000'000, cb->rcv_nxt, ack | psh, "far");
  h.w.run_for(20 * kMillisecond);
  EXPECT_EQ(h.a.rx, "");
  EXPECT_EQ(TcpLayer::state(ca), State::established);
  // The connection still works.
  send_str(*h.b.tcp, cb, "still here");
  h.kick();
  ASSERT_TRUE(h.run_until([&] { return h.a.rx == "still here"; }));
  // RFC 5961 4.2: a SYN in a synchronized state: challenge ACK, drop. (The trace numbers b's
  // sequence space from each SYN it sees: from here on, from this one.)
  inject_from_b(h, cb, cb->snd_nxt, cb->rcv_nxt, syn);
  h.w.run_for(20 * kMillisecond);
  EXPECT_EQ(TcpLayer::state(ca), State::established);
  // 3.10.7.4 second: a RST exactly at RCV.NXT resets.
  inject_from_b(h, cb, cb->snd_nxt, net::Seq(0), rst);
  ASSERT_TRUE(h.run_until([&] { return !h.a.closed.empty(); }));
  EXPECT_EQ(h.a.closed, std::vector<CloseReason>{CloseReason::reset});
  EXPECT_EQ(h.a.tcp->connections(), 0u);
  const Lines expected = {
      "0.005000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [R] seq=101 win=1000 len=0",
      "0.010000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=1 ack=1 win=32768 len=0",
      "0.025000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [PA] seq=1 ack=5001 win=1000 len=5",
      "0.030000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=1 ack=1 win=32768 len=0",
      "0.045000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [PA] seq=1000001 ack=1 win=1000 len=3",
      "0.050000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=1 ack=1 win=32768 len=0",
      "0.065000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [PA] seq=1 ack=1 win=32768 len=10",
      "0.070000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [S] seq=0 win=1000 len=0",
      "0.075000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=1 ack=0 win=32766 len=0",
      "0.090000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [R] seq=0 win=1000 len=0",
  };
  EXPECT_EQ(h.trace(), expected) << h.dump();
  EXPECT_EQ(h.ca(Counter::tcp_challenge_acks), 2u);
  EXPECT_EQ(h.ca(Counter::drop_tcp_ack_unsent), 1u);
  EXPECT_EQ(h.ca(Counter::drop_tcp_out_of_window), 1u);
  EXPECT_EQ(h.ca(Counter::tcp_established_resets), 1u);
}

// RFC 7323 5.3: PAWS drops a segment whose TSval is older than TS.Recent, and ACKs.
TEST(TcpRules, OldDuplicateWithOldTimestampIsDroppedByPaws) {
  Harness h;
  h.open();
  Conn* ca = h.a.conn();
  Conn* cb = h.b.conn();
  h.mark();
  net::TcpOptions o;
  o.has_timestamps = true;
  o.ts_val = ca->ts_recent - 1000;  // a second older than what a has seen
  o.ts_ecr = 0;
  inject_from_b(h, cb, cb->snd_nxt, cb->rcv_nxt, net::tcp_flags::ack | net::tcp_flags::psh,
                "old duplicate", &o);
  h.w.run_for(20 * kMillisecond);
  EXPECT_EQ(h.a.rx, "");
  EXPECT_EQ(h.ca(Counter::drop_tcp_paws), 1u);
  EXPECT_EQ(TcpLayer::state(ca), State::established);
  const Lines expected = {
      "0.005000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [PA] seq=1 ack=1 win=1000 len=13 <ts -1000 0>",
      "0.010000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=1 ack=1 win=32768 len=0 <ts 20 0>",
  };
  EXPECT_EQ(h.trace(), expected) << h.dump();
  // The same bytes with a current timestamp are taken.
  o.ts_val = ca->ts_recent + 1;
  inject_from_b(h, cb, cb->snd_nxt, cb->rcv_nxt, net::tcp_flags::ack | net::tcp_flags::psh,
                "old duplicate", &o);
  h.w.run_for(20 * kMillisecond);
  EXPECT_EQ(h.a.rx, "old duplicate");
}

// --- 7. ABORT (3.10.5) -------------------------------------------------------------------------

TEST(TcpRules, AbortSendsRstAndThePeerIsReset) {
  Harness h(no_ts_config());
  h.open();
  h.mark();
  h.a.tcp->abort(h.a.conn());
  h.kick();
  ASSERT_TRUE(h.run_until([&] { return !h.a.closed.empty() && !h.b.closed.empty(); }));
  EXPECT_EQ(h.a.closed, std::vector<CloseReason>{CloseReason::aborted});
  EXPECT_EQ(h.b.closed, std::vector<CloseReason>{CloseReason::reset});
  EXPECT_EQ(h.a.tcp->connections(), 0u);
  EXPECT_EQ(h.b.tcp->connections(), 0u);
  const Lines expected = {
      "0.005000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [R] seq=1 win=0 len=0",
  };
  EXPECT_EQ(h.trace(), expected) << h.dump();
  EXPECT_EQ(h.ca(Counter::tcp_rst_sent), 1u);
  EXPECT_EQ(h.cb(Counter::tcp_established_resets), 1u);
}

// --- 8. Resource limits ------------------------------------------------------------------------

TEST(TcpLimits, FullBacklogDropsSynsUntilHandshakesComplete) {
  WorldConfig c = no_ts_config();
  c.b.tcp.syn_cookies = SynCookieMode::never;  // the drop itself (cookies: the next test)
  Harness h(c);
  h.listen(kPort, 1);
  for (int i = 0; i < 5; ++i) ASSERT_NE(h.connect(), nullptr);
  ASSERT_TRUE(h.run_until([&] { return h.b.accepted == 5 && h.a.connected == 5; }, 30 * kSecond));
  // Each SYN round admits one (backlog 1): 5 SYNs at 0 s, 4 retries at 1 s, 3 at 3 s, 2 at 7 s.
  EXPECT_EQ(h.cb(Counter::drop_tcp_backlog_full), 4u + 3u + 2u + 1u);
  EXPECT_EQ(h.cb(Counter::tcp_passive_opens), 5u);
  EXPECT_GE(h.elapsed(), 15 * kSecond);
  EXPECT_LT(h.elapsed(), 16 * kSecond);
  for (Conn* c : h.b.conns) EXPECT_EQ(TcpLayer::state(c), State::established);
}

// RFC 4987 3.6: by default a full backlog answers with SYN cookies, so the SYNs that found
// it full still make their connections at once instead of waiting for retransmissions.
TEST(TcpLimits, FullBacklogAnswersWithSynCookiesByDefault) {
  Harness h(no_ts_config());
  h.listen(kPort, 1);
  for (int i = 0; i < 5; ++i) ASSERT_NE(h.connect(), nullptr);
  ASSERT_TRUE(h.run_until([&] { return h.b.accepted == 5 && h.a.connected == 5; }, 30 * kSecond));
  EXPECT_EQ(h.cb(Counter::drop_tcp_backlog_full), 0u);
  EXPECT_EQ(h.cb(Counter::syn_cookies_sent), 4u);
  EXPECT_EQ(h.cb(Counter::syn_cookies_accepted), 4u);
  EXPECT_EQ(h.cb(Counter::tcp_passive_opens), 5u);
  EXPECT_LT(h.elapsed(), kSecond) << "no SYN had to be retransmitted";
  for (Conn* c : h.b.conns) EXPECT_EQ(TcpLayer::state(c), State::established);
}

TEST(TcpLimits, FullTableDropsSynsAndRefusesConnectsUntilConnectionsClose) {
  WorldConfig c = no_ts_config();
  c.a.tcp.max_connections = 3;
  c.b.tcp.max_connections = 2;
  Harness h(c);
  h.listen();
  h.b.close_on_peer_close = true;
  Conn* c1 = h.connect();
  Conn* c2 = h.connect();
  Conn* c3 = h.connect();
  ASSERT_TRUE(c1 && c2 && c3);
  EXPECT_EQ(h.connect(), nullptr);
  EXPECT_EQ(h.last_error, TcpError::table_full);
  ASSERT_TRUE(h.run_until([&] { return h.b.accepted == 2; }));
  h.w.run_for(100 * kMillisecond);
  EXPECT_EQ(h.cb(Counter::drop_tcp_table_full), 1u);
  EXPECT_EQ(TcpLayer::state(c3), State::syn_sent);
  // a closes its first connection: b passes LAST-ACK and frees the TCB (a keeps TIME-WAIT).
  h.a.tcp->close(c1);
  h.kick();
  ASSERT_TRUE(h.run_until([&] { return h.b.closed.size() == 1; }));
  EXPECT_EQ(h.b.tcp->connections(), 1u);
  // c3's retransmitted SYN (at 1 s) now finds room.
  ASSERT_TRUE(h.run_until([&] { return h.a.connected == 3; }, 3 * kSecond));
  EXPECT_EQ(TcpLayer::state(c3), State::established);
  // a's TIME-WAIT is a record, outside the table: the TCB is free again.
  ASSERT_TRUE(h.run_until([&] { return h.a.tcp->connections() == 2; }, 3 * kSecond));
  EXPECT_EQ(h.a.tcp->time_wait_count(), 1u);
  EXPECT_NE(h.connect(kPort + 1), nullptr);
}

// --- 9. Zero window and persist (3.8.6.1) ------------------------------------------------------

TEST(TcpFlow, ZeroWindowIsProbedWithBackoffAndReopens) {
  Harness h(no_ts_config());
  ConnOptions small;
  small.rcvbuf = 4096;
  h.open({}, small);
  Conn* ca = h.a.conn();
  Conn* cb = h.b.conn();
  h.b.auto_read = false;
  const std::string data = pattern(20000);
  h.mark();
  size_t sent = send_str(*h.a.tcp, ca, data);
  ASSERT_EQ(sent, data.size());
  h.kick();
  ASSERT_TRUE(h.run_until([&] { return h.b.tcp->readable_bytes(cb) == 4096; })) << h.dump();
  h.w.run_for(8 * kSecond);
  // Probes RTO (200 ms) after the zero window, then 400, 800, 1600, 3200 ms apart.
  EXPECT_EQ(h.ca(Counter::tcp_zero_window_probes), 5u);
  EXPECT_EQ(TcpLayer::state(ca), State::established);
  // The application reads: a window update reopens the flow.
  h.b.auto_read = true;
  h.b.read_all(cb);
  h.kick();
  ASSERT_TRUE(h.run_until([&] { return h.b.rx.size() == data.size(); }, 10 * kSecond));
  EXPECT_EQ(h.b.rx, data);
  const Lines expected = {
      "0.005000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=1 ack=1 win=32768 len=1460",
      "0.005000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=1461 ack=1 win=32768 len=1460",
      "0.010000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=1 ack=2921 win=1176 len=0",
      "0.215000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=2921 ack=1 win=32768 len=1176",
      "0.260000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=1 ack=4097 win=0 len=0",
      "0.465000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=4096 ack=1 win=32768 len=0",
      "0.470000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=1 ack=4097 win=0 len=0",
      "0.865000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=4096 ack=1 win=32768 len=0",
      "0.870000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=1 ack=4097 win=0 len=0",
      "1.665000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=4096 ack=1 win=32768 len=0",
      "1.670000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=1 ack=4097 win=0 len=0",
      "3.265000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=4096 ack=1 win=32768 len=0",
      "3.270000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=1 ack=4097 win=0 len=0",
      "6.465000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=4096 ack=1 win=32768 len=0",
      "6.470000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=1 ack=4097 win=0 len=0",
      "8.220000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=1 ack=4097 win=4096 len=0",
      "8.225000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=4097 ack=1 win=32768 len=1460",
      "8.225000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=5557 ack=1 win=32768 len=1460",
      "8.230000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=1 ack=7017 win=4096 len=0",
      "8.235000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=7017 ack=1 win=32768 len=1460",
      "8.235000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=8477 ack=1 win=32768 len=1460",
      "8.240000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=1 ack=9937 win=4096 len=0",
      "8.245000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=9937 ack=1 win=32768 len=1460",
      "8.245000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=11397 ack=1 win=32768 len=1460",
      "8.250000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=1 ack=12857 win=4096 len=0",
      "8.255000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=12857 ack=1 win=32768 len=1460",
      "8.255000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=14317 ack=1 win=32768 len=1460",
      "8.260000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=1 ack=15777 win=4096 len=0",
      "8.265000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=15777 ack=1 win=32768 len=1460",
      "8.265000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=17237 ack=1 win=32768 len=1460",
      "8.270000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=1 ack=18697 win=4096 len=0",
      "8.275000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [PA] seq=18697 ack=1 win=32768 len=1304",
  };
  EXPECT_EQ(h.trace(), expected) << h.dump();
}

// --- 10. Keepalive (3.8.4, RFC 1122 4.2.3.6) ---------------------------------------------------

TEST(TcpFlow, BufferSizesChangeOnAnOpenConnection) {
  Harness h(no_ts_config());
  ConnOptions small;
  small.sndbuf = 4096;
  small.rcvbuf = 4096;
  h.open(small, small);
  Conn* ca = h.a.conn();
  Conn* cb = h.b.conn();
  h.b.auto_read = false;
  const std::string data = pattern(20000);
  // The sender's queue holds its buffer's worth; a larger buffer takes the rest.
  ASSERT_EQ(send_str(*h.a.tcp, ca, data), 4096u);
  h.a.tcp->set_buffers(ca, 65536, 4096);
  EXPECT_EQ(h.a.tcp->send_space(ca), 65536u - 4096u);
  ASSERT_EQ(send_str(*h.a.tcp, ca, data.substr(4096)), data.size() - 4096);
  h.kick();
  ASSERT_TRUE(h.run_until([&] { return h.b.tcp->readable_bytes(cb) == 4096; })) << h.dump();
  h.w.run_for(kSecond);
  EXPECT_EQ(h.b.tcp->readable_bytes(cb), 4096u) << "the receive window holds the rest back";
  // The receiver grows its buffer without reading: a window update lets the rest in.
  h.b.tcp->set_buffers(cb, 4096, 65536);
  h.kick();
  ASSERT_TRUE(h.run_until([&] { return h.b.tcp->readable_bytes(cb) == data.size(); })) << h.dump();
  h.b.read_all(cb);
  EXPECT_EQ(h.b.rx, data);
  EXPECT_EQ(TcpLayer::state(ca), State::established);
}

TEST(TcpTimers, KeepaliveProbesADeadPeerThenTimesOut) {
  Harness h(no_ts_config());
  h.open();
  Conn* ca = h.a.conn();
  h.a.tcp->set_keepalive(ca, true, kSecond, 200 * kMillisecond, 3);
  h.mark();
  // A live peer answers each probe; the idle timer starts over.
  h.w.run_for(2500 * kMillisecond);
  EXPECT_EQ(h.ca(Counter::tcp_keepalive_probes), 2u);
  EXPECT_EQ(TcpLayer::state(ca), State::established);
  // Then b vanishes.
  Faults dead;
  dead.loss = 1.0;
  dead.delay_ns = kDelay;
  h.set_faults(dead, dead);
  ASSERT_TRUE(h.run_until([&] { return !h.a.closed.empty(); }, 10 * kSecond));
  EXPECT_EQ(h.a.closed, std::vector<CloseReason>{CloseReason::timeout});
  const Lines expected = {
      "1.005000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=0 ack=1 win=32768 len=0",
      "1.010000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=1 ack=1 win=32768 len=0",
      "2.015000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=0 ack=1 win=32768 len=0",
      "2.020000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=1 ack=1 win=32768 len=0",
      "3.020000 a>b LOST TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=0 ack=1 win=32768 len=0",
      "3.220000 a>b LOST TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=0 ack=1 win=32768 len=0",
      "3.420000 a>b LOST TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=0 ack=1 win=32768 len=0",
      "3.620000 a>b LOST TCP 10.0.0.1:40000 > 10.0.0.2:80 [R] seq=1 win=0 len=0",
  };
  EXPECT_EQ(h.trace(), expected) << h.dump();
  EXPECT_EQ(h.ca(Counter::tcp_keepalive_probes), 2u + 3u);
  // The last answer came at 2.020 s: idle 1 s, then 3 probes 200 ms apart, then give up.
  EXPECT_EQ(h.elapsed(), 2020 * kMillisecond + kSecond + 3 * 200 * kMillisecond);
}

// --- 11. Retransmission timeout (RFC 6298 5) ---------------------------------------------------

// RFC 6298's timer alone: tail loss probes (RFC 8985 7, tested in tcp_loss_test.cpp) would
// send one probe before the first timeout.
WorldConfig rto_only_config() {
  WorldConfig c = no_ts_config();
  c.a.tcp.tlp = false;
  return c;
}

TEST(TcpTimers, RetransmissionsBackOffThenTheTransferCompletes) {
  Harness h(rto_only_config());
  h.open();
  Conn* ca = h.a.conn();
  h.mark();
  Faults cut;
  cut.loss = 1.0;
  cut.delay_ns = kDelay;
  h.set_faults(cut, Faults{.delay_ns = kDelay});
  const std::string data = pattern(3000);
  send_str(*h.a.tcp, ca, data);
  h.kick();
  h.w.run_for(3 * kSecond);
  h.set_faults(Faults{.delay_ns = kDelay}, Faults{.delay_ns = kDelay});
  ASSERT_TRUE(h.run_until([&] { return h.b.rx.size() == data.size(); }, 10 * kSecond));
  EXPECT_EQ(h.b.rx, data);
  const Lines expected = {
      "0.000000 a>b LOST TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=1 ack=1 win=32768 len=1460",
      "0.000000 a>b LOST TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=1461 ack=1 win=32768 len=1460",
      "0.200000 a>b LOST TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=1 ack=1 win=32768 len=1460",
      "0.600000 a>b LOST TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=1 ack=1 win=32768 len=1460",
      "1.400000 a>b LOST TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=1 ack=1 win=32768 len=1460",
      "3.000000 a>b LOST TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=1 ack=1 win=32768 len=1460",
      "6.205000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=1 ack=1 win=32768 len=1460",
      "6.210000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=1 ack=1461 win=32768 len=0",
      "6.215000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=1461 ack=1 win=32768 len=1460",
      "6.260000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=1 ack=2921 win=32768 len=0",
      "6.265000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [PA] seq=2921 ack=1 win=32768 len=80",
  };
  EXPECT_EQ(h.trace(), expected) << h.dump();
}

TEST(TcpTimers, RetransmissionsExhaustedTimesOut) {
  WorldConfig c = rto_only_config();
  c.a.tcp.max_retransmits = 4;
  Harness h(c);
  h.open();
  Conn* ca = h.a.conn();
  h.mark();
  Faults cut;
  cut.loss = 1.0;
  cut.delay_ns = kDelay;
  h.set_faults(cut, cut);
  send_str(*h.a.tcp, ca, "hello?");
  h.kick();
  ASSERT_TRUE(h.run_until([&] { return !h.a.closed.empty(); }, 30 * kSecond));
  EXPECT_EQ(h.a.closed, std::vector<CloseReason>{CloseReason::timeout});
  const Lines expected = {
      "0.000000 a>b LOST TCP 10.0.0.1:40000 > 10.0.0.2:80 [PA] seq=1 ack=1 win=32768 len=6",
      "0.200000 a>b LOST TCP 10.0.0.1:40000 > 10.0.0.2:80 [PA] seq=1 ack=1 win=32768 len=6",
      "0.600000 a>b LOST TCP 10.0.0.1:40000 > 10.0.0.2:80 [PA] seq=1 ack=1 win=32768 len=6",
      "1.400000 a>b LOST TCP 10.0.0.1:40000 > 10.0.0.2:80 [PA] seq=1 ack=1 win=32768 len=6",
      "3.000000 a>b LOST TCP 10.0.0.1:40000 > 10.0.0.2:80 [PA] seq=1 ack=1 win=32768 len=6",
      "6.200000 a>b LOST TCP 10.0.0.1:40000 > 10.0.0.2:80 [R] seq=7 win=0 len=0",
  };
  EXPECT_EQ(h.trace(), expected) << h.dump();
  EXPECT_EQ(h.ca(Counter::tcp_timeouts), 5u);
}

// --- 12. ACK policy (3.8.6.3, RFC 5681 4.2) ---------------------------------------------------

TEST(TcpAcks, DelayedForOneSmallSegmentImmediateForTwoFullOnes) {
  Harness h(no_ts_config());
  h.open();
  Conn* ca = h.a.conn();
  h.mark();
  // The first ACK after the handshake goes at once: it is also a window update, the first
  // chance to offer the whole (scaled) buffer, as a SYN-ACK's window is never scaled
  // (RFC 7323 2.2) and so offered only 65535 of 262144 bytes (3.8.6.2.2).
  send_str(*h.a.tcp, ca, "first");
  h.kick();
  h.w.run_for(200 * kMillisecond);
  EXPECT_EQ(h.cb(Counter::tcp_delayed_acks), 0u);
  // One small segment: the ACK waits delayed_ack_ns (40 ms).
  send_str(*h.a.tcp, ca, "one small segment");
  h.kick();
  h.w.run_for(200 * kMillisecond);
  EXPECT_EQ(h.cb(Counter::tcp_delayed_acks), 1u);
  // Two full-sized segments: ACKed at once (at least every second segment, RFC 5681 4.2).
  send_str(*h.a.tcp, ca, pattern(2920));
  h.kick();
  h.w.run_for(200 * kMillisecond);
  EXPECT_EQ(h.cb(Counter::tcp_delayed_acks), 1u);
  const Lines expected = {
      "0.005000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [PA] seq=1 ack=1 win=32768 len=5",
      "0.010000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=1 ack=6 win=32768 len=0",
      "0.205000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [PA] seq=6 ack=1 win=32768 len=17",
      "0.250000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=1 ack=23 win=32765 len=0",
      "0.405000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=23 ack=1 win=32768 len=1460",
      "0.405000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [PA] seq=1483 ack=1 win=32768 len=1460",
      "0.410000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=1 ack=2943 win=32768 len=0",
  };
  EXPECT_EQ(h.trace(), expected) << h.dump();
}

// Opens a connection (NODELAY on a's side) and sends 1000 bytes from a that the link loses;
// the link is clean again afterwards. Returns a's connection.
Conn* open_and_lose_first_segment(Harness& h) {
  h.open();
  Conn* ca = h.a.conn();
  h.a.tcp->set_nodelay(ca, true);
  h.mark();
  Faults cut;
  cut.loss = 1.0;
  cut.delay_ns = kDelay;
  h.set_faults(cut, Faults{.delay_ns = kDelay});
  send_str(*h.a.tcp, ca, pattern(1000));
  h.kick();
  h.set_faults(Faults{.delay_ns = kDelay}, Faults{.delay_ns = kDelay});
  return ca;
}

TEST(TcpAcks, OutOfOrderSegmentsAreAckedAtOnceWithSackBlocks) {
  Harness h(no_ts_config());
  Conn* ca = open_and_lose_first_segment(h);
  send_str(*h.a.tcp, ca, pattern(1000, 1));
  h.kick();
  h.w.run_for(kMillisecond);
  send_str(*h.a.tcp, ca, pattern(1000, 2));
  h.kick();
  ASSERT_TRUE(h.run_until([&] { return h.b.rx.size() == 3000; }, 5 * kSecond));
  h.w.run_for(100 * kMillisecond);
  EXPECT_EQ(h.b.rx, pattern(1000) + pattern(1000, 1) + pattern(1000, 2));
  const Lines expected = {
      "0.000000 a>b LOST TCP 10.0.0.1:40000 > 10.0.0.2:80 [PA] seq=1 ack=1 win=32768 len=1000",
      "0.005000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [PA] seq=1001 ack=1 win=32768 len=1000",
      "0.006000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [PA] seq=2001 ack=1 win=32768 len=1000",
      "0.010000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=1 ack=1 win=32643 len=0 <sack "
      "1001-2001>",
      "0.011000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=1 ack=1 win=32643 len=0 <sack "
      "1001-3001>",
      // RACK (RFC 8985 6.2): the second ACK delivers 2001-3001, sent 1 ms after the hole; the
      // hole is lost once a round trip (10 ms) and the reordering window (min_RTT / 4 =
      // 2.5 ms) have passed since it left, so the reordering timer fires at 12.5 ms (13 ms on
      // the 1 ms wheel) -- long before the 200 ms RTO. Only the hole goes again: 1001-3001
      // is SACKed (RFC 6675).
      "0.018000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=1 ack=1 win=32768 len=1000",
      "0.023000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=1 ack=3001 win=32768 len=0",
  };
  EXPECT_EQ(h.trace(), expected) << h.dump();
  EXPECT_EQ(h.cb(Counter::tcp_ofo_queued), 2u);
}

// Without SACK the sender's only signal is the duplicate ACK count (RFC 5681 3.2): three
// out-of-order segments that arrive together draw three duplicate ACKs, not one per burst.
TEST(TcpAcks, WithoutSackEachOutOfOrderSegmentDrawsItsOwnDuplicateAck) {
  WorldConfig c = no_ts_config();
  c.a.tcp.sack = false;
  Harness h(c);
  Conn* ca = open_and_lose_first_segment(h);
  // Three segments in one burst: they reach b in the same step.
  send_str(*h.a.tcp, ca, pattern(3000, 1));
  h.kick();
  h.w.run_for(12 * kMillisecond);  // one round trip: the ACKs are back, no timer has fired
  size_t dupacks = 0;
  for (const std::string& line : h.trace())
    if (line.find("b>a") != std::string::npos && line.find(" ack=1 ") != std::string::npos &&
        line.find("len=0") != std::string::npos)
      ++dupacks;
  EXPECT_EQ(dupacks, 3u) << h.dump();
  EXPECT_EQ(h.cb(Counter::tcp_ofo_queued), 3u);
}

// --- 13. Nagle (3.7.4) -------------------------------------------------------------------------

TEST(TcpFlow, NagleCoalescesSmallWritesWhileOneIsUnacked) {
  for (bool nodelay : {false, true}) {
    SCOPED_TRACE(nodelay ? "nodelay" : "nagle");
    Harness h(no_ts_config());
    h.open();
    Conn* ca = h.a.conn();
    h.a.tcp->set_nodelay(ca, nodelay);
    h.mark();
    for (const char* w : {"a", "b", "c", "d"}) {
      send_str(*h.a.tcp, ca, w);
      h.kick();
      h.w.run_for(kMillisecond);
    }
    ASSERT_TRUE(h.run_until([&] { return h.b.rx == "abcd"; }));
    h.w.run_for(100 * kMillisecond);
    // Nagle: "a" goes, "b" "c" "d" wait for its ACK and leave together.
    const Lines nagle = {
        "0.005000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [PA] seq=1 ack=1 win=32768 len=1",
        "0.010000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=1 ack=2 win=32768 len=0",
        "0.015000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [PA] seq=2 ack=1 win=32768 len=3",
        "0.060000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=1 ack=5 win=32767 len=0",
    };
    // NODELAY: every write is a segment (b ACKs every second one, the last after 40 ms).
    const Lines no_delay = {
        "0.005000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [PA] seq=1 ack=1 win=32768 len=1",
        "0.006000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [PA] seq=2 ack=1 win=32768 len=1",
        "0.007000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [PA] seq=3 ack=1 win=32768 len=1",
        "0.008000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [PA] seq=4 ack=1 win=32768 len=1",
        "0.010000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=1 ack=2 win=32768 len=0",
        "0.012000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=1 ack=4 win=32767 len=0",
        "0.053000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=1 ack=5 win=32767 len=0",
    };
    const Lines& expected = nodelay ? no_delay : nagle;
    EXPECT_EQ(h.trace(), expected) << h.dump();
  }
}

// --- 14. Path MTU discovery (RFC 1191, RFC 5927) -----------------------------------------------

TEST(TcpPmtu, FragNeededQuotingAnInFlightSegmentLowersTheMss) {
  Harness h(no_ts_config());
  h.open();
  Conn* ca = h.a.conn();
  h.mark();
  const std::string data = pattern(8000);
  send_str(*h.a.tcp, ca, data);
  h.kick();
  // A quote of a sequence number a never sent: ignored.
  inject_frag_needed(h, ca, ca->snd_max + 100000, 1000);
  // A quote of the first segment in flight: believed.
  inject_frag_needed(h, ca, ca->snd_una, 1000);
  ASSERT_TRUE(h.run_until([&] { return h.b.rx.size() == data.size(); }));
  EXPECT_EQ(h.b.rx, data);
  EXPECT_EQ(h.a.tcp->info(ca).snd_mss, 960u);
  EXPECT_EQ(h.ca(Counter::drop_tcp_icmp_invalid), 1u);
  EXPECT_EQ(h.ca(Counter::tcp_pmtu_updates), 1u);
  const Lines expected = {
      "0.005000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=1 ack=1 win=32768 len=1460",
      "0.005000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=1461 ack=1 win=32768 len=1460",
      "0.005000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=2921 ack=1 win=32768 len=1460",
      "0.005000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=4381 ack=1 win=32768 len=1460",
      "0.005000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=5841 ack=1 win=32768 len=1460",
      "0.010000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=1 ack=7301 win=32768 len=0",
      "0.010000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=1 ack=1 win=32768 len=960",
      "0.010000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=961 ack=1 win=32768 len=960",
      "0.010000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=1921 ack=1 win=32768 len=960",
      "0.010000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=2881 ack=1 win=32768 len=960",
      "0.010000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=3841 ack=1 win=32768 len=960",
      "0.010000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=4801 ack=1 win=32768 len=960",
      "0.010000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=5761 ack=1 win=32768 len=960",
      "0.010000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [A] seq=6721 ack=1 win=32768 len=960",
      // The last small segment repeats 6721-7301 of the big one before it: a D-SACK
      // reports the duplicate (RFC 2883 4.1.1).
      "0.015000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40000 [A] seq=1 ack=7681 win=32720 len=0 <sack "
      "6721-7301>",
      "0.020000 a>b TCP 10.0.0.1:40000 > 10.0.0.2:80 [PA] seq=7681 ack=1 win=32768 len=320",
  };
  EXPECT_EQ(h.trace(), expected) << h.dump();
}

// RFC 8201 5.2 / RFC 1191 5: the path MTU is the path's, not the connection's. After one
// connection learnt 1000 from a router, the next one to the same destination starts with
// MSS 960 (its full-sized segments never reach the router's narrow link); once the entry
// aged out (RFC 8201 5.3: 10 minutes, here 2 s) a new connection tries the link's MTU again.
TEST(TcpPmtu, ASecondConnectionToTheSameDestinationStartsWithTheLearntMss) {
  WorldConfig c = no_ts_config();
  c.a.tcp.pmtu_cache_ns = 2 * kSecond;
  Harness h(c);
  h.open();
  Conn* first = h.a.conn();
  send_str(*h.a.tcp, first, pattern(3000));
  h.kick();
  inject_frag_needed(h, first, first->snd_una, 1000);
  ASSERT_TRUE(h.run_until([&] { return h.b.rx.size() == 3000; }));
  EXPECT_EQ(h.a.tcp->info(first).snd_mss, 960u);
  EXPECT_EQ(h.ca(Counter::tcp_pmtu_updates), 1u);
  EXPECT_EQ(h.ca(Counter::tcp_pmtu_cache_learnt), 1u);
  EXPECT_EQ(h.ca(Counter::tcp_pmtu_cache_hits), 0u);

  Conn* second = h.connect(kPort, {}, 40100);
  ASSERT_NE(second, nullptr);
  ASSERT_TRUE(h.run_until([&] { return h.a.connected == 2 && h.b.accepted == 2; }, kSecond));
  EXPECT_EQ(h.a.tcp->info(second).snd_mss, 960u) << "from the first connection's report";
  EXPECT_EQ(h.ca(Counter::tcp_pmtu_cache_hits), 1u);
  h.mark();
  send_str(*h.a.tcp, second, pattern(2000));
  h.kick();
  ASSERT_TRUE(h.run_until([&] { return h.b.rx.size() == 5000; }));
  // 960-byte segments from the start; the 80-byte tail waits for the ACK (Nagle, RFC 9293
  // 3.7.4) as it would on any connection.
  const Lines expected = {
      "0.005000 a>b TCP 10.0.0.1:40100 > 10.0.0.2:80 [A] seq=1 ack=1 win=32768 len=960",
      "0.005000 a>b TCP 10.0.0.1:40100 > 10.0.0.2:80 [A] seq=961 ack=1 win=32768 len=960",
      "0.010000 b>a TCP 10.0.0.2:80 > 10.0.0.1:40100 [A] seq=1 ack=1921 win=32768 len=0",
      "0.015000 a>b TCP 10.0.0.1:40100 > 10.0.0.2:80 [PA] seq=1921 ack=1 win=32768 len=80",
  };
  Lines trace = h.trace();
  trace.resize(std::min<size_t>(trace.size(), expected.size()));
  EXPECT_EQ(trace, expected) << h.dump();
  EXPECT_EQ(h.ca(Counter::tcp_pmtu_updates), 1u) << "no second report was needed";

  // Past the entry's lifetime: the link's MSS again.
  h.w.run_for(2 * kSecond);
  Conn* third = h.connect(kPort, {}, 40200);
  ASSERT_NE(third, nullptr);
  ASSERT_TRUE(h.run_until([&] { return h.a.connected == 3 && h.b.accepted == 3; }, kSecond));
  EXPECT_EQ(h.a.tcp->info(third).snd_mss, 1460u);
  EXPECT_EQ(h.ca(Counter::tcp_pmtu_cache_hits), 1u);
}

}  // namespace
}  // namespace pollux::sim
