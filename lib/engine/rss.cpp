#include "engine/rss.hpp"

#include <algorithm>
#include <bit>

#include "net/ethernet.hpp"
#include "net/ipv4.hpp"

namespace pollux::engine {

ShardMap::ShardMap(uint16_t shards, const net::RssKey& key, size_t reta_size)
    : hasher_(key),
      hasher6_(key),
      reta_(std::bit_ceil(std::max<size_t>(reta_size, 1))),
      mask_(static_cast<uint32_t>(reta_.size() - 1)),
      shards_(std::max<uint16_t>(shards, 1)) {
  for (size_t i = 0; i < reta_.size(); ++i) reta_[i] = static_cast<uint16_t>(i % shards_);
}

bool ShardMap::set_reta(std::span<const uint16_t> reta) {
  if (reta.empty() || !std::has_single_bit(reta.size())) return false;
  for (uint16_t q : reta)
    if (q >= shards_) return false;
  reta_.assign(reta.begin(), reta.end());
  mask_ = static_cast<uint32_t>(reta_.size() - 1);
  return true;
}

namespace {

// IPv6 (RFC 8200 4): the fixed header, then the extension headers a NIC's IPv6/TCP hash
// steps over (hop-by-hop, routing, destination options; each (len + 1) * 8 bytes), at most a
// few of them, to TCP. A fragment (RFC 8200 4.5) stays where it arrived as an IPv4 one
// does (the engine drops it, counted); so does anything that ends early.
bool rx_tcp6_tuple(net::Bytes frame, RxTuple& out) {
  constexpr size_t eth = net::kEthernetHeaderLen;
  constexpr size_t kFixed = 40;
  constexpr int kMaxExtensions = 4;
  if (frame.size() < eth + kFixed) return false;
  const uint8_t* ip = frame.data() + eth;
  if ((ip[0] >> 4) != 6) return false;
  uint8_t next = ip[6];
  size_t at = eth + kFixed;
  for (int i = 0; next != net::kIpProtoTcp; ++i) {
    if (i == kMaxExtensions) return false;
    if (next != 0 && next != 43 && next != 60) return false;  // hop-by-hop, routing, dest opts
    if (frame.size() < at + 8) return false;
    next = frame[at];
    at += (size_t{frame[at + 1]} + 1) * 8;
  }
  if (frame.size() < at + 4) return false;
  std::copy_n(ip + 8, 16, out.src6.bytes.begin());
  std::copy_n(ip + 24, 16, out.dst6.bytes.begin());
  out.sport = net::load_be16(frame.data() + at);
  out.dport = net::load_be16(frame.data() + at + 2);
  out.v6 = true;
  return true;
}

}  // namespace

bool rx_tcp_tuple(net::Bytes frame, RxTuple& out) {
  constexpr size_t eth = net::kEthernetHeaderLen;
  if (frame.size() < eth + 20) return false;
  if (const uint16_t type = net::load_be16(frame.data() + 12);
      type != static_cast<uint16_t>(net::EtherType::ipv4))
    return type == static_cast<uint16_t>(net::EtherType::ipv6) && rx_tcp6_tuple(frame, out);
  const uint8_t* ip = frame.data() + eth;
  if ((ip[0] >> 4) != 4) return false;
  const size_t ihl = size_t{ip[0] & 0x0fu} * 4;
  if (ihl < 20 || ip[9] != net::kIpProtoTcp) return false;
  // A fragment carries no (or only part of the) TCP header; an RSS NIC hashes it as plain
  // IPv4. It stays where it arrived, so that all fragments of a datagram meet in one
  // lcore's reassembly table (engine/ip_reassembly.hpp).
  if ((net::load_be16(ip + 6) & 0x3fffu) != 0) return false;
  if (frame.size() < eth + ihl + 4) return false;
  out.src = net::Ipv4Addr{net::load_be32(ip + 12)};
  out.dst = net::Ipv4Addr{net::load_be32(ip + 16)};
  out.sport = net::load_be16(ip + ihl);
  out.dport = net::load_be16(ip + ihl + 2);
  return true;
}

bool rx_steer_tuple(net::Bytes frame, RxTuple& out) {
  if (rx_tcp_tuple(frame, out)) return true;
  constexpr size_t eth = net::kEthernetHeaderLen;
  if (frame.size() < eth + 20 + 8 + 20 + 4) return false;
  if (net::load_be16(frame.data() + 12) != static_cast<uint16_t>(net::EtherType::ipv4))
    return false;
  const uint8_t* ip = frame.data() + eth;
  const size_t ihl = size_t{ip[0] & 0x0fu} * 4;
  if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != net::kIpProtoIcmp) return false;
  if ((net::load_be16(ip + 6) & 0x3fffu) != 0) return false;
  constexpr uint8_t kDestUnreachable = 3;
  if (frame.size() < eth + ihl + 8 + 20 + 4 || ip[ihl] != kDestUnreachable) return false;
  const uint8_t* q = ip + ihl + 8;  // the quoted datagram: one we sent
  const size_t qihl = size_t{q[0] & 0x0fu} * 4;
  if ((q[0] >> 4) != 4 || qihl < 20 || q[9] != net::kIpProtoTcp) return false;
  if (frame.size() < eth + ihl + 8 + qihl + 4) return false;
  // Quoted: src = us, dst = the peer. The connection's own segments arrive peer -> us.
  out.src = net::Ipv4Addr{net::load_be32(q + 16)};
  out.dst = net::Ipv4Addr{net::load_be32(q + 12)};
  out.sport = net::load_be16(q + qihl + 2);
  out.dport = net::load_be16(q + qihl);
  return true;
}

}  // namespace pollux::engine
