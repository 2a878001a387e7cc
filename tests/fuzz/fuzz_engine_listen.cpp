// An engine listening on port 80, fed (time step, frame) pairs. Frames come in several kinds so
// that the fuzzer reaches every layer, not just the first checksum drop: raw bytes as they
// are; raw bytes with the MAC, IPv4 lengths and checksums fixed up (fix_frame); and TCP
// segments from a few sources and ports with fuzzed flags, numbers, options and payload,
// built correctly; sets of IPv4 fragments; and IPv6 packets built correctly (TCP, ND, ICMPv6
// Packet Too Big and echo, extension-header chains: ipv6_frame). After every step each frame
// the engine sent must parse, fit the MTU and carry correct checksums; at the end, 10 minutes
// on, every mbuf must be back in the pool.
//
// Step layout: ctl (bits 0-1 kind, bit 7 time in seconds), dt, then the kind's bytes. Kind 3
// is a time step alone, with bit 2 a set of IPv4 fragments (fragment_frames), else with bit 3
// an IPv6 packet (ipv6_frame). Raw frames (kinds 0 and 1) reach IPv6 too (EtherType 86dd;
// fix_frame fixes its lengths and checksums).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "../support/frames.hpp"
#include "fuzz_support.hpp"
#include "net/icmpv6.hpp"
#include "net/ipv6.hpp"

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

// The fuzzed part of a TCP segment: ports (one of four source ports; our port or any),
// flags, numbers, options and payload.
struct TcpFields {
  net::TcpBuild b;
  net::TcpOptions o;
  testing::Frame payload;
};
TcpFields tcp_fields(Input& in, uint8_t who) {
  TcpFields t;
  net::TcpBuild& b = t.b;
  b.src_port = static_cast<uint16_t>(40000 + ((who >> 2) & 3));
  b.dst_port = (who & 0x40) ? static_cast<uint16_t>(in.u16()) : kOurPort;
  b.flags = in.u8();
  b.seq = net::Seq(in.u32());
  b.ack = net::Seq(in.u32());
  b.window = in.u16();
  net::TcpOptions& o = t.o;
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
  t.payload.assign(payload.begin(), payload.end());
  return t;
}

// A TCP segment to our port from one of four sources (the peer, two hosts of the subnet
// whose MAC the engine must resolve, one off-link) and four ports.
std::vector<uint8_t> tcp_frame(Input& in) {
  static constexpr net::Ipv4Addr kSources[] = {kPeerIp, net::make_ipv4(10, 0, 0, 7),
                                               net::make_ipv4(10, 0, 0, 200),
                                               net::make_ipv4(192, 0, 2, 1)};
  const uint8_t who = in.u8();
  const net::Ipv4Addr src = kSources[who & 3];
  const TcpFields t = tcp_fields(in, who);
  const testing::Frame l4 = testing::tcp_segment(src, kOurIp, t.b, &t.o, t.payload);
  return testing::eth_frame(kOurMac, kPeerMac, 0x0800,
                            testing::ipv4_datagram(src, kOurIp, net::kIpProtoTcp, l4));
}

// IPv6 (RFC 8200) from one of four sources: the peer (a neighbour), a host of our /64 that
// the engine must solicit, a link-local one and an off-link one (2001:db8::1, which has no
// route: the engine has no IPv6 gateway). Built correctly, with
//  0  a TCP segment (as tcp_frame) to our global or link-local address;
//  1  a Neighbor Solicitation or Advertisement (RFC 4861 4.3, 4.4) for our address, the
//     peer's or another, to us, our solicited-node group or all-nodes, with fuzzed flags,
//     hop limit (mostly 255) and options (a link-layer address or raw bytes);
//  2  an ICMPv6 Packet Too Big (RFC 8201) quoting a TCP segment of ours to that source with a
//     fuzzed MTU, an echo request, or any other type with a fuzzed body;
//  3  a chain of up to four extension headers (hop-by-hop, routing, fragment, destination
//     options; fuzzed contents) before TCP or ICMPv6.
std::vector<uint8_t> ipv6_frame(Input& in) {
  static const net::Ipv6Addr kSources[] = {
      kPeerIp6, net::Ipv6Addr{{0xfd, 0, 0, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7}},
      net::Ipv6Addr{{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
      net::Ipv6Addr{{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}}};
  const net::Ipv6Addr our_ll = net::Ipv6Addr::link_local_from_mac(kOurMac.bytes);
  const uint8_t how = in.u8();
  const net::Ipv6Addr src = kSources[how & 3];
  net::Ipv6Addr dst = (how & 4) ? our_ll : kOurIp6;
  uint8_t next = net::kIpProtoTcp, hop_limit = 64;
  testing::Frame upper;
  switch ((how >> 3) & 3) {
    case 0: {
      const TcpFields t = tcp_fields(in, in.u8());
      upper = testing::tcp6_segment(src, dst, t.b, &t.o, t.payload);
      break;
    }
    case 1: {
      const uint8_t nd = in.u8();
      const bool ns = nd & 1;
      static const net::Ipv6Addr kTargets[] = {kOurIp6, our_ll, kPeerIp6, kSources[1]};
      const net::Ipv6Addr target = kTargets[(nd >> 1) & 3];
      if (nd & 8) dst = (nd & 16) ? net::kIpv6AllNodes : target.solicited_node();
      hop_limit = (nd & 32) ? in.u8() : 255;
      testing::Frame body(28);
      if (ns)
        net::write_ns_body(body.data(), target, kPeerMac.bytes);
      else
        net::write_na_body(body.data(), target, kPeerMac.bytes, nd & 64, nd & 128, in.u8() & 1);
      if (in.u8() & 1) {  // other options instead of the link-layer one
        body.resize(20);
        const auto opts = in.bytes(in.u8() % 48);
        body.insert(body.end(), opts.begin(), opts.end());
      }
      next = net::kIpProtoIcmpv6;
      upper = testing::Frame(4 + body.size());
      net::write_icmpv6(upper.data(), src, dst,
                        ns ? net::kIcmpv6NeighbourSolicit : net::kIcmpv6NeighbourAdvert,
                        (nd & 32) ? in.u8() % 2 : 0, {body.data(), body.size()});
      break;
    }
    case 2: {
      const uint8_t kind = in.u8();
      testing::Frame body;
      uint8_t type = 0;
      if (kind % 3 == 0) {  // Packet Too Big quoting one of our segments to src
        type = net::kIcmpv6PacketTooBig;
        const uint32_t mtu = (kind & 8) ? in.u32() : 1200u + in.u16() % 400;
        body.resize(4);
        net::store_be32(body.data(), mtu);
        net::TcpBuild b;
        b.src_port = kOurPort;
        b.dst_port = static_cast<uint16_t>(40000 + (in.u8() & 3));
        b.seq = net::Seq(in.u32());
        b.flags = net::tcp_flags::ack;
        const testing::Frame seg = testing::tcp6_segment(dst, src, b);
        const testing::Frame quoted = testing::ipv6_datagram(dst, src, net::kIpProtoTcp, seg);
        body.insert(body.end(), quoted.begin(),
                    quoted.begin() + static_cast<ptrdiff_t>(std::min<size_t>(
                                         quoted.size(), 40 + (kind & 16 ? in.u8() % 20 : 20))));
      } else {
        type = kind % 3 == 1 ? net::kIcmpv6EchoRequest : in.u8();
        const auto b = in.bytes(in.u16() % 1500);
        body.assign(b.begin(), b.end());
      }
      next = net::kIpProtoIcmpv6;
      upper = testing::Frame(4 + body.size());
      net::write_icmpv6(upper.data(), src, dst, type, (kind & 32) ? in.u8() : 0,
                        {body.data(), body.size()});
      break;
    }
    case 3: {
      // The upper layer first (its checksum does not cover the extension headers), then
      // the headers in front of it, last first.
      const bool tcp = in.u8() & 1;
      if (tcp) {
        const TcpFields t = tcp_fields(in, in.u8());
        upper = testing::tcp6_segment(src, dst, t.b, &t.o, t.payload);
      } else {
        next = net::kIpProtoIcmpv6;
        const auto b = in.bytes(in.u8());
        upper = testing::Frame(4 + b.size());
        net::write_icmpv6(upper.data(), src, dst, net::kIcmpv6EchoRequest, 0, b);
      }
      static constexpr uint8_t kExt[] = {net::kIpv6HopByHop, net::kIpv6Routing, net::kIpv6Fragment,
                                         net::kIpv6DestOptions};
      for (unsigned n = in.u8() % 5; n > 0; --n) {
        const uint8_t e = in.u8();
        const uint8_t type = (e & 0x80) ? e & 0x7f : kExt[e & 3];  // sometimes unknown
        const size_t units = (e >> 2) & 3;                         // 8-byte units beyond the first
        testing::Frame h(8 * (units + 1));
        h[0] = next;
        h[1] = static_cast<uint8_t>(units);
        const auto b = in.bytes(h.size() - 2);
        std::copy(b.begin(), b.end(), h.begin() + 2);  // options, routing or fragment fields
        if (type == net::kIpv6Fragment) {  // its second byte is reserved; always 8 bytes
          h[1] = 0;
          h.resize(8);
        }
        upper.insert(upper.begin(), h.begin(), h.end());
        next = type;
      }
      break;
    }
  }
  const net::MacAddr to = dst.is_multicast() ? net::multicast_mac(dst) : kOurMac;
  return testing::eth_frame(to, kPeerMac, 0x86dd,
                            testing::ipv6_datagram(src, dst, next, upper, hop_limit));
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
          if ((ctl & 4) == 0) {
            if ((ctl & 8) == 0) continue;  // time only
            f = ipv6_frame(in);
            break;
          }
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
