#include "simulator/model/backward.h"

#include <algorithm>
#include <optional>
#include <set>

#include "common/error.h"

namespace proteus {
namespace {

struct BwdFlops {
  double data = 0, weight = 0, data_hw = -1;
};

BwdFlops FlopsOf(OpKind k) {
  switch (k) {
    case OpKind::kLinear: case OpKind::kConv2d: return {2, 2, -1};
    case OpKind::kBatchedMatmul: return {4, 0, -1};
    case OpKind::kAttention: return {8, 0, 10};
    default: return {0, 0, -1};
  }
}

bool IsIntegerDType(DType t) { return t == DType::kInt32 || t == DType::kInt64; }

bool Contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

bool IsKept(const Operator& fwd, const std::string& tensor) {
  for (const auto& st : fwd.saved)
    if (st.name == tensor) return true;
  return false;
}

// Re-derives dim kinds for an op that writes `written` (op.h/backward.h rules).
void RederiveKinds(Operator& op, const std::vector<TensorUse>& written, Phase phase) {
  for (auto& d : op.dims) {
    if (d.kind == DimKind::kOpaque || d.extent_only) continue;
    bool indexes = false;
    for (const auto& t : written) indexes = indexes || Contains(t.axes, d.name);
    if (indexes) {
      if (d.kind != DimKind::kBatch) d.kind = DimKind::kSpatial;
    } else if (d.kind != DimKind::kBatch || phase == Phase::kBwdWeight) {
      d.kind = DimKind::kReduce;
    }
  }
}

TensorUse Grad(const TensorUse& t, TensorRole role) {
  TensorUse g = t;
  g.name = GradName(t.name);
  g.role = role;
  g.needs_grad = false;
  return g;
}

Operator Shell(const Operator& fwd, Phase phase) {
  Operator op = fwd;
  op.phase = phase;
  op.tensors.clear();
  op.saved.clear();
  op.hw_flops_per_point = -1;
  return op;
}

// The gradients flowing in: one per forward output (none for a loss, which seeds backward).
void AddOutputGrads(const Operator& fwd, Operator& op) {
  if (fwd.kind == OpKind::kCrossEntropy) return;
  for (const auto& t : fwd.tensors)
    if (t.role == TensorRole::kOutput) op.tensors.push_back(Grad(t, TensorRole::kInput));
}

std::optional<Operator> BwdData(const Operator& fwd) {
  std::vector<TensorUse> written;
  for (const auto& t : fwd.tensors)
    if (t.role == TensorRole::kInput && t.needs_grad && !IsIntegerDType(t.dtype)) written.push_back(t);
  if (written.empty()) return std::nullopt;
  Operator op = Shell(fwd, Phase::kBwdData);
  AddOutputGrads(fwd, op);
  bool gemm_like = fwd.kind == OpKind::kLinear || fwd.kind == OpKind::kConv2d;
  for (const auto& t : fwd.tensors) {
    // A gemm's dX needs only W; other ops read what they kept (norm inputs, masks, q/k/v).
    if (t.role == TensorRole::kWeight) op.tensors.push_back(t);
    else if (!gemm_like && IsKept(fwd, t.name)) op.tensors.push_back(t);
  }
  std::set<std::string> seen;
  for (const auto& t : written)
    if (seen.insert(t.name).second) op.tensors.push_back(Grad(t, TensorRole::kOutput));
  RederiveKinds(op, written, Phase::kBwdData);
  BwdFlops f = FlopsOf(fwd.kind);
  op.flops_per_point = f.data;
  op.hw_flops_per_point = f.data_hw;
  return op;
}

std::optional<Operator> BwdWeight(const Operator& fwd) {
  std::vector<TensorUse> written;
  for (const auto& t : fwd.tensors)
    if (t.role == TensorRole::kWeight) written.push_back(t);
  if (written.empty()) return std::nullopt;
  Operator op = Shell(fwd, Phase::kBwdWeight);
  AddOutputGrads(fwd, op);
  for (const auto& t : fwd.tensors)
    if (t.role != TensorRole::kWeight && IsKept(fwd, t.name)) op.tensors.push_back(t);
  for (const auto& t : written) op.tensors.push_back(Grad(t, TensorRole::kOutput));
  RederiveKinds(op, written, Phase::kBwdWeight);
  op.flops_per_point = FlopsOf(fwd.kind).weight;
  return op;
}

}  // namespace

std::string GradName(const std::string& tensor) { return tensor + ".grad"; }

std::vector<Operator> DeriveBackward(const Operator& fwd) {
  PROTEUS_CHECK(fwd.phase == Phase::kFwd, "DeriveBackward takes a forward op, got " + fwd.name);
  std::vector<Operator> out;
  if (auto d = BwdData(fwd)) out.push_back(std::move(*d));
  if (auto w = BwdWeight(fwd)) out.push_back(std::move(*w));
  return out;
}

double BackwardFlops(const Module& m) {
  double total = 0;
  VisitOps(m, [&](const std::string&, const Operator& op) {
    for (const auto& b : DeriveBackward(op)) total += b.ForwardFlops();
  });
  return total;
}

}  // namespace proteus
