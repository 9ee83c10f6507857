#include "simulator/compile/ring_shift.h"

#include <algorithm>

#include "common/error.h"

namespace proteus {

CollectivePlan RingShiftPlan(const CollectiveModel& model, const std::vector<GpuId>& group, int64_t bytes,
                             DType dtype) {
  PROTEUS_CHECK(group.size() >= 2, "a ring shift needs two members or more");
  CollectivePlan plan;
  plan.algo = "p2p";
  plan.proto = "simple";
  for (size_t k = 0; k < group.size(); ++k) {
    CollectivePlan one = model.Plan({CollOp::kSendRecv, {group[k], group[(k + 1) % group.size()]}, bytes, dtype});
    if (k == 0) {
      plan.proto = one.proto;
      plan.source = one.source;
      plan.channels = one.channels;
    }
    plan.latency_s = std::max(plan.latency_s, one.latency_s);
    plan.time_s = std::max(plan.time_s, one.time_s);
    for (auto& f : one.flows) plan.flows.push_back(std::move(f));
  }
  return plan;
}

}  // namespace proteus
