// Gather units of sharded weights (ZeRO-3 / FSDP): the groups of operators whose parameters are
// all-gathered together before the first of them runs and freed after the last.
//
// Model. PyTorch FSDP2 applies fully_shard to each transformer block and to the root, so a unit is a
// top-level module, or one numbered block under it: "layers.7.mlp.fc1" is in unit "layers.7",
// "embed.word" in "embed", "lm_head.logits" in "lm_head". DeepSpeed ZeRO-3 fetches each
// submodule's parameters as the submodule runs (its prefetcher overlaps the next fetch), so a unit
// is one operator: "layers.7.mlp.fc1". Worked example, a 2-layer GPT under FSDP: units embed,
// layers.0, layers.1, final_norm, lm_head, in execution order; with prefetch 1 the gather of
// layers.1 is issued when layers.0 starts (after embed ends), so it overlaps layers.0's compute.
#pragma once

#include <string>

#include "simulator/strategy/strategy.h"

namespace proteus {

/// The unit `op_path` belongs to.
std::string GatherUnitOf(const std::string& op_path, GatherUnit unit);

}  // namespace proteus
