// IPv6 addresses and prefixes: the public value types (pollux/addr.hpp), used throughout
// the stack under their lib/net names. Parsing and printing: lib/net/ipv6_addr.cpp.
#pragma once

#include "net/ethernet.hpp"
#include "pollux/addr.hpp"

namespace pollux::net {

using pollux::Ipv6Addr;
using pollux::Ipv6Prefix;

// ff02::1, the link-local all-nodes group (RFC 4291 2.7.1): where unsolicited and
// duplicate-defending advertisements go (RFC 4861 7.2.4, 7.2.6).
inline constexpr Ipv6Addr kIpv6AllNodes{{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
// Where MLDv2 reports go (RFC 3810 5.2.14).
inline constexpr Ipv6Addr kIpv6AllMldv2Routers{
    {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16}};

// The Ethernet group a multicast IPv6 address maps to (RFC 2464 7: 33:33 and its low 32 bits).
[[nodiscard]] inline MacAddr multicast_mac(const Ipv6Addr& group) {
  return MacAddr{group.multicast_mac()};
}

}  // namespace pollux::net
