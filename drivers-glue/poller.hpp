// The per-lcore run-to-completion loop: rx_burst -> engine -> one tx_burst -> timers.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/engine.hpp"
#include "engine/steering.hpp"
#include "net/four_tuple.hpp"
#include "pollux/tcp.hpp"

struct rte_ring;  // <rte_ring.h> is only needed where rings are used

namespace pollux::dpdk {

struct CaptureQueue;  // capture.hpp

// The open connections of one lcore as its own loop saw them (telemetry's /pollux/conns): the
// telemetry thread sets `limit`, bumps `requested` and waits; the lcore fills `rows` (capacity
// reserved at start: no allocation) at the start of its next turn and publishes `served`.
struct ConnRow {
  net::FourTuple tuple;
  ConnInfo info;
};
struct ConnSnapshot {
  static constexpr uint32_t kMaxRows = 512;  // a telemetry array's limit
  std::atomic<uint32_t> requested{0};
  std::atomic<uint32_t> served{0};
  std::atomic<uint32_t> limit{0};  // stored before `requested` moves
  uint32_t total = 0;              // connections the lcore had, `rows` holds the first `limit`
  // Pairs in TIME-WAIT as records (tcp/time_wait_store.hpp): counted, not listed -- a record
  // keeps no ConnInfo (no cc, RTT or queues), and a busy lcore holds tens of thousands.
  uint32_t time_wait = 0;
  std::vector<ConnRow> rows;
  ConnSnapshot() { rows.reserve(kMaxRows); }
};

inline constexpr uint16_t kRxBurst = 32;

struct Worker {
  engine::Engine* engine = nullptr;
  uint16_t port = 0;
  uint16_t queue = 0;  // this worker's index: its TX queue, its RX queue and its inbox
  // Further RX queues this worker polls after its own: a device with more queues than worker
  // lcores (net_af_packet opens qpairs sockets at probe, and the kernel's fanout feeds every
  // one) has each of them polled by one lcore; what arrives off its owner is steered.
  std::span<const uint16_t> extra_rx;
  const std::atomic<bool>* stop = nullptr;
  // Neighbour sync between the engines of one port: every worker's inbox, indexed by queue
  // (empty with a single worker). Written by many, read by its owner only.
  std::span<rte_ring* const> inboxes;
  // Multi-core steering (stack/steering.hpp): TCP segments of connections another lcore owns
  // are passed to it, and what others passed here is processed after the RX burst. Null with
  // a single worker.
  engine::Steerer* steer = nullptr;
  // Application hook, called once per loop turn on this lcore with the turn's time, before
  // the RX burst (so the event callbacks of the same turn run at the time the hook was
  // given: an application that keeps that time measures latency to the turn) and thus
  // before timers and the TX flush, which send what it queued. The place for work that must
  // run on the owning lcore without a packet to trigger it (active opens, pacing). One
  // indirect call per turn, never per packet; null when unused.
  void (*on_iteration)(void* ctx, uint64_t now_ns) = nullptr;
  void* on_iteration_ctx = nullptr;
  // Where this lcore's cycles go (issue 13). A turn is busy when it received, steered or
  // sent something; its TSC cycles, from its start to the TX flush, go to busy_cycles, those
  // of an empty turn to idle_cycles (a yield is not counted). Every turn pays the fixed
  // polling cost; Runtime subtracts the mean empty turn from each busy one, so that what is
  // left is the work. Written by the owning lcore only (relaxed atomic_ref stores), read by
  // the tick and after the run.
  uint64_t busy_turns = 0;
  uint64_t busy_cycles = 0;
  uint64_t idle_turns = 0;
  uint64_t idle_cycles = 0;
  // Stalls (issue 13, spurious retransmissions on the lossless link): turns that began
  // kStallNs or more after the previous one began, i.e. the lcore did not poll for that
  // long -- the host ran something else on its CPU. A peer on this lcore neither received
  // nor acknowledged meanwhile, so a sender's tail loss probe (PTO, at least 2 ms) or RTO
  // can fire with nothing lost. stalls_after_yield: of those, the ones whose previous turn
  // ended in sched_yield (the lcore gave the CPU away while idle); the others were
  // preempted while polling. max_gap_cycles: the longest gap between two turn starts.
  uint64_t stalls = 0;
  uint64_t stalls_after_yield = 0;
  uint64_t stalls_over_pto = 0;  // gaps of kStallPtoNs or more: longer than the PTO floor
  uint64_t max_gap_cycles = 0;
  // --pcap (capture.hpp): null without a capture, so the loop pays one predictable branch
  // per burst. tx_captured: how many packets at the head of the engine's TX batch were
  // already captured (a batch the device did not take whole is offered again next turn).
  CaptureQueue* capture = nullptr;
  uint16_t tx_captured = 0;
  ConnSnapshot* conns = nullptr;  // null: no snapshots asked of this lcore
};

// After this many empty polls in a row the poller yields the CPU on every empty poll, so
// that more lcores than cores (--lcores '(0-3)@(0-1)') still share fairly. A busy queue
// never yields.
inline constexpr uint32_t kIdleBeforeYield = 256;

// Worker::stalls' thresholds: a turn gap of 1 ms is 10,000 empty turns; 2 ms is the floor of
// a tail loss probe's timeout (tcp/rack_tlp.cpp, schedule_probe).
inline constexpr uint64_t kStallNs = 1'000'000;
inline constexpr uint64_t kStallPtoNs = 2'000'000;

// Runs until *stop becomes true, then flushes what it can and frees the rest. Signature fits
// rte_eal_remote_launch.
int run_worker(void* worker);

// TSC cycles to nanoseconds, for every turn of the poller: a multiply by 1e9/hz held in 64.64
// fixed point (two multiplies) where the quotient and remainder by hz took two hardware
// divides (issue 13). It gives floor(cycles * 1e9 / hz) or one less, never more, for every
// 64-bit count (tsc_to_ns_test), so it does not overflow for centuries of uptime, and it never
// goes back as the count grows.
class TscToNs {
 public:
  explicit TscToNs(uint64_t hz);
  [[nodiscard]] uint64_t operator()(uint64_t cycles) const {
    __extension__ using U128 = unsigned __int128;
    return static_cast<uint64_t>(U128{cycles} * whole_ + ((U128{cycles} * frac_) >> 64));
  }

 private:
  uint64_t whole_;  // 1e9 / hz = whole_ + frac_ / 2^64 (frac_ rounded down)
  uint64_t frac_;
};

}  // namespace pollux::dpdk
