// Per-lcore hashed timing wheel for the protocol timers: RTO, delayed ACK, persist, keepalive,
// TIME-WAIT, ARP retry (Varghese & Lauck, "Hashed and Hierarchical Timing Wheels", scheme 6).
//
// Why this shape:
//  - Timers are intrusive: a Timer lives inside its owner (a TCB member, an ARP entry member),
//    so arming, re-arming and cancelling never allocate and cancel is an O(1) unlink.
//  - A slot holds every timer whose deadline tick maps to it, whatever the revolution; each
//    timer keeps its absolute deadline, so a slot visit fires only what is due and leaves the
//    rest for a later revolution. Deadlines far beyond one revolution therefore just work.
//  - No virtual calls: a Timer carries a small `kind` tag and an `owner` pointer, and
//    advance() takes the engine's dispatcher as a template callable, e.g.
//
//        wheel.advance(now_ns, [&](Timer& t) {
//          auto* tcb = t.owner_as<Tcb>();
//          switch (t.kind_as<TimerKind>()) {
//            case TimerKind::retransmit: tcp_on_rto(*tcb); break;
//            case TimerKind::delayed_ack: tcp_on_delack(*tcb); break;
//            ...
//          }
//        });
//
//    The compiler sees the whole dispatch and inlines it; there is no function pointer either.
//
// Semantics:
//  - Time is the engine's `now_ns` (TSC-derived on hardware, virtual in the simulator). The wheel
//    never reads a clock; advance(now_ns) is the only way its time moves, and it never moves
//    backwards (an older now_ns is treated as "no time passed").
//  - A timer never fires early: deadlines are rounded up to the next tick boundary, so a timer
//    fires in the first advance() whose now_ns reaches that boundary (at most one tick late,
//    plus however late the advance() call itself is).
//  - Timers fire in deadline order at tick granularity; timers sharing a tick fire in the order
//    they were armed.
//  - A deadline at or before the wheel's current time ("in the past") fires at the start of
//    the next advance() call, even if no time passes, in arming order. A callback that re-arms
//    its own timer with a past deadline therefore cannot loop forever inside one advance().
//  - Callbacks may arm, re-arm and cancel any timer, including the one firing and ones due in
//    the same tick. A timer is disarmed (is_armed() == false) when its callback runs.
//  - A huge time jump (a stalled lcore, the simulator skipping idle time) costs at most one
//    revolution of slot visits per cluster of due timers; spans with nothing due are skipped
//    using a lower bound on the earliest armed deadline.
#pragma once

#include <boost/intrusive/list.hpp>

#include "base/reciprocal_divide.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <type_traits>

namespace pollux::base {

// What a timer's `kind` may be given as: the engine's own `enum class ... : uint8_t`, or a raw
// small integer. Stored as one byte.
template <class K>
concept TimerKindLike = std::is_enum_v<K> || std::integral<K>;

template <class Entry>
class BasicTimerWheel;

// What the wheel links and reads of a timer: its slot hook and its deadline (24 B). An owner
// that can find itself from the link (a base class, say: the TCP layer's TCBs, one entry
// each, issue 13 item 5) uses it alone with a BasicTimerWheel<TimerLink>; Timer adds the
// owner pointer and kind tag for the rest. Non-copyable and non-movable: the wheel links it
// in place. Destroying an armed link unlinks it (auto_unlink hook), so an owner freed
// without cancelling cannot leave a dangling node in a slot.
class TimerLink {
 public:
  TimerLink() = default;
  TimerLink(const TimerLink&) = delete;
  TimerLink& operator=(const TimerLink&) = delete;

  [[nodiscard]] bool is_armed() const { return hook_.is_linked(); }
  // The absolute deadline last given to arm(); meaningful while armed and inside the callback.
  [[nodiscard]] uint64_t deadline_ns() const { return deadline_ns_; }

 private:
  template <class Entry>
  friend class BasicTimerWheel;
  using Hook = boost::intrusive::list_member_hook<
      boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

  Hook hook_;
  uint64_t deadline_ns_ = 0;
};

// One timer, embedded in its owner, which it names with a pointer and a kind tag.
class Timer : public TimerLink {
 public:
  Timer() = default;
  template <TimerKindLike Kind>
  Timer(Kind kind, void* owner) : owner_(owner), kind_(static_cast<uint8_t>(kind)) {}

  [[nodiscard]] uint8_t kind() const { return kind_; }
  template <class Kind>
  [[nodiscard]] Kind kind_as() const {
    return static_cast<Kind>(kind_);
  }
  [[nodiscard]] void* owner() const { return owner_; }
  template <class Owner>
  [[nodiscard]] Owner* owner_as() const {
    return static_cast<Owner*>(owner_);
  }

  // Identity is usually set once, when the owner is built; these allow late binding (pools).
  template <TimerKindLike Kind>
  void bind(Kind kind, void* owner) {
    kind_ = static_cast<uint8_t>(kind);
    owner_ = owner;
  }

 private:
  void* owner_ = nullptr;
  uint8_t kind_ = 0;
};

struct TimerWheelConfig {
  uint64_t tick_ns = 1'000'000;  // 1 ms: TCP timers need no finer grain (RFC 6298 2.4 min 1 s)
  uint32_t slots = 4096;         // rounded up to a power of two; one revolution = 4.096 s
};

// The wheel of `Entry`s (Timer, or TimerLink itself, or any type derived from TimerLink):
// callbacks get the Entry. TimerWheel below is the wheel of Timers.
template <class Entry>
class BasicTimerWheel {
  static_assert(std::is_base_of_v<TimerLink, Entry>);

 public:
  // `start_ns` is the wheel's initial time; pass the clock's current reading so the first
  // advance() does not see a gap since time zero. Allocates the slot array; nothing after.
  explicit BasicTimerWheel(TimerWheelConfig config = {}, uint64_t start_ns = 0)
      : tick_ns_(std::max<uint64_t>(config.tick_ns, 1)),
        per_tick_(tick_ns_),
        last_tick_(kNever / tick_ns_),
        slot_count_(std::bit_ceil(std::max<uint32_t>(config.slots, 1))),
        mask_(slot_count_ - 1),
        slots_(std::make_unique<List[]>(slot_count_)),
        now_ns_(start_ns),
        tick_(per_tick_.quotient(start_ns)),
        next_tick_ns_(tick_boundary(tick_ + 1)) {
    assert(config.tick_ns > 0);
  }

  BasicTimerWheel(const BasicTimerWheel&) = delete;
  BasicTimerWheel& operator=(const BasicTimerWheel&) = delete;

  // Arms `t` to fire at `deadline_ns`, moving it if already armed (here or in the middle of
  // firing). O(1).
  void arm(Entry& t, uint64_t deadline_ns) {
    ++arms_;
    t.hook_.unlink();
    t.deadline_ns_ = deadline_ns;
    if (deadline_ns <= now_ns_) {
      overdue_.push_back(t);
      return;
    }
    // deadline > now_ns_ >= tick_ * tick_ns_, so the slot's tick is in the future.
    slots_[ceil_tick(deadline_ns) & mask_].push_back(t);
    min_deadline_ns_ = std::min(min_deadline_ns_, deadline_ns);
  }

  // arm() relative to the wheel's current time (the last advance(), or the tick being fired).
  void arm_after(Entry& t, uint64_t delay_ns) {
    const uint64_t max = std::numeric_limits<uint64_t>::max();
    arm(t, delay_ns > max - now_ns_ ? max : now_ns_ + delay_ns);
  }

  // O(1); harmless on a timer that is not armed.
  static void cancel(TimerLink& t) { t.hook_.unlink(); }

  // Fires every timer whose deadline tick has been reached by `now_ns`, calling
  // `on_expire(Timer&)` once per timer with the timer already disarmed. Returns how many fired.
  // Not reentrant: do not call advance() from a callback.
  template <std::invocable<Entry&> OnExpire>
  std::size_t advance(uint64_t now_ns, OnExpire&& on_expire) {
    assert(!in_advance_);
    // Most calls (a poller's turns) come within the tick already fired, with nothing overdue:
    // nothing can fire, and only the time moves. A comparison with the next tick's boundary
    // instead of the quotient below on every turn (issue 13).
    if (now_ns < next_tick_ns_ && overdue_.empty()) {
      now_ns_ = std::max(now_ns_, now_ns);
      return 0;
    }
    in_advance_ = true;
    std::size_t fired = 0;

    // What was already due when armed goes first: its deadline precedes every slotted timer.
    if (!overdue_.empty()) {
      firing_.splice(firing_.end(), overdue_);
      fired += fire_pending(on_expire);
    }

    const uint64_t target = per_tick_.quotient(now_ns);
    while (tick_ < target) {
      // Nothing armed can be due before this tick: skip the empty stretch in one step.
      const uint64_t first_due = ceil_tick(min_deadline_ns_);
      if (first_due > target) {
        tick_ = target;
        break;
      }
      if (first_due > tick_ + 1) tick_ = first_due - 1;

      if (target - tick_ >= slot_count_) {
        // A full revolution sees every armed timer, so it can also refresh the lower bound.
        // Timers armed by callbacks during the walk lower it again through arm().
        min_deadline_ns_ = kNever;
        uint64_t seen = kNever;
        const uint64_t last = tick_ + slot_count_;
        while (tick_ < last) fired += fire_tick(tick_ + 1, on_expire, seen);
        min_deadline_ns_ = std::min(min_deadline_ns_, seen);
      } else {
        uint64_t seen = kNever;  // partial walk: unseen slots keep the old bound valid
        while (tick_ < target) fired += fire_tick(tick_ + 1, on_expire, seen);
      }
    }

    now_ns_ = std::max(now_ns_, now_ns);
    next_tick_ns_ = tick_boundary(tick_ + 1);
    in_advance_ = false;
    return fired;
  }

  [[nodiscard]] uint64_t now_ns() const { return now_ns_; }
  [[nodiscard]] uint64_t tick_ns() const { return tick_ns_; }
  [[nodiscard]] uint32_t slot_count() const { return slot_count_; }
  // Slots visited by advance() since construction: the cost the jump logic keeps bounded.
  [[nodiscard]] uint64_t slots_visited() const { return slots_visited_; }
  // arm() calls since construction (arm_after included): what owners that keep their own
  // deadline and re-arm lazily save (issue 13 item 4).
  [[nodiscard]] uint64_t arms() const { return arms_; }

 private:
  using List = boost::intrusive::list<
      TimerLink, boost::intrusive::member_hook<TimerLink, TimerLink::Hook, &TimerLink::hook_>,
      boost::intrusive::constant_time_size<false>>;  // auto_unlink forbids a cached size

  static constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();

  // Where `tick` begins (saturated: no time reaches a tick past the end of uint64_t).
  [[nodiscard]] uint64_t tick_boundary(uint64_t tick) const {
    return tick > last_tick_ ? kNever : tick * tick_ns_;
  }

  // The tick whose boundary is the first at or after `ns`: a deadline fires at that boundary.
  // `ns` is a deadline after the wheel's time (arm) or the least of them, so never 0. By the
  // tick's reciprocal: arm() runs on every timer set that moves a deadline earlier, and
  // tick_ns_ is not a constant the compiler could do this for (issue 13).
  [[nodiscard]] uint64_t ceil_tick(uint64_t ns) const { return per_tick_.ceil_quotient(ns); }

  // Moves the timers of `tick` that are due into firing_, then fires them. Not-due timers (a
  // later revolution) stay and contribute to `seen`, the minimum deadline left in the wheel.
  template <class OnExpire>
  std::size_t fire_tick(uint64_t tick, OnExpire& on_expire, uint64_t& seen) {
    tick_ = tick;
    ++slots_visited_;
    const uint64_t tick_end_ns = tick * tick_ns_;
    // Callbacks see the tick boundary as "now"; anything they arm at or before it is overdue.
    now_ns_ = std::max(now_ns_, tick_end_ns);
    List& slot = slots_[tick & mask_];
    for (auto it = slot.begin(); it != slot.end();) {
      TimerLink& t = *it;
      if (t.deadline_ns_ <= tick_end_ns) {
        it = slot.erase(it);
        firing_.push_back(t);
      } else {
        seen = std::min(seen, t.deadline_ns_);
        ++it;
      }
    }
    return firing_.empty() ? 0 : fire_pending(on_expire);
  }

  // Pops before calling so that the callback finds its timer disarmed and may re-arm it; a
  // callback cancelling or re-arming another pending timer simply unlinks it from firing_.
  template <class OnExpire>
  std::size_t fire_pending(OnExpire& on_expire) {
    std::size_t n = 0;
    while (!firing_.empty()) {
      Entry& t = static_cast<Entry&>(firing_.front());
      firing_.pop_front();
      ++n;
      on_expire(t);
    }
    return n;
  }

  const uint64_t tick_ns_;
  const ReciprocalDivisor per_tick_;  // divides by tick_ns_
  const uint64_t last_tick_;          // the last tick whose boundary fits uint64_t
  const uint32_t slot_count_;
  const uint64_t mask_;
  std::unique_ptr<List[]> slots_;
  List overdue_;  // armed with a deadline already reached; fired by the next advance()
  List firing_;   // due in the tick being fired, not yet called back
  uint64_t now_ns_;
  uint64_t tick_;  // last tick whose slot has been fired
  // tick_boundary(tick_ + 1): advance() to a time before it fires nothing new (set with tick_).
  uint64_t next_tick_ns_;
  // Every timer in a slot has deadline >= this. Lowered by arm(), raised only by a full
  // revolution walk, so it may be stale-low (costing a walk) but never too high.
  uint64_t min_deadline_ns_ = kNever;
  uint64_t slots_visited_ = 0;
  uint64_t arms_ = 0;
  bool in_advance_ = false;
};

using TimerWheel = BasicTimerWheel<Timer>;

}  // namespace pollux::base
