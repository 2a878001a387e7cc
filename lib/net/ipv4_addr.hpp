// IPv4 addresses and prefixes: the public value types (pollux/addr.hpp), used throughout
// the stack under their lib/net names.
#pragma once

#include "pollux/addr.hpp"

namespace pollux::net {

using pollux::Ipv4Addr;
using pollux::Ipv4Prefix;
using pollux::make_ipv4;

}  // namespace pollux::net
