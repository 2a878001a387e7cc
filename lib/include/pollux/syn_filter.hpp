// Inbound-SYN filtering (issue 14 item 5): which passive opens a stack accepts, by source
// prefix and destination port, as the one-way filter at a firewall that the SYN-flooding and
// spoofing literature describes. Checked only on passive opens (a SYN to a listener, and the
// ACK that returns a SYN cookie), never per segment of an open connection; a fixed array, no
// allocation, a few compares per SYN.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "pollux/addr.hpp"

namespace pollux {

// `--allow PREFIX[:PORT]` / `--deny PREFIX[:PORT]`: port 0 means every port.
struct SynRule {
  Ipv4Prefix source;  // only the network bits count
  uint16_t port = 0;  // destination (our listening) port; 0: any
  bool allow = true;

  [[nodiscard]] constexpr bool matches(Ipv4Addr src, uint16_t dst_port) const {
    return source.contains(src) && (port == 0 || port == dst_port);
  }
};

// The rules in order: the first that matches decides; none matching accepts (as nginx's
// allow/deny and TCP wrappers do), so an allow list ends with `--deny 0.0.0.0/0`.
// `passive_opens` false refuses every SYN whatever the rules say: a host that only connects
// out (pollux-gen, a one-way SYN host) answers them as a closed port does.
class SynFilter {
 public:
  static constexpr size_t kMaxRules = 32;

  // False when the filter is full (the rule is not added).
  [[nodiscard]] constexpr bool add(const SynRule& r) {
    if (count_ == kMaxRules) return false;
    rules_[count_++] = r;
    return true;
  }
  constexpr void set_passive_opens(bool on) { passive_opens_ = on; }
  [[nodiscard]] constexpr bool passive_opens() const { return passive_opens_; }
  [[nodiscard]] constexpr size_t size() const { return count_; }
  [[nodiscard]] constexpr const SynRule& rule(size_t i) const { return rules_[i]; }

  // An IPv6 source: the rules name IPv4 prefixes only, so with any rule present an IPv6 SYN
  // is refused (a list ending in a deny must not be walked around over IPv6); without rules
  // every SYN is accepted, as for IPv4.
  [[nodiscard]] constexpr bool allows_ipv6() const { return passive_opens_ && count_ == 0; }

  [[nodiscard]] constexpr bool allows(Ipv4Addr src, uint16_t dst_port) const {
    if (!passive_opens_) return false;
    for (size_t i = 0; i < count_; ++i)
      if (rules_[i].matches(src, dst_port)) return rules_[i].allow;
    return true;
  }

 private:
  std::array<SynRule, kMaxRules> rules_{};
  size_t count_ = 0;
  bool passive_opens_ = true;
};

}  // namespace pollux
