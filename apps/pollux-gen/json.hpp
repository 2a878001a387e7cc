// A minimal JSON writer for reports: objects, arrays, strings (escaped), integers, finite
// doubles (non-finite ones become null) and booleans. Commas are placed automatically.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pollux::apps {

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);  // inside an object, before each value
  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(uint64_t v);
  JsonWriter& value(int64_t v);
  JsonWriter& value(unsigned v) { return value(static_cast<uint64_t>(v)); }
  JsonWriter& value(int v) { return value(static_cast<int64_t>(v)); }
  JsonWriter& value(double v);
  JsonWriter& value(bool v);
  JsonWriter& null();
  template <class T>
  JsonWriter& field(std::string_view k, T v) {
    return key(k).value(v);
  }

  [[nodiscard]] const std::string& str() const { return out_; }

 private:
  void before_value();
  void escape(std::string_view s);
  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written in it yet
  bool after_key_ = false;
};

}  // namespace pollux::apps
