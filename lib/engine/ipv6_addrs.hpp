// Our IPv6 addresses on one port, derived once from InterfaceConfig::addrs6 when the engine
// is made: the link-local address from the MAC first (RFC 4291 2.5.1, RFC 4862 5.3), then
// the configured ones, each with its solicited-node group (RFC 4291 2.7.1) and its
// duplicate address detection state (RFC 4862 5.4).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/interface.hpp"
#include "net/ipv6_addr.hpp"

namespace pollux::engine {

class LocalAddrs6 {
 public:
  enum class State : uint8_t {
    tentative,  // being checked (RFC 4862 5.4): not used, not answered for
    preferred,  // ours
    duplicate,  // another node has it (RFC 4862 5.4.5): never used
  };
  struct Addr {
    net::Ipv6Addr addr;
    net::Ipv6Addr solicited;  // its solicited-node group
    uint8_t prefix_len = 128;
    State state = State::preferred;
  };

  explicit LocalAddrs6(const InterfaceConfig& iface) {
    if (!iface.has_ipv6()) return;
    add(net::Ipv6Addr::link_local_from_mac(iface.mac.bytes), 64);
    for (const auto& p : iface.addrs6) add(p.addr, p.len);
  }

  [[nodiscard]] bool empty() const { return addrs_.empty(); }
  [[nodiscard]] const net::Ipv6Addr& link_local() const { return addrs_.front().addr; }
  [[nodiscard]] std::span<Addr> all() { return addrs_; }
  [[nodiscard]] std::span<const Addr> all() const { return addrs_; }

  // The entry for `a` in any state, or nullptr.
  [[nodiscard]] const Addr* find(const net::Ipv6Addr& a) const {
    for (const Addr& x : addrs_)
      if (x.addr == a) return &x;
    return nullptr;
  }
  [[nodiscard]] Addr* find(const net::Ipv6Addr& a) {
    return const_cast<Addr*>(static_cast<const LocalAddrs6*>(this)->find(a));
  }
  // One of our addresses in use: a tentative or duplicate one is not (RFC 4862 5.4).
  [[nodiscard]] bool owns(const net::Ipv6Addr& a) const {
    const Addr* x = find(a);
    return x != nullptr && x->state == State::preferred;
  }
  // Whether a datagram to `a` is for this host: one of our addresses in use, all-nodes, or
  // the solicited-node group of an address we use or are checking (DAD listens there).
  [[nodiscard]] bool accepts(const net::Ipv6Addr& a) const {
    if (!a.is_multicast()) return owns(a);
    if (a == net::kIpv6AllNodes) return true;
    for (const Addr& x : addrs_)
      if (x.state != State::duplicate && x.solicited == a) return true;
    return false;
  }
  // RFC 4861 5.2: link-local destinations and those within one of our prefixes are
  // resolved directly; anything else goes to a router.
  [[nodiscard]] bool on_link(const net::Ipv6Addr& a) const {
    if (a.is_link_local()) return true;
    for (const Addr& x : addrs_)
      if (prefix_contains(x, a)) return true;
    return false;
  }
  // The source for a datagram to `dst` (RFC 6724 5, rules 1-2 in short): the link-local
  // address for link-local destinations, else the address on dst's prefix, else the first
  // global one in use.
  [[nodiscard]] const net::Ipv6Addr* source_for(const net::Ipv6Addr& dst) const {
    const Addr* fallback = nullptr;
    for (const Addr& x : addrs_) {
      if (x.state != State::preferred) continue;
      if (dst.is_link_local() != x.addr.is_link_local()) continue;
      if (prefix_contains(x, dst)) return &x.addr;
      if (!fallback) fallback = &x;
    }
    if (fallback) return &fallback->addr;
    for (const Addr& x : addrs_)
      if (x.state == State::preferred) return &x.addr;  // another scope rather than none
    return nullptr;
  }

 private:
  static bool prefix_contains(const Addr& x, const net::Ipv6Addr& a) {
    return net::Ipv6Prefix{x.addr, x.prefix_len}.contains(a);
  }
  void add(const net::Ipv6Addr& a, uint8_t len) {
    addrs_.push_back(Addr{a, a.solicited_node(), len, State::preferred});
  }
  std::vector<Addr> addrs_;
};

}  // namespace pollux::engine
