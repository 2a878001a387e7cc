// A TCP connection's identity (RFC 9293 3.4: "a connection is fully specified by the pair of
// sockets at its ends"), from this host's point of view: local = our address and port.
// Both families: addresses are net::IpAddr (IPv4 held IPv4-mapped, why in net/ip_addr.hpp);
// a connection's two addresses are always of one family.
#pragma once

#include <cstdint>

#include "net/ip_addr.hpp"

namespace pollux::net {

struct FourTuple {
  net::IpAddr local_ip;
  net::IpAddr remote_ip;
  uint16_t local_port = 0;
  uint16_t remote_port = 0;

  [[nodiscard]] constexpr bool is_v4() const { return local_ip.is_v4(); }

  friend constexpr bool operator==(const FourTuple&, const FourTuple&) = default;
};

}  // namespace pollux::net
