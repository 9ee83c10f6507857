#include "profiler/stats.h"

#include <algorithm>
#include <cmath>

namespace proteus::profiler {

double Quantile(std::vector<double> s, double q) {
  if (s.empty()) return 0;
  std::sort(s.begin(), s.end());
  double pos = std::clamp(q, 0.0, 1.0) * double(s.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos));
  size_t hi = std::min(lo + 1, s.size() - 1);
  return s[lo] + (pos - double(lo)) * (s[hi] - s[lo]);
}

TimeStats Summarize(const std::vector<double>& primary, const std::vector<double>& wall,
                    const std::string& method) {
  TimeStats t;
  t.median_s = Quantile(primary, 0.5);
  t.p10_s = Quantile(primary, 0.1);
  t.p90_s = Quantile(primary, 0.9);
  t.count = static_cast<int>(primary.size());
  t.method = method;
  t.wall_median_s = Quantile(wall, 0.5);
  return t;
}

int TimingPolicy::WarmupCalls(double call_s) const {
  if (call_s <= 0) return min_warmup;
  return std::max(min_warmup, static_cast<int>(std::min(1000.0, std::ceil(warmup_s / call_s))));
}

int TimingPolicy::TimedCalls(double call_s) const {
  if (call_s <= 0) return max_reps;
  double want = std::ceil(target_s / call_s);
  return static_cast<int>(std::clamp(want, double(min_reps), double(max_reps)));
}

TimingPolicy OpPolicy() { return TimingPolicy{}; }

TimingPolicy CollectivePolicy() {
  TimingPolicy p;
  p.warmup_s = 0.005;
  p.min_warmup = 2;
  p.target_s = 0.02;
  p.min_reps = 5;
  p.max_reps = 50;
  return p;
}

int RotationSets(int64_t set_bytes, int64_t l2_bytes, int64_t free_bytes, int max_sets) {
  if (set_bytes <= 0) return 1;
  int64_t want = (2 * l2_bytes + set_bytes - 1) / set_bytes + 1;
  int64_t fit = std::max<int64_t>(1, (free_bytes / 2) / set_bytes);
  return static_cast<int>(std::clamp<int64_t>(std::min(want, fit), 1, max_sets));
}

}  // namespace proteus::profiler
