// A TCP connection's identity (RFC 9293 3.4: "a connection is fully specified by the pair of
// sockets at its ends"), from this host's point of view: local = our address and port.
#pragma once

#include <cstdint>

#include "net/ipv4_addr.hpp"

namespace pollux::net {

struct FourTuple {
  net::Ipv4Addr local_ip;
  net::Ipv4Addr remote_ip;
  uint16_t local_port = 0;
  uint16_t remote_port = 0;

  friend constexpr bool operator==(const FourTuple&, const FourTuple&) = default;
};

}  // namespace pollux::net
