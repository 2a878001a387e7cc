// TIME-WAIT as a compact record (issue 13 item 5, issue 14 item 3): a connection that enters
// TIME-WAIT gives its TCB back and leaves what RFC 9293 3.10.7.4 needs to answer for the pair
// during 2 MSL -- the tuple, SND.NXT and RCV.NXT, TS.Recent (RFC 7323) and when it was taken
// (RFC 6191 reuse), the window our ACKs advertise -- in a per-lcore store of 64 B a record.
//
// Why this shape:
//  - Outside the connection table's budget: a server that closes first holds one record per
//    closed connection for 2 MSL, not a TCB and a table slot.
//  - FIFO expiry: every record lives the same 2 MSL from its last (re)start, and time only
//    moves forward, so the list in order of (re)start is also the order of expiry; expiring
//    is popping the front while it is due. A restart (the peer's FIN again: "restart the 2 MSL
//    timeout", 3.10.7.4 eighth) moves the record to the back.
//  - Bounded: the records are one array allocated at start. When it is full the oldest
//    record is dropped early (the caller counts it): the alternative, refusing to enter
//    TIME-WAIT, would lose the newest pair's protection instead of the one closest to its end.
//  - Indexed by a chained hash over the same array (32-bit links, no allocation), with the
//    connection table's bucket hash.
//  - 64 B for both families: an IPv4 pair's addresses (4 B each) sit in the record; an IPv6
//    pair's (16 B each, issue 16) in a parallel array at the record's own index, which is
//    allocated with the records but never written for an IPv4 pair, so its pages stay
//    untouched (not resident) unless IPv6 connections close here. The IPv6-sized tuple inline
//    made every record 88 B, for the family most pairs do not use.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "base/flow_table.hpp"
#include "net/four_tuple.hpp"
#include "net/seq.hpp"

namespace pollux::tcp {

struct TimeWaitRecord {
  uint64_t expiry_ns = 0;               // 2 MSL after the last (re)start
  uint32_t prev = kNone, next = kNone;  // FIFO, oldest first
  uint32_t chain = kNone;               // hash bucket chain
  // The pair from our side (local = our address and port); TimeWaitStore::tuple_of() gives
  // it whole. The addresses are here for IPv4 only (`v6` clear).
  uint32_t local_v4 = 0, remote_v4 = 0;
  uint16_t local_port = 0, remote_port = 0;
  net::Seq snd_nxt;          // all we sent, our FIN included, is acknowledged: SND.UNA = SND.NXT
  net::Seq rcv_nxt;          // past the peer's FIN
  uint32_t rcv_wnd = 0;      // RCV.ADV - RCV.NXT: the acceptability test's window (3.10.7.4 first)
  uint32_t ts_recent = 0;    // RFC 7323 4.3 TS.Recent (PAWS, RFC 6191's newer-SYN test)
  uint32_t ts_offset = 0;    // our TSval offset (RFC 7323 5.4), for the TSval our ACKs carry
  uint32_t since_ms = 0;     // when TIME-WAIT began (ms, wraps): TS.Recent's age, RFC 6191 reuse
  uint32_t max_snd_wnd = 0;  // RFC 5961 5.2: ACKs older than SND.UNA - MAX.SND.WND draw a challenge
  uint16_t window = 0;       // the window field our ACKs carry (already shifted by rcv_wscale)
  bool ts_ok : 1 = false;    // timestamps were agreed
  bool sack_ok : 1 = false;  // SACK was agreed: a duplicate draws a D-SACK (RFC 2883)
  bool v6 : 1 = false;       // an IPv6 pair: its addresses are in the store's parallel array

  static constexpr uint32_t kNone = 0xffffffffu;
};
// 64 B: 20 of expiry and links, 12 of IPv4 pair, 31 of TCP state and flags.
static_assert(sizeof(TimeWaitRecord) <= 64, "a TIME-WAIT costs at most 64 B (issue 13 item 5)");

class TimeWaitStore {
 public:
  explicit TimeWaitStore(uint32_t capacity)
      : capacity_(capacity < 1 ? 1 : capacity),
        records_(std::make_unique<TimeWaitRecord[]>(capacity_)),
        // Default-initialised (trivial): no page of it is written until an IPv6 pair is.
        pairs_(new AddrPair[capacity_]),
        mask_(bucket_count(capacity_) - 1),
        buckets_(std::make_unique<uint32_t[]>(mask_ + 1)) {
    for (uint32_t i = 0; i <= mask_; ++i) buckets_[i] = TimeWaitRecord::kNone;
    // Free list threaded through `next`.
    for (uint32_t i = 0; i < capacity_; ++i)
      records_[i].next = i + 1 < capacity_ ? i + 1 : TimeWaitRecord::kNone;
    free_ = 0;
  }
  TimeWaitStore(const TimeWaitStore&) = delete;
  TimeWaitStore& operator=(const TimeWaitStore&) = delete;

  [[nodiscard]] uint32_t size() const { return size_; }
  [[nodiscard]] uint32_t capacity() const { return capacity_; }
  [[nodiscard]] static constexpr size_t bytes_per_record() { return sizeof(TimeWaitRecord); }
  // What an IPv6 pair adds to its record, in the parallel array.
  [[nodiscard]] static constexpr size_t bytes_per_ipv6_pair() { return sizeof(AddrPair); }
  // Bytes a store of `capacity` records allocates: the records and the bucket index, which
  // every pair touches, and the IPv6 addresses, which only IPv6 pairs do.
  [[nodiscard]] static size_t memory_bytes(uint32_t capacity) {
    const uint32_t c = capacity < 1 ? 1 : capacity;
    return size_t{c} * (sizeof(TimeWaitRecord) + sizeof(AddrPair)) +
           size_t{bucket_count(c)} * sizeof(uint32_t);
  }

  // The pair `r` answers for, from our side.
  [[nodiscard]] net::FourTuple tuple_of(const TimeWaitRecord& r) const {
    net::FourTuple t;
    t.local_port = r.local_port;
    t.remote_port = r.remote_port;
    if (r.v6) {
      const AddrPair& a = pairs_[index(r)];
      t.local_ip.bytes = a.local;
      t.remote_ip.bytes = a.remote;
    } else {
      t.local_ip = net::Ipv4Addr{r.local_v4};
      t.remote_ip = net::Ipv4Addr{r.remote_v4};
    }
    return t;
  }

  [[nodiscard]] TimeWaitRecord* find(const net::FourTuple& tuple) {
    return find(tuple, base::flow_bucket_hash(tuple));
  }
  // `hash`: base::flow_bucket_hash(tuple), computed once for the table's lookup and this one.
  [[nodiscard]] TimeWaitRecord* find(const net::FourTuple& tuple, uint64_t hash) {
    return find(base::FlowProbe(tuple), hash);
  }
  // `hash`: p.hash(), computed once for the table's lookup and this one.
  [[nodiscard]] TimeWaitRecord* find(const base::FlowProbe& p, uint64_t hash) {
    const bool v4 = p.is_v4();
    const auto l4 = static_cast<uint32_t>(p.v4 >> 32);
    const auto r4 = static_cast<uint32_t>(p.v4);
    for (uint32_t i = buckets_[static_cast<uint32_t>(hash) & mask_]; i != TimeWaitRecord::kNone;
         i = records_[i].chain) {
      const TimeWaitRecord& r = records_[i];
      if (r.local_port != p.local_port() || r.remote_port != p.remote_port() || r.v6 == v4)
        continue;
      if (v4 ? (r.local_v4 == l4 && r.remote_v4 == r4)
             : (pairs_[i].local == *p.local6 && pairs_[i].remote == *p.remote6))
        return &records_[i];
    }
    return nullptr;
  }

  // Files a record for `tuple` (which must not be in the store) at the back of the FIFO,
  // expiring at `expiry_ns`. When the store is full the oldest record goes first:
  // `evicted` says so, for the caller's counter. The other fields are the caller's to fill.
  TimeWaitRecord& insert(const net::FourTuple& tuple, uint64_t expiry_ns, bool& evicted) {
    evicted = free_ == TimeWaitRecord::kNone;
    if (evicted) erase(records_[head_]);
    const uint32_t i = free_;
    TimeWaitRecord& r = records_[i];
    free_ = r.next;
    r = TimeWaitRecord{};
    r.local_port = tuple.local_port;
    r.remote_port = tuple.remote_port;
    if (tuple.is_v4()) {
      r.local_v4 = tuple.local_ip.v4().value;
      r.remote_v4 = tuple.remote_ip.v4().value;
    } else {
      r.v6 = true;
      pairs_[i].local = tuple.local_ip.bytes;
      pairs_[i].remote = tuple.remote_ip.bytes;
    }
    r.expiry_ns = expiry_ns;
    const uint32_t b = bucket(tuple);
    r.chain = buckets_[b];
    buckets_[b] = i;
    link_back(i);
    ++size_;
    return r;
  }

  void erase(TimeWaitRecord& r) {
    const uint32_t i = index(r);
    uint32_t* link = &buckets_[bucket(tuple_of(r))];
    while (*link != i) link = &records_[*link].chain;
    *link = r.chain;
    unlink(i);
    r.next = free_;
    free_ = i;
    --size_;
  }

  // RFC 9293 3.10.7.4 eighth: the record lives 2 MSL from now: to the back of the FIFO.
  void restart(TimeWaitRecord& r, uint64_t expiry_ns) {
    const uint32_t i = index(r);
    unlink(i);
    r.expiry_ns = expiry_ns;
    link_back(i);
  }

  // The record that expires first (nullptr when empty).
  [[nodiscard]] TimeWaitRecord* oldest() {
    return head_ == TimeWaitRecord::kNone ? nullptr : &records_[head_];
  }

  // Drops every record due at `now`; returns how many.
  uint32_t expire(uint64_t now) {
    uint32_t n = 0;
    for (TimeWaitRecord* r = oldest(); r && r->expiry_ns <= now; r = oldest(), ++n) erase(*r);
    return n;
  }

  // Visits records oldest first (telemetry, tests); `f` must not change the store.
  template <class F>
  void for_each(F&& f) const {
    for (uint32_t i = head_; i != TimeWaitRecord::kNone; i = records_[i].next) f(records_[i]);
  }

 private:
  // An IPv6 pair's addresses; trivial, so that the array is not written at allocation.
  struct AddrPair {
    std::array<uint8_t, 16> local;
    std::array<uint8_t, 16> remote;
  };

  static uint32_t bucket_count(uint32_t capacity) {
    uint32_t n = 1;
    while (n < capacity) n <<= 1;
    return n;
  }
  [[nodiscard]] uint32_t bucket(const net::FourTuple& t) const {
    return static_cast<uint32_t>(base::flow_bucket_hash(t)) & mask_;
  }
  [[nodiscard]] uint32_t index(const TimeWaitRecord& r) const {
    return static_cast<uint32_t>(&r - records_.get());
  }
  void link_back(uint32_t i) {
    TimeWaitRecord& r = records_[i];
    r.prev = tail_;
    r.next = TimeWaitRecord::kNone;
    if (tail_ != TimeWaitRecord::kNone)
      records_[tail_].next = i;
    else
      head_ = i;
    tail_ = i;
  }
  void unlink(uint32_t i) {
    TimeWaitRecord& r = records_[i];
    if (r.prev != TimeWaitRecord::kNone)
      records_[r.prev].next = r.next;
    else
      head_ = r.next;
    if (r.next != TimeWaitRecord::kNone)
      records_[r.next].prev = r.prev;
    else
      tail_ = r.prev;
  }

  uint32_t capacity_;
  std::unique_ptr<TimeWaitRecord[]> records_;
  std::unique_ptr<AddrPair[]> pairs_;
  uint32_t mask_;
  std::unique_ptr<uint32_t[]> buckets_;
  uint32_t free_ = TimeWaitRecord::kNone;
  uint32_t head_ = TimeWaitRecord::kNone, tail_ = TimeWaitRecord::kNone;
  uint32_t size_ = 0;
};

}  // namespace pollux::tcp
