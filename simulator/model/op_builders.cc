#include "simulator/model/op_builders.h"

#include <utility>

namespace proteus {

Dim BatchDim(std::string name, int64_t size) { return Dim{std::move(name), DimKind::kBatch, size}; }
Dim SpatialDim(std::string name, int64_t size) { return Dim{std::move(name), DimKind::kSpatial, size}; }
Dim ReduceDim(std::string name, int64_t size) { return Dim{std::move(name), DimKind::kReduce, size}; }
Dim OpaqueDim(std::string name, int64_t size) { return Dim{std::move(name), DimKind::kOpaque, size}; }
Dim ExtentDim(std::string name, int64_t size) {
  return Dim{std::move(name), DimKind::kOpaque, size, /*extent_only=*/true};
}

TensorUse InputOf(std::string name, std::vector<std::string> axes, DType dtype) {
  return TensorUse{std::move(name), TensorRole::kInput, std::move(axes), dtype};
}
TensorUse ModelInput(std::string name, std::vector<std::string> axes, DType dtype) {
  return TensorUse{std::move(name), TensorRole::kInput, std::move(axes), dtype, /*needs_grad=*/false};
}
TensorUse WeightOf(std::string name, std::vector<std::string> axes, DType dtype) {
  return TensorUse{std::move(name), TensorRole::kWeight, std::move(axes), dtype};
}
TensorUse OutputOf(std::string name, std::vector<std::string> axes, DType dtype) {
  return TensorUse{std::move(name), TensorRole::kOutput, std::move(axes), dtype};
}

SavedTensor Keep(const TensorUse& t) { return SavedTensor{t.name, t.axes, DTypeBytes(t.dtype)}; }
SavedTensor KeepAs(std::string name, std::vector<std::string> axes, int64_t bytes_per_element) {
  return SavedTensor{std::move(name), std::move(axes), bytes_per_element};
}

Operator MakeOp(std::string name, OpKind kind, DType dtype, std::vector<Dim> dims,
                std::vector<TensorUse> tensors, double flops_per_point) {
  Operator op;
  op.name = std::move(name);
  op.kind = kind;
  op.dtype = dtype;
  op.dims = std::move(dims);
  op.tensors = std::move(tensors);
  op.flops_per_point = flops_per_point;
  return op;
}

std::string OutName(const std::string& op_path) { return op_path + ".out"; }

}  // namespace proteus
