// From IR operators (simulator/model/op.h) to canonical measured keys (common/op_key.h).
//
// The operator given is already partitioned (local sizes after TP/DP/SP splits) and batch-scaled by
// the compiler, so every size below is what one GPU runs. Mapping by kind:
//   linear          gemm {m, n, k}: k = product of reduce dims, n = weight dims that are not reduce
//                   (output features), m = product of dims not indexing the weight (tokens). Batch
//                   dims of the weight (e.g. experts) make it a bgemm {batch, m, n, k}.
//   batched_matmul  bgemm: batch = dims in both inputs and the output, m = first input and output
//                   only, n = second input and output only, k = both inputs but not the output.
//   attention       attention {batch, heads, kv_heads, seq_q, seq_kv, head_dim}, attrs causal=0|1.
//                   Dim names: "b" batch, "s" query sequence, "t" key sequence (default: = s), "d"
//                   head dim. Heads are counted from tensor sizes: heads = |Q| / (b*s*d) with Q the
//                   input named "q" (else the first input), kv_heads = |K| / (b*t*d) with K the input
//                   named "k" (else the second input), so grouped-query attention needs no flag.
//   layernorm, rmsnorm, softmax, cross_entropy
//                   {rows, cols} ({tokens, vocab}): cols = product of opaque and reduce dims (what is
//                   normalized over), else the last axis of the first input; rows = points / cols.
//   gelu, dropout, add, relu   {elements} = points; relu is keyed gelu with attrs fn=relu.
//   swiglu          {rows, cols}: cols = the output's non-batch dims (its width), rows = the rest.
//   rope            {tokens, heads, head_dim}: tokens = dims "b", "s"; head_dim = dim "d".
//   embedding       {tokens, vocab, hidden}: vocab = weight dims not in the output, hidden = weight
//                   dims in the output, tokens = dims not indexing the weight.
//   conv2d          {n, c, h, w, k, r, s, stride, pad}: k = weight dims in the output, r/s = dims
//                   "r"/"s", c = other weight dims, output spatial = the last two output axes outside
//                   the weight; input h = (p-1)*stride + r - 2*pad; attrs stride, pad.
//   batchnorm, pool {n, c, h, w[, window, stride]} from the output axes (attrs window, stride, mode).
// Phases: every kind keeps its forward shape; bwd_weight exists only with weights; step is the
// optimizer (adam over the operator's parameters).
//
// Worked example: Megatron fc1, h 12288, TP 8, micro-batch 2, seq 2048, bf16:
//   dims b=2 s=2048 (batch) h=12288 (reduce) f=6144 (spatial, local), weight [h, f]
//   -> gemm|bf16|fwd|k=12288,m=4096,n=6144|
#pragma once

#include <cstdint>

#include "common/dtype.h"
#include "common/op_key.h"
#include "simulator/model/op.h"

namespace proteus {

/// Canonical key of `op` in `phase`. Preconditions (PROTEUS_CHECK): OperatorRunsPhase(op, phase),
/// and the operator follows the conventions above (a linear has a weight, attention has dim "d").
OpKey KeyForOperator(const Operator& op, Phase phase);

/// Whether `op` has a kernel in `phase`: fwd always; bwd_data unless its only input is token ids
/// (embedding); bwd_weight and step only with weight tensors.
bool OperatorRunsPhase(const Operator& op, Phase phase);

/// Model FLOPs of `op` in `phase` (the MFU numerator's share, 3x forward in all): fwd =
/// op.ForwardFlops(); with weights bwd_data = bwd_weight = fwd; without, bwd_data = 2x fwd; step 0.
double OperatorFlops(const Operator& op, Phase phase);

/// Bytes the kernels of `op` in `phase` move through HBM (the roofline's memory term).
int64_t OperatorBytes(const Operator& op, Phase phase);

/// Key of one optimizer step (fused Adam) over `params` parameters kept in `dtype` (fp32 states).
OpKey OptimizerStepKey(int64_t params, DType dtype);

}  // namespace proteus
