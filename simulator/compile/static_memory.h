// Static memory of parameters: the bytes a GPU keeps for its parameters between iterations, the way
// Megatron-Core, DeepSpeed ZeRO and PyTorch FSDP account them.
//
// Model. For P parameters with layouts sharded over W (weights), G (gradients), O (optimizer
// states) ranks (1 = replicated), compute dtype c (2 bytes for bf16/fp16) and the strategy's
// precision settings (strategy/memory_settings.h):
//   weights   = P x bytes(stored) / W      stored = c, or fp32 with params "fp32"
//   gradients = P x bytes(main_grads) / G
//   optimizer = P x (master + 8) / O       master = 4 (fp32 copy) unless stored is fp32; m, v fp32
//   step copy = P x 4 / O                  only when main grads are not fp32: the optimizer's fp32
//                                          copy of its gradient shard, alive during the step only
// Bytes per parameter that follow (c = bf16, d = data-parallel size):
//   Megatron-Core, fp32 main grads (default)  18; distributed optimizer (O = d) 6 + 12/d
//   Megatron-Core, fp32 model                 16; 8 + 8/d
//   Megatron-Core, bf16 main grads            16 static + 4 during the step; 4 + 12/d + 4/d
//     (Megatron's docs/source/api-guide/dist_optimizer.md lists 20 and 4 + 16/d: the same bytes,
//     counting the fp32 gradient copy made at the step as if it were kept)
//   DeepSpeed ZeRO, bf16 grads (Rajbhandari et al. 2020, K = 12): stage 0: 16, 1: 4 + 12/d,
//     2: 2 + 14/d, 3: 16/d
//   PyTorch FSDP2 (params fp32, reduce_dtype fp32, all sharded over d): (4 + 4 + 8)/d = 16/d; the
//     unsharded bf16 parameters of the units being gathered are transient buffers of the
//     all-gathers (MemCategory::kBuffers), not static memory.
//
// Optimizer offload (DeepSpeed ZeRO-Offload, strategy offload_optimizer): `optimizer` and the step
// copy leave the GPU; the host holds, per GPU, optimizer = P x (master + 8) / O (the 12/d of ZeRO)
// and the fp32 gradient partition P x 4 / O that the gradient shards are copied into
// (OffloadedGradBytes). The GPU keeps weights and gradients as above.
//
// Worked example: GPT-3 175B, tp 8, pp 8, dp 16, distributed optimizer: a middle stage holds
// 12 layers x 12 x 12288^2 / 8 = 2.72e9 parameters: 2.72e9 x (6 + 12/16) = 18.3e9 bytes = 17.1 GiB.
#pragma once

#include <cstdint>

#include "common/dtype.h"
#include "simulator/strategy/memory_settings.h"

namespace proteus {

/// How many ranks each part of a parameter's state is sharded over (1: replicated).
struct ParamShards {
  int weights = 1, grads = 1, optimizer = 1;
};

/// Bytes of one parameter tensor's state (see the model above).
struct ParamStateBytes {
  int64_t weights = 0, grads = 0, optimizer = 0;
  int64_t step_grad_copy = 0;  // allocated for the optimizer step only
};

/// Adam's moments m and v, fp32 (ZeRO's K = 12 is these 8 plus the 4 of the fp32 master weights).
inline constexpr int64_t kAdamMomentBytesPerParam = 8;
inline constexpr int64_t kMasterWeightBytesPerParam = 4;

/// The state of `params` parameters whose compute dtype is `compute`.
ParamStateBytes ParamStateOf(int64_t params, DType compute, const PrecisionSettings& precision,
                             const ParamShards& shards);

/// Optimizer offload: the fp32 gradient partition in host memory, 4 bytes per parameter of the shard.
inline int64_t OffloadedGradBytes(int64_t params, int optimizer_shards) {
  return params * 4 / optimizer_shards;
}

/// Static bytes per parameter (weights + gradients + optimizer), for docs and tests.
double StaticBytesPerParam(DType compute, const PrecisionSettings& precision, const ParamShards& shards);

}  // namespace proteus
