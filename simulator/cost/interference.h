// Interference: how much a compute kernel and a collective slow each other down when they run at
// the same time on one GPU (the engine stretches both while they overlap).
//
// Model. Two shared resources make overlap imperfect: NCCL runs its collectives as CTAs on the SMs
// (one per channel), taking SMs from compute kernels (and pushing a GEMM's last wave into an extra
// one), and both sides stream through the same HBM. So a factor depends on the compute class
// (compute bound: SM share matters; memory bound: HBM share matters) and on the collective (a
// reduction reads, adds and writes; a gather only copies; send/recv uses few channels).
// Factors are time together / time alone (>= 1). A measured database entry for the pair wins;
// otherwise the documented defaults below (docs/cost-model.md) apply.
//
// Example: InterferenceModel m(db); auto f = m.Factors("gemm", CollOp::kAllReduce);
//   without a measurement f = {1.10, 1.10}: a GEMM overlapping a DP all-reduce runs 10% slower, and
//   so does the all-reduce.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/costdb.h"
#include "common/op_key.h"
#include "topo/collective.h"

namespace proteus {

struct InterferenceFactors {
  double compute_slowdown = 1;  // compute time co-running / alone
  double comm_slowdown = 1;     // collective time co-running / alone
};

/// Compute class of an op kind for interference: "gemm" (gemm, bgemm, conv2d), "attention",
/// "norm" (layernorm, rmsnorm, softmax, batchnorm, cross_entropy), "elementwise" (gelu, swiglu,
/// dropout, add, rope, pool), "embedding", "optimizer" (adam), "copy".
std::string ComputeClassOf(const OpKey& key);
std::string ComputeClassOfKind(std::string_view kind);

/// Thread-safe for concurrent const calls.
class InterferenceModel {
 public:
  /// `db` may be null: defaults only. `overlap_slowdown` (calibrated, cost/cost_params.h) is the
  /// compute slowdown of a compute-bound kernel beside a reduction; when given, every default
  /// compute slowdown is scaled in proportion (1 + (f - 1) * (s - 1) / 0.10). Measured entries win.
  explicit InterferenceModel(std::shared_ptr<const CostDb> db = nullptr,
                             std::optional<double> overlap_slowdown = std::nullopt);
  /// Factors for `compute_class` (a class above, or an op kind: its class is used when the
  /// database has no entry for the kind itself) co-running with collective `op`. Unknown classes
  /// get the memory-bound defaults (the more conservative ones).
  InterferenceFactors Factors(std::string_view compute_class, CollOp op) const;
  /// The documented default for a class and collective (no database).
  static InterferenceFactors Default(std::string_view compute_class, CollOp op);

 private:
  const InterferenceEntry* Find(std::string_view compute_class, std::string_view collective) const;
  std::shared_ptr<const CostDb> db_;
  std::optional<double> overlap_slowdown_;
};

}  // namespace proteus
