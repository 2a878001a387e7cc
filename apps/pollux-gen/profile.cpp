#include "profile.hpp"

#include <cmath>

namespace pollux::apps {

std::vector<std::string> http_requests(const GenOptions& o) {
  std::string extra;
  for (const auto& h : o.http_headers) extra += h + "\r\n";
  std::vector<std::string> out;
  for (const auto& path : o.http_paths)
    out.push_back("GET " + path + " HTTP/1.1\r\nHost: " + o.dst.to_string() + ":" +
                  std::to_string(o.dst_port) + "\r\nUser-Agent: pollux-gen\r\nAccept: */*\r\n" +
                  extra + "\r\n");
  return out;
}

uint64_t ramp_time_for_work(uint64_t work_ns, uint64_t ramp_ns) {
  if (work_ns >= ramp_ns / 2) return work_ns + ramp_ns / 2;
  return static_cast<uint64_t>(
      std::sqrt(2.0 * static_cast<double>(ramp_ns) * static_cast<double>(work_ns)));
}

}  // namespace pollux::apps
