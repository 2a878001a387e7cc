// TSO and LRO end to end (issue 13 item 2). Host a's port does TSO: what it could send now as
// full-sized segments leaves as one frame of up to 64 KB (RTE_MBUF_F_TX_TCP_SEG, tso_segsz the
// segment size), and the link, like the in-memory link, delivers it whole to b as an LRO frame
// (RTE_MBUF_F_RX_LRO). The simulator's link gives no checksum verdicts, so b verifies every
// frame's checksums in software: a TSO frame must arrive complete and correct. Each run sends
// the same pattern with link offloads all, csum and none and b checks every byte.
#include <gtest/gtest.h>

#include <string>

#include "bulk_transfer.hpp"
#include "net/bytes.hpp"
#include "net/ethernet.hpp"
#include "net/tcp_header.hpp"
#include "sim_seeds.hpp"

namespace pollux::sim {
namespace {

struct Seen {
  uint64_t data_frames = 0, tso_frames = 0, acks = 0;
  uint32_t max_payload = 0;
  std::string bad;  // the first TSO frame not as a NIC expects it, described
};

// The TCP payload length of an IPv4/TCP frame; 0 for anything else (ARP).
uint32_t tcp_payload(const rte_mbuf* m, uint32_t* ip_total = nullptr, uint32_t* tcp_hdr = nullptr) {
  const uint8_t* eth = rte_pktmbuf_mtod(m, const uint8_t*);
  if (net::load_be16(eth + 12) != 0x0800 || eth[net::kEthernetHeaderLen + 9] != 6) return 0;
  const uint8_t* ip = eth + net::kEthernetHeaderLen;
  const uint32_t ihl = (ip[0] & 0x0fu) * 4u;
  const uint32_t total = net::load_be16(ip + 2);
  const uint32_t thl = (ip[ihl + 12] >> 4) * 4u;
  if (ip_total) *ip_total = total;
  if (tcp_hdr) *tcp_hdr = thl;
  return total - ihl - thl;
}

// What a NIC's TSO needs (DPDK's RTE_MBUF_F_TX_TCP_SEG contract): the flags, the header
// lengths, the segment size; a payload of whole segments (the tail goes on its own).
std::string check_tso_frame(const rte_mbuf* m) {
  uint32_t total = 0, thl = 0;
  const uint32_t payload = tcp_payload(m, &total, &thl);
  const uint8_t flags = rte_pktmbuf_mtod_offset(m, const uint8_t*, 14 + 20)[13];
  if (!(m->ol_flags & RTE_MBUF_F_TX_IPV4) || !(m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM))
    return "no TX_IPV4 | TX_IP_CKSUM";
  if (m->l2_len != 14 || m->l3_len != 20 || m->l4_len != thl) return "bad l2/l3/l4 lengths";
  if (m->tso_segsz == 0 || m->tso_segsz + thl - 20 > 1460) return "bad tso_segsz";
  if (payload % m->tso_segsz != 0 || payload < 2u * m->tso_segsz) return "not whole segments";
  if (rte_pktmbuf_pkt_len(m) != 14 + total || total > 0xffff) return "bad lengths";
  if (flags & (net::tcp_flags::syn | net::tcp_flags::fin | net::tcp_flags::rst))
    return "SYN, FIN or RST on a TSO frame";
  return "";
}

enum class Mode { none, csum, all };
const char* name(Mode m) {
  return m == Mode::none ? "none" : m == Mode::csum ? "csum" : "all";
}

BulkSpec spec_for(Mode mode, uint64_t seed, Seen& seen) {
  BulkSpec spec;
  spec.seed = seed;
  spec.bytes = 4 << 20;
  spec.ab.hand_over = spec.ba.hand_over = true;  // the in-memory link hands frames over
  spec.ab.delay_ns = spec.ba.delay_ns = 50'000;
  spec.checksum_offload = mode != Mode::none;
  spec.tso_lro = mode == Mode::all;
  spec.drop_ab = [&seen](const rte_mbuf* m, uint64_t) {
    const uint32_t p = tcp_payload(m);
    if (p == 0) return false;
    ++seen.data_frames;
    seen.max_payload = std::max(seen.max_payload, p);
    if (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) {
      ++seen.tso_frames;
      if (std::string why = check_tso_frame(m); !why.empty() && seen.bad.empty()) seen.bad = why;
    }
    return false;
  };
  spec.drop_ba = [&seen](const rte_mbuf* m, uint64_t) {
    if (tcp_payload(m) == 0) ++seen.acks;
    return false;
  };
  return spec;
}

TEST(TsoLro, FourMebibytesArriveIntactWithLinkOffloadsAllCsumAndNone) {
  for (Mode mode : {Mode::all, Mode::csum, Mode::none}) {
    Seen seen;
    BulkSpec spec = spec_for(mode, 1, seen);
    const BulkResult r = run_bulk_transfer(spec);
    SCOPED_TRACE(std::string("link offloads ") + name(mode) + ": " + r.where);
    EXPECT_TRUE(r.complete);
    EXPECT_EQ(r.leaked, 0u);
    EXPECT_EQ(r.retrans_segs, 0u) << "a lossless link";
    if (mode == Mode::all) {
      EXPECT_TRUE(seen.bad.empty()) << seen.bad;
      EXPECT_GT(seen.tso_frames, 0u);
      EXPECT_GT(seen.max_payload, 1448u * 16) << "frames of many segments";
      EXPECT_LE(seen.max_payload, 65535u - 40 - 40);
      // One ACK per LRO frame at most (no delayed ACK held for a frame of two or more
      // segments; RFC 5681 4.2 counts its segments): far fewer ACKs than segments.
      EXPECT_LT(seen.acks, spec.bytes / 1448 / 4) << seen.acks << " ACKs";
    } else {
      EXPECT_EQ(seen.tso_frames, 0u);
      EXPECT_LE(seen.max_payload, 1448u);
    }
  }
}

// The same with loss, duplication, reordering and corruption on the TSO side (a lost or
// corrupted frame loses all its segments at once): recovery resends MSS-sized pieces and
// every byte still arrives, no mbuf leaks.
TEST(TsoLro, FramesLostReorderedOrCorruptedAreRecoveredWithoutLeaks) {
  for (uint64_t seed : sim_seeds(8)) {
    Seen seen;
    BulkSpec spec = spec_for(Mode::all, seed, seen);
    spec.bytes = 2 << 20;
    spec.ab.loss = 0.02;
    spec.ab.duplicate = 0.01;
    spec.ab.reorder = 0.02;
    spec.ab.reorder_delay_ns = 500'000;
    spec.ab.corrupt = 0.01;
    spec.ba.loss = 0.01;
    const BulkResult r = run_bulk_transfer(spec);
    EXPECT_TRUE(r.complete) << r.where;
    EXPECT_EQ(r.leaked, 0u) << r.where;
    EXPECT_TRUE(seen.bad.empty()) << seen.bad << " " << r.where;
    EXPECT_GT(seen.tso_frames, 0u) << r.where;
  }
}

}  // namespace
}  // namespace pollux::sim
