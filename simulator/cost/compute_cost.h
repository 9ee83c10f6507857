// Cost of compute tasks: database lookup (exact hit, then interpolation across shapes of the same
// family), then a roofline estimate from the GPU spec with size-dependent efficiency. Every estimate
// carries its source (compile/exec_graph.h CostSource) and the report counts them.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>
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
  CostEstimate Estimate(const OpKey& key) const;
  /// Keys answered without a measurement (interpolated or roofline), for --emit-manifest.
  std::vector<OpKey> Unmeasured() const;
  const GpuSpec& gpu() const { return gpu_; }

 private:
  GpuSpec gpu_;
  std::shared_ptr<const CostDb> db_;
  mutable std::mutex mu_;
  mutable std::set<OpKey> unmeasured_;
};

}  // namespace proteus
