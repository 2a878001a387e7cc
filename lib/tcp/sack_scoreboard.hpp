// The sender's SACK scoreboard (RFC 6675 2 and 3, RFC 2018): which ranges above SND.UNA the
// receiver reported holding. From it come the three things loss recovery needs:
//   IsLost(seq)  RFC 6675 4: DupThresh discontiguous SACKed ranges, or more than
//                (DupThresh - 1) * SMSS SACKed bytes, above seq;
//   pipe         RFC 6675 4 SetPipe(): the bytes the sender thinks are still in the network;
//   NextSeg      RFC 6675 4 rules 1 and 3 (the holes to retransmit). Rules 2 (new data) and
//                4 (rescue retransmission) need the send queue and are the caller's.
//
// Bounded and preallocated: a fixed array of disjoint, sorted ranges; no allocation ever. When
// it is full, a new range that cannot merge replaces the highest one (forgetting a SACK is
// always safe: the sender may retransmit something the receiver has, never the reverse).
//
// A hole is the gap between SND.UNA and the first range, between two ranges, or above the
// last range up to SND.MAX (the tail). All octets of a hole have the same ranges above them,
// so IsLost is decided per hole, and pipe and NextSeg are O(ranges).
//
// "All lost" mode: after a retransmission timeout every octet not SACKed is considered lost
// (RFC 6675 5.1 keeps the scoreboard so SACKed data is not sent again; RFC 5681 3.1 goes back
// to slow start from SND.UNA). The caller passes the flag to pipe()/next_lost().
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "net/seq.hpp"
#include "net/tcp_options.hpp"

namespace pollux::tcp {

inline constexpr uint32_t kDupThresh = 3;  // RFC 5681 3.2, RFC 6675 2

struct SeqRange {
  net::Seq start;  // first octet
  net::Seq end;    // one past the last octet
  [[nodiscard]] uint32_t len() const { return static_cast<uint32_t>(end - start); }
  friend constexpr bool operator==(const SeqRange&, const SeqRange&) = default;
};

class SackScoreboard {
 public:
  static constexpr size_t kMaxRanges = 32;

  struct UpdateResult {
    uint32_t newly_sacked = 0;  // bytes not SACKed before this ACK
    // RFC 2883 4: the first block reports a duplicate when it lies below the cumulative ACK
    // or inside the second block. Such a block is never added to the scoreboard.
    std::optional<SeqRange> dsack;
    // The octets this ACK SACKed for the first time (up to 8 pieces; RFC 8985 times them).
    std::array<SeqRange, 8> newly{};
    uint8_t newly_count = 0;
    // Blocks ignored as invalid: empty or inverted, or ending past SND.MAX.
    uint8_t invalid = 0;
  };

  // Applies the SACK blocks of one ACK whose cumulative acknowledgment is `snd_una` (already
  // advanced by the caller). A block that ends past `snd_max` reports octets never sent: a
  // receiver cannot hold them (RFC 2018 3 SACKs received data; RFC 6675 5.1 trusts only
  // blocks of outstanding data), so the whole block is invalid and ignored, D-SACK or not --
  // not clipped, since nothing else in it can be trusted either (Linux's
  // tcp_is_sackblock_valid() discards it the same way). A block that begins below
  // `snd_una` is the D-SACK of RFC 2883 when first; otherwise its part above `snd_una` counts.
  UpdateResult update(net::Seq snd_una, net::Seq snd_max, std::span<const net::SackBlock> blocks);

  // Forgets everything at or below a new SND.UNA (cumulatively acknowledged).
  void advance(net::Seq snd_una);
  void clear() {
    count_ = 0;
    sacked_ = 0;
    rack_lost_set_ = false;
  }
  // As a new scoreboard with this DupThresh and DupThresh rule (a cold block lent again,
  // TcpLayer::take_cold). The ranges are not cleared: only the first size() are ever read,
  // so this is every scalar of `SackScoreboard{}` without its 256 B array (issue 13 item 4).
  void reset(uint32_t dupthresh, bool dupthresh_rule) {
    clear();
    set_dupthresh(dupthresh);
    count_rule_ = dupthresh_rule;
    rto_point_ = net::Seq{};
    rto_point_set_ = false;
    rack_lost_end_ = net::Seq{};
  }

  // DupThresh, in segments (RFC 6675 2). 3 by default; raised when reordering proves deeper
  // than that (RFC 6675 leaves room for it in its introduction; RFC 4653 and Linux's
  // `reordering` do the same): retransmissions found spurious by D-SACK or Eifel.
  void set_dupthresh(uint32_t n) { dupthresh_ = std::max(n, kDupThresh); }
  [[nodiscard]] uint32_t dupthresh() const { return dupthresh_; }
  // RFC 8985: with RACK, time decides what is lost and the DupThresh rule is off (a raised
  // DupThresh no longer matters; RACK's reordering window adapts instead).
  void set_dupthresh_rule(bool on) { count_rule_ = on; }
  // RACK's verdict: every octet below `end` not SACKed is lost. Only ever moves up while
  // those octets are outstanding (a retransmission in flight is counted by HighRxt).
  void mark_lost_below(net::Seq end) {
    if (!rack_lost_set_ || end > rack_lost_end_) rack_lost_end_ = end;
    rack_lost_set_ = true;
  }

  // All-lost mode covers what was outstanding at the timeout only (RFC 6675 5.1): data sent
  // after it, beyond this point, is in flight like any other. Unset: everything.
  void set_rto_point(net::Seq p) {
    rto_point_ = p;
    rto_point_set_ = true;
  }

  [[nodiscard]] bool empty() const { return count_ == 0; }
  // Nothing here that an empty scoreboard would not say, with everything below `snd_una`
  // acknowledged: no range, and no RACK verdict above it. (The timeout's point is only
  // read in all-lost mode, which sets it anew.) The DupThresh is the caller's to keep.
  [[nodiscard]] bool quiet(net::Seq snd_una) const {
    return count_ == 0 && (!rack_lost_set_ || !(rack_lost_end_ > snd_una));
  }
  [[nodiscard]] size_t size() const { return count_; }
  [[nodiscard]] std::span<const SeqRange> ranges() const { return {ranges_.data(), count_}; }
  [[nodiscard]] uint32_t sacked_bytes() const { return sacked_; }
  // One past the highest SACKed octet (RFC 6675's HighSACK + 1); `otherwise` when empty.
  [[nodiscard]] net::Seq high_sacked(net::Seq otherwise) const {
    return count_ ? ranges_[count_ - 1].end : otherwise;
  }
  [[nodiscard]] bool is_sacked(net::Seq s) const;
  // Calls f(start, end) for each piece of [lo, hi) not SACKed, lowest first.
  template <class F>
  void for_each_unsacked(net::Seq lo, net::Seq hi, F&& f) const {
    net::Seq at = lo;
    for (size_t k = 0; k < count_ && at < hi; ++k) {
      if (ranges_[k].end <= at) continue;
      if (ranges_[k].start >= hi) break;
      if (at < ranges_[k].start) f(at, ranges_[k].start);
      at = ranges_[k].end;
    }
    if (at < hi) f(at, hi);
  }
  [[nodiscard]] bool covers(net::Seq lo, net::Seq hi) const {
    bool gap = false;
    for_each_unsacked(lo, hi, [&](net::Seq, net::Seq) { gap = true; });
    return !gap;
  }
  // RFC 6675 4 IsLost(seq), with the scoreboard's DupThresh.
  [[nodiscard]] bool is_lost(net::Seq s, uint32_t smss) const;

  // RFC 6675 4 SetPipe(): every octet in [snd_una, snd_max) not SACKed counts once if it is
  // not lost, and once more if it was retransmitted (below high_rxt, one past the highest
  // octet retransmitted in this recovery; pass snd_una when nothing was).
  [[nodiscard]] uint32_t pipe(net::Seq snd_una, net::Seq snd_max, net::Seq high_rxt, uint32_t smss,
                              bool all_lost) const;
  // Bytes in [snd_una, snd_max) not SACKed and considered lost by IsLost (for ConnInfo).
  [[nodiscard]] uint32_t lost_bytes(net::Seq snd_una, net::Seq snd_max, uint32_t smss,
                                    bool all_lost) const;

  // NextSeg rule 1: the first lost, un-SACKed range at or above high_rxt and below HighSACK
  // (below snd_max in all-lost mode), at most smss long.
  [[nodiscard]] std::optional<SeqRange> next_lost(net::Seq snd_una, net::Seq snd_max,
                                                  net::Seq high_rxt, uint32_t smss,
                                                  bool all_lost) const;
  // NextSeg rule 3: the first un-SACKed range at or above high_rxt and below HighSACK, lost
  // or not, at most smss long.
  [[nodiscard]] std::optional<SeqRange> next_unsacked(net::Seq snd_una, net::Seq high_rxt,
                                                      uint32_t smss) const;
  // NextSeg rule 4 (rescue): up to smss octets ending with the highest un-SACKed octet below
  // snd_max; nullopt when everything outstanding is SACKed.
  [[nodiscard]] std::optional<SeqRange> highest_unsacked(net::Seq snd_una, net::Seq snd_max,
                                                         uint32_t smss) const;

 private:
  void insert(SeqRange r);
  void erase(size_t i);

  std::array<SeqRange, kMaxRanges> ranges_{};  // sorted, disjoint, not touching
  size_t count_ = 0;
  uint32_t sacked_ = 0;
  uint32_t dupthresh_ = kDupThresh;
  net::Seq rto_point_;
  bool rto_point_set_ = false;
  bool count_rule_ = true;
  net::Seq rack_lost_end_;
  bool rack_lost_set_ = false;

  [[nodiscard]] uint32_t rule_dupthresh() const { return count_rule_ ? dupthresh_ : 0; }
  // Octets below this are lost whatever is above them: everything outstanding at the
  // timeout in all-lost mode, and what RACK marked; nullopt when neither applies.
  [[nodiscard]] std::optional<net::Seq> lost_end(net::Seq snd_max, bool all_lost) const {
    std::optional<net::Seq> e;
    if (all_lost) e = rto_point_set_ ? net::seq_min(rto_point_, snd_max) : snd_max;
    if (rack_lost_set_) {
      const net::Seq r = net::seq_min(rack_lost_end_, snd_max);
      if (!e || r > *e) e = r;
    }
    return e;
  }
};

}  // namespace pollux::tcp
