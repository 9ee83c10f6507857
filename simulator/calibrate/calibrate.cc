#include "simulator/calibrate/calibrate.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <ctime>
#include <exception>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "common/error.h"
#include "common/log.h"
#include "simulator/calibrate/least_squares.h"
#include "simulator/calibrate/run_evaluator.h"
#include "simulator/cost/compute_cost.h"
#include "simulator/cost/cost_params.h"
#include "simulator/cost/gpu_spec.h"
#include "simulator/pipeline/simulation.h"

namespace proteus {
namespace {

// One residual: a metric of a run, or a kernel measurement.
struct Measurement {
  int run = -1;                 // index into Problem::runs, or -1
  int kernel = -1;              // index into Problem::kernels, or -1
  std::string name, metric;
  double measured = 0;
};

class Problem {
 public:
  Problem(const RunSet& set, const CalibrateOptions& options) : options_(options), gpu_(LoadGpuSpec(options.gpu)) {
    std::set<std::string> types;
    std::vector<std::unique_ptr<RunEvaluator>> all(set.runs.size());
    ParallelFor(static_cast<int>(all.size()), [&](int i) { all[i] = std::make_unique<RunEvaluator>(set.runs[i]); });
    for (size_t r = 0; r < set.runs.size(); ++r) {
      const MeasuredRun& run = set.runs[r];
      types.insert(all[r]->gpu_type());
      if (all[r]->gpu_type() != gpu_.name) {
        skipped_.push_back(run.name + " (" + all[r]->gpu_type() + ")");
        continue;
      }
      runs_.push_back(&run);
      evaluators_.push_back(std::move(all[r]));
      for (const auto& [metric, value] : run.measured.values)
        measurements_.push_back({static_cast<int>(runs_.size()) - 1, -1, run.name, metric, value});
    }
    for (const auto& k : set.kernels) {
      types.insert(k.gpu);
      if (k.gpu != gpu_.name) continue;
      kernels_.push_back(&k);
      measurements_.push_back({-1, static_cast<int>(kernels_.size()) - 1, k.name, "kernel_time_s", k.measured_s});
    }
    if (measurements_.empty()) {
      std::string present;
      for (const auto& t : types) present += (present.empty() ? "" : ", ") + t;
      throw UserError("--gpu", "no run or kernel measurement is of GPU type " + gpu_.name +
                                   (present.empty() ? " (no runs given)" : " (the runs are of: " + present + ")"));
    }
  }

  const std::vector<Measurement>& measurements() const { return measurements_; }
  const std::vector<std::string>& skipped() const { return skipped_; }
  const std::vector<const MeasuredRun*>& runs() const { return runs_; }
  const std::vector<const KernelMeasurement*>& kernels() const { return kernels_; }
  int evaluations() const { return evaluations_; }

  /// Predictions of every measurement under `values` (uncalibrated values for names not given),
  /// exactly or by the fast path (run_evaluator.h); only the runs in `only` (all when empty) are
  /// simulated, the others predict 0.
  std::vector<double> Predict(const CostParamValues& values, bool exact, const std::set<int>& only = {}) {
    ++evaluations_;
    Calibration trial;
    trial.gpu = gpu_.name;
    for (const auto& [name, v] : values) trial.params[name].value = v;
    const Calibration* c = values.empty() ? nullptr : &trial;
    std::vector<std::map<std::string, double>> metrics(runs_.size());
    ParallelFor(static_cast<int>(runs_.size()), [&](int i) {
      if (!only.empty() && !only.count(i)) return;
      if (!c) metrics[i] = evaluators_[i]->uncalibrated();
      else metrics[i] = exact ? evaluators_[i]->Exact(c) : evaluators_[i]->Fast(c);
    });
    auto db = std::make_shared<CostDb>();
    if (!values.empty()) db->calibrations.push_back(trial);
    ComputeCostModel kernel_model(gpu_, db);
    std::vector<double> out;
    for (const auto& m : measurements_) {
      if (m.run >= 0) {
        out.push_back(metrics[m.run].count(m.metric) ? metrics[m.run][m.metric] : 0);
        continue;
      }
      double t = 0;
      for (const auto& key : kernels_[m.kernel]->keys) t += kernel_model.Estimate(key).seconds;
      out.push_back(t);
    }
    return out;
  }

 private:
  // Runs work(0..n-1) on options.threads threads and rethrows the first error by index, as thrown
  // (the evaluators name their run's origin themselves).
  void ParallelFor(int n, const std::function<void(int)>& work) {
    std::atomic<int> next{0};
    std::vector<std::exception_ptr> errors(n);
    auto worker = [&] {
      for (int i = next++; i < n; i = next++) {
        try {
          work(i);
        } catch (...) {
          errors[i] = std::current_exception();
        }
      }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < std::min(std::max(1, options_.threads), n); ++t) pool.emplace_back(worker);
    worker();
    for (auto& t : pool) t.join();
    for (const auto& e : errors)
      if (e) std::rethrow_exception(e);
  }

  const CalibrateOptions& options_;
  GpuSpec gpu_;
  std::vector<const MeasuredRun*> runs_;
  std::vector<std::unique_ptr<RunEvaluator>> evaluators_;
  std::vector<const KernelMeasurement*> kernels_;
  std::vector<Measurement> measurements_;
  std::vector<std::string> skipped_;
  int evaluations_ = 0;
};

std::vector<double> LogErrors(const std::vector<double>& predicted, const std::vector<Measurement>& m) {
  std::vector<double> r(m.size());
  for (size_t i = 0; i < m.size(); ++i)
    r[i] = predicted[i] > 0 && m[i].measured > 0 ? std::log(predicted[i] / m[i].measured) : 10.0;
  return r;
}

std::vector<BoxParam> Boxes(const std::vector<std::string>& names) {
  std::vector<BoxParam> out;
  for (const auto& n : names) {
    const CostParamSpec* spec = FindCostParam(n);
    if (!spec) throw UserError("--params", "unknown parameter \"" + n + "\" (known: " + CostParamNames() + ")");
    out.push_back({n, spec->lo, spec->hi});
  }
  return out;
}

CostParamValues ValuesOf(const std::vector<BoxParam>& boxes, const std::vector<double>& x) {
  CostParamValues v;
  for (size_t j = 0; j < boxes.size(); ++j) v[boxes[j].name] = x[j];
  return v;
}

// Folds of run indices: leave-one-out, or round-robin k-fold.
std::vector<std::set<int>> Folds(int runs, int k) {
  int n = k > 0 ? std::min(k, runs) : runs;
  std::vector<std::set<int>> folds(n);
  for (int i = 0; i < runs; ++i) folds[i % n].insert(i);
  return folds;
}

std::string Today() {
  std::time_t now = std::time(nullptr);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", std::gmtime(&now));
  return buf;
}

double Relative(double predicted, double measured) { return (predicted - measured) / measured; }

}  // namespace

// The two the SC'21 runs identify best under cross-validation (docs/validation.md): more parameters
// fitted to a dozen end-to-end runs overfit (memory and per-kernel costs went to their bounds).
std::vector<std::string> DefaultCalibrationParams() { return {"gemm_ceiling", "gemm_depth_overhead"}; }

CalibrationOutcome Calibrate(const RunSet& set, const CalibrateOptions& options) {
  std::vector<std::string> names = options.params.empty() ? DefaultCalibrationParams() : options.params;
  std::vector<BoxParam> boxes = Boxes(names);
  Problem problem(set, options);
  const auto& ms = problem.measurements();
  int p = static_cast<int>(boxes.size());
  // Expected evaluations (an estimate; the bar stops at full): the Jacobian and trial step of about
  // five iterations, the exact fitted evaluation, one per cross-validation fold.
  std::vector<std::set<int>> folds = Folds(static_cast<int>(problem.runs().size()), options.folds);
  int total = 2 + 5 * (p + 1) + static_cast<int>(folds.size());
  std::unique_ptr<Progress> progress = options.progress ? std::make_unique<Progress>("calibrate", total) : nullptr;
  auto tick = [&](const std::string& what) {
    if (progress) progress->Advance(1, what);
  };

  CostParamValues start_values = UncalibratedParams(LoadGpuSpec(options.gpu));
  std::vector<double> x0;
  for (const auto& b : boxes) x0.push_back(std::clamp(start_values.at(b.name), b.lo, b.hi));
  ResidualFn residuals = [&](const std::vector<double>& x) {
    tick("fit");
    return LogErrors(problem.Predict(ValuesOf(boxes, x), /*exact=*/false), ms);
  };

  CalibrationOutcome out;
  std::vector<double> before = problem.Predict({}, true);
  tick("uncalibrated");
  LeastSquaresOptions lso;
  lso.max_iterations = options.max_iterations;
  lso.step = 1e-2;
  lso.require_identifiable = true;
  LeastSquaresResult fit = FitLeastSquares(residuals, boxes, x0, lso);
  if (fit.unidentifiable)
    throw UserError("calibrate", "the runs cannot identify the parameters: " + *fit.unidentifiable +
                                     "; add runs of other shapes or sizes, or fit fewer parameters (--params)");
  lso.require_identifiable = false;
  std::vector<double> after = problem.Predict(ValuesOf(boxes, fit.x), true);
  tick("fitted");

  // Cross-validation: refit without each fold on the residual model linearised at the fit.
  std::vector<double> held_out = after;
  std::vector<double> u_star = ToUnit(boxes, fit.x);
  for (const auto& fold : folds) {
    std::vector<int> train;
    for (size_t i = 0; i < ms.size(); ++i)
      if (ms[i].run < 0 || !fold.count(ms[i].run)) train.push_back(static_cast<int>(i));
    ResidualFn linear = [&](const std::vector<double>& x) {
      std::vector<double> u = ToUnit(boxes, x), r;
      for (int i : train) {
        double v = fit.residuals[i];
        for (int j = 0; j < p; ++j) v += fit.jacobian[i][j] * (u[j] - u_star[j]);
        r.push_back(v);
      }
      return r;
    };
    LeastSquaresResult fold_fit = FitLeastSquares(linear, boxes, fit.x, lso);
    std::vector<double> predicted = problem.Predict(ValuesOf(boxes, fold_fit.x), true, fold);
    for (size_t i = 0; i < ms.size(); ++i)
      if (ms[i].run >= 0 && fold.count(ms[i].run)) held_out[i] = predicted[i];
    tick("cross-validation");
  }
  if (progress) progress->Finish();

  int run_rows = 0;
  for (size_t i = 0; i < ms.size(); ++i) {
    out.rows.push_back({ms[i].name, ms[i].metric, ms[i].measured, before[i], after[i], held_out[i]});
    if (ms[i].run < 0) continue;
    ++run_rows;
    out.mean_abs_before += std::fabs(Relative(before[i], ms[i].measured));
    out.mean_abs_after += std::fabs(Relative(after[i], ms[i].measured));
    double cv = std::fabs(Relative(held_out[i], ms[i].measured));
    out.mean_abs_cv += cv;
    out.max_abs_cv = std::max(out.max_abs_cv, cv);
  }
  if (run_rows > 0) {
    out.mean_abs_before /= run_rows;
    out.mean_abs_after /= run_rows;
    out.mean_abs_cv /= run_rows;
  }
  out.skipped = problem.skipped();
  out.evaluations = problem.evaluations();

  Calibration& c = out.calibration;
  c.gpu = options.gpu;
  for (int j = 0; j < p; ++j) c.params[boxes[j].name] = {fit.x[j], fit.stderr_x[j], fit.at_bound[j]};
  Json runs = Json::array(), kernels = Json::array();
  for (const auto* r : problem.runs()) runs.push_back({{"name", r->name}, {"source", r->measured.source}});
  for (const auto* k : problem.kernels()) kernels.push_back({{"name", k->name}, {"source", k->source}});
  c.provenance = {{"runs", runs},
                  {"kernels", kernels},
                  {"fitted", names},
                  {"method", "Levenberg-Marquardt on log(predicted/measured) within bounds; " +
                                 std::string(options.folds > 0 ? std::to_string(options.folds) + "-fold"
                                                               : "leave-one-out") +
                                 " cross-validation, folds refitted on the residuals linearised at the fit and "
                                 "held-out runs simulated exactly"},
                  {"mean_abs_error_before", out.mean_abs_before},
                  {"mean_abs_error_fit", out.mean_abs_after},
                  {"cv_mean_abs_error", out.mean_abs_cv},
                  {"cv_max_abs_error", out.max_abs_cv},
                  {"command", options.command},
                  {"date", options.date.empty() ? Today() : options.date},
                  {"proteus_version", PROTEUS_VERSION}};
  return out;
}

}  // namespace proteus
