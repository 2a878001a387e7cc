// Two containers of the receive and timer paths against simple models, driven by the
// fuzzer's operations (the first byte picks the container):
//  - tcp::ReassemblyQueue against a map of held bytes: every insert's status and count of new
//    bytes, bytes(), every popped byte (the payload encodes its own sequence offset, so a
//    misplaced byte is seen), that a pop stops exactly at the first hole, and that each SACK
//    block is a whole held run above RCV.NXT. Limits are small so the drop paths are reached;
//    sequence numbers start anywhere, so they wrap.
//  - base::TimerWheel against a list of deadlines: after each advance exactly the timers whose
//    deadline tick was reached have fired, none early, each once, in deadline-tick order.
#include <algorithm>
#include <cstring>
#include <map>
#include <vector>

#include "base/timer_wheel.hpp"
#include "fuzz_support.hpp"
#include "tcp/reassembly.hpp"

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  if (in.u8() & 1)
    timer_wheel(in);
  else
    reassembly(in);
  return 0;
}
