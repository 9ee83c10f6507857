// Predictions of one measured run under trial cost-model parameters, fast enough to fit with.
//
// Exact: the run compiled once (PreparedSimulation) and re-priced per trial.
// Fast: a pipeline's iteration grows linearly with its micro-batches once every stage is busy
// (1F1B, GPipe and interleaved steady states: each added micro-batch adds one forward and one
// backward to the slowest stage). So a run with m micro-batches per pipeline is also compiled with
// m1 = max(p, 2) and m2 = m1 + max(2, ceil(p / 4)) (interleaved: multiples of p), and
//   T(m) = T1 + (m - m1) (T2 - T1) / (m2 - m1)
// with throughput metrics scaled by (m / m2) (T2 / T(m)). What the line misses (warm-up and
// drain effects, the gradient reduction's overlap) is taken out by a control variate: at the
// uncalibrated parameters both the exact and the fast prediction are computed, and every fast
// prediction is multiplied by their ratio. Runs with few micro-batches (m <= 2 m2) are always exact.
// Worked example: pp 12, m 384 -> m1 12, m2 15: two graphs of 12 and 15 micro-batches stand in for
// one of 384 (7% of the tasks), and the ratio corrects the residual bend of the line.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/costdb.h"
#include "simulator/calibrate/measured_run.h"
#include "simulator/pipeline/simulation.h"

namespace proteus {

class RunEvaluator {
 public:
  /// Compiles the run (and its reduced copies); computes the uncalibrated predictions. UserError
  /// naming the run's origin on bad input.
  explicit RunEvaluator(const MeasuredRun& run);
  const std::string& gpu_type() const { return gpu_type_; }
  /// The uncalibrated predictions of the run's measured metrics (exact).
  const std::map<std::string, double>& uncalibrated() const { return uncalibrated_; }
  /// Predictions under `calibration` (null: uncalibrated), exactly or by the fast path. UserError
  /// naming the run's origin on a bad calibration.
  std::map<std::string, double> Exact(const Calibration* calibration);
  std::map<std::string, double> Fast(const Calibration* calibration);
  bool has_fast_path() const { return lo_ != nullptr; }

 private:
  std::map<std::string, double> Extrapolate(const Calibration* calibration);

  const MeasuredRun& run_;
  std::string gpu_type_;
  std::unique_ptr<PreparedSimulation> full_, lo_, hi_;
  int64_t m_ = 0, m1_ = 0, m2_ = 0;
  std::map<std::string, double> uncalibrated_, ratio_;
};

}  // namespace proteus
