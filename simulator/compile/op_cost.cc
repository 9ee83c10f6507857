#include "simulator/compile/op_cost.h"

#include "common/error.h"
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

TaskCost DbOpCoster::StepCost(int64_t params, DType dtype) const { return KeyCost(OptimizerStepKey(params, dtype)); }

TaskCost DbOpCoster::KeyCost(const OpKey& key) const {
  CostEstimate e = model_.Estimate(key);
  return {e.seconds, e.source, ComputeClassOf(key), key.ToString()};
}

TaskCost OpCoster::KeyCost(const OpKey& key) const {
  throw InternalError("this OpCoster cannot price op keys (" + key.ToString() + "): override KeyCost");
}

std::vector<OpKey> DbOpCoster::Unmeasured() const { return model_.Unmeasured(); }

}  // namespace proteus
