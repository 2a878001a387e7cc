// pollux public API: version. The connection API (listen, connect, send, callbacks) joins
// this folder with the TCP engine; applications include only headers from here.
#pragma once

namespace pollux {
inline constexpr int kVersionMajor = 0;
inline constexpr int kVersionMinor = 1;
inline constexpr int kVersionPatch = 0;
inline constexpr const char* kVersionString = "0.1.0";
}  // namespace pollux
