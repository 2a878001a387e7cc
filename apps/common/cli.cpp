#include "cli.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

namespace pollux::apps {
namespace {

constexpr size_t kNameColumn = 28;  // "  --max-conns-per-source N" and a space
constexpr size_t kHelpWidth = 80;
constexpr const char* kConfigGroup = "Configuration";

// The help's option lines: "--rxd N", the description wrapped beside it; no CLI11 type
// names, defaults or REQUIRED marks (the descriptions say them).
class HelpFormatter : public CLI::Formatter {
 public:
  explicit HelpFormatter(std::string usage) : usage_(std::move(usage)) {
    column_width(kNameColumn);
  }
  std::string make_usage(const CLI::App*, std::string) const override { return usage_ + "\n"; }
  // One blank line between groups (CLI11's make_groups already ends each with one).
  std::string make_group(std::string group, bool positional,
                         std::vector<const CLI::Option*> opts) const override {
    std::string out = group + ":\n";
    for (const CLI::Option* opt : opts) out += make_option(opt, positional);
    return out;
  }
  std::string make_option_opts(const CLI::Option* opt) const override {
    return opt->get_type_name().empty() ? std::string() : " " + opt->get_type_name();
  }

 private:
  std::string usage_;
};

bool parse_bool(const std::string& v, bool& out) {
  for (const char* t : {"true", "1", "yes", "on"})
    if (v == t) return (out = true);
  for (const char* f : {"false", "0", "no", "off"})
    if (v == f) return !(out = false);
  return false;
}

// A value as TOML writes it: bare when it is a number (with a suffix), quoted otherwise.
std::string quoted(const std::string& v) {
  bool bare = !v.empty() && v[0] >= '0' && v[0] <= '9';
  for (char c : v)
    bare &= (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (bare) return v;
  std::string q = "\"";
  for (char c : v) {
    if (c == '"') q += '\\';
    q += c;
  }
  return q + '"';
}

// CLI11's own refusals, said the way pollux's options say theirs.
std::string cli_error(const CLI::ParseError& e) {
  const std::string what = e.what();
  if (const auto p = what.find(" was given a disallowed flag override"); p != std::string::npos)
    return "--" + what.substr(0, p) + " takes no value";
  if (const auto p = what.find(": "); p != std::string::npos && what.rfind("--", 0) == 0 &&
                                      what.find(" required ") != std::string::npos)
    return what.substr(0, p) + " needs a value";
  return what;
}

}  // namespace

struct OptionParser::Impl {
  std::string app, footer;
  CLI::App cli;
  std::vector<OptionSpec> specs;
  std::vector<CLI::Option*> options;  // specs[i] is options[i]
  size_t builtin_first = SIZE_MAX;    // --config, --print-config, --help: from here on
  // What parse() applied, for --print-config.
  std::vector<std::vector<std::string>> values;
  std::vector<std::pair<size_t, std::string>> log;  // every value applied, in order
  std::vector<bool> on_command_line;
  std::string config_path;
  bool want_help = false, want_print = false;

  Impl(std::string a, std::string usage, std::string f)
      : app(std::move(a)), footer(std::move(f)), cli("", app) {
    cli.set_help_flag();
    cli.allow_extras(true);
    cli.formatter(std::make_shared<HelpFormatter>(std::move(usage)));
    cli.footer(footer);
  }

  [[nodiscard]] bool builtin(size_t i) const { return i >= builtin_first; }
  [[nodiscard]] bool is_flag(size_t i) const { return specs[i].value_name.empty(); }
  [[nodiscard]] const std::string& list_of(size_t i) const {
    return specs[i].list.empty() ? specs[i].name : specs[i].list;
  }

  void finish() {
    if (builtin_first != SIZE_MAX) return;
    builtin_first = specs.size();
    add(OptionSpec{"config", kConfigGroup, "FILE",
                   "read options from FILE (TOML, or INI when it ends in .ini): one `name = "
                   "value` per option, lists as [\"a\", \"b\"]; the command line overrides it",
                   "", false, "", [this](const std::string& v, std::string& e) {
                     if (v.empty()) e = "--config needs a file name";
                     config_path = v;
                     return !v.empty();
                   }});
    add(OptionSpec{"print-config", kConfigGroup, "",
                   "print the effective options (the file's, then the command line's) in the "
                   "format --config reads, and exit",
                   "", false, "", [this](const std::string&, std::string&) {
                     want_print = true;
                     return true;
                   }});
    add(OptionSpec{"help", kConfigGroup, "", "print this help and exit", "", false, "",
                   [this](const std::string&, std::string&) {
                     want_help = true;
                     return true;
                   }});
  }

  void add(OptionSpec spec) {
    const std::string desc = wrap_text(spec.help + (spec.repeatable ? " (repeatable)" : ""),
                                       kHelpWidth - kNameColumn - 2);
    CLI::Option* o = nullptr;
    if (spec.value_name.empty()) {
      o = cli.add_flag("--" + spec.name, desc)->disable_flag_override();
    } else {
      o = cli.add_option("--" + spec.name, desc)
              ->type_name(spec.value_name)
              ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    }
    o->group(spec.group);
    specs.push_back(std::move(spec));
    options.push_back(o);
  }

  bool apply(size_t i, const std::string& value, std::string& error) {
    if (!specs[i].apply(value, error)) return false;
    if (!specs[i].repeatable) values[i].clear();
    values[i].push_back(is_flag(i) ? "true" : value);
    log.emplace_back(i, value);
    return true;
  }

  bool read_config(std::string& error) {
    const std::string where = "--config " + config_path + ": ";
    std::ifstream in(config_path);
    if (!in) {
      error = "--config: cannot read " + config_path + ": " + std::strerror(errno);
      return false;
    }
    std::vector<CLI::ConfigItem> items;
    try {
      const bool ini =
          config_path.size() > 4 && config_path.compare(config_path.size() - 4, 4, ".ini") == 0;
      items = ini ? CLI::ConfigINI().from_config(in) : CLI::ConfigTOML().from_config(in);
    } catch (const CLI::Error& e) {
      error = where + e.what();
      return false;
    }
    std::set<std::string> overridden;  // lists the command line gave
    for (size_t i = 0; i < specs.size(); ++i)
      if (on_command_line[i]) overridden.insert(list_of(i));
    std::vector<bool> seen(specs.size(), false);
    for (const CLI::ConfigItem& item : items) {
      if (item.name == "--" || item.name == "++") continue;  // CLI11's section marks
      size_t i = 0;
      while (i < builtin_first && !(item.parents.empty() && specs[i].name == item.name)) ++i;
      if (i == builtin_first) {
        error = where + "unknown key '" + item.fullname() + "'";
        return false;
      }
      const OptionSpec& s = specs[i];
      if (overridden.count(list_of(i))) continue;
      if (seen[i] && !s.repeatable) {
        error = where + "key '" + s.name + "' is set twice";
        return false;
      }
      seen[i] = true;
      if (!s.repeatable && item.inputs.size() != 1) {
        error = where + "key '" + s.name + "' takes one value, not a list";
        return false;
      }
      for (const std::string& v : item.inputs) {
        std::string e;
        bool on = false;
        if (is_flag(i) && !parse_bool(v, on)) {
          error = where + s.name + ": '" + v + "' is not true or false";
          return false;
        }
        if (is_flag(i) && !on) continue;
        if (!apply(i, is_flag(i) ? std::string() : v, e)) {
          // "--port: '0' is not ..." -> "port: '0' is not ...": the key as the file has it.
          error = where + (e.rfind("--" + s.name, 0) == 0 ? e.substr(2) : e);
          return false;
        }
      }
    }
    return true;
  }
};

OptionParser::OptionParser(std::string app, std::string usage, std::string footer)
    : impl_(std::make_unique<Impl>(std::move(app), std::move(usage), std::move(footer))) {}

OptionParser::~OptionParser() = default;

void OptionParser::add(OptionSpec spec) {
  impl_->add(std::move(spec));
}

void OptionParser::flag(std::string name, std::string group, std::string help,
                        std::function<void()> set) {
  add(OptionSpec{std::move(name), std::move(group), "", std::move(help), "", false, "",
                 [set = std::move(set)](const std::string&, std::string&) {
                   set();
                   return true;
                 }});
}

void OptionParser::number(std::string name, std::string group, std::string value_name,
                          std::string help, const Number& n, std::function<void(uint64_t)> set) {
  const std::string option = "--" + name;
  add(OptionSpec{
      std::move(name), std::move(group), std::move(value_name), std::move(help), n.default_text,
      false, "", [option, n, set = std::move(set)](const std::string& v, std::string& e) {
        const auto x = parse_option_value(option, v, n.unit, n.min, n.max, e, n.what, n.note);
        if (x) set(*x);
        return x.has_value();
      }});
}

OptionParser::Outcome OptionParser::parse(const std::vector<std::string>& args,
                                          std::string& error) {
  Impl& I = *impl_;
  I.finish();
  I.values.assign(I.specs.size(), {});
  I.on_command_line.assign(I.specs.size(), false);
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 pops from the back
  try {
    I.cli.parse(reversed);
  } catch (const CLI::ParseError& e) {
    error = cli_error(e);
    return Outcome::error;
  }
  // Every value in command-line order, each through its option's checks.
  std::vector<size_t> next(I.specs.size(), 0);
  for (const CLI::Option* op : I.cli.parse_order()) {
    size_t i = 0;
    while (I.options[i] != op) ++i;
    const std::string& v = op->results().at(next[i]++);
    I.on_command_line[i] = true;
    if (!I.apply(i, I.is_flag(i) ? std::string() : v, error)) return Outcome::error;
  }
  if (const auto rest = I.cli.remaining(); !rest.empty()) {
    const std::string& a = rest.front();
    if (a.size() > 2 && a.rfind("--", 0) == 0)
      error = "unknown option " + a.substr(0, a.find('='));
    else
      error = "unexpected argument '" + a + "' (options start with --; try --help)";
    return Outcome::error;
  }
  if (!I.config_path.empty() && !I.read_config(error)) return Outcome::error;
  if (I.want_help) return Outcome::help;
  return I.want_print ? Outcome::print_config : Outcome::run;
}

std::string OptionParser::help() const {
  impl_->finish();
  return impl_->cli.help();
}

std::string OptionParser::effective_config() const {
  const Impl& I = *impl_;
  std::string out = "# " + I.app +
                    " options (--print-config): the file's and the command line's, and the "
                    "defaults.\n# Read back with --config FILE; options on the command line "
                    "override the file's.\n";
  auto line = [&](const std::string& name, const std::string& v) {
    // CLI11 reads a '#' anywhere as a comment's start: such a value cannot be written.
    out += (v.find('#') == std::string::npos ? "" : "# ('#' cannot be read back) ") + name + " = " +
           v + "\n";
  };
  std::vector<std::string> groups;  // as the help lists them: by first appearance
  for (size_t i = 0; i < I.builtin_first; ++i)
    if (std::find(groups.begin(), groups.end(), I.specs[i].group) == groups.end())
      groups.push_back(I.specs[i].group);
  std::set<std::string> lists_done;
  for (const std::string& group : groups) {
    out += "\n# " + group + "\n";
    for (size_t k = 0; k < I.builtin_first; ++k) {
      const OptionSpec& o = I.specs[k];
      if (o.group != group) continue;
      if (!o.list.empty()) {
        // The list's values one per line, in the order given: the order is the meaning.
        if (!lists_done.insert(o.list).second) continue;
        bool any = false;
        for (const auto& [j, v] : I.log) {
          if (I.specs[j].list != o.list) continue;
          line(I.specs[j].name, quoted(v));
          any = true;
        }
        if (!any)
          for (size_t j = k; j < I.builtin_first; ++j)
            if (I.specs[j].list == o.list)
              out += "# " + I.specs[j].name + " = " + I.specs[j].value_name + "\n";
        continue;
      }
      const std::vector<std::string> none;
      const auto& vals = I.values.empty() ? none : I.values[k];
      if (o.value_name.empty()) {
        line(o.name, vals.empty() ? "false" : "true");
      } else if (vals.empty()) {
        if (!o.default_text.empty())
          // A repeatable option's default as the list it is read back as (`path = ["/"]`),
          // so that printing the configuration read back prints the same text.
          line(o.name, o.repeatable ? "[" + quoted(o.default_text) + "]" : quoted(o.default_text));
        else
          out += "# " + o.name + " = " + o.value_name + "\n";
      } else if (o.repeatable) {
        std::string list = "[";
        for (size_t j = 0; j < vals.size(); ++j) {
          // Appended in place: `(j ? ", " : "") + quoted(v)` inserted a C string at the front
          // of a temporary, a copy whose length GCC 12's LTO could not bound
          // (-Wstringop-overflow on its memcpy).
          if (j != 0) list += ", ";
          list += quoted(vals[j]);
        }
        line(o.name, list + "]");
      } else {
        line(o.name, quoted(vals.back()));
      }
    }
  }
  return out;
}

std::string wrap_text(const std::string& text, size_t width) {
  std::string out;
  size_t col = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(start, end - start);
    start = end + 1;
    if (word.empty()) continue;
    if (col != 0 && col + 1 + word.size() > width) {
      out += '\n';
      col = 0;
    } else if (col != 0) {
      out += ' ';
      ++col;
    }
    out += word;
    col += word.size();
  }
  return out;
}

}  // namespace pollux::apps
