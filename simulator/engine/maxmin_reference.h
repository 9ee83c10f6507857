// The plain max-min fair solver: progressive filling from scratch over every variable, with linear
// scans instead of heaps and no component tracking. Slow (O(V * C) per step) and obviously correct
// against the math in maxmin.h; the tests cross-check MaxMinSolver's incremental path against it.
#pragma once

#include <vector>

#include "simulator/engine/maxmin.h"

namespace proteus {

struct MaxMinProblem {
  std::vector<double> capacities;               // per constraint, bytes/s
  std::vector<std::vector<int32_t>> routes;     // per variable: constraints used (repeats allowed)
  std::vector<double> bounds;                   // per variable: kUnbounded or > 0
  // Per variable: the weight of each entry of its route (finite, > 0), or empty for 1 each. Variables
  // past the end of `weights` weigh 1 everywhere too.
  std::vector<std::vector<double>> weights = {};
};

/// The max-min fair rate of every variable of `problem`.
std::vector<double> SolveMaxMinReference(const MaxMinProblem& problem);

}  // namespace proteus
