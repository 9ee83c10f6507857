#include "simulator/compile/static_memory.h"

#include "common/error.h"

namespace proteus {

ParamStateBytes ParamStateOf(int64_t params, DType compute, const PrecisionSettings& precision,
                             const ParamShards& shards) {
  PROTEUS_CHECK(shards.weights >= 1 && shards.grads >= 1 && shards.optimizer >= 1, "shard counts must be >= 1");
  DType stored = precision.params == ParamStorage::kFp32 ? DType::kFp32 : compute;
  // A parameter already kept in fp32 is its own master copy (Megatron's fp32 row, FSDP2).
  int64_t master = stored == DType::kFp32 ? 0 : kMasterWeightBytesPerParam;
  ParamStateBytes b;
  b.weights = params * DTypeBytes(stored) / shards.weights;
  b.grads = params * DTypeBytes(precision.main_grads) / shards.grads;
  b.optimizer = params * (master + kAdamMomentBytesPerParam) / shards.optimizer;
  // Adam updates in fp32: 16-bit main grads are copied to fp32 for the shard being stepped
  // (Megatron: main_param.grad = main_grad.float(); DeepSpeed: the fp32 grad partition).
  if (precision.main_grads != DType::kFp32) b.step_grad_copy = params * DTypeBytes(DType::kFp32) / shards.optimizer;
  return b;
}

double StaticBytesPerParam(DType compute, const PrecisionSettings& precision, const ParamShards& shards) {
  // A billion parameters: integer division by any realistic shard count stays exact to 1e-9.
  constexpr int64_t kParams = 1'000'000'000;
  ParamStateBytes b = ParamStateOf(kParams, compute, precision, shards);
  return static_cast<double>(b.weights + b.grads + b.optimizer) / static_cast<double>(kParams);
}

}  // namespace proteus
