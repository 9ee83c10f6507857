// Validation: reject strategies that cannot run, with a message that names the conflict.
//
// Checked, in order: the mesh fits the cluster; the schedule and batch sizes agree
// (global_batch % (micro_batch * dp) == 0; interleaving needs micro-batches % pp == 0; zb-v needs
// pp >= 2, dualpipev pp >= 2 and micro-batches >= 2 pp); every rule's
// glob is well formed and matches at least one module or operator (a typo must not silently do
// nothing); partitions and layouts name mesh axes; no op splits an opaque dim or two dims over one
// axis; every partitioned dim is divisible by its axes ("tp=8 does not divide dim kv_heads=4 of
// layers.0.attn.qkv"); pipeline stages cover the operators contiguously with no empty stage;
// context parallelism is what ring attention models (every sequence dim on the cp axis, the
// attention queries split only over cp, fused attention) and what it is not combined with yet
// (sequence parallelism, expert parallelism, ZeRO-2/3, FSDP, optimizer offload, overlapped
// parameter gathers) is refused by name.
//
// The batch dim "b" holds one sample in the model; its size per micro-batch is micro_batch x dp, so
// partitioning it over dp always divides.
#pragma once

#include "simulator/model/module.h"
#include "simulator/strategy/resolve.h"
#include "simulator/strategy/strategy.h"

namespace proteus {

struct Cluster;  // topo/cluster.h

/// Throws UserError("<strategy origin>", "<conflict>") on the first problem; returns the resolved
/// model when the strategy is valid for `model` on `cluster`.
ResolvedModel ValidateStrategy(const Model& model, const Strategy& strategy, const Cluster& cluster);

/// The same checks against a cluster of `cluster_gpus` GPUs (for tools that have no cluster yet).
ResolvedModel ValidateStrategy(const Model& model, const Strategy& strategy, int cluster_gpus);

/// Global size of op dim `dim` in one micro-batch: "b" is scaled to micro_batch x dp.
int64_t GlobalDimSize(const Dim& dim, const Strategy& strategy);

}  // namespace proteus
