// Cost of compute tasks: database lookup (exact hit, then interpolation across shapes of the same
// family), then a roofline estimate from the GPU spec with size-dependent efficiency. Every estimate
// carries its source (compile/exec_graph.h CostSource) and the report counts them.
//
// Lookup order for a key (common/op_key.h):
//   1. measured      the database holds the key with status ok: its median time
//   2. interpolated  the database holds ok entries of the key's family within reach
//                    (cost/interpolate.h): roofline(key) / interpolated residual
//   3. calibrated    the database has a calibration for this GPU type (cost/cost_params.h): the
//                    roofline with the fitted parameters
//   4. roofline      otherwise (or without a database): cost/roofline.h with the spec's defaults
// Interpolation divides by the roofline it would otherwise use, so it follows the calibration too.
// Example: ComputeCostModel m(LoadGpuSpec("H100-SXM5-80GB"), nullptr);
//          m.Estimate(gemm bf16 fwd 8192^3) == {1.451 ms, kRoofline}
// Results are memoized per key (ToString), so repeated calls are a hash lookup under a lock.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/costdb.h"
#include "common/op_key.h"
#include "simulator/cost/cost_source.h"
#include "simulator/cost/gpu_spec.h"

namespace proteus {

struct CostEstimate {
  double seconds = 0;
  CostSource source = CostSource::kRoofline;
};

/// Thread-safe for concurrent Estimate() calls.
class ComputeCostModel {
 public:
  /// `db` may be empty (no measurements): every estimate is then a roofline one.
  ComputeCostModel(GpuSpec gpu, std::shared_ptr<const CostDb> db);
  /// Time of one call of `key` and where it came from. Precondition: ValidateOpKey(key) passes
  /// (keys come from KeyForOperator; an invalid one is a bug, PROTEUS_CHECK).
  CostEstimate Estimate(const OpKey& key) const;
  /// Keys answered without a measurement (interpolated or roofline), for --emit-manifest.
  std::vector<OpKey> Unmeasured() const;
  /// The spec estimates use: the given one with the calibration's parameters applied, if any.
  const GpuSpec& gpu() const { return gpu_; }
  /// The calibration applied (null: uncalibrated roofline).
  const Calibration* calibration() const { return calibration_; }
  const std::shared_ptr<const CostDb>& db() const { return db_; }

 private:
  CostEstimate Compute(const OpKey& key) const;

  GpuSpec gpu_;
  std::shared_ptr<const CostDb> db_;
  const Calibration* calibration_ = nullptr;  // points into *db_
  mutable std::mutex mu_;
  mutable std::set<OpKey> unmeasured_;
  mutable std::unordered_map<std::string, CostEstimate> cache_;  // by OpKey::ToString()
};

}  // namespace proteus
