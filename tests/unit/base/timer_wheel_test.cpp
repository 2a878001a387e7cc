#include "base/timer_wheel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <random>
#include <tuple>
#include <vector>

namespace pollux::base {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSec = 1000 * kMs;

// A timer whose owner records, per firing, its id and the wheel's time at the callback.
struct Fired {
  int id;
  uint64_t at_ns;
  friend bool operator==(const Fired&, const Fired&) = default;
};

struct Probe {
  explicit Probe(int id_) : id(id_), timer(uint8_t{0}, this) {}
  int id;
  Timer timer;
};

// Records every expiry; tests add behaviour through `hook`.
struct Recorder {
  TimerWheel* wheel = nullptr;
  std::vector<Fired> log;
  std::function<void(Probe&)> hook;

  void operator()(Timer& t) {
    auto& p = *t.owner_as<Probe>();
    EXPECT_FALSE(t.is_armed()) << "a timer is disarmed when its callback runs";
    log.push_back({p.id, wheel->now_ns()});
    if (hook) hook(p);
  }
};

std::vector<int> ids(const std::vector<Fired>& log) {
  std::vector<int> out;
  for (const auto& f : log) out.push_back(f.id);
  return out;
}

class TimerWheelTest : public ::testing::Test {
 protected:
  TimerWheel wheel{TimerWheelConfig{.tick_ns = kMs, .slots = 16}};
  Recorder rec{&wheel, {}, {}};

  std::size_t advance(uint64_t now) { return wheel.advance(now, rec); }
};

TEST_F(TimerWheelTest, FiresAtItsDeadlineAndNotBefore) {
  Probe a(1);
  wheel.arm(a.timer, 5 * kMs);
  EXPECT_TRUE(a.timer.is_armed());
  EXPECT_EQ(a.timer.deadline_ns(), 5 * kMs);

  EXPECT_EQ(advance(4 * kMs), 0u);
  EXPECT_EQ(advance(5 * kMs - 1), 0u);
  EXPECT_EQ(advance(5 * kMs), 1u);
  EXPECT_EQ(rec.log, (std::vector<Fired>{{1, 5 * kMs}}));
  EXPECT_FALSE(a.timer.is_armed());
  EXPECT_EQ(advance(100 * kMs), 0u) << "fires once";
}

TEST_F(TimerWheelTest, SubTickDeadlineRoundsUpNeverFiresEarly) {
  Probe a(1);
  wheel.arm(a.timer, 5 * kMs + 1);
  EXPECT_EQ(advance(5 * kMs + 500'000), 0u) << "now is past the deadline but the tick is not";
  EXPECT_EQ(advance(6 * kMs), 1u);
}

TEST_F(TimerWheelTest, FiresInDeadlineOrderWithinOneAdvance) {
  Probe a(1), b(2), c(3), d(4);
  wheel.arm(c.timer, 30 * kMs);
  wheel.arm(a.timer, 10 * kMs);
  wheel.arm(d.timer, 40 * kMs);
  wheel.arm(b.timer, 20 * kMs);

  EXPECT_EQ(advance(35 * kMs), 3u);
  EXPECT_EQ(rec.log, (std::vector<Fired>{{1, 10 * kMs}, {2, 20 * kMs}, {3, 30 * kMs}}))
      << "each callback sees its own tick as the wheel's time";
  EXPECT_EQ(wheel.now_ns(), 35 * kMs);
  EXPECT_TRUE(d.timer.is_armed());
}

TEST_F(TimerWheelTest, SameTickFiresInArmingOrder) {
  Probe a(1), b(2), c(3);
  wheel.arm(b.timer, 7 * kMs);
  wheel.arm(a.timer, 7 * kMs - 100);  // same tick, earlier ns: still arming order
  wheel.arm(c.timer, 7 * kMs);
  advance(7 * kMs);
  EXPECT_EQ(ids(rec.log), (std::vector<int>{2, 1, 3}));
}

TEST_F(TimerWheelTest, RearmMovesTheTimer) {
  Probe a(1);
  wheel.arm(a.timer, 10 * kMs);
  wheel.arm(a.timer, 50 * kMs);
  EXPECT_EQ(advance(20 * kMs), 0u);
  wheel.arm(a.timer, 15 * kMs);  // moving earlier works too; 15 ms is now in the past
  EXPECT_EQ(advance(20 * kMs), 1u);
  EXPECT_EQ(advance(60 * kMs), 0u) << "the old positions are gone";
}

TEST_F(TimerWheelTest, CancelDisarmsAndIsHarmlessWhenIdle) {
  Probe a(1), b(2);
  TimerWheel::cancel(a.timer);  // never armed
  wheel.arm(a.timer, 10 * kMs);
  wheel.arm(b.timer, 10 * kMs);
  TimerWheel::cancel(a.timer);
  EXPECT_FALSE(a.timer.is_armed());
  TimerWheel::cancel(a.timer);
  EXPECT_EQ(advance(10 * kMs), 1u);
  EXPECT_EQ(ids(rec.log), (std::vector<int>{2}));
}

TEST_F(TimerWheelTest, CallbackMayCancelTimersDueInTheSameTickAndLater) {
  Probe a(1), b(2), c(3), d(4);
  wheel.arm(a.timer, 10 * kMs);
  wheel.arm(b.timer, 10 * kMs);  // same tick, already collected for firing when a runs
  wheel.arm(c.timer, 20 * kMs);
  wheel.arm(d.timer, 20 * kMs);
  rec.hook = [&](Probe& p) {
    if (p.id == 1) {
      TimerWheel::cancel(b.timer);
      TimerWheel::cancel(c.timer);
    }
  };
  EXPECT_EQ(advance(30 * kMs), 2u);
  EXPECT_EQ(ids(rec.log), (std::vector<int>{1, 4}));
}

TEST_F(TimerWheelTest, CallbackMayCancelItselfAfterRearming) {
  Probe a(1);
  wheel.arm(a.timer, 10 * kMs);
  rec.hook = [&](Probe& p) {
    wheel.arm(p.timer, 20 * kMs);
    TimerWheel::cancel(p.timer);
  };
  EXPECT_EQ(advance(100 * kMs), 1u);
  EXPECT_FALSE(a.timer.is_armed());
}

TEST_F(TimerWheelTest, PeriodicTimerRearmsItselfAndFiresAtEachPeriodInOneAdvance) {
  Probe a(1);
  wheel.arm(a.timer, 10 * kMs);
  rec.hook = [&](Probe& p) { wheel.arm_after(p.timer, 10 * kMs); };
  // 100 ms spans several revolutions of this 16-slot wheel.
  EXPECT_EQ(advance(100 * kMs), 10u);
  for (std::size_t i = 0; i < rec.log.size(); ++i) {
    EXPECT_EQ(rec.log[i].at_ns, (i + 1) * 10 * kMs);
  }
  EXPECT_EQ(a.timer.deadline_ns(), 110 * kMs);
}

TEST_F(TimerWheelTest, CallbackMayRearmAnotherTimerEarlierOrLater) {
  Probe a(1), b(2), c(3);
  wheel.arm(a.timer, 10 * kMs);
  wheel.arm(b.timer, 50 * kMs);
  wheel.arm(c.timer, 12 * kMs);
  rec.hook = [&](Probe& p) {
    if (p.id == 1) {
      wheel.arm(b.timer, 11 * kMs);  // pulled in: fires in this advance, before c
      wheel.arm(c.timer, 60 * kMs);  // pushed out past this advance
    }
  };
  EXPECT_EQ(advance(30 * kMs), 2u);
  EXPECT_EQ(rec.log, (std::vector<Fired>{{1, 10 * kMs}, {2, 11 * kMs}}));
  EXPECT_EQ(advance(60 * kMs), 1u);
  EXPECT_EQ(rec.log.back(), (Fired{3, 60 * kMs}));
}

TEST_F(TimerWheelTest, CallbackMayRearmATimerDueLaterInTheSameTick) {
  Probe a(1), b(2);
  wheel.arm(a.timer, 10 * kMs);
  wheel.arm(b.timer, 10 * kMs);
  rec.hook = [&](Probe& p) {
    if (p.id == 1) wheel.arm(b.timer, 15 * kMs);
  };
  EXPECT_EQ(advance(10 * kMs), 1u);
  EXPECT_EQ(advance(15 * kMs), 1u);
  EXPECT_EQ(rec.log.back(), (Fired{2, 15 * kMs}));
}

TEST_F(TimerWheelTest, PastDeadlineFiresOnTheNextAdvanceEvenWithoutTimePassing) {
  advance(100 * kMs);
  Probe a(1), b(2), c(3);
  wheel.arm(b.timer, 50 * kMs);
  wheel.arm(a.timer, 0);
  wheel.arm(c.timer, 100 * kMs);  // exactly now counts as past
  EXPECT_EQ(advance(100 * kMs), 3u);
  EXPECT_EQ(ids(rec.log), (std::vector<int>{2, 1, 3})) << "overdue timers fire in arming order";
}

TEST_F(TimerWheelTest, PastDeadlineArmedFromACallbackWaitsForTheNextAdvance) {
  Probe a(1);
  wheel.arm(a.timer, 10 * kMs);
  rec.hook = [&](Probe& p) { wheel.arm(p.timer, 0); };  // would loop forever if fired now
  EXPECT_EQ(advance(10 * kMs), 1u);
  EXPECT_TRUE(a.timer.is_armed());
  EXPECT_EQ(advance(10 * kMs), 1u);
  EXPECT_EQ(advance(11 * kMs), 1u);
  rec.hook = nullptr;
  EXPECT_EQ(advance(12 * kMs), 1u);
  EXPECT_EQ(advance(13 * kMs), 0u);
}

TEST_F(TimerWheelTest, TimeNeverGoesBackwards) {
  advance(10 * kMs);
  EXPECT_EQ(advance(5 * kMs), 0u);
  EXPECT_EQ(wheel.now_ns(), 10 * kMs);
  Probe a(1);
  wheel.arm(a.timer, 8 * kMs);  // in the past relative to the wheel, not to the stale reading
  EXPECT_EQ(advance(5 * kMs), 1u);
}

TEST_F(TimerWheelTest, DeadlinesBeyondOneRevolutionShareSlotsAndFireOnTime) {
  // 16 slots of 1 ms: 4, 20, 100 and 1604 ms all map to slot 4.
  Probe a(1), b(2), c(3), d(4), e(5);
  wheel.arm(d.timer, 1604 * kMs);
  wheel.arm(c.timer, 100 * kMs);
  wheel.arm(b.timer, 20 * kMs);
  wheel.arm(a.timer, 4 * kMs);
  wheel.arm(e.timer, 37 * kMs);
  for (uint64_t now = 0; now <= 2000 * kMs; now += kMs) advance(now);
  EXPECT_EQ(rec.log,
            (std::vector<Fired>{
                {1, 4 * kMs}, {2, 20 * kMs}, {5, 37 * kMs}, {3, 100 * kMs}, {4, 1604 * kMs}}));
}

TEST_F(TimerWheelTest, HugeJumpFiresEverythingDueInOrderWithBoundedWork) {
  Probe a(1), b(2), c(3), d(4);
  wheel.arm(a.timer, 3 * kMs);
  wheel.arm(c.timer, 24 * 3600 * kSec);  // a day
  wheel.arm(b.timer, 3600 * kSec + 1);   // an hour
  wheel.arm(d.timer, 30 * 24 * 3600 * kSec);
  const uint64_t two_days = 2 * 24 * 3600 * kSec;
  EXPECT_EQ(advance(two_days), 3u);
  EXPECT_EQ(rec.log,
            (std::vector<Fired>{{1, 3 * kMs}, {2, 3600 * kSec + kMs}, {3, 24 * 3600 * kSec}}));
  // 172.8 million ticks passed; walking them one by one is what the jump avoids. Each cluster
  // of due timers costs at most a revolution or two.
  EXPECT_LE(wheel.slots_visited(), 8u * wheel.slot_count());
  EXPECT_EQ(wheel.now_ns(), two_days);
  EXPECT_TRUE(d.timer.is_armed());
}

TEST_F(TimerWheelTest, IdleWheelJumpsForFree) {
  const uint64_t far = 1'000'000'000 * kSec;  // ~31.7 years of idle time in one call
  EXPECT_EQ(advance(far), 0u);
  EXPECT_EQ(wheel.slots_visited(), 0u);
  Probe a(1);
  wheel.arm_after(a.timer, 2 * kMs);
  EXPECT_EQ(advance(far + 2 * kMs), 1u);
  EXPECT_LE(wheel.slots_visited(), 2u);
}

TEST_F(TimerWheelTest, StaleLowerBoundCostsAtMostOneRevolution) {
  Probe delack(1), keepalive(2);
  wheel.arm(delack.timer, 40 * kMs);
  wheel.arm(keepalive.timer, 7200 * kSec);  // RFC 1122 4.2.3.6 default keepalive interval
  // The engine advances every loop iteration: small steps walk tick by tick.
  for (uint64_t now = 0; now < 100 * kMs; now += kMs) advance(now);
  EXPECT_LE(wheel.slots_visited(), 100u);
  // The delayed ACK is gone but the wheel still only knows "something at >= 40 ms": the jump
  // walks one revolution, learns the keepalive deadline, and skips straight to it.
  advance(3600 * kSec);
  EXPECT_LE(wheel.slots_visited(), 100u + wheel.slot_count());
  const uint64_t visited = wheel.slots_visited();
  advance(7200 * kSec);
  EXPECT_EQ(ids(rec.log), (std::vector<int>{1, 2}));
  EXPECT_LE(wheel.slots_visited() - visited, 1u);
}

TEST_F(TimerWheelTest, ArmAfterSaturatesInsteadOfWrapping) {
  advance(10 * kMs);
  Probe a(1);
  wheel.arm_after(a.timer, UINT64_MAX);
  EXPECT_EQ(a.timer.deadline_ns(), UINT64_MAX);
  EXPECT_EQ(advance(UINT64_MAX - 1), 0u);
  EXPECT_TRUE(a.timer.is_armed());
}

TEST_F(TimerWheelTest, DestroyingAnArmedTimerUnlinksIt) {
  {
    Probe gone(1);
    wheel.arm(gone.timer, 5 * kMs);
  }
  Probe kept(2);
  wheel.arm(kept.timer, 5 * kMs);
  EXPECT_EQ(advance(10 * kMs), 1u);
  EXPECT_EQ(ids(rec.log), (std::vector<int>{2}));
}

TEST(TimerWheel, SlotCountRoundsUpToAPowerOfTwoAndDefaultsSuitTcp) {
  EXPECT_EQ(TimerWheel(TimerWheelConfig{.tick_ns = kMs, .slots = 1000}).slot_count(), 1024u);
  EXPECT_EQ(TimerWheel(TimerWheelConfig{.tick_ns = kMs, .slots = 0}).slot_count(), 1u);
  const TimerWheel defaults;
  EXPECT_EQ(defaults.slot_count(), 4096u);
  EXPECT_EQ(defaults.tick_ns(), kMs);
}

TEST(TimerWheel, StartTimeIsTheWheelsInitialNow) {
  const uint64_t boot = 123'456 * kSec + 789;  // a TSC-derived reading is far from zero
  TimerWheel wheel({}, boot);
  Probe a(1);
  wheel.arm_after(a.timer, 200 * kMs);
  int fired = 0;
  auto count = [&](Timer&) { ++fired; };
  EXPECT_EQ(wheel.advance(boot + 199 * kMs, count), 0u);
  EXPECT_LE(wheel.slots_visited(), 200u);
  EXPECT_EQ(wheel.advance(boot + 201 * kMs, count), 1u);
  EXPECT_EQ(fired, 1);
}

// The intended engine shape: several timers per owner, dispatch on kind, no virtual calls.
enum class TimerKind : uint8_t { retransmit, delayed_ack, time_wait };

struct FakeTcb {
  uint64_t rto_ns = 200 * kMs;
  int retransmits = 0;
  int acks = 0;
  bool closed = false;
  Timer rto{TimerKind::retransmit, this};
  Timer delack{TimerKind::delayed_ack, this};
  Timer time_wait{TimerKind::time_wait, this};
};

TEST(TimerWheel, DispatchesOnKindAndOwner) {
  TimerWheel wheel;
  FakeTcb x, y;
  auto on_expire = [&](Timer& t) {
    auto& tcb = *t.owner_as<FakeTcb>();
    switch (t.kind_as<TimerKind>()) {
      case TimerKind::retransmit:
        ++tcb.retransmits;
        tcb.rto_ns *= 2;  // RFC 6298 5.5: back off the timer
        wheel.arm_after(tcb.rto, tcb.rto_ns);
        break;
      case TimerKind::delayed_ack:
        ++tcb.acks;
        break;
      case TimerKind::time_wait:
        tcb.closed = true;
        TimerWheel::cancel(tcb.rto);
        TimerWheel::cancel(tcb.delack);
        break;
    }
  };
  wheel.arm(x.rto, x.rto_ns);
  wheel.arm(x.delack, 40 * kMs);
  wheel.arm(y.delack, 40 * kMs);
  wheel.arm(y.time_wait, 60 * kSec);
  wheel.advance(1 * kSec, on_expire);
  EXPECT_EQ(x.acks, 1);
  EXPECT_EQ(y.acks, 1);
  EXPECT_EQ(x.retransmits, 2) << "at 200 ms, then 200 + 400 ms";
  wheel.arm(y.rto, 61 * kSec);
  wheel.advance(60 * kSec, on_expire);
  EXPECT_TRUE(y.closed);
  EXPECT_FALSE(y.rto.is_armed());
  EXPECT_EQ(y.retransmits, 0) << "time-wait cancelled the pending RTO";
  EXPECT_FALSE(x.closed);
}

// Differential check against a trivially correct model: random arms (past, near, far),
// cancels and advances (small steps and huge jumps) on a small wheel so that revolutions,
// shared slots and jumps all happen often.
TEST(TimerWheel, MatchesAReferenceModelUnderRandomOperations) {
  constexpr int kTimers = 200;
  constexpr uint64_t kTick = 1000;
  TimerWheel wheel(TimerWheelConfig{.tick_ns = kTick, .slots = 32});
  std::mt19937_64 rng(20240611);

  struct Model {
    bool armed = false;
    bool overdue = false;  // deadline had passed when armed
    uint64_t deadline = 0;
    uint64_t seq = 0;  // arming order
  };
  std::deque<Probe> probes;
  for (int i = 0; i < kTimers; ++i) probes.emplace_back(i);
  std::vector<Model> model(kTimers);
  uint64_t seq = 0;
  uint64_t now = 0;
  std::size_t total_fired = 0;

  auto random_deadline = [&]() -> uint64_t {
    switch (rng() % 4) {
      case 0:
        return now - std::min<uint64_t>(now, rng() % (5 * kTick));  // past or exactly now
      case 1:
        return now + 1 + rng() % (8 * kTick);  // a few ticks, sub-tick offsets
      case 2:
        return now + 1 + rng() % (100 * kTick);  // a few revolutions
      default:
        return now + 1 + rng() % (100'000 * kTick);  // thousands of revolutions
    }
  };

  for (int step = 0; step < 20'000; ++step) {
    const auto op = rng() % 10;
    const auto i = static_cast<int>(rng() % kTimers);
    if (op < 5) {
      const uint64_t d = random_deadline();
      wheel.arm(probes[i].timer, d);
      model[i] = {true, d <= wheel.now_ns(), d, seq++};
    } else if (op < 7) {
      TimerWheel::cancel(probes[i].timer);
      model[i].armed = false;
    } else {
      const uint64_t step_ns = rng() % 50 == 0 ? rng() % (200'000 * kTick) : rng() % (3 * kTick);
      now += step_ns;
      // Expected: overdue timers in arming order, then due ones by (deadline tick, arming).
      std::vector<std::pair<std::tuple<int, uint64_t, uint64_t>, int>> expected;
      for (int k = 0; k < kTimers; ++k) {
        const Model& m = model[k];
        if (!m.armed) continue;
        const uint64_t tick = m.deadline / kTick + (m.deadline % kTick != 0);
        if (m.overdue) {
          expected.push_back({{0, 0, m.seq}, k});
        } else if (tick <= now / kTick) {
          expected.push_back({{1, tick, m.seq}, k});
        }
      }
      std::sort(expected.begin(), expected.end());
      std::vector<int> want;
      for (const auto& e : expected) {
        want.push_back(e.second);
        model[e.second].armed = false;
      }
      std::vector<int> got;
      wheel.advance(now, [&](Timer& t) { got.push_back(t.owner_as<Probe>()->id); });
      ASSERT_EQ(got, want) << "step " << step << " now " << now;
      total_fired += got.size();
    }
    for (int k = 0; k < kTimers; ++k) {
      ASSERT_EQ(probes[k].timer.is_armed(), model[k].armed) << "timer " << k;
    }
  }
  EXPECT_GT(total_fired, 1000u) << "the random mix actually exercised expiry";
}

// Many timers, a third of them cancelled, advanced in irregular steps: every firing happens at
// the first tick boundary at or after its deadline, and nothing is lost or duplicated.
TEST(TimerWheel, ManyTimersEachFireOnceAtTheirTick) {
  constexpr int kTimers = 10'000;
  TimerWheel wheel(TimerWheelConfig{.tick_ns = kMs, .slots = 256});
  std::mt19937_64 rng(7);
  std::deque<Probe> probes;
  std::vector<uint64_t> deadline(kTimers);
  std::vector<int> fired(kTimers, 0);
  for (int i = 0; i < kTimers; ++i) {
    probes.emplace_back(i);
    deadline[i] = 1 + rng() % (20 * kSec);
    wheel.arm(probes[i].timer, deadline[i]);
  }
  for (int i = 0; i < kTimers; i += 3) TimerWheel::cancel(probes[i].timer);

  uint64_t last_tick = 0;
  uint64_t now = 0;
  while (now < 21 * kSec) {
    now += rng() % (50 * kMs);
    wheel.advance(now, [&](Timer& t) {
      const int id = t.owner_as<Probe>()->id;
      const uint64_t tick = (deadline[id] + kMs - 1) / kMs;
      EXPECT_EQ(wheel.now_ns(), tick * kMs) << "fires at the first tick boundary >= deadline";
      EXPECT_GE(tick, last_tick) << "deadline order";
      last_tick = tick;
      ++fired[id];
    });
  }
  for (int i = 0; i < kTimers; ++i) {
    ASSERT_EQ(fired[i], i % 3 == 0 ? 0 : 1) << "timer " << i;
  }
}

// A wheel of bare links (24 B each: hook and deadline): the owner derives from the link and
// finds itself by a static downcast, as the TCP layer's TCBs do (issue 13 item 5). The
// semantics are the Timer wheel's: deadline order, disarmed in the callback, re-armable.
struct LinkOwner : TimerLink {
  explicit LinkOwner(int id_) : id(id_) {}
  int id;
};

TEST(BasicTimerWheel, ABareLinkFiresAsItsOwnerWithTheSameSemantics) {
  static_assert(sizeof(TimerLink) == 24 && sizeof(Timer) == 40);
  BasicTimerWheel<LinkOwner> wheel{TimerWheelConfig{.tick_ns = kMs, .slots = 16}};
  LinkOwner a(1), b(2);
  wheel.arm(b, 7 * kMs);
  wheel.arm(a, 3 * kMs);
  std::vector<int> got;
  auto on = [&](LinkOwner& o) {
    EXPECT_FALSE(o.is_armed());
    got.push_back(o.id);
    if (o.id == 1 && got.size() == 1) wheel.arm(o, 20 * kMs);  // re-armed from its callback
  };
  EXPECT_EQ(wheel.advance(2 * kMs, on), 0u);
  EXPECT_EQ(wheel.advance(8 * kMs, on), 2u);
  EXPECT_EQ(got, (std::vector<int>{1, 2}));
  EXPECT_TRUE(a.is_armed());
  EXPECT_EQ(a.deadline_ns(), 20 * kMs);
  decltype(wheel)::cancel(a);
  EXPECT_EQ(wheel.advance(30 * kMs, on), 0u);
  EXPECT_EQ(got.size(), 2u);
}

}  // namespace
}  // namespace pollux::base
