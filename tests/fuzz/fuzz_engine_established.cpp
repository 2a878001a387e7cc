// An engine whose connection reached ESTABLISHED through a real handshake (options chosen by
// the input), then fed a script of peer segments and application actions. Segment fields
// are offsets from the live state the peer has seen (what the engine acknowledged, the most
// it sent, its last TSval), so the fuzzer spends its time at the edges that matter: RFC 5961
// windows, SACK/RACK recovery, reassembly, PAWS, FIN states and TIME-WAIT, instead of in
// segments the first acceptability test throws away.
//
// Invariants: those of fuzz_support.hpp after every step (each sent frame parses, fits the
// MTU, has correct checksums), and every mbuf back in the pool 10 minutes after the end.
//
// Input: one byte of handshake options (and IPv4 or IPv6), then steps: op, then the op's bytes.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "../support/frames.hpp"
#include "fuzz_support.hpp"
#include "net/ipv4.hpp"
#include "net/ipv6.hpp"
#include "net/tcp_header.hpp"
#include "net/tcp_options.hpp"

using namespace pollux;
using namespace pollux::fuzz;
using net::Seq;

namespace {

uint64_t g_frames = 0;  // frames fed to engines, over the whole run

constexpr uint16_t kPeerPort = 40000;
constexpr Seq kPeerIss{100000};

// What the peer knows, learned from the engine's segments to it.
struct Peer {
  bool synack_seen = false;
  Seq eng_iss, eng_max;    // the engine's ISS and the highest seq + len it sent
  Seq eng_ack;             // the last ACK it sent: its RCV.NXT
  uint32_t eng_ts = 0;     // its last TSval
  Seq nxt = kPeerIss + 1;  // next new sequence number of ours
  Seq una;                 // the last ACK we sent
  uint32_t ts = 5000;      // our TSval
  bool ts_on = false, sack_on = false;
  bool v6 = false;  // the connection is kPeerIp6 -> kOurIp6 (TCP over IPv6)
  uint32_t segs_out = 0;
};

void observe(void* ctx, std::span<const uint8_t> frame) {
  Peer& p = *static_cast<Peer*>(ctx);
  auto eth = net::EthernetView::parse(frame);
  if (!eth) return;
  net::Bytes l4;
  if (p.v6) {
    net::Ipv6Header ip;
    if (net::parse_ipv6(eth->payload(), ip) != net::Ipv6Error::ok ||
        ip.upper_protocol != net::kIpProtoTcp || ip.dst != kPeerIp6)
      return;
    l4 = ip.upper;
  } else {
    net::Ipv4Header ip;
    if (net::parse_ipv4(eth->payload(), ip, false) != net::Ipv4Error::ok ||
        ip.protocol != net::kIpProtoTcp)
      return;
    l4 = ip.payload;
  }
  net::TcpHeader t;
  if (net::parse_tcp(l4, t) != net::TcpHeaderError::ok) return;
  if (t.dst_port != kPeerPort) return;
  ++p.segs_out;
  net::TcpOptions o;
  (void)net::parse_tcp_options(t.options, o);
  if (t.has(net::tcp_flags::syn) && t.has(net::tcp_flags::ack) && !p.synack_seen) {
    p.synack_seen = true;
    p.eng_iss = t.seq;
    p.eng_max = t.seq + 1;
    p.una = t.seq + 1;
  }
  if (o.has_timestamps) p.eng_ts = o.ts_val;
  if (t.has(net::tcp_flags::ack)) p.eng_ack = t.ack;
  const Seq end = t.seq + t.seg_len();
  if (p.synack_seen && end > p.eng_max) p.eng_max = end;
}

struct Segment {
  uint8_t flags = net::tcp_flags::ack;
  Seq seq, ack;
  uint16_t window = 65535;
  net::TcpOptions opts;
  size_t len = 0;
};

std::vector<uint8_t> frame_of(const Segment& s, bool v6) {
  net::TcpBuild b;
  b.src_port = kPeerPort;
  b.dst_port = kOurPort;
  b.seq = s.seq;
  b.ack = s.ack;
  b.flags = s.flags;
  b.window = s.window;
  testing::Frame payload(s.len);
  for (size_t i = 0; i < s.len; ++i) payload[i] = static_cast<uint8_t>('a' + i % 26);
  if (v6)
    return testing::eth_frame(
        kOurMac, kPeerMac, 0x86dd,
        testing::ipv6_datagram(kPeerIp6, kOurIp6, net::kIpProtoTcp,
                               testing::tcp6_segment(kPeerIp6, kOurIp6, b, &s.opts, payload)));
  const testing::Frame l4 = testing::tcp_segment(kPeerIp, kOurIp, b, &s.opts, payload);
  return testing::eth_frame(kOurMac, kPeerMac, 0x0800,
                            testing::ipv4_datagram(kPeerIp, kOurIp, net::kIpProtoTcp, l4));
}

bool send(EngineHarness& h, Peer& p, const Segment& s) {
  ++g_frames;
  if (s.flags & net::tcp_flags::ack) p.una = s.ack;
  const Seq end = s.seq + static_cast<uint32_t>(s.len) + ((s.flags & net::tcp_flags::syn) ? 1 : 0) +
                  ((s.flags & net::tcp_flags::fin) ? 1 : 0);
  if (end > p.nxt) p.nxt = end;
  return h.inject(frame_of(s, p.v6));
}

// A signed offset: mostly 0 or small, sometimes anywhere in a window's reach.
int32_t offset(Input& in) {
  const uint8_t k = in.u8();
  switch (k & 3) {
    case 0:
      return 0;
    case 1:
      return static_cast<int8_t>(in.u8());
    case 2:
      return static_cast<int16_t>(in.u16());
    default:
      return static_cast<int32_t>(in.u32());
  }
}

Segment fuzzed_segment(Input& in, const Peer& p, uint64_t now) {
  Segment s;
  const uint8_t ctl = in.u8();
  // Flags: mostly a plain ACK (with PSH or FIN now and then), sometimes any byte.
  static constexpr uint8_t kCommon[] = {net::tcp_flags::ack,
                                        net::tcp_flags::ack | net::tcp_flags::psh,
                                        net::tcp_flags::ack | net::tcp_flags::fin,
                                        net::tcp_flags::rst,
                                        net::tcp_flags::ack | net::tcp_flags::rst,
                                        net::tcp_flags::syn,
                                        net::tcp_flags::ack};
  s.flags = (ctl & 0x80) ? in.u8() : kCommon[(ctl & 7) % 7];
  const Seq seq_base = (ctl & 0x08) ? p.nxt : p.eng_ack;
  s.seq = seq_base + static_cast<uint32_t>(offset(in));
  const Seq ack_base = (ctl & 0x10) ? p.una : p.eng_max;
  s.ack = ack_base + static_cast<uint32_t>(offset(in));
  s.window = (ctl & 0x20) ? in.u16() : 65535;
  s.len = (ctl & 0x40) ? in.u16() % 1461 : 0;
  if (p.ts_on && !(in.u8() & 0x80)) {
    s.opts.has_timestamps = true;
    s.opts.ts_val = p.ts + static_cast<uint32_t>(now / kMs) + static_cast<uint32_t>(offset(in));
    s.opts.ts_ecr = p.eng_ts + static_cast<uint32_t>(offset(in));
  }
  const uint8_t blocks = in.u8() % 4;
  for (uint8_t i = 0; i < blocks && i < 3; ++i) {
    const Seq left = p.una + static_cast<uint32_t>(in.u16()) * 8;
    s.opts.sack[i] = {left, left + 1 + static_cast<uint32_t>(in.u16())};
    s.opts.sack_count = static_cast<uint8_t>(i + 1);
  }
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  init_eal();
  std::atexit([] {
    std::fprintf(stderr, "fuzz_engine_established: %llu frames fed\n",
                 static_cast<unsigned long long>(g_frames));
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  {
    Peer p;
    EngineHarness h(fuzz_tcp_config());
    h.on_output = observe;
    h.on_output_ctx = &p;
    // The handshake, with the options the first byte asks for.
    const uint8_t hs = in.u8();
    h.auto_read = !(hs & 0x80);
    Segment syn;
    syn.flags = net::tcp_flags::syn;
    syn.seq = kPeerIss;
    syn.opts.has_mss = true;
    syn.opts.mss = (hs & 0x40) ? 536 : 1460;
    p.sack_on = syn.opts.sack_permitted = hs & 1;
    if (hs & 2) {
      p.ts_on = syn.opts.has_timestamps = true;
      syn.opts.ts_val = p.ts + static_cast<uint32_t>(h.now() / kMs);
    }
    if (hs & 4) {
      syn.opts.has_wscale = true;
      syn.opts.wscale = (hs >> 3) & 7;
    } else if (hs & 8) {
      // Bits 3-5 are free without window scale: bit 3 makes the connection TCP over IPv6
      // (RFC 8200, the same TCP through ipv6_input), bit 4 adds window scale 2 or (bit 5) 7.
      p.v6 = true;
      if (hs & 16) {
        syn.opts.has_wscale = true;
        syn.opts.wscale = (hs & 32) ? 7 : 2;
      }
    }
    if (!send(h, p, syn)) fail("mbuf pool empty");
    require(p.synack_seen, "no SYN-ACK to a SYN on the listening port");
    h.advance(10 * kMs);
    Segment ack;
    ack.seq = p.nxt;
    ack.ack = p.eng_iss + 1;
    if (p.ts_on) {
      ack.opts.has_timestamps = true;
      ack.opts.ts_val = p.ts + static_cast<uint32_t>(h.now() / kMs);
      ack.opts.ts_ecr = p.eng_ts;
    }
    if (!send(h, p, ack)) fail("mbuf pool empty");
    require(h.conns.size() == 1, "handshake did not reach ESTABLISHED");

    for (int steps = 0; !in.empty() && steps < 512; ++steps) {
      Conn* c = h.conns.empty() ? nullptr : h.conns.front();
      tcp::TcpLayer& tcp = h.engine().tcp();
      const uint8_t op = in.u8();
      switch (op % 12) {
        default:  // 0..5: a segment
          if (!send(h, p, fuzzed_segment(in, p, h.now()))) fail("mbuf pool empty");
          break;
        case 6: {  // the application sends
          static const std::vector<uint8_t> kBytes(64 * 1024, 'x');
          const size_t n = in.u16();
          if (c) (void)tcp.send(c, {kBytes.data(), std::min(n, kBytes.size())});
          h.advance(0);
          h.engine().poll(h.now());
          h.drain();
          break;
        }
        case 7: {  // the application reads
          uint8_t buf[4096];
          if (c) (void)tcp.read(c, buf, std::min<size_t>(in.u16(), sizeof buf));
          h.engine().poll(h.now());
          h.drain();
          break;
        }
        case 8: {  // the application ends its side
          const uint8_t how = in.u8() % 3;
          if (c) {
            if (how == 0) tcp.shutdown_write(c);
            if (how == 1) tcp.close(c);
            if (how == 2) tcp.abort(c);
          }
          h.engine().poll(h.now());
          h.drain();
          break;
        }
        case 9:  // time passes: up to 2.55 s in 10 ms steps
          h.advance(in.u8() * 10 * kMs);
          break;
        case 10:  // much time passes: up to 255 s (in steps a wheel revolution long)
          h.advance(in.u8() * kSecond, 5 * kSecond);
          break;
        case 11: {  // an in-order burst of full segments acknowledging everything
          const uint8_t n = in.u8() % 16;
          for (uint8_t i = 0; i < n; ++i) {
            Segment s;
            s.seq = p.nxt;
            s.ack = p.eng_max;
            s.len = 1000;
            if (p.ts_on) {
              s.opts.has_timestamps = true;
              s.opts.ts_val = p.ts + static_cast<uint32_t>(h.now() / kMs);
              s.opts.ts_ecr = p.eng_ts;
            }
            if (!send(h, p, s)) fail("mbuf pool empty");
          }
          break;
        }
      }
    }
    h.finish();
  }
  require(rte_mempool_in_use_count(pool()) == 0, "mbufs leaked after the engine was destroyed");
  return 0;
}
