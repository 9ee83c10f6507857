// The candidate strategies of a search: every combination of the search space's values that tiles
// the cluster and divides the batch, less those a static check rules out before any simulation.
//
// Model. A candidate is shorthand strategy flags (pipeline/run_spec.h StrategyFlags) with
// tp x pp x dp = the cluster's GPUs and gbs = mbs x dp x m for a whole number of micro-batches m.
// Cheap structural rules come first (each rejection is counted under its reason):
//   tp <= max_tp (default: the GPUs of one node, where tensor parallelism stays on NVLink),
//   tp divides the attention heads, pp <= layers, gbs divisible by mbs x dp,
//   interleaved:V needs layers divisible by pp x V and m a multiple of pp (Megatron-Core's rule).
// Then memory: a lower bound of the static bytes per GPU (weights, gradients, optimizer states,
// as compile/static_memory.h counts them, over params / (tp x pp), the mean stage: the largest is
// never smaller) plus the memory reserve; a candidate whose bound exceeds the GPU's memory is
// pruned without simulating it. On a cluster mixing GPU types the bound is held against the mean,
// over pipeline stages, of each stage's smallest GPU memory: the stages' static bytes summed must
// fit their GPUs' memory summed, whatever the layer split. The bound only prunes what cannot fit; activations are the event
// simulation's to judge.
//
// Worked example: GPT-3 175B (1.75e11 params) on 1,024 H100s (80 GB) at tp 8, pp 1, dp 128, ZeRO 1:
// 1.75e11 / 8 = 2.2e10 params per GPU x (6 + 12/128) bytes = 134 GB > 80 GB: pruned, "static memory".
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "simulator/model/module.h"
#include "simulator/pipeline/run_spec.h"
#include "topo/cluster.h"

namespace proteus {

/// The values a search tries. Empty lists take the defaults named beside them.
struct SearchSpace {
  int64_t global_batch = 0;               // required: the batch every candidate trains
  std::vector<int> tp;                    // default: powers of two up to max_tp
  std::vector<int> pp;                    // default: powers of two up to the layers
  std::vector<int> mbs;                   // default: 1, 2, 4, 8
  std::vector<std::string> recompute;     // default: none, selective, full
  std::vector<int> zero;                  // default: 0, 1 (Megatron-Core's distributed optimizer)
  std::vector<std::string> schedules;     // default: 1f1b
  int max_tp = 0;                         // 0: the GPUs of one node
  /// Sequence parallelism with tp > 1 (Megatron-Core's recommended setting); false: never.
  bool sp = true;
  /// Also try, per candidate with pp > 1 and one chunk per rank, the layer split balanced by each
  /// stage's measured speed and memory (search/layer_balance.h); always on when the cluster mixes
  /// GPU types.
  bool balance_layers = false;
  StrategyFlags base;                     // every other flag (fp8, overlaps, memory settings)
};

struct CandidateSet {
  std::vector<StrategyFlags> candidates;  // in enumeration order (deterministic)
  std::map<std::string, int64_t> pruned;  // reason -> candidates dropped for it
  int64_t considered = 0;                 // combinations looked at
};

/// Expands the space over `model` on `cluster`. UserError naming the flag when a list holds a
/// value no strategy can take (tp 0, an unknown schedule, ...) or global_batch is missing.
CandidateSet EnumerateCandidates(const Model& model, const Cluster& cluster, const SearchSpace& space);

/// A lower bound of a candidate's static memory per GPU in bytes (see the model above).
int64_t StaticMemoryLowerBound(const Model& model, const StrategyFlags& flags);
/// The same for a model of `params` parameters in `dtype` (the model's Params() counted once).
int64_t StaticMemoryLowerBound(int64_t params, DType dtype, const StrategyFlags& flags);

/// The static bytes per GPU (weights, gradients, optimizer states, reserve) of `params_per_gpu`
/// local parameters under `flags`' precision and ZeRO sharding: what one pipeline stage's GPU holds
/// before activations (the bound above is this of params / (tp x pp)).
int64_t StaticMemoryOfLocalParams(int64_t params_per_gpu, DType dtype, const StrategyFlags& flags);

/// The memory of the cluster's smallest GPU in bytes (what every candidate must fit).
int64_t SmallestGpuMemory(const Cluster& cluster);

/// The flags as they would be typed after `proteus-sim simulate` ("--tp 8 --pp 8 --dp 16 ...").
std::string FlagsCommandLine(const StrategyFlags& flags);

}  // namespace proteus
