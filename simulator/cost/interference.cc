#include "simulator/cost/interference.h"

#include <array>
#include <utility>

namespace proteus {
namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 18> kKindClasses = {{
    {"gemm", "gemm"}, {"bgemm", "gemm"}, {"conv2d", "gemm"}, {"attention", "attention"},
    {"layernorm", "norm"}, {"rmsnorm", "norm"}, {"softmax", "norm"}, {"batchnorm", "norm"},
    {"cross_entropy", "norm"}, {"gelu", "elementwise"}, {"swiglu", "elementwise"},
    {"dropout", "elementwise"}, {"add", "elementwise"}, {"rope", "elementwise"}, {"pool", "elementwise"},
    {"embedding", "embedding"}, {"adam", "optimizer"}, {"copy", "copy"},
}};

bool ComputeBound(std::string_view cls) { return cls == "gemm" || cls == "attention"; }

// Default factors (docs/cost-model.md, "Interference"). Conservative middle of published
// observations: NCCL's CTAs take SMs from compute kernels (a one-wave H100 GEMM can double when an
// all-gather holds 24 of 132 SMs; many-wave GEMMs lose roughly the SM share, ~10-20%), and both
// sides compete for HBM bandwidth, which hurts memory-bound kernels more.
//                                    compute-bound  memory-bound
//   reductions (all_reduce, reduce_scatter, reduce): 1.10 / 1.10   1.15 / 1.15
//   copies (all_gather, broadcast, alltoall):        1.07 / 1.05   1.12 / 1.10
//   sendrecv (one or two channels):                  1.03 / 1.03   1.05 / 1.05
// (compute_slowdown / comm_slowdown.) A copy kernel ("copy") is treated as memory bound.
InterferenceFactors DefaultFactors(bool compute_bound, CollOp op) {
  switch (op) {
    case CollOp::kAllReduce:
    case CollOp::kReduceScatter:
    case CollOp::kReduce:
      return compute_bound ? InterferenceFactors{1.10, 1.10} : InterferenceFactors{1.15, 1.15};
    case CollOp::kAllGather:
    case CollOp::kBroadcast:
    case CollOp::kAllToAll:
      return compute_bound ? InterferenceFactors{1.07, 1.05} : InterferenceFactors{1.12, 1.10};
    case CollOp::kSendRecv:
      return compute_bound ? InterferenceFactors{1.03, 1.03} : InterferenceFactors{1.05, 1.05};
  }
  return {1.15, 1.15};
}

}  // namespace

std::string ComputeClassOfKind(std::string_view kind) {
  for (const auto& [k, cls] : kKindClasses)
    if (k == kind) return std::string(cls);
  return "elementwise";
}

std::string ComputeClassOf(const OpKey& key) { return ComputeClassOfKind(key.kind); }

InterferenceModel::InterferenceModel(std::shared_ptr<const CostDb> db, std::optional<double> overlap_slowdown)
    : db_(std::move(db)), overlap_slowdown_(overlap_slowdown) {}

const InterferenceEntry* InterferenceModel::Find(std::string_view compute_class, std::string_view collective) const {
  if (!db_) return nullptr;
  for (const auto& e : db_->interference)
    if (e.compute_class == compute_class && e.collective == collective) return &e;
  return nullptr;
}

InterferenceFactors InterferenceModel::Default(std::string_view compute_class, CollOp op) {
  // An op kind given instead of a class is classified first; unknown names count as memory bound.
  bool is_kind = false;
  for (const auto& [k, cls] : kKindClasses) is_kind = is_kind || k == compute_class;
  std::string cls = is_kind ? ComputeClassOfKind(compute_class) : std::string(compute_class);
  return DefaultFactors(ComputeBound(cls), op);
}

InterferenceFactors InterferenceModel::Factors(std::string_view compute_class, CollOp op) const {
  std::string_view coll = CollOpName(op);
  if (const InterferenceEntry* e = Find(compute_class, coll)) return {e->compute_slowdown, e->comm_slowdown};
  for (const auto& [k, cls] : kKindClasses) {
    if (k != compute_class) continue;
    if (const InterferenceEntry* e = Find(cls, coll)) return {e->compute_slowdown, e->comm_slowdown};
  }
  InterferenceFactors f = Default(compute_class, op);
  // 0.10 is the default compute slowdown of a GEMM beside a reduction, the calibrated reference.
  if (overlap_slowdown_) f.compute_slowdown = 1 + (f.compute_slowdown - 1) * (*overlap_slowdown_ - 1) / 0.10;
  return f;
}

}  // namespace proteus
