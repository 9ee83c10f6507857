#include "topo/calibrated_collective.h"

#include "common/error.h"

namespace proteus {

namespace {

bool CrossesNodes(const CollectivePlan& plan, const Cluster& cluster) {
  for (const auto& f : plan.flows)
    for (LinkId l : f.links)
      if (cluster.graph.KindOf(l) == LinkKind::kNet) return true;
  return false;
}

}  // namespace

void CorrectPlan(CollectivePlan& plan, const Cluster& cluster, const CollectiveCorrection& c) {
  if (plan.source.rfind("measured:", 0) == 0 || plan.flows.empty()) return;
  double eff = CrossesNodes(plan, cluster) ? c.bw_eff_inter : c.bw_eff_intra;
  double transfer = (plan.time_s - plan.latency_s) / eff;
  plan.latency_s += c.extra_latency_s;
  plan.time_s = plan.latency_s + transfer;
  for (auto& f : plan.flows) f.max_rate *= eff;
}

}  // namespace proteus
