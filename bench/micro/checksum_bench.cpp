// Transmit checksum preparation on an mbuf, the last step of every segment pollux sends
// (stack/checksum_offload.hpp: prepare_tx_checksums). Two paths, each against DPDK's own
// helpers doing the same work on the same frame in the same run:
//   TxChecksumSoftware  no offload: IPv4 header checksum and the full TCP checksum
//                       (pseudo-header + header + payload) in software.
//                       dpdk = rte_ipv4_cksum + rte_ipv4_udptcp_cksum (the frame is contiguous).
//   TxChecksumOffload   the NIC finishes the job: the IPv4 checksum field zeroed, the TCP
//                       field seeded with the pseudo-header sum, the mbuf's TX flags and
//                       header lengths set. dpdk = rte_net_intel_cksum_flags_prepare.
// Frames are what output.cpp builds: Ethernet + IPv4 + TCP with timestamps (32 bytes) +
// <payload> bytes, contiguous in one mbuf (0: a pure ACK; 1448: a full segment at MTU 1500).
//
// Names: TxChecksumSoftware/<impl>/<payload>, TxChecksumOffload/<impl>/<payload>.
#include <benchmark/benchmark.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_net.h>

#include <cstdint>
#include <cstring>

#include "net/ethernet.hpp"
#include "net/ipv4.hpp"
#include "net/tcp_header.hpp"
#include "net/tcp_options.hpp"
#include "engine/checksum_offload.hpp"

namespace {

using namespace pollux::net;
using pollux::engine::Offloads;

constexpr uint32_t kTcpHeaderLen = 32;  // 20 + timestamps option (12, padded)

rte_mempool* bench_pool() {
  static rte_mempool* pool =
      rte_pktmbuf_pool_create("bench_cksum", 255, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  return pool;
}

// Builds the frame in a fresh mbuf; checksum fields are zero, as output leaves them.
rte_mbuf* make_segment(uint16_t payload) {
  rte_mbuf* m = rte_pktmbuf_alloc(bench_pool());
  if (m == nullptr) return nullptr;
  const uint32_t len = kEthernetHeaderLen + kIpv4MinHeaderLen + kTcpHeaderLen + payload;
  auto* f = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(len)));
  write_ethernet_header(f, MacAddr{{2, 0, 0, 0, 0, 1}}, MacAddr{{2, 0, 0, 0, 0, 2}},
                        EtherType::ipv4);
  Ipv4Build ip;
  ip.src = make_ipv4(10, 0, 0, 2);
  ip.dst = make_ipv4(10, 0, 0, 1);
  ip.protocol = kIpProtoTcp;
  ip.dont_fragment = true;
  ip.payload_len = static_cast<uint16_t>(kTcpHeaderLen + payload);
  write_ipv4_header(f + kEthernetHeaderLen, ip);
  store_be16(f + kEthernetHeaderLen + 10, 0);
  uint8_t* tcp = f + kEthernetHeaderLen + kIpv4MinHeaderLen;
  TcpOptions o;
  o.has_timestamps = true;
  o.ts_val = 0x01020304;
  o.ts_ecr = 0x05060708;
  TcpBuild t;
  t.src_port = 8080;
  t.dst_port = 40000;
  t.seq = Seq(1000);
  t.ack = Seq(2000);
  t.flags = tcp_flags::ack;
  t.window = 512;
  t.options_len = static_cast<uint8_t>(write_tcp_options(tcp + kTcpMinHeaderLen, o));
  write_tcp_header(tcp, t);
  for (uint32_t i = 0; i < payload; ++i) tcp[kTcpHeaderLen + i] = static_cast<uint8_t>(i * 7 + 3);
  store_be16(tcp + 16, 0);
  return m;
}

template <bool kOffload>
void BM_PolluxPrepare(benchmark::State& state) {
  rte_mbuf* m = make_segment(static_cast<uint16_t>(state.range(0)));
  if (m == nullptr) return state.SkipWithError("no mbuf");
  Offloads o;
  o.tx_ipv4_checksum = kOffload;
  o.tx_tcp_checksum = kOffload;
  for (auto _ : state) {
    pollux::engine::prepare_tx_checksums(m, o);
    benchmark::DoNotOptimize(m->ol_flags);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * rte_pktmbuf_pkt_len(m));
  rte_pktmbuf_free(m);
}

void BM_DpdkSoftware(benchmark::State& state) {
  rte_mbuf* m = make_segment(static_cast<uint16_t>(state.range(0)));
  if (m == nullptr) return state.SkipWithError("no mbuf");
  constexpr uint16_t l4_off = kEthernetHeaderLen + kIpv4MinHeaderLen;
  for (auto _ : state) {
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, kEthernetHeaderLen);
    auto* tcp = rte_pktmbuf_mtod_offset(m, rte_tcp_hdr*, l4_off);
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    tcp->cksum = 0;
    const uint16_t c = rte_ipv4_udptcp_cksum(ip, tcp);
    tcp->cksum = c;
    benchmark::DoNotOptimize(c);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * rte_pktmbuf_pkt_len(m));
  rte_pktmbuf_free(m);
}

void BM_DpdkOffload(benchmark::State& state) {
  rte_mbuf* m = make_segment(static_cast<uint16_t>(state.range(0)));
  if (m == nullptr) return state.SkipWithError("no mbuf");
  const uint64_t flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM;
  for (auto _ : state) {
    m->l2_len = kEthernetHeaderLen;
    m->l3_len = kIpv4MinHeaderLen;
    m->l4_len = kTcpHeaderLen;
    m->ol_flags |= flags;
    benchmark::DoNotOptimize(rte_net_intel_cksum_flags_prepare(m, flags));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * rte_pktmbuf_pkt_len(m));
  rte_pktmbuf_free(m);
}

void payloads(benchmark::internal::Benchmark* b) {
  b->Arg(0)->Arg(1448);
}

BENCHMARK_TEMPLATE(BM_PolluxPrepare, false)->Name("TxChecksumSoftware/pollux")->Apply(payloads);
BENCHMARK(BM_DpdkSoftware)->Name("TxChecksumSoftware/dpdk")->Apply(payloads);
BENCHMARK_TEMPLATE(BM_PolluxPrepare, true)->Name("TxChecksumOffload/pollux")->Apply(payloads);
BENCHMARK(BM_DpdkOffload)->Name("TxChecksumOffload/dpdk")->Apply(payloads);

}  // namespace
