// The TCP hot paths that need a live stack: ACK processing through the whole receive path
// (Engine::input: classify, IPv4, demux, RFC 9293 3.10.7 ACK processing, output), and
// out-of-order insertion into the reassembly queue.
//
//   AckInIdle/pollux     a pure ACK on an established connection with nothing in flight
//                        (e.g. a window update); nothing is sent back.
//   AckInBulk/pollux     the steady state of a bulk sender: each ACK acknowledges one full
//                        segment (1448 bytes), and the stack sends one new segment from the send
//                        queue, which the application refills with send(). One ACK in, one
//                        data segment out (copied into an mbuf, checksum seeded for offload).
//                        The loop also decodes the segment sent, to echo its timestamp.
//                        wheel_arms_per_ack: timer wheel arms per ACK (RTO, TLP, delayed ACK).
//   MbufHarness/copy     what the two loops above spend outside the stack: an mbuf allocated,
//                        the ACK frame copied in, the mbuf freed. Subtract it to get the stack.
//   SynFlood/pollux/<syn>
//                        one spoofed SYN, from a new off-link source address each time (as
//                        hping3 --rand-source sends them), to a listener answering with SYN
//                        cookies (RFC 4987 3.6; `always`, as `auto` does once the backlog is
//                        full): classify, demux to the listener, the cookie, the SYN-ACK
//                        written, routed to the gateway (resolved), checksums in software
//                        (a tap offers no offloads), into the TX batch. <syn>: hping3, a bare
//                        SYN; linux, with MSS, SACK-permitted, timestamps and window scale
//                        (the TSval then carries the options too). synacks_per_syn: 1.
//   ReassemblyInsert/<impl>/<pattern>_x32
//                        one op = 32 out-of-order segments of 1448 bytes (fresh mbufs from
//                        the pool) inserted, then the queue cleared, freeing them.
//                        tail: a hole, then 32 segments in order (all merged into one chain);
//                        alternate: every other segment (32 separate ranges).
//                        pollux = tcp::ReassemblyQueue; map = std::map<seq, mbuf*> (naive: no
//                        merging, no trimming, no limits), the baseline. items/s counts
//                        segments.
//
// The engine's device offloads are on (as on a NIC): received frames carry the device's
// "checksum good" flags and transmitted ones get the pseudo-header seed only.
#include <benchmark/benchmark.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/checksum.hpp"
#include "net/ethernet.hpp"
#include "net/ipv4.hpp"
#include "net/tcp_header.hpp"
#include "net/tcp_options.hpp"
#include "pollux/tcp.hpp"
#include "engine/engine.hpp"
#include "tcp/reassembly.hpp"

namespace {

using namespace pollux;
using net::Seq;

const net::MacAddr kOurMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};
const net::MacAddr kPeerMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
constexpr net::Ipv4Addr kOurIp = net::make_ipv4(10, 0, 0, 2);
constexpr net::Ipv4Addr kPeerIp = net::make_ipv4(10, 0, 0, 1);
constexpr uint16_t kPort = 8080;
constexpr uint16_t kPeerPort = 40000;
constexpr uint32_t kSegment = 1448;  // MSS 1460 less the timestamps option
constexpr uint64_t kStartNs = 1'000'000'000;

rte_mempool* pool() {
  static rte_mempool* p =
      rte_pktmbuf_pool_create("bench_tcp", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  return p;
}

using Frame = std::vector<uint8_t>;

// An Ethernet frame from the peer (or from `src`) carrying a TCP segment with a correct
// checksum.
Frame peer_segment(Seq seq, Seq ack, uint8_t flags, const net::TcpOptions& opts,
                   net::Ipv4Addr src = kPeerIp) {
  const size_t opt_len = net::tcp_options_length(opts);
  const size_t tcp_len = net::kTcpMinHeaderLen + opt_len;
  Frame f(net::kEthernetHeaderLen + net::kIpv4MinHeaderLen + tcp_len);
  net::write_ethernet_header(f.data(), kOurMac, kPeerMac, net::EtherType::ipv4);
  net::Ipv4Build ip;
  ip.src = src;
  ip.dst = kOurIp;
  ip.protocol = net::kIpProtoTcp;
  ip.dont_fragment = true;
  ip.payload_len = static_cast<uint16_t>(tcp_len);
  net::write_ipv4_header(f.data() + net::kEthernetHeaderLen, ip);
  uint8_t* tcp = f.data() + net::kEthernetHeaderLen + net::kIpv4MinHeaderLen;
  net::TcpBuild t;
  t.src_port = kPeerPort;
  t.dst_port = kPort;
  t.seq = seq;
  t.ack = ack;
  t.flags = flags;
  t.window = 65535;
  t.options_len = static_cast<uint8_t>(net::write_tcp_options(tcp + net::kTcpMinHeaderLen, opts));
  net::write_tcp_header(tcp, t);
  net::store_be16(tcp + 16, net::ipv4_l4_checksum(src, kOurIp, net::kIpProtoTcp, {tcp, tcp_len}));
  return f;
}

struct Sent {
  Seq seq;
  uint32_t len = 0;
  uint8_t flags = 0;
  uint32_t ts_val = 0;
};

// Decodes a frame the engine transmitted (TCP only).
std::optional<Sent> decode(const rte_mbuf* m) {
  auto eth =
      net::EthernetView::parse({rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_data_len(m)});
  if (!eth || eth->ether_type() != static_cast<uint16_t>(net::EtherType::ipv4)) return std::nullopt;
  net::Ipv4Header ip;
  net::TcpHeader tcp;
  net::TcpOptions o;
  if (net::parse_ipv4(eth->payload(), ip, false) != net::Ipv4Error::ok ||
      ip.protocol != net::kIpProtoTcp ||
      net::parse_tcp(ip.payload, tcp) != net::TcpHeaderError::ok ||
      net::parse_tcp_options(tcp.options, o) != net::TcpOptError::ok)
    return std::nullopt;
  return Sent{tcp.seq, static_cast<uint32_t>(tcp.payload.size()), tcp.flags, o.ts_val};
}

// The options of a Linux SYN: MSS 1460, window scale 7, SACK-permitted, timestamps.
net::TcpOptions linux_syn_options(uint32_t ts_val) {
  return {.has_mss = true,
          .mss = 1460,
          .has_wscale = true,
          .wscale = 7,
          .sack_permitted = true,
          .has_timestamps = true,
          .ts_val = ts_val};
}

rte_mbuf* to_mbuf(const Frame& f) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool());
  if (m == nullptr) return nullptr;
  std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(f.size())), f.data(), f.size());
  m->ol_flags = RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
  return m;
}

// One engine with a listener and one connection accepted from the peer, ESTABLISHED.
class Established {
 public:
  Established() {
    engine::EngineConfig c;
    c.iface.mac = kOurMac;
    c.iface.addrs = {net::Ipv4Prefix{kOurIp, 24}};
    c.iface.offloads = {true, true, true, true, false, false};
    c.tcp.max_connections = 1024;
    c.tcp.ooo_queues = 16;
    c.tcp.isn_key = tcp::SipKey{};
    engine_ = std::make_unique<engine::Engine>(c, pool(), now_);
    engine_->neighbour_update({kPeerIp, kPeerMac}, now_);
    events_.accepted = [](void* ctx, Conn* conn) { static_cast<Established*>(ctx)->conn_ = conn; };
    if (engine_->tcp().listen(kPort, &events_, this) != TcpError::ok) return;

    feed(peer_segment(peer_seq_, Seq(0), net::tcp_flags::syn, linux_syn_options(peer_ts_)));
    std::optional<Sent> synack = take_sent();
    if (!synack) return;
    peer_seq_ += 1;
    ack_ = synack->seq + 1;
    sent_end_ = ack_;
    ts_ecr_ = synack->ts_val;
    feed(ack_frame());
    take_sent();
  }
  ~Established() {
    engine_->tx().free_all();
    engine_.reset();
  }

  [[nodiscard]] bool ok() const { return conn_ != nullptr; }
  engine::Engine& engine() { return *engine_; }
  Conn* conn() { return conn_; }

  // The peer's ACK for everything up to ack_, echoing the latest timestamp we sent.
  Frame ack_frame() const {
    net::TcpOptions o;
    o.has_timestamps = true;
    o.ts_val = peer_ts_;
    o.ts_ecr = ts_ecr_;
    return peer_segment(peer_seq_, ack_, net::tcp_flags::ack, o);
  }

  void feed(const Frame& f) {
    rte_mbuf* m = to_mbuf(f);
    if (m != nullptr) engine_->input(&m, 1, now_);
  }

  // Frees what the engine transmitted, remembering the highest byte sent and the last TSval.
  // Returns the first TCP segment seen.
  std::optional<Sent> take_sent() {
    std::optional<Sent> first;
    base::TxBatch& tx = engine_->tx();
    for (uint16_t i = 0; i < tx.size(); ++i) {
      if (auto s = decode(tx.data()[i])) {
        if (!first) first = s;
        const Seq end = s->seq + s->len;
        if (sent_end_ < end) sent_end_ = end;
        ts_ecr_ = s->ts_val;
      }
    }
    tx.free_all();
    return first;
  }

  uint64_t now_ = kStartNs;
  Seq peer_seq_{0x10000000};
  uint32_t peer_ts_ = 1000;
  Seq ack_;       // what the peer acknowledges next
  Seq sent_end_;  // one past the highest byte we sent
  uint32_t ts_ecr_ = 0;

 private:
  std::unique_ptr<engine::Engine> engine_;
  AppEvents events_;
  Conn* conn_ = nullptr;
};

void BM_AckInIdle(benchmark::State& state) {
  Established s;
  if (!s.ok()) return state.SkipWithError("handshake failed");
  const Frame ack = s.ack_frame();
  const uint64_t before = s.engine().counters().get(base::Counter::tx_packets);
  for (auto _ : state) {
    rte_mbuf* m = to_mbuf(ack);
    s.engine().input(&m, 1, s.now_);
    s.engine().tx().free_all();  // nothing is sent: pure ACKs are not acknowledged
    s.now_ += 1000;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  // Sanity checks to read, not to assert on: every ACK was taken, none dropped or answered.
  state.counters["segs_out_per_ack"] = benchmark::Counter(
      static_cast<double>(s.engine().counters().get(base::Counter::tx_packets) - before) /
      static_cast<double>(std::max<int64_t>(state.iterations(), 1)));
  state.counters["drops"] = static_cast<double>(s.engine().counters().total_drops());
}
BENCHMARK(BM_AckInIdle)->Name("AckInIdle/pollux");

// The ACK frame's fields that change per ACK, patched in place with an incremental checksum
// update (RFC 1624), as a peer would produce them.
struct AckTemplate {
  Frame frame;
  size_t ack_off = 0, ecr_off = 0, csum_off = 0;
  explicit AckTemplate(Established& s) {
    const uint32_t saved = s.ts_ecr_;
    s.ts_ecr_ = 0xa5a5a5a5;  // a marker to find the TSecr field by
    frame = s.ack_frame();
    s.ts_ecr_ = saved;
    const size_t tcp = net::kEthernetHeaderLen + net::kIpv4MinHeaderLen;
    ack_off = tcp + 8;
    csum_off = tcp + 16;
    for (size_t i = tcp + net::kTcpMinHeaderLen; i + 4 <= frame.size(); ++i)
      if (net::load_be32(frame.data() + i) == 0xa5a5a5a5) ecr_off = i;
    set(ack_off, net::load_be32(frame.data() + ack_off));  // keeps the checksum consistent
    set(ecr_off, saved);
  }
  void set(size_t off, uint32_t v) {
    const uint32_t old = net::load_be32(frame.data() + off);
    net::store_be32(frame.data() + off, v);
    net::store_be16(frame.data() + csum_off,
                    net::checksum_update32(net::load_be16(frame.data() + csum_off), old, v));
  }
};

void BM_AckInBulk(benchmark::State& state) {
  Established s;
  if (!s.ok()) return state.SkipWithError("handshake failed");
  std::vector<uint8_t> data(256 * 1024, 0x5a);
  s.engine().tcp().send(s.conn(), data);
  s.engine().poll(s.now_);
  s.take_sent();
  AckTemplate t(s);

  // One ACK for the oldest unacknowledged segment; the application tops the queue up again.
  auto step = [&] {
    Seq next = s.ack_ + kSegment;
    if (s.sent_end_ < next) next = s.sent_end_;
    s.ack_ = next;
    t.set(t.ack_off, next.v);
    t.set(t.ecr_off, s.ts_ecr_);
    rte_mbuf* m = to_mbuf(t.frame);
    s.engine().input(&m, 1, s.now_);
    s.take_sent();
    s.engine().tcp().send(s.conn(), {data.data(), kSegment});
    s.now_ += 1000;
  };
  // Out of slow start's growth: in flight is bounded by the send buffer from here on.
  for (int i = 0; i < 4000; ++i) step();
  const uint64_t before = s.engine().counters().get(base::Counter::tx_packets);
  const uint64_t acked_before = s.engine().tcp().info(s.conn()).bytes_acked;
  const uint64_t arms_before = s.engine().tcp().timer_arms();
  for (auto _ : state) step();
  // Timer wheel arms per ACK (issue 13 item 4): the retransmission timer's deadline is kept
  // in the TCB, so an ACK that only pushes it later does not touch the wheel.
  state.counters["wheel_arms_per_ack"] =
      benchmark::Counter(static_cast<double>(s.engine().tcp().timer_arms() - arms_before) /
                         static_cast<double>(std::max<int64_t>(state.iterations(), 1)));
  state.counters["acked_per_ack"] = benchmark::Counter(
      static_cast<double>(s.engine().tcp().info(s.conn()).bytes_acked - acked_before) /
      static_cast<double>(std::max<int64_t>(state.iterations(), 1)));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["segs_out_per_ack"] = benchmark::Counter(
      static_cast<double>(s.engine().counters().get(base::Counter::tx_packets) - before) /
      static_cast<double>(std::max<int64_t>(state.iterations(), 1)));
  state.counters["drops"] = static_cast<double>(s.engine().counters().total_drops());
}
BENCHMARK(BM_AckInBulk)->Name("AckInBulk/pollux");

void BM_MbufHarness(benchmark::State& state) {
  Established s;
  if (!s.ok()) return state.SkipWithError("handshake failed");
  const Frame ack = s.ack_frame();
  for (auto _ : state) {
    rte_mbuf* m = to_mbuf(ack);
    benchmark::DoNotOptimize(m);
    rte_pktmbuf_free(m);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_MbufHarness)->Name("MbufHarness/copy");

// --- SYN flood ---------------------------------------------------------------------------

constexpr net::Ipv4Addr kGateway = net::make_ipv4(10, 0, 0, 254);
const net::MacAddr kGatewayMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0xfe}};

// A spoofed SYN whose source address and sequence number change per use, both checksums
// kept right by incremental updates (RFC 1624): the source is in the IPv4 header and in
// TCP's pseudo-header.
struct SynTemplate {
  static constexpr size_t kIp = net::kEthernetHeaderLen;
  static constexpr size_t kTcp = kIp + net::kIpv4MinHeaderLen;
  Frame frame;
  explicit SynTemplate(const net::TcpOptions& o)
      : frame(peer_segment(Seq(1), Seq(0), net::tcp_flags::syn, o, net::make_ipv4(100, 64, 0, 1))) {
  }
  void set(size_t off, uint32_t v, bool in_ip_header) {
    const uint32_t old = net::load_be32(frame.data() + off);
    net::store_be32(frame.data() + off, v);
    uint8_t* tcp_sum = frame.data() + kTcp + 16;
    net::store_be16(tcp_sum, net::checksum_update32(net::load_be16(tcp_sum), old, v));
    if (in_ip_header) {
      uint8_t* ip_sum = frame.data() + kIp + 10;
      net::store_be16(ip_sum, net::checksum_update32(net::load_be16(ip_sum), old, v));
    }
  }
  void next(uint32_t i) {
    set(kIp + 12, net::make_ipv4(100, 64, 0, 0).value + (i & 0x3fffff), true);  // 100.64/10
    set(kTcp + 4, i * 2654435761u, false);
  }
};

void BM_SynFlood(benchmark::State& state, bool linux_syn) {
  engine::EngineConfig c;
  c.iface.mac = kOurMac;
  c.iface.addrs = {net::Ipv4Prefix{kOurIp, 24}};
  c.iface.gateway = kGateway;
  c.iface.offloads = {};  // a tap's: checksums in software both ways
  c.tcp.max_connections = 1024;
  c.tcp.isn_key = tcp::SipKey{};
  c.tcp.syn_cookies = tcp::SynCookieMode::always;
  uint64_t now = kStartNs;
  engine::Engine e(c, pool(), now);
  e.neighbour_update({kGateway, kGatewayMac}, now);
  AppEvents events;
  if (e.tcp().listen(kPort, &events, nullptr) != TcpError::ok)
    return state.SkipWithError("listen failed");
  SynTemplate syn(linux_syn ? linux_syn_options(12345) : net::TcpOptions{});
  const uint64_t before = e.counters().get(base::Counter::syn_cookies_sent);
  uint32_t i = 0;
  for (auto _ : state) {
    syn.next(++i);
    rte_mbuf* m = to_mbuf(syn.frame);
    e.input(&m, 1, now);
    e.tx().free_all();
    now += 1000;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["synacks_per_syn"] = benchmark::Counter(
      static_cast<double>(e.counters().get(base::Counter::syn_cookies_sent) - before) /
      static_cast<double>(std::max<int64_t>(state.iterations(), 1)));
  state.counters["drops"] = static_cast<double>(e.counters().total_drops());
}
BENCHMARK_CAPTURE(BM_SynFlood, hping3, false)->Name("SynFlood/pollux/hping3");
BENCHMARK_CAPTURE(BM_SynFlood, linux, true)->Name("SynFlood/pollux/linux");

// --- Reassembly -------------------------------------------------------------------------

constexpr int kRound = 32;

// The sequence numbers of one round; rcv_nxt is 0, so every segment is out of order.
std::vector<uint32_t> round_seqs(int pattern) {
  std::vector<uint32_t> v;
  for (int i = 0; i < kRound; ++i)
    v.push_back(static_cast<uint32_t>((pattern == 0 ? i + 1 : 2 * i + 1)) * kSegment);
  return v;
}

bool alloc_round(rte_mbuf* (&segs)[kRound]) {
  if (rte_pktmbuf_alloc_bulk(pool(), segs, kRound) != 0) return false;
  for (rte_mbuf* m : segs) (void)rte_pktmbuf_append(m, kSegment);
  return true;
}

void BM_ReassemblyPollux(benchmark::State& state, int pattern) {
  tcp::ReassemblyQueue q;
  const auto seqs = round_seqs(pattern);
  const Seq rcv_nxt(0);
  rte_mbuf* segs[kRound];
  if (pool() == nullptr) return state.SkipWithError("no mempool");  // created outside the timing
  for (auto _ : state) {
    if (!alloc_round(segs)) return state.SkipWithError("mempool empty");
    for (int i = 0; i < kRound; ++i) {
      auto r = q.insert(Seq(seqs[i]), base::UniqueMbuf(segs[i]), rcv_nxt);
      benchmark::DoNotOptimize(r);
    }
    q.clear();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kRound);
}

void BM_ReassemblyMap(benchmark::State& state, int pattern) {
  std::map<uint32_t, rte_mbuf*> q;
  const auto seqs = round_seqs(pattern);
  rte_mbuf* segs[kRound];
  if (pool() == nullptr) return state.SkipWithError("no mempool");  // created outside the timing
  for (auto _ : state) {
    if (!alloc_round(segs)) return state.SkipWithError("mempool empty");
    for (int i = 0; i < kRound; ++i) {
      auto r = q.emplace(seqs[i], segs[i]);
      if (!r.second) rte_pktmbuf_free(segs[i]);
      benchmark::DoNotOptimize(r);
    }
    for (auto& [seq, m] : q) rte_pktmbuf_free(m);
    q.clear();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kRound);
}

// Names say what one op is: a round of 32 inserts (and the queue's clear()).
const int kRegisterReassembly = [] {
  const char* names[] = {"tail_x32", "alternate_x32"};
  for (int pattern = 0; pattern < 2; ++pattern) {
    benchmark::RegisterBenchmark((std::string("ReassemblyInsert/pollux/") + names[pattern]).c_str(),
                                 BM_ReassemblyPollux, pattern);
    benchmark::RegisterBenchmark((std::string("ReassemblyInsert/map/") + names[pattern]).c_str(),
                                 BM_ReassemblyMap, pattern);
  }
  return 0;
}();

}  // namespace
