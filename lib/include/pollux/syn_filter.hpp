// Inbound-SYN filtering (issue 14 item 5): which passive opens a stack accepts, by source
// prefix and destination port, as the one-way filter at a firewall that the SYN-flooding and
// spoofing literature describes. Checked only on passive opens (a SYN to a listener, and the
// ACK that returns a SYN cookie), never per segment of an open connection; a fixed array, no
// allocation, a few compares per SYN.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>

#include "pollux/addr.hpp"

namespace pollux {

// `--allow PREFIX[:PORT]` / `--deny PREFIX[:PORT]`: port 0 means every port. A rule names
// an IPv4 prefix (`source`) or an IPv6 prefix (`source6`, when `ipv6`), and matches sources
// of its own family only.
struct SynRule {
  Ipv4Prefix source;  // IPv4 rules: only the network bits count
  uint16_t port = 0;  // destination (our listening) port; 0: any
  bool allow = true;
  bool ipv6 = false;
  Ipv6Prefix source6{Ipv6Addr{}, 0};  // IPv6 rules: only the first source6.len bits count

  [[nodiscard]] static SynRule v6(const Ipv6Prefix& p, uint16_t port, bool allow) {
    return SynRule{Ipv4Prefix{}, port, allow, true, p};
  }
  [[nodiscard]] constexpr bool matches(Ipv4Addr src, uint16_t dst_port) const {
    return !ipv6 && source.contains(src) && (port == 0 || port == dst_port);
  }
  [[nodiscard]] bool matches(const Ipv6Addr& src, uint16_t dst_port) const {
    return ipv6 && (port == 0 || port == dst_port) && source6.contains(src);
  }
  // "10.0.0.0/8" or "fd00::/8", the prefix as --allow/--deny take it back.
  [[nodiscard]] std::string source_text() const {
    return ipv6 ? source6.to_string() : source.to_string();
  }
};

// The rules in order: the first rule of the source's family that matches decides; none
// matching accepts (as nginx's allow/deny and TCP wrappers do), so an allow list ends with
// `--deny 0.0.0.0/0` (or `--deny ::/0`).
// One exception keeps an allow list from being walked around over the other family: a
// source whose family has no rules at all is refused when the other family's rules contain
// an allow (`--allow 10.0.0.0/8 --deny 0.0.0.0/0` refuses every IPv6 SYN), while deny-only
// rules of one family leave the other accepted (`--deny fd00::/8` keeps all of IPv4).
// `passive_opens` false refuses every SYN whatever the rules say: a host that only connects
// out (pollux-gen, a one-way SYN host) answers them as a closed port does.
class SynFilter {
 public:
  static constexpr size_t kMaxRules = 32;

  // False when the filter is full (the rule is not added).
  [[nodiscard]] constexpr bool add(const SynRule& r) {
    if (count_ == kMaxRules) return false;
    rules_[count_++] = r;
    Family& f = r.ipv6 ? v6_ : v4_;
    f.rules = true;
    f.allows = f.allows || r.allow;
    return true;
  }
  constexpr void set_passive_opens(bool on) { passive_opens_ = on; }
  [[nodiscard]] constexpr bool passive_opens() const { return passive_opens_; }
  [[nodiscard]] constexpr size_t size() const { return count_; }
  [[nodiscard]] constexpr const SynRule& rule(size_t i) const { return rules_[i]; }

  // Ipv4Addr or Ipv6Addr: the rules of that family, the other family's only for the
  // exception above.
  template <typename Addr>
  requires std::same_as<Addr, Ipv4Addr> || std::same_as<Addr, Ipv6Addr>
  [[nodiscard]] constexpr bool allows(const Addr& src, uint16_t dst_port) const {
    if (!passive_opens_) return false;
    constexpr bool kV6 = std::same_as<Addr, Ipv6Addr>;
    const Family& own = kV6 ? v6_ : v4_;
    const Family& other = kV6 ? v4_ : v6_;
    if (!own.rules) return !other.allows;
    for (size_t i = 0; i < count_; ++i)
      if (rules_[i].matches(src, dst_port)) return rules_[i].allow;
    return true;
  }

 private:
  struct Family {
    bool rules = false;   // some rule names this family
    bool allows = false;  // one of them is an allow
  };
  std::array<SynRule, kMaxRules> rules_{};
  Family v4_, v6_;
  size_t count_ = 0;
  bool passive_opens_ = true;
};

}  // namespace pollux
