// The per-lcore engine: everything one lcore does with the packets of its queue. It owns its
// state outright (no locks, no sharing) and is I/O-agnostic: a driver feeds it RX bursts and
// drains its TX batch, so the same engine runs on a DPDK port, a ring pair or a simulator in
// virtual time (time is always passed in, never read here).
//
// Where things happen:
//   engine.cpp             classification of a received frame, the loop hooks (start, input,
//                          poll)
//   arp_input.cpp          ARP receive, replies and requests (RFC 826)
//   ip_reassembly.cpp      IPv4 fragments held and joined (RFC 791 3.2, RFC 1122 3.3.2)
//   icmp_input.cpp         ICMP receive and echo replies (RFC 792); PMTUD from ICMP
//                          fragmentation-needed and ICMPv6 Packet Too Big (RFC 1191, 8201)
//   ipv6_input.cpp         IPv6 receive, ICMPv6 echo and neighbour discovery (RFC 8200,
//                          4443, 4861); TCP goes on to tcp_segment_input.cpp (tcp6_input)
//   ipv6_output.cpp        IPv6 next hop and neighbour resolution (RFC 4861 7.2-7.3), DAD
//                          for our addresses (RFC 4862 5.4)
//   tcp_segment_input.cpp  every TCP segment: parsed, validated, handed to lib/tcp
//                          (segment_arrives.cpp); answered with RST when nothing wants it
//   ip_output.cpp          routing, neighbour resolution, checksum preparation, the TX batch
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <array>
#include <cstdint>
#include <span>

#include "base/counters.hpp"
#include "base/token_bucket.hpp"
#include "base/tx_batch.hpp"
#include "base/unique_mbuf.hpp"
#include "engine/interface.hpp"
#include "engine/ip_reassembly.hpp"
#include "engine/ipv4_addrs.hpp"
#include "engine/ipv6_addrs.hpp"
#include "engine/neighbour_cache.hpp"
#include "engine/rss.hpp"
#include "engine/steering.hpp"
#include "net/arp.hpp"
#include "net/icmpv6.hpp"
#include "net/ipv4.hpp"
#include "net/ipv6.hpp"
#include "net/tcp_header.hpp"
#include "tcp/tcp_layer.hpp"

namespace pollux::engine {

// A neighbour fact (RFC 826 <protocol address, hardware address>, or its RFC 4861 form)
// passed between the engines of one port: ARP replies and neighbour advertisements arrive
// on whichever queue the device picks (RSS does not hash them), so what one lcore learns
// the others must hear about. 28 bytes, a ring element.
struct NeighbourUpdate {
  net::Ipv4Addr ip;
  net::MacAddr mac;
  uint8_t is_ipv6 = 0;    // the fact is about `ip6`, not `ip`
  uint8_t confirmed = 1;  // IPv6: reachability confirmed (else the entry is STALE)
  net::Ipv6Addr ip6{};
};
static_assert(sizeof(NeighbourUpdate) == 28);

struct EngineConfig {
  InterfaceConfig iface;
  ArpConfig arp;
  NdConfig nd = nd_defaults();  // the IPv6 neighbour cache (RFC 4861 10 constants)
  // Duplicate address detection at start (RFC 4862 5.4): probes per address (its
  // DupAddrDetectTransmits; 0: none, the addresses are used at once) and the wait after each
  // (RetransTimer). One probe and 1 s keep start-up short, as Linux's defaults.
  uint8_t dad_probes = 1;
  uint64_t dad_retrans_ns = 1'000'000'000;
  // Multicast listener reports (RFC 3810, as RFC 4861 7.2.1 and RFC 4862 5.4.2 ask): join
  // the solicited-node groups at start and answer routers' queries, so that a switch that
  // snoops MLD forwards the solicitations for our addresses to our port. Off where no
  // switch can be (the in-memory link) and in engine tests that count frames exactly.
  bool mld = false;
  tcp::TcpConfig tcp;
  uint16_t lcore_index = 0;  // which worker this engine is (0-based)
  // With several workers: the shard function (shared, read-only). This engine is shard
  // `lcore_index` and picks ephemeral ports for active opens whose replies map to it.
  const ShardMap* shards = nullptr;
  // ICMP echo replies per second and burst, per lcore (0: unlimited). Linux limits the ICMP
  // it sends to 1000/s with a burst of 50 (net.ipv4.icmp_msgs_per_sec/_burst); a ping flood
  // then costs a bounded share of the TX path and cannot be used as a reflector at line rate.
  uint32_t icmp_echo_rate = 1000;
  uint32_t icmp_echo_burst = 50;
  // ICMP errors this engine originates (Time Exceeded for reassembly), per second and burst
  // per lcore, 0 unlimited: the same budget as Linux's, and RFC 1812 4.3.2.8 asks for one.
  uint32_t icmp_error_rate = 1000;
  uint32_t icmp_error_burst = 50;
  // IPv4 reassembly bounds, per lcore (engine/ip_reassembly.hpp).
  ReassemblyConfig reasm;
};

class Engine {
 public:
  Engine(const EngineConfig& config, rte_mempool* pool, uint64_t now_ns = 0);
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  ~Engine();

  // Announces our IPv4 addresses with gratuitous ARP (RFC 5227 2.3) and starts duplicate
  // address detection for the IPv6 ones (RFC 4862 5.4; poll() finishes it and announces
  // them). Called once by the driver.
  void start(uint64_t now_ns);

  // Processes a received burst. Every mbuf is consumed: freed, reused for a reply, or held.
  void input(rte_mbuf* const* pkts, uint16_t n, uint64_t now_ns);

  // Time-driven work (ARP retries and expiry). Cheap when nothing is due.
  void poll(uint64_t now_ns);

  // Hands an IPv6 datagram to the link: `m` holds an Ethernet header slot and a complete
  // IPv6 packet. Multicast goes to its group's MAC; unicast to its next hop (on-link or the
  // gateway, RFC 4861 5.2) through the neighbour cache. Takes ownership of `m`.
  void ip6_output(rte_mbuf* m, uint64_t now_ns);

  // Hands an IPv4 datagram to the link. `m` holds an Ethernet header slot followed by a
  // complete IPv4 header (checksum field zero) and payload; for TCP the checksum field is
  // filled here (software or offload). Takes ownership of `m`.
  // `prepared`: the checksums are done (a TCP segment the TCP layer completed, tcp_output).
  void ip_output(rte_mbuf* m, uint64_t now_ns, bool prepared = false);

  // Neighbour facts learnt from the wire since the last clear; the driver hands them to the
  // sibling engines of the same port, which apply them with neighbour_update().
  [[nodiscard]] std::span<const NeighbourUpdate> neighbour_updates() const {
    return {neighbour_out_.data(), neighbour_out_count_};
  }
  void clear_neighbour_updates() { neighbour_out_count_ = 0; }
  void neighbour_update(const NeighbourUpdate& u, uint64_t now_ns);

  [[nodiscard]] base::TxBatch& tx() { return tx_; }
  // This lcore's TCP (pollux/tcp.hpp). After calling into it from outside an event callback,
  // the next input() or poll() sends what the call queued.
  [[nodiscard]] tcp::TcpLayer& tcp() { return tcp_; }
  // Routes an active open: the source address for `dst` (RFC 1122 3.3.4.3 style: the
  // address on dst's subnet, else the primary one).
  [[nodiscard]] net::Ipv4Addr source_address(net::Ipv4Addr dst) const { return source_for(dst); }
  [[nodiscard]] const base::Counters& counters() const { return counters_; }
  [[nodiscard]] base::Counters& counters() { return counters_; }
  [[nodiscard]] const InterfaceConfig& iface() const { return config_.iface; }
  [[nodiscard]] const LocalAddrs6& ipv6_addrs() const { return addrs6_; }
  [[nodiscard]] const ArpCache& arp_cache() const { return arp_; }
  [[nodiscard]] const NdCache& nd_cache() const { return nd_; }
  [[nodiscard]] rte_mempool* pool() const { return pool_; }
  [[nodiscard]] uint16_t lcore_index() const { return config_.lcore_index; }
  [[nodiscard]] const ShardMap* shards() const { return config_.shards; }
  // This lcore's end of the port's steering mesh (drivers-glue creates it after the engines):
  // a TCP segment reassembled here whose connection another lcore owns is passed to it.
  void set_steerer(Steerer* steerer) { steerer_ = steerer; }

 private:
  void drop(rte_mbuf* m, base::Counter why);
  // The same for a segment with an owner: counted, and freed as the handle goes.
  void drop(base::UniqueMbuf /*m*/, base::Counter why) { counters_.inc(why); }
  void input_one(rte_mbuf* m, uint64_t now);
  // Whether a frame is IPv4/TCP with all its headers (options included) in its first buffer.
  [[nodiscard]] static bool tcp_headers_in_first_segment(const rte_mbuf* m);
  void ipv4_input(rte_mbuf* m, uint64_t now);
  // A fragment into reassembly; a completed datagram on to deliver_ipv4().
  void fragment_input(rte_mbuf* m, const net::Ipv4Header& fragment, uint64_t now);
  // A whole datagram for us (padding cut) to its protocol.
  void deliver_ipv4(rte_mbuf* m, const net::Ipv4Header& ip, uint64_t now);
  void arp_input(rte_mbuf* m, uint64_t now);
  void icmp_input(rte_mbuf* m, const net::Ipv4Header& ip, uint64_t now);
  // RFC 1122 3.3.2: reassembly of the datagram whose first fragment this is timed out.
  void send_time_exceeded(const rte_mbuf* first_fragment, uint64_t now);
  // IPv6 (ipv6_input.cpp): validation, ICMPv6 echo, neighbour discovery for our addresses.
  void ipv6_input(rte_mbuf* m, uint64_t now);
  void icmpv6_input(rte_mbuf* m, const net::Ipv6Header& ip, uint64_t now);
  void nd_solicit_input(rte_mbuf* m, const net::Ipv6Header& ip, const net::Icmpv6Message& msg,
                        uint64_t now);
  void nd_advert_input(rte_mbuf* m, const net::Icmpv6Message& msg, uint64_t now);
  // ICMPv6 Packet Too Big (RFC 4443 3.2, RFC 8201): the quote checked, on to the TCP layer
  // on the lcore that owns the quoted connection (icmp_input.cpp).
  void packet_too_big_input(rte_mbuf* m, const net::Icmpv6Message& msg, uint64_t now);
  void send_neighbour_advert(const net::Ipv6Addr& target, const net::Ipv6Addr& to, bool solicited,
                             uint64_t now);
  // A solicitation for `target`: to its solicited-node group, or unicast to `unicast` when
  // re-validating a known address (RFC 4861 7.2.2, 7.3.3 PROBE).
  void send_neighbour_solicit(const net::Ipv6Addr& target, const net::MacAddr* unicast,
                              uint64_t now);
  // Builds an ICMPv6 message and sends it through ip6_output(), or straight to `eth_dst`
  // when given; with a hop-by-hop Router Alert when asked (MLD, RFC 3810 5). False when it
  // could not be built (counted).
  bool send_icmpv6(const net::Ipv6Addr& src, const net::Ipv6Addr& dst, uint8_t hop_limit,
                   uint8_t type, net::Bytes body, uint64_t now,
                   const net::MacAddr* eth_dst = nullptr, bool router_alert = false);
  // Duplicate address detection (RFC 4862 5.4) and the announcements after it.
  void start_ipv6(uint64_t now);
  void poll_dad(uint64_t now);
  void dad_conflict(LocalAddrs6::Addr& a);
  // Multicast listener discovery for our groups (RFC 3810 6), ipv6_output.cpp.
  void join_groups(uint64_t now);
  void mld_query_input(rte_mbuf* m, const net::Icmpv6Message& msg, uint64_t now);
  void poll_mld(uint64_t now);
  void send_mld_report(const net::Ipv6Addr& only, uint8_t record_type, uint64_t now);
  void publish_neighbour6(const net::Ipv6Addr& ip, const net::MacAddr& mac, bool confirmed);
  // TCP over IPv4 and over IPv6 (tcp_segment_input.cpp): each checks its family's
  // checksum (RFC 9293 3.1, RFC 8200 8.1) and hands the segment, keyed by its tuple, to
  // tcp_segment(), the same input for both.
  void tcp_input(base::UniqueMbuf m, const net::Ipv4Header& ip, uint64_t now);
  void tcp6_input(base::UniqueMbuf m, const net::Ipv6Header& ip, uint64_t now);
  void tcp_segment(base::UniqueMbuf m, base::FlowProbe key, net::Bytes l4, uint32_t l4_len,
                   bool checksum_ok, uint64_t now);
  void tcp_reply_rst(base::UniqueMbuf m, const net::FourTuple& key, const net::TcpHeader& seg,
                     uint64_t now);
  // A segment the TCP layer built (or a RST), to ip_output or, for IPv6, with its TCP
  // checksum prepared, to ip6_output: by the IP version in the header.
  void tcp_output(rte_mbuf* m, uint64_t now);

  void send_arp(const net::MacAddr& eth_dst, const net::ArpPacket& body, rte_mbuf* reuse);
  void send_arp_request(net::Ipv4Addr target);
  [[nodiscard]] net::Ipv4Addr source_for(net::Ipv4Addr dst) const;
  // An IPv4 datagram above the MTU (DF clear, not TCP), sent as fragments copied out of it.
  void fragment_output(rte_mbuf* m, uint64_t now);
  // A TSO frame on a port with Offloads::tx_tso_in_engine, cut into its segments here.
  void tso_software_cut(rte_mbuf* m, uint64_t now);
  // The most segments tso_software_cut takes from one TSO frame: 64 KB at an MSS of 64.
  static constexpr uint32_t kTsoMaxSegments = 1024;
  // input() coalesces (GRO) within chunks of this many frames of a burst.
  static constexpr uint16_t kGroBurst = 64;
  void enqueue_frame(rte_mbuf* m, const net::MacAddr& dst,
                     net::EtherType type = net::EtherType::ipv4);
  void tx_push(rte_mbuf* m);
  void drain_tcp(uint64_t now);
  [[nodiscard]] static tcp::TcpConfig sharded(const EngineConfig& config, const Engine* self);

  EngineConfig config_;
  LocalAddrs4 addrs4_;
  LocalAddrs6 addrs6_;
  rte_mempool* pool_;
  base::Counters counters_;
  ArpCache arp_;
  NdCache nd_;
  base::TxBatch tx_;
  tcp::TcpLayer tcp_;
  void publish_neighbour(net::Ipv4Addr ip, const net::MacAddr& mac);

  static constexpr size_t kNeighbourOutbox = 32;
  std::array<NeighbourUpdate, kNeighbourOutbox> neighbour_out_{};
  size_t neighbour_out_count_ = 0;
  uint16_t ip_id_ = 0;
  uint64_t next_arp_poll_ = 0;
  uint64_t dad_due_ = 0;         // when the tentative addresses' next DAD step is due
  uint8_t dad_probes_left_ = 0;  // probes still to send per tentative address
  bool dad_running_ = false;
  uint64_t mld_due_ = 0;              // when the next report is due (0: none)
  uint8_t mld_unsolicited_left_ = 0;  // joins still to repeat (RFC 3810 6.1: robustness)
  bool mld_answer_due_ = false;       // the report due answers a query (else it is a join)
  net::Ipv6Addr mld_answer_group_;    // the query's group; unspecified: every group of ours
  base::TokenBucket icmp_echo_budget_;
  base::TokenBucket icmp_error_budget_;
  base::TokenBucket closed_rst_budget_;  // RSTs for closed ports (TcpConfig::closed_rst_rate)
  Ipv4Reassembly reasm_;
  Steerer* steerer_ = nullptr;
};

}  // namespace pollux::engine
