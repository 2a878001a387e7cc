// Two containers of the receive and timer paths against simple models, driven by the
// fuzzer's operations (the first byte picks the container):
//  - tcp::ReassemblyQueue against a map of held bytes: every insert's status and count of new
//    bytes, bytes(), every popped byte (the payload encodes its own sequence offset, so a
//    misplaced byte is seen), that a pop stops exactly at the first hole, and that each SACK
//    block is a whole held run above RCV.NXT. Limits are small so the drop paths are reached;
//    sequence numbers start anywhere, so they wrap.
//  - base::TimerWheel against a list of deadlines: after each advance exactly the timers whose
//    deadline tick was reached have fired, none early, each once, in deadline-tick order.
//  - tcp::SackScoreboard against a flag per sequence octet (scoreboard() below says what).
#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <vector>

#include "base/timer_wheel.hpp"
#include "fuzz_support.hpp"
#include "tcp/reassembly.hpp"
#include "tcp/sack_scoreboard.hpp"

using namespace pollux;
using namespace pollux::fuzz;
using net::Seq;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  init_eal();
  return 0;
}

namespace {

// The byte at sequence offset `off` from the start (what every copy of it carries).
uint8_t byte_at(uint64_t off) {
  return static_cast<uint8_t>(off * 131 + (off >> 8) * 7 + 3);
}

void reassembly(Input& in) {
  tcp::ReassemblyLimits lim;
  lim.max_bytes = 1024u + in.u16() * 4u;
  lim.max_nodes = 1u + in.u8() % 16;
  lim.max_mbufs = 1u + in.u8() % 64;
  lim.max_chain_bytes = 512u + in.u16() % 65024;
  lim.max_chain_segs = static_cast<uint16_t>(1 + in.u8() % 32);
  const Seq base{in.u32()};
  uint64_t rcv = 0;                   // RCV.NXT as an offset from base
  std::map<uint64_t, uint8_t> model;  // offsets held out of order
  {
    tcp::ReassemblyQueue q(lim);
    for (int steps = 0; !in.empty() && steps < 400; ++steps) {
      const uint8_t op = in.u8();
      if (op % 4 <= 1) {  // insert [off, off + len), off from 600 below RCV.NXT to ~260 KB above
        const int64_t rel =
            static_cast<int64_t>(op % 4 == 0 ? in.u16() % 8192 : in.u16() * 4) - 600;
        const uint64_t off = rel < 0 && static_cast<uint64_t>(-rel) > rcv ? 0 : rcv + rel;
        const uint16_t len = static_cast<uint16_t>(1 + in.u16() % 1460);
        rte_mbuf* m = rte_pktmbuf_alloc(pool());
        require(m != nullptr, "reassembly: pool empty");
        auto* p = rte_pktmbuf_mtod(m, uint8_t*);
        for (uint16_t i = 0; i < len; ++i) p[i] = byte_at(off + i);
        m->data_len = len;
        m->pkt_len = len;
        // The reserve node takes the segment that fills the first hole only when the caller
        // popped what was in order before (as TCP does after every insert).
        const bool popped = model.empty() || model.begin()->first > rcv;
        size_t fresh = 0;
        for (uint64_t o = std::max(off, rcv); o < off + len; ++o) fresh += !model.count(o);
        const tcp::ReassemblyInsert r =
            q.insert(base + static_cast<uint32_t>(off), base::UniqueMbuf{m},
                     base + static_cast<uint32_t>(rcv));
        if (r.status == tcp::InsertStatus::queued) {
          require(r.new_bytes == fresh && fresh > 0,
                  "reassembly: new_bytes differs from the model");
          for (uint64_t o = std::max(off, rcv); o < off + len; ++o) model.emplace(o, byte_at(o));
        } else if (r.status == tcp::InsertStatus::duplicate) {
          require(fresh == 0, "reassembly: new bytes called a duplicate");
        } else {
          require(r.status == tcp::InsertStatus::dropped, "reassembly: empty status for data");
          require(fresh > 0, "reassembly: a pure duplicate counted as dropped");
          require(!(popped && off <= rcv), "reassembly: the segment at RCV.NXT was dropped");
        }
      } else if (op % 4 == 2) {  // pop what is in order
        Seq nxt = base + static_cast<uint32_t>(rcv);
        while (rte_mbuf* m = q.pop_in_order(nxt)) {
          for (const rte_mbuf* s = m; s; s = s->next) {
            const auto* p = rte_pktmbuf_mtod(s, const uint8_t*);
            for (uint16_t i = 0; i < s->data_len; ++i, ++rcv) {
              auto it = model.find(rcv);
              require(it != model.end(), "reassembly: popped a byte the model does not hold");
              require(p[i] == it->second, "reassembly: popped byte out of place");
              model.erase(it);
            }
          }
          rte_pktmbuf_free(m);
        }
        require(nxt == base + static_cast<uint32_t>(rcv), "reassembly: rcv_nxt != bytes popped");
        require(model.empty() || model.begin()->first > rcv,
                "reassembly: pop stopped before a hole");
      } else {  // the caller delivered in-order data itself: RCV.NXT moves on
        rcv += in.u8() % 200;
        model.erase(model.begin(), model.lower_bound(rcv));
        Seq nxt = base + static_cast<uint32_t>(rcv);
        // What now starts at or below RCV.NXT comes out trimmed (or freed if wholly below).
        while (rte_mbuf* m = q.pop_in_order(nxt)) {
          for (const rte_mbuf* s = m; s; s = s->next) {
            for (uint16_t i = 0; i < s->data_len; ++i, ++rcv) {
              require(model.count(rcv) == 1, "reassembly: trimmed pop out of place");
              model.erase(rcv);
            }
          }
          rte_pktmbuf_free(m);
        }
      }
      require(q.bytes() >= model.size(), "reassembly: holds fewer bytes than the model");
      if (model.empty() || model.begin()->first > rcv) {
        std::array<net::SackBlock, net::kMaxSackBlocks> blocks{};
        const size_t n = q.sack_blocks(blocks);
        for (size_t i = 0; i < n; ++i) {
          const uint64_t l = rcv + (blocks[i].left - (base + static_cast<uint32_t>(rcv)));
          const uint64_t r = l + (blocks[i].right - blocks[i].left);
          require(l > rcv && r > l, "reassembly: SACK block at or below RCV.NXT, or empty");
          require(!model.count(l - 1) && !model.count(r), "reassembly: SACK block not a whole run");
          for (uint64_t o = l; o < r; ++o)
            require(model.count(o) == 1, "reassembly: SACK block covers a hole");
        }
        require(q.bytes() == model.size(), "reassembly: bytes() differs from the model");
      }
    }
  }
  require(rte_mempool_in_use_count(pool()) == 0, "reassembly: mbufs leaked");
}

void timer_wheel(Input& in) {
  constexpr size_t kTimers = 16;
  base::TimerWheelConfig cfg;
  cfg.tick_ns = (1 + in.u8() % 4) * kMs;
  cfg.slots = 1u << (in.u8() % 13);
  uint64_t now = in.u32();
  base::TimerWheel wheel(cfg, now);
  std::vector<base::Timer> timers(kTimers);
  for (size_t i = 0; i < kTimers; ++i) new (&timers[i]) base::Timer(uint8_t{0}, &timers[i]);
  std::vector<std::optional<uint64_t>> deadline(kTimers);
  std::vector<bool> overdue(kTimers);
  const uint64_t tick = std::max<uint64_t>(cfg.tick_ns, 1);
  auto due_tick = [&](uint64_t d) { return d / tick + (d % tick != 0); };
  for (int steps = 0; !in.empty() && steps < 400; ++steps) {
    const uint8_t op = in.u8();
    const size_t i = (op >> 2) % kTimers;
    switch (op % 4) {
      case 0:
      case 1: {  // arm: up to ~65 ticks or ~4 revolutions ahead, or in the past
        const uint64_t d =
            op % 4 == 0 ? now + in.u16() * (tick / 1000 + 1) : now + uint64_t{in.u16()} * tick * 4;
        const uint64_t dd =
            (in.u8() & 0x80) ? (d > now ? now - std::min<uint64_t>(now, in.u8()) : d) : d;
        wheel.arm(timers[i], dd);
        deadline[i] = dd;
        overdue[i] = dd <= now;  // armed in the past: fires at the next advance, first
        break;
      }
      case 2:
        base::TimerWheel::cancel(timers[i]);
        deadline[i].reset();
        break;
      case 3: {
        const uint64_t step = (in.u8() & 1) ? in.u16() * tick : uint64_t{in.u32()} * 1000;
        now += step;
        std::vector<size_t> fired;
        wheel.advance(now, [&](base::Timer& t) {
          fired.push_back(static_cast<size_t>(t.owner_as<base::Timer>() - timers.data()));
        });
        uint64_t last_tick = 0;
        std::vector<bool> seen(kTimers);
        for (size_t f : fired) {
          require(f < kTimers && !seen[f], "timer wheel: a timer fired twice or is unknown");
          seen[f] = true;
          require(deadline[f].has_value(), "timer wheel: a cancelled timer fired");
          require(overdue[f] || due_tick(*deadline[f]) <= now / tick,
                  "timer wheel: a timer fired early");
          if (!overdue[f]) {
            require(due_tick(*deadline[f]) >= last_tick,
                    "timer wheel: fired out of deadline order");
            last_tick = due_tick(*deadline[f]);
          } else {
            require(last_tick == 0, "timer wheel: an overdue timer fired after a slotted one");
          }
          deadline[f].reset();
          require(!timers[f].is_armed(), "timer wheel: armed after firing");
        }
        for (size_t k = 0; k < kTimers; ++k)
          if (deadline[k])
            require(!overdue[k] && due_tick(*deadline[k]) > now / tick,
                    "timer wheel: a due timer did not fire");
        break;
      }
    }
  }
  for (auto& t : timers) base::TimerWheel::cancel(t);
}

// The SACK scoreboard against a model holding one flag per octet of a 64 KB sequence space
// that starts anywhere (so it wraps). What the interface promises, checked after every step:
//  - ranges() are the maximal runs of SACKed octets in [SND.UNA, SND.MAX), sorted and not
//    touching; sacked_bytes(), size(), high_sacked() and quiet() agree. A block is clipped to
//    [SND.UNA, SND.MAX); the first block is a D-SACK (reported, never added) when below
//    SND.UNA or inside the second (RFC 2883 4). With kMaxRanges runs held, a block that merges
//    with none replaces the highest run, or is forgotten itself when it would be the highest.
//  - update()'s newly_sacked and newly[] are exactly the octets it SACKed for the first time
//    (when it forgot nothing and reported fewer than 8 pieces).
//  - IsLost, SetPipe, lost bytes and NextSeg rules 1, 3 and 4, each computed per octet: RFC
//    6675 4 (DupThresh runs, or more than (DupThresh - 1) * SMSS bytes, SACKed above it), RACK's
//    mark_lost_below() (RFC 8985) and the all-lost mode up to the timeout's point (6675 5.1).
void scoreboard(Input& in) {
  constexpr uint64_t kSpace = 1u << 16;
  constexpr uint64_t kWindow = 2048;  // most outstanding at once (the model is per octet)
  const Seq base{in.u32()};
  const uint32_t smss = 1u + in.u16() % 600;
  uint64_t una = 0, max = 0;
  std::vector<uint8_t> sacked(kSpace);
  uint32_t dupthresh = tcp::kDupThresh;
  bool count_rule = true;
  std::optional<uint64_t> rack_end, rto_point;
  uint64_t high_rxt = 0;
  tcp::SackScoreboard sb;
  auto seq = [&](uint64_t o) { return base + static_cast<uint32_t>(o); };
  auto off = [&](Seq s) {  // the offset of a sequence number within 2^31 of SND.UNA
    return static_cast<uint64_t>(static_cast<int64_t>(una) + (s - seq(una)));
  };
  using Run = std::pair<uint64_t, uint64_t>;
  auto runs = [&] {  // maximal runs of SACKed octets in [una, max)
    std::vector<Run> r;
    for (uint64_t o = una; o < max; ++o) {
      if (!sacked[o]) continue;
      if (!r.empty() && r.back().second == o)
        r.back().second = o + 1;
      else
        r.emplace_back(o, o + 1);
    }
    return r;
  };

  for (int steps = 0; !in.empty() && steps < 160; ++steps) {
    const uint8_t op = in.u8();
    bool forgot = false;
    std::optional<tcp::SackScoreboard::UpdateResult> res;
    std::vector<uint8_t> before;
    switch (op % 8) {
      case 0:
      case 1: {  // new data sent
        const uint64_t n = in.u16() % 512;
        if (max + n + 4096 <= kSpace && max + n - una <= kWindow) max += n;
        break;
      }
      case 2:
      case 3:
      case 4: {  // an ACK: the cumulative ACK (maybe moved on) and up to 4 SACK blocks
        if (op & 0x80) una += std::min<uint64_t>(in.u16() % 1024, max - una);
        sb.advance(seq(una));
        std::array<net::SackBlock, net::kMaxSackBlocks> blocks{};
        const size_t n = in.u8() % (net::kMaxSackBlocks + 1);
        for (size_t i = 0; i < n; ++i) {
          // Mostly inside the window, sometimes below SND.UNA or past SND.MAX, rarely inverted.
          const uint64_t l = una - std::min<uint64_t>(una, 256) + in.u16() % (max - una + 512);
          const uint64_t len = in.u16() % 600;
          blocks[i] = {seq(l), seq(l + len)};
          if ((in.u8() & 0x1f) == 0) std::swap(blocks[i].left, blocks[i].right);
        }
        before.assign(sacked.begin() + static_cast<ptrdiff_t>(una),
                      sacked.begin() + static_cast<ptrdiff_t>(max));
        res = sb.update(seq(una), seq(max), std::span(blocks.data(), n));
        bool dsack = false;
        size_t invalid = 0;
        for (size_t i = 0; i < n; ++i) {
          const net::SackBlock& b = blocks[i];
          // Empty or inverted, or reaching past SND.MAX: invalid, ignored whole (RFC 2018 3,
          // RFC 6675 5.1), D-SACK or not.
          if (!(b.left < b.right) || b.right > seq(max)) {
            ++invalid;
            continue;
          }
          if (i == 0 && (b.left < seq(una) ||
                         (n > 1 && blocks[1].left <= b.left && b.right <= blocks[1].right))) {
            dsack = true;
            require(res->dsack && res->dsack->start == b.left && res->dsack->end == b.right,
                    "scoreboard: D-SACK not reported as given");
            continue;
          }
          const uint64_t lo = std::max(off(b.left), una), hi = off(b.right);
          if (lo >= hi) continue;
          const size_t runs_before = runs().size();
          for (uint64_t o = lo; o < hi; ++o) sacked[o] = 1;
          const std::vector<Run> r = runs();
          if (r.size() > tcp::SackScoreboard::kMaxRanges) {
            require(r.size() == runs_before + 1, "scoreboard model: one block made two runs");
            for (uint64_t o = r.back().first; o < r.back().second; ++o) sacked[o] = 0;
            forgot = true;
          }
        }
        require(dsack == res->dsack.has_value(), "scoreboard: D-SACK reported wrongly");
        require(res->invalid == invalid, "scoreboard: invalid blocks miscounted");
        break;
      }
      case 5:
        if (op & 0x80) {  // RACK: everything not SACKed below this is lost
          const uint64_t e = una + in.u16() % (kWindow + 1024);
          sb.mark_lost_below(seq(e));
          if (!rack_end || e > *rack_end) rack_end = e;
        } else {
          dupthresh = std::max<uint32_t>(in.u8() % 8, tcp::kDupThresh);
          sb.set_dupthresh(dupthresh);
          require(sb.dupthresh() == dupthresh, "scoreboard: DupThresh not kept");
          count_rule = (op & 0x40) == 0;
          sb.set_dupthresh_rule(count_rule);
        }
        break;
      case 6: {
        const uint64_t p = una + in.u16() % (max - una + 1);
        if (op & 0x80) {  // a retransmission timeout at this point
          sb.set_rto_point(seq(p));
          rto_point = p;
        } else {  // retransmitted up to here (RFC 6675's HighRxt + 1)
          high_rxt = p;
        }
        break;
      }
      case 7:
        sb.clear();
        std::fill(sacked.begin(), sacked.end(), 0);
        rack_end.reset();
        break;
    }

    // The ranges.
    const std::vector<Run> r = runs();
    const auto got = sb.ranges();
    require(got.size() == r.size() && sb.size() == r.size() && sb.empty() == r.empty(),
            "scoreboard: range count differs from the model");
    uint32_t total = 0;
    for (size_t i = 0; i < r.size(); ++i) {
      require(got[i].start == seq(r[i].first) && got[i].end == seq(r[i].second),
              "scoreboard: a range differs from the model");
      total += static_cast<uint32_t>(r[i].second - r[i].first);
    }
    require(sb.sacked_bytes() == total, "scoreboard: sacked_bytes differs from the model");
    require(sb.high_sacked(seq(una)) == (r.empty() ? seq(una) : seq(r.back().second)),
            "scoreboard: HighSACK differs from the model");
    require(sb.quiet(seq(una)) == (r.empty() && !(rack_end && *rack_end > una)),
            "scoreboard: quiet() differs from the model");
    if (res) {
      uint32_t fresh = 0;
      std::vector<uint8_t> piece(max - una);
      for (uint64_t o = una; o < max; ++o) fresh += sacked[o] && !before[o - una];
      if (!forgot) require(res->newly_sacked == fresh, "scoreboard: newly_sacked wrong");
      bool disjoint = true;
      for (size_t k = 0; k < res->newly_count; ++k) {
        const uint64_t a = off(res->newly[k].start), b = off(res->newly[k].end);
        require(a >= una && a < b && b <= max, "scoreboard: a newly SACKed piece outside");
        for (uint64_t o = a; o < b; ++o) {
          require(!before[o - una], "scoreboard: a newly SACKed piece was SACKed before");
          disjoint = disjoint && !piece[o - una];
          piece[o - una] = 1;
        }
      }
      if (!forgot && res->newly_count < res->newly.size()) {
        require(disjoint, "scoreboard: newly SACKed pieces overlap");
        for (uint64_t o = una; o < max; ++o)
          require(piece[o - una] == (sacked[o] && !before[o - una]),
                  "scoreboard: newly SACKed pieces differ from the model");
      }
    }

    // Loss, per octet (RFC 6675 4 IsLost over the runs above it).
    const uint32_t dt = count_rule ? dupthresh : 0;
    std::vector<uint8_t> by_rule(max - una);
    {
      std::vector<uint32_t> suffix(r.size() + 1);
      for (size_t i = r.size(); i-- > 0;)
        suffix[i] = suffix[i + 1] + static_cast<uint32_t>(r[i].second - r[i].first);
      size_t idx = 0;  // first run starting above o
      for (uint64_t o = una; o < max; ++o) {
        while (idx < r.size() && r[idx].first <= o) ++idx;
        const size_t n = r.size() - idx;
        by_rule[o - una] = dt != 0 && (n >= dt || suffix[idx] > (dt - 1) * smss);
      }
    }
    // IsLost, is_sacked and covers() at the edges of every run, SND.UNA and SND.MAX - 1.
    std::vector<uint64_t> gap_from(max - una + 1);  // the first octet not SACKed at or after
    gap_from[max - una] = max;
    for (uint64_t o = max; o-- > una;) gap_from[o - una] = sacked[o] ? gap_from[o - una + 1] : o;
    std::vector<uint64_t> probes = {una, max ? max - 1 : 0};
    for (const Run& x : r)
      for (const uint64_t o : {x.first - 1, x.first, x.second - 1, x.second}) probes.push_back(o);
    for (const uint64_t o : probes) {
      if (o < una || o >= max) continue;
      require(sb.is_sacked(seq(o)) == (sacked[o] != 0), "scoreboard: is_sacked wrong");
      const bool lost = (rack_end && o < *rack_end) || by_rule[o - una];
      require(sb.is_lost(seq(o), smss) == lost, "scoreboard: IsLost differs from the model");
      for (const uint64_t hi : {o + 1, o + 64, max}) {
        if (hi > max) continue;
        require(sb.covers(seq(o), seq(hi)) == (gap_from[o - una] >= hi),
                "scoreboard: covers() wrong");
      }
    }
    high_rxt = std::clamp(high_rxt, una, max);
    for (const bool all_lost : {false, true}) {
      std::optional<uint64_t> e;
      if (all_lost) e = rto_point ? std::min(*rto_point, max) : max;
      if (rack_end && (!e || std::min(*rack_end, max) > *e)) e = std::min(*rack_end, max);
      auto lost = [&](uint64_t o) { return (e && o < *e) || by_rule[o - una]; };
      uint32_t pipe = 0, lost_bytes = 0;
      std::optional<Run> next_lost;
      for (uint64_t o = una; o < max; ++o) {
        if (sacked[o]) continue;
        pipe += !lost(o) + (o < high_rxt);
        lost_bytes += lost(o);
        if (!next_lost && o >= high_rxt && lost(o)) {
          uint64_t end = o;
          while (end < max && end < o + smss && !sacked[end] && !(e && o < *e && end >= *e)) ++end;
          next_lost = Run{o, end};
        }
      }
      require(sb.pipe(seq(una), seq(max), seq(high_rxt), smss, all_lost) == pipe,
              "scoreboard: pipe differs from the model (SetPipe)");
      require(sb.lost_bytes(seq(una), seq(max), smss, all_lost) == lost_bytes,
              "scoreboard: lost bytes differ from the model");
      const auto nl = sb.next_lost(seq(una), seq(max), seq(high_rxt), smss, all_lost);
      require(
          nl.has_value() == next_lost.has_value() &&
              (!nl || (nl->start == seq(next_lost->first) && nl->end == seq(next_lost->second))),
          "scoreboard: NextSeg rule 1 differs from the model");
    }
    {  // NextSeg rule 3: below HighSACK, lost or not
      const uint64_t hs = r.empty() ? una : r.back().second;
      std::optional<Run> want;
      for (uint64_t o = std::max(una, high_rxt); o < hs && !want; ++o) {
        if (sacked[o]) continue;
        uint64_t end = o;
        while (end < hs && end < o + smss && !sacked[end]) ++end;
        want = Run{o, end};
      }
      const auto got3 = sb.next_unsacked(seq(una), seq(high_rxt), smss);
      require(got3.has_value() == want.has_value() &&
                  (!got3 || (got3->start == seq(want->first) && got3->end == seq(want->second))),
              "scoreboard: NextSeg rule 3 differs from the model");
    }
    {  // NextSeg rule 4: up to SMSS octets ending with the highest one not SACKed
      std::optional<Run> want;
      for (uint64_t o = max; o-- > una;) {
        if (sacked[o]) continue;
        uint64_t a = o;
        while (a > una && o + 1 - a < smss && !sacked[a - 1]) --a;
        want = Run{a, o + 1};
        break;
      }
      const auto got4 = sb.highest_unsacked(seq(una), seq(max), smss);
      require(got4.has_value() == want.has_value() &&
                  (!got4 || (got4->start == seq(want->first) && got4->end == seq(want->second))),
              "scoreboard: NextSeg rule 4 differs from the model");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  // The first byte: even, the reassembly queue; odd, the timer wheel (bit 1 clear) or the
  // SACK scoreboard (bit 1 set).
  const uint8_t which = in.u8();
  if ((which & 1) == 0)
    reassembly(in);
  else if ((which & 2) == 0)
    timer_wheel(in);
  else
    scoreboard(in);
  return 0;
}
