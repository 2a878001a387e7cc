// Which lcore owns a TCP connection: the shard function of issue 6.
//
//   shard = RETA[toeplitz(key, remote ip, local ip, remote port, local port) & (RETA size - 1)]
//
// exactly what an RSS NIC computes for a received segment (Microsoft RSS spec: the low bits
// of the hash index the indirection table, whose entry is the queue; pollux serves queue i
// from worker i). With the symmetric key the shard is the same for the segments we send, so
// the lcore that owns a connection can be computed from either direction. The map is built
// once at start and only read afterwards: every lcore may share one instance.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/flow_table.hpp"
#include "net/bytes.hpp"
#include "net/toeplitz.hpp"

namespace pollux::engine {

// The 4-tuple of a received Ethernet frame carrying an unfragmented IPv4/TCP or IPv6/TCP
// segment, as the hash input wants it (src = sender). Only what RSS needs is looked at
// (ether type, IHL, fragment bits, protocol; for IPv6 the next-header chain through
// hop-by-hop, routing and destination options; ports); validation is the owning engine's
// job. Returns false for anything else (ARP, ICMP, ND, fragments, runts): those are handled
// where they arrive.
struct RxTuple {
  net::Ipv4Addr src, dst;    // IPv4
  net::Ipv6Addr src6, dst6;  // IPv6 (when v6)
  uint16_t sport = 0, dport = 0;
  bool v6 = false;
};

class ShardMap {
 public:
  // `shards` lcores; the RETA is filled round-robin (entry i -> i % shards), the default of
  // Linux (ethtool_rxfh_indir_default) and DPDK's drivers. `reta_size` must be a power of two.
  explicit ShardMap(uint16_t shards, const net::RssKey& key = net::kSymmetricRssKey,
                    size_t reta_size = 128);

  // Replaces the table with what a device reports (rte_eth_dev_rss_reta_query). Returns
  // false, changing nothing, if the size is not a power of two or an entry is out of range.
  [[nodiscard]] bool set_reta(std::span<const uint16_t> reta);

  [[nodiscard]] uint16_t shards() const { return shards_; }
  [[nodiscard]] std::span<const uint16_t> reta() const { return reta_; }
  [[nodiscard]] const net::RssKey& key() const { return hasher_.key(); }

  [[nodiscard]] uint16_t shard_of_hash(uint32_t hash) const { return reta_[hash & mask_]; }
  // A received segment's tuple, as the NIC hashes it (src = the sender).
  [[nodiscard]] uint32_t hash_rx(net::Ipv4Addr src, net::Ipv4Addr dst, uint16_t sport,
                                 uint16_t dport) const {
    return hasher_.hash(src, dst, sport, dport);
  }
  [[nodiscard]] uint32_t hash_rx6(const net::Ipv6Addr& src, const net::Ipv6Addr& dst,
                                  uint16_t sport, uint16_t dport) const {
    return hasher6_.hash(src, dst, sport, dport);
  }
  // A received frame's hash, by its family (the NIC's IPv4/TCP or IPv6/TCP hash type).
  [[nodiscard]] uint32_t hash_rx(const RxTuple& t) const {
    return t.v6 ? hash_rx6(t.src6, t.dst6, t.sport, t.dport)
                : hash_rx(t.src, t.dst, t.sport, t.dport);
  }
  // The lcore that receives this connection's segments (tuple from our point of view): the
  // IPv4/TCP or IPv6/TCP hash type by the tuple's family, as the NIC picks it.
  [[nodiscard]] uint16_t shard_of(const net::FourTuple& t) const {
    if (t.is_v4())
      return shard_of_hash(hash_rx(t.remote_ip.v4(), t.local_ip.v4(), t.remote_port, t.local_port));
    return shard_of_hash(hash_rx6(t.remote_ip.v6(), t.local_ip.v6(), t.remote_port, t.local_port));
  }

 private:
  net::ToeplitzIpv4Tcp hasher_;
  net::ToeplitzIpv6Tcp hasher6_;
  std::vector<uint16_t> reta_;
  uint32_t mask_;
  uint16_t shards_;
};

[[nodiscard]] bool rx_tcp_tuple(net::Bytes frame, RxTuple& out);

// Where software steering sends a frame: TCP segments by their tuple (rx_tcp_tuple), and
// ICMP destination-unreachable messages quoting one of our TCP segments (RFC 792: the
// quoted IP header and at least 8 bytes of it) by the quoted connection's tuple turned
// around, i.e. as that connection's own segments arrive, so that PMTUD (RFC 1191) reaches
// the lcore that owns the connection. A NIC's RSS hashes such ICMP as plain IPv4, so even in
// nic-rss mode they may take the steering ring. Returns false for everything else.
[[nodiscard]] bool rx_steer_tuple(net::Bytes frame, RxTuple& out);

}  // namespace pollux::engine
