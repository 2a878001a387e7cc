#include "net/checksum.hpp"

#include <gtest/gtest.h>

#include <array>

namespace pollux::net {
namespace {

// RFC 1071 section 3 worked example: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2.
TEST(Checksum, Rfc1071WorkedExample) {
  const std::array<uint8_t, 8> data{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(checksum_fold(checksum_accumulate(data)), 0xddf2);
  EXPECT_EQ(internet_checksum(data), static_cast<uint16_t>(~0xddf2));
}

}  // namespace
}  // namespace pollux::net
