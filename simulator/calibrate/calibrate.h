// Calibration: fit a few named cost-model parameters (simulator/cost/cost_params.h) of one GPU type
// to measured runs and kernel measurements, cross-validate the fit, and hand back a cost-database
// calibration layer with its provenance.
//
// Residuals. One per measured metric of each run of that GPU type, and one per kernel measurement:
//   r = log(predicted / measured)
// (log error: a 10% miss counts the same on a 1 s and a 10 s iteration, and too fast and too slow
// by the same factor weigh the same). Each run is compiled once (PreparedSimulation) and re-priced
// for every trial parameter set, so a trial costs an HTAE run, not a compilation.
//
// Fit. Levenberg-Marquardt within the parameters' bounds (least_squares.h), from the uncalibrated
// values; before fitting, the runs must identify every parameter (a parameter no run depends on,
// or two that every run sees in the same proportion, is refused with exit 2).
//
// Cross-validation. Leave-one-out (k-fold with `folds` > 0): for each fold, the parameters are
// refitted without it on the residual model linearised at the full fit (r + J du, within the
// bounds), and the held-out runs are then simulated exactly at the fold's parameters. The CV error
// is the error of these held-out predictions.
//
// Example: 13 SC'21 runs on A100 plus one GEMM measurement, fitting gemm_ceiling,
// memory_ceiling and kernel_overhead_us -> a Calibration{gpu: "A100-SXM4-80GB", params: {...}}.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/costdb.h"
#include "simulator/calibrate/measured_run.h"

namespace proteus {

struct CalibrateOptions {
  std::string gpu;                      // GPU spec name the runs are filtered to (required)
  std::vector<std::string> params;      // parameters to fit (empty: DefaultCalibrationParams())
  int folds = 0;                        // 0: leave-one-out
  int threads = 2;                      // runs simulated in parallel
  int max_iterations = 20;
  std::string command;                  // recorded in the provenance
  std::string date;                     // recorded in the provenance ("" : today, UTC)
  bool progress = true;                 // progress bar on stderr
};

/// One row of the before / after / held-out table.
struct CalibrationRow {
  std::string name, metric;             // run or kernel name; metric ("kernel_time_s" for kernels)
  double measured = 0;
  double before = 0, after = 0, held_out = 0;  // predictions: uncalibrated, fitted, cross-validated
};

struct CalibrationOutcome {
  Calibration calibration;              // the layer to write
  std::vector<CalibrationRow> rows;
  std::vector<std::string> skipped;     // runs of other GPU types, with their type
  double mean_abs_before = 0, mean_abs_after = 0, mean_abs_cv = 0, max_abs_cv = 0;  // runs only
  int evaluations = 0;
};

/// The parameters fitted when none are named.
std::vector<std::string> DefaultCalibrationParams();

/// Fits, cross-validates and describes. UserError (exit 2) when no run or kernel is of
/// `options.gpu` (naming the GPU types present), when a parameter is unknown or not identified by
/// the runs, or when there are not more measurements than parameters.
CalibrationOutcome Calibrate(const RunSet& runs, const CalibrateOptions& options);

}  // namespace proteus
