#include "simulator/search/layer_balance.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace proteus {
namespace {

// Layers stage s would hold at stage cost T, before rounding.
double LayersAt(const StageCost& s, double t) {
  return std::clamp((t - s.fixed_s) / s.layer_s, 1.0, static_cast<double>(s.max_layers));
}

double TotalAt(const std::vector<StageCost>& stages, double t) {
  double sum = 0;
  for (const auto& s : stages) sum += LayersAt(s, t);
  return sum;
}

}  // namespace

std::optional<std::vector<int>> ProportionalSplit(const std::vector<StageCost>& stages, int layers) {
  const int n = static_cast<int>(stages.size());
  if (n == 0 || layers < n) return std::nullopt;
  int64_t room = 0;
  double hi = 0;
  for (const auto& s : stages) {
    if (s.max_layers < 1 || !(s.layer_s > 0)) return std::nullopt;
    room += s.max_layers;
    hi = std::max(hi, s.fixed_s + s.max_layers * s.layer_s);
  }
  if (room < layers) return std::nullopt;
  // TotalAt grows with T from n (T = 0: every stage at its one layer) to the stages' room (T = hi);
  // bisect for the largest T whose total does not exceed the layers, so the floors leave a
  // remainder of at most n to hand out. A fixed step count keeps it deterministic.
  double lo = 0;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (TotalAt(stages, mid) <= layers ? lo : hi) = mid;
  }
  std::vector<int> split(n);
  std::vector<double> fraction(n);
  int left = layers;
  for (int s = 0; s < n; ++s) {
    const double x = LayersAt(stages[s], lo);
    split[s] = std::min(stages[s].max_layers, static_cast<int>(std::floor(x)));
    fraction[s] = x - split[s];
    left -= split[s];
  }
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return fraction[a] > fraction[b]; });
  // Largest remainders first; a stage at its memory limit is passed over (room >= layers, so the
  // loop ends).
  while (left > 0)
    for (int s : order)
      if (left > 0 && split[s] < stages[s].max_layers) ++split[s], --left;
  return split;
}

std::optional<BalancedSplit> BalanceLayers(const std::vector<StageCost>& stages, int layers, const SplitTime& time,
                                           int max_moves) {
  std::optional<std::vector<int>> start = ProportionalSplit(stages, layers);
  if (!start) return std::nullopt;
  BalancedSplit best;
  best.split = *start;
  std::optional<double> t = time(best.split);
  ++best.evaluations;
  if (!t) return std::nullopt;
  best.iteration_s = *t;
  const int n = static_cast<int>(stages.size());
  while (best.moves < max_moves) {
    std::optional<std::vector<int>> step;
    double step_s = best.iteration_s;
    for (int s = 0; s + 1 < n; ++s)
      for (int from : {s, s + 1}) {
        const int to = from == s ? s + 1 : s;
        if (best.split[from] <= 1 || best.split[to] >= stages[to].max_layers) continue;
        std::vector<int> trial = best.split;
        --trial[from];
        ++trial[to];
        std::optional<double> trial_s = time(trial);
        ++best.evaluations;
        if (trial_s && *trial_s < step_s) step_s = *trial_s, step = std::move(trial);
      }
    if (!step) break;
    best.split = std::move(*step);
    best.iteration_s = step_s;
    ++best.moves;
  }
  return best;
}

}  // namespace proteus
