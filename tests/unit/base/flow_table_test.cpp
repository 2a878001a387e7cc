#include "base/flow_table.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <tuple>
#include <vector>

namespace pollux::base {
namespace {

using net::make_ipv4;

// Stands in for the TCB: the table only needs FlowLink as a base, and room for an IPv6
// tuple's addresses (the TCP layer's is an array beside its TCBs). A copy gets its own.
struct Flow : FlowLink {
  Flow() = default;
  Flow(const net::FourTuple& t, int id_) : id(id_) { set(t); }
  Flow(const Flow& o) : FlowLink(), id(o.id) { set(o.tuple()); }
  Flow& operator=(const Flow&) = delete;
  void set(const net::FourTuple& t) { set_tuple(t, &room); }
  int id = 0;
  Ipv6AddrPair room;
};

constexpr net::FourTuple tuple(uint16_t remote_port, uint8_t remote_last_octet = 2) {
  return {make_ipv4(10, 0, 0, 1), make_ipv4(10, 0, 0, remote_last_octet), 80, remote_port};
}

TEST(FlowTable, InsertFindErase) {
  Flow a(tuple(40000), 1), b(tuple(40001), 2);
  FlowTable<Flow> table(8);
  EXPECT_TRUE(table.empty());
  EXPECT_EQ(table.find(a.tuple()), nullptr);

  EXPECT_EQ(table.insert(a), InsertResult::inserted);
  EXPECT_EQ(table.insert(b), InsertResult::inserted);
  EXPECT_EQ(table.size(), 2u);
  EXPECT_TRUE(a.in_flow_table());
  EXPECT_EQ(table.find(tuple(40000)), &a);
  EXPECT_EQ(table.find(tuple(40001)), &b);

  table.erase(a);
  EXPECT_FALSE(a.in_flow_table());
  EXPECT_EQ(table.find(tuple(40000)), nullptr);
  EXPECT_EQ(table.find(tuple(40001)), &b);
  EXPECT_EQ(table.size(), 1u);

  const auto& view = table;
  EXPECT_EQ(view.find(tuple(40001)), &b);
}

// IPv4 tuples hash exactly as before the tuple held IPv6-sized addresses (the simulator's
// outputs depend on bucket order): the pre-IPv6 formula, written out.
// Issue 13: a caller that hashes a tuple once (an active open: look up, then insert) gets
// from the hashed forms exactly what the plain ones give, over many tuples sharing buckets.
TEST(FlowTable, LookupsAndInsertsWithTheHashComputedOnceAgreeWithThePlainOnes) {
  std::vector<Flow> flows;
  for (uint16_t i = 0; i < 64; ++i) flows.emplace_back(tuple(static_cast<uint16_t>(30000 + i)), i);
  FlowTable<Flow> table(16);  // 16 buckets for up to 16 entries, 64 candidates
  for (Flow& f : flows) {
    const uint64_t h = flow_bucket_hash(f.tuple());
    EXPECT_EQ(table.find(f.tuple(), h), table.find(f.tuple()));
    const InsertResult r = table.insert(f, h);
    EXPECT_EQ(r, f.id < 16 ? InsertResult::inserted : InsertResult::full) << f.id;
    EXPECT_EQ(table.find(f.tuple(), h), f.id < 16 ? &f : nullptr);
  }
  Flow dup(tuple(30003), 99);
  EXPECT_EQ(table.insert(dup, flow_bucket_hash(dup.tuple())), InsertResult::duplicate);
  EXPECT_EQ(table.find(dup.tuple(), flow_bucket_hash(dup.tuple())), &flows[3]);
}

TEST(FlowTable, Ipv4BucketHashIsThePreIpv6Formula) {
  std::mt19937_64 rng(4);
  for (int i = 0; i < 10000; ++i) {
    const net::Ipv4Addr l{static_cast<uint32_t>(rng())}, r{static_cast<uint32_t>(rng())};
    const auto lp = static_cast<uint16_t>(rng()), rp = static_cast<uint16_t>(rng());
    uint64_t h = ((uint64_t{l.value} << 32) | r.value) ^
                 (((uint64_t{lp} << 16) | rp) * 0x9e3779b97f4a7c15ull);
    for (int k = 0; k < 2; ++k) {
      h ^= h >> 32;
      h *= 0xd6e8feb86659fd93ull;
    }
    h ^= h >> 32;
    ASSERT_EQ(flow_bucket_hash(net::FourTuple{l, r, lp, rp}), h);
  }
}

TEST(FlowTable, Ipv6TuplesAreKeysOfTheirOwnBesideIpv4Ones) {
  const net::Ipv6Addr a = *net::Ipv6Addr::parse("2001:db8::1");
  const net::Ipv6Addr b = *net::Ipv6Addr::parse("2001:db8::2");
  // The same address bits as a v4 tuple's would carry, in an IPv6 (not mapped) address.
  const net::Ipv6Addr a0 = *net::Ipv6Addr::parse("::10.0.0.1");
  Flow v4(tuple(40000), 1), v6(net::FourTuple{a, b, 80, 40000}, 2),
      v6b(net::FourTuple{b, a, 80, 40000}, 3),
      compat(net::FourTuple{a0, *net::Ipv6Addr::parse("::10.0.0.2"), 80, 40000}, 4);
  FlowTable<Flow> table(8);
  ASSERT_EQ(table.insert(v4), InsertResult::inserted);
  ASSERT_EQ(table.insert(v6), InsertResult::inserted);
  ASSERT_EQ(table.insert(v6b), InsertResult::inserted);
  ASSERT_EQ(table.insert(compat), InsertResult::inserted);
  EXPECT_EQ(table.find(tuple(40000)), &v4);
  EXPECT_EQ(table.find(net::FourTuple{a, b, 80, 40000}), &v6);
  EXPECT_EQ(table.find(net::FourTuple{b, a, 80, 40000}), &v6b);
  EXPECT_EQ(table.find(net::FourTuple{a, b, 80, 40001}), nullptr);
  EXPECT_TRUE(tuple(40000).is_v4());
  EXPECT_FALSE(v6.tuple().is_v4());
  EXPECT_FALSE(compat.tuple().is_v4());
  // An IPv4-mapped IPv6 value is the IPv4 address itself.
  EXPECT_EQ(net::IpAddr(*net::Ipv6Addr::parse("::ffff:10.0.0.1")),
            net::IpAddr(make_ipv4(10, 0, 0, 1)));
  EXPECT_EQ(net::IpAddr(make_ipv4(10, 0, 0, 1)).to_string(), "10.0.0.1");
  EXPECT_EQ(net::IpAddr(a).to_string(), "2001:db8::1");
}

// The key in 24 B with its hook (issue 13 item 5; 48 while the tuple held two IPv6-sized
// addresses): an IPv4 tuple inline, an IPv6 one's addresses in the room its owner gives.
static_assert(sizeof(FlowLink) == 24);

TEST(FlowLink, GivesBackTheTupleItWasGivenAndHashesItAsTheTupleHashesForBothFamilies) {
  std::mt19937_64 rng(13);
  for (int i = 0; i < 2000; ++i) {
    net::FourTuple t;
    t.local_port = static_cast<uint16_t>(rng());
    t.remote_port = static_cast<uint16_t>(rng());
    if (i % 2) {
      t.local_ip = net::Ipv4Addr{static_cast<uint32_t>(rng())};
      t.remote_ip = net::Ipv4Addr{static_cast<uint32_t>(rng())};
    } else {
      net::Ipv6Addr a, b;
      for (auto& x : a.bytes) x = static_cast<uint8_t>(rng());
      for (auto& x : b.bytes) x = static_cast<uint8_t>(rng());
      a.bytes[0] = b.bytes[0] = 0x20;  // never IPv4-mapped
      t.local_ip = a;
      t.remote_ip = b;
    }
    Flow f(t, i);
    ASSERT_EQ(f.tuple(), t) << i;
    ASSERT_EQ(f.is_v4(), t.is_v4()) << i;
    ASSERT_EQ(f.local_port(), t.local_port);
    ASSERT_EQ(f.remote_port(), t.remote_port);
    ASSERT_EQ(f.bucket_hash(), flow_bucket_hash(t)) << i;
    ASSERT_TRUE(f.matches(FlowProbe(t))) << i;
    if (t.is_v4()) {
      ASSERT_EQ(f.local_v4(), t.local_ip.v4());
      ASSERT_EQ(f.remote_v4(), t.remote_ip.v4());
    }
  }
}

// Issue 13: a received segment's probe is built from its headers' address words (an IPv4
// header's two host-order words, an IPv6 header's addresses where they lie), not from a
// FourTuple. It must be the tuple's probe exactly: the same hash, the same tuple back, the
// same entry found, and no entry of a tuple that differs in any field or in the family.
TEST(FlowProbe, BuiltFromHeaderWordsIsTheTuplesProbeForBothFamilies) {
  std::mt19937_64 rng(1313);
  for (int i = 0; i < 2000; ++i) {
    const auto lport = static_cast<uint16_t>(rng());
    const auto rport = static_cast<uint16_t>(rng());
    net::FourTuple t;
    std::array<uint8_t, 16> l6{}, r6{};
    FlowProbe p = FlowProbe::ipv4(0, 0);
    if (i % 2) {
      const auto l4 = static_cast<uint32_t>(rng()), r4 = static_cast<uint32_t>(rng());
      t = net::FourTuple{net::Ipv4Addr{l4}, net::Ipv4Addr{r4}, lport, rport};
      p = FlowProbe::ipv4(l4, r4);
    } else {
      for (auto& x : l6) x = static_cast<uint8_t>(rng());
      for (auto& x : r6) x = static_cast<uint8_t>(rng());
      l6[0] = r6[0] = 0x20;  // never IPv4-mapped
      t = net::FourTuple{net::Ipv6Addr{l6}, net::Ipv6Addr{r6}, lport, rport};
      p = FlowProbe::ipv6(l6, r6);
    }
    p.set_ports(lport, rport);  // the ports come later, from the TCP header
    ASSERT_EQ(p.tuple(), t) << i;
    ASSERT_EQ(p.is_v4(), t.is_v4()) << i;
    ASSERT_EQ(p.hash(), flow_bucket_hash(t)) << i;
    ASSERT_EQ(p.hash(), FlowProbe(t).hash()) << i;
    Flow f(t, i);
    ASSERT_TRUE(f.matches(p)) << i;
    FlowTable<Flow> table(2);
    ASSERT_EQ(table.insert(f), InsertResult::inserted);
    ASSERT_EQ(table.find(p, p.hash()), &f) << i;
    // Another remote port, or the same words read as the other family: not this entry.
    FlowProbe other = p;
    other.set_ports(lport, static_cast<uint16_t>(rport + 1));
    ASSERT_EQ(table.find(other, other.hash()), nullptr) << i;
    const FlowProbe other_family =
        p.is_v4() ? FlowProbe::ipv6(l6, r6, lport, rport)
                  : FlowProbe::ipv4(net::load_be32(l6.data() + 12), net::load_be32(r6.data() + 12),
                                    lport, rport);
    ASSERT_FALSE(f.matches(other_family)) << i;
    table.erase(f);
  }
}

// An IPv6 key is its addresses, not where they are kept: two entries with equal IPv6 tuples
// in different rooms are duplicates, and a room rewritten for a new tuple (a slot lent
// again) answers for the new tuple only.
TEST(FlowTable, AnIpv6KeyComparesItsAddressesAndItsRoomCanBeReusedForAnother) {
  const net::Ipv6Addr a = *net::Ipv6Addr::parse("2001:db8::1");
  const net::Ipv6Addr b = *net::Ipv6Addr::parse("2001:db8::2");
  const net::Ipv6Addr c = *net::Ipv6Addr::parse("2001:db8::3");
  FlowTable<Flow> table(4);
  Flow first(net::FourTuple{a, b, 80, 40000}, 1), again(net::FourTuple{a, b, 80, 40000}, 2);
  ASSERT_EQ(table.insert(first), InsertResult::inserted);
  EXPECT_EQ(table.insert(again), InsertResult::duplicate);
  table.erase(first);
  first.set(net::FourTuple{a, c, 80, 40000});
  ASSERT_EQ(table.insert(first), InsertResult::inserted);
  EXPECT_EQ(table.find(net::FourTuple{a, b, 80, 40000}), nullptr);
  EXPECT_EQ(table.find(net::FourTuple{a, c, 80, 40000}), &first);
  ASSERT_EQ(table.insert(again), InsertResult::inserted);
  EXPECT_EQ(table.find(net::FourTuple{a, b, 80, 40000}), &again);
  // The same room now holding an IPv4 tuple: the IPv6 one is gone from it.
  table.erase(first);
  first.set(tuple(40000));
  ASSERT_EQ(table.insert(first), InsertResult::inserted);
  EXPECT_EQ(table.find(net::FourTuple{a, c, 80, 40000}), nullptr);
  EXPECT_EQ(table.find(tuple(40000)), &first);
  EXPECT_EQ(table.size(), 2u);
  table.erase(first);  // erase hashes the key again: both families
  table.erase(again);
  EXPECT_TRUE(table.empty());
}

TEST(FlowTable, EveryTupleFieldIsPartOfTheKey) {
  const net::FourTuple base = tuple(40000);
  Flow f(base, 1);
  FlowTable<Flow> table(4);
  ASSERT_EQ(table.insert(f), InsertResult::inserted);

  net::FourTuple t = base;
  t.local_ip = make_ipv4(10, 0, 0, 9);
  EXPECT_EQ(table.find(t), nullptr);
  t = base;
  t.remote_ip = make_ipv4(10, 0, 0, 9);
  EXPECT_EQ(table.find(t), nullptr);
  t = base;
  t.local_port = 81;
  EXPECT_EQ(table.find(t), nullptr);
  t = base;
  t.remote_port = 40001;
  EXPECT_EQ(table.find(t), nullptr);
  // The reverse direction is a different connection as seen from this host.
  const net::FourTuple swapped{base.remote_ip, base.local_ip, base.remote_port, base.local_port};
  EXPECT_EQ(table.find(swapped), nullptr);
  EXPECT_EQ(table.find(base), &f);
}

TEST(FlowTable, DuplicateTupleIsRefusedAndLeavesTheOriginal) {
  Flow first(tuple(40000), 1), second(tuple(40000), 2);
  FlowTable<Flow> table(4);
  ASSERT_EQ(table.insert(first), InsertResult::inserted);
  EXPECT_EQ(table.insert(second), InsertResult::duplicate);
  EXPECT_FALSE(second.in_flow_table());
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.find(tuple(40000))->id, 1);
}

TEST(FlowTable, FullTableRefusesUntilAnEntryLeaves) {
  Flow f[4] = {{tuple(1), 1}, {tuple(2), 2}, {tuple(3), 3}, {tuple(4), 4}};
  FlowTable<Flow> table(3);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(table.insert(f[i]), InsertResult::inserted);
  EXPECT_EQ(table.insert(f[3]), InsertResult::full);
  EXPECT_FALSE(f[3].in_flow_table());
  EXPECT_EQ(table.find(tuple(4)), nullptr);
  EXPECT_EQ(table.size(), 3u);

  table.erase(f[1]);
  EXPECT_EQ(table.insert(f[3]), InsertResult::inserted);
  EXPECT_EQ(table.find(tuple(4)), &f[3]);
  EXPECT_EQ(table.insert(f[1]), InsertResult::full);
}

TEST(FlowTable, DuplicateIsReportedEvenWhenFull) {
  // The more specific answer: the caller has hit an existing connection, not a resource limit.
  Flow a(tuple(1), 1), again(tuple(1), 2);
  FlowTable<Flow> table(1);
  ASSERT_EQ(table.insert(a), InsertResult::inserted);
  EXPECT_EQ(table.insert(again), InsertResult::duplicate);
}

TEST(FlowTable, BucketsArePowerOfTwoAtLeastCapacity) {
  EXPECT_EQ(FlowTable<Flow>(1000).bucket_count(), 1024u);
  EXPECT_EQ(FlowTable<Flow>(1024).bucket_count(), 1024u);
  EXPECT_EQ(FlowTable<Flow>(1025).bucket_count(), 2048u);
  EXPECT_EQ(FlowTable<Flow>(1000).capacity(), 1000u);

  FlowTable<Flow> none(0);
  EXPECT_EQ(none.bucket_count(), 1u);
  Flow f(tuple(1), 1);
  EXPECT_EQ(none.insert(f), InsertResult::full);
}

TEST(FlowTable, ClearAndDestructionUnlinkEntries) {
  Flow a(tuple(1), 1), b(tuple(2), 2);
  {
    FlowTable<Flow> table(4);
    ASSERT_EQ(table.insert(a), InsertResult::inserted);
    ASSERT_EQ(table.insert(b), InsertResult::inserted);
    table.clear();
    EXPECT_TRUE(table.empty());
    EXPECT_FALSE(a.in_flow_table());
    ASSERT_EQ(table.insert(a), InsertResult::inserted);
  }
  EXPECT_FALSE(a.in_flow_table()) << "entries go back to their pool after the table is gone";
}

TEST(FlowTable, ForEachVisitsEveryEntryOnce) {
  std::vector<Flow> flows;
  for (int i = 0; i < 50; ++i) flows.emplace_back(tuple(static_cast<uint16_t>(i)), i);
  FlowTable<Flow> table(64);
  for (auto& f : flows) ASSERT_EQ(table.insert(f), InsertResult::inserted);
  std::vector<int> seen;
  table.for_each([&](Flow& f) { seen.push_back(f.id); });
  std::sort(seen.begin(), seen.end());
  ASSERT_EQ(seen.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(seen[i], i);
}

// Random tuples against std::set as the model: inserts (with natural collisions from a small
// address space), finds, erases, and refills, with the capacity limit in play.
TEST(FlowTable, MatchesAReferenceSetWithRandomTuples) {
  constexpr std::size_t kCapacity = 5000;
  constexpr std::size_t kPool = 20'000;
  std::mt19937 rng(12345);
  auto random_tuple = [&] {
    // Few addresses and ports so that duplicates actually occur.
    return net::FourTuple{make_ipv4(10, 0, 0, static_cast<uint8_t>(1 + rng() % 2)),
                          make_ipv4(192, 168, 1, static_cast<uint8_t>(rng() % 16)),
                          static_cast<uint16_t>(80 + rng() % 2),
                          static_cast<uint16_t>(32768 + rng() % 2048)};
  };
  auto key = [](const net::FourTuple& t) {
    return std::tuple(t.local_ip.v4().value, t.remote_ip.v4().value, t.local_port, t.remote_port);
  };

  std::vector<Flow> pool(kPool);
  FlowTable<Flow> table(kCapacity);
  std::set<std::tuple<uint32_t, uint32_t, uint16_t, uint16_t>> model;
  std::vector<Flow*> live;
  std::size_t next = 0;
  std::size_t full = 0, dup = 0;

  for (int round = 0; round < 3; ++round) {
    // Fill past capacity.
    for (int i = 0; i < 8000 && next < kPool; ++i) {
      Flow& f = pool[next++];
      f.set(random_tuple());
      f.id = static_cast<int>(next);
      const InsertResult r = table.insert(f);
      if (model.contains(key(f.tuple()))) {
        ASSERT_EQ(r, InsertResult::duplicate);
        ++dup;
      } else if (model.size() >= kCapacity) {
        ASSERT_EQ(r, InsertResult::full);
        ++full;
      } else {
        ASSERT_EQ(r, InsertResult::inserted);
        model.insert(key(f.tuple()));
        live.push_back(&f);
      }
      ASSERT_EQ(table.size(), model.size());
    }
    // Every live entry is found as itself; random probes agree with the model.
    for (Flow* f : live) ASSERT_EQ(table.find(f->tuple()), f);
    for (int i = 0; i < 2000; ++i) {
      const net::FourTuple t = random_tuple();
      ASSERT_EQ(table.find(t) != nullptr, model.contains(key(t)));
    }
    // Erase a random half.
    std::shuffle(live.begin(), live.end(), rng);
    const std::size_t keep = live.size() / 2;
    for (std::size_t i = keep; i < live.size(); ++i) {
      table.erase(*live[i]);
      model.erase(key(live[i]->tuple()));
      ASSERT_EQ(table.find(live[i]->tuple()), nullptr);
    }
    live.resize(keep);
    ASSERT_EQ(table.size(), model.size());
  }
  EXPECT_GT(full, 0u);
  EXPECT_GT(dup, 0u);
}

// Bucket occupancy for n keys in n buckets should look like balls in bins: about 1/e of the
// buckets empty and the fullest one in single digits. A weak mix fails this badly on
// sequential ports or addresses (e.g. identity on the port puts everything in a few buckets
// when the table is larger than the port range, or stripes when it is smaller).
void expect_even_spread(const std::vector<net::FourTuple>& tuples, const char* what) {
  std::vector<Flow> flows;
  flows.reserve(tuples.size());
  for (const auto& t : tuples) flows.emplace_back(t, 0);
  FlowTable<Flow> table(tuples.size());
  for (auto& f : flows) ASSERT_EQ(table.insert(f), InsertResult::inserted) << what;

  std::size_t empty = 0, fullest = 0;
  for (std::size_t b = 0; b < table.bucket_count(); ++b) {
    const std::size_t n = table.bucket_size(b);
    empty += n == 0;
    fullest = std::max(fullest, n);
  }
  const double empty_share = static_cast<double>(empty) / static_cast<double>(table.bucket_count());
  EXPECT_LE(fullest, 9u) << what;
  EXPECT_GT(empty_share, 0.30) << what;
  EXPECT_LT(empty_share, 0.45) << what;
  table.clear();
}

TEST(FlowBucketHash, SpreadsSequentialKeys) {
  constexpr int kN = 4096;
  std::vector<net::FourTuple> t;

  // Many connections from one client: sequential ephemeral ports.
  for (int i = 0; i < kN; ++i) t.push_back(tuple(static_cast<uint16_t>(32768 + i)));
  expect_even_spread(t, "sequential remote ports");

  // Active opens from this host to one server: sequential local ports.
  t.clear();
  for (int i = 0; i < kN; ++i) {
    t.push_back(
        {make_ipv4(10, 0, 0, 1), make_ipv4(10, 0, 0, 2), static_cast<uint16_t>(10000 + i), 443});
  }
  expect_even_spread(t, "sequential local ports");

  // Many clients in one subnet, same source port.
  t.clear();
  for (int i = 0; i < kN; ++i) {
    t.push_back(
        {make_ipv4(10, 0, 0, 1), net::Ipv4Addr{make_ipv4(172, 16, 0, 0).value + i}, 80, 50000});
  }
  expect_even_spread(t, "sequential remote addresses");

  // A grid: 64 clients x 64 ports.
  t.clear();
  for (int c = 0; c < 64; ++c) {
    for (int p = 0; p < 64; ++p) {
      t.push_back(tuple(static_cast<uint16_t>(40000 + p), static_cast<uint8_t>(c + 1)));
    }
  }
  expect_even_spread(t, "clients x ports");
}

TEST(FlowBucketHash, IsAConstantExpressionAndDirectional) {
  constexpr net::FourTuple t = tuple(40000);
  constexpr net::FourTuple r{t.remote_ip, t.local_ip, t.remote_port, t.local_port};
  static_assert(flow_bucket_hash(t) == flow_bucket_hash(t));
  EXPECT_NE(flow_bucket_hash(t), flow_bucket_hash(r));
}

}  // namespace
}  // namespace pollux::base
