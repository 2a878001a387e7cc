// The apps' option parser (issue 15 item 3), on CLI11: each option is declared once, with its
// help group, and is then read the same way from the command line (`--name value`,
// `--name=value`, `--flag`) and from a `--config FILE` (`name = value`, TOML or INI), written
// back by `--print-config`, and listed by `--help` in its group.
//
// Every value goes through the option's own `apply`, in command-line order and then in file
// order, so the checks and one-line errors are the option's, wherever the value came from.
// An option given on the command line overrides the file's (all of its values: a repeatable
// option is not merged with the file's). CLI11 stays inside cli.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "units.hpp"

namespace pollux::apps {

struct OptionSpec {
  std::string name;        // "ip": --ip on the command line, `ip = ...` in a config file
  std::string group;       // the help section ("Device", "Addresses", "TCP", ...)
  std::string value_name;  // "A.B.C.D/N" in the help; empty: a flag, which takes no value
  std::string help;        // a paragraph; --help wraps it
  // What --print-config writes when the option is not given (empty: a commented line).
  std::string default_text;
  bool repeatable = false;  // every occurrence adds a value; otherwise the last one wins
  // Options that build one list together (--allow and --deny): the command line overrides
  // the file's values of all of them at once, and --print-config keeps their order.
  std::string list;
  // Takes one value ("" for a flag): false with a one-line `error` that names the option.
  std::function<bool(const std::string& value, std::string& error)> apply;
};

class OptionParser {
 public:
  // `usage`: the synopsis lines --help starts with; `footer`: what it ends with (notes,
  // examples).
  OptionParser(std::string app, std::string usage, std::string footer);
  ~OptionParser();
  OptionParser(const OptionParser&) = delete;
  OptionParser& operator=(const OptionParser&) = delete;

  void add(OptionSpec spec);
  // A flag: `set` runs once per occurrence.
  void flag(std::string name, std::string group, std::string help, std::function<void()> set);
  // A number in [min, max] read with `unit` (units.hpp); `what` and `note` shape the error
  // (parse_option_value). `default_value` is what --print-config writes when not given.
  struct Number {
    Unit unit = Unit::plain;
    uint64_t min = 0, max = 0;
    std::string default_text;
    std::string what = "a whole number";
    std::string note;
  };
  void number(std::string name, std::string group, std::string value_name, std::string help,
              const Number& n, std::function<void(uint64_t)> set);

  enum class Outcome : uint8_t { run, help, print_config, error };
  // Reads `args` (the application arguments, after `--`), then the --config file for the
  // options the command line did not give. `error` is one line.
  [[nodiscard]] Outcome parse(const std::vector<std::string>& args, std::string& error);

  // The grouped help: usage, every group's options, the footer.
  [[nodiscard]] std::string help() const;
  // After parse(): the effective options in the format --config reads (TOML): what was given
  // on the command line or in the file, and the defaults.
  [[nodiscard]] std::string effective_config() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "a b c" wrapped to lines of at most `width` characters (words are never split).
[[nodiscard]] std::string wrap_text(const std::string& text, size_t width);

}  // namespace pollux::apps
