#include "simulator/cost/interpolate.h"

#include <algorithm>
#include <cmath>

#include "simulator/cost/roofline.h"

namespace proteus {
namespace {

struct Sample {
  std::vector<double> x;   // log2(1 + p) per shape parameter, in key.shape order
  double log_residual = 0;
  double dist2 = 0;
};

std::vector<double> Coordinates(const OpKey& key) {
  std::vector<double> x;
  for (const auto& [name, v] : key.shape) x.push_back(std::log2(1.0 + static_cast<double>(std::max<int64_t>(0, v))));
  return x;
}

std::vector<Sample> Samples(const OpKey& key, const std::vector<const OpEntry*>& family, const GpuSpec& gpu) {
  std::vector<double> q = Coordinates(key);
  std::vector<Sample> out;
  for (const OpEntry* e : family) {
    if (!e || e->status != "ok" || !(e->time.median_s > 0) || !std::isfinite(e->time.median_s)) continue;
    if (e->key.shape.size() != key.shape.size() || ValidateOpKey(e->key)) continue;
    Sample s;
    s.x = Coordinates(e->key);
    double roof = Roofline(e->key, gpu).seconds;
    if (!(roof > 0) || !std::isfinite(roof)) continue;
    s.log_residual = std::log(roof / e->time.median_s);
    for (size_t i = 0; i < q.size(); ++i) s.dist2 += (q[i] - s.x[i]) * (q[i] - s.x[i]);
    out.push_back(std::move(s));
  }
  return out;
}

// True when every coordinate of the query lies within kMaxReach of the samples' range.
bool WithinReach(const std::vector<double>& q, const std::vector<Sample>& samples) {
  double reach = std::log2(kMaxReach);
  for (size_t i = 0; i < q.size(); ++i) {
    double lo = samples[0].x[i], hi = lo;
    for (const auto& s : samples) lo = std::min(lo, s.x[i]), hi = std::max(hi, s.x[i]);
    if (q[i] < lo - reach || q[i] > hi + reach) return false;
  }
  return true;
}

}  // namespace

std::optional<double> InterpolateTime(const OpKey& key, const std::vector<const OpEntry*>& family,
                                      const GpuSpec& gpu) {
  std::vector<Sample> samples = Samples(key, family, gpu);
  if (samples.empty()) return std::nullopt;
  std::vector<double> q = Coordinates(key);
  if (!WithinReach(q, samples)) return std::nullopt;
  // Nearest first; ties broken by residual so the answer does not depend on database order.
  std::sort(samples.begin(), samples.end(), [](const Sample& a, const Sample& b) {
    return a.dist2 != b.dist2 ? a.dist2 < b.dist2 : a.log_residual < b.log_residual;
  });
  size_t k = std::min<size_t>({samples.size(), size_t{1} << std::min<size_t>(q.size(), 3), 8});
  double num = 0, den = 0;
  for (size_t i = 0; i < k; ++i) {
    if (samples[i].dist2 == 0) return Roofline(key, gpu).seconds / std::exp(samples[i].log_residual);
    double w = 1 / samples[i].dist2;
    num += w * samples[i].log_residual;
    den += w;
  }
  return Roofline(key, gpu).seconds / std::exp(num / den);
}

}  // namespace proteus
