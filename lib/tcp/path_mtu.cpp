// Path MTU discovery (RFC 1191, RFC 5927): an ICMP fragmentation-needed quoting one of our
// segments lowers the connection's MSS.
#include "tcp/tcp_layer.hpp"

namespace pollux::tcp {

using base::Counter;

void TcpLayer::icmp_frag_needed(const net::Ipv4Header& quoted_ip, net::Bytes quoted_l4,
                                uint16_t mtu, uint64_t now) {
  // RFC 5927 4.1: believe the message only if it quotes a segment we could have sent:
  // our connection, a sequence number in [SND.UNA, SND.MAX).
  if (quoted_l4.size() < 8 || quoted_ip.protocol != net::kIpProtoTcp) return;
  const uint16_t sport = net::load_be16(quoted_l4.data());
  const uint16_t dport = net::load_be16(quoted_l4.data() + 2);
  const Seq seq(net::load_be32(quoted_l4.data() + 4));
  Tcb* t = table_.find(net::FourTuple{quoted_ip.src, quoted_ip.dst, sport, dport});
  if (!t || !is_synchronized(t->state) || !net::seq_in_range(t->snd_una, seq, t->snd_max)) {
    counters_.inc(Counter::drop_tcp_icmp_invalid);
    return;
  }
  // RFC 1191 5: a next-hop MTU of 0 (old router) or an implausible one is ignored; never
  // go below the IPv4 minimum of 576 - 40 (RFC 1122 3.3.3 / RFC 9293 3.7.1).
  if (mtu < 576 || mtu >= mtu_) return;
  const auto mss = static_cast<uint16_t>(mtu - 40);
  if (mss >= t->snd_mss) return;
  t->snd_mss = mss;
  counters_.inc(Counter::tcp_pmtu_updates);
  // Resend what is in flight in smaller segments (RFC 1191 6.5: retransmit at once).
  t->snd_nxt = t->snd_una;  // a FIN in flight goes again after the data (see output)
  output(*t, now);
}

}  // namespace pollux::tcp
