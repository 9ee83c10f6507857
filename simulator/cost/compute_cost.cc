#include "simulator/cost/compute_cost.h"

#include <cmath>

#include "common/error.h"
#include "simulator/cost/cost_params.h"
#include "simulator/cost/interpolate.h"
#include "simulator/cost/roofline.h"

namespace proteus {

ComputeCostModel::ComputeCostModel(GpuSpec gpu, std::shared_ptr<const CostDb> db)
    : gpu_(std::move(gpu)), db_(std::move(db)) {
  PROTEUS_CHECK(gpu_.sm_count > 0 && gpu_.mem_bw > 0 && !gpu_.peak_flops.empty(),
                "GPU spec \"" + gpu_.name + "\" lacks SMs, bandwidth or peaks");
  if (db_) calibration_ = db_->FindCalibration(gpu_.name);
  if (calibration_) {
    CostParamValues values = ValuesOf(*calibration_);
    if (auto bad = ValidateCostParams(values))
      throw UserError("calibration for " + gpu_.name, *bad);
    gpu_ = ApplyComputeParams(std::move(gpu_), values);
  }
}

CostEstimate ComputeCostModel::Compute(const OpKey& key) const {
  if (db_) {
    const OpEntry* hit = db_->FindOp(key);
    if (hit && hit->status == "ok" && hit->time.median_s > 0 && std::isfinite(hit->time.median_s))
      return {hit->time.median_s, CostSource::kMeasured};
    if (auto t = InterpolateTime(key, db_->Family(key), gpu_)) return {*t, CostSource::kInterpolated};
  }
  return {Roofline(key, gpu_).seconds, calibration_ ? CostSource::kCalibrated : CostSource::kRoofline};
}

CostEstimate ComputeCostModel::Estimate(const OpKey& key) const {
  std::string text = key.ToString();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = cache_.find(text); it != cache_.end()) return it->second;
  }
  auto invalid = ValidateOpKey(key);
  PROTEUS_CHECK(!invalid, text + ": " + invalid.value_or(""));
  // Computed outside the lock so threads estimating different keys do not wait on each other; two
  // threads racing on one key compute the same value and the first insert wins.
  CostEstimate est = Compute(key);
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = cache_.emplace(std::move(text), est);
  if (inserted && est.source != CostSource::kMeasured) unmeasured_.insert(key);
  return it->second;
}

std::vector<OpKey> ComputeCostModel::Unmeasured() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {unmeasured_.begin(), unmeasured_.end()};
}

}  // namespace proteus
