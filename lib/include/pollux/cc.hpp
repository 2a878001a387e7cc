// Congestion control an application may choose per stack (lib/tcp/cc/congestion.hpp has the
// algorithms): CUBIC (RFC 9438, the default) or NewReno (RFC 5681, RFC 6582).
#pragma once

#include <cstdint>

namespace pollux {

enum class CongestionControl : uint8_t { newreno, cubic };

[[nodiscard]] constexpr const char* congestion_control_name(CongestionControl a) {
  return a == CongestionControl::cubic ? "cubic" : "newreno";
}

}  // namespace pollux
