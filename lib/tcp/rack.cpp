// RACK-TLP loss detection (RFC 8985): see rack.hpp.
#include "tcp/rack.hpp"

#include <algorithm>
#include <limits>

namespace pollux::tcp {

using net::Seq;

void SendTimeLog::insert_at(size_t i, Seq end, uint32_t sent_us, bool rexmit) {
  for (size_t j = count_; j > i; --j) {
    ends_[j] = ends_[j - 1];
    sent_us_[j] = sent_us_[j - 1];
  }
  // Shift the flags above i up by one.
  const uint64_t low = rexmit_mask_ & ((1ull << i) - 1);
  const uint64_t high = rexmit_mask_ & ~((1ull << i) - 1);
  rexmit_mask_ = low | (high << 1);
  ends_[i] = end;
  sent_us_[i] = sent_us;
  set_rexmit(i, rexmit);
  ++count_;
}

void SendTimeLog::erase_at(size_t i) {
  for (size_t j = i; j + 1 < count_; ++j) {
    ends_[j] = ends_[j + 1];
    sent_us_[j] = sent_us_[j + 1];
  }
  const uint64_t low = rexmit_mask_ & ((1ull << i) - 1);
  const uint64_t high = rexmit_mask_ & ~((1ull << (i + 1)) - 1);
  rexmit_mask_ = low | (high >> 1);
  --count_;
}

void SendTimeLog::merge_closest() {
  // Two neighbours closest in time become one range with the later time: a merged octet
  // can only look younger than it is, which delays a loss verdict and never hastens one.
  // Neighbours of the same kind go first: a first transmission merged into a
  // retransmission would be taken for one (no RTT sample, and a loss verdict on it means
  // "resend what was resent").
  size_t best = 0;
  uint64_t best_gap = std::numeric_limits<uint64_t>::max();
  for (size_t i = 0; i + 1 < count_; ++i) {
    const int32_t d = static_cast<int32_t>(sent_us_[i + 1] - sent_us_[i]);
    const bool mixed = ((rexmit_mask_ >> i) & 1u) != ((rexmit_mask_ >> (i + 1)) & 1u);
    const uint64_t gap = static_cast<uint64_t>(d < 0 ? -static_cast<int64_t>(d) : d) +
                         (mixed ? (1ull << 32) : 0);
    if (gap < best_gap) {
      best_gap = gap;
      best = i;
    }
  }
  const uint32_t later = rack_sent_after(sent_us_[best], ends_[best], sent_us_[best + 1],
                                         ends_[best + 1])
                             ? sent_us_[best]
                             : sent_us_[best + 1];
  const bool rexmit = ((rexmit_mask_ >> best) & 3u) != 0;
  erase_at(best);  // range best+1 (now at best) extends down over it
  sent_us_[best] = later;
  set_rexmit(best, rexmit);
}

void SendTimeLog::add_send(Seq start, Seq end, uint32_t now_us) {
  if (!(start < end)) return;
  if (start < base_) start = base_;  // below SND.UNA: acknowledged already
  if (!(start < end)) return;
  const Seq logged_end = this->end();
  if (!(start < logged_end)) {
    // New data, normally contiguous. Segments of one burst share a range.
    if (count_ > 0 && sent_us_[count_ - 1] == now_us && !((rexmit_mask_ >> (count_ - 1)) & 1u)) {
      ends_[count_ - 1] = end;
    } else {
      insert_at(count_, end, now_us, false);
    }
  } else {
    // A retransmission: [start, min(end, logged_end)) gets the new time; whatever reaches
    // past the logged end (a longer segment than the original) is new data.
    const Seq rend = net::seq_min(end, logged_end);
    size_t i = 0;
    while (ends_[i] <= start) ++i;  // first range ending above start
    const Seq range_start = i ? ends_[i - 1] : base_;
    if (range_start < start) {
      // Keep the part of range i below start as its own range.
      insert_at(i, start, sent_us_[i], ((rexmit_mask_ >> i) & 1u) != 0);
      ++i;
    }
    // Ranges wholly inside [start, rend) disappear into the new one.
    while (i < count_ && ends_[i] <= rend) erase_at(i);
    insert_at(i, rend, now_us, true);
    if (end > logged_end) insert_at(count_, end, now_us, false);
  }
  while (count_ > kMaxRanges) merge_closest();
}

void SendTimeLog::advance(Seq snd_una) {
  if (!(snd_una > base_)) return;
  if (count_ == 0 || !(ends_[count_ - 1] > snd_una)) {
    // Everything logged is acknowledged (an exchange's whole reply, say): the log empties
    // at once instead of range by range.
    count_ = 0;
    rexmit_mask_ = 0;
    base_ = snd_una;
    return;
  }
  size_t n = 0;
  while (n < count_ && ends_[n] <= snd_una) ++n;
  for (size_t k = 0; k < n; ++k) erase_at(0);
  base_ = snd_una;
}

void Rack::on_delivered(const SendTimeLog::Range& r, uint32_t now_us, bool echo_older_than_send) {
  const int32_t age = static_cast<int32_t>(now_us - r.sent_us);
  const uint32_t rtt = age > 0 ? static_cast<uint32_t>(age) : 0;
  if (r.retransmitted) {
    // 6.2 step 2: an ACK of a retransmission that echoes a timestamp from before it, or that
    // came back faster than any round trip seen, acknowledges the original: no sample.
    if (echo_older_than_send) return;
    if (min_rtt_us != 0 && rtt < min_rtt_us) return;
  } else {
    // Step 3: a never-retransmitted segment delivered below the highest delivered one
    // arrived out of order.
    if (have_delivered && r.end < fack) reord = true;
  }
  if (!have_delivered || r.end > fack) fack = r.end;
  if (min_rtt_us == 0 || rtt < min_rtt_us) min_rtt_us = std::max<uint32_t>(rtt, 1);
  if (!have_delivered || rack_sent_after(r.sent_us, r.end, xmit_us, end_seq)) {
    have_delivered = true;
    xmit_us = r.sent_us;
    end_seq = r.end;
    rtt_us = rtt;
  }
}

void Rack::on_dsack(Seq snd_una, Seq snd_max) {
  // 6.2 step 4: at most one increase per round trip, so one reordering event that draws
  // several D-SACKs widens the window once.
  if (dsack_round_set && snd_una < dsack_round) return;
  dsack_round = snd_max;
  dsack_round_set = true;
  if (reo_wnd_mult < 255) ++reo_wnd_mult;
  reo_wnd_persist = 16;
}

void Rack::on_recovery_end() {
  if (reo_wnd_persist > 0 && --reo_wnd_persist == 0) reo_wnd_mult = 1;
}

uint32_t Rack::reo_wnd_us(bool in_recovery, bool dupthresh_sacked, uint32_t srtt_us) const {
  if (!reord && (in_recovery || dupthresh_sacked)) return 0;
  const uint64_t w = static_cast<uint64_t>(min_rtt_us / 4) * reo_wnd_mult;
  return static_cast<uint32_t>(std::min<uint64_t>(w, srtt_us));
}

uint32_t Rack::time_to_loss(const SendTimeLog::Range& r, uint32_t now_us,
                            uint32_t reo_wnd_us) const {
  if (!have_delivered || !rack_sent_after(xmit_us, end_seq, r.sent_us, r.end))
    return std::numeric_limits<uint32_t>::max();
  // 6.2 step 5: lost once now >= xmit_ts + RACK.rtt + reo_wnd.
  const int64_t remaining = static_cast<int64_t>(static_cast<int32_t>(r.sent_us - now_us)) +
                            static_cast<int64_t>(rtt_us) + static_cast<int64_t>(reo_wnd_us);
  return remaining <= 0 ? 0 : static_cast<uint32_t>(remaining);
}

}  // namespace pollux::tcp
