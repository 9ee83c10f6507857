// A block-level replay of a pipeline schedule: the real per-rank order of forward and backward
// blocks (compile/schedule.h), each block a fixed duration, inputs crossing ranks after a p2p time.
//
// Model. Rank r runs PipelineOrder(schedule, r, p, m) in order. A block starts when the rank is
// free and its input is there: F of virtual stage s needs F of s-1 on the same micro-batch (none
// for s = 0), B (or the whole backward BW) of s needs B of s+1 (the last stage: its own F), W needs
// its own B. An input from another rank arrives `p2p_s` after its producer ends; unless
// `p2p_overlaps`, the sending rank also waits those p2p_s (a blocking send). Nothing else is
// modelled: no compute/communication interference, no memory. Cost O(p x m x 3).
//
// Worked example: p 2, m 2, 1F1B, F = 1, BW = 2 on both stages, p2p 0.5 overlapped:
//   rank 0 (F0 F1 B0 B1): F0 [0,1]      F1 [1,2]     B0 [5,7]      B1 [8,10]
//   rank 1 (F0 B0 F1 B1): F0 [1.5,2.5]  B0 [2.5,4.5] F1 [4.5,5.5]  B1 [5.5,7.5]
// rank 0's B0 waits for rank 1's B0 (4.5) plus the p2p (0.5): the iteration's blocks end at 10.
#pragma once

#include <vector>

#include "simulator/strategy/strategy.h"

namespace proteus {

/// Durations of one virtual stage's blocks (seconds). With a split backward (zb-h1, zb-v,
/// dualpipev) B is the input-gradient part (backward - w) and W the weight part; otherwise the
/// backward is one block of `backward` seconds.
struct StageBlocks {
  double forward = 0, backward = 0, weight = 0;
};

struct ReplayResult {
  std::vector<double> rank_end_s;       // per pipeline rank: when its last block ends
  std::vector<double> last_backward_s;  // per rank: the duration of its last backward block
  std::vector<int> max_in_flight;       // per rank: most micro-batch chunks forwarded, not yet backwarded
};

/// Replays `schedule` over `stages` (one per virtual stage, p x chunks of them) on p ranks with m
/// micro-batches. InternalError when the orders deadlock (a schedule bug, never bad input).
ReplayResult ReplayPipeline(const Schedule& schedule, int p, int m, const std::vector<StageBlocks>& stages,
                            double p2p_s, bool p2p_overlaps);

}  // namespace proteus
