// An engine listening on port 80, fed (time step, frame) pairs. Frames come in three kinds so
// that the fuzzer reaches every layer, not just the first checksum drop: raw bytes as they
// are; raw bytes with the MAC, IPv4 lengths and checksums fixed up (fix_frame); and TCP
// segments from a few sources and ports with fuzzed flags, numbers, options and payload,
// built correctly; and sets of IPv4 fragments. After every step each frame the engine sent must
// parse, fit the MTU and carry correct checksums; at the end, 10 minutes on, every mbuf must be
// back in the pool.
//
// Step layout: ctl (bits 0-1 kind, bit 7 time in seconds), dt, then the kind's bytes. Kind 3
// is a time step alone, or with bit 2 a set of IPv4 fragments (fragment_frames).
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "../support/frames.hpp"
#include "fuzz_support.hpp"

using namespace pollux;
using namespace pollux::fuzz;

namespace {
uint64_t g_frames = 0;  // frames fed to engines, over the whole run
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  init_eal();
  std::atexit([] {
    std::fprintf(stderr, "fuzz_engine_listen: %llu frames fed\n",
                 static_cast<unsigned long long>(g_frames));
  });
  return 0;
}

namespace {

// A TCP segment to our port from one of four sources (the peer, two hosts of the subnet
// whose MAC the engine must resolve, one off-link) and four ports.
std::vector<uint8_t> tcp_frame(Input& in) {
  static constexpr net::Ipv4Addr kSources[] = {kPeerIp, net::make_ipv4(10, 0, 0, 7),
                                               net::make_ipv4(10, 0, 0, 200),
                                               net::make_ipv4(192, 0, 2, 1)};
  const uint8_t who = in.u8();
  const net::Ipv4Addr src = kSources[who & 3];
  net::TcpBuild b;
  b.src_port = static_cast<uint16_t>(40000 + ((who >> 2) & 3));
  b.dst_port = (who & 0x40) ? static_cast<uint16_t>(in.u16()) : kOurPort;
  b.flags = in.u8();
  b.seq = net::Seq(in.u32());
  b.ack = net::Seq(in.u32());
  b.window = in.u16();
  net::TcpOptions o;
  const uint8_t have = in.u8();
  if (have & 1) {
    o.has_mss = true;
    o.mss = in.u16();
  }
  if (have & 2) {
    o.has_wscale = true;
    o.wscale = in.u8();
  }
  o.sack_permitted = have & 4;
  if (have & 8) {
    o.has_timestamps = true;
    o.ts_val = in.u32();
    o.ts_ecr = in.u32();
  }
  o.sack_count = (have >> 4) % 4;
  for (size_t i = 0; i < o.sack_count; ++i) o.sack[i] = {net::Seq(in.u32()), net::Seq(in.u32())};
  const auto payload = in.bytes(in.u16() % 1461);
  const testing::Frame l4 =
      testing::tcp_segment(src, kOurIp, b, &o, testing::Frame(payload.begin(), payload.end()));
  return testing::eth_frame(kOurMac, kPeerMac, 0x0800,
                            testing::ipv4_datagram(src, kOurIp, net::kIpProtoTcp, l4));
}

// Fragments (IPv4 reassembly, engine/ip_reassembly.hpp) of a datagram built from the input
// -- a TCP segment as above, or an echo request -- cut at fuzzed offsets and lengths, with
// fuzzed More Fragments bits and one of four identifications, so that pieces of different
// steps meet: in order, out of order, duplicated, overlapping, beyond the end or 65535.
std::vector<std::vector<uint8_t>> fragment_frames(Input& in) {
  const uint8_t how = in.u8();
  std::vector<uint8_t> datagram;
  if (how & 1) {
    const auto f = tcp_frame(in);
    datagram.assign(f.begin() + net::kEthernetHeaderLen, f.end());
  } else {
    const auto data = in.bytes(in.u16() % 4001);
    datagram = testing::ipv4_datagram(
        kPeerIp, kOurIp, net::kIpProtoIcmp,
        testing::icmp_echo(8, 1, 1, testing::Frame(data.begin(), data.end())));
  }
  const size_t payload = datagram.size() - net::kIpv4MinHeaderLen;
  const uint16_t id = static_cast<uint16_t>((how >> 1) & 3);
  std::vector<std::vector<uint8_t>> out;
  for (unsigned n = 1 + (how >> 4) % 8; n > 0; --n) {
    const uint16_t frag = in.u16();  // offset (13 bits, 8-byte units) and MF
    const uint32_t start = (frag & 0x1fffu) * 8u;
    const uint32_t len = in.u16() % 1481;
    testing::Frame ip(datagram.begin(), datagram.begin() + net::kIpv4MinHeaderLen);
    for (uint32_t i = 0; i < len; ++i)
      ip.push_back(start + i < payload ? datagram[net::kIpv4MinHeaderLen + start + i] : 0);
    net::store_be16(ip.data() + 2, static_cast<uint16_t>(ip.size()));
    net::store_be16(ip.data() + 4, id);
    net::store_be16(ip.data() + 6, static_cast<uint16_t>(frag & 0x3fffu));
    net::store_be16(ip.data() + 10, 0);
    net::store_be16(ip.data() + 10, net::internet_checksum({ip.data(), net::kIpv4MinHeaderLen}));
    out.push_back(testing::eth_frame(kOurMac, kPeerMac, 0x0800, ip));
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  {
    tcp::TcpConfig config = fuzz_tcp_config();
    EngineHarness h(config);
    for (int steps = 0; !in.empty() && steps < 256; ++steps) {
      const uint8_t ctl = in.u8();
      const uint64_t dt = in.u8() * ((ctl & 0x80) ? kSecond : kMs);
      if (dt) h.advance(dt, (ctl & 0x80) ? 5 * kSecond : kMs);
      std::vector<uint8_t> f;
      switch (ctl & 3) {
        case 0: {
          auto b = in.bytes(in.u16() % 1601);
          f.assign(b.begin(), b.end());
          break;
        }
        case 1: {
          auto b = in.bytes(in.u16() % 1601);
          f.assign(b.begin(), b.end());
          fix_frame(f);
          break;
        }
        case 2:
          f = tcp_frame(in);
          break;
        case 3:
          if ((ctl & 4) == 0) continue;  // time only
          for (const auto& frag : fragment_frames(in)) {
            ++g_frames;
            if (!h.inject(frag)) fail("mbuf pool empty");
          }
          continue;
      }
      ++g_frames;
      if (!h.inject(f)) fail("mbuf pool empty");
    }
    h.finish();
  }
  require(rte_mempool_in_use_count(pool()) == 0, "mbufs leaked after the engine was destroyed");
  return 0;
}
