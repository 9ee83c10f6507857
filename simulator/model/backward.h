// Backward operators derived from forward ones (the two halves of backward: data and weight
// gradients), so a model is written once and its training step follows.
//
// Model. For a forward op with output Y = f(X, W):
//   bwd_data    dX = (df/dX)^T dY   for every input X that needs a gradient
//   bwd_weight  dW = (df/dW)^T dY   for every weight W
// Each derived op keeps the forward's name, dims (names and sizes), attrs and dtype; it gets its
// phase, its own tensors (gradients are named "<tensor>.grad") and dim kinds re-derived from
// which dims index what it writes:
//   - a dim that indexes a written gradient keeps batch as batch and turns spatial/reduce into
//     spatial (e.g. a linear's h in dX); one that does not is summed over: reduce (the linear's
//     output features in dX; the batch and sequence dims in dW, which is why data-parallel weight
//     gradients are partial sums that must be all-reduced);
//   - opaque and extent-only dims stay so; in bwd_data a batch dim stays batch (attention's r:
//     with grouped-query attention dK and dV sum over the r query heads of a group, inside one
//     tensor-parallel shard).
// FLOPs per point (model FLOPs, Megatron's convention: backward = 2x forward for matmuls):
//   linear, conv2d    bwd_data 2, bwd_weight 2
//   batched_matmul    bwd_data 4 (gradients of both operands)
//   attention         bwd_data 8 (hardware 10: FlashAttention recomputes QK^T)
//   others            0 (elementwise, norms, softmax, lookups, losses: priced by bytes)
// Worked example: GPT fc1 (b 1, s 2048, h 12288 reduce, f 49152 spatial, 2 FLOPs per point):
//   bwd_data   dims b s (batch) h (spatial) f (reduce), reads fc1.out.grad and fc1.weight,
//              writes <input>.grad: 2*2048*12288*49152 FLOPs; a TP split of f leaves partial sums.
//   bwd_weight dims b s (reduce) h f (spatial), reads the input and fc1.out.grad, writes
//              fc1.weight.grad and fc1.bias.grad: the same FLOPs.
#pragma once

#include <string>
#include <vector>

#include "simulator/model/module.h"
#include "simulator/model/op.h"

namespace proteus {

/// "<tensor>.grad".
std::string GradName(const std::string& tensor);

/// The backward of `fwd` (phase kFwd), in execution order: the bwd_data op if some non-weight
/// input needs a gradient (a first convolution over images, or a lookup of token ids, has none),
/// then the bwd_weight op if `fwd` has weights. 0, 1 or 2 ops. A loss op's bwd_data reads no
/// output gradient: it seeds backward.
std::vector<Operator> DeriveBackward(const Operator& fwd);

/// Model FLOPs of the derived backward of every op under `m` (one sample).
double BackwardFlops(const Module& m);

}  // namespace proteus
