#include "simulator/model/op.h"

#include <array>
#include <utility>

namespace proteus {
namespace {

constexpr std::array<std::pair<OpKind, std::string_view>, 18> kOpKindNames = {{
    {OpKind::kLinear, "linear"}, {OpKind::kBatchedMatmul, "batched_matmul"},
    {OpKind::kAttention, "attention"}, {OpKind::kLayerNorm, "layernorm"}, {OpKind::kRmsNorm, "rmsnorm"},
    {OpKind::kSoftmax, "softmax"}, {OpKind::kGelu, "gelu"}, {OpKind::kSwiglu, "swiglu"},
    {OpKind::kDropout, "dropout"}, {OpKind::kAdd, "add"}, {OpKind::kRope, "rope"},
    {OpKind::kEmbedding, "embedding"}, {OpKind::kCrossEntropy, "cross_entropy"},
    {OpKind::kConv2d, "conv2d"}, {OpKind::kBatchNorm, "batchnorm"}, {OpKind::kPool, "pool"},
    {OpKind::kRelu, "relu"}, {OpKind::kConcat, "concat"},
}};

}  // namespace

std::string_view DimKindName(DimKind k) {
  switch (k) {
    case DimKind::kBatch: return "batch";
    case DimKind::kSpatial: return "spatial";
    case DimKind::kReduce: return "reduce";
    case DimKind::kOpaque: return "opaque";
  }
  return "?";
}

std::string_view TensorRoleName(TensorRole r) {
  switch (r) {
    case TensorRole::kInput: return "input";
    case TensorRole::kWeight: return "weight";
    case TensorRole::kOutput: return "output";
  }
  return "?";
}

std::optional<DimKind> ParseDimKind(std::string_view name) {
  for (DimKind k : {DimKind::kBatch, DimKind::kSpatial, DimKind::kReduce, DimKind::kOpaque})
    if (DimKindName(k) == name) return k;
  return std::nullopt;
}

std::optional<TensorRole> ParseTensorRole(std::string_view name) {
  for (TensorRole r : {TensorRole::kInput, TensorRole::kWeight, TensorRole::kOutput})
    if (TensorRoleName(r) == name) return r;
  return std::nullopt;
}

std::string_view OpKindName(OpKind k) {
  for (auto& [kind, name] : kOpKindNames)
    if (kind == k) return name;
  return "?";
}

std::optional<OpKind> ParseOpKind(std::string_view name) {
  for (auto& [kind, n] : kOpKindNames)
    if (n == name) return kind;
  return std::nullopt;
}

const Dim* Operator::FindDim(std::string_view dim_name) const {
  for (const auto& d : dims)
    if (d.name == dim_name) return &d;
  return nullptr;
}

int64_t Operator::Points() const {
  int64_t p = 1;
  for (const auto& d : dims)
    if (!d.extent_only) p *= d.size;
  return p;
}

Dim* Operator::MutableDim(std::string_view dim_name) {
  for (auto& d : dims)
    if (d.name == dim_name) return &d;
  return nullptr;
}

const TensorUse* Operator::FindTensor(std::string_view tensor_name) const {
  for (const auto& t : tensors)
    if (t.name == tensor_name) return &t;
  return nullptr;
}

int64_t Operator::SavedBytes() const {
  int64_t total = 0;
  for (const auto& st : saved) {
    int64_t n = 1;
    for (const auto& axis : st.axes) {
      const Dim* d = FindDim(axis);
      n *= d ? d->size : 1;
    }
    total += n * st.bytes_per_element;
  }
  return total;
}

int64_t Operator::TensorElements(const TensorUse& t) const {
  int64_t n = 1;
  for (const auto& axis : t.axes) {
    const Dim* d = FindDim(axis);
    n *= d ? d->size : 1;
  }
  return n;
}

int64_t Operator::WeightParams() const {
  int64_t n = 0;
  for (const auto& t : tensors)
    if (t.role == TensorRole::kWeight) n += TensorElements(t);
  return n;
}

}  // namespace proteus
