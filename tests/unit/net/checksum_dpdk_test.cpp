// Cross-check of net/checksum.hpp against DPDK 22.11's inline checksum helpers in rte_ip.h:
// rte_ipv4_phdr_cksum and rte_ipv6_phdr_cksum (the value a NIC with TX L4 checksum offload / TSO
// expects in the TCP checksum field), rte_ipv4_cksum and rte_ipv4_udptcp_cksum. Only header-only
// inline functions are used: no EAL, no hugepages, no devices.
//
// DPDK returns its 16-bit results in network byte order as they sit in memory; pollux keeps
// host-order values and writes them with store_be16. The comparisons below are therefore
// on the bytes that end up in the packet.
#include <gtest/gtest.h>
#include <rte_ip.h>
#include <rte_mbuf_core.h>

#include <cstring>
#include <random>
#include <vector>

#include "linux_captures.hpp"
#include "net/bytes.hpp"
#include "net/checksum.hpp"
#include "net/ipv4.hpp"
#include "net/ipv6.hpp"

namespace pollux::net {
namespace {

using namespace capture;

// DPDK's result as the two bytes it would leave in the checksum field.
uint16_t dpdk_field_value(uint16_t dpdk_result) {
  uint8_t b[2];
  std::memcpy(b, &dpdk_result, 2);
  return load_be16(b);
}

const rte_ipv4_hdr* as_dpdk_header(const uint8_t* ip, rte_ipv4_hdr& storage) {
  std::memcpy(&storage, ip, sizeof storage);  // aligned copy; no casts of packet pointers
  return &storage;
}

TEST(ChecksumVsDpdk, OffloadPseudoChecksumOnKernelFrames) {
  for (Bytes f : {Bytes(kTcpSyn), Bytes(kTcpSynAck), Bytes(kTcpData), Bytes(kTcpFin),
                  Bytes(kTcpSackAck), Bytes(kTcpRst), Bytes(kTcpSynNoTs)}) {
    rte_ipv4_hdr h;
    as_dpdk_header(f.data() + kL3, h);
    Ipv4Header ip;
    ASSERT_EQ(parse_ipv4(f.subspan(kL3), ip), Ipv4Error::ok);
    const auto l4_len = static_cast<uint16_t>(ip.payload.size());
    for (bool tso : {false, true}) {
      const uint64_t ol_flags = tso ? RTE_MBUF_F_TX_TCP_SEG : 0;
      EXPECT_EQ(ipv4_offload_pseudo_checksum(ip.src, ip.dst, ip.protocol, l4_len, tso),
                dpdk_field_value(rte_ipv4_phdr_cksum(&h, ol_flags)))
          << "tso " << tso;
    }
  }
}

TEST(ChecksumVsDpdk, OffloadPseudoChecksumOnRandomHeaders) {
  std::mt19937 rng(22110);
  for (int i = 0; i < 5000; ++i) {
    Ipv4Build b;
    b.src = Ipv4Addr{static_cast<uint32_t>(rng())};
    b.dst = Ipv4Addr{static_cast<uint32_t>(rng())};
    b.protocol = rng() % 2 ? kIpProtoTcp : kIpProtoUdp;
    b.payload_len = static_cast<uint16_t>(rng() % (65535 - 20));
    uint8_t raw[20];
    write_ipv4_header(raw, b);
    rte_ipv4_hdr h;
    as_dpdk_header(raw, h);
    for (bool tso : {false, true}) {
      EXPECT_EQ(ipv4_offload_pseudo_checksum(b.src, b.dst, b.protocol, b.payload_len, tso),
                dpdk_field_value(rte_ipv4_phdr_cksum(&h, tso ? RTE_MBUF_F_TX_TCP_SEG : 0)));
    }
  }
}

// Issue 16: the IPv6 offload form (RFC 8200 8.1's pseudo-header, folded, not inverted; the
// length left out for TSO) is rte_ipv6_phdr_cksum's, over random headers without extension
// headers (DPDK takes the upper-layer length from the payload length).
TEST(ChecksumVsDpdk, Ipv6OffloadPseudoChecksumOnRandomHeaders) {
  std::mt19937 rng(16820);
  for (int i = 0; i < 5000; ++i) {
    Ipv6Build b;
    for (auto* a : {&b.src, &b.dst})
      for (auto& byte : a->bytes) byte = static_cast<uint8_t>(rng());
    b.next_header = rng() % 2 ? kIpProtoTcp : kIpProtoUdp;
    b.payload_len = static_cast<uint16_t>(rng());
    uint8_t raw[40];
    write_ipv6_header(raw, b);
    rte_ipv6_hdr h;
    std::memcpy(&h, raw, sizeof h);
    for (bool tso : {false, true}) {
      EXPECT_EQ(ipv6_offload_pseudo_checksum(b.src, b.dst, b.next_header, b.payload_len, tso),
                dpdk_field_value(rte_ipv6_phdr_cksum(&h, tso ? RTE_MBUF_F_TX_TCP_SEG : 0)))
          << "tso " << tso << " payload_len " << b.payload_len;
    }
  }
}

// The full software checksums agree too: IPv4 header (rte_ipv4_cksum) and TCP over the
// pseudo-header (rte_ipv4_udptcp_cksum), recomputed with the field zeroed.
TEST(ChecksumVsDpdk, FullChecksumsOnKernelFrames) {
  for (Bytes f : {Bytes(kTcpSyn), Bytes(kTcpSynAck), Bytes(kTcpData), Bytes(kTcpFin),
                  Bytes(kTcpSackAck), Bytes(kTcpRst), Bytes(kTcpSynNoTs)}) {
    std::vector<uint8_t> pkt(f.begin() + kL3, f.end());
    const uint16_t kernel_ip = load_be16(&pkt[10]);
    const uint16_t kernel_tcp = load_be16(&pkt[20 + 16]);
    store_be16(&pkt[10], 0);
    store_be16(&pkt[20 + 16], 0);
    rte_ipv4_hdr h;
    as_dpdk_header(pkt.data(), h);
    EXPECT_EQ(dpdk_field_value(rte_ipv4_cksum(&h)), kernel_ip);
    EXPECT_EQ(internet_checksum(Bytes(pkt).first(20)), kernel_ip);
    EXPECT_EQ(dpdk_field_value(rte_ipv4_udptcp_cksum(&h, pkt.data() + 20)), kernel_tcp);
    EXPECT_EQ(ipv4_l4_checksum(Ipv4Addr{load_be32(&pkt[12])}, Ipv4Addr{load_be32(&pkt[16])},
                               kIpProtoTcp, Bytes(pkt).subspan(20)),
              kernel_tcp);
  }
}

}  // namespace
}  // namespace pollux::net
