#include "simulator/calibrate/run_evaluator.h"

#include <algorithm>

#include "common/error.h"

namespace proteus {
namespace {

std::map<std::string, double> MetricsOf(const Report& r, const Measured& measured) {
  std::map<std::string, double> out;
  for (const auto& [metric, value] : measured.values) out[metric] = r.Metric(metric);
  return out;
}

bool IsRate(const std::string& metric) { return metric != "iteration_time_s" && metric != "peak_memory_gib"; }

}  // namespace

RunEvaluator::RunEvaluator(const MeasuredRun& run) : run_(run) {
  try {
    full_ = std::make_unique<PreparedSimulation>(run.spec);
    gpu_type_ = full_->gpu_type();
    const Report& base = full_->Run(nullptr);
    uncalibrated_ = MetricsOf(base, run.measured);
    const StrategyFlags& f = run.spec.flags;
    m_ = base.micro_batches;
    int64_t p = std::max(1, f.pp);
    bool interleaved = f.schedule.rfind("interleaved", 0) == 0;
    m1_ = std::max<int64_t>(p, 2);
    m2_ = interleaved ? 2 * p : m1_ + std::max<int64_t>(2, (p + 3) / 4);
    if (!run.spec.strategy_file.empty() || m_ <= 2 * m2_ || base.global_batch % m_ != 0) return;
    int64_t per_microbatch = base.global_batch / m_;  // samples of one micro-batch over all pipelines
    RunSpec lo = run.spec, hi = run.spec;
    lo.flags.gbs = static_cast<int>(m1_ * per_microbatch);
    hi.flags.gbs = static_cast<int>(m2_ * per_microbatch);
    lo_ = std::make_unique<PreparedSimulation>(lo);
    hi_ = std::make_unique<PreparedSimulation>(hi);
    std::map<std::string, double> fast = Extrapolate(nullptr);
    for (const auto& [metric, exact] : uncalibrated_) ratio_[metric] = fast[metric] > 0 ? exact / fast[metric] : 1;
  } catch (const UserError& e) {
    throw UserError(run.origin, e.what());
  }
}

std::map<std::string, double> RunEvaluator::Exact(const Calibration* calibration) {
  try {
    return MetricsOf(full_->Run(calibration), run_.measured);
  } catch (const UserError& e) {
    throw UserError(run_.origin, e.what());
  }
}

std::map<std::string, double> RunEvaluator::Extrapolate(const Calibration* calibration) {
  const Report& r1 = lo_->Run(calibration);
  double t1 = r1.iteration_time_s;
  const Report& r2 = hi_->Run(calibration);
  double t2 = r2.iteration_time_s;
  double t = t1 + static_cast<double>(m_ - m1_) * (t2 - t1) / static_cast<double>(m2_ - m1_);
  std::map<std::string, double> out;
  for (const auto& [metric, v] : MetricsOf(r2, run_.measured)) {
    if (metric == "iteration_time_s") out[metric] = t;
    else if (IsRate(metric)) out[metric] = v * static_cast<double>(m_) / static_cast<double>(m2_) * t2 / t;
    else out[metric] = v;
  }
  return out;
}

std::map<std::string, double> RunEvaluator::Fast(const Calibration* calibration) {
  if (!lo_) return Exact(calibration);
  std::map<std::string, double> out;
  try {
    out = Extrapolate(calibration);
  } catch (const UserError& e) {
    throw UserError(run_.origin, e.what());
  }
  for (auto& [metric, v] : out) v *= ratio_[metric];
  return out;
}

}  // namespace proteus
