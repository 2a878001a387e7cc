// base::FreeList: a preallocated pool lent through an intrusive next pointer.
#include "base/free_list.hpp"

#include <gtest/gtest.h>

#include <set>

namespace pollux::base {
namespace {

struct Item {
  int value = 0;
  Item* next_free = nullptr;
};

TEST(FreeList, ANewPoolLendsItsItemsInStorageOrderThenSaysEmpty) {
  FreeList<Item> pool(3);
  EXPECT_EQ(pool.size(), 3u);
  EXPECT_EQ(pool.available(), 3u);
  EXPECT_FALSE(pool.empty());
  Item* first = pool.take();
  Item* second = pool.take();
  Item* last = pool.take();
  EXPECT_EQ(second, first + 1);  // storage order: one array
  EXPECT_EQ(last, first + 2);
  auto items = pool.items();
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(&items[0], first);
  EXPECT_EQ(&items[2], last);
  EXPECT_EQ(last->next_free, nullptr);  // a lent item is unlinked
  EXPECT_TRUE(pool.empty());
  EXPECT_EQ(pool.lent(), 3u);
  EXPECT_EQ(pool.take(), nullptr);
  EXPECT_EQ(pool.lent(), 3u);  // a refusal lends nothing
}

// Issue 13 item 5: a pool sized for the worst case (a cold block for a quarter of the
// connections) must not make every idle connection pay for it in resident memory. No item is
// constructed (its memory written) before it is first lent; a returned item is lent again
// before a new one is built, so what is built is the most ever lent at once.
struct Counted {
  static inline int constructed = 0;
  static inline int destroyed = 0;
  int value = 5;
  Counted* next_free = nullptr;
  Counted() { ++constructed; }
  ~Counted() { ++destroyed; }
};

TEST(FreeList, AnItemIsBuiltWhenFirstLentAndOnlyWhenNoReturnedOneWaits) {
  Counted::constructed = Counted::destroyed = 0;
  {
    FreeList<Counted> pool(1000);
    EXPECT_EQ(Counted::constructed, 0);  // nothing written at construction
    EXPECT_EQ(pool.built(), 0u);
    EXPECT_EQ(pool.items().size(), 0u);
    EXPECT_EQ(pool.available(), 1000u);
    Counted* a = pool.take();
    Counted* b = pool.take();
    EXPECT_EQ(a->value, 5);  // value-initialised on first lending
    EXPECT_EQ(Counted::constructed, 2);
    pool.put(a);
    EXPECT_EQ(pool.take(), a);  // the returned one, not a third
    EXPECT_EQ(Counted::constructed, 2);
    pool.put(a);
    pool.put(b);
    for (int round = 0; round < 100; ++round) {  // two at a time, a hundred times
      Counted* x = pool.take();
      Counted* y = pool.take();
      pool.put(x);
      pool.put(y);
    }
    EXPECT_EQ(pool.built(), 2u);  // the most ever lent at once
    EXPECT_EQ(pool.items().size(), 2u);
    EXPECT_EQ(FreeList<Counted>::memory_bytes(1000), 1000 * sizeof(Counted));  // reserved
  }
  EXPECT_EQ(Counted::destroyed, 2);  // the built ones, no more
}

// FreeList's storage on its own (the TCP layer builds its TCBs from one): nothing written at
// construction, items built one by one in storage order, the built ones destroyed at the end.
TEST(Slab, BuildsItsItemsInStorageOrderOnDemandAndDestroysOnlyThoseBuilt) {
  Counted::constructed = Counted::destroyed = 0;
  {
    Slab<Counted> slab(3);
    EXPECT_EQ(Counted::constructed, 0);
    EXPECT_EQ(slab.built(), 0u);
    EXPECT_FALSE(slab.all_built());
    Counted* a = slab.build();
    Counted* b = slab.build();
    EXPECT_EQ(b, a + 1);
    EXPECT_EQ(b->value, 5);
    EXPECT_EQ(slab.items().size(), 2u);
    EXPECT_EQ(&slab.items()[1], b);
    EXPECT_EQ(Counted::constructed, 2);
    EXPECT_NE(slab.build(), nullptr);
    EXPECT_TRUE(slab.all_built());
    EXPECT_EQ(slab.build(), nullptr) << "no fourth";
    EXPECT_EQ(Counted::constructed, 3);
  }
  EXPECT_EQ(Counted::destroyed, 3);
}

TEST(FreeList, TheItemPutBackLastIsLentFirstAndTheCountsFollow) {
  FreeList<Item> pool(4);
  Item* a = pool.take();
  Item* b = pool.take();
  a->value = 7;
  pool.put(a);
  pool.put(b);
  EXPECT_EQ(pool.lent(), 0u);
  EXPECT_EQ(pool.take(), b);
  Item* again = pool.take();
  EXPECT_EQ(again, a);
  EXPECT_EQ(again->value, 7);  // contents are the caller's to reset
  EXPECT_EQ(pool.lent(), 2u);
  EXPECT_EQ(pool.available(), 2u);
}

TEST(FreeList, EveryItemIsLentOnceUntilReturnedWhateverTheOrderOfReturns) {
  FreeList<Item> pool(64);
  std::set<Item*> out;
  for (int round = 0; round < 3; ++round) {
    while (Item* i = pool.take()) EXPECT_TRUE(out.insert(i).second);
    EXPECT_EQ(out.size(), 64u);
    // Return every other one, then the rest.
    int k = 0;
    for (auto it = out.begin(); it != out.end(); ++k)
      if (k % 2 == 0) {
        pool.put(*it);
        it = out.erase(it);
      } else {
        ++it;
      }
    for (Item* i : out) pool.put(i);
    out.clear();
    EXPECT_EQ(pool.lent(), 0u);
  }
  EXPECT_EQ(FreeList<Item>::memory_bytes(64), 64 * sizeof(Item));
}

TEST(FreeList, AnEmptyPoolLendsNothing) {
  FreeList<Item> pool(0);
  EXPECT_TRUE(pool.empty());
  EXPECT_EQ(pool.take(), nullptr);
  EXPECT_EQ(pool.items().size(), 0u);
}

}  // namespace
}  // namespace pollux::base
