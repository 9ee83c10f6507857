// Small constructors for operators, dims and tensors, so the block builders (transformer.cc,
// resnet.cc) read as a list of layers. They encode the conventions of op.h: a tensor produced by
// the op at path P is named "P.out", its weights "P.weight" / "P.bias", and what an op keeps for
// backward is stated beside the op (Korthikanti et al. 2022 sizes).
//
//   Operator fc1 = MakeOp("fc1", OpKind::kLinear, dt, {BatchDim("b", 1), BatchDim("s", 2048),
//                         ReduceDim("h", 4096), SpatialDim("f", 16384)}, {...}, 2.0);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "simulator/model/op.h"

namespace proteus {

Dim BatchDim(std::string name, int64_t size);
Dim SpatialDim(std::string name, int64_t size);
Dim ReduceDim(std::string name, int64_t size);
Dim OpaqueDim(std::string name, int64_t size);
/// An extent-only dim: sizes a tensor axis, never iterated (op.h).
Dim ExtentDim(std::string name, int64_t size);

TensorUse InputOf(std::string name, std::vector<std::string> axes, DType dtype);
/// A model input (token ids, labels, images): no producer, no gradient.
TensorUse ModelInput(std::string name, std::vector<std::string> axes, DType dtype);
TensorUse WeightOf(std::string name, std::vector<std::string> axes, DType dtype);
TensorUse OutputOf(std::string name, std::vector<std::string> axes, DType dtype);

/// Keeps a whole tensor for backward at its own element size.
SavedTensor Keep(const TensorUse& t);
/// Keeps a tensor-shaped value under `name` at `bytes_per_element` (masks: 1, fp32 statistics: 4).
SavedTensor KeepAs(std::string name, std::vector<std::string> axes, int64_t bytes_per_element);

Operator MakeOp(std::string name, OpKind kind, DType dtype, std::vector<Dim> dims,
                std::vector<TensorUse> tensors, double flops_per_point);

/// The name of the tensor an op at `op_path` outputs: "<op_path>.out".
std::string OutName(const std::string& op_path);

}  // namespace proteus
