#include "tcp/isn.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstddef>
#include <random>

namespace pollux::tcp {

IsnGenerator::TupleMessage IsnGenerator::tuple_message(const net::FourTuple& tuple) {
  TupleMessage msg;
  auto& m = msg.bytes;
  auto put_addr = [&](std::size_t at, const net::IpAddr& a) {
    if (tuple.is_v4()) {
      const uint32_t v = a.v4().value;
      m[at] = static_cast<uint8_t>(v >> 24);
      m[at + 1] = static_cast<uint8_t>(v >> 16);
      m[at + 2] = static_cast<uint8_t>(v >> 8);
      m[at + 3] = static_cast<uint8_t>(v);
      return at + 4;
    }
    for (std::size_t i = 0; i < 16; ++i) m[at + i] = a.bytes[i];
    return at + 16;
  };
  auto put16 = [&m](std::size_t at, uint16_t v) {
    m[at] = static_cast<uint8_t>(v >> 8);
    m[at + 1] = static_cast<uint8_t>(v);
    return at + 2;
  };
  std::size_t at = put_addr(0, tuple.local_ip);
  at = put16(at, tuple.local_port);
  at = put_addr(at, tuple.remote_ip);
  msg.len = put16(at, tuple.remote_port);
  return msg;
}

uint32_t IsnGenerator::hash_component(const net::FourTuple& tuple) const {
  if (!tuple.is_v4()) return static_cast<uint32_t>(siphash24(key_, tuple_message(tuple).span()));
  // The same 12 bytes as words: one full word, then four bytes.
  const V4Message v = v4_message(tuple);
  const uint64_t head = sip_word_of_be(v.head);
  return static_cast<uint32_t>(siphash24_words(key_, {&head, 1}, __builtin_bswap32(v.rest), 12));
}

SipKey IsnGenerator::random_key() {
  std::array<uint8_t, 16> bytes{};
  std::size_t got = 0;
  // getrandom(2) without flags blocks only until the kernel's pool is first initialised and
  // never returns short for requests this small, but retry on EINTR and short reads anyway.
  while (got < bytes.size()) {
    const ssize_t n = getrandom(bytes.data() + got, bytes.size() - got, 0);
    if (n > 0) {
      got += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;  // ENOSYS (old kernel, seccomp): fall back below
    }
  }
  if (got < bytes.size()) {
    std::random_device rd;
    for (std::size_t i = got; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(rd());
  }
  return SipKey::from_bytes(bytes);
}

}  // namespace pollux::tcp
