// The in-memory link behaves like a NIC with checksum offload (issue 13 item 2): what one side
// leaves to the device arrives at the other marked good, what it checksummed in software
// arrives with no verdict, and with offloads off nothing is granted.
#include <gtest/gtest.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <string>

#include "mempool.hpp"
#include "port.hpp"
#include "ring_link.hpp"

namespace pollux::dpdk {
namespace {

struct Link {
  RingLink link;
  PortInfo a, b;
  rte_mempool* pool = nullptr;
};

// A fresh link (each test its own: ports cannot be destroyed and re-created under one name).
Link make_link(const std::string& name, bool offload, bool tso_lro = true) {
  Link l;
  std::string error;
  l.pool = create_mbuf_pool(name + "_pool", 2, 256, 256, 256, SOCKET_ID_ANY, error);
  EXPECT_NE(l.pool, nullptr) << error;
  EXPECT_TRUE(create_ring_link(name, 1, 256, l.link, error)) << error;
  EXPECT_TRUE(is_ring_link_port(l.link.port_a) && is_ring_link_port(l.link.port_b));
  PortConfig c;
  c.checksum_offload = offload;
  c.link_tso_lro = tso_lro;
  c.rx_desc = c.tx_desc = 256;
  c.port_id = l.link.port_a;
  EXPECT_TRUE(bring_up_port(c, l.pool, l.a, error)) << error;
  c.port_id = l.link.port_b;
  EXPECT_TRUE(bring_up_port(c, l.pool, l.b, error)) << error;
  return l;
}

// One 64-byte frame from a to b with `flags` (and `tso_segsz`); returns the received mbuf's
// ol_flags and, in `segsz`, its tso_segsz.
uint64_t hand_over(Link& l, uint64_t flags, uint16_t tso_segsz = 0, uint16_t* segsz = nullptr) {
  rte_mbuf* m = rte_pktmbuf_alloc(l.pool);
  EXPECT_NE(m, nullptr);
  EXPECT_NE(rte_pktmbuf_append(m, 64), nullptr);
  m->ol_flags |= flags;
  m->l2_len = 14;
  m->l3_len = 20;
  m->tso_segsz = tso_segsz;
  EXPECT_EQ(rte_eth_tx_burst(l.link.port_a, 0, &m, 1), 1);
  rte_mbuf* got[4];
  EXPECT_EQ(receive_burst(l.link.port_b, 0, got, 4), 1);
  const uint64_t f = got[0]->ol_flags;
  EXPECT_EQ(got[0], m);  // the same mbuf: nothing is copied
  if (segsz) *segsz = got[0]->tso_segsz;
  rte_pktmbuf_free(got[0]);
  return f;
}

constexpr uint64_t kTxCsum = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM;

TEST(RingLink, GrantsChecksumOffloadAndTurnsTheSendersRequestsIntoGoodVerdicts) {
  Link l = make_link("rl_on", true);
  EXPECT_TRUE(l.a.offloads.tx_ipv4_checksum && l.a.offloads.tx_tcp_checksum);
  EXPECT_TRUE(l.b.offloads.rx_ipv4_checksum && l.b.offloads.rx_tcp_checksum);
  const uint64_t f = hand_over(l, kTxCsum);
  EXPECT_EQ(f & RTE_MBUF_F_RX_IP_CKSUM_MASK, RTE_MBUF_F_RX_IP_CKSUM_GOOD);
  EXPECT_EQ(f & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_GOOD);
  EXPECT_EQ(f & RTE_MBUF_F_TX_OFFLOAD_MASK, 0u) << "TX requests do not survive the wire";
}

TEST(RingLink, AFrameChecksummedInSoftwareArrivesWithoutAVerdict) {
  Link l = make_link("rl_sw", true);
  const uint64_t f = hand_over(l, 0);
  EXPECT_EQ(f & RTE_MBUF_F_RX_IP_CKSUM_MASK, RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN);
  EXPECT_EQ(f & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN);
  // Only the IPv4 header left to the device: only that one is vouched for.
  const uint64_t g = hand_over(l, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM);
  EXPECT_EQ(g & RTE_MBUF_F_RX_IP_CKSUM_MASK, RTE_MBUF_F_RX_IP_CKSUM_GOOD);
  EXPECT_EQ(g & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN);
}

TEST(RingLink, WithOffloadsOffNothingIsGrantedAndFramesPassUntouched) {
  Link l = make_link("rl_off", false);
  EXPECT_FALSE(l.a.offloads.tx_ipv4_checksum || l.a.offloads.tx_tcp_checksum ||
               l.b.offloads.rx_ipv4_checksum || l.b.offloads.rx_tcp_checksum);
  EXPECT_EQ(hand_over(l, kTxCsum) & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN);
}

// Item 2: TSO and LRO. A TSO frame crosses whole and arrives as an LRO frame: checksums
// vouched for, RTE_MBUF_F_RX_LRO set and tso_segsz still the sender's segment size, which is
// how a receiver learns the MSS the frame stands for (DPDK's LRO contract).
TEST(RingLink, GrantsTsoAndLroAndHandsATsoFrameOverAsAnLroFrame) {
  Link l = make_link("rl_tso", true);
  EXPECT_TRUE(l.a.offloads.tx_tso && l.a.offloads.rx_lro);
  EXPECT_TRUE(l.b.offloads.tx_tso && l.b.offloads.rx_lro);
  EXPECT_NE(describe_port(l.a).find("tso on"), std::string::npos) << describe_port(l.a);
  EXPECT_NE(describe_port(l.a).find("lro on"), std::string::npos) << describe_port(l.a);
  uint16_t segsz = 0;
  const uint64_t f = hand_over(
      l, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_SEG, 1448, &segsz);
  EXPECT_TRUE(f & RTE_MBUF_F_RX_LRO);
  EXPECT_EQ(segsz, 1448);
  EXPECT_EQ(f & RTE_MBUF_F_RX_IP_CKSUM_MASK, RTE_MBUF_F_RX_IP_CKSUM_GOOD);
  EXPECT_EQ(f & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_GOOD);
  EXPECT_EQ(f & RTE_MBUF_F_TX_OFFLOAD_MASK, 0u);
  // An ordinary frame is no LRO frame.
  EXPECT_FALSE(hand_over(l, kTxCsum) & RTE_MBUF_F_RX_LRO);
}

TEST(RingLink, LinkOffloadsCsumGrantsChecksumsWithoutTsoOrLro) {
  Link l = make_link("rl_csum", true, false);
  EXPECT_TRUE(l.a.offloads.tx_tcp_checksum && l.b.offloads.rx_tcp_checksum);
  EXPECT_FALSE(l.a.offloads.tx_tso || l.a.offloads.rx_lro || l.b.offloads.tx_tso ||
               l.b.offloads.rx_lro);
  EXPECT_NE(describe_port(l.a).find("tso off"), std::string::npos) << describe_port(l.a);
}

}  // namespace
// Issue 16: the hash types asked of a device include IPv6/TCP when its key is long enough
// for the IPv6 input (40 bytes), and never what it does not offer.
TEST(RssHashTypes, Ipv6TcpIsAskedForWhenTheKeyCoversItsInput) {
  constexpr uint64_t v4 = RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_IPV4;
  constexpr uint64_t v6 = RTE_ETH_RSS_NONFRAG_IPV6_TCP | RTE_ETH_RSS_IPV6;
  constexpr uint64_t all = v4 | v6 | RTE_ETH_RSS_NONFRAG_IPV4_UDP | RTE_ETH_RSS_NONFRAG_IPV6_UDP;
  EXPECT_EQ(dpdk::rss_hash_types(all, 40), v4 | v6);
  EXPECT_EQ(dpdk::rss_hash_types(all, 52), v4 | v6);
  EXPECT_EQ(dpdk::rss_hash_types(all, 16), v4) << "a 16-byte key hashes IPv4 only";
  EXPECT_EQ(dpdk::rss_hash_types(RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV6_TCP, 40),
            RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV6_TCP);
  EXPECT_EQ(dpdk::rss_hash_types(RTE_ETH_RSS_NONFRAG_IPV4_UDP, 40), 0u);
}

}  // namespace pollux::dpdk
