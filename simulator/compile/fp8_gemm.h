// Transformer Engine fp8 GEMMs (strategy/fp8_recipe.h) in the compiled program: which operators
// run in fp8, the operator each GEMM phase is priced as, the cast kernels TE adds around it, and
// the memory it changes.
//
// Model. A Linear op inside a transformer block ("layers.<i>...") is an fp8 GEMM; the LM head,
// the BERT pooler and classifier stay in the model dtype (Megatron-Core builds them as plain
// ColumnParallelLinear layers, not TE modules). With the GEMM's local m, n, k (X[m,k] W[k,n] =
// Y[m,n]) and b bytes per element of the model dtype:
//   GEMM dtype  fwd: fp8_e4m3.  bwd_data, bwd_weight: fp8_e4m3 (e4m3) or fp8_e5m2 (hybrid: the key
//               the profiler measures with dY in e5m2, the other operand e4m3); the output is bf16.
//   casts       TE's fused cast_transpose reads the bf16 tensor once and writes its fp8 copy and the
//               fp8 transpose (Hopper's fp8 tensor cores take only K-major operands, so the
//               backward GEMMs need transposed copies):
//                 fwd, every micro-batch (and recompute)  X:  m*k elements
//                 fwd, first micro-batch only              W:  k*n (TE is_first_microbatch: the
//                                                          copies are cached for the iteration)
//                 before bwd_data, every micro-batch       dY: m*n
//               each moves (b + 2) bytes per element; current scaling adds an amax pass (b bytes
//               per element read) before each cast; delayed scaling computes amax inside the cast.
//               A cast is priced as the device copy moving the same HBM bytes
//               (copy|<dtype>|fwd|bytes=(b+2)e/2|dir=d2d), so measured copies and calibration
//               re-price it like any memory-bound kernel.
//   memory      the cached fp8 weight and its transpose: 2 bytes per weight element (biases stay
//               bf16), in the weights category; the input a Linear keeps for its weight gradient is
//               its fp8 transpose (1 byte per element, saved as "<input>#fp8": another op keeping
//               the bf16 tensor keeps its own copy).
// Worked example: GPT fc1, h 1024, tp 2, micro-batch 1, seq 2048: m = 2048, k = 1024, n = 2048;
//   fwd gemm|fp8_e4m3|fwd|k=1024,m=2048,n=2048|, input cast 2048*1024 elements = copy of 4 MiB,
//   weight cast (first micro-batch) 1024*2048 = copy of 4 MiB, dY cast 2048*2048 = copy of 8 MiB;
//   fp8 weight copies 2 * 1024 * 2048 = 4 MiB; the saved input 2 MiB instead of 4 MiB.
// Not modelled: TE's LayerNormLinear fusing the layernorm with the input cast (priced as a separate
// cast), fp8 all-gathers of sequence-parallel inputs (gathered in bf16 here), the per-step amax
// all-reduce of delayed scaling, fp8 attention (DotProductAttention stays bf16).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "simulator/compile/exec_graph.h"
#include "simulator/compile/op_cost.h"
#include "simulator/compile/program.h"
#include "simulator/cost/gpu_spec.h"
#include "simulator/model/module.h"
#include "simulator/model/op.h"
#include "simulator/strategy/fp8_recipe.h"
#include "simulator/strategy/strategy.h"

namespace proteus {

/// Bytes of fp8 weight copies per weight element: the cast and its transpose.
inline constexpr int64_t kFp8WeightCopyBytesPerElement = 2;

/// Whether the operator at module path `path` runs its GEMMs in fp8 under `recipe`.
bool IsFp8Gemm(const std::string& path, const Operator& op, const Fp8Recipe& recipe);

/// The dtype the GEMM of `phase` runs in (fp8_e4m3, or fp8_e5m2 for hybrid backward phases).
DType Fp8GemmDtype(Phase phase, const Fp8Recipe& recipe);

/// What the coster prices for `phase` of the fp8 GEMM `local`: the same op in the phase's fp8 dtype.
Operator Fp8PricedOp(const Operator& local, Phase phase, const Fp8Recipe& recipe);

/// Prepares an fp8 GEMM's local operator: checks Transformer Engine's shape rule (UserError naming
/// `where`: the --fp8 flag or the strategy file's precision.fp8) and keeps its saved input in fp8.
/// TE asserts "FP8 execution requires 2D input matrices with height divisible by 8 and width
/// divisible by 16" for X[m,k] and W[n,k]: m and n multiples of 8, k of 16; such a job would not
/// run, so it is refused, not warned.
void PrepareFp8Gemm(Operator& local, const std::string& path, const std::string& where);

/// The compute steps of the cast (and amax) kernels that run before the GEMM of `phase` (fwd:
/// input and, first micro-batch only, weight; bwd_data: the output gradient), in issue order, with
/// names, costs and op keys; deps and channels are left to the caller. Recomputation re-casts the
/// input but reuses the cached weight.
std::vector<Step> Fp8CastSteps(const Operator& local, const std::string& path, Phase phase, const Fp8Recipe& recipe,
                               bool recompute, const OpCoster& coster, ExecGraph& graph);

/// Bytes of the cached fp8 weight copies of the fp8 GEMM `local` (main weight only).
int64_t Fp8WeightCopyBytes(const Operator& local);

/// The tensor a saved entry keeps: "<input>#fp8" -> "<input>"; other names unchanged.
std::string Fp8SavedSource(const std::string& saved_name);

/// Where fp8 settings are named in errors: "--fp8" for shorthand, "<file>: precision.fp8" otherwise.
std::string Fp8SettingName(const Strategy& strategy);

/// Refuses an fp8 recipe that cannot take effect (UserError naming `where`): a GPU without fp8
/// tensor cores (its spec lists no fp8_e4m3 peak, or for hybrid no fp8_e5m2 peak), a model that is
/// already whole-model fp8, or a model without fp8 GEMMs (no Linear in a "layers.<i>" block).
void CheckFp8Supported(const Fp8Recipe& recipe, const Model& model, const GpuSpec& gpu, const std::string& where);

/// The report's precision line: "bf16", "bf16 + fp8 GEMMs (TE e4m3, delayed scaling)", or
/// "fp8_e4m3 (whole-model fp8, not Transformer Engine)" for a model whose dtype is fp8.
std::string PrecisionLabel(DType model_dtype, const Fp8Recipe& recipe);

}  // namespace proteus
