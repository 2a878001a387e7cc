// One direction of a simulated wire: frames go in at a virtual time and come out later, in
// (time, sequence) order, after a seeded fault model has had its way with them. Nothing here
// reads a clock: the caller passes time in and asks what is due.
//
// What happens to a frame sent at time t, in this order:
//   1. Transmitter (only with bandwidth_bps > 0): a FIFO drained at bandwidth_bps. The frame
//      occupies (len + overhead_bytes) * 8 / bandwidth of wire time after everything queued
//      before it; if the bytes waiting (including the frame being serialized) plus this frame
//      would exceed max_queue_bytes (0 = unbounded), it is dropped at the tail.
//   2. Loss: independent with probability `loss`, and Gilbert-Elliott burst loss on top: in
//      the bad state a frame is lost with probability loss_in_bad; after each frame the state
//      moves good->bad with p_good_to_bad and bad->good with p_bad_to_good.
//   3. Corruption with probability `corrupt`: one uniformly chosen bit is flipped. The bit is
//      chosen inside the IPv4 or IPv6 datagram (header, options, payload; never the Ethernet
//      header or padding), which models damage the Ethernet FCS cannot see (a router's
//      memory, a buggy NIC): the IPv4, TCP and ICMPv6 checksums must catch it. A corrupted
//      frame of any other type (ARP, which has no checksum of its own) is what the FCS
//      catches: it is dropped (fcs_drops).
//   4. Duplication with probability `duplicate`: a copy (rte_pktmbuf_copy, same pool; after
//      corruption, so both carry the same damage) is delivered as well.
//   5. Reordering: each copy independently, with probability `reorder`, gets an extra delay
//      uniform in [1, reorder_delay_ns], letting frames sent after it overtake it.
//   6. Delivery at departure + delay_ns (+ extra).
// Every frame consumes the same number of random draws whatever the probabilities are, so
// changing one fault does not reshuffle the others' decisions for a seed.
//
// The link behaves like a NIC pair: a frame it takes is owned outright (a chained, indirect
// or shared mbuf is copied into one fresh segment and the original freed, as a TX completion
// would; Faults::hand_over passes chains through instead), TX checksum offload flags are honoured
// (the checksums are completed in software), and what comes out has clean RX metadata (ol_flags 0).
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "sim_random.hpp"

namespace pollux::sim {

struct Faults {
  double loss = 0;                // probability a frame is lost (independent)
  double duplicate = 0;           // probability a frame is delivered twice
  double reorder = 0;             // probability a frame (each copy) gets extra delay
  uint64_t reorder_delay_ns = 0;  // maximum extra delay (uniform in [1, max])
  double corrupt = 0;             // probability one bit of the frame's IP datagram flips
  uint64_t delay_ns = 0;          // propagation delay
  uint64_t bandwidth_bps = 0;     // 0: infinite (no serialization delay, no queue)
  uint64_t max_queue_bytes = 0;   // transmitter FIFO limit, drop-tail; 0: unbounded
  uint32_t overhead_bytes = 0;    // added to each frame's length for serialization (e.g. 24:
                                  // preamble, FCS and inter-frame gap)
  // Gilbert-Elliott burst loss; off while p_good_to_bad is 0.
  double p_good_to_bad = 0;
  double p_bad_to_good = 0;
  double loss_in_bad = 1.0;
  // The in-memory link's behaviour (drivers-glue/ring_link.hpp): a frame is delivered as its
  // sender built it, a chain of a header mbuf and the indirect mbufs of a zero-copy segment
  // included, so the receiver's chain handling runs. Only a frame the link is about to
  // corrupt is copied first: the bit must not flip in the sender's send queue.
  bool hand_over = false;

  // "loss=0.3 dup=0.01 ..." listing only what is set ("none" for a perfect wire).
  [[nodiscard]] std::string describe() const;
};

struct LinkStats {
  uint64_t sent = 0;          // frames handed to send()
  uint64_t delivered = 0;     // frames handed out by receive() (duplicates included)
  uint64_t lost = 0;          // independent loss
  uint64_t burst_lost = 0;    // Gilbert-Elliott loss
  uint64_t duplicated = 0;    // extra copies made
  uint64_t reordered = 0;     // copies given extra delay (whether or not anything overtook)
  uint64_t corrupted = 0;     // frames with a flipped bit (fcs_drops included)
  uint64_t fcs_drops = 0;     // corrupted non-IP frames dropped by the modelled FCS
  uint64_t queue_drops = 0;   // drop-tail at the transmitter
  uint64_t nombuf_drops = 0;  // the pool had no mbuf for a copy
  uint64_t delivered_bytes = 0;
  uint64_t max_queue_bytes_seen = 0;
};

enum class LinkEvent : uint8_t { delivered, lost, burst_lost, queue_drop, fcs_drop, no_mbuf };
[[nodiscard]] const char* link_event_name(LinkEvent e);

// Marks on a delivered frame.
namespace link_mark {
inline constexpr uint8_t duplicate = 1;  // the extra copy
inline constexpr uint8_t reordered = 2;  // given extra delay
inline constexpr uint8_t corrupted = 4;  // carries a flipped bit
}  // namespace link_mark

class SimLink {
 public:
  // Called for every frame's fate: at delivery (time of delivery, before the frame is handed
  // out) and at drops (time of the send). The mbuf is only valid during the call.
  using Observer = std::function<void(LinkEvent, uint64_t now, const rte_mbuf*, uint8_t marks)>;

  SimLink(const Faults& faults, uint64_t seed, rte_mempool* pool);
  SimLink(const SimLink&) = delete;
  SimLink& operator=(const SimLink&) = delete;
  ~SimLink();  // frees whatever is still in flight

  // Takes ownership of `m` at virtual time `now` (non-decreasing across calls).
  void send(rte_mbuf* m, uint64_t now);

  // Moves up to `max` frames due at or before `now` into `out`, earliest first (ties in send
  // order). The caller owns them.
  [[nodiscard]] uint16_t receive(uint64_t now, rte_mbuf** out, uint16_t max);

  // Delivery time of the earliest frame in flight, UINT64_MAX when none.
  [[nodiscard]] uint64_t next_delivery() const;
  [[nodiscard]] size_t in_flight() const { return heap_.size(); }

  [[nodiscard]] const LinkStats& stats() const { return stats_; }
  [[nodiscard]] const Faults& faults() const { return faults_; }
  // Changes the fault model from now on (frames in flight keep their fate).
  void set_faults(const Faults& f) { faults_ = f; }
  void set_observer(Observer o) { observer_ = std::move(o); }
  // Scripted loss: a frame for which the filter returns true is lost (counted in `lost`),
  // after the random draws so that the seeded faults of other frames do not change.
  using DropFilter = std::function<bool(const rte_mbuf*, uint64_t now)>;
  void set_drop_filter(DropFilter f) { drop_filter_ = std::move(f); }

 private:
  struct InFlight {
    uint64_t at;
    uint64_t seq;
    rte_mbuf* m;
    uint8_t marks;
  };
  struct Later {
    bool operator()(const InFlight& x, const InFlight& y) const {
      return x.at != y.at ? x.at > y.at : x.seq > y.seq;
    }
  };

  rte_mbuf* take_ownership(rte_mbuf* m, bool will_mutate);
  void drop(LinkEvent why, uint64_t now, rte_mbuf* m, uint8_t marks);
  void schedule(rte_mbuf* m, uint64_t at, uint8_t marks);
  bool corrupt_one_bit(rte_mbuf* m, uint64_t draw);  // false: not IP, the FCS drops it

  Faults faults_;
  Rng rng_;
  rte_mempool* pool_;
  LinkStats stats_;
  Observer observer_;
  DropFilter drop_filter_;
  std::vector<InFlight> heap_;  // min-heap on (at, seq)
  uint64_t next_seq_ = 0;
  bool bad_state_ = false;  // Gilbert-Elliott
  // Transmitter: when the wire is free again, and (finish time, bytes) of frames not yet
  // fully serialized.
  uint64_t busy_until_ = 0;
  std::deque<std::pair<uint64_t, uint32_t>> queue_;
  uint64_t queued_bytes_ = 0;
};

}  // namespace pollux::sim
