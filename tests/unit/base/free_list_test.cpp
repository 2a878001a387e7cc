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
  auto items = pool.items();
  EXPECT_EQ(pool.take(), &items[0]);
  EXPECT_EQ(pool.take(), &items[1]);
  Item* last = pool.take();
  EXPECT_EQ(last, &items[2]);
  EXPECT_EQ(last->next_free, nullptr);  // a lent item is unlinked
  EXPECT_TRUE(pool.empty());
  EXPECT_EQ(pool.lent(), 3u);
  EXPECT_EQ(pool.take(), nullptr);
  EXPECT_EQ(pool.lent(), 3u);  // a refusal lends nothing
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
