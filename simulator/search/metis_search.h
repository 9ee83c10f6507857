// Metis' plan space searched with branch and bound, priced by Metis' own cost model (metis_cost.h).
//
// The space (a superset of the one Metis' planner walks, search_space/plan.py):
//   type order   every permutation of the device types (which type owns the first ranks);
//   batches b    every divisor of the global batch;
//   stages S     1 .. min(GPUs, layers);
//   groups g_s   power-of-two GPU counts summing to the GPUs, each at least variance x
//                max(GPUs / S, S / GPUs) (Metis' "key idea 1"; we keep every ordering, Metis caps
//                the permutations with max_permute_len);
//   (dp_s, tp_s) every power-of-two tp_s <= max_tp with micro-batch gbs / dp_s / b in 1..max_bs
//                (Metis walks one chain, halving dp of the stage with the least spare memory);
//   L_s          every split into consecutive non-empty stages (Metis takes its balancer's one).
//
// So the best plan here costs at most Metis' best, by Metis' model. The search fixes the stages one
// at a time, front to back, and cuts a subtree when
//   - a stage's memory does not fit or its profile is missing (no completion can repair it);
//   - its optimistic cost reaches the best so far: the fixed stages' terms plus, for the remaining
//     layers, each at its cheapest profiled time for this b (any type, tp, bs <= gbs / b), with the
//     pipeline term (b - 1) max(len) bounded below by the remaining time over the remaining stages,
//     the last stage's fb_sync by the smallest in the profiles, and b batch generator times exactly;
//   - the same bound for a whole (order, b, S) before any stage is fixed.
// A step is one complete plan priced by the cost model, as a Metis step is one get_cost call.
// `exhaustive` turns the cost bounds off (the memory and profile cuts stay: they are exact), for
// the test that proves the bounds never cut the best plan.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "simulator/search/metis_cost.h"

namespace proteus {

struct MetisSearchOptions {
  double variance = 1.0;  ///< Metis' min_group_scale_variance
  int max_tp = 4;         ///< Metis' max_profiled_tp_degree
  bool exhaustive = false;
};

struct MetisSearchResult {
  std::optional<MetisPlan> best;
  double best_cost_ms = 0;
  int64_t steps = 0;          ///< complete plans priced
  int64_t partial_plans = 0;  ///< stages fixed (inner nodes of the search tree)
  int64_t cut_by_bound = 0, cut_by_memory = 0;
};

MetisSearchResult SearchMetisPlans(MetisCostModel& model, const MetisSearchOptions& options);

}  // namespace proteus
