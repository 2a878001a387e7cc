#include "profile.hpp"

#include <algorithm>
#include <cmath>

namespace pollux::apps {

std::vector<Destination> destinations(const GenOptions& o) {
  if (!o.dsts.empty()) return o.dsts;
  return {Destination{o.dst, o.dst_port, 1}};
}

size_t http_bodies(const GenOptions& o) {
  return o.http_method == HttpMethod::post && !o.body_sizes.empty() ? o.body_sizes.size() : 1;
}

std::vector<std::string> http_requests(const GenOptions& o) {
  std::string extra;
  for (const auto& h : o.http_headers) extra += h + "\r\n";
  const bool post = o.http_method == HttpMethod::post;
  std::vector<std::string> out;
  for (const Destination& d : destinations(o)) {
    for (const auto& path : o.http_paths) {
      for (size_t b = 0; b < http_bodies(o); ++b) {
        std::string r = std::string(post ? "POST " : "GET ") + path +
                        " HTTP/1.1\r\nHost: " + d.to_string() +
                        "\r\nUser-Agent: pollux-gen\r\nAccept: */*\r\n" + extra;
        if (post) {
          // RFC 9110 8.6: a POST says how long its content is (we never send chunked bodies).
          const uint64_t len = o.body_sizes.empty() ? 0 : o.body_sizes[b].value;
          r += "Content-Length: " + std::to_string(len) + "\r\n\r\n";
          for (uint64_t i = 0; i < len; ++i) r += static_cast<char>('a' + i % 26);
        } else {
          r += "\r\n";
        }
        out.push_back(std::move(r));
      }
    }
  }
  return out;
}

bool parse_weighted_list(std::string_view option, std::string_view text, Unit unit, uint64_t min,
                         uint64_t max, std::vector<Weighted>& out, std::string& error) {
  std::vector<Weighted> list;
  size_t pos = 0;
  for (;;) {
    const size_t comma = text.find(',', pos);
    const std::string_view item =
        text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    if (list.size() == kMaxWeighted) {
      error = std::string(option) + ": at most " + std::to_string(kMaxWeighted) + " entries";
      return false;
    }
    const size_t at = item.find('@');
    Weighted w;
    const auto v = parse_option_value(option, item.substr(0, at), unit, min, max, error);
    if (!v) return false;
    w.value = *v;
    if (at != std::string_view::npos) {
      const auto weight = parse_option_value(option, item.substr(at + 1), Unit::plain, 1, 1'000'000,
                                             error, "a weight");
      if (!weight) return false;
      w.weight = static_cast<uint32_t>(*weight);
    }
    list.push_back(w);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  out = std::move(list);
  return true;
}

std::string weighted_list_text(const std::vector<Weighted>& list) {
  std::string s;
  for (const auto& w : list) {
    if (!s.empty()) s += ',';
    s += std::to_string(w.value);
    if (w.weight != 1) s += '@' + std::to_string(w.weight);
  }
  return s;
}

WeightedCycle::WeightedCycle(const std::vector<Weighted>& list) {
  for (const auto& w : list) {
    weights_.push_back(w.weight);
    total_ += w.weight;
  }
  current_.assign(weights_.size(), 0);
}

size_t WeightedCycle::next() {
  if (weights_.size() <= 1) return 0;
  size_t best = 0;
  for (size_t i = 0; i < weights_.size(); ++i) {
    current_[i] += weights_[i];
    if (current_[i] > current_[best]) best = i;
  }
  current_[best] -= total_;
  return best;
}

uint64_t ramp_time_for_work(uint64_t work_ns, uint64_t ramp_ns) {
  if (work_ns >= ramp_ns / 2) return work_ns + ramp_ns / 2;
  return static_cast<uint64_t>(
      std::sqrt(2.0 * static_cast<double>(ramp_ns) * static_cast<double>(work_ns)));
}

RateProfile::RateProfile(uint64_t ramp_ns, const std::vector<uint32_t>& steps, uint64_t step_ns) {
  std::vector<double> f;
  const double peak = steps.empty() ? 1.0 : *std::max_element(steps.begin(), steps.end());
  for (uint32_t s : steps) f.push_back(s / peak);
  if (f.empty()) f.push_back(1.0);
  pieces_.clear();
  uint64_t t = 0;
  double w = 0;
  auto add = [&](uint64_t len, double f0, double f1) {
    pieces_.push_back(Piece{t, len, f0, f1, w});
    t += len;
    w += static_cast<double>(len) * (f0 + f1) / 2;
  };
  if (ramp_ns > 0) add(ramp_ns, 0.0, f[0]);
  for (size_t i = 0; i + 1 < f.size(); ++i) add(step_ns, f[i], f[i]);
  add(0, f.back(), f.back());
}

const RateProfile::Piece& RateProfile::piece_at(uint64_t t_ns) const {
  size_t i = 0;
  while (i + 1 < pieces_.size() && t_ns >= pieces_[i + 1].t0) ++i;
  return pieces_[i];
}

double RateProfile::fraction_at(uint64_t t_ns) const {
  const Piece& p = piece_at(t_ns);
  if (p.len == 0 || p.f0 == p.f1) return p.f0;
  return p.f0 + (p.f1 - p.f0) * static_cast<double>(t_ns - p.t0) / static_cast<double>(p.len);
}

uint64_t RateProfile::work_at(uint64_t t_ns) const {
  const Piece& p = piece_at(t_ns);
  const double x = static_cast<double>(t_ns - p.t0);
  const double f = fraction_at(t_ns);
  return static_cast<uint64_t>(p.w0 + x * (p.f0 + f) / 2);
}

uint64_t RateProfile::time_for_work(uint64_t work_ns) const {
  const double w = static_cast<double>(work_ns);
  size_t i = 0;
  while (i + 1 < pieces_.size() && w >= pieces_[i + 1].w0) ++i;
  const Piece& p = pieces_[i];
  const double dw = w - p.w0;
  double x = 0;
  if (p.len == 0 || p.f0 == p.f1) {
    x = p.f0 > 0 ? dw / p.f0 : 0;
  } else {
    // dw = f0 x + a x^2 with a = (f1 - f0) / (2 len): the positive root.
    const double a = (p.f1 - p.f0) / (2.0 * static_cast<double>(p.len));
    x = (-p.f0 + std::sqrt(p.f0 * p.f0 + 4 * a * dw)) / (2 * a);
  }
  return p.t0 + static_cast<uint64_t>(std::max(0.0, x));
}

}  // namespace pollux::apps
