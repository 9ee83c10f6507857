#include "simulator/compile/op_cost.h"

#include "simulator/cost/compute_cost.h"
#include "simulator/cost/interference.h"
#include "simulator/cost/op_mapping.h"

namespace proteus {

TaskCost DbOpCoster::Cost(const Operator& local, Phase phase) const {
  if (!OperatorRunsPhase(local, phase)) return {0, CostSource::kFixed, "other", ""};
  OpKey key = KeyForOperator(local, phase);
  CostEstimate e = model_.Estimate(key);
  return {e.seconds, e.source, ComputeClassOf(key), key.ToString()};
}

TaskCost DbOpCoster::StepCost(int64_t params, DType dtype) const {
  OpKey key = OptimizerStepKey(params, dtype);
  CostEstimate e = model_.Estimate(key);
  return {e.seconds, e.source, ComputeClassOf(key), key.ToString()};
}

std::vector<OpKey> DbOpCoster::Unmeasured() const { return model_.Unmeasured(); }

}  // namespace proteus
