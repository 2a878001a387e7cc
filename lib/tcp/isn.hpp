// Initial sequence numbers per RFC 6528 section 3:
//
//     ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
//
// M is a timer ticking every 4 microseconds, so that successive incarnations of one connection
// (same 4-tuple, hence the same F) get ISNs that keep moving forward, as RFC 9293 3.4.1 asks
// of the ISN clock to keep old duplicates out of new connections. F is SipHash-2-4 keyed with a
// 128-bit secret, which RFC 6528 section 3 asks to be a PRF an off-path attacker cannot
// compute: different 4-tuples get unrelated offsets, so seeing our ISN on one connection says
// nothing about the next one to a different peer (the blind-spoofing attacks of RFC 6528 1).
//
// The time comes in as `now_ns` (the engine's clock, virtual in the simulator); nothing here
// reads a clock. The key is fixed for the life of the generator; random_key() draws one from
// the OS at start ("random per start"), tests pass a fixed one.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "base/flow_table.hpp"
#include "net/seq.hpp"
#include "tcp/siphash.hpp"

namespace pollux::tcp {

class IsnGenerator {
 public:
  explicit IsnGenerator(const SipKey& key) : key_(key) {}

  // A fresh secret key from the OS: getrandom(2), with std::random_device as the fallback
  // where the system call is unavailable. Called once at start, never per packet. RFC 6528
  // section 3 wants the key kept secret and not predictable; RFC 6528 section 4 discusses
  // changing it, which here means a new generator (and so a new start).
  [[nodiscard]] static SipKey random_key();

  // M: now_ns in units of 4 microseconds, truncated to 32 bits (RFC 6528 section 3: "M is the
  // 4 microsecond timer"). It wraps every 2^32 * 4 us, about 4.77 hours, as RFC 9293 3.4.1's
  // ISN clock does.
  [[nodiscard]] static constexpr uint32_t clock_component(uint64_t now_ns) {
    return static_cast<uint32_t>(now_ns / kNsPerTick);
  }

  // F: SipHash-2-4 of the 4-tuple under the secret key, the low 32 bits of its output. The
  // message is the RFC's argument order in network byte order, 12 bytes:
  // local ip (4), local port (2), remote ip (4), remote port (2).
  [[nodiscard]] uint32_t hash_component(const net::FourTuple& tuple) const;

  // The ISN for a connection on `tuple` (from this host's point of view) opened at now_ns.
  // The sum is modulo 2^32, like all sequence arithmetic (RFC 9293 3.4).
  [[nodiscard]] net::Seq isn(const net::FourTuple& tuple, uint64_t now_ns) const {
    return isn_from(hash_component(tuple), now_ns);
  }
  // The same from F already computed (a caller that needs F for something else too).
  [[nodiscard]] static constexpr net::Seq isn_from(uint32_t f, uint64_t now_ns) {
    return net::Seq(clock_component(now_ns) + f);
  }

  // A key for another purpose (SYN cookies), derived from the secret so that one random
  // draw at start serves both, and the two PRFs stay independent (domain separation). Each
  // half is the PRF of the label with its own last byte, so neither half gives the other.
  [[nodiscard]] SipKey derived_key(uint64_t label) const {
    std::array<uint8_t, 9> m{};
    for (int i = 0; i < 8; ++i) m[static_cast<size_t>(i)] = static_cast<uint8_t>(label >> (8 * i));
    const uint64_t k0 = siphash24(key_, m);
    m[8] = 1;
    return SipKey{k0, siphash24(key_, m)};
  }

  // The message F hashes: local address, local port, remote address, remote port in network
  // order, 12 bytes for IPv4 (the layout before IPv6, so IPv4 ISNs are unchanged) and 36 for
  // IPv6. Exposed so that tests can pin the layout.
  struct TupleMessage {
    std::array<uint8_t, 36> bytes{};
    size_t len = 0;
    [[nodiscard]] std::span<const uint8_t> span() const { return {bytes.data(), len}; }
  };
  [[nodiscard]] static TupleMessage tuple_message(const net::FourTuple& tuple);
  // The IPv4 message as two network-order integers, for siphash24_words(): its first 8
  // bytes (local address, local port, the remote address's high half) and its last 4 (the
  // remote address's low half, remote port). SYN cookies append their fields to the same.
  struct V4Message {
    uint64_t head = 0;
    uint32_t rest = 0;
  };
  [[nodiscard]] static constexpr V4Message v4_message(const net::FourTuple& tuple) {
    const uint32_t local = tuple.local_ip.v4().value;
    const uint32_t remote = tuple.remote_ip.v4().value;
    return {(uint64_t{local} << 32) | (uint64_t{tuple.local_port} << 16) | (remote >> 16),
            ((remote & 0xffffu) << 16) | tuple.remote_port};
  }

  static constexpr uint64_t kNsPerTick = 4000;  // 4 us

 private:
  SipKey key_;
};

}  // namespace pollux::tcp
