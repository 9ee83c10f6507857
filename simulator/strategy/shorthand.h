// Shorthand flags -> strategy tree (`--tp 8 --pp 8 --dp 16 --mbs 1 --gbs 1536 --schedule 1f1b
// --zero 1 --recompute selective --sp`).
//
// Model. The mesh is [pp, dp, tp] (tp fastest, as Megatron orders ranks); --cp N > 1 adds a cp axis,
// [pp, dp, cp, tp] (Megatron-Core's tp-cp-dp-pp order) and partitions every iterated sequence dim
// "s" over it (ring attention, compile/program_context.cc). The expansion relies on
// the model's annotations, not on module names of one family:
//   --dp   partitions op dim "b" of every op over dp (defaults);
//   --tp   partitions each op's attrs["tp"] dim over tp (Megatron column/row/head/vocab splits);
//   --sp   also partitions dim "s" of ops marked attrs["sp"] over tp (Megatron sequence parallel);
//   --pp   gives the blocks "layers.<i>" contiguous stages (even split, the remainder to the first
//          stages, or --pp-layers), top-level modules before the blocks to the first stage and those
//          after them to the last;
//   --zero 1 shards the optimizer states over dp (and the gradients are reduce-scattered), 2 also
//          the gradients, 3 also the weights (gathered per operator, DeepSpeed ZeRO-3);
//   --offload-optimizer keeps the optimizer states on the CPU (DeepSpeed ZeRO-Offload; zero 1 or 2);
//   --offload-activations N copies the first N layers' saved activations to the CPU (Megatron-Core
//          cpu_offloading; pp 1, no recomputation: ValidateStrategy refuses the rest by the flag's name);
//   --fsdp   shards weights, gradients and optimizer states over dp, gathered per layer (FSDP2);
//   --hsdp N (weight_gather.shard_group) shards them over groups of N consecutive dp ranks instead,
//          replicated across the dp / N groups (FSDP2 HSDP; needs --fsdp, 1 < N < dp, N | dp);
//   --ep N   shards the routed experts of MoE models over groups of N dp ranks (Megatron-Core
//          expert parallelism, folded into dp: Strategy::expert_parallel);
//   --recompute none|selective|full sets recompute on every block;
//   --fp8 e4m3|hybrid, --fp8-scaling delayed|current set the strategy's fp8 recipe (fp8_recipe.h);
//   precision and memory settings (--main-grads, --params, --memory-reserve-gib, --fragmentation)
//   are copied as they are (strategy/memory_settings.h).
// Rules are emitted per layer-independent path ("layers.*.mlp.fc1") when every layer agrees.
//
// Worked example: a 4-layer GPT with --tp 2 --pp 2 --dp 2 gives mesh [pp 2, dp 2, tp 2],
// defaults {partition {b: dp}}, rules {layers.*.mlp.fc1 {f: tp}}, ..., {embed stage 0},
// {layers.[0-1] stage 0}, {layers.[2-3] stage 1}, {final_norm stage 1}, ...
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "simulator/model/module.h"
#include "simulator/strategy/strategy.h"

namespace proteus {

struct ShorthandOptions {
  int tp = 1, pp = 1, dp = 1;
  /// Context-parallel degree (--cp): a "cp" mesh axis between dp and tp, Megatron-Core's rank order
  /// (tp fastest, then cp, then dp, then pp); each op's sequence dim "s" is split over it.
  int cp = 1;
  int ep = 1;                         // expert parallelism inside dp (Strategy::expert_parallel)
  int64_t micro_batch = 1;
  int64_t global_batch = 0;           // 0: micro_batch * dp (one micro-batch per iteration)
  std::string schedule = "1f1b";      // gpipe | 1f1b | interleaved:V | zb-h1 | zb-v | dualpipev | dualpipe
  int zero = 0;                       // 1 optimizer, 2 also gradients, 3 also weights (DeepSpeed units)
  bool fsdp = false;                  // weights, grads, optimizer sharded; FSDP2 units (one per layer)
  WeightGather weight_gather;         // prefetch, reshard_after_forward, shard_group (--hsdp); unit
                                      // set by zero 3 / fsdp
  bool overlap_param_gather = false;
  bool tp_comm_overlap = false;
  std::optional<bool> overlap_p2p_comm;
  bool offload_optimizer = false;     // DeepSpeed ZeRO-Offload (needs zero 1 or 2)
  int offload_activations = 0;        // Megatron-Core cpu_offloading_num_layers (0: off; validate.h checks)
  std::string recompute = "none";     // none | selective | full
  bool sequence_parallel = false;
  std::vector<int> pp_layers;         // layers per stage (uneven split); empty: even split
  int64_t grad_bucket_bytes = kDefaultGradBucketBytes;
  bool overlap_grad_reduce = true;
  DpReduction dp_reduction;           // --dp-method, --fusion-threshold-mb, --fusion-cycle-ms
  std::string fp8;                    // --fp8 none | e4m3 | hybrid ("" = not given)
  std::string fp8_scaling;            // --fp8-scaling delayed | current ("" = not given)
  PrecisionSettings precision;
  MemorySettings memory;
};

/// Layers of each of `stages` contiguous pipeline stages: `given` (--pp-layers) when not empty, else
/// the even split with the remainder to the first stages. UserError naming --pp-layers or --pp
/// when they cannot tile the model.
std::vector<int> LayersPerStage(int layers, int stages, const std::vector<int>& given);

/// A schedule as the flags spell it ("1f1b", "interleaved:4", "zb-v"); UserError naming `flag`.
Schedule ParseScheduleFlag(const std::string& text, const std::string& flag);

/// Expands flags into a strategy tree over `model`. UserError (naming the flag) for a malformed
/// flag value (bad schedule, --pp-layers not summing to the layers); divisibility and fit are
/// checked by ValidateStrategy.
Strategy ExpandShorthand(const Model& model, const ShorthandOptions& options);

}  // namespace proteus
