// Flow lookup: the demux step of every received segment (DESIGN.md: hash(4-tuple) -> this
// lcore's shard of the connection table). pollux's FlowTable (intrusive, fixed buckets) against
// two baselines holding the same keys, looked up in the same order in the same run:
//   rte_hash       DPDK's cuckoo hash (CRC32 hash function, as DPDK's l3fwd uses it)
//   unordered_map  std::unordered_map<FourTuple, Entry*> with pollux's bucket hash
// A hit reads one field of the entry found (a real lookup goes on to use the TCB), so every
// implementation pays for touching the entry; a miss is a SYN or stray segment for no flow.
// Entries are 256 bytes, a stand-in for a TCB, spread over a pool like the TCB pool.
//
// Names: FlowLookupHit/<impl>/<entries>, FlowLookupMiss/<impl>/<entries>; pollux is the subject,
// the others are baselines (bench/micro/run.sh prints the ratios).
#include <benchmark/benchmark.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/flow_table.hpp"

namespace {

using pollux::base::FlowLink;
using pollux::base::FlowTable;
using pollux::net::FourTuple;

struct Entry : FlowLink {
  FourTuple key;  // the tuple whole, for the other implementations (the IPv4 keys need no room)
  uint64_t state = 0;
  uint8_t rest[256 - sizeof(FlowLink) - sizeof(FourTuple) - sizeof(uint64_t)] = {};
};

constexpr size_t kLookupKeys = 4096;  // the lookup sequence, cycled

// A server's view: one local address and port, remote peers spread over a /16 with ephemeral
// ports. `salt` separates the key sets used for hits and for misses.
std::vector<FourTuple> make_tuples(size_t n, uint32_t salt) {
  std::mt19937_64 rng(0x9e3779b9u ^ salt);
  std::vector<FourTuple> v;
  v.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    FourTuple t;
    t.local_ip = pollux::net::Ipv4Addr{0x0a000002};
    t.local_port = 8080;
    t.remote_ip = pollux::net::Ipv4Addr{0x0a010000u | static_cast<uint32_t>(rng() & 0xffff)};
    // Even ports for the table's keys, odd ones for misses: the two sets never meet.
    t.remote_port = static_cast<uint16_t>(((32768 + rng() % 28000) & ~1u) | (salt & 1));
    v.push_back(t);
  }
  return v;
}

// Shared fixture data for one table size: the entries, and the lookup sequences.
struct Keys {
  std::vector<Entry> entries;
  std::vector<FourTuple> hits;    // keys of present entries, in random order
  std::vector<FourTuple> misses;  // keys of absent flows

  explicit Keys(size_t n) : entries(n) {
    // A repeated tuple (a few in the largest set) is refused by FlowTable and overwritten in
    // the others; its key still hits, so every implementation sees the same lookups.
    auto tuples = make_tuples(n, 0);
    std::mt19937_64 rng(42);
    for (size_t i = 0; i < n; ++i) {
      entries[i].set_tuple(tuples[i], nullptr);
      entries[i].key = tuples[i];
      entries[i].state = i;
    }
    hits.reserve(kLookupKeys);
    for (size_t i = 0; i < kLookupKeys; ++i) hits.push_back(tuples[rng() % n]);
    misses = make_tuples(kLookupKeys, 1);
  }
};

struct PolluxImpl {
  FlowTable<Entry> table;
  explicit PolluxImpl(Keys& k) : table(k.entries.size()) {
    for (Entry& e : k.entries) (void)table.insert(e);
  }
  bool ok() const { return true; }
  Entry* find(const FourTuple& t) { return table.find(t); }
};

struct RteHashImpl {
  rte_hash* h = nullptr;
  explicit RteHashImpl(Keys& k) {
    static int serial = 0;
    std::string name = "bench_flow_" + std::to_string(serial++);
    rte_hash_parameters p{};
    p.name = name.c_str();
    p.entries = static_cast<uint32_t>(std::max<size_t>(k.entries.size(), 8));
    p.key_len = sizeof(FourTuple);
    p.hash_func = rte_hash_crc;
    p.hash_func_init_val = 0;
    p.socket_id = SOCKET_ID_ANY;
    h = rte_hash_create(&p);
    if (h == nullptr) return;
    for (Entry& e : k.entries) (void)rte_hash_add_key_data(h, &e.key, &e);
  }
  ~RteHashImpl() { rte_hash_free(h); }
  bool ok() const { return h != nullptr; }
  Entry* find(const FourTuple& t) {
    void* data = nullptr;
    return rte_hash_lookup_data(h, &t, &data) >= 0 ? static_cast<Entry*>(data) : nullptr;
  }
};

struct TupleHash {
  size_t operator()(const FourTuple& t) const {
    return static_cast<size_t>(pollux::base::flow_bucket_hash(t));
  }
};

struct UnorderedMapImpl {
  std::unordered_map<FourTuple, Entry*, TupleHash> map;
  explicit UnorderedMapImpl(Keys& k) {
    map.reserve(k.entries.size());
    for (Entry& e : k.entries) map.emplace(e.key, &e);
  }
  bool ok() const { return true; }
  Entry* find(const FourTuple& t) {
    auto it = map.find(t);
    return it == map.end() ? nullptr : it->second;
  }
};

static_assert(sizeof(FourTuple) == 2 * sizeof(pollux::net::IpAddr) + 4,
              "rte_hash keys are the tuple's raw bytes: no padding");

template <class Impl, bool kHit>
void BM_FlowLookup(benchmark::State& state) {
  Keys keys(static_cast<size_t>(state.range(0)));
  Impl impl(keys);
  if (!impl.ok()) {
    state.SkipWithError("table creation failed");
    return;
  }
  const std::vector<FourTuple>& seq = kHit ? keys.hits : keys.misses;
  size_t i = 0;
  uint64_t found = 0;
  for (auto _ : state) {
    Entry* e = impl.find(seq[i]);
    if (e != nullptr) found += e->state;
    benchmark::DoNotOptimize(found);
    i = (i + 1) & (kLookupKeys - 1);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// 1K: fits in L1/L2; 16K: the default TCB pool of one lcore; 256K: well beyond the caches.
void flow_sizes(benchmark::internal::Benchmark* b) {
  b->Arg(1024)->Arg(16384)->Arg(262144);
}

BENCHMARK_TEMPLATE(BM_FlowLookup, PolluxImpl, true)
    ->Name("FlowLookupHit/pollux")
    ->Apply(flow_sizes);
BENCHMARK_TEMPLATE(BM_FlowLookup, RteHashImpl, true)
    ->Name("FlowLookupHit/rte_hash")
    ->Apply(flow_sizes);
BENCHMARK_TEMPLATE(BM_FlowLookup, UnorderedMapImpl, true)
    ->Name("FlowLookupHit/unordered_map")
    ->Apply(flow_sizes);
BENCHMARK_TEMPLATE(BM_FlowLookup, PolluxImpl, false)
    ->Name("FlowLookupMiss/pollux")
    ->Apply(flow_sizes);
BENCHMARK_TEMPLATE(BM_FlowLookup, RteHashImpl, false)
    ->Name("FlowLookupMiss/rte_hash")
    ->Apply(flow_sizes);
BENCHMARK_TEMPLATE(BM_FlowLookup, UnorderedMapImpl, false)
    ->Name("FlowLookupMiss/unordered_map")
    ->Apply(flow_sizes);

}  // namespace
