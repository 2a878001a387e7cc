#include "net/checksum.hpp"

#include <cstring>

namespace pollux::net {

uint32_t checksum_accumulate(Bytes data, uint32_t sum) {
  // Add 32-bit big-endian chunks into a 64-bit accumulator: the one's-complement sum is
  // byte-order independent (RFC 1071 2(B)) and wider adds need fewer folds (2(C)).
  uint64_t acc = sum;
  const uint8_t* p = data.data();
  size_t n = data.size();
  while (n >= 4) {
    acc += load_be32(p);
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    acc += load_be16(p);
    p += 2;
    n -= 2;
  }
  if (n == 1) acc += uint32_t{p[0]} << 8;
  // Fold 64 -> 32 bits keeping the carries (end-around carry).
  acc = (acc & 0xffffffffu) + (acc >> 32);
  acc = (acc & 0xffffffffu) + (acc >> 32);
  return static_cast<uint32_t>(acc);
}

}  // namespace pollux::net
