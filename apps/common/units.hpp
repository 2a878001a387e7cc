// Numbers with units on the command line and in config files (issue 15 item 3): counts and
// rates (`10k`, `2M`), sizes (`64k`, `1Mi`) and durations (`500ms`, `60s`, `2m`, `1h`).
// Whole numbers only, no sign, no fraction, no space before the suffix; a result that does
// not fit 64 bits is refused, never wrapped.
//   counts and rates: k = x1000, M = x1000^2, G = x1000^3
//   sizes (bytes):    k, M, G as counts (1000-based, as `ip link` and NIC specs count);
//                     Ki, Mi, Gi = x1024, x1024^2, x1024^3 (as memory is counted)
//   durations:        ms, s, m, h; a bare number is in the option's own unit
// Suffixes are case-sensitive: `m` is minutes, `M` is mega; `K` is refused rather than
// guessed (1000 or 1024?).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pollux::apps {

enum class Unit : uint8_t {
  plain,         // a whole number, no suffix (ports, identifiers)
  count,         // k, M, G (x1000)
  size,          // k, M, G (x1000) and Ki, Mi, Gi (x1024)
  seconds,       // a duration, bare numbers in seconds
  milliseconds,  // a duration, bare numbers in milliseconds
};

// Why a value was refused: `not_a_number` covers empty text, signs, fractions and stray
// characters; `unknown_suffix` a number followed by a suffix this unit does not take;
// `overflow` a value beyond 2^64 - 1; `not_whole` a duration that is not a whole number of
// the option's unit (500ms for a seconds option).
enum class UnitError : uint8_t { none, not_a_number, unknown_suffix, overflow, not_whole };

struct UnitValue {
  uint64_t value = 0;  // in the unit's base: ones, bytes, seconds or milliseconds
  UnitError error = UnitError::none;
  std::string suffix;  // the suffix as written (for unknown_suffix and not_whole)
};

[[nodiscard]] UnitValue parse_unit_value(std::string_view text, Unit unit);

// The suffixes `unit` takes, for error messages: "k, M, G (x1000)", "ms, s, m, h", ...
[[nodiscard]] const char* unit_suffixes(Unit unit);

// The number in [min, max] that `text` means, or nullopt with `error` one line that names
// `option`: "--rxd: '10' is not a whole number in [64, 16384]" (`what` replaces "a whole
// number", `note` follows the range; durations say their bare unit unless a note is given),
// or "--rxd: '10q' has an unknown suffix 'q' (k, M, G (x1000))".
[[nodiscard]] std::optional<uint64_t> parse_option_value(
    std::string_view option, std::string_view text, Unit unit, uint64_t min, uint64_t max,
    std::string& error, std::string_view what = "a whole number", std::string_view note = {});

}  // namespace pollux::apps
