// Micro benchmarks of the wire-format hot paths. Not tests: numbers to compare across
// commits on the same machine and ratios to the DPDK baselines measured in the same run
// (run: bench/micro/run.sh, or build/bench/bench_net). Names are <what>/<impl>/<args>.
#include <benchmark/benchmark.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_net.h>

#include <array>
#include <cstring>
#include <vector>

#include "net/checksum.hpp"
#include "net/ethernet.hpp"
#include "net/ipv4.hpp"
#include "net/tcp_header.hpp"
#include "net/tcp_options.hpp"

namespace {

using namespace pollux::net;

std::vector<uint8_t> pattern(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 131 + 7);
  return v;
}

void BM_Checksum(benchmark::State& state) {
  auto data = pattern(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(internet_checksum(data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Checksum)->Name("Checksum/pollux")->Arg(20)->Arg(64)->Arg(1460)->Arg(9000);

// Baseline in the same run: DPDK's own software checksum (rte_raw_cksum, header-only).
void BM_ChecksumDpdkBaseline(benchmark::State& state) {
  auto data = pattern(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    uint16_t c = rte_raw_cksum(data.data(), data.size());
    benchmark::DoNotOptimize(c);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_ChecksumDpdkBaseline)->Name("Checksum/dpdk")->Arg(20)->Arg(64)->Arg(1460)->Arg(9000);

// A full-size data segment as Linux sends it: Ethernet, IPv4, TCP with timestamps.
std::vector<uint8_t> data_frame() {
  std::vector<uint8_t> f(kEthernetHeaderLen + 20 + 32 + 1448);
  write_ethernet_header(f.data(), MacAddr{{2, 0, 0, 0, 0, 1}}, MacAddr{{2, 0, 0, 0, 0, 2}},
                        EtherType::ipv4);
  Ipv4Build ip;
  ip.src = make_ipv4(10, 0, 0, 1);
  ip.dst = make_ipv4(10, 0, 0, 2);
  ip.protocol = kIpProtoTcp;
  ip.payload_len = 32 + 1448;
  write_ipv4_header(f.data() + kEthernetHeaderLen, ip);
  TcpOptions o;
  o.has_timestamps = true;
  o.ts_val = 1;
  o.ts_ecr = 2;
  uint8_t* tcp = f.data() + kEthernetHeaderLen + 20;
  TcpBuild t;
  t.src_port = 1;
  t.dst_port = 2;
  t.flags = tcp_flags::ack;
  t.options_len = static_cast<uint8_t>(write_tcp_options(tcp + 20, o));
  write_tcp_header(tcp, t);
  return f;
}

void BM_ParseEthIpTcpOptions(benchmark::State& state) {
  auto f = data_frame();
  for (auto _ : state) {
    auto eth = EthernetView::parse(f);
    Ipv4Header ip;
    TcpHeader tcp;
    TcpOptions opts;
    bool ok = eth && parse_ipv4(eth->payload(), ip, state.range(0) != 0) == Ipv4Error::ok &&
              parse_tcp(ip.payload, tcp) == TcpHeaderError::ok &&
              parse_tcp_options(tcp.options, opts) == TcpOptError::ok;
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(opts);
  }
}
// ip_csum_sw 0: the NIC verified the IP header checksum; 1: software verifies it.
BENCHMARK(BM_ParseEthIpTcpOptions)
    ->Name("HeaderParse/pollux")
    ->ArgName("ip_csum_sw")
    ->Arg(0)
    ->Arg(1);

// Baseline in the same run: DPDK's software packet-type walk over the same frame
// (rte_net_get_ptype: Ethernet, IPv4, TCP header lengths; it validates less than the parsers
// above and reads no TCP options). The mbuf is a bare struct around the frame: rte_net only
// reads data through it, so no EAL is needed.
void BM_ParseDpdkPtype(benchmark::State& state) {
  auto f = data_frame();
  rte_mbuf m{};
  m.buf_addr = f.data();
  m.buf_len = static_cast<uint16_t>(f.size());
  m.data_off = 0;
  m.data_len = static_cast<uint16_t>(f.size());
  m.pkt_len = static_cast<uint32_t>(f.size());
  m.nb_segs = 1;
  for (auto _ : state) {
    rte_net_hdr_lens lens;
    uint32_t ptype = rte_net_get_ptype(&m, &lens, RTE_PTYPE_ALL_MASK);
    benchmark::DoNotOptimize(ptype);
    benchmark::DoNotOptimize(lens);
  }
}
BENCHMARK(BM_ParseDpdkPtype)->Name("HeaderParse/dpdk_ptype")->ArgName("ip_csum_sw")->Arg(0);

void BM_BuildAckHeaders(benchmark::State& state) {
  std::array<uint8_t, 128> out{};
  TcpOptions o;
  o.has_timestamps = true;
  o.sack_count = static_cast<uint8_t>(state.range(0));
  uint32_t n = 0;
  for (auto _ : state) {
    o.ts_val = ++n;
    Ipv4Build ip;
    ip.src = make_ipv4(10, 0, 0, 1);
    ip.dst = make_ipv4(10, 0, 0, 2);
    ip.protocol = kIpProtoTcp;
    TcpBuild t;
    t.ack = Seq(n);
    t.flags = tcp_flags::ack;
    t.options_len = static_cast<uint8_t>(write_tcp_options(out.data() + 34 + 20, o));
    ip.payload_len = static_cast<uint16_t>(20 + t.options_len);
    write_ipv4_header(out.data() + 14, ip);
    write_tcp_header(out.data() + 34, t);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_BuildAckHeaders)->Name("SegmentBuild/pollux")->ArgName("sack_blocks")->Arg(0)->Arg(3);

void BM_IncrementalChecksumUpdate(benchmark::State& state) {
  uint16_t c = 0x1234;
  uint32_t v = 0;
  for (auto _ : state) {
    c = checksum_update32(c, v, v + 1);
    ++v;
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_IncrementalChecksumUpdate)->Name("ChecksumUpdate/pollux");

}  // namespace

BENCHMARK_MAIN();
