#include "net/toeplitz.hpp"

#include <cassert>

#include "net/bytes.hpp"

namespace pollux::net {

namespace {
// The 32 key bits starting at bit position `bit` (0 = most significant bit of key[0]).
uint32_t key_window(std::span<const uint8_t> key, size_t bit) {
  const size_t byte = bit / 8, shift = bit % 8;
  // 40 bits cover any 32-bit window at any bit offset; bytes past the key count as zero.
  uint64_t v = 0;
  for (size_t i = 0; i < 5; ++i) v = (v << 8) | (byte + i < key.size() ? key[byte + i] : 0);
  return static_cast<uint32_t>(v >> (8 - shift));
}
}  // namespace

uint32_t toeplitz_hash(std::span<const uint8_t> key, std::span<const uint8_t> input) {
  assert(key.size() >= input.size() + 4);
  uint32_t h = 0;
  for (size_t i = 0; i < input.size(); ++i)
    for (size_t b = 0; b < 8; ++b)
      if (input[i] & (0x80u >> b)) h ^= key_window(key, i * 8 + b);
  return h;
}

std::array<uint8_t, 12> rss_ipv4_tcp_input(Ipv4Addr src, Ipv4Addr dst, uint16_t sport,
                                           uint16_t dport) {
  std::array<uint8_t, 12> in{};
  store_be32(in.data(), src.value);
  store_be32(in.data() + 4, dst.value);
  store_be16(in.data() + 8, sport);
  store_be16(in.data() + 10, dport);
  return in;
}

std::array<uint8_t, 36> rss_ipv6_tcp_input(const Ipv6Addr& src, const Ipv6Addr& dst, uint16_t sport,
                                           uint16_t dport) {
  std::array<uint8_t, 36> in{};
  for (size_t i = 0; i < 16; ++i) {
    in[i] = src.bytes[i];
    in[16 + i] = dst.bytes[i];
  }
  store_be16(in.data() + 32, sport);
  store_be16(in.data() + 34, dport);
  return in;
}

namespace {
// The hash is linear over GF(2): the contribution of a byte is the XOR of the windows of
// its set bits, independent of the other bytes.
template <size_t N>
void fill_tables(const RssKey& key, std::array<std::array<uint32_t, 256>, N>& table) {
  for (size_t pos = 0; pos < N; ++pos)
    for (uint32_t v = 0; v < 256; ++v) {
      uint32_t h = 0;
      for (size_t b = 0; b < 8; ++b)
        if (v & (0x80u >> b)) h ^= key_window(key, pos * 8 + b);
      table[pos][v] = h;
    }
}
}  // namespace

ToeplitzIpv4Tcp::ToeplitzIpv4Tcp(const RssKey& key) : key_(key), table_{} {
  fill_tables(key_, table_);
}

ToeplitzIpv6Tcp::ToeplitzIpv6Tcp(const RssKey& key) : table_{} {
  fill_tables(key, table_);
}

}  // namespace pollux::net
