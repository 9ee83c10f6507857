// Operator IR: one operator is an iteration space (named dims) over the tensors it touches.
//
// Model. A dim is batch (independent samples/tokens: splitting it needs no communication), spatial
// (an output axis not shared by every input, e.g. output features: splitting it shards the weight),
// reduce (summed over: splitting it leaves partial sums that need a reduction) or opaque (must not be
// split, e.g. a softmax row). A tensor lists, axis by axis, which op dims index it. Forward FLOPs are
//   flops_per_point * prod(dims sizes)
// e.g. a linear layer y[b,s,f] = x[b,s,h] W[h,f] has dims b(batch) s(batch) h(reduce) f(spatial) and
// 2 FLOPs per point (multiply + add): 2*b*s*h*f.
//
// Worked example (GPT fc1, h 12288, micro-batch 1, seq 2048):
//   dims  b=1 (batch) s=2048 (batch) h=12288 (reduce) f=49152 (spatial)
//   x: [b,s,h] input, W: [h,f] weight, y: [b,s,f] output; flops 2*1*2048*12288*49152
// Megatron's column-parallel split is the partition {f: tp}: W and y are sharded along f, x is
// replicated; row-parallel fc2 ({f: tp} on its reduce dim) leaves y partial over tp -> all-reduce.
//
// Batch dims named "b" hold size 1 in the model (one sample); the compiler scales them by the
// micro-batch size. Backward is derived from forward (DeriveBackward in backward.h).
//
// Conventions every builder in model/ follows (the compiler relies on them):
//  - Dim names are per operator. "b" is the sample dim (size 1), "s" the (query-side) sequence dim
//    holding seq_len; attention's key/value sequence is "t" (opaque: tensor parallelism never
//    splits it). A tensor's `axes` name, axis by axis, the op dims indexing it; a producer and its
//    consumers list the same number of axes with the same sizes, so layouts compare axis by axis.
//  - TensorUse.name is unique in the whole model and equal between producer and consumers:
//    "<op path>.out" for outputs ("layers.3.attn.qkv.out"), "<op path>.weight"/".bias" for weights
//    (tied embeddings share "embed.word.weight"). Model inputs ("input.tokens", "input.labels",
//    "input.images") have no producer and needs_grad = false. The gradient of tensor X is named
//    "X.grad"; when X has several consumers, each consumer's backward produces a share of "X.grad"
//    and the shares accumulate (the residual stream, tied embeddings).
//  - Extent-only dims (Dim::extent_only) give a tensor axis its size without being iterated: the
//    packed q/k/v slots as attention sees them, a convolution's input height. Points() skips them
//    and strategies must not partition them.
//  - FLOPs are model FLOPs (the MFU convention of Megatron-LM): 2 per multiply-add of a matmul-class
//    op (linear, batched_matmul, attention, conv2d); elementwise, normalization, softmax, embedding
//    lookup and loss ops have flops_per_point 0 and are priced by the bytes they move.
//  - Parallelism hints (Megatron-LM placement): attrs["tp"] names the dim Megatron's tensor
//    parallelism splits (qkv: "g" kv-head groups; attention: "g"; out projection and fc2: their
//    reduce dim; fc1: "f"; embedding, lm head, cross-entropy: "v"); attrs["sp"] = "s" marks the ops
//    sequence parallelism shards along the sequence (norms, dropouts, residual adds).
//
// Dim names per kind (what cost/ maps to canonical shapes, common/op_key.h):
//   linear          gemm m = prod(dims in input and output), n = prod(dims in weight and output),
//                   k = prod(dims in input and weight); e.g. qkv: b s | h (reduce) | g c d (spatial)
//   batched_matmul  same rule over inputs A (first) and B; dims in A, B and C are the batch
//   attention       b, s (query), t (key/value, opaque), g (kv groups), r (q heads per group),
//                   d (head dim, opaque); extent-only c = r + 2 slots of the packed q/k/v input
//   layernorm, rmsnorm, softmax   rows = prod(non-opaque dims), cols = the opaque dim
//   gelu, dropout, add, relu      elements = Points()
//   swiglu          b, s, f (output width); extent-only c = 2 (gate, up) on its input
//   rope            b, s, g, e (rotated slots per group: r + 1), d
//   embedding       b, s, v (vocab, reduce: a vocab-parallel lookup leaves partial sums), h
//   cross_entropy   b, s, v (reduce: max and sum-exp over a split vocab are all-reduced)
//   conv2d          b, k (out channels), oh, ow, c (in channels, reduce), kh, kw; extent-only ih, iw
//   batchnorm       b, c, oh, ow     pool  b, c, oh, ow, kh, kw; extent-only ih, iw
//   concat          b, k (output channels, opaque), oh, ow; extent-only c0, c1, ... (each input's
//                   channels: input i is [b, c<i>, oh, ow], the output [b, k, oh, ow])
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/dtype.h"

namespace proteus {

enum class DimKind { kBatch, kSpatial, kReduce, kOpaque };
std::string_view DimKindName(DimKind k);  // "batch", "spatial", "reduce", "opaque"
std::optional<DimKind> ParseDimKind(std::string_view name);

struct Dim {
  std::string name;
  DimKind kind = DimKind::kBatch;
  int64_t size = 1;
  /// True: the dim only sizes a tensor axis and is not iterated (Points() skips it); never split.
  bool extent_only = false;
};

enum class TensorRole { kInput, kWeight, kOutput };
std::string_view TensorRoleName(TensorRole r);  // "input", "weight", "output"
std::optional<TensorRole> ParseTensorRole(std::string_view name);

/// A tensor an operator reads or writes. `name` identifies the value inside its module scope
/// (producer and consumers share it); `axes` lists the op dims indexing it, outermost first.
struct TensorUse {
  std::string name;
  TensorRole role = TensorRole::kInput;
  std::vector<std::string> axes;
  DType dtype = DType::kBf16;
  /// False for values nobody differentiates: token ids, labels, images, masks.
  bool needs_grad = true;
};

/// A tensor an operator keeps from forward to backward (an activation; weights are not counted).
/// Elements are the product of its axes' dim sizes (b = 1: one sample). `name` is the dedupe key:
/// two ops keeping the same value (the attention output kept by both the fused attention and the
/// out projection) store it once; a part of a tensor is named "<tensor>#<part>" ("...qkv.out#q").
struct SavedTensor {
  std::string name;
  std::vector<std::string> axes;
  int64_t bytes_per_element = 2;
};

/// Operator kinds of the IR. Each maps to a canonical measured kind (common/op_key.h) in cost/.
enum class OpKind {
  kLinear,        // gemm against a weight
  kBatchedMatmul, // activation x activation (unfused attention scores)
  kAttention,     // fused attention core (softmax(QK^T)V)
  kLayerNorm, kRmsNorm, kSoftmax, kGelu, kSwiglu, kDropout, kAdd, kRope,
  kEmbedding, kCrossEntropy,
  kConv2d, kBatchNorm, kPool, kRelu,
  kConcat,        // torch.cat along channels: a new tensor; backward splits the gradient
};
std::string_view OpKindName(OpKind k);
std::optional<OpKind> ParseOpKind(std::string_view name);

struct Operator {
  std::string name;                 // unique within its module ("fc1")
  OpKind kind = OpKind::kLinear;
  DType dtype = DType::kBf16;
  std::vector<Dim> dims;
  std::vector<TensorUse> tensors;
  std::map<std::string, std::string> attrs;  // e.g. causal=1, stride=2
  double flops_per_point = 2.0;     // forward FLOPs per point of the iteration space
  /// fwd, or bwd_data / bwd_weight for ops made by DeriveBackward. Added field (default fwd).
  Phase phase = Phase::kFwd;
  /// Activations kept for backward (forward ops only). Sizes follow Korthikanti et al. 2022
  /// ("Reducing Activation Recomputation in Large Transformer Models"), see backward.h.
  std::vector<SavedTensor> saved;
  /// Hardware FLOPs per point when they differ from model FLOPs (FlashAttention's backward
  /// recomputes QK^T: 10 instead of 8); < 0 means equal to flops_per_point. For roofline costs.
  double hw_flops_per_point = -1;

  const Dim* FindDim(std::string_view dim_name) const;
  int64_t Points() const;           // product of the sizes of iterated (not extent-only) dims
  double ForwardFlops() const { return flops_per_point * static_cast<double>(Points()); }
  /// Elements of a tensor (product of its axes' dim sizes).
  int64_t TensorElements(const TensorUse& t) const;
  int64_t WeightParams() const;     // sum over weight tensors
  int64_t TensorBytes(const TensorUse& t) const { return TensorElements(t) * DTypeBytes(t.dtype); }
  /// Hardware FLOPs (roofline): hw_flops_per_point (or flops_per_point) * Points().
  double HardwareFlops() const {
    return (hw_flops_per_point < 0 ? flops_per_point : hw_flops_per_point) * static_cast<double>(Points());
  }
  /// Bytes of `saved` (not deduplicated across ops; see SavedActivationBytes in module.h).
  int64_t SavedBytes() const;
  const TensorUse* FindTensor(std::string_view tensor_name) const;
  Dim* MutableDim(std::string_view dim_name);
};

}  // namespace proteus
