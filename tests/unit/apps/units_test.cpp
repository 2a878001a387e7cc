// Numbers with units (apps/common/units.hpp): the forms each kind of option takes, and the
// one-line refusals for everything else.
#include "../../../apps/common/units.hpp"

#include <gtest/gtest.h>

namespace pollux::apps {
namespace {

uint64_t value(std::string_view text, Unit unit) {
  const UnitValue v = parse_unit_value(text, unit);
  EXPECT_EQ(v.error, UnitError::none) << text;
  return v.value;
}
UnitError error(std::string_view text, Unit unit) {
  return parse_unit_value(text, unit).error;
}

TEST(Units, BareNumbersAreTakenAsTheyAre) {
  for (Unit u : {Unit::plain, Unit::count, Unit::size, Unit::seconds, Unit::milliseconds}) {
    EXPECT_EQ(value("0", u), 0u);
    EXPECT_EQ(value("1500", u), 1500u);
    EXPECT_EQ(value("18446744073709551615", u), UINT64_MAX);
  }
}

TEST(Units, CountsTakeDecimalSuffixesOnly) {
  EXPECT_EQ(value("10k", Unit::count), 10'000u);
  EXPECT_EQ(value("2M", Unit::count), 2'000'000u);
  EXPECT_EQ(value("1G", Unit::count), 1'000'000'000u);
  EXPECT_EQ(error("1Ki", Unit::count), UnitError::unknown_suffix);
  EXPECT_EQ(error("10K", Unit::count), UnitError::unknown_suffix) << "K: 1000 or 1024? refused";
  EXPECT_EQ(error("10m", Unit::count), UnitError::unknown_suffix) << "m is minutes, not mega";
}

TEST(Units, SizesAreDecimalWithKMGAndBinaryWithKiMiGi) {
  EXPECT_EQ(value("64k", Unit::size), 64'000u);
  EXPECT_EQ(value("1M", Unit::size), 1'000'000u);
  EXPECT_EQ(value("1G", Unit::size), 1'000'000'000u);
  EXPECT_EQ(value("64Ki", Unit::size), 65'536u);
  EXPECT_EQ(value("1Mi", Unit::size), 1'048'576u);
  EXPECT_EQ(value("2Gi", Unit::size), 2'147'483'648u);
  EXPECT_EQ(error("1KiB", Unit::size), UnitError::unknown_suffix);
  EXPECT_EQ(error("1MB", Unit::size), UnitError::unknown_suffix);
}

TEST(Units, DurationsConvertToTheOptionsOwnUnit) {
  EXPECT_EQ(value("60s", Unit::seconds), 60u);
  EXPECT_EQ(value("2m", Unit::seconds), 120u);
  EXPECT_EQ(value("1h", Unit::seconds), 3600u);
  EXPECT_EQ(value("3000ms", Unit::seconds), 3u);
  EXPECT_EQ(value("500ms", Unit::milliseconds), 500u);
  EXPECT_EQ(value("2s", Unit::milliseconds), 2000u);
  EXPECT_EQ(value("1m", Unit::milliseconds), 60'000u);
  EXPECT_EQ(value("1h", Unit::milliseconds), 3'600'000u);
}

TEST(Units, ADurationThatIsNotAWholeNumberOfTheOptionsUnitIsRefused) {
  EXPECT_EQ(error("500ms", Unit::seconds), UnitError::not_whole);
  EXPECT_EQ(error("1500ms", Unit::seconds), UnitError::not_whole);
  EXPECT_EQ(parse_unit_value("1500ms", Unit::seconds).suffix, "ms");
}

TEST(Units, UnknownSuffixesAreRefusedAndNamed) {
  EXPECT_EQ(error("5d", Unit::seconds), UnitError::unknown_suffix);
  EXPECT_EQ(parse_unit_value("5d", Unit::seconds).suffix, "d");
  EXPECT_EQ(error("10k", Unit::seconds), UnitError::unknown_suffix);
  EXPECT_EQ(error("10s", Unit::count), UnitError::unknown_suffix);
  EXPECT_EQ(error("80x", Unit::plain), UnitError::unknown_suffix);
  EXPECT_EQ(error("10k", Unit::plain), UnitError::unknown_suffix) << "ports take no suffix";
}

TEST(Units, EmptySignedFractionalAndSpacedTextIsNotANumber) {
  for (std::string_view t :
       {"", "k", "-5", "+5", "-1k", "1.5k", "1e3", "10 k", " 10", "0x10", "ten"})
    EXPECT_EQ(error(t, Unit::count), UnitError::not_a_number) << "'" << t << "'";
  EXPECT_EQ(error("", Unit::seconds), UnitError::not_a_number);
  EXPECT_EQ(error("-1s", Unit::seconds), UnitError::not_a_number);
}

TEST(Units, ValuesBeyondSixtyFourBitsOverflowInsteadOfWrapping) {
  EXPECT_EQ(error("18446744073709551616", Unit::count), UnitError::overflow);
  EXPECT_EQ(error("99999999999999999999999k", Unit::count), UnitError::overflow);
  EXPECT_EQ(error("18446744074G", Unit::count), UnitError::overflow);
  EXPECT_EQ(value("18446744073G", Unit::count), 18'446'744'073'000'000'000u);
  EXPECT_EQ(error("17179869184Gi", Unit::size), UnitError::overflow);
  EXPECT_EQ(error("5124095576030432h", Unit::milliseconds), UnitError::overflow);
}

TEST(Units, OptionValuesOutsideTheirRangeSayTheRangeInOneLine) {
  std::string e;
  EXPECT_EQ(parse_option_value("--connections", "10k", Unit::count, 1, 1u << 24, e), 10'000u);
  EXPECT_FALSE(parse_option_value("--rxd", "10", Unit::count, 64, 16384, e));
  EXPECT_EQ(e, "--rxd: '10' is not a whole number in [64, 16384]");
  EXPECT_FALSE(parse_option_value("--rxd", "1M", Unit::count, 64, 16384, e));
  EXPECT_EQ(e, "--rxd: '1M' is not a whole number in [64, 16384]");
  EXPECT_FALSE(parse_option_value("--rxd", "99999999999999999999", Unit::count, 64, 16384, e));
  EXPECT_EQ(e, "--rxd: '99999999999999999999' is not a whole number in [64, 16384]");
  EXPECT_FALSE(parse_option_value("--mbufs", "2X", Unit::count, 1024, 1u << 26, e));
  EXPECT_EQ(e, "--mbufs: '2X' has an unknown suffix 'X' (k, M, G (x1000))");
  EXPECT_FALSE(parse_option_value("--req-size", "1KB", Unit::size, 1, 1u << 30, e));
  EXPECT_EQ(e,
            "--req-size: '1KB' has an unknown suffix 'KB' (k, M, G (x1000) or Ki, Mi, Gi "
            "(x1024))");
  EXPECT_FALSE(parse_option_value("--port", "80x", Unit::plain, 1, 65535, e));
  EXPECT_EQ(e, "--port: '80x' is not a whole number in [1, 65535]");
}

TEST(Units, DurationOptionsSayTheirBareUnitAndRefuseAPartOfIt) {
  std::string e;
  EXPECT_EQ(parse_option_value("--duration", "2m", Unit::seconds, 1, 86400, e), 120u);
  EXPECT_FALSE(parse_option_value("--duration", "0", Unit::seconds, 1, 86400, e));
  EXPECT_EQ(e,
            "--duration: '0' is not a whole number in [1, 86400] (seconds, or 500ms, 60s, 2m, "
            "1h)");
  EXPECT_FALSE(parse_option_value("--duration", "1500ms", Unit::seconds, 1, 86400, e));
  EXPECT_EQ(e, "--duration: '1500ms' is not a whole number of seconds");
  EXPECT_FALSE(parse_option_value("--time-wait", "5d", Unit::milliseconds, 0, 240'000, e));
  EXPECT_EQ(e, "--time-wait: '5d' has an unknown suffix 'd' (ms, s, m, h)");
  EXPECT_FALSE(parse_option_value("--tlp-wc-delack", "1s", Unit::milliseconds, 0, 500, e,
                                  "a number of milliseconds"));
  EXPECT_EQ(e,
            "--tlp-wc-delack: '1s' is not a number of milliseconds in [0, 500] (milliseconds, "
            "or 2s, 1m)");
  EXPECT_FALSE(parse_option_value("--rst-limit", "-5", Unit::count, 0, 100'000, e,
                                  "a number per second", " (0: no limit)"));
  EXPECT_EQ(e, "--rst-limit: '-5' is not a number per second in [0, 100000] (0: no limit)");
}

}  // namespace
}  // namespace pollux::apps
