// Out-of-order queue: see reassembly.hpp for the shape and the policies.
#include "tcp/reassembly.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <iterator>

namespace pollux::tcp {

using net::SackBlock;
using net::Seq;

namespace {

// The duplicate ranges of one insert, offered in ascending order; keeps the first contiguous
// run of them, which becomes the D-SACK block (RFC 2883 4: one range per ACK, and a segment
// that duplicates several separate ranges reports the first).
class DupRanges {
 public:
  void add(Seq left, Seq right) {
    if (left == right) return;
    total_ += static_cast<uint32_t>(right - left);
    if (!first_) {
      first_ = SackBlock{left, right};
    } else if (extending_ && first_->right == left) {
      first_->right = right;
    } else {
      extending_ = false;
    }
  }
  [[nodiscard]] const std::optional<SackBlock>& first() const { return first_; }
  [[nodiscard]] uint32_t total() const { return total_; }

 private:
  std::optional<SackBlock> first_;
  bool extending_ = true;
  uint32_t total_ = 0;
};

}  // namespace

rte_mbuf* mbuf_trim_front(rte_mbuf* head, uint32_t n) {
  assert(n < head->pkt_len);
  // Whole leading segments go back to their pool; the new head inherits the chain totals.
  while (n >= head->data_len && head->next != nullptr) {
    rte_mbuf* next = head->next;
    next->pkt_len = head->pkt_len - head->data_len;
    next->nb_segs = static_cast<uint16_t>(head->nb_segs - 1);
    n -= head->data_len;
    head->next = nullptr;
    head->nb_segs = 1;
    rte_pktmbuf_free_seg(head);
    head = next;
  }
  // n < data_len now (or head is the last segment and n < pkt_len == data_len).
  if (n > 0) rte_pktmbuf_adj(head, static_cast<uint16_t>(n));
  return head;
}

rte_mbuf* mbuf_trim_back(rte_mbuf* head, uint32_t n) {
  assert(n < head->pkt_len);
  const uint32_t keep = head->pkt_len - n;
  rte_mbuf* last = head;
  uint32_t left = keep;
  uint16_t segs = 1;
  while (left > last->data_len) {
    left -= last->data_len;
    last = last->next;
    ++segs;
  }
  last->data_len = static_cast<uint16_t>(left);
  if (last->next != nullptr) {
    rte_pktmbuf_free(last->next);
    last->next = nullptr;
  }
  head->pkt_len = keep;
  head->nb_segs = segs;
  return last;
}

ReassemblyQueue::ReassemblyQueue(const ReassemblyLimits& limits)
    : limits_(limits), pool_(std::make_unique<Node[]>(size_t{limits.max_nodes} + 1)) {
  // One node more than max_nodes: the reserve for the range that fills the first hole.
  for (size_t i = 0; i <= limits_.max_nodes; ++i) free_.push_front(pool_[i]);
}

ReassemblyQueue::~ReassemblyQueue() {
  clear();
  free_.clear();
}

void ReassemblyQueue::release(Node& n) {
  bytes_ -= n.len;
  mbuf_count_ -= n.head->nb_segs;
  --node_count_;
  rte_pktmbuf_free(n.head);
  n.head = n.tail = nullptr;
  n.len = 0;
  free_.push_front(n);
}

bool ReassemblyQueue::fits(uint32_t a_len, uint32_t a_segs, uint32_t b_len, uint32_t b_segs) const {
  return uint64_t{a_len} + b_len <= limits_.max_chain_bytes &&
         uint64_t{a_segs} + b_segs <= limits_.max_chain_segs;
}

void ReassemblyQueue::clear() {
  tree_.clear_and_dispose([this](Node* n) { release(*n); });
}

Seq ReassemblyQueue::first_seq() const {
  assert(!tree_.empty());
  return tree_.begin()->start;
}

Seq ReassemblyQueue::last_seq() const {
  assert(!tree_.empty());
  return tree_.rbegin()->end();
}

ReassemblyInsert ReassemblyQueue::insert(Seq seq, base::UniqueMbuf m, Seq rcv_nxt) {
  // `m` owns the segment until its chain is linked into a node (release() below): every
  // return before that, a duplicate or a refusal, frees it.
  assert(m);
  ReassemblyInsert r;
  if (m->pkt_len == 0) return r;  // empty
  assert(m->pkt_len < (uint32_t{1} << 31));
  Seq s = seq;
  Seq e = seq + m->pkt_len;
  DupRanges dup;

  auto duplicate = [&](InsertStatus status) {
    stats_.duplicate_bytes += dup.total();
    r.status = status;
    r.dsack = dup.first();
    return r;
  };

  // Text below RCV.NXT was delivered already: only what lies at or beyond it is new
  // (RFC 9293 3.10.7.4; a retransmission overlapping the cumulative ACK is the RFC 2883 4.1.1
  // case, whose D-SACK names the part below RCV.NXT).
  if (e <= rcv_nxt) {
    dup.add(s, e);
    return duplicate(InsertStatus::duplicate);
  }
  if (s < rcv_nxt) {
    dup.add(s, rcv_nxt);
    mbuf_trim_front(m, static_cast<uint32_t>(rcv_nxt - s));
    s = rcv_nxt;
  }

  // The range before ours: if it covers our start, what it holds wins and we trim our front.
  auto it = tree_.upper_bound(s);  // first range starting after s
  Node* left = nullptr;
  if (it != tree_.begin()) {
    Node& p = *std::prev(it);
    if (p.end() > s) {
      if (p.end() >= e) {
        p.recency = ++recency_clock_;  // RFC 2883 4: the next block names p's run
        dup.add(s, e);
        return duplicate(InsertStatus::duplicate);
      }
      dup.add(s, p.end());
      mbuf_trim_front(m, static_cast<uint32_t>(p.end() - s));
      s = p.end();
    }
    if (p.end() == s) left = &p;
  }

  // Ranges inside [s, e) are replaced by our chain (same bytes, one chain instead of several,
  // and no need to split ours); a range crossing e keeps its bytes and we trim our back.
  const auto first_inside = it;
  uint32_t inside_bytes = 0;
  uint32_t inside_segs = 0;
  uint32_t inside_nodes = 0;
  while (it != tree_.end() && it->start < e && it->end() <= e) {
    dup.add(it->start, it->end());
    inside_bytes += it->len;
    inside_segs += it->head->nb_segs;
    ++inside_nodes;
    ++it;
  }
  const auto last_inside = it;  // one past
  Node* right = nullptr;
  Seq new_end = e;
  if (it != tree_.end() && it->start <= e) {
    right = &*it;  // crosses e, or starts exactly at e
    new_end = right->start;
    dup.add(right->start, e);
  }
  const uint32_t len = static_cast<uint32_t>(new_end - s);
  if (len == inside_bytes) {
    // Nothing new: every byte is held already, in ranges that tile [s, e).
    const uint64_t now = ++recency_clock_;
    for (auto i = first_inside; i != last_inside; ++i) i->recency = now;
    if (left != nullptr) left->recency = now;
    if (right != nullptr) right->recency = now;
    return duplicate(InsertStatus::duplicate);
  }
  rte_mbuf* tail = new_end == e ? rte_pktmbuf_lastseg(m.get())
                                : mbuf_trim_back(m.get(), static_cast<uint32_t>(e - new_end));
  e = new_end;
  const uint32_t segs = m->nb_segs;

  const bool merge_left = left != nullptr && fits(left->len, left->head->nb_segs, len, segs);
  const bool merge_right = right != nullptr && fits(len, segs, right->len, right->head->nb_segs);
  const bool needs_node = inside_nodes == 0 && !merge_left && !merge_right;
  bool refuse = false;
  if (s == rcv_nxt) {
    // Fills the first hole: accepted over the limits (see the header), as long as a node is
    // left; the reserve node guarantees one unless the caller skipped a pop.
    refuse = needs_node && free_.empty();
  } else {
    refuse = uint64_t{bytes_} - inside_bytes + len > limits_.max_bytes ||
             uint64_t{mbuf_count_} - inside_segs + segs > limits_.max_mbufs ||
             (needs_node && node_count_ >= limits_.max_nodes);
  }
  if (refuse) {
    ++stats_.dropped_segments;
    stats_.dropped_bytes += len - inside_bytes;
    stats_.duplicate_bytes += dup.total();
    r.status = InsertStatus::dropped;
    r.dsack = dup.first();
    return r;
  }

  for (auto i = first_inside; i != last_inside;) {
    Node& n = *i;
    i = tree_.erase(i);
    release(n);
  }
  bytes_ += len;
  mbuf_count_ += segs;
  const uint64_t now = ++recency_clock_;
  Node* target = nullptr;
  rte_mbuf* const head = m.release();  // queued: the node's chain owns it from here
  if (merge_left) {
    left->tail->next = head;
    left->head->pkt_len += len;
    left->head->nb_segs = static_cast<uint16_t>(left->head->nb_segs + segs);
    left->tail = tail;
    left->len += len;
    target = left;
  } else if (merge_right) {
    // Prepend to the right range. Its key moves down to s, and no key lies in
    // [s, right->start), so the tree's order still holds.
    tail->next = right->head;
    head->pkt_len = len + right->len;
    head->nb_segs = static_cast<uint16_t>(segs + right->head->nb_segs);
    right->head = head;
    right->start = s;
    right->len += len;
    target = right;
    right = nullptr;
  } else {
    Node& n = free_.front();
    free_.pop_front();
    n.start = s;
    n.len = len;
    n.head = head;
    n.tail = tail;
    tree_.insert_before(last_inside, n);
    ++node_count_;
    target = &n;
  }
  target->recency = now;
  if (right != nullptr &&
      fits(target->len, target->head->nb_segs, right->len, right->head->nb_segs)) {
    // Our range closed the gap between left and right: one chain for the whole run.
    target->tail->next = right->head;
    target->head->pkt_len += right->len;
    target->head->nb_segs = static_cast<uint16_t>(target->head->nb_segs + right->head->nb_segs);
    target->tail = right->tail;
    target->len += right->len;
    tree_.erase(tree_.iterator_to(*right));
    right->head = right->tail = nullptr;
    right->len = 0;
    --node_count_;
    free_.push_front(*right);
  }

  stats_.duplicate_bytes += dup.total();
  r.status = InsertStatus::queued;
  r.new_bytes = len - inside_bytes;
  r.dsack = dup.first();
  return r;
}

rte_mbuf* ReassemblyQueue::pop_in_order(Seq& rcv_nxt) {
  while (!tree_.empty()) {
    Node& n = *tree_.begin();
    if (n.start > rcv_nxt) return nullptr;  // a hole at RCV.NXT
    tree_.erase(tree_.begin());
    if (n.end() <= rcv_nxt) {
      release(n);  // already delivered by the caller
      continue;
    }
    if (n.start < rcv_nxt) {
      const auto cut = static_cast<uint32_t>(rcv_nxt - n.start);
      const uint16_t segs_before = n.head->nb_segs;
      n.head = mbuf_trim_front(n.head, cut);
      mbuf_count_ -= segs_before - n.head->nb_segs;
      bytes_ -= cut;
      n.len -= cut;
      n.start = rcv_nxt;
    }
    rte_mbuf* m = n.head;
    rcv_nxt = n.end();
    bytes_ -= n.len;
    mbuf_count_ -= m->nb_segs;
    --node_count_;
    n.head = n.tail = nullptr;
    n.len = 0;
    free_.push_front(n);
    return m;
  }
  return nullptr;
}

size_t ReassemblyQueue::sack_blocks(std::span<SackBlock> out,
                                    const std::optional<SackBlock>& dsack) const {
  const size_t cap = std::min(out.size(), net::kMaxSackBlocks);
  size_t n = 0;
  if (cap == 0) return 0;
  if (dsack) out[n++] = *dsack;
  const size_t want = cap - n;

  // The `want` most recent runs, most recent first; adjacent nodes form one run.
  struct Run {
    SackBlock block;
    uint64_t recency = 0;
  };
  std::array<Run, net::kMaxSackBlocks> best{};
  size_t kept = 0;
  auto offer = [&](const Run& run) {
    if (want == 0) return;
    if (kept == want && best[kept - 1].recency >= run.recency) return;
    size_t i = kept < want ? kept++ : kept - 1;
    while (i > 0 && best[i - 1].recency < run.recency) {
      best[i] = best[i - 1];
      --i;
    }
    best[i] = run;
  };
  bool open = false;
  Run cur;
  for (const Node& x : tree_) {
    if (open && x.start == cur.block.right) {
      cur.block.right = x.end();
      cur.recency = std::max(cur.recency, x.recency);
      continue;
    }
    if (open) offer(cur);
    cur = Run{SackBlock{x.start, x.end()}, x.recency};
    open = true;
  }
  if (open) offer(cur);
  for (size_t i = 0; i < kept; ++i) out[n++] = best[i].block;
  return n;
}

}  // namespace pollux::tcp
