#include "simulator/cost/cost_params.h"

#include <cmath>

#include "common/error.h"
#include "common/units.h"
#include "simulator/cost/efficiency.h"

namespace proteus {

const std::vector<CostParamSpec>& CostParamSpecs() {
  // Bounds are what the hardware can physically do, not what a fit would like: an efficiency is at
  // most 1 (0.99 for GEMMs: tensor cores never run every cycle), a kernel cannot cost less than its
  // launch (~0.5 us) nor more than a host round trip would explain (~50 us).
  static const std::vector<CostParamSpec> kSpecs = {
      {"gemm_ceiling", "fraction", 0.30, 0.99, "large-GEMM efficiency ceiling (fraction of dense peak)"},
      {"gemm_depth_overhead", "elements", 16, 4096,
       "fixed work per GEMM output tile, in reduction (K) elements: how much small or thin shapes lose"},
      {"attention_ceiling", "fraction", 0.20, 0.95, "fused-attention efficiency ceiling (fraction of dense peak)"},
      {"memory_ceiling", "fraction", 0.30, 0.98, "fraction of HBM bandwidth memory-bound kernels reach"},
      {"kernel_overhead_us", "us", 0.5, 50, "fixed time per kernel: launch, ramp-up and tail"},
      // Issuing one kernel costs the host ~3-10 us through PyTorch's dispatcher; eager Python
      // between launches can add tens of microseconds.
      {"host_launch_us", "us", 0, 100, "host time to issue one kernel: the floor of a kernel's time when the host "
                                       "cannot run ahead"},
      {"coll_bw_eff_intra", "fraction", 0.30, 1.20, "achieved / modelled bandwidth of collectives inside a node"},
      {"coll_bw_eff_inter", "fraction", 0.30, 1.20, "achieved / modelled bandwidth of collectives across nodes"},
      {"coll_latency_us", "us", 0, 500, "extra fixed time per collective (launch, proxy, synchronisation)"},
      {"overlap_slowdown", "factor", 1.0, 2.0, "compute slowdown while a collective runs beside it"},
  };
  return kSpecs;
}

const CostParamSpec* FindCostParam(std::string_view name) {
  for (const auto& s : CostParamSpecs())
    if (s.name == name) return &s;
  return nullptr;
}

std::string CostParamNames() {
  std::string out;
  for (const auto& s : CostParamSpecs()) out += (out.empty() ? "" : ", ") + std::string(s.name);
  return out;
}

CostParamValues UncalibratedParams(const GpuSpec& gpu) {
  return {{"gemm_ceiling", gpu.efficiency.gemm},
          {"gemm_depth_overhead", gpu.gemm_depth_overhead},
          {"attention_ceiling", gpu.AttentionEfficiency()},
          {"memory_ceiling", gpu.efficiency.memory},
          {"kernel_overhead_us", gpu.kernel_overhead_s / kUs},
          {"host_launch_us", gpu.host_launch_s / kUs},
          {"coll_bw_eff_intra", 1.0},
          {"coll_bw_eff_inter", 1.0},
          {"coll_latency_us", 0.0},
          // The interference default for a GEMM beside a reduction (interference.h).
          {"overlap_slowdown", 1.10}};
}

GpuSpec ApplyComputeParams(GpuSpec gpu, const CostParamValues& values) {
  PROTEUS_CHECK(!ValidateCostParams(values), ValidateCostParams(values).value_or(""));
  for (const auto& [name, v] : values) {
    if (name == "gemm_ceiling") {
      // fp8 keeps its ratio to the 16-bit ceiling when the spec gave one.
      if (gpu.efficiency.gemm_fp8 > 0) gpu.efficiency.gemm_fp8 *= v / gpu.efficiency.gemm;
      gpu.efficiency.gemm = v;
    } else if (name == "gemm_depth_overhead") {
      gpu.gemm_depth_overhead = v;
    } else if (name == "attention_ceiling") {
      gpu.efficiency.attention = v;
    } else if (name == "memory_ceiling") {
      gpu.efficiency.memory = v;
    } else if (name == "kernel_overhead_us") {
      gpu.kernel_overhead_s = v * kUs;
    } else if (name == "host_launch_us") {
      gpu.host_launch_s = v * kUs;
    }
  }
  return gpu;
}

CostParamValues ValuesOf(const Calibration& calibration) {
  CostParamValues values;
  for (const auto& [name, p] : calibration.params) values[name] = p.value;
  return values;
}

CollectiveCorrection CollectiveParams(const CostParamValues& values) {
  CollectiveCorrection c;
  if (auto it = values.find("coll_bw_eff_intra"); it != values.end()) c.bw_eff_intra = it->second;
  if (auto it = values.find("coll_bw_eff_inter"); it != values.end()) c.bw_eff_inter = it->second;
  if (auto it = values.find("coll_latency_us"); it != values.end()) c.extra_latency_s = it->second * kUs;
  return c;
}

std::optional<double> OverlapSlowdown(const CostParamValues& values) {
  if (auto it = values.find("overlap_slowdown"); it != values.end()) return it->second;
  return std::nullopt;
}

std::optional<std::string> ValidateCostParams(const CostParamValues& values) {
  for (const auto& [name, v] : values) {
    const CostParamSpec* spec = FindCostParam(name);
    if (!spec) return "unknown cost-model parameter \"" + name + "\" (known: " + CostParamNames() + ")";
    if (!std::isfinite(v) || v < spec->lo || v > spec->hi)
      return name + " = " + std::to_string(v) + " is outside its bounds [" + std::to_string(spec->lo) + ", " +
             std::to_string(spec->hi) + "] " + std::string(spec->unit);
  }
  return std::nullopt;
}

}  // namespace proteus
