// RACK-TLP (RFC 8985): loss detection by time instead of by counting duplicate ACKs.
//
// RACK's rule (RFC 8985 3.3): a segment is lost when a segment sent after it has been
// delivered and it is still outstanding a reordering window after its own transmission
// plus one round trip. Two pieces live here, both free of the TCB so they can be tested
// alone:
//   SendTimeLog  when each octet in flight was last sent, and whether that was a
//                retransmission (RFC 8985 5.2 "Segment.xmit_ts", "Segment.retransmitted");
//   Rack         the per-connection RACK state (5.2: RACK.xmit_ts, RACK.end_seq, RACK.rtt,
//                RACK.min_RTT, RACK.reord, RACK.reo_wnd_mult ...) and the steps of 6.2:
//                update on each delivered segment, detect reordering, adapt the reordering
//                window with D-SACK, detect loss.
// The TCB feeds them (ack_processing.cpp, recovery.cpp, send_segment.cpp) and acts on the
// verdicts (rack_tlp.cpp): lost octets become lost on the SACK scoreboard, where RFC 6675's
// pipe and NextSeg take over.
//
// Times are microseconds on a 32-bit clock compared by signed difference: nothing stays in
// flight for the 35 minutes it takes to wrap.
//
// Bounded and preallocated. The log holds kMaxRanges ranges; consecutive segments sent in
// the same instant (one TX burst) share a range, and when it is full the two neighbouring
// ranges closest in time merge, keeping the later time. That can only make RACK declare a
// loss later than it could have, never sooner.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "net/seq.hpp"

namespace pollux::tcp {

class SendTimeLog {
 public:
  static constexpr size_t kMaxRanges = 32;

  struct Range {
    net::Seq start, end;
    uint32_t sent_us = 0;
    bool retransmitted = false;
  };

  // Forgets everything; the next octet to be logged is `snd_una`.
  void reset(net::Seq snd_una) {
    count_ = 0;
    base_ = snd_una;
    rexmit_mask_ = 0;
  }
  // [start, end) left at `now_us`. At or beyond the logged end: new data. Below: a
  // retransmission, which overwrites the time of what it covers.
  void on_send(net::Seq start, net::Seq end, uint32_t now_us) {
    // The first segment of a flight (a request, a response: every exchange begins with the
    // log empty) is its first range, here without the general case's call (issue 13). A
    // flag above count_ is never set, so the mask is already 0.
    if (count_ == 0 && !(start < base_) && start < end) {
      ends_[0] = end;
      sent_us_[0] = now_us;
      count_ = 1;
      return;
    }
    add_send(start, end, now_us);
  }
  // Drops what the cumulative ACK covers.
  void advance(net::Seq snd_una);

  [[nodiscard]] size_t size() const { return count_; }
  [[nodiscard]] net::Seq end() const { return count_ ? ends_[count_ - 1] : base_; }
  [[nodiscard]] Range at(size_t i) const {
    return Range{i ? ends_[i - 1] : base_, ends_[i], sent_us_[i], ((rexmit_mask_ >> i) & 1u) != 0};
  }
  // Calls f(Range) for each logged range overlapping [lo, hi), clipped to it, lowest first.
  template <class F>
  void for_each_in(net::Seq lo, net::Seq hi, F&& f) const {
    for (size_t i = 0; i < count_; ++i) {
      Range r = at(i);
      if (!(r.end > lo)) continue;
      if (!(r.start < hi)) break;
      if (r.start < lo) r.start = lo;
      if (r.end > hi) r.end = hi;
      f(r);
    }
  }

 private:
  void add_send(net::Seq start, net::Seq end, uint32_t now_us);  // on_send, any case
  void insert_at(size_t i, net::Seq end, uint32_t sent_us, bool rexmit);
  void erase_at(size_t i);
  void set_rexmit(size_t i, bool on) {
    rexmit_mask_ = on ? (rexmit_mask_ | (1ull << i)) : (rexmit_mask_ & ~(1ull << i));
  }
  void merge_closest();

  // Range i is [ends_[i-1] (base_ for i = 0), ends_[i]); spare slots for a split.
  std::array<net::Seq, kMaxRanges + 3> ends_{};
  std::array<uint32_t, kMaxRanges + 3> sent_us_{};
  uint64_t rexmit_mask_ = 0;
  uint8_t count_ = 0;
  net::Seq base_;
};

// True when (t1, end1) was sent after (t2, end2): later in time, or in the same instant and
// higher in sequence (RFC 8985 6.2 RACK_sent_after).
[[nodiscard]] inline bool rack_sent_after(uint32_t t1, net::Seq end1, uint32_t t2, net::Seq end2) {
  const int32_t d = static_cast<int32_t>(t1 - t2);
  return d > 0 || (d == 0 && end1 > end2);
}

struct Rack {
  // RFC 8985 5.2. Zero xmit time with have_delivered false: nothing delivered yet.
  uint32_t xmit_us = 0;     // RACK.xmit_ts: latest send time of a delivered segment
  net::Seq end_seq;         // RACK.end_seq: that segment's end
  uint32_t rtt_us = 0;      // RACK.rtt: its round trip
  uint32_t min_rtt_us = 0;  // RACK.min_RTT (0: no sample yet)
  net::Seq fack;            // RACK.fack: highest end delivered
  net::Seq dsack_round;     // RACK.dsack_round: one mult step per round trip
  // The flags are one bit each and the small fields follow them, so that the struct is 27 B
  // of data in 28 and RackTlp's own flags fit in its last byte (RackTlp holds it
  // [[no_unique_address]]; issue 13 item 5: was 32 + 4, then 32).
  bool have_delivered : 1 = false;
  bool reord : 1 = false;            // RACK.reord: reordering seen
  bool dsack_round_set : 1 = false;  // dsack_round holds a round
  uint8_t reo_wnd_mult = 1;          // RACK.reo_wnd_mult
  uint8_t reo_wnd_persist = 0;       // RACK.reo_wnd_persist: recoveries left before the mult resets

  void reset() { *this = Rack{}; }

  // 6.2 steps 1-3 for one delivered (acknowledged or newly SACKed) piece of a logged range.
  // `echo_older_than_send`: the ACK's timestamp echo predates this transmission, so for a
  // retransmission it acknowledges the original (5.2 / 6.2 step 2).
  void on_delivered(const SendTimeLog::Range& r, uint32_t now_us, bool echo_older_than_send);
  // 6.2 step 4: a D-SACK arrived; `snd_una`/`snd_max` as now.
  void on_dsack(net::Seq snd_una, net::Seq snd_max);
  // 6.2 step 4: one loss recovery ended (the multiplier decays after 16 of them).
  void on_recovery_end();
  // 6.2 step 4: the reordering window. Without reordering seen it is 0 in recovery or when
  // at least DupThresh segments are SACKed (RACK then acts as fast as the DupThresh rule);
  // otherwise min_RTT/4 scaled by the D-SACK multiplier, capped by SRTT.
  [[nodiscard]] uint32_t reo_wnd_us(bool in_recovery, bool dupthresh_sacked,
                                    uint32_t srtt_us) const;
  // 6.2 step 5, for one outstanding range: 0 if it is lost now, else the microseconds until
  // it would be (for the reordering timer), or UINT32_MAX when it was sent after RACK.xmit_ts
  // (no verdict yet).
  [[nodiscard]] uint32_t time_to_loss(const SendTimeLog::Range& r, uint32_t now_us,
                                      uint32_t reo_wnd_us) const;
};

}  // namespace pollux::tcp
