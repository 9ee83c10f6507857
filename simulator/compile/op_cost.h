// How compile/ prices compute tasks: an interface, so tests can use fixed costs and the CLI the
// cost database (DbOpCoster: KeyForOperator -> ComputeCostModel::Estimate).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/dtype.h"
#include "common/op_key.h"
#include "simulator/cost/cost_source.h"
#include "simulator/model/op.h"

namespace proteus {

class ComputeCostModel;

struct TaskCost {
  double seconds = 0;
  CostSource source = CostSource::kFixed;
  std::string compute_class = "other";  // for interference: "gemm", "attention", "elementwise", ...
  std::string key;                      // the canonical op key priced (OpKey::ToString), "" if none
};

/// Prices one GPU's share of an operator. Implementations must be deterministic.
class OpCoster {
 public:
  virtual ~OpCoster() = default;
  /// `local` is the forward operator with local sizes (partitioned, batch-scaled); `phase` is fwd,
  /// bwd_data or bwd_weight.
  virtual TaskCost Cost(const Operator& local, Phase phase) const = 0;
  /// One optimizer step (fused Adam) over `params` parameters of `dtype` weights.
  virtual TaskCost StepCost(int64_t params, DType dtype) const = 0;
  /// One kernel named by its canonical key (the fp8 cast kernels of compile/fp8_gemm.h). The
  /// default throws InternalError: a coster used for fp8 jobs must override it.
  virtual TaskCost KeyCost(const OpKey& key) const;
  /// Keys estimated without a measurement (for --emit-manifest); empty by default.
  virtual std::vector<OpKey> Unmeasured() const { return {}; }
};

/// The database-backed coster: canonical keys (cost/op_mapping.h), estimates from `model`, compute
/// classes from cost/interference.h. `model` must outlive the coster.
class DbOpCoster : public OpCoster {
 public:
  explicit DbOpCoster(const ComputeCostModel& model) : model_(model) {}
  TaskCost Cost(const Operator& local, Phase phase) const override;
  TaskCost StepCost(int64_t params, DType dtype) const override;
  TaskCost KeyCost(const OpKey& key) const override;
  std::vector<OpKey> Unmeasured() const override;

 private:
  const ComputeCostModel& model_;
};

}  // namespace proteus
