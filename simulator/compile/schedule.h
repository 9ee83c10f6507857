// Pipeline schedules: the order in which one pipeline rank runs its forward and backward blocks.
//
// With p pipeline ranks, m micro-batches and rank i (0-based):
//   gpipe        F0 .. F(m-1), then B0 .. B(m-1)
//   1f1b         warm-up min(p-i-1, m) forwards, then alternate one forward and one backward,
//                then the remaining backwards (PipeDream-Flush, Narayanan et al. 2021): at most
//                p-i micro-batches in flight, bubble (p-1)/(m+p-1) of the iteration on uniform stages
//   interleaved  V chunks per rank (virtual stage v = chunk*p + i); forward unit k runs chunk
//                (k mod pV) / p on micro-batch (k / pV)*p + k mod p, backward chunks in reverse;
//                warm-up (p-i-1)*2 + (V-1)*p units (Megatron-LM's interleaved 1F1B), needs m % p == 0
// Worked example: p 4, m 8, 1f1b, rank 1: F0 F1 F2 B0 F3 B1 F4 B2 F5 B3 F6 B4 F7 B5 B6 B7.
#pragma once

#include <vector>

#include "simulator/strategy/strategy.h"

namespace proteus {

struct PipelineBlock {
  int chunk = 0;       // model chunk on this rank (0 unless interleaved)
  int microbatch = 0;
  bool forward = true;
};

/// Blocks of pipeline rank `rank` of `ranks`, in execution order.
std::vector<PipelineBlock> PipelineOrder(const Schedule& schedule, int rank, int ranks, int microbatches);

}  // namespace proteus
