// The states a connection sends data in (RFC 9293 3.10.4, 3.10.7): ESTABLISHED and
// CLOSE-WAIT, and after our CLOSE (FIN-WAIT-1, CLOSING, LAST-ACK) what was queued before the
// FIN, and the FIN. Output and the tail loss probe (which may send data, RFC 8985 7.3) ask
// on every call: one bit of a constant instead of five comparisons (issue 13).
#pragma once

#include "tcp/tcb.hpp"

namespace pollux::tcp {

[[nodiscard]] constexpr bool sends_data(State s) {
  constexpr auto bit = [](State x) { return 1u << static_cast<unsigned>(x); };
  constexpr unsigned kSending = bit(State::established) | bit(State::close_wait) |
                                bit(State::fin_wait_1) | bit(State::closing) | bit(State::last_ack);
  return ((kSending >> static_cast<unsigned>(s)) & 1u) != 0;
}

static_assert(sends_data(State::established) && sends_data(State::close_wait) &&
              sends_data(State::fin_wait_1) && sends_data(State::closing) &&
              sends_data(State::last_ack));
static_assert(!sends_data(State::closed) && !sends_data(State::listen) &&
              !sends_data(State::syn_sent) && !sends_data(State::syn_received) &&
              !sends_data(State::fin_wait_2) && !sends_data(State::time_wait));

}  // namespace pollux::tcp
