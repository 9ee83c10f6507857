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
std::string_view DimKindName(DimKind k);

struct Dim {
  std::string name;
  DimKind kind = DimKind::kBatch;
  int64_t size = 1;
};

enum class TensorRole { kInput, kWeight, kOutput };
std::string_view TensorRoleName(TensorRole r);

/// A tensor an operator reads or writes. `name` identifies the value inside its module scope
/// (producer and consumers share it); `axes` lists the op dims indexing it, outermost first.
struct TensorUse {
  std::string name;
  TensorRole role = TensorRole::kInput;
  std::vector<std::string> axes;
  DType dtype = DType::kBf16;
};

/// Operator kinds of the IR. Each maps to a canonical measured kind (common/op_key.h) in cost/.
enum class OpKind {
  kLinear,        // gemm against a weight
  kBatchedMatmul, // activation x activation (unfused attention scores)
  kAttention,     // fused attention core (softmax(QK^T)V)
  kLayerNorm, kRmsNorm, kSoftmax, kGelu, kSwiglu, kDropout, kAdd, kRope,
  kEmbedding, kCrossEntropy,
  kConv2d, kBatchNorm, kPool, kRelu,
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

  const Dim* FindDim(std::string_view dim_name) const;
  int64_t Points() const;           // product of dim sizes
  double ForwardFlops() const { return flops_per_point * static_cast<double>(Points()); }
  /// Elements of a tensor (product of its axes' dim sizes).
  int64_t TensorElements(const TensorUse& t) const;
  int64_t WeightParams() const;     // sum over weight tensors
  int64_t TensorBytes(const TensorUse& t) const { return TensorElements(t) * DTypeBytes(t.dtype); }
};

}  // namespace proteus
