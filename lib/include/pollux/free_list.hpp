// A fixed pool of T lent one at a time: the storage is allocated once, at construction, and
// take()/put() only relink an intrusive `T* next_free` pointer that each T carries. Per-lcore
// (no locks) and O(1); take() on an empty pool returns nullptr, for the caller to count and
// degrade (the TCP layer's cold blocks, undo records and reassembly queues, issue 13 item 5).
//
// Order: the most recently returned item is lent first (LIFO, warm in cache). A new pool
// lends items()[0] first, then items()[1], and so on.
//
// An item is constructed when it is first lent, not when the pool is made (issue 13 item 5):
// the storage is reserved whole at construction (memory_bytes() is what a budget counts) but
// no byte of an item is written before its first take(), so the pages of a pool sized for
// the worst case -- a cold block for a quarter of the connections -- become resident only as
// far as the most items ever lent at once reach. Before, every item was value-initialised and
// linked at construction: an idle connection's RSS carried its share of pools it never used
// (about 190 B of cold block and undo record per connection at the default sizes).
// The lending order is the same as it was: returned items first (LIFO), then the
// never-lent ones in storage order.
//
// A public header (plain C++, no DPDK, nothing internal) so that applications keep their
// per-connection state in one too (pollux-server, issue 13); the layers use it as
// base::FreeList through base/free_list.hpp.
#pragma once

#include <cassert>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <span>

namespace pollux {

// The storage of `count` T, reserved whole at construction with none of them constructed:
// build() constructs the next one in storage order (value-initialised) until all are, and
// the destructor destroys those built. Large slabs come from fresh pages (the allocator maps
// them), untouched until an item is built. FreeList lends from one; the TCP layer builds its
// TCBs from one (their free list runs through a hook of their own).
// (constructible_from, not default_initializable: an aggregate such as the TCB, whose bases
// cannot be list-initialised from {}, is still built with T().)
template <std::constructible_from T>
class Slab {
 public:
  explicit Slab(uint32_t count)
      : items_(count != 0 ? static_cast<T*>(::operator new (sizeof(T) * size_t{count},
                                                            std::align_val_t{alignof(T)}))
                          : nullptr),
        size_(count) {}
  Slab(const Slab&) = delete;
  Slab& operator=(const Slab&) = delete;
  ~Slab() {
    std::destroy_n(items_, built_);
    if (items_) ::operator delete (items_, std::align_val_t{alignof(T)});
  }

  // The next item, constructed now; nullptr when every one is built.
  [[nodiscard]] T* build() {
    if (built_ == size_) return nullptr;
    T* t = ::new (static_cast<void*>(items_ + built_)) T();
    ++built_;
    return t;
  }
  [[nodiscard]] uint32_t size() const { return size_; }
  [[nodiscard]] uint32_t built() const { return built_; }
  [[nodiscard]] bool all_built() const { return built_ == size_; }
  // The items built so far, in storage order.
  [[nodiscard]] std::span<T> items() { return {items_, built_}; }
  // The slot of `t`, an item of this slab: 0 .. size() - 1, for arrays parallel to it.
  [[nodiscard]] uint32_t index_of(const T& t) const {
    assert(&t >= items_ && &t < items_ + built_);
    return static_cast<uint32_t>(&t - items_);
  }
  [[nodiscard]] static constexpr size_t memory_bytes(uint32_t count) {
    return size_t{count} * sizeof(T);
  }

 private:
  T* items_;
  uint32_t size_;
  uint32_t built_ = 0;
};

template <class T>
concept FreeListItem = std::default_initializable<T> && requires(T t) {
  { t.next_free } -> std::convertible_to<T*>;
};

template <FreeListItem T>
class FreeList {
 public:
  // Reserves the storage of `count` items and constructs none (Slab).
  explicit FreeList(uint32_t count) : slab_(count) {}
  FreeList(const FreeList&) = delete;
  FreeList& operator=(const FreeList&) = delete;

  // An item, or nullptr when every one is lent. What it held when it was put back is left
  // for the caller to reset; an item lent for the first time is value-initialised.
  [[nodiscard]] T* take() {
    T* t = head_;
    if (t) {
      head_ = t->next_free;
    } else if (!(t = slab_.build())) {
      return nullptr;
    }
    t->next_free = nullptr;
    ++lent_;
    return t;
  }
  // Back to the pool; `t` must have come from take() of this pool.
  void put(T* t) {
    t->next_free = head_;
    head_ = t;
    --lent_;
  }

  [[nodiscard]] uint32_t size() const { return slab_.size(); }
  [[nodiscard]] uint32_t lent() const { return lent_; }
  [[nodiscard]] uint32_t available() const { return slab_.size() - lent_; }
  [[nodiscard]] bool empty() const { return head_ == nullptr && slab_.all_built(); }
  // Every item ever lent (lent now or back in the pool), in storage order, e.g. to visit what
  // the lent ones hold. Those never lent are not constructed and not in it: they hold nothing.
  [[nodiscard]] std::span<T> items() { return slab_.items(); }
  // Items constructed so far: the most ever lent at once (the pool's resident part).
  [[nodiscard]] uint32_t built() const { return slab_.built(); }
  [[nodiscard]] static constexpr size_t memory_bytes(uint32_t count) {
    return Slab<T>::memory_bytes(count);
  }

 private:
  Slab<T> slab_;
  uint32_t lent_ = 0;
  T* head_ = nullptr;
};

}  // namespace pollux
