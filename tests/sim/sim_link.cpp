#include "sim_link.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "engine/checksum_offload.hpp"
#include "net/bytes.hpp"
#include "net/checksum.hpp"
#include "net/ethernet.hpp"
#include "net/ipv4.hpp"
#include "net/ipv6.hpp"

namespace pollux::sim {

namespace {

void append(std::string& out, const char* name, double v) {
  if (v == 0) return;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%s=%g", out.empty() ? "" : " ", name, v);
  out += buf;
}
void append(std::string& out, const char* name, uint64_t v) {
  if (v == 0) return;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%s=%llu", out.empty() ? "" : " ", name,
                static_cast<unsigned long long>(v));
  out += buf;
}

// IPv6 (no extension headers: pollux sends none): the TCP checksum over the pseudo-header,
// from the seed in the field, or from scratch for a TSO frame (its seed has no length).
void complete_tx_checksums6(rte_mbuf* m, uint8_t* ip, bool tso) {
  const uint32_t l4 = net::kEthernetHeaderLen + net::kIpv6HeaderLen;
  const uint32_t len = net::load_be16(ip + 4);
  if (ip[6] != net::kIpProtoTcp || len < 18 || rte_pktmbuf_data_len(m) < l4 + 18) return;
  uint8_t* field = ip + net::kIpv6HeaderLen + 16;
  uint32_t seed = 0;
  if (tso) {
    net::store_be16(field, 0);
    net::Ipv6Addr src, dst;
    std::memcpy(src.bytes.data(), ip + 8, 16);
    std::memcpy(dst.bytes.data(), ip + 24, 16);
    seed = net::ipv6_pseudo_header_sum(src, dst, net::kIpProtoTcp, len);
  }
  const uint32_t sum = engine::mbuf_checksum_accumulate(m, l4, len, seed);
  net::store_be16(field, static_cast<uint16_t>(~net::checksum_fold(sum)));
}

// What a NIC with TX checksum offload does to a frame prepared by prepare_tx_checksums: the
// IPv4 header checksum from scratch, the TCP checksum from the pseudo-header seed the stack
// left in the field (IPv6, RFC 8200 8.1: no header checksum, TCP's over its pseudo-header).
// A TSO frame (RTE_MBUF_F_TX_TCP_SEG) is delivered whole, as the in-memory link delivers it
// (as LRO would have coalesced the segments a NIC cut from it): its checksums are completed
// for the frame as it stands, the TCP one from scratch (the seed holds no length).
void complete_tx_checksums(rte_mbuf* m) {
  const uint64_t f = m->ol_flags;
  const bool tso = (f & RTE_MBUF_F_TX_TCP_SEG) != 0;
  if (!(f & RTE_MBUF_F_TX_IP_CKSUM) && (f & RTE_MBUF_F_TX_L4_MASK) != RTE_MBUF_F_TX_TCP_CKSUM &&
      !tso)
    return;
  if (rte_pktmbuf_data_len(m) < net::kEthernetHeaderLen + net::kIpv4MinHeaderLen) return;
  uint8_t* ip = rte_pktmbuf_mtod_offset(m, uint8_t*, net::kEthernetHeaderLen);
  if ((ip[0] >> 4) == 6) return complete_tx_checksums6(m, ip, tso);
  const uint32_t ihl = (ip[0] & 0x0fu) * 4u;
  if (f & RTE_MBUF_F_TX_IP_CKSUM) {
    net::store_be16(ip + 10, 0);
    net::store_be16(ip + 10, net::internet_checksum({ip, ihl}));
  }
  if ((f & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_TCP_CKSUM || tso) {
    const uint32_t total = net::load_be16(ip + 2);
    const uint32_t l4 = net::kEthernetHeaderLen + ihl;
    if (total < ihl + 18 || rte_pktmbuf_data_len(m) < l4 + 18) return;
    uint32_t seed = 0;
    if (tso) {
      net::store_be16(ip + ihl + 16, 0);
      seed = net::ipv4_pseudo_header_sum(net::Ipv4Addr{net::load_be32(ip + 12)},
                                         net::Ipv4Addr{net::load_be32(ip + 16)}, net::kIpProtoTcp,
                                         total - ihl);
    }
    const uint32_t sum = engine::mbuf_checksum_accumulate(m, l4, total - ihl, seed);
    net::store_be16(ip + ihl + 16, static_cast<uint16_t>(~net::checksum_fold(sum)));
  }
}

}  // namespace

std::string Faults::describe() const {
  std::string s;
  append(s, "loss", loss);
  append(s, "dup", duplicate);
  append(s, "reorder", reorder);
  append(s, "reorder_delay_ns", reorder_delay_ns);
  append(s, "corrupt", corrupt);
  append(s, "delay_ns", delay_ns);
  append(s, "bw_bps", bandwidth_bps);
  append(s, "max_queue_bytes", max_queue_bytes);
  append(s, "overhead_bytes", uint64_t{overhead_bytes});
  if (p_good_to_bad > 0) {
    append(s, "ge_gb", p_good_to_bad);
    append(s, "ge_bg", p_bad_to_good);
    append(s, "ge_loss_bad", loss_in_bad);
  }
  if (hand_over) s += s.empty() ? "hand_over" : " hand_over";
  return s.empty() ? "none" : s;
}

const char* link_event_name(LinkEvent e) {
  switch (e) {
    case LinkEvent::delivered:
      return "delivered";
    case LinkEvent::lost:
      return "lost";
    case LinkEvent::burst_lost:
      return "burst-lost";
    case LinkEvent::queue_drop:
      return "queue-drop";
    case LinkEvent::fcs_drop:
      return "fcs-drop";
    case LinkEvent::no_mbuf:
      return "no-mbuf";
  }
  return "?";
}

SimLink::SimLink(const Faults& faults, uint64_t seed, rte_mempool* pool)
    : faults_(faults), rng_(seed), pool_(pool) {}

SimLink::~SimLink() {
  for (auto& f : heap_) rte_pktmbuf_free(f.m);
}

uint64_t SimLink::next_delivery() const {
  return heap_.empty() ? UINT64_MAX : heap_.front().at;
}

rte_mbuf* SimLink::take_ownership(rte_mbuf* m, bool will_mutate) {
  const bool own_head = RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1;
  const bool exclusive = own_head && m->nb_segs == 1 && m->next == nullptr;
  // Handed over: the head (headers, where the checksums are completed) must be the frame's
  // own; the payload buffers may be shared as long as nothing writes to them.
  const bool keep = exclusive || (faults_.hand_over && own_head && !will_mutate);
  if (!keep) {
    rte_mbuf* c = rte_pktmbuf_copy(m, pool_, 0, UINT32_MAX);
    if (c) c->ol_flags = m->ol_flags;  // rte_pktmbuf_copy keeps tx_offload, not the flags
    rte_pktmbuf_free(m);
    m = c;
    if (!m) return nullptr;
  }
  complete_tx_checksums(m);
  return m;
}

void SimLink::drop(LinkEvent why, uint64_t now, rte_mbuf* m, uint8_t marks) {
  if (observer_) observer_(why, now, m, marks);
  rte_pktmbuf_free(m);
}

void SimLink::schedule(rte_mbuf* m, uint64_t at, uint8_t marks) {
  heap_.push_back(InFlight{at, next_seq_++, m, marks});
  std::push_heap(heap_.begin(), heap_.end(), Later{});
}

bool SimLink::corrupt_one_bit(rte_mbuf* m, uint64_t draw) {
  const uint32_t len = rte_pktmbuf_data_len(m);
  const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint16_t type = len >= net::kEthernetHeaderLen ? net::load_be16(p + 12) : 0;
  uint32_t total = 0;
  if (type == static_cast<uint16_t>(net::EtherType::ipv4) &&
      len >= net::kEthernetHeaderLen + net::kIpv4MinHeaderLen) {
    total = net::load_be16(p + net::kEthernetHeaderLen + 2);
  } else if (type == static_cast<uint16_t>(net::EtherType::ipv6) &&
             len >= net::kEthernetHeaderLen + net::kIpv6HeaderLen) {
    // RFC 8200 3: the payload length leaves out the fixed header. IPv6 has no header
    // checksum: a flipped address bit is caught by TCP's and ICMPv6's pseudo-header sums,
    // a flipped length or next header by the receiver's parse; a flipped hop limit, traffic
    // class or flow label changes nothing a host checks, as on a real wire.
    total = net::kIpv6HeaderLen + net::load_be16(p + net::kEthernetHeaderLen + 4);
  } else {
    return false;
  }
  const uint32_t span = std::clamp<uint32_t>(total, 1, len - net::kEthernetHeaderLen);
  const uint64_t bit = draw % (uint64_t{span} * 8);
  uint8_t* byte = rte_pktmbuf_mtod_offset(m, uint8_t*, net::kEthernetHeaderLen + bit / 8);
  *byte = static_cast<uint8_t>(*byte ^ (1u << (bit % 8)));
  return true;
}

void SimLink::send(rte_mbuf* m, uint64_t now) {
  ++stats_.sent;
  // The same draws for every frame, whatever the probabilities (see the header).
  const bool lose = rng_.chance(faults_.loss);
  const bool lose_bad = rng_.chance(faults_.loss_in_bad) && bad_state_;
  const bool flip_state = rng_.chance(bad_state_ ? faults_.p_bad_to_good : faults_.p_good_to_bad);
  const bool corrupt = rng_.chance(faults_.corrupt);
  const uint64_t corrupt_bit = rng_.next();
  const bool duplicate = rng_.chance(faults_.duplicate);
  const bool reorder0 = rng_.chance(faults_.reorder);
  const uint64_t extra0 = rng_.next();
  const bool reorder1 = rng_.chance(faults_.reorder);
  const uint64_t extra1 = rng_.next();
  // Gilbert-Elliott: this frame's fate was decided by the state it found; then the state moves.
  bad_state_ = faults_.p_good_to_bad > 0 && (bad_state_ != flip_state);

  m = take_ownership(m, corrupt);
  if (!m) {
    ++stats_.nombuf_drops;
    return;
  }

  // 1. Transmitter.
  uint64_t depart = now;
  if (faults_.bandwidth_bps > 0) {
    while (!queue_.empty() && queue_.front().first <= now) {
      queued_bytes_ -= queue_.front().second;
      queue_.pop_front();
    }
    const uint32_t bytes = rte_pktmbuf_pkt_len(m) + faults_.overhead_bytes;
    if (faults_.max_queue_bytes > 0 && queued_bytes_ + bytes > faults_.max_queue_bytes) {
      ++stats_.queue_drops;
      return drop(LinkEvent::queue_drop, now, m, 0);
    }
    const uint64_t bits = uint64_t{bytes} * 8;
    const uint64_t wire_ns =
        (bits * 1'000'000'000ull + faults_.bandwidth_bps - 1) / faults_.bandwidth_bps;
    depart = std::max(now, busy_until_) + wire_ns;
    busy_until_ = depart;
    queue_.emplace_back(depart, bytes);
    queued_bytes_ += bytes;
    stats_.max_queue_bytes_seen = std::max(stats_.max_queue_bytes_seen, queued_bytes_);
  }

  // 2. Loss.
  if (lose || (drop_filter_ && drop_filter_(m, now))) {
    ++stats_.lost;
    return drop(LinkEvent::lost, now, m, 0);
  }
  if (lose_bad) {
    ++stats_.burst_lost;
    return drop(LinkEvent::burst_lost, now, m, 0);
  }

  // 3. Corruption.
  uint8_t marks = 0;
  if (corrupt) {
    ++stats_.corrupted;
    if (!corrupt_one_bit(m, corrupt_bit)) {
      ++stats_.fcs_drops;
      return drop(LinkEvent::fcs_drop, now, m, link_mark::corrupted);
    }
    marks |= link_mark::corrupted;
  }

  // 4-6. Duplication, reordering, propagation. The original is scheduled first so that,
  // without reordering, it arrives first.
  const uint64_t base = depart + faults_.delay_ns;
  const uint64_t max_extra = faults_.reorder_delay_ns;
  auto deliver = [&](rte_mbuf* f, bool reorder, uint64_t extra, uint8_t mk) {
    uint64_t at = base;
    if (reorder && max_extra > 0) {
      ++stats_.reordered;
      mk |= link_mark::reordered;
      at += 1 + extra % max_extra;
    }
    schedule(f, at, mk);
  };
  rte_mbuf* copy = nullptr;
  if (duplicate) {
    copy = rte_pktmbuf_copy(m, pool_, 0, UINT32_MAX);
    if (copy) {
      ++stats_.duplicated;
    } else {
      ++stats_.nombuf_drops;
    }
  }
  deliver(m, reorder0, extra0, marks);
  if (copy) deliver(copy, reorder1, extra1, static_cast<uint8_t>(marks | link_mark::duplicate));
}

uint16_t SimLink::receive(uint64_t now, rte_mbuf** out, uint16_t max) {
  uint16_t n = 0;
  while (n < max && !heap_.empty() && heap_.front().at <= now) {
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    InFlight f = heap_.back();
    heap_.pop_back();
    rte_mbuf* m = f.m;
    // Fresh from the wire: no offload requests, no RX verdicts. A TSO frame arrives as an LRO
    // frame (RTE_MBUF_F_RX_LRO, tso_segsz the segment size), still with no verdicts: the
    // receiver checks its checksums.
    const bool lro = (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) != 0;
    const uint16_t segsz = static_cast<uint16_t>(m->tso_segsz);
    m->ol_flags = lro ? RTE_MBUF_F_RX_LRO : 0;
    m->packet_type = 0;
    m->tx_offload = 0;
    if (lro) m->tso_segsz = segsz;
    ++stats_.delivered;
    stats_.delivered_bytes += rte_pktmbuf_pkt_len(m);
    if (observer_) observer_(LinkEvent::delivered, now, m, f.marks);
    out[n++] = m;
  }
  return n;
}

}  // namespace pollux::sim
