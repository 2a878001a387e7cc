// The SACK scoreboard: see sack_scoreboard.hpp.
#include "tcp/sack_scoreboard.hpp"

#include <algorithm>

namespace pollux::tcp {

using net::Seq;

namespace {

// RFC 6675 4 IsLost, given what lies above an octet: DupThresh discontiguous SACKed ranges,
// or more than (DupThresh - 1) * SMSS SACKed bytes.
// A DupThresh of 0 turns the rule off (RACK decides instead, RFC 8985).
bool lost_given(size_t ranges_above, uint32_t bytes_above, uint32_t smss, uint32_t dupthresh) {
  if (dupthresh == 0) return false;
  return ranges_above >= dupthresh || bytes_above > (dupthresh - 1) * smss;
}

uint32_t overlap(Seq a, Seq b, Seq c, Seq d) {  // |[a,b) ∩ [c,d)|
  const Seq lo = net::seq_max(a, c), hi = net::seq_min(b, d);
  return lo < hi ? static_cast<uint32_t>(hi - lo) : 0;
}

}  // namespace

// Calls f(start, end, lost, is_tail) for every hole in [snd_una, snd_max), lowest first,
// until f returns true. With `lost_end` the octets below it are lost whatever is above them
// (after a timeout, or marked by RACK); a hole that straddles it is reported as two pieces.
template <class F>
static void for_each_hole(std::span<const SeqRange> ranges, uint32_t sacked, uint32_t dupthresh,
                          Seq snd_una, Seq snd_max, uint32_t smss, std::optional<Seq> lost_end,
                          F&& f) {
  auto emit = [&](Seq a, Seq b, bool lost_by_sacks, bool tail) {
    if (!lost_end || !(a < *lost_end)) return f(a, b, lost_by_sacks, tail);
    if (b <= *lost_end) return f(a, b, true, tail);
    return f(a, *lost_end, true, false) || f(*lost_end, b, lost_by_sacks, tail);
  };
  Seq prev = snd_una;
  uint32_t below = 0;  // SACKed bytes of the ranges before the current one
  for (size_t i = 0; i < ranges.size(); ++i) {
    const Seq start = net::seq_max(prev, snd_una);
    if (start < ranges[i].start) {
      const bool lost = lost_given(ranges.size() - i, sacked - below, smss, dupthresh);
      if (emit(start, ranges[i].start, lost, false)) return;
    }
    below += ranges[i].len();
    prev = ranges[i].end;
  }
  const Seq start = net::seq_max(prev, snd_una);
  if (start < snd_max) emit(start, snd_max, false, true);
}

SackScoreboard::UpdateResult SackScoreboard::update(Seq snd_una, Seq snd_max,
                                                    std::span<const net::SackBlock> blocks) {
  UpdateResult r;
  const uint32_t before = sacked_;
  for (size_t i = 0; i < blocks.size(); ++i) {
    const net::SackBlock& b = blocks[i];
    // Empty or inverted, or past SND.MAX (see the header): invalid. Tested before the
    // D-SACK rule: a block of octets never sent duplicates nothing.
    if (!(b.left < b.right) || b.right > snd_max) {
      ++r.invalid;
      continue;
    }
    // RFC 2883 4: a D-SACK is the first block, below the cumulative ACK or inside the second.
    if (i == 0 && (b.left < snd_una ||
                   (blocks.size() > 1 && blocks[1].left <= b.left && b.right <= blocks[1].right))) {
      r.dsack = SeqRange{b.left, b.right};
      continue;
    }
    // Octets cumulatively acknowledged are SACKed no more (RFC 2018 3): the rest counts.
    const Seq start = net::seq_max(b.left, snd_una);
    const Seq end = b.right;
    if (!(start < end)) continue;
    // The pieces of the block not SACKed before (RACK times their delivery).
    for_each_unsacked(start, end, [&](Seq a, Seq b) {
      if (r.newly_count < r.newly.size()) r.newly[r.newly_count++] = SeqRange{a, b};
    });
    insert(SeqRange{start, end});
  }
  r.newly_sacked = sacked_ > before ? sacked_ - before : 0;
  return r;
}

void SackScoreboard::insert(SeqRange r) {
  // First range that ends at or after r.start (touching ranges merge).
  size_t i = 0;
  while (i < count_ && ranges_[i].end < r.start) ++i;
  size_t j = i;
  while (j < count_ && ranges_[j].start <= r.end) {
    r.start = net::seq_min(r.start, ranges_[j].start);
    r.end = net::seq_max(r.end, ranges_[j].end);
    sacked_ -= ranges_[j].len();
    ++j;
  }
  if (j > i) {
    // r absorbed ranges [i, j): keep it at i, close the gap.
    ranges_[i] = r;
    std::copy(ranges_.begin() + static_cast<ptrdiff_t>(j),
              ranges_.begin() + static_cast<ptrdiff_t>(count_),
              ranges_.begin() + static_cast<ptrdiff_t>(i + 1));
    count_ -= j - i - 1;
  } else {
    if (count_ == kMaxRanges) {
      if (i == count_) return;  // the new range would be the highest: the one to forget
      sacked_ -= ranges_[count_ - 1].len();
      --count_;
    }
    std::copy_backward(ranges_.begin() + static_cast<ptrdiff_t>(i),
                       ranges_.begin() + static_cast<ptrdiff_t>(count_),
                       ranges_.begin() + static_cast<ptrdiff_t>(count_ + 1));
    ranges_[i] = r;
    ++count_;
  }
  sacked_ += r.len();
}

void SackScoreboard::erase(size_t i) {
  sacked_ -= ranges_[i].len();
  std::copy(ranges_.begin() + static_cast<ptrdiff_t>(i + 1),
            ranges_.begin() + static_cast<ptrdiff_t>(count_),
            ranges_.begin() + static_cast<ptrdiff_t>(i));
  --count_;
}

void SackScoreboard::advance(Seq snd_una) {
  while (count_ > 0 && ranges_[0].end <= snd_una) erase(0);
  if (count_ > 0 && ranges_[0].start < snd_una) {
    sacked_ -= static_cast<uint32_t>(snd_una - ranges_[0].start);
    ranges_[0].start = snd_una;
  }
}

bool SackScoreboard::is_sacked(Seq s) const {
  for (size_t i = 0; i < count_; ++i)
    if (net::seq_in_range(ranges_[i].start, s, ranges_[i].end)) return true;
  return false;
}

bool SackScoreboard::is_lost(Seq s, uint32_t smss) const {
  size_t n = 0;
  uint32_t bytes = 0;
  for (size_t i = 0; i < count_; ++i) {
    if (ranges_[i].start > s) {
      ++n;
      bytes += ranges_[i].len();
    }
  }
  if (rack_lost_set_ && s < rack_lost_end_) return true;
  return lost_given(n, bytes, smss, rule_dupthresh());
}

uint32_t SackScoreboard::pipe(Seq snd_una, Seq snd_max, Seq high_rxt, uint32_t smss,
                              bool all_lost) const {
  uint32_t pipe = 0;
  for_each_hole(ranges(), sacked_, rule_dupthresh(), snd_una, snd_max, smss, lost_end(snd_max, all_lost),
                [&](Seq a, Seq b, bool lost, bool) {
                  if (!lost) pipe += static_cast<uint32_t>(b - a);  // SetPipe (a)
                  pipe += overlap(a, b, snd_una, high_rxt);         // SetPipe (b)
                  return false;
                });
  return pipe;
}

uint32_t SackScoreboard::lost_bytes(Seq snd_una, Seq snd_max, uint32_t smss, bool all_lost) const {
  uint32_t lost = 0;
  for_each_hole(ranges(), sacked_, rule_dupthresh(), snd_una, snd_max, smss, lost_end(snd_max, all_lost),
                [&](Seq a, Seq b, bool l, bool) {
                  if (l) lost += static_cast<uint32_t>(b - a);
                  return false;
                });
  return lost;
}

std::optional<SeqRange> SackScoreboard::next_lost(Seq snd_una, Seq snd_max, Seq high_rxt,
                                                  uint32_t smss, bool all_lost) const {
  std::optional<SeqRange> out;
  for_each_hole(ranges(), sacked_, rule_dupthresh(), snd_una, snd_max, smss, lost_end(snd_max, all_lost),
                [&](Seq a, Seq b, bool lost, bool) {
                  const Seq s = net::seq_max(a, high_rxt);
                  if (!lost || !(s < b)) return false;
                  out = SeqRange{s, net::seq_min(b, s + smss)};
                  return true;
                });
  return out;
}

std::optional<SeqRange> SackScoreboard::next_unsacked(Seq snd_una, Seq high_rxt,
                                                      uint32_t smss) const {
  std::optional<SeqRange> out;
  // Holes below HighSACK only: pass HighSACK as the end so that there is no tail.
  const Seq high = high_sacked(snd_una);
  for_each_hole(ranges(), sacked_, rule_dupthresh(), snd_una, high, smss, std::nullopt,
                [&](Seq a, Seq b, bool, bool tail) {
                  const Seq s = net::seq_max(a, high_rxt);
                  if (tail || !(s < b)) return false;
                  out = SeqRange{s, net::seq_min(b, s + smss)};
                  return true;
                });
  return out;
}

std::optional<SeqRange> SackScoreboard::highest_unsacked(Seq snd_una, Seq snd_max,
                                                         uint32_t smss) const {
  std::optional<SeqRange> last;
  for_each_hole(ranges(), sacked_, rule_dupthresh(), snd_una, snd_max, smss, std::nullopt,
                [&](Seq a, Seq b, bool, bool) {
                  last = SeqRange{b - std::min<uint32_t>(smss, static_cast<uint32_t>(b - a)), b};
                  return false;
                });
  return last;
}

}  // namespace pollux::tcp
