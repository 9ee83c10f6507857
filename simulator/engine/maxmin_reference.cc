#include "simulator/engine/maxmin_reference.h"

#include <algorithm>

namespace proteus {
namespace {

double WeightOf(const MaxMinProblem& p, size_t v, size_t i) {
  return v < p.weights.size() && !p.weights[v].empty() ? p.weights[v][i] : 1.0;
}

}  // namespace

std::vector<double> SolveMaxMinReference(const MaxMinProblem& problem) {
  const size_t num_vars = problem.routes.size();
  std::vector<double> rate(num_vars, 0);
  std::vector<bool> fixed(num_vars, false);
  std::vector<double> remaining = problem.capacities;
  size_t unfixed = num_vars;
  while (unfixed > 0) {
    // Weight of the uses of each constraint by unfixed variables (their count when weights are 1).
    std::vector<double> unfixed_weight(remaining.size(), 0);
    for (size_t v = 0; v < num_vars; ++v) {
      if (fixed[v]) continue;
      const auto& route = problem.routes[v];
      for (size_t i = 0; i < route.size(); ++i) unfixed_weight[route[i]] += WeightOf(problem, v, i);
    }
    double level = kUnbounded;
    int bottleneck = -1;
    for (size_t c = 0; c < remaining.size(); ++c) {
      if (unfixed_weight[c] == 0) continue;
      double l = std::max(remaining[c], 0.0) / unfixed_weight[c];
      if (l < level) level = l, bottleneck = static_cast<int>(c);
    }
    double min_bound = kUnbounded;
    for (size_t v = 0; v < num_vars; ++v) {
      if (!fixed[v]) min_bound = std::min(min_bound, problem.bounds[v]);
    }
    std::vector<size_t> to_fix;
    double fix_rate;
    if (min_bound <= level) {
      fix_rate = min_bound;
      for (size_t v = 0; v < num_vars; ++v) {
        if (!fixed[v] && problem.bounds[v] == min_bound) to_fix.push_back(v);
      }
    } else {
      fix_rate = level;  // kUnbounded when no constraint is left: only free variables remain
      for (size_t v = 0; v < num_vars; ++v) {
        if (fixed[v]) continue;
        bool on_bottleneck = bottleneck < 0 || std::count(problem.routes[v].begin(), problem.routes[v].end(), bottleneck) > 0;
        if (on_bottleneck) to_fix.push_back(v);
      }
    }
    for (size_t v : to_fix) {
      fixed[v] = true;
      rate[v] = fix_rate;
      --unfixed;
      for (size_t i = 0; i < problem.routes[v].size(); ++i) {
        remaining[problem.routes[v][i]] -= WeightOf(problem, v, i) * fix_rate;
      }
    }
  }
  return rate;
}

}  // namespace proteus
