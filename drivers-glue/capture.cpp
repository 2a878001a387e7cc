#include "capture.hpp"

#include <fcntl.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mempool.h>
#include <rte_pcapng.h>
#include <rte_ring.h>
#include <rte_tcp.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>

#include "engine/tso_cut.hpp"
#include "ring_link.hpp"

namespace pollux::dpdk {

namespace {

// Copies in flight between the pollers and the writer: enough for a few milliseconds of a
// busy link; beyond that the writer cannot keep up and copies are dropped (counted).
constexpr unsigned kPoolSize = 4095;
constexpr unsigned kRingSize = 1024;
constexpr unsigned kMaxQueues = 64;
constexpr uint16_t kChunk = 32;
// Copies longer than a jumbo frame chain segments; a single segment holds any MTU's frame.
constexpr uint32_t kMaxSegmentCopy = 9216;

struct State {
  std::string path;
  uint32_t snaplen = 0;
  rte_pcapng_t* pcapng = nullptr;
  rte_mempool* pool = nullptr;
  std::array<CaptureQueue, kMaxQueues> queues{};
  std::array<uint16_t, kMaxQueues> workers{};
  // Slots [0, count) are complete: written by the main thread before the release store.
  std::atomic<unsigned> count{0};
  std::atomic<bool> stop{false};
  std::thread writer;
  uint64_t written = 0;  // by the writer thread; read after it joined
  uint64_t write_errors = 0;
};
std::unique_ptr<State> g_capture;

uint64_t load(const uint64_t& v) {
  return std::atomic_ref<const uint64_t>(v).load(std::memory_order_relaxed);
}
void add(uint64_t& field, uint64_t v) {
  if (v == 0) return;
  std::atomic_ref<uint64_t> a(field);  // one writer: no locked read-modify-write
  a.store(a.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
}

// A frame handed to tx_burst with IPv4/TCP checksum offload carries only the pseudo-header
// sum (the device finishes it). The copy gets the checksums the wire will carry, so that a
// reader validating checksums sees what the peer sees. rte_pktmbuf_copy keeps ol_flags.
// On the in-memory link no device ever finishes them: a received frame the link vouched for
// (ring_link.hpp) may still carry its sender's pseudo-header sum, and gets the same.
void complete_offloaded_checksums(rte_mbuf* c) {
  const uint64_t f = c->ol_flags;
  bool ip_sum = f & RTE_MBUF_F_TX_IP_CKSUM;
  bool tcp_sum = (f & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_TCP_CKSUM ||
                 (f & RTE_MBUF_F_TX_TCP_SEG) != 0;  // TSO implies the TCP checksum
  if (is_ring_link_port(c->port)) {
    ip_sum |= (f & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD;
    tcp_sum |= (f & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD;
  }
  if ((!ip_sum && !tcp_sum) || !rte_pktmbuf_is_contiguous(c)) return;
  auto* block = rte_pktmbuf_mtod(c, uint8_t*);
  // Enhanced packet block: type, length, interface, time (2), captured length, original.
  constexpr size_t kEpb = 28;
  uint32_t captured = 0, original = 0;
  std::memcpy(&captured, block + 20, 4);
  std::memcpy(&original, block + 24, 4);
  if (captured != original || captured < RTE_ETHER_HDR_LEN + sizeof(rte_ipv4_hdr) ||
      kEpb + captured > c->data_len)
    return;  // truncated by the snaplen: nothing to sum over
  uint8_t* frame = block + kEpb;
  if (frame[12] != 0x08 || frame[13] != 0x00) return;  // IPv4 only (no VLAN on our ports)
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(frame + RTE_ETHER_HDR_LEN);
  const size_t ihl = size_t{ip->version_ihl & 0x0fu} * 4;
  const size_t total = rte_be_to_cpu_16(ip->total_length);
  if (ihl < sizeof(rte_ipv4_hdr) || total < ihl || RTE_ETHER_HDR_LEN + total > captured) return;
  if (ip_sum) {
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
  }
  if (tcp_sum && ip->next_proto_id == IPPROTO_TCP && total >= ihl + sizeof(rte_tcp_hdr)) {
    auto* tcp = reinterpret_cast<rte_tcp_hdr*>(frame + RTE_ETHER_HDR_LEN + ihl);
    tcp->cksum = 0;
    tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
  }
}

// Writes what every lcore queued; the number of copies taken.
unsigned drain(State& s) {
  rte_mbuf* batch[64];
  unsigned total = 0;
  const unsigned n_queues = s.count.load(std::memory_order_acquire);
  for (unsigned i = 0; i < n_queues; ++i) {
    const unsigned n =
        rte_ring_sc_dequeue_burst(s.queues[i].ring, reinterpret_cast<void**>(batch), 64, nullptr);
    if (n == 0) continue;
    for (unsigned k = 0; k < n; ++k) complete_offloaded_checksums(batch[k]);
    if (rte_pcapng_write_packets(s.pcapng, batch, static_cast<uint16_t>(n)) < 0)
      s.write_errors += n;
    else
      s.written += n;
    rte_pktmbuf_free_bulk(batch, n);  // the library leaves them to the caller
    total += n;
  }
  return total;
}

void writer_loop(State& s) {
  for (;;) {
    const bool stopping = s.stop.load(std::memory_order_acquire);
    if (drain(s) != 0) continue;
    if (stopping) return;  // the pollers have stopped and everything they queued is out
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

}  // namespace

namespace {

// A TSO frame (TX) or an LRO frame (RX on the in-memory link) of up to 64 KB is captured as
// the segments the wire carries (engine/tso_cut.hpp: what the device cuts, with consecutive
// IP IDs), each cut to the snaplen and with its checksums filled in by the writer, so that
// the file holds what a capture beside a NIC would, and no copy is cut short at the copy
// pool's buffer size (rte_pcapng_copy records a chained copy's first buffer only).
bool is_multi_segment(const rte_mbuf* m) {
  const bool tso = (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) != 0;
  const bool lro = (m->ol_flags & RTE_MBUF_F_RX_LRO) != 0;
  return (tso || lro) && m->tso_segsz != 0;
}

// Copies of `m`'s segments, handed to the writer's ring; adds to the burst's counts.
void capture_segments(CaptureQueue& q, uint16_t queue, rte_mbuf* m, uint64_t tsc,
                      rte_pcapng_direction d, uint64_t& captured, uint64_t& no_mbuf,
                      uint64_t& ring_full) {
  std::array<rte_mbuf*, 1024> segs;
  const uint16_t n = engine::tso_cut(m, q.pool, segs);
  if (n == 0) {
    ++no_mbuf;
    return;
  }
  unsigned made = 0;
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* s = segs[i];
    s->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM;
    rte_mbuf* c = rte_pcapng_copy(q.port, queue, s, q.pool, q.snaplen, tsc, d);
    rte_pktmbuf_free(s);
    if (c == nullptr) {
      ++no_mbuf;
      continue;
    }
    c->port = q.port;
    segs[made++] = c;
  }
  const unsigned sent =
      rte_ring_sp_enqueue_burst(q.ring, reinterpret_cast<void**>(segs.data()), made, nullptr);
  if (sent < made) rte_pktmbuf_free_bulk(segs.data() + sent, made - sent);
  captured += sent;
  ring_full += made - sent;
}

}  // namespace

void capture_burst(CaptureQueue& q, uint16_t queue, rte_mbuf* const* pkts, uint16_t n,
                   CaptureDirection dir) {
  const uint64_t tsc = rte_rdtsc();  // one timestamp per burst: they arrived together
  const auto d = dir == CaptureDirection::in ? RTE_PCAPNG_DIRECTION_IN : RTE_PCAPNG_DIRECTION_OUT;
  uint64_t captured = 0, no_mbuf = 0, ring_full = 0;
  rte_mbuf* copies[kChunk];
  for (uint16_t done = 0; done < n;) {
    const uint16_t end = static_cast<uint16_t>(std::min<unsigned>(n, done + kChunk));
    unsigned m = 0;
    for (; done < end; ++done) {
      if (is_multi_segment(pkts[done])) [[unlikely]] {
        capture_segments(q, queue, pkts[done], tsc, d, captured, no_mbuf, ring_full);
        continue;
      }
      rte_mbuf* c = rte_pcapng_copy(q.port, queue, pkts[done], q.pool, q.snaplen, tsc, d);
      if (c == nullptr) {
        ++no_mbuf;
        continue;
      }
      c->port = q.port;  // the interface the writer files it under
      copies[m++] = c;
    }
    const unsigned sent =
        rte_ring_sp_enqueue_burst(q.ring, reinterpret_cast<void**>(copies), m, nullptr);
    if (sent < m) rte_pktmbuf_free_bulk(copies + sent, m - sent);
    captured += sent;
    ring_full += m - sent;
  }
  add(q.captured, captured);
  add(q.drop_no_mbuf, no_mbuf);
  add(q.drop_ring_full, ring_full);
}

CaptureQueue* capture_queue(uint16_t port, uint16_t worker) {
  if (!g_capture) return nullptr;
  State& s = *g_capture;
  const unsigned n = s.count.load(std::memory_order_relaxed);
  for (unsigned i = 0; i < n; ++i)
    if (s.queues[i].port == port && s.workers[i] == worker) return &s.queues[i];
  if (n == kMaxQueues) return nullptr;
  const std::string name = "pollux_cap" + std::to_string(port) + "_" + std::to_string(worker);
  rte_ring* r =
      rte_ring_create(name.c_str(), kRingSize, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (r == nullptr) return nullptr;
  CaptureQueue& q = s.queues[n];
  q = CaptureQueue{};
  q.ring = r;
  q.pool = s.pool;
  q.snaplen = s.snaplen;
  q.port = port;
  s.workers[n] = worker;
  s.count.store(n + 1, std::memory_order_release);
  return &q;
}

bool capture_start(const std::string& path, uint32_t snaplen, std::string& error) {
  if (g_capture) {
    error = "a capture is already running";
    return false;
  }
  auto s = std::make_unique<State>();
  s->path = path;
  s->snaplen = snaplen;
  const uint32_t room = rte_pcapng_mbuf_size(std::min(snaplen, kMaxSegmentCopy));
  s->pool = rte_pktmbuf_pool_create("pollux_capture", kPoolSize, 256, 0,
                                    static_cast<uint16_t>(std::min<uint32_t>(room, UINT16_MAX)),
                                    SOCKET_ID_ANY);
  if (s->pool == nullptr) {
    error = std::string("--pcap: cannot create the copy pool: ") + rte_strerror(rte_errno);
    return false;
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    error = "--pcap: cannot write " + path + ": " + std::strerror(errno);
    rte_mempool_free(s->pool);
    return false;
  }
  s->pcapng = rte_pcapng_fdopen(fd, nullptr, nullptr, "pollux", nullptr);
  if (s->pcapng == nullptr) {
    error = "--pcap: cannot start pcapng on " + path + ": " + rte_strerror(rte_errno);
    ::close(fd);
    rte_mempool_free(s->pool);
    return false;
  }
  State& st = *s;
  g_capture = std::move(s);
  st.writer = std::thread(writer_loop, std::ref(st));
  return true;
}

std::string capture_stop() {
  if (!g_capture) return {};
  State& s = *g_capture;
  s.stop.store(true, std::memory_order_release);
  s.writer.join();
  uint64_t captured = 0, no_mbuf = 0, ring_full = 0;
  const unsigned n = s.count.load(std::memory_order_acquire);
  for (unsigned i = 0; i < n; ++i) {
    captured += load(s.queues[i].captured);
    no_mbuf += load(s.queues[i].drop_no_mbuf);
    ring_full += load(s.queues[i].drop_ring_full);
  }
  // An interface statistics block per port: what was captured there and what was dropped.
  uint16_t port;
  RTE_ETH_FOREACH_DEV(port) {
    uint64_t recv = 0, drop = 0;
    for (unsigned i = 0; i < n; ++i) {
      if (s.queues[i].port != port) continue;
      recv += load(s.queues[i].captured);
      drop += load(s.queues[i].drop_no_mbuf) + load(s.queues[i].drop_ring_full);
    }
    (void)rte_pcapng_write_stats(s.pcapng, port, nullptr, 0, 0, recv, drop);
  }
  rte_pcapng_close(s.pcapng);  // closes the file
  for (unsigned i = 0; i < n; ++i) rte_ring_free(s.queues[i].ring);
  rte_mempool_free(s.pool);
  std::string line = "capture " + s.path + ": " + std::to_string(s.written) +
                     " packets written, snaplen " + std::to_string(s.snaplen) + ", dropped " +
                     std::to_string(no_mbuf + ring_full + s.write_errors) + " (copy failed " +
                     std::to_string(no_mbuf) + ", ring full " + std::to_string(ring_full) +
                     ", write errors " + std::to_string(s.write_errors) + ")";
  (void)captured;
  g_capture.reset();
  return line;
}

}  // namespace pollux::dpdk
