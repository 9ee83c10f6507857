// Calibrated collectives: a planned collective corrected by fitted transport efficiencies and a
// fixed latency (proteus-sim calibrate's coll_* parameters), applied when a compiled graph is priced.
//
//   transfer' = transfer / eff,   eff = bw_eff_inter if the group spans nodes, else bw_eff_intra
//   latency'  = latency + extra_latency
//   time'     = latency' + transfer'
// Every flow's rate cap is multiplied by eff so that, alone, the flows still end at time'
// (topo/collective.h contract). Plans from measured curves ("measured:<key>") are left as they are:
// a measurement of that very collective wins over a fitted correction of the model.
// Example: eff_inter 0.8, extra 10 us: a 2-node all-reduce modelled at 20 us + 1 ms becomes
// 30 us + 1.25 ms.
#pragma once

#include "topo/cluster.h"
#include "topo/collective.h"

namespace proteus {

struct CollectiveCorrection {
  double bw_eff_intra = 1, bw_eff_inter = 1;  // (0, inf): achieved / modelled bandwidth
  double extra_latency_s = 0;                 // >= 0
  bool identity() const { return bw_eff_intra == 1 && bw_eff_inter == 1 && extra_latency_s == 0; }
};

/// Applies `c` to `plan` in place (the formula above). A plan crosses nodes when one of its flows
/// uses a network link. Measured-curve plans and plans without flows (local) are left unchanged.
void CorrectPlan(CollectivePlan& plan, const Cluster& cluster, const CollectiveCorrection& c);

}  // namespace proteus
