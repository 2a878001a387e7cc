// Shared by the libFuzzer targets (README.md): the EAL and one mbuf pool for the whole run,
// a reader of the fuzzer's bytes, the invariant every transmitted frame must satisfy, and an
// engine driven in virtual time whose output is checked after every step.
//
// A broken invariant prints one line saying which and aborts, which libFuzzer reports as a
// crash with the input that caused it (saved as crash-<sha1>; rerun the target on that file).
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "engine/engine.hpp"
#include "net/ethernet.hpp"
#include "net/ipv4_addr.hpp"
#include "net/ipv6_addr.hpp"

namespace pollux::fuzz {

inline constexpr uint64_t kMs = 1'000'000;
inline constexpr uint64_t kSecond = 1'000'000'000;

inline const net::MacAddr kOurMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};
inline const net::MacAddr kPeerMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
inline constexpr net::Ipv4Addr kOurIp = net::make_ipv4(10, 0, 0, 2);
inline constexpr net::Ipv4Addr kPeerIp = net::make_ipv4(10, 0, 0, 1);
// The engine's IPv6 address (with its /64 on link) and the peer's, a known neighbour; the
// engine also has the link-local address derived from kOurMac (RFC 4291 2.5.1).
inline const net::Ipv6Addr kOurIp6{{0xfd, 0, 0, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}};
inline const net::Ipv6Addr kPeerIp6{{0xfd, 0, 0, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
inline constexpr uint16_t kOurPort = 80;
inline constexpr uint16_t kMtu = 1500;

// Starts a small EAL (no hugepages, PCI or shared files) once per process.
void init_eal();
// The run's mbuf pool (4095 mbufs of the default size).
[[nodiscard]] rte_mempool* pool();

// Prints "fuzz invariant: <what>" and aborts.
[[noreturn]] void fail(const char* what);
inline void require(bool ok, const char* what) {
  if (!ok) fail(what);
}

// The fuzzer's bytes, consumed front to back; reads past the end give zeros.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : p_(data), left_(size) {}
  [[nodiscard]] bool empty() const { return left_ == 0; }
  [[nodiscard]] size_t left() const { return left_; }
  uint8_t u8() {
    if (left_ == 0) return 0;
    --left_;
    return *p_++;
  }
  uint16_t u16() { return static_cast<uint16_t>(u8() | (u8() << 8)); }
  uint32_t u32() { return u16() | (uint32_t{u16()} << 16); }
  // Up to n bytes (fewer at the end of the input).
  std::span<const uint8_t> bytes(size_t n) {
    n = n < left_ ? n : left_;
    std::span<const uint8_t> s{p_, n};
    p_ += n;
    left_ -= n;
    return s;
  }

 private:
  const uint8_t* p_;
  size_t left_;
};

// Every frame the engine transmits: an Ethernet frame carrying ARP, or IPv4 with a correct
// header checksum, a total length within the MTU and, for TCP and ICMP, a correct checksum
// and a header (and TCP options) that parse; or IPv6 from one of our addresses, within the
// MTU, without extension headers, carrying TCP or ICMPv6 that parse with correct checksums.
void check_output_frame(std::span<const uint8_t> frame, uint16_t mtu = kMtu);

// Fills in what makes a frame from the fuzzer reach the layer under test instead of the
// first length or checksum drop: our MAC, the IPv4 total length and header checksum, and the
// TCP or ICMP checksum; for IPv6 the version, payload length, destination (our address) and
// the TCP or ICMPv6 checksum after the extension headers. Any of those fields the fuzzer
// wants wrong it gets by not asking.
void fix_frame(std::vector<uint8_t>& frame);

// One engine at 10.0.0.2 and kOurIp6 (MAC kOurMac) that knows the peer's MAC for 10.0.0.1
// and kPeerIp6, in virtual time.
// Each step's output is checked and freed; finish() closes what the application holds, runs
// the clock 10 minutes and requires every mbuf back in the pool.
class EngineHarness {
 public:
  explicit EngineHarness(const tcp::TcpConfig& config);
  ~EngineHarness();
  EngineHarness(const EngineHarness&) = delete;
  EngineHarness& operator=(const EngineHarness&) = delete;

  // Delivers one frame as an RX burst; returns false when the pool is empty.
  bool inject(std::span<const uint8_t> frame);
  // Moves the clock on by ns, polling the engine every `step` ns.
  void advance(uint64_t ns, uint64_t step = kMs);
  // Checks and frees what the engine transmitted, handing each frame to `seen` first.
  void drain();
  void finish();

  [[nodiscard]] engine::Engine& engine() { return *engine_; }
  [[nodiscard]] uint64_t now() const { return now_; }
  // Called with each transmitted frame before it is freed.
  void (*on_output)(void* ctx, std::span<const uint8_t> frame) = nullptr;
  void* on_output_ctx = nullptr;
  // Connections the application holds (accepted or connected, not yet closed).
  std::vector<Conn*> conns;
  static const AppEvents kEvents;
  bool auto_read = true;

 private:
  std::unique_ptr<engine::Engine> engine_;
  uint64_t now_;
  std::vector<uint8_t> scratch_;
};

// A default fuzzing TcpConfig: small tables, fixed ISN key.
[[nodiscard]] tcp::TcpConfig fuzz_tcp_config();

}  // namespace pollux::fuzz
