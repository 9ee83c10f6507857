// The calibratable parameters of the cost model. Each has a physical meaning, a unit and bounds a
// fit may not leave; `proteus-sim calibrate` fits a subset of them per GPU type and writes the
// values into a cost-database layer (common/costdb.h CalibrationLayer), which ComputeCostModel and
// the collective model then apply instead of the uncalibrated defaults.
//
//   name                  unit  meaning (where the model uses it)
//   gemm_ceiling          frac  large-GEMM efficiency ceiling (efficiency.h PlanMatmul)
//   gemm_depth_overhead   K el  fixed work per output tile in reduction elements: shape sensitivity
//   attention_ceiling     frac  fused-attention efficiency ceiling (efficiency.h AttentionEfficiency)
//   memory_ceiling        frac  fraction of HBM bandwidth streaming kernels reach (MemoryEfficiency)
//   kernel_overhead_us    us    fixed time per kernel: launch, ramp-up and tail (roofline.h)
//   host_launch_us        us    host time to issue a kernel: the floor of a kernel's time (roofline.h)
//   coll_bw_eff_intra     frac  achieved / modelled bandwidth of collectives inside a node
//   coll_bw_eff_inter     frac  achieved / modelled bandwidth of collectives across nodes
//   coll_latency_us       us    extra fixed time per collective (launch, proxy, synchronisation)
//   overlap_slowdown      x     compute slowdown while a collective runs beside it (interference.h)
//
// Example: a layer {gemm_ceiling: 0.80, kernel_overhead_us: 4} for A100-SXM4-80GB makes every
// A100 roofline estimate use 80% as the GEMM ceiling and 4 us per kernel; other GPUs are unchanged.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/costdb.h"
#include "simulator/cost/gpu_spec.h"
#include "topo/calibrated_collective.h"

namespace proteus {

struct CostParamSpec {
  std::string_view name;
  std::string_view unit;     // "fraction", "elements", "us", "factor"
  double lo = 0, hi = 0;     // bounds the fit keeps to (inclusive)
  std::string_view meaning;  // one line for --help and docs
};

/// All parameters, in the order above.
const std::vector<CostParamSpec>& CostParamSpecs();
const CostParamSpec* FindCostParam(std::string_view name);
/// "gemm_ceiling, gemm_depth_overhead, ..." for messages.
std::string CostParamNames();

/// Parameter values by name; absent names keep the uncalibrated value.
using CostParamValues = std::map<std::string, double>;

/// The uncalibrated value of every parameter for `gpu` (its spec, then the documented defaults).
CostParamValues UncalibratedParams(const GpuSpec& gpu);

/// `gpu` with the compute parameters among `values` applied (gemm_ceiling, gemm_depth_overhead,
/// attention_ceiling, memory_ceiling, kernel_overhead_us, host_launch_us). Precondition: names known, values within
/// bounds (ValidateCostParams).
GpuSpec ApplyComputeParams(GpuSpec gpu, const CostParamValues& values);

/// The values of a calibration layer's parameters.
CostParamValues ValuesOf(const Calibration& calibration);

/// The collective correction of `values` (bandwidth efficiency inside / across nodes, extra
/// latency), as topo/calibrated_collective.h applies it; identity() when none is calibrated.
CollectiveCorrection CollectiveParams(const CostParamValues& values);

/// Compute slowdown while overlapping a collective, when calibrated (nullopt: the defaults of
/// interference.h apply).
std::optional<double> OverlapSlowdown(const CostParamValues& values);

/// Checks names and bounds; a message naming the first bad entry, or nullopt.
std::optional<std::string> ValidateCostParams(const CostParamValues& values);

}  // namespace proteus
