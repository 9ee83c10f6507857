// Splitting a stage's backward list into B (input gradient) and W (weight gradient), for the
// zero-bubble schedules (schedule.h), which run the two as separate blocks.
//
// Model. W is every step of phase bwd_weight (weight-gradient compute, the regathers of inputs kept
// sharded that only it reads, the data-parallel gradient buckets) and every step that depends on a
// W step; B is the rest: recomputation, output-gradient conversions, bwd_data, and the sends of
// input gradients to the previous stage. No B step depends on a W step (a dependent of W is W), so
// B can run and send on its own; W depends on B through ordinary step dependencies. Memory follows
// its step: an op's saved activations are freed by its last backward step, which is bwd_weight when
// the op has weights (program.cc), so they stay allocated until W runs.
//
// Example, one linear op with a dp bucket: [grad all_reduce tp (B), bwd_data (B), bwd_weight (W,
// frees the saved input), send grad -> stage 0 (B), grad bucket all_reduce dp (W)].
#pragma once

#include <vector>

#include "simulator/compile/program.h"

namespace proteus {

/// Per step of `backward`: 1 when it belongs to the weight-gradient block W, 0 for B.
std::vector<char> WeightGradSteps(const std::vector<Step>& backward);

}  // namespace proteus
