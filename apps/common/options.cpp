#include "options.hpp"

#include <charconv>

namespace pollux::apps {

std::optional<std::string> ArgReader::next_option() {
  inline_value_.reset();
  const std::string& a = args_[i_++];
  if (a.size() < 3 || a.rfind("--", 0) != 0) {
    fail("unexpected argument '" + a + "' (options start with --; try --help)");
    return std::nullopt;
  }
  auto eq = a.find('=');
  if (eq != std::string::npos) {
    current_ = a.substr(0, eq);
    inline_value_ = a.substr(eq + 1);
  } else {
    current_ = a;
  }
  return current_;
}

std::optional<std::string> ArgReader::value() {
  if (inline_value_) {
    auto v = std::move(*inline_value_);
    inline_value_.reset();
    return v;
  }
  if (i_ >= args_.size()) {
    fail(current_ + " needs a value");
    return std::nullopt;
  }
  return args_[i_++];
}

std::optional<uint64_t> parse_uint(std::string_view text, uint64_t min, uint64_t max) {
  uint64_t v = 0;
  if (text.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v < min || v > max)
    return std::nullopt;
  return v;
}

}  // namespace pollux::apps
