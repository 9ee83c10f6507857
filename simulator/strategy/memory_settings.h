// Memory settings of a strategy: the dtypes the training state is kept in ("precision") and what a
// GPU holds besides tensors ("memory": a fixed reserve, allocator fragmentation, NCCL buffers).
//
// Model. Per parameter a GPU keeps (compile/static_memory.h turns this into bytes):
//   the parameter, in the compute dtype (params "compute": Megatron, DeepSpeed) or in fp32
//   (params "fp32": PyTorch FSDP2 / AMP keep fp32 parameters and cast them when used);
//   its main gradient, in main_grads dtype (fp32: Megatron's default accumulate_allreduce_grads_in_fp32;
//   bf16: --grad-reduce-in-bf16, DeepSpeed's and the ZeRO paper's 16-bit gradients);
//   fp32 master weights when the parameter is not fp32 itself, and Adam's m and v (fp32).
// Besides: `reserve_bytes` per GPU that no tensor accounts for (CUDA context and loaded kernels,
// cuBLAS workspaces, NCCL's internal structures); `fragmentation`, the caching allocator's reserved
// over allocated ratio, applied to what is allocated and freed during the iteration (activations,
// transient buffers); `nccl_buffsize`, NCCL_BUFFSIZE (the Simple protocol's buffer per channel and
// connection).
//
// Worked example (defaults, bf16 model, dp 8, distributed optimizer): 2 + 4 + 12/8 = 7.5 bytes per
// parameter; plus 1 GiB reserve; activations peak 20 GiB count 22 GiB with fragmentation 1.1.
#pragma once

#include <cstdint>

#include "common/dtype.h"
#include "common/json_file.h"

namespace proteus {

enum class ParamStorage { kCompute, kFp32 };
std::string_view ParamStorageName(ParamStorage p);  // "compute", "fp32"

struct PrecisionSettings {
  DType main_grads = DType::kFp32;         // kFp32, kBf16 or kFp16
  ParamStorage params = ParamStorage::kCompute;
  bool operator==(const PrecisionSettings&) const = default;
};

/// CUDA context with lazily loaded kernels (~0.5 GiB on H100 with CUDA 12, CUDA_MODULE_LOADING=LAZY),
/// the kernels cuBLAS/cuDNN/NCCL load on first use (~0.3 GiB), and cuBLAS(Lt) workspaces (32 MiB per
/// handle on Hopper, PyTorch's and Transformer Engine's default, a few handles): about 1 GiB.
inline constexpr int64_t kDefaultReserveBytes = int64_t{1} << 30;
/// PyTorch's caching allocator without expandable segments typically reserves 5-15% more than the
/// activation peak it serves (torch.cuda.memory_reserved over max_memory_allocated in training logs);
/// 1.1 sits in that range. 1.0 models PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True.
inline constexpr double kDefaultFragmentation = 1.1;
inline constexpr double kMaxFragmentation = 2.0;
/// NCCL_BUFFSIZE default: 1 << 22 (src/init.cc DEFAULT_BUFFSIZE).
inline constexpr int64_t kDefaultNcclBuffsize = int64_t{4} << 20;

struct MemorySettings {
  int64_t reserve_bytes = kDefaultReserveBytes;
  double fragmentation = kDefaultFragmentation;  // in [1, 2]
  int64_t nccl_buffsize = kDefaultNcclBuffsize;
  bool operator==(const MemorySettings&) const = default;
};

/// Reads "precision": {"main_grads": "fp32"|"bf16"|"fp16", "params": "compute"|"fp32"} into `p`
/// (absent keys keep their value). UserError naming the field on a bad value.
void ParsePrecisionSettings(const JsonView& v, PrecisionSettings& p);
/// Reads "memory": {"reserve_gib": x >= 0, "fragmentation": 1..2, "nccl_buffsize_mib": x > 0}.
void ParseMemorySettings(const JsonView& v, MemorySettings& m);
Json PrecisionSettingsToJson(const PrecisionSettings& p);
Json MemorySettingsToJson(const MemorySettings& m);

/// Parsed values for flags (--main-grads, --params), UserError naming `flag` otherwise.
DType ParseMainGrads(const std::string& text, const std::string& flag);
ParamStorage ParseParamStorage(const std::string& text, const std::string& flag);
/// Checks a reserve (GiB, >= 0) and a fragmentation factor ([1, 2]); UserError naming `where`.
int64_t CheckedReserveBytes(double gib, const std::string& where);
double CheckedFragmentation(double factor, const std::string& where);

}  // namespace proteus
