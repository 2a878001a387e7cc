// TSO and LRO end to end (issue 13 item 2). Host a's port does TSO: what it could send now as
// full-sized segments leaves as one frame of up to 64 KB (RTE_MBUF_F_TX_TCP_SEG, tso_segsz the
// segment size), and the link, like the in-memory link, delivers it whole to b as an LRO frame
// (RTE_MBUF_F_RX_LRO). The simulator's link gives no checksum verdicts, so b verifies every
// frame's checksums in software: a TSO frame must arrive complete and correct. Each run sends
// the same pattern with link offloads all, csum and none and b checks every byte.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "bulk_transfer.hpp"
#include "net/bytes.hpp"
#include "net/ethernet.hpp"
#include "net/tcp_header.hpp"
#include "sim_seeds.hpp"

namespace pollux::sim {
namespace {

struct Seen {
  Family family = Family::v4;
  bool family_ok = true;  // every data frame of the family asked for
  uint64_t data_frames = 0, tso_frames = 0, acks = 0;
  uint32_t max_payload = 0;
  std::string bad;  // the first TSO frame not as a NIC expects it, described
};

// The TCP payload length of an IPv4/TCP or IPv6/TCP frame; 0 for anything else (ARP, ND).
uint32_t tcp_payload(const rte_mbuf* m, uint32_t* ip_total = nullptr, uint32_t* tcp_hdr = nullptr,
                     uint32_t* ip_hdr = nullptr) {
  const uint8_t* eth = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint8_t* ip = eth + net::kEthernetHeaderLen;
  uint32_t ihl = 0, total = 0;
  if (net::load_be16(eth + 12) == 0x0800 && ip[9] == 6) {
    ihl = (ip[0] & 0x0fu) * 4u;
    total = net::load_be16(ip + 2);
  } else if (net::load_be16(eth + 12) == 0x86dd && ip[6] == 6) {
    ihl = 40;  // RFC 8200 3: no extension headers from pollux
    total = ihl + net::load_be16(ip + 4);
  } else {
    return 0;
  }
  const uint32_t thl = (ip[ihl + 12] >> 4) * 4u;
  if (ip_total) *ip_total = total;
  if (tcp_hdr) *tcp_hdr = thl;
  if (ip_hdr) *ip_hdr = ihl;
  return total - ihl - thl;
}

// What a NIC's TSO needs (DPDK's RTE_MBUF_F_TX_TCP_SEG contract): the flags (IPv4: TX_IPV4
// and TX_IP_CKSUM; IPv6: TX_IPV6), the header lengths, the segment size; a payload of whole
// segments (the tail goes on its own).
std::string check_tso_frame(const rte_mbuf* m) {
  uint32_t total = 0, thl = 0, ihl = 0;
  const uint32_t payload = tcp_payload(m, &total, &thl, &ihl);
  const uint8_t flags = rte_pktmbuf_mtod_offset(m, const uint8_t*, 14 + ihl)[13];
  if (ihl == 40) {
    if (!(m->ol_flags & RTE_MBUF_F_TX_IPV6) || (m->ol_flags & RTE_MBUF_F_TX_IPV4))
      return "no TX_IPV6";
  } else if (!(m->ol_flags & RTE_MBUF_F_TX_IPV4) || !(m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM)) {
    return "no TX_IPV4 | TX_IP_CKSUM";
  }
  if (m->l2_len != 14 || m->l3_len != ihl || m->l4_len != thl) return "bad l2/l3/l4 lengths";
  // The MSS: 1500 less the IP and TCP headers (RFC 9293 3.7.1, RFC 8200 8.3).
  if (m->tso_segsz == 0 || m->tso_segsz + thl - 20 > 1500 - ihl - 20) return "bad tso_segsz";
  if (payload % m->tso_segsz != 0 || payload < 2u * m->tso_segsz) return "not whole segments";
  if (rte_pktmbuf_pkt_len(m) != 14 + total || total - (ihl == 40 ? 40 : 0) > 0xffff)
    return "bad lengths";
  if (flags & (net::tcp_flags::syn | net::tcp_flags::fin | net::tcp_flags::rst))
    return "SYN, FIN or RST on a TSO frame";
  return "";
}

enum class Mode { none, csum, all };
const char* name(Mode m) {
  return m == Mode::none ? "none" : m == Mode::csum ? "csum" : "all";
}

BulkSpec spec_for(Mode mode, uint64_t seed, Seen& seen, Family family = Family::v4) {
  BulkSpec spec;
  spec.seed = seed;
  spec.family = family;
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
    seen.family_ok &= (net::load_be16(rte_pktmbuf_mtod(m, const uint8_t*) + 12) == 0x86dd) ==
                      (seen.family == Family::v6);
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

// One body per behaviour, run over IPv4 and over IPv6 (issue 16): IPv6 frames of many
// segments are prepared as DPDK's TSO contract asks for IPv6 (TX_IPV6, l3_len 40, the
// pseudo-header seed of RFC 8200 8.1 without the length), completed and handed over whole
// like IPv4's, checked by b in software.
class TsoLroFamily : public ::testing::TestWithParam<Family> {
 protected:
  [[nodiscard]] Family family() const { return GetParam(); }
  // The MSS a sends: 1500 less the IP and TCP headers and 12 of timestamps (RFC 9293 3.7.1,
  // RFC 8200 8.3, RFC 7323 3).
  [[nodiscard]] uint32_t mss() const { return family() == Family::v6 ? 1428u : 1448u; }
};

TEST_P(TsoLroFamily, FourMebibytesArriveIntactWithLinkOffloadsAllCsumAndNone) {
  for (Mode mode : {Mode::all, Mode::csum, Mode::none}) {
    Seen seen;
    seen.family = family();
    BulkSpec spec = spec_for(mode, 1, seen, family());
    const BulkResult r = run_bulk_transfer(spec);
    SCOPED_TRACE(std::string(family_name(family())) + ", link offloads " + name(mode) + ": " +
                 r.where);
    EXPECT_TRUE(r.complete);
    EXPECT_EQ(r.leaked, 0u);
    EXPECT_EQ(r.retrans_segs, 0u) << "a lossless link";
    EXPECT_TRUE(seen.family_ok) << "a data frame of the other family";
    EXPECT_GT(seen.data_frames, 0u);
    if (mode == Mode::all) {
      EXPECT_TRUE(seen.bad.empty()) << seen.bad;
      EXPECT_GT(seen.tso_frames, 0u);
      EXPECT_GT(seen.max_payload, mss() * 16) << "frames of many segments";
      EXPECT_LE(seen.max_payload, 65535u - 40 - 40);
      // One ACK per LRO frame at most (no delayed ACK held for a frame of two or more
      // segments; RFC 5681 4.2 counts its segments): far fewer ACKs than segments.
      EXPECT_LT(seen.acks, spec.bytes / mss() / 4) << seen.acks << " ACKs";
    } else {
      EXPECT_EQ(seen.tso_frames, 0u);
      EXPECT_LE(seen.max_payload, mss());
    }
  }
}

// The same with loss, duplication, reordering and corruption on the TSO side (a lost or
// corrupted frame loses all its segments at once): recovery resends MSS-sized pieces and
// every byte still arrives, no mbuf leaks. IPv6 runs half IPv4's seeds: only the headers
// differ, and the recovery under test is the same code.
TEST_P(TsoLroFamily, FramesLostReorderedOrCorruptedAreRecoveredWithoutLeaks) {
  for (uint64_t seed : sim_seeds(family() == Family::v4 ? 8 : 4)) {
    Seen seen;
    seen.family = family();
    BulkSpec spec = spec_for(Mode::all, seed, seen, family());
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

// The software fallback (Offloads::tx_tso_in_engine, net_tap's case: tso_cut.hpp) is exact:
// the segments the engine cuts from its TSO frames are, byte for byte and at the same virtual
// times, the segments it sends without TSO. The second run must also have cut frames (or it
// proves nothing).
TEST_P(TsoLroFamily, SegmentsCutInTheEngineAreTheSegmentsSentWithoutTso) {
  const Family family = this->family();
  std::vector<std::pair<uint64_t, std::vector<uint8_t>>> wire[2];
  uint64_t cuts[2] = {0, 0};
  for (int k = 0; k < 2; ++k) {
    BulkSpec spec;
    spec.family = family;
    spec.bytes = 1 << 20;
    spec.ab.delay_ns = spec.ba.delay_ns = 50'000;
    spec.checksum_offload = true;
    spec.tso_lro = spec.tso_in_engine = k == 1;
    auto* out = &wire[k];
    spec.drop_ab = [out](const rte_mbuf* m, uint64_t now) {
      std::vector<uint8_t> bytes(rte_pktmbuf_pkt_len(m));
      const void* p = rte_pktmbuf_read(m, 0, static_cast<uint32_t>(bytes.size()), bytes.data());
      if (p != bytes.data()) std::memcpy(bytes.data(), p, bytes.size());
      out->emplace_back(now, std::move(bytes));
      return false;
    };
    const BulkResult r = run_bulk_transfer(spec);
    ASSERT_TRUE(r.complete) << r.where;
    EXPECT_EQ(r.leaked, 0u) << r.where;
    cuts[k] = r.tso_software_cuts;
  }
  EXPECT_EQ(cuts[0], 0u);
  EXPECT_GT(cuts[1], 10u) << "the engine cut TSO frames";
  ASSERT_EQ(wire[0].size(), wire[1].size());
  for (size_t i = 0; i < wire[0].size(); ++i) {
    ASSERT_EQ(wire[0][i].first, wire[1][i].first) << "frame " << i << " sent at another time";
    ASSERT_EQ(wire[0][i].second, wire[1][i].second) << "frame " << i << " differs";
  }
}

INSTANTIATE_TEST_SUITE_P(Families, TsoLroFamily, ::testing::Values(Family::v4, Family::v6),
                         [](const auto& info) { return std::string(family_name(info.param)); });

}  // namespace
}  // namespace pollux::sim
