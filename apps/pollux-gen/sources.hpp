// The source addresses pollux-gen opens connections from. Each address brings its own
// ephemeral port space toward the server (the 4-tuple differs in its source), so a generator
// that cycles connections faster than its TIME-WAIT frees ports opens from several.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "pollux/addr.hpp"
#include "pollux/tcp.hpp"

namespace pollux::apps {

// Connections come from one address until its ports run short (every one held, most by our
// own TIME-WAIT with RFC 6191 reuse not yet safe), then from the next. Staying on one
// address keeps the TCP layer's port walk in the order it handed ports out, so when the
// turn comes back the oldest TIME-WAIT tuples are the first candidates; taking addresses
// in strict rotation would interleave them with one shared walk and leave most ports of each
// address unused.
// One family's addresses (Addr: Ipv4Addr or Ipv6Addr; a tuple has one family, so an IPv6
// server is reached from the IPv6 ones).
template <class Addr>
class BasicSourceAddresses {
 public:
  explicit BasicSourceAddresses(std::vector<Addr> addrs) : addrs_(std::move(addrs)) {}

  // `connect(source, error)` opens one connection from `source` (a TcpLayer::connect with an
  // ephemeral port). Returns the connection, or null with the last error: no_ephemeral_port
  // only when every address is short; any other failure (a full table) is returned at once,
  // since another address would not help.
  template <class Connect>
  Conn* open(Connect&& connect, TcpError& error) {
    if (addrs_.empty()) error = TcpError::invalid;  // no address of this family at all
    for (size_t tried = 0; tried < addrs_.size(); ++tried) {
      Conn* c = connect(addrs_[current_], error);
      if (c || error != TcpError::no_ephemeral_port) return c;
      current_ = (current_ + 1) % addrs_.size();
      ++moves_;
    }
    return nullptr;
  }

  [[nodiscard]] const std::vector<Addr>& all() const { return addrs_; }
  [[nodiscard]] Addr current() const { return addrs_[current_]; }
  // How often an address ran short and the next one took over.
  [[nodiscard]] uint64_t moves() const { return moves_; }

 private:
  std::vector<Addr> addrs_;
  size_t current_ = 0;
  uint64_t moves_ = 0;
};

using SourceAddresses = BasicSourceAddresses<Ipv4Addr>;
using SourceAddresses6 = BasicSourceAddresses<Ipv6Addr>;

}  // namespace pollux::apps
