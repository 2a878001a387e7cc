// IPv6 addresses and prefixes: the public value types (pollux/addr.hpp), used throughout
// the stack under their lib/net names. Parsing and printing: lib/net/ipv6_addr.cpp.
#pragma once

#include "pollux/addr.hpp"

namespace pollux::net {

using pollux::Ipv6Addr;
using pollux::Ipv6Prefix;

}  // namespace pollux::net
