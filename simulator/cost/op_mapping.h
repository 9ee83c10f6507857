// From IR operators (simulator/model/op.h) to canonical measured keys (common/op_key.h).
//
// The operator given is already partitioned (local sizes after TP/DP/SP splits) and batch-scaled by
// the compiler, so every size below is what one GPU runs. It may be a forward op or a backward op
// made by DeriveBackward (model/backward.h): a backward op keeps the forward's dims, so it maps to
// the forward's canonical shape with its own phase (op_key.h: one key per operator and phase).
// Extent-only dims are never iterated and only size tensors.
//
// Matmul-like kinds name their operands A (data input), B (weight, or second input) and C
// (output) as in the forward; in a backward op they are found again from its tensors (bwd_data
// reads dC and B and writes dA; bwd_weight reads A and dC and writes dB). Then
//   batch = dims in A, B and C;  m = A and C only;  n = B and C only;  k = A and B only
// and attrs "batch", "m", "n", "k" (comma-separated dim names), when present, win (the packed
// q/k/v input of unfused attention is one tensor). Mapping by kind:
//   linear          gemm {m, n, k} (bgemm with batch when a weight dim is also in A and C: experts)
//   batched_matmul  bgemm {batch, m, n, k}
//   attention       attention {batch = b, heads = points / (b*s*t*d), kv_heads = g (else heads),
//                   seq_q = s, seq_kv = t (else s), head_dim = d}, attrs causal=0|1 from op attrs
//   layernorm, rmsnorm, softmax   {rows, cols}: cols = product of opaque dims, rows = points / cols
//   cross_entropy   {tokens, vocab}: vocab = dim "v" (else the last axis of the logits)
//   gelu, dropout, add, relu      {elements} = points; relu is keyed gelu with attrs fn=relu, and a
//                   gelu op's attrs fn (tanh) is kept: other activations are other families
//   swiglu          {rows, cols}: cols = dim "f" (output width), rows = points / cols
//   rope            {tokens = b*s, heads = points / (tokens*d), head_dim = d}
//   embedding       {tokens, vocab, hidden}: vocab = table dims not in the output, hidden = table
//                   dims in the output, tokens = dims not indexing the table
//   conv2d          {n = b, c, h = ih, w = iw, k, r = kh, s = kw, stride, pad} (attrs stride, pad);
//                   with attrs pad_h / pad_w (padding that differs per axis, Inception's 1x7):
//                   h = ih + 2*pad_h, w = iw + 2*pad_w, pad 0 (the padded input: same output, work)
//   batchnorm       {n = b, c = k, h = oh, w = ow}
//   pool            {n = b, c = k, h = ih, w = iw, window, stride} (attrs window, stride, mode)
//   concat          copy {bytes = points * dtype bytes} attrs dir=d2d: fwd gathers the inputs into
//                   the output, bwd_data splits the output gradient; each moves the output's bytes
//                   in and out of HBM (op_work.h: a d2d copy costs 2 x bytes)
// Step is the optimizer: adam over the operator's parameters, keyed by the weights' dtype.
//
// Worked example: Megatron fc1, h 12288, TP 8, micro-batch 2, seq 2048, bf16:
//   dims b=2 s=2048 h=12288 (reduce) f=6144 (spatial, local), A [b,s,h], B [h,f], C [b,s,f]
//   -> gemm|bf16|fwd|k=12288,m=4096,n=6144|   and its DeriveBackward ops
//   -> gemm|bf16|bwd_data|k=12288,m=4096,n=6144|, gemm|bf16|bwd_weight|k=12288,m=4096,n=6144|
#pragma once

#include <cstdint>

#include "common/dtype.h"
#include "common/op_key.h"
#include "simulator/model/op.h"

namespace proteus {

/// Canonical key of `op` in `phase`. `op` is a forward op (any phase may be asked: its backward
/// and step keys) or a backward op (then `phase` must be op.phase, or kStep). Preconditions
/// (InternalError otherwise): OperatorRunsPhase(op, phase) and the conventions above.
OpKey KeyForOperator(const Operator& op, Phase phase);
/// KeyForOperator(op, op.phase).
OpKey KeyForOperator(const Operator& op);

/// Whether `op` has a kernel in `phase`. For a forward op, as DeriveBackward decides: fwd always;
/// bwd_data when some non-integer input needs a gradient; bwd_weight and step with weights. A
/// backward op runs its own phase (and step when it writes weight gradients).
bool OperatorRunsPhase(const Operator& op, Phase phase);

/// Model FLOPs of `op` in `phase` (the MFU numerator's share). For op.phase == phase:
/// op.ForwardFlops() (a backward op's flops_per_point is its own). For a forward op asked for its
/// backward: model/backward.h's convention, so the three phases sum to 3x forward for matmuls:
/// linear/conv2d bwd_data = bwd_weight = fwd; batched_matmul and attention bwd_data = 2x fwd;
/// others 0. Step: 0.
double OperatorFlops(const Operator& op, Phase phase);

/// Bytes the kernels of `op` in `phase` move through HBM (the roofline's memory term).
int64_t OperatorBytes(const Operator& op, Phase phase);

/// Key of one optimizer step (fused Adam) over `params` parameters kept in `dtype` (fp32 states).
OpKey OptimizerStepKey(int64_t params, DType dtype);

}  // namespace proteus
