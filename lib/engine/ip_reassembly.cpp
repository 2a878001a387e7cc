#include "engine/ip_reassembly.hpp"

#include <bit>

#include "net/checksum.hpp"
#include "net/ethernet.hpp"

namespace pollux::engine {

using base::Counter;

Ipv4Reassembly::Ipv4Reassembly(const ReassemblyConfig& config, base::Counters& counters)
    : config_(config), counters_(counters) {
  if (config_.max_datagrams == 0 || config_.max_mbufs == 0) return;  // off
  datagrams_.resize(config_.max_datagrams);
  fragments_.resize(config_.max_mbufs);  // every fragment holds at least one mbuf
  buckets_.assign(std::bit_ceil(2u * config_.max_datagrams), kNone);
  for (size_t i = 0; i < datagrams_.size(); ++i)
    datagrams_[i].hash_next = i + 1 < datagrams_.size() ? static_cast<int32_t>(i + 1) : kNone;
  for (size_t i = 0; i < fragments_.size(); ++i)
    fragments_[i].next = i + 1 < fragments_.size() ? static_cast<int32_t>(i + 1) : kNone;
  free_datagram_ = 0;
  free_fragment_ = 0;
}

Ipv4Reassembly::~Ipv4Reassembly() {
  for (Fragment& f : fragments_)
    if (f.m != nullptr) rte_pktmbuf_free(f.m);
}

size_t Ipv4Reassembly::bucket_of(const Key& k) const {
  uint64_t h = (uint64_t{k.src} << 32 | k.dst) * 0x9e3779b97f4a7c15ull;
  h ^= (uint64_t{k.id} << 8 | k.protocol) * 0xc2b2ae3d27d4eb4full;
  return static_cast<size_t>(h >> 32) & (buckets_.size() - 1);
}

int32_t Ipv4Reassembly::find(const Key& k) const {
  for (int32_t d = buckets_[bucket_of(k)]; d != kNone; d = datagrams_[d].hash_next)
    if (datagrams_[d].key == k) return d;
  return kNone;
}

int32_t Ipv4Reassembly::create(const Key& k, uint64_t now_ns) {
  if (free_datagram_ == kNone) expire(now_ns);
  if (free_datagram_ == kNone) return kNone;
  const int32_t d = free_datagram_;
  Datagram& e = datagrams_[d];
  free_datagram_ = e.hash_next;
  e = Datagram{};
  e.key = k;
  // RFC 1122 3.3.2: the timeout is a fixed value from the first fragment, not reset by later
  // ones and not derived from the TTL.
  e.deadline = now_ns + config_.timeout_ns;
  const size_t b = bucket_of(k);
  e.hash_next = buckets_[b];
  buckets_[b] = d;
  // Deadlines grow with creation time: the age list is a FIFO and expiry looks at its head.
  e.older = newest_;
  if (newest_ != kNone) datagrams_[newest_].newer = d;
  newest_ = d;
  if (oldest_ == kNone) oldest_ = d;
  ++datagrams_used_;
  return d;
}

void Ipv4Reassembly::release(int32_t d) {
  Datagram& e = datagrams_[d];
  int32_t* link = &buckets_[bucket_of(e.key)];
  while (*link != d) link = &datagrams_[*link].hash_next;
  *link = e.hash_next;
  (e.older != kNone ? datagrams_[e.older].newer : oldest_) = e.newer;
  (e.newer != kNone ? datagrams_[e.newer].older : newest_) = e.older;
  e.hash_next = free_datagram_;
  free_datagram_ = d;
  --datagrams_used_;
}

void Ipv4Reassembly::discard(rte_mbuf* m, Counter why) {
  counters_.inc(why);
  rte_pktmbuf_free(m);
}

void Ipv4Reassembly::kill(int32_t d, Counter why) {
  Datagram& e = datagrams_[d];
  for (int32_t f = e.fragments; f != kNone;) {
    Fragment& s = fragments_[f];
    const int32_t next = s.next;
    discard(s.m, why);
    s = Fragment{};
    s.next = free_fragment_;
    free_fragment_ = f;
    f = next;
  }
  mbufs_held_ -= e.mbufs;
  e.fragments = kNone;
  e.mbufs = 0;
  e.received = 0;
  e.dead = true;
}

void Ipv4Reassembly::expire_due(uint64_t now_ns) {
  while (oldest_ != kNone && datagrams_[oldest_].deadline <= now_ns) {
    const int32_t d = oldest_;
    // A dead entry holds nothing; a live one's fragments are counted as timed out (RFC 791
    // 3.2: the datagram is discarded when the timer runs out).
    if (!datagrams_[d].dead) {
      const int32_t first = datagrams_[d].fragments;  // sorted by start
      if (hook_ != nullptr && first != kNone && fragments_[first].start == 0)
        hook_(hook_ctx_, fragments_[first].m, now_ns);
      kill(d, Counter::drop_ip_reasm_timeout);
    }
    release(d);
  }
}

rte_mbuf* Ipv4Reassembly::add(rte_mbuf* m, const net::Ipv4Header& ip, uint64_t now_ns) {
  counters_.inc(Counter::ip_reasm_fragments);
  const Key key{ip.src.value, ip.dst.value, ip.id, ip.protocol};
  int32_t d = find(key);
  if (d != kNone && datagrams_[d].deadline <= now_ns) {
    expire(now_ns);  // its time is up: this fragment starts afresh
    d = find(key);
  }
  if (d != kNone && datagrams_[d].dead) {
    discard(m, Counter::drop_ip_reasm_after_error);
    return nullptr;
  }
  const uint32_t len = static_cast<uint32_t>(ip.total_len - ip.header_len);
  const uint32_t start = uint32_t{ip.fragment_offset} * 8;
  const uint32_t end = start + len;
  // Per-fragment rules: the fragment is refused and, if its datagram is in reassembly, the
  // datagram too (it could never be completed correctly).
  Counter refused = Counter::count_;
  if (len == 0 || (ip.more_fragments && len % 8 != 0))
    refused = Counter::drop_ip_reasm_bad_length;  // RFC 791 3.2: 8-octet units but the last
  else if (ip.header_len + end > 65535)
    refused = Counter::drop_ip_reasm_too_long;  // no Total Length can describe it
  else if (ip.header_len + end > config_.max_datagram_len)
    refused = Counter::drop_ip_reasm_oversize;
  if (refused != Counter::count_) {
    if (d != kNone) kill(d, refused);
    discard(m, refused);
    return nullptr;
  }
  const uint16_t nb = m->nb_segs;
  if (free_fragment_ == kNone || mbufs_held_ + nb > config_.max_mbufs) {
    // Memory cap: the fragment is refused; what is held completes or times out.
    discard(m, Counter::drop_ip_reasm_no_memory);
    return nullptr;
  }
  if (d == kNone) {
    d = create(key, now_ns);
    if (d == kNone) {
      discard(m, Counter::drop_ip_reasm_table_full);
      return nullptr;
    }
  }
  Datagram& e = datagrams_[d];

  // Where it goes, by start: after `prev`, before `next`.
  int32_t prev = kNone, next = e.fragments;
  while (next != kNone && fragments_[next].start < start) {
    prev = next;
    next = fragments_[next].next;
  }
  int32_t last = prev;  // the fragment with the highest start, for the end checks
  for (int32_t f = next; f != kNone; f = fragments_[f].next) last = f;

  // RFC 791 3.2: the fragment without More Fragments fixes the datagram's length. A second
  // one that disagrees, or data beyond that length, makes the datagram inconsistent.
  if (!ip.more_fragments) {
    if ((e.have_last && e.end != end) || (last != kNone && fragments_[last].end > end)) {
      kill(d, Counter::drop_ip_reasm_last_conflict);
      discard(m, Counter::drop_ip_reasm_last_conflict);
      return nullptr;
    }
  } else if (e.have_last && end > e.end) {
    kill(d, Counter::drop_ip_reasm_last_conflict);
    discard(m, Counter::drop_ip_reasm_last_conflict);
    return nullptr;
  }
  // Exact duplicates are ignored (RFC 8200 4.5 allows it: the network duplicates packets);
  // any other overlap drops the datagram (RFC 5722 3, applied to IPv4).
  if (next != kNone && fragments_[next].start == start && fragments_[next].end == end) {
    discard(m, Counter::drop_ip_reasm_duplicate);
    return nullptr;
  }
  if ((prev != kNone && fragments_[prev].end > start) ||
      (next != kNone && fragments_[next].start < end)) {
    kill(d, Counter::drop_ip_reasm_overlap);
    discard(m, Counter::drop_ip_reasm_overlap);
    return nullptr;
  }

  const int32_t f = free_fragment_;
  free_fragment_ = fragments_[f].next;
  fragments_[f] = Fragment{m, start, end, next};
  (prev != kNone ? fragments_[prev].next : e.fragments) = f;
  e.received += len;
  e.mbufs = static_cast<uint16_t>(e.mbufs + nb);
  mbufs_held_ += nb;
  if (!ip.more_fragments) {
    e.have_last = true;
    e.end = end;
  }
  // No overlaps and everything below the end: holding `end` bytes means holding them all.
  if (!e.have_last || e.received != e.end) return nullptr;
  return assemble(d);
}

rte_mbuf* Ipv4Reassembly::assemble(int32_t d) {
  Datagram& e = datagrams_[d];
  rte_mbuf* head = nullptr;
  bool ok = true;
  for (int32_t f = e.fragments; f != kNone;) {
    Fragment& s = fragments_[f];
    rte_mbuf* m = s.m;
    const int32_t next = s.next;
    s = Fragment{};
    s.next = free_fragment_;
    free_fragment_ = f;
    f = next;
    if (head == nullptr) {
      head = m;
      continue;
    }
    // A later fragment contributes its payload only: its own headers go.
    const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
    const auto hdr =
        static_cast<uint16_t>(net::kEthernetHeaderLen + (p[net::kEthernetHeaderLen] & 0x0fu) * 4u);
    if (!ok || rte_pktmbuf_adj(m, hdr) == nullptr || rte_pktmbuf_chain(head, m) != 0) {
      ok = false;  // cannot happen with the bounds above; never leak if it does
      rte_pktmbuf_free(m);
    }
  }
  mbufs_held_ -= e.mbufs;
  const uint32_t end = e.end;
  e.fragments = kNone;
  release(d);
  if (!ok) {
    counters_.inc(Counter::drop_ip_reasm_overlap);
    rte_pktmbuf_free(head);
    return nullptr;
  }
  // The first fragment's header (and its options, RFC 791 3.2) describes the datagram now.
  uint8_t* ip = rte_pktmbuf_mtod_offset(head, uint8_t*, net::kEthernetHeaderLen);
  const uint32_t ihl = (ip[0] & 0x0fu) * 4u;
  net::store_be16(ip + 2, static_cast<uint16_t>(ihl + end));
  net::store_be16(ip + 6, 0);
  net::store_be16(ip + 10, 0);
  net::store_be16(ip + 10, net::internet_checksum({ip, ihl}));
  // The device judged at most the first fragment's bytes: no verdict on the L4 checksum of
  // the whole holds (each fragment's "good" was about its IP header only).
  head->ol_flags &= ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK);
  counters_.inc(Counter::ip_reasm_datagrams);
  return head;
}

}  // namespace pollux::engine
