// Layer balancing: how many transformer layers each pipeline stage holds when the stages are not
// equally fast (a mixed-GPU cluster, as Metis balances them) or carry unequal fixed work (the
// embedding on the first stage, the output head and loss on the last).
//
// Model. Stage s costs c_s(L) = fixed_s + L x layer_s per micro-batch (forward + backward, priced
// on its own GPU type by the fast estimate), and holds at most max_s layers (its memory lower
// bound, fast_estimate.h). A 1F1B pipeline's steady state runs at the pace of its slowest stage,
// so the proportional split equalizes the stage costs:
//   find T with  sum_s clamp((T - fixed_s) / layer_s, 1, max_s) = N   (bisection on T),
//   L_s = that clamp, floored, and the layers left over go one each to the stages with the largest
//   fractional parts (ties: the earlier stage), never above max_s.
// Then a local search on the real objective, the replayed iteration (fill, drain and the data-
// parallel tail included, which the proportional rule ignores): each step tries every move of one
// layer between adjacent stages (s -> s+1 and s+1 -> s, keeping 1 <= L <= max) and takes the one
// that lowers the iteration most (ties: the first tried); it stops when no move improves, or after
// `max_moves` steps. Deterministic; (stages - 1) x 2 evaluations per step.
//
// Worked example: 24 layers on 2 stages, layer_s = 1 ms on A100 and 2.5 ms on V100, fixed 0:
// T = 24 / (1/1 + 1/2.5) = 17.14 ms, L = (17.14, 6.86) -> floors (17, 6), one layer left, to
// stage 1 (fraction .86 > .14): (17, 7), stage costs 17 and 17.5 ms (the even 12 + 12: 12 and 30).
#pragma once

#include <functional>
#include <optional>
#include <vector>

namespace proteus {

/// One pipeline stage as the balancer sees it (seconds per micro-batch).
struct StageCost {
  double layer_s = 0;  // one transformer layer's forward + backward on this stage's GPUs (> 0)
  double fixed_s = 0;  // the rest of the stage: the embedding (first stage), the output (last)
  int max_layers = 0;  // most layers whose memory fits this stage's GPUs
};

/// The proportional split of `layers` over `stages` (model above); nullopt when they cannot hold
/// them (some max_layers < 1, or the max_layers summing to fewer than `layers`).
std::optional<std::vector<int>> ProportionalSplit(const std::vector<StageCost>& stages, int layers);

/// The iteration time of a split, or nullopt when that split cannot run (out of memory).
using SplitTime = std::function<std::optional<double>(const std::vector<int>& split)>;

struct BalancedSplit {
  std::vector<int> split;   // layers per stage, summing to the layers
  double iteration_s = 0;   // `time` of it
  int evaluations = 0;      // calls of `time`
  int moves = 0;            // local-search steps taken
};

/// The proportional split improved by the local search on `time` (model above); nullopt when no
/// proportional split exists or `time` refuses it.
std::optional<BalancedSplit> BalanceLayers(const std::vector<StageCost>& stages, int layers, const SplitTime& time,
                                           int max_moves);

}  // namespace proteus
