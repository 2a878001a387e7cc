#include "sim_seeds.hpp"

#include <gtest/gtest.h>

#include <cerrno>  // program_invocation_name (glibc)
#include <cmath>
#include <cstdlib>

namespace pollux::sim {

namespace {

bool env_u64(const char* name, uint64_t& out) {
  const char* v = std::getenv(name);
  if (!v || !*v) return false;
  char* end = nullptr;
  unsigned long long x = std::strtoull(v, &end, 10);
  if (*end != '\0') {
    ADD_FAILURE() << name << "=" << v << " is not a decimal number";
    return false;
  }
  out = x;
  return true;
}

}  // namespace

SeedRange sim_seeds(uint64_t default_count) {
  SeedRange r{1, default_count};
  uint64_t v = 0;
  if (env_u64("POLLUX_SIM_SEED", v)) return {v, 1};
  if (env_u64("POLLUX_SIM_FIRST_SEED", v)) r.first = v;
  if (env_u64("POLLUX_SIM_SEEDS", v)) {
    r.count = v;
  } else if (const char* s = std::getenv("POLLUX_SIM_SCALE"); s && *s) {
    char* end = nullptr;
    double x = std::strtod(s, &end);
    if (*end != '\0' || !(x > 0)) {
      ADD_FAILURE() << "POLLUX_SIM_SCALE=" << s << " is not a positive number";
    } else {
      r.count = static_cast<uint64_t>(std::ceil(static_cast<double>(default_count) * x));
    }
  }
  if (r.count == 0) r.count = 1;
  return r;
}

std::string repro(uint64_t seed) {
  std::string s = "seed=" + std::to_string(seed) +
                  " (rerun: POLLUX_SIM_SEED=" + std::to_string(seed) + " " +
                  program_invocation_name;
  if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info())
    s += std::string(" --gtest_filter=") + info->test_suite_name() + "." + info->name();
  return s + ")";
}

}  // namespace pollux::sim
