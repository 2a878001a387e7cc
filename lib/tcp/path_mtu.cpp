// Path MTU discovery for both families: an ICMP fragmentation-needed (RFC 1191) or an
// ICMPv6 Packet Too Big (RFC 8201, RFC 4443 3.2) quoting one of our segments lowers the
// connection's MSS, after the RFC 5927 checks.
#include <algorithm>

#include "net/icmpv6.hpp"
#include "tcp/ip_header.hpp"
#include "tcp/tcp_layer.hpp"

namespace pollux::tcp {

using base::Counter;

void TcpLayer::icmp_frag_needed(const net::Ipv4Header& quoted_ip, net::Bytes quoted_l4,
                                uint16_t mtu, uint64_t now) {
  if (quoted_l4.size() < 8 || quoted_ip.protocol != net::kIpProtoTcp) return;
  // RFC 1191 5: a next-hop MTU of 0 (old router) or an implausible one is ignored; never
  // go below the IPv4 minimum of 576 - 40 (RFC 1122 3.3.3 / RFC 9293 3.7.1).
  path_too_big(quoted_ip.src, quoted_ip.dst, quoted_l4, mtu < 576 ? 0 : mtu, now);
}

void TcpLayer::icmp_packet_too_big(const net::Ipv6Addr& quoted_src, const net::Ipv6Addr& quoted_dst,
                                   net::Bytes quoted_tcp, uint32_t mtu, uint64_t now) {
  if (quoted_tcp.size() < 8) return;
  // RFC 8201 4: "A node MUST NOT reduce its estimate of the Path MTU below the IPv6 minimum
  // link MTU" (1280, RFC 8200 5). A smaller report (a translator in front of an IPv4 path,
  // or a forgery trying to shrink our segments) still means "smaller than what you sent":
  // 1280 is used, and the MSS is 1280 - 60 = 1220.
  path_too_big(quoted_src, quoted_dst, quoted_tcp, std::max<uint32_t>(mtu, net::kIpv6MinMtu), now);
}

void TcpLayer::path_too_big(const net::IpAddr& quoted_src, const net::IpAddr& quoted_dst,
                            net::Bytes quoted_tcp, uint32_t mtu, uint64_t now) {
  // RFC 5927 4.1: believe the message only if it quotes a segment we could have sent:
  // our connection (the quote's source is us), a sequence number in [SND.UNA, SND.MAX).
  const uint16_t sport = net::load_be16(quoted_tcp.data());
  const uint16_t dport = net::load_be16(quoted_tcp.data() + 2);
  const Seq seq(net::load_be32(quoted_tcp.data() + 4));
  const net::FourTuple key{quoted_src, quoted_dst, sport, dport};
  Tcb* t = table_.find(key);
  if (!t || !is_synchronized(t->state) || !net::seq_in_range(t->snd_una, seq, t->snd_max)) {
    counters_.inc(Counter::drop_tcp_icmp_invalid);
    return;
  }
  // An MTU of 0 (refused by the caller's floor) or not below our own link's is no news.
  if (mtu == 0 || mtu >= mtu_) return;
  const uint16_t mss = mss_for(static_cast<uint16_t>(mtu), key);  // MTU - 40 or MTU - 60
  if (mss >= t->snd_mss) return;
  t->snd_mss = mss;
  counters_.inc(Counter::tcp_pmtu_updates);
  // RFC 8201 5.2: the path MTU belongs to the path (here: the destination), so the next
  // connection to it starts with this MSS rather than lose its first full segments again.
  switch (pmtu_cache_.learn(quoted_dst, static_cast<uint16_t>(mtu), now, config_.pmtu_cache_ns)) {
    case PathMtuCache::Learnt::unchanged:
      break;
    case PathMtuCache::Learnt::added_evicting:
      counters_.inc(Counter::tcp_pmtu_cache_evictions);
      [[fallthrough]];
    case PathMtuCache::Learnt::added:
    case PathMtuCache::Learnt::updated:
      counters_.inc(Counter::tcp_pmtu_cache_learnt);
      break;
  }
  // Resend what is in flight in smaller segments (RFC 1191 6.5, RFC 8201 4: retransmit at
  // once rather than wait for the retransmission timer).
  t->snd_nxt = t->snd_una;  // a FIN in flight goes again after the data (see output)
  output(*t, now);
}

uint16_t TcpLayer::path_mss(const net::FourTuple& t, uint64_t now) {
  const uint16_t link = mss_for_mtu(t);
  const uint16_t mtu = pmtu_cache_.find(t.remote_ip, now);
  if (mtu == 0 || mtu >= mtu_) return link;
  counters_.inc(Counter::tcp_pmtu_cache_hits);
  return mss_for(mtu, t);
}

}  // namespace pollux::tcp
