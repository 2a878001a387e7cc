// Our IPv4 addresses on one port in the forms every received and sent datagram asks about,
// derived once from InterfaceConfig::addrs when the engine is made: the addresses, the
// on-link networks with their masks, and the sources a datagram must not come from. The
// answers are InterfaceConfig's (owns, on_link, is_bad_source; ipv4_addrs_test holds them
// to it), without recomputing each prefix's mask per datagram, and with the common answer
// for a source, "a peer", in one test.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "engine/interface.hpp"
#include "net/ipv4_addr.hpp"

namespace pollux::engine {

class LocalAddrs4 {
 public:
  enum class Source : uint8_t {
    peer,     // a unicast address not ours: accepted
    martian,  // RFC 1122 3.2.1.3 (InterfaceConfig::is_bad_source)
    ours,     // one of our addresses (LAND)
  };

  explicit LocalAddrs4(const InterfaceConfig& iface) {
    for (const auto& p : iface.addrs) {
      add(own_, p.addr.value);
      const Net n{p.addr.value & p.mask(), p.mask()};
      if (std::find(nets_.begin(), nets_.end(), n) == nets_.end()) nets_.push_back(n);
      // A /31 (RFC 3021) or /32 has no broadcast address of its own.
      if (p.length < 31) add(broadcasts_, p.directed_broadcast().value);
    }
    for (uint32_t a : own_) refused_bits_ |= uint64_t{1} << bit_of(a);
    for (uint32_t a : broadcasts_) refused_bits_ |= uint64_t{1} << bit_of(a);
  }

  // What a datagram's source is. Not a unicast peer (0/8, 127/8, 224/4, 240/4: a class
  // test), else a peer unless its bit is set in the 64-bit filter of the addresses refused
  // (our own and our subnets' broadcasts); only then are they compared one by one. A
  // broadcast that is also configured as one of ours counts as martian, as before.
  [[nodiscard]] Source classify_source(net::Ipv4Addr a) const {
    if (!a.is_unicast_peer()) return Source::martian;
    if (((refused_bits_ >> bit_of(a.value)) & 1u) == 0) return Source::peer;
    if (contains(broadcasts_, a.value)) return Source::martian;
    return contains(own_, a.value) ? Source::ours : Source::peer;
  }
  [[nodiscard]] bool owns(net::Ipv4Addr a) const { return contains(own_, a.value); }
  // RFC 1122 3.3.1.1: a destination within one of our prefixes is reached directly.
  [[nodiscard]] bool on_link(net::Ipv4Addr a) const {
    for (const Net& n : nets_)
      if ((a.value & n.mask) == n.network) return true;
    return false;
  }

 private:
  struct Net {
    uint32_t network = 0;
    uint32_t mask = 0;
    friend bool operator==(const Net&, const Net&) = default;
  };
  // Six bits of a multiplicative hash (Fibonacci hashing): every bit of the address moves
  // the top ones, so neighbours on one subnet land on different bits.
  static unsigned bit_of(uint32_t a) { return (a * 0x9e3779b1u) >> 26; }
  static bool contains(const std::vector<uint32_t>& v, uint32_t a) {
    for (uint32_t x : v)
      if (x == a) return true;
    return false;
  }
  static void add(std::vector<uint32_t>& v, uint32_t a) {
    if (!contains(v, a)) v.push_back(a);
  }

  std::vector<uint32_t> own_;
  std::vector<uint32_t> broadcasts_;
  std::vector<Net> nets_;
  uint64_t refused_bits_ = 0;
};

}  // namespace pollux::engine
