// One bulk transfer in a fresh SimWorld, for tests that compare senders (congestion control,
// loss recovery): host a connects to host b and sends `bytes` of a known pattern, b verifies
// every byte, then both close. The sender's TCP_INFO-like snapshot (ConnInfo) can be watched
// at every step, which is how a test sees cwnd and ssthresh move.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "pollux/tcp.hpp"
#include "sim_link.hpp"
#include "sim_world.hpp"
#include "tcp/cc/congestion.hpp"

namespace pollux::sim {

// A host's poller losing its CPU during the transfer (SimWorld::stall).
struct Stall {
  Host host = Host::a;
  uint64_t at_ns = 0;  // since connect()
  uint64_t ns = 0;     // how long
};

struct BulkSpec {
  uint64_t seed = 1;
  Family family = Family::v4;  // the connection's addresses (SimWorld's family)
  uint64_t bytes = 1 << 20;
  Faults ab, ba;                                      // links a>b (data) and b>a (ACKs)
  bool sack = true;                                   // host a offers SACK (a decides)
  bool rack = true, tlp = true;                       // host a's RACK-TLP (RFC 8985)
  tcp::cc::Algorithm cc = tcp::cc::Algorithm::cubic;  // host a's congestion control
  uint32_t buf = 256 * 1024;                          // send and receive buffers, both sides
  SimLink::DropFilter drop_ab;                        // scripted loss a>b
  SimLink::DropFilter drop_ba;                        // scripted loss b>a
  uint64_t max_ns = 300 * kSecond;
  std::vector<Stall> stalls;
  bool timestamps = true;                             // host a offers timestamps
  // Both hosts' ports: IPv4/TCP checksum offload, and TSO/LRO on top (issue 13 item 2; the
  // link completes checksums and hands a TSO frame over whole as an LRO frame).
  bool checksum_offload = false;
  bool tso_lro = false;
  // With tso_lro: the engine cuts its TSO frames itself (Offloads::tx_tso_in_engine, as on
  // net_tap) and the ports take no LRO: the wire carries MSS-sized segments only.
  bool tso_in_engine = false;
  // Host b's SYN cookies (RFC 4987 3.6) and listen backlog (0: every SYN gets a cookie in
  // `automatic` mode, since the SYN-RECEIVED queue is always full).
  tcp::SynCookieMode b_syn_cookies = tcp::SynCookieMode::automatic;
  uint32_t b_backlog = 16;
  // Called at every step while the sender's connection is open: virtual time since
  // connect() and the sender's snapshot.
  std::function<void(uint64_t since_start_ns, const ConnInfo&)> watch;
};

struct BulkResult {
  bool complete = false;    // every byte arrived intact and both sides closed
  uint64_t elapsed_ns = 0;  // connect() to the last byte read by b (max_ns if never)
  uint64_t timeouts = 0, fast_recoveries = 0, retrans_segs = 0;
  uint64_t dsacks = 0, undos = 0, rack_lost_retransmits = 0, tlp_probes = 0, tlp_recoveries = 0;
  uint64_t spurious_retrans = 0, rack_reorder_timeouts = 0;
  uint64_t queue_drops = 0;  // drop-tail drops on a>b
  uint64_t lost_frames = 0;  // random loss, both links
  ConnInfo at_peer_close;    // the sender's snapshot when b's FIN arrived (all data acked)
  size_t leaked = 0;         // mbufs not returned after shutdown
  uint64_t b_cookies_sent = 0, b_cookies_accepted = 0, b_cookies_rejected = 0;
  uint64_t tso_software_cuts = 0;  // host a's TSO frames cut by the engine (tso_in_engine)
  std::string where;         // seed, fault mix and the command that reruns it
  [[nodiscard]] double goodput_mbps(uint64_t bytes) const {
    return double(bytes) * 8 / (double(elapsed_ns) / 1e9) / 1e6;
  }
};

[[nodiscard]] BulkResult run_bulk_transfer(const BulkSpec& spec);

// Where the drop filter sees a TCP data segment: its offset from a's first data byte (the
// ISN + 1), learned from the SYN. For scripted loss at a chosen point of the stream.
class StreamOffsets {
 public:
  // The segment's offset, or -1 for anything else (SYN, pure ACK, other frames).
  [[nodiscard]] int64_t data_offset(const rte_mbuf* m);

 private:
  uint32_t isn_ = 0;
  bool have_isn_ = false;
};

}  // namespace pollux::sim
