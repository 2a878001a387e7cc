// The TCB-less SYN-ACK (syn_ack.hpp).
#include "tcp/syn_ack.hpp"

#include "net/ethernet.hpp"
#include "net/ipv4.hpp"
#include "tcp/ip_header.hpp"
#include "net/tcp_header.hpp"

namespace pollux::tcp {

bool write_syn_ack(rte_mbuf* m, const SynAck& s, uint16_t ip_id) {
  const size_t opt_len = net::tcp_options_length(s.options);
  const auto tcp_len = static_cast<uint16_t>(net::kTcpMinHeaderLen + opt_len);
  const size_t ip_len = ip_header_len(s.tuple);
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(
      m, static_cast<uint16_t>(net::kEthernetHeaderLen + ip_len + tcp_len)));
  if (!p) return false;
  (void)write_ip_header(p + net::kEthernetHeaderLen, s.tuple, tcp_len, ip_id);
  uint8_t* tcp = p + net::kEthernetHeaderLen + ip_len;
  net::TcpBuild t;
  t.src_port = s.tuple.local_port;
  t.dst_port = s.tuple.remote_port;
  t.seq = s.seq;
  t.ack = s.ack;
  t.flags = net::tcp_flags::syn | net::tcp_flags::ack;
  t.window = s.window;
  t.options_len = static_cast<uint8_t>(opt_len);
  net::write_tcp_options(tcp + net::kTcpMinHeaderLen, s.options);
  net::write_tcp_header(tcp, t);
  return true;
}

}  // namespace pollux::tcp
