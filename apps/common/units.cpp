#include "units.hpp"

#include <array>
#include <charconv>

namespace pollux::apps {
namespace {

struct Suffix {
  std::string_view text;
  uint64_t factor;
};

// Every suffix, by the units that take it. A duration's factor is in milliseconds.
constexpr std::array<Suffix, 6> kCountSuffixes{{{"k", 1'000},
                                                {"M", 1'000'000},
                                                {"G", 1'000'000'000},
                                                {"Ki", 1u << 10},
                                                {"Mi", 1u << 20},
                                                {"Gi", 1u << 30}}};
constexpr std::array<Suffix, 4> kDurationSuffixes{
    {{"ms", 1}, {"s", 1'000}, {"m", 60'000}, {"h", 3'600'000}}};

std::optional<uint64_t> find_factor(std::string_view suffix, Unit unit) {
  switch (unit) {
    case Unit::plain:
      return std::nullopt;
    case Unit::count:
    case Unit::size:
      // Counts take the decimal three only: "2Mi connections" means nothing anyone says.
      for (size_t i = 0; i < (unit == Unit::count ? 3u : kCountSuffixes.size()); ++i)
        if (kCountSuffixes[i].text == suffix) return kCountSuffixes[i].factor;
      return std::nullopt;
    case Unit::seconds:
    case Unit::milliseconds:
      for (const Suffix& s : kDurationSuffixes)
        if (s.text == suffix) return s.factor;
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

UnitValue parse_unit_value(std::string_view text, Unit unit) {
  UnitValue r;
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) {
    r.error = UnitError::not_a_number;
    return r;
  }
  uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + digits, n);
  if (ec == std::errc::result_out_of_range) {
    r.error = UnitError::overflow;
    return r;
  }
  const std::string_view suffix = text.substr(digits);
  if (suffix.empty()) {
    r.value = n;
    return r;
  }
  r.suffix = std::string(suffix);
  const auto factor = find_factor(suffix, unit);
  if (!factor) {
    // "1.5k", "10 k", "5-": not a suffix at all, so not a number; "10K", "5d": a suffix
    // this unit does not take.
    bool letters = true;
    for (char c : suffix) letters &= (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    r.error = letters ? UnitError::unknown_suffix : UnitError::not_a_number;
    return r;
  }
  if (n != 0 && *factor > UINT64_MAX / n) {
    r.error = UnitError::overflow;
    return r;
  }
  r.value = n * *factor;
  if (unit == Unit::seconds) {
    // The factors are in milliseconds: a seconds option takes whole seconds only.
    if (r.value % 1000 != 0) {
      r.error = UnitError::not_whole;
      return r;
    }
    r.value /= 1000;
  }
  return r;
}

const char* unit_suffixes(Unit unit) {
  switch (unit) {
    case Unit::plain:
      return "no suffix";
    case Unit::count:
      return "k, M, G (x1000)";
    case Unit::size:
      return "k, M, G (x1000) or Ki, Mi, Gi (x1024)";
    case Unit::seconds:
    case Unit::milliseconds:
      return "ms, s, m, h";
  }
  return "?";
}

std::optional<uint64_t> parse_option_value(std::string_view option, std::string_view text,
                                           Unit unit, uint64_t min, uint64_t max,
                                           std::string& error, std::string_view what,
                                           std::string_view note) {
  const UnitValue v = parse_unit_value(text, unit);
  const std::string head = std::string(option) + ": '" + std::string(text) + "'";
  if (v.error == UnitError::none && v.value >= min && v.value <= max) return v.value;
  if (v.error == UnitError::unknown_suffix && unit != Unit::plain) {
    error = head + " has an unknown suffix '" + v.suffix + "' (" + unit_suffixes(unit) + ")";
  } else if (v.error == UnitError::not_whole) {
    error = head + " is not a whole number of seconds";
  } else {
    const std::string_view in = !note.empty()                ? note
                                : unit == Unit::seconds      ? " (seconds, or 500ms, 60s, 2m, 1h)"
                                : unit == Unit::milliseconds ? " (milliseconds, or 2s, 1m)"
                                                             : "";
    error = head + " is not " + std::string(what) + " in [" + std::to_string(min) + ", " +
            std::to_string(max) + "]" + std::string(in);
  }
  return std::nullopt;
}

}  // namespace pollux::apps
