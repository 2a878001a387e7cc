// IPv4 reassembly through the engine (RFC 791 3.2, RFC 1122 3.3.2): fragment sets built by
// hand and captured from Linux go in as frames; what comes out, the counters, and the pool
// (every mbuf back at the end of every test) are checked. Each hostile rule is one test.
#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <span>

#include "../../support/frames.hpp"
#include "../../support/sharded_engines.hpp"
#include "../net/linux_captures.hpp"
#include "../net/linux_captures_frag.hpp"
#include "engine/engine.hpp"
#include "engine_frames.hpp"

namespace pollux::engine {
namespace {

using net::make_ipv4;
using pollux::testing::Frame;

const net::MacAddr kOurMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};
const net::MacAddr kPeerMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
constexpr net::Ipv4Addr kOurIp = make_ipv4(10, 0, 0, 2);
constexpr net::Ipv4Addr kPeerIp = make_ipv4(10, 0, 0, 1);
constexpr uint64_t kSecond = 1'000'000'000;
constexpr unsigned kPoolSize = 1023;

// The TCP header of an IPv4 frame the engine sent (the test fails if it does not parse).
net::TcpHeader tcp_of(const Frame& f) {
  net::Ipv4Header ip;
  EXPECT_EQ(
      net::parse_ipv4({f.data() + net::kEthernetHeaderLen, f.size() - net::kEthernetHeaderLen}, ip),
      net::Ipv4Error::ok);
  net::TcpHeader tcp;
  EXPECT_EQ(net::parse_tcp(ip.payload, tcp), net::TcpHeaderError::ok);
  return tcp;
}

// An IPv4 datagram's fragment [start, start + len) as an Ethernet frame from the peer: the
// datagram's header with length, flags, offset and checksum set for the piece.
Frame fragment(const Frame& datagram, uint32_t start, uint32_t len, bool more,
               const net::MacAddr& dst = kOurMac) {
  const size_t ihl = (datagram[0] & 0x0fu) * 4u;
  Frame ip(datagram.begin(), datagram.begin() + static_cast<long>(ihl));
  ip.insert(ip.end(), datagram.begin() + static_cast<long>(ihl + start),
            datagram.begin() + static_cast<long>(ihl + start + len));
  net::store_be16(ip.data() + 2, static_cast<uint16_t>(ip.size()));
  net::store_be16(ip.data() + 6, static_cast<uint16_t>((more ? 0x2000 : 0) | (start / 8)));
  net::store_be16(ip.data() + 10, 0);
  net::store_be16(ip.data() + 10, net::internet_checksum({ip.data(), ihl}));
  return pollux::testing::eth_frame(dst, kPeerMac, 0x0800, ip);
}

// A datagram cut into pieces of `piece` payload bytes (a multiple of 8), in order.
std::vector<Frame> fragments_of(const Frame& datagram, uint32_t piece) {
  const uint32_t payload = static_cast<uint32_t>(datagram.size()) - ((datagram[0] & 0x0fu) * 4u);
  std::vector<Frame> out;
  for (uint32_t off = 0; off < payload; off += piece) {
    const uint32_t len = std::min(piece, payload - off);
    out.push_back(fragment(datagram, off, len, off + len < payload));
  }
  return out;
}

Frame pattern(size_t n, uint8_t seed = 1) {
  Frame f(n);
  for (size_t i = 0; i < n; ++i) f[i] = static_cast<uint8_t>(seed + i * 7);
  return f;
}

Frame echo_request(size_t data_len, uint16_t ip_id = 0x1234, uint16_t seq = 1) {
  Frame d =
      pollux::testing::ipv4_datagram(kPeerIp, kOurIp, net::kIpProtoIcmp,
                                     pollux::testing::icmp_echo(8, 0x77, seq, pattern(data_len)));
  net::store_be16(d.data() + 4, ip_id);
  net::store_be16(d.data() + 6, 0);  // DF off: it is to be fragmented
  net::store_be16(d.data() + 10, 0);
  net::store_be16(d.data() + 10, net::internet_checksum({d.data(), 20}));
  return d;
}

struct Hosts {
  net::MacAddr our_mac = kOurMac, peer_mac = kPeerMac;
  net::Ipv4Addr our_ip = kOurIp, peer_ip = kPeerIp;
};

class ReassemblyTest : public EngineFrames {
 protected:
  void make_engine(ReassemblyConfig reasm = {}, Offloads offloads = {}, Hosts h = {}) {
    if (!pool_) make_pool(kPoolSize);
    EngineConfig c;
    c.iface.mac = h.our_mac;
    c.iface.addrs = {net::Ipv4Prefix{h.our_ip, 24}};
    c.iface.offloads = offloads;
    c.reasm = reasm;
    c.icmp_echo_rate = 0;  // unlimited: the tests count replies
    start_engine(c);
    hosts_ = h;
    peer_arps_us(0);
  }
  // The peer's MAC, learnt (or refreshed) the way a kernel teaches it: it asks for ours.
  void peer_arps_us(uint64_t now) {
    net::ArpPacket a{net::ArpOp::request, hosts_.peer_mac, hosts_.peer_ip, net::MacAddr{},
                     hosts_.our_ip};
    feed(pollux::testing::eth_frame(net::MacAddr::broadcast(), hosts_.peer_mac, 0x0806,
                                    pollux::testing::arp_body(a)),
         now);
    sent();
  }
  void SetUp() override { make_engine(); }
  // Nothing held anywhere once the engine is gone: reassembly, TCP and TX all returned what
  // they took.
  void TearDown() override { expect_pool_whole(); }

  Hosts hosts_;
};

// What the engine sent, as IPv4 datagrams: fragments (checked for size, offsets and header
// checksums) put back together by offset. Returns the datagrams' IP payloads.
std::vector<Frame> sent_datagrams(const std::vector<Frame>& frames, uint16_t mtu = 1500) {
  std::map<uint16_t, std::map<uint32_t, Frame>> by_id;
  std::map<uint16_t, uint32_t> ends;
  for (const Frame& f : frames) {
    if (net::load_be16(f.data() + 12) != 0x0800) continue;  // ARP refreshing the peer's entry
    EXPECT_LE(f.size(), net::kEthernetHeaderLen + mtu) << "a frame above the MTU";
    net::Ipv4Header ip;
    EXPECT_EQ(net::parse_ipv4(
                  {f.data() + net::kEthernetHeaderLen, f.size() - net::kEthernetHeaderLen}, ip),
              net::Ipv4Error::ok);
    const uint32_t start = uint32_t{ip.fragment_offset} * 8;
    if (ip.more_fragments)
      EXPECT_EQ(ip.payload.size() % 8, 0u);
    else
      ends[ip.id] = start + static_cast<uint32_t>(ip.payload.size());
    by_id[ip.id][start] = Frame(ip.payload.begin(), ip.payload.end());
  }
  std::vector<Frame> out;
  for (auto& [id, pieces] : by_id) {
    Frame d;
    for (auto& [start, bytes] : pieces) {
      EXPECT_EQ(start, d.size()) << "a hole or overlap in what was sent";
      d.insert(d.end(), bytes.begin(), bytes.end());
    }
    EXPECT_EQ(d.size(), ends[id]);
    out.push_back(d);
  }
  return out;
}

// The echo reply pollux must send for `request` (an IPv4 datagram): the same ICMP message
// with type 0 and its checksum adjusted.
Frame expected_reply_icmp(const Frame& request) {
  Frame icmp(request.begin() + 20, request.end());
  icmp[0] = 0;
  net::store_be16(icmp.data() + 2, 0);
  net::store_be16(icmp.data() + 2, net::internet_checksum(icmp));
  return icmp;
}

// --- Whole datagrams, in any order ------------------------------------------------------

TEST_F(ReassemblyTest, FragmentedEchoRequestInOrderIsAnsweredWithTheWholeDataFragmentedToTheMtu) {
  const Frame req = echo_request(3972);  // 4000-byte datagram: 1480 + 1480 + 1020
  feed_all(fragments_of(req, 1480));
  const auto out = sent();
  EXPECT_EQ(out.size(), 3u);
  const auto replies = sent_datagrams(out);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0], expected_reply_icmp(req));
  EXPECT_EQ(count(base::Counter::ip_reasm_fragments), 3u);
  EXPECT_EQ(count(base::Counter::ip_reasm_datagrams), 1u);
  EXPECT_EQ(count(base::Counter::icmp_echo_replies_sent), 1u);
  EXPECT_EQ(count(base::Counter::ip_fragments_created), 3u);
  EXPECT_EQ(engine_->counters().total_drops(), 0u);
}

TEST_F(ReassemblyTest, FragmentsInReverseOrderAreReassembled) {
  const Frame req = echo_request(3000);
  auto fs = fragments_of(req, 800);
  std::reverse(fs.begin(), fs.end());
  feed_all(fs);
  const auto replies = sent_datagrams(sent());
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0], expected_reply_icmp(req));
}

TEST_F(ReassemblyTest, FragmentsInAnyShuffledOrderAreReassembled) {
  for (uint32_t seed = 1; seed <= 50; ++seed) {
    const Frame req = echo_request(2000 + seed * 13, static_cast<uint16_t>(seed));
    auto fs = fragments_of(req, 8 * (8 + seed % 40));
    std::mt19937 rng(seed);
    std::shuffle(fs.begin(), fs.end(), rng);
    feed_all(fs);
    const auto replies = sent_datagrams(sent());
    ASSERT_EQ(replies.size(), 1u) << "seed " << seed;
    EXPECT_EQ(replies[0], expected_reply_icmp(req)) << "seed " << seed;
  }
  EXPECT_EQ(engine_->counters().total_drops(), 0u);
  EXPECT_EQ(held(), 0u);
}

TEST_F(ReassemblyTest, InterleavedDatagramsFromOneSourceAreKeptApartByIdentification) {
  const Frame a = echo_request(2000, 1, 1), b = echo_request(2000, 2, 2);
  auto fa = fragments_of(a, 1000), fb = fragments_of(b, 1000);
  for (size_t i = 0; i < fa.size(); ++i) {
    feed(fb[i]);
    feed(fa[i]);
  }
  const auto replies = sent_datagrams(sent());
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(count(base::Counter::ip_reasm_datagrams), 2u);
}

// RFC 8200 4.5 (applied to IPv4): an exact duplicate may be dropped while the datagram's
// other fragments are kept. pollux does: networks duplicate packets.
TEST_F(ReassemblyTest, ExactDuplicateFragmentIsIgnoredAndTheDatagramCompletes) {
  const Frame req = echo_request(3000);
  auto fs = fragments_of(req, 1024);
  feed(fs[0]);
  feed(fs[0]);
  feed(fs[1]);
  feed(fs[1]);
  feed(fs[2]);
  const auto replies = sent_datagrams(sent());
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0], expected_reply_icmp(req));
  EXPECT_EQ(count(base::Counter::drop_ip_reasm_duplicate), 2u);
}

// --- Hostile fragment sets --------------------------------------------------------------

// RFC 5722 3 (IPv6; Linux applies it to IPv4 too): overlapping fragments drop the whole
// datagram, and the fragments of it still to come.
TEST_F(ReassemblyTest, OverlappingFragmentDropsTheWholeDatagramAndItsLaterFragments) {
  const Frame req = echo_request(3000);
  feed(fragment(req, 0, 1024, true));
  feed(fragment(req, 1024, 1024, true));
  feed(fragment(req, 1016, 16, true));  // overlaps both
  EXPECT_EQ(count(base::Counter::drop_ip_reasm_overlap), 3u) << "the two held and the overlap";
  feed(fragment(req, 2048, 3008 - 2048, false));
  EXPECT_EQ(count(base::Counter::drop_ip_reasm_after_error), 1u);
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(held(), 0u) << "a dropped datagram holds no mbuf";
  // After its timeout the same identification starts afresh.
  engine_->poll(31 * kSecond);
  feed_all(fragments_of(req, 1024), 31 * kSecond);
  EXPECT_EQ(sent_datagrams(sent()).size(), 1u);
}

TEST_F(ReassemblyTest, FragmentOverlappingOnlyItsPredecessorStillDropsTheDatagram) {
  const Frame req = echo_request(2000);
  feed(fragment(req, 1000, 1008, false));
  feed(fragment(req, 0, 1008, true));  // ends 8 bytes into the last fragment
  EXPECT_EQ(count(base::Counter::drop_ip_reasm_overlap), 2u);
  EXPECT_TRUE(sent().empty());
}

// The "ping of death": offset and length that no 16-bit Total Length can describe.
TEST_F(ReassemblyTest, FragmentEndingBeyond65535BytesIsDropped) {
  const Frame req = echo_request(2000);
  Frame f = fragment(req, 0, 16, false);
  uint8_t* ip = f.data() + net::kEthernetHeaderLen;
  net::store_be16(ip + 6, 0x1fff);  // offset 65528, last
  net::store_be16(ip + 10, 0);
  net::store_be16(ip + 10, net::internet_checksum({ip, 20}));
  feed(f);
  EXPECT_EQ(count(base::Counter::drop_ip_reasm_too_long), 1u);
  EXPECT_EQ(engine_->counters().total_drops(), 1u);
}

TEST_F(ReassemblyTest, ZeroLengthAndUnalignedNonLastFragmentsAreDropped) {
  const Frame req = echo_request(2000);
  feed(fragment(req, 0, 0, true));
  feed(fragment(req, 0, 12, true));  // More Fragments, not a multiple of 8
  EXPECT_EQ(count(base::Counter::drop_ip_reasm_bad_length), 2u);
  EXPECT_EQ(engine_->counters().total_drops(), 2u);
  EXPECT_EQ(held(), 0u);
}

TEST_F(ReassemblyTest, SecondLastFragmentThatDisagreesDropsTheDatagram) {
  const Frame req = echo_request(3000);
  feed(fragment(req, 0, 1024, true));
  feed(fragment(req, 2048, 3008 - 2048, false));
  feed(fragment(req, 1024, 8, false));  // a second "last", ending elsewhere
  EXPECT_EQ(count(base::Counter::drop_ip_reasm_last_conflict), 3u);
  EXPECT_TRUE(sent().empty());
}

TEST_F(ReassemblyTest, FragmentBeyondTheLastFragmentsEndDropsTheDatagram) {
  const Frame req = echo_request(3000);
  feed(fragment(req, 2048, 512, true));
  feed(fragment(req, 1024, 512, false));  // claims the datagram ends at 1536
  EXPECT_EQ(count(base::Counter::drop_ip_reasm_last_conflict), 2u);
  EXPECT_EQ(held(), 0u);
}

TEST_F(ReassemblyTest, DatagramAboveTheConfiguredMaximumIsDropped) {
  ReassemblyConfig r;
  r.max_datagram_len = 2000;
  make_engine(r);
  const Frame req = echo_request(3000);
  feed_all(fragments_of(req, 1024));
  EXPECT_TRUE(sent().empty());
  // The second fragment ends past 2000: it and the one held before it; the third belongs
  // to a dropped datagram.
  EXPECT_EQ(count(base::Counter::drop_ip_reasm_oversize), 2u);
  EXPECT_EQ(count(base::Counter::drop_ip_reasm_after_error), 1u);
  EXPECT_EQ(held(), 0u);
}

// --- Bounds: time, table, memory --------------------------------------------------------

TEST_F(ReassemblyTest, IncompleteDatagramTimesOutAfterThirtySecondsAndFreesItsMbufs) {
  const Frame req = echo_request(3000);
  auto fs = fragments_of(req, 1024);
  feed(fs[0], 0);
  feed(fs[1], 10 * kSecond);  // later fragments do not extend the time (RFC 1122 3.3.2)
  EXPECT_EQ(engine_->counters().total_drops(), 0u);
  engine_->poll(30 * kSecond - 1);
  EXPECT_EQ(count(base::Counter::drop_ip_reasm_timeout), 0u);
  engine_->poll(30 * kSecond);
  EXPECT_EQ(count(base::Counter::drop_ip_reasm_timeout), 2u);
  // Fragment zero was there: the source hears of it (the message is checked further down).
  EXPECT_EQ(count(base::Counter::icmp_time_exceeded_sent), 1u);
  (void)sent();
  EXPECT_EQ(held(), 0u);
  feed(fs[2], 30 * kSecond);  // alone now: held until its own timeout
  EXPECT_TRUE(sent().empty());
}

TEST_F(ReassemblyTest, FullTableRefusesNewDatagramsThenRecoversWhenTheOldTimeOut) {
  ReassemblyConfig r;
  r.max_datagrams = 4;
  make_engine(r);
  for (uint16_t id = 1; id <= 10; ++id) feed(fragments_of(echo_request(2000, id), 1024)[0]);
  EXPECT_EQ(count(base::Counter::drop_ip_reasm_table_full), 6u);
  // Completing one of the four held frees its entry for a new datagram.
  feed(fragments_of(echo_request(2000, 1), 1024)[1]);
  EXPECT_EQ(sent_datagrams(sent()).size(), 1u);
  feed_all(fragments_of(echo_request(2000, 20), 1024));
  EXPECT_EQ(sent_datagrams(sent()).size(), 1u);
  EXPECT_EQ(count(base::Counter::drop_ip_reasm_table_full), 6u);
  // Full again; after the timeout every entry is free.
  for (uint16_t id = 30; id <= 40; ++id) feed(fragments_of(echo_request(2000, id), 1024)[0]);
  engine_->poll(31 * kSecond);
  // Each held its fragment zero alone: one Time Exceeded per datagram timed out.
  EXPECT_EQ(count(base::Counter::icmp_time_exceeded_sent),
            count(base::Counter::drop_ip_reasm_timeout));
  (void)sent();
  EXPECT_EQ(held(), 0u);
  feed_all(fragments_of(echo_request(2000, 50), 1024), 31 * kSecond);
  EXPECT_EQ(sent_datagrams(sent()).size(), 1u);
}

TEST_F(ReassemblyTest, MemoryCapRefusesFragmentsAndTheFloodTakesNothingBeyondIt) {
  ReassemblyConfig r;
  r.max_mbufs = 8;
  make_engine(r);
  // A flood of first fragments that never complete: 8 held, the rest refused.
  for (uint16_t id = 1; id <= 100; ++id) feed(fragments_of(echo_request(3000, id), 1024)[0]);
  EXPECT_EQ(held(), 8u);
  EXPECT_EQ(count(base::Counter::drop_ip_reasm_no_memory) +
                count(base::Counter::drop_ip_reasm_table_full),
            92u);
  EXPECT_GE(count(base::Counter::drop_ip_reasm_no_memory), 1u);
  // Unfragmented traffic is untouched by it.
  feed(pollux::testing::eth_frame(kOurMac, kPeerMac, 0x0800, echo_request(100, 999)));
  EXPECT_EQ(sent().size(), 1u);
  engine_->poll(30 * kSecond);
  EXPECT_EQ(count(base::Counter::icmp_time_exceeded_sent), 8u) << "one per datagram held";
  (void)sent();
  EXPECT_EQ(held(), 0u);
  feed_all(fragments_of(echo_request(3000, 500), 1024), 30 * kSecond);
  EXPECT_EQ(sent_datagrams(sent()).size(), 1u);
}

TEST_F(ReassemblyTest, ZeroDatagramsTurnsReassemblyOffAndFragmentsAreDroppedAsBefore) {
  ReassemblyConfig r;
  r.max_datagrams = 0;
  make_engine(r);
  feed_all(fragments_of(echo_request(3000), 1024));
  EXPECT_EQ(count(base::Counter::drop_ip_fragment), 3u);
  EXPECT_TRUE(sent().empty());
}

// --- TCP over fragments -----------------------------------------------------------------

Frame fragmented_syn_datagram(const Frame& payload, uint16_t src_port = 40000) {
  net::TcpBuild t;
  t.src_port = src_port;
  t.dst_port = 9;  // closed: the answer is a RST, proof that TCP took the segment
  t.seq = net::Seq(1000);
  t.flags = net::tcp_flags::syn;
  t.window = 64240;
  Frame d = pollux::testing::ipv4_datagram(
      kPeerIp, kOurIp, net::kIpProtoTcp,
      pollux::testing::tcp_segment(kPeerIp, kOurIp, t, nullptr, payload));
  net::store_be16(d.data() + 6, 0);
  net::store_be16(d.data() + 10, 0);
  net::store_be16(d.data() + 10, net::internet_checksum({d.data(), 20}));
  return d;
}

TEST_F(ReassemblyTest, FragmentedTcpSegmentReachesTcp) {
  feed_all(fragments_of(fragmented_syn_datagram(pattern(2000)), 1000));
  EXPECT_EQ(count(base::Counter::ip_reasm_datagrams), 1u);
  EXPECT_EQ(count(base::Counter::tcp_rst_sent), 1u);
}

TEST_F(ReassemblyTest, FirstFragmentTooShortForTheTcpHeaderIsMadeContiguous) {
  const Frame d = fragmented_syn_datagram(pattern(100));
  feed(fragment(d, 0, 8, true));  // 8 bytes: the ports and sequence number only
  feed(fragment(d, 8, 120 - 8, false));
  EXPECT_EQ(count(base::Counter::tcp_rst_sent), 1u);
  EXPECT_EQ(engine_->counters().total_drops(), 0u);
}

// A device's "L4 checksum good" on a fragment is about nothing: the checksum covers the
// whole segment. The reassembled segment is verified in software whatever the flags said.
TEST_F(ReassemblyTest, TcpChecksumOfReassembledSegmentIsVerifiedInSoftwareDespiteDeviceVerdict) {
  Offloads o;
  o.rx_ipv4_checksum = true;
  o.rx_tcp_checksum = true;
  make_engine({}, o);
  const uint64_t good = RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
  auto fs = fragments_of(fragmented_syn_datagram(pattern(2000)), 1000);
  fs[1][net::kEthernetHeaderLen + 20 + 100] ^= 0x40;  // one payload bit, not in the header
  for (const Frame& f : fs) feed(f, 0, good);
  EXPECT_EQ(count(base::Counter::drop_tcp_bad_checksum), 1u);
  EXPECT_EQ(count(base::Counter::tcp_rst_sent), 0u);
  // Intact, with the same flags: accepted.
  for (const Frame& f : fragments_of(fragmented_syn_datagram(pattern(2000)), 1000))
    feed(f, 0, good);
  EXPECT_EQ(count(base::Counter::tcp_rst_sent), 1u);
}

TEST_F(ReassemblyTest, ChainedEchoRequestWithABadChecksumIsDropped) {
  Frame req = echo_request(3000);
  req[20 + 8 + 2000] ^= 1;  // in the second fragment's bytes
  feed_all(fragments_of(req, 1480));
  EXPECT_EQ(count(base::Counter::drop_icmp_bad_checksum), 1u);
  EXPECT_TRUE(sent().empty());
}

// --- Fragments from Linux ---------------------------------------------------------------

namespace cap = net::capture;

Frame frame_of(std::span<const uint8_t> bytes) {
  return Frame(bytes.begin(), bytes.end());
}

class LinuxFragments : public ReassemblyTest {
 protected:
  void SetUp() override {
    Hosts h;
    h.our_mac = net::MacAddr{{0x02, 0, 0, 0, 0, 0x0b}};
    h.peer_mac = net::MacAddr{{0x02, 0, 0, 0, 0, 0x0a}};
    h.our_ip = cap::kIpB;
    h.peer_ip = cap::kIpA;
    make_engine({}, {}, h);
  }
  const std::vector<Frame> ping_{frame_of(cap::kPing3000Frag1), frame_of(cap::kPing3000Frag2),
                                 frame_of(cap::kPing3000Frag3)};
  const std::vector<Frame> syn_{frame_of(cap::kTcpSyn1600Frag1), frame_of(cap::kTcpSyn1600Frag2)};
};

TEST_F(LinuxFragments, PingOf3000BytesIsAnsweredFragmentedAsLinuxFragmentsIt) {
  feed_all(ping_);
  const auto out = sent();
  ASSERT_EQ(out.size(), 3u);
  // Linux's own reply to the same ping was 1514 + 1514 + 82 bytes.
  EXPECT_EQ(out[0].size(), 1514u);
  EXPECT_EQ(out[1].size(), 1514u);
  EXPECT_EQ(out[2].size(), 82u);
  const auto replies = sent_datagrams(out);
  ASSERT_EQ(replies.size(), 1u);
  Frame request;  // the ICMP message Linux sent, from its fragments
  for (const Frame& f : ping_) request.insert(request.end(), f.begin() + 34, f.end());
  Frame want = request;
  want[0] = 0;
  net::store_be16(want.data() + 2, 0);
  net::store_be16(want.data() + 2, net::internet_checksum(want));
  EXPECT_EQ(replies[0], want);
  EXPECT_EQ(engine_->counters().total_drops(), 0u);
}

TEST_F(LinuxFragments, PingFragmentsInEveryOrderAndDuplicatedAreAnsweredOnce) {
  std::vector<size_t> order = {0, 1, 2};
  uint64_t now = 0;
  do {
    peer_arps_us(now);
    for (size_t i : order) feed(ping_[i], now);
    feed(ping_[order[0]], now);  // a late duplicate: a new datagram after completion, held
    EXPECT_EQ(sent_datagrams(sent()).size(), 1u);
    now += 31 * kSecond;
    engine_->poll(now);  // the lone duplicate times out
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(count(base::Counter::ip_reasm_datagrams), 6u);
  EXPECT_EQ(count(base::Counter::drop_ip_reasm_timeout), 6u);
}

TEST_F(LinuxFragments, FragmentedSynIsReassembledAndAnsweredByTcp) {
  feed(syn_[1]);
  feed(syn_[0]);
  EXPECT_EQ(count(base::Counter::ip_reasm_datagrams), 1u);
  const auto out = sent();
  ASSERT_EQ(out.size(), 1u);
  const net::TcpHeader rst = tcp_of(out[0]);
  // As Linux answered: RST+ACK acknowledging the SYN and its 1600 bytes.
  EXPECT_TRUE(rst.has(net::tcp_flags::rst));
  EXPECT_EQ(rst.ack.v, 1000u + 1 + 1600);
}

TEST_F(LinuxFragments, OverlappingCopyOfALinuxFragmentDropsTheDatagram) {
  // The second fragment again, moved 8 bytes down: it overlaps the first.
  Frame shifted = ping_[1];
  uint8_t* ip = shifted.data() + 14;
  net::store_be16(ip + 6, static_cast<uint16_t>(net::load_be16(ip + 6) - 1));
  net::store_be16(ip + 10, 0);
  net::store_be16(ip + 10, net::internet_checksum({ip, 20}));
  feed(ping_[0]);
  feed(shifted);
  feed(ping_[1]);
  feed(ping_[2]);
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::drop_ip_reasm_overlap), 2u);
  EXPECT_EQ(count(base::Counter::drop_ip_reasm_after_error), 2u);
}

// --- RFC 1122 3.3.2: "an ICMP Time Exceeded message sent to the source host (if fragment
// zero has been received)" when reassembly times out -------------------------------------

// The one ICMP message in `frames` (ARP aside), parsed whole: checksum verified.
struct SentIcmp {
  net::MacAddr eth_dst;
  net::Ipv4Addr src, dst;
  uint8_t type = 0, code = 0;
  uint32_t rest = 0;
  Frame body;
};
std::vector<SentIcmp> sent_icmp(const std::vector<Frame>& frames) {
  std::vector<SentIcmp> out;
  for (const Frame& f : frames) {
    if (net::load_be16(f.data() + 12) != 0x0800) continue;
    net::Ipv4Header ip;
    EXPECT_EQ(net::parse_ipv4({f.data() + 14, f.size() - 14}, ip), net::Ipv4Error::ok);
    EXPECT_EQ(ip.protocol, net::kIpProtoIcmp);
    net::IcmpMessage msg;
    EXPECT_EQ(net::parse_icmp(ip.payload, msg), net::IcmpError::ok);
    SentIcmp s;
    std::copy_n(f.data(), 6, s.eth_dst.bytes.begin());
    s.src = ip.src;
    s.dst = ip.dst;
    s.type = msg.type;
    s.code = msg.code;
    s.rest = msg.rest;
    s.body.assign(msg.body.begin(), msg.body.end());
    out.push_back(s);
  }
  return out;
}

TEST_F(ReassemblyTest, TimeoutHoldingFragmentZeroSendsTimeExceededQuotingItsHeaderAndEightOctets) {
  const auto fs = fragments_of(echo_request(3000), 1024);
  feed(fs[0], 0);
  feed(fs[2], 0);
  engine_->poll(30 * kSecond - 1);
  EXPECT_TRUE(sent().empty());
  engine_->poll(30 * kSecond);
  const auto icmp = sent_icmp(sent());
  ASSERT_EQ(icmp.size(), 1u);
  EXPECT_EQ(icmp[0].eth_dst, kPeerMac);
  EXPECT_EQ(icmp[0].src, kOurIp);
  EXPECT_EQ(icmp[0].dst, kPeerIp);
  EXPECT_EQ(icmp[0].type, 11) << "Time Exceeded";
  EXPECT_EQ(icmp[0].code, 1) << "fragment reassembly time exceeded (RFC 792)";
  EXPECT_EQ(icmp[0].rest, 0u) << "unused, zero";
  // The first fragment's IP header as it arrived, and its first 8 data octets (the echo
  // request's header: type, code, checksum, identifier, sequence).
  const Frame quoted(fs[0].begin() + 14, fs[0].begin() + 14 + 20 + 8);
  EXPECT_EQ(icmp[0].body, quoted);
  EXPECT_EQ(count(base::Counter::icmp_time_exceeded_sent), 1u);
  EXPECT_EQ(count(base::Counter::drop_ip_reasm_timeout), 2u);
}

TEST_F(ReassemblyTest, TimeoutWithoutFragmentZeroSendsNothing) {
  const auto fs = fragments_of(echo_request(3000), 1024);
  feed(fs[1], 0);
  feed(fs[2], 0);
  engine_->poll(30 * kSecond);
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::icmp_time_exceeded_sent), 0u);
  EXPECT_EQ(count(base::Counter::drop_ip_reasm_timeout), 2u);
}

// RFC 1122 3.2.2: no ICMP error about an ICMP error, nor about a frame sent to a link-layer
// broadcast (or multicast) address.
TEST_F(ReassemblyTest, NoTimeExceededAboutAnIcmpErrorOrALinkLayerBroadcast) {
  Frame unreachable =
      pollux::testing::ipv4_datagram(kPeerIp, kOurIp, net::kIpProtoIcmp, pattern(2000));
  unreachable[20] = 3;  // destination unreachable
  net::store_be16(unreachable.data() + 4, 0x4444);
  net::store_be16(unreachable.data() + 6, 0);
  net::store_be16(unreachable.data() + 10, 0);
  net::store_be16(unreachable.data() + 10, net::internet_checksum({unreachable.data(), 20}));
  feed(fragment(unreachable, 0, 1024, true));
  feed(fragment(echo_request(3000), 0, 1024, true, net::MacAddr::broadcast()));
  engine_->poll(30 * kSecond);
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(count(base::Counter::drop_ip_reasm_timeout), 2u);
  EXPECT_EQ(count(base::Counter::icmp_time_exceeded_sent), 0u);
}

// A fragment flood cannot turn pollux into a reflector: Time Exceeded messages come out of a
// per-lcore budget (1000/s, burst 50 by default, as Linux's icmp_msgs_per_sec/_burst).
TEST_F(ReassemblyTest, TimeExceededMessagesComeOutOfABudget) {
  for (uint16_t id = 1; id <= 60; ++id) feed(fragments_of(echo_request(2000, id), 1024)[0]);
  engine_->poll(30 * kSecond);
  EXPECT_EQ(sent_icmp(sent()).size(), 50u);
  EXPECT_EQ(count(base::Counter::icmp_time_exceeded_sent), 50u);
  EXPECT_EQ(count(base::Counter::icmp_errors_rate_limited), 10u);
  EXPECT_EQ(held(), 0u);
}

// --- A reassembled TCP segment goes to the lcore that owns its connection -----------------

// Fragments are not hashed by port, so a fragmented segment lands on whichever lcore the
// first fragment did. Two engines of one port, the shard function and the steering mesh as
// drivers-glue sets them up; the lcores are played in turn on this thread.
class ReassemblySharded : public EngineFrames {};

TEST_F(ReassemblySharded, ASegmentReassembledOnTheWrongLcoreIsPassedToItsOwnerAndAnswered) {
  make_pool(kPoolSize);
  EngineConfig c;
  c.iface.mac = kOurMac;
  c.iface.addrs = {net::Ipv4Prefix{kOurIp, 24}};
  pollux::testing::ShardedEngines lcores(c, pool_.get(), 2, "reasm_st");
  ASSERT_TRUE(lcores.ok());
  const net::ArpPacket who_has{net::ArpOp::request, kPeerMac, kPeerIp, net::MacAddr{}, kOurIp};
  lcores.feed_each(pollux::testing::eth_frame(net::MacAddr::broadcast(), kPeerMac, 0x0806,
                                              pollux::testing::arp_body(who_has)));
  uint16_t sport = 40000;
  while (lcores.map().shard_of(net::FourTuple{kOurIp, kPeerIp, 9, sport}) != 1) ++sport;
  const auto fs = fragments_of(fragmented_syn_datagram(pattern(2000), sport), 1000);

  // Without a mesh (a sharded engine on its own) the segment has nowhere to go: counted.
  for (const Frame& f : fs) lcores.feed(0, f);
  EXPECT_EQ(lcores.count(0, base::Counter::drop_ip_reasm_wrong_lcore), 1u);

  lcores.connect_mesh();
  for (const Frame& f : fs) lcores.feed(0, f);
  EXPECT_EQ(lcores.count(0, base::Counter::ip_reasm_passed_to_owner), 1u);
  EXPECT_EQ(lcores.count(0, base::Counter::steered_out), 1u);
  EXPECT_TRUE(lcores.sent(0).empty());
  EXPECT_EQ(lcores.count(0, base::Counter::tcp_rst_sent), 0u);

  ASSERT_EQ(lcores.deliver_steered(1), 1u);
  const auto out = lcores.sent(1);
  ASSERT_EQ(out.size(), 1u);
  const net::TcpHeader rst = tcp_of(out[0]);
  // The closed port's answer to the whole SYN: RST+ACK for its 2000 bytes and the SYN.
  EXPECT_TRUE(rst.has(net::tcp_flags::rst));
  EXPECT_EQ(rst.dst_port, sport);
  EXPECT_EQ(rst.ack.v, 1000u + 1 + 2000);
  EXPECT_EQ(lcores.count(1, base::Counter::tcp_rst_sent), 1u);
  lcores.stop();
  EXPECT_EQ(held(), 0u) << "mbufs leaked";
}

}  // namespace
}  // namespace pollux::engine
