// A fixed pool of T lent one at a time: the storage is allocated once, at construction, and
// take()/put() only relink an intrusive `T* next_free` pointer that each T carries. Per-lcore
// (no locks) and O(1); take() on an empty pool returns nullptr, for the caller to count and
// degrade (the TCP layer's cold blocks, undo records and reassembly queues, issue 13 item 5).
//
// Order: the most recently returned item is lent first (LIFO, warm in cache). A new pool
// lends items()[0] first, then items()[1], and so on.
//
// A public header (plain C++, no DPDK, nothing internal) so that applications keep their
// per-connection state in one too (pollux-server, issue 13); the layers use it as
// base::FreeList through base/free_list.hpp.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace pollux {

template <class T>
concept FreeListItem = std::default_initializable<T> && requires(T t) {
  { t.next_free } -> std::convertible_to<T*>;
};

template <FreeListItem T>
class FreeList {
 public:
  explicit FreeList(uint32_t count) : items_(std::make_unique<T[]>(count)), size_(count) {
    for (uint32_t i = count; i-- > 0;) {
      items_[i].next_free = head_;
      head_ = &items_[i];
    }
  }
  FreeList(const FreeList&) = delete;
  FreeList& operator=(const FreeList&) = delete;

  // An item, or nullptr when every one is lent. What it held when it was put back is left
  // for the caller to reset.
  [[nodiscard]] T* take() {
    T* t = head_;
    if (!t) return nullptr;
    head_ = t->next_free;
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

  [[nodiscard]] uint32_t size() const { return size_; }
  [[nodiscard]] uint32_t lent() const { return lent_; }
  [[nodiscard]] uint32_t available() const { return size_ - lent_; }
  [[nodiscard]] bool empty() const { return head_ == nullptr; }
  // Every item, lent or not, in storage order (e.g. to visit what the lent ones hold).
  [[nodiscard]] std::span<T> items() { return {items_.get(), size_}; }
  [[nodiscard]] static constexpr size_t memory_bytes(uint32_t count) {
    return size_t{count} * sizeof(T);
  }

 private:
  std::unique_ptr<T[]> items_;
  uint32_t size_;
  uint32_t lent_ = 0;
  T* head_ = nullptr;
};

}  // namespace pollux
