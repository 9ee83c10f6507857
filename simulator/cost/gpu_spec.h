// GPU specifications (data/gpus/<name>.json, proteus.gpu/1): the roofline's ceilings and the
// memory capacity. Every number in those files cites its datasheet.
//
// Model. A spec holds the datasheet ceilings (dense peak FLOP/s per math dtype, HBM bandwidth, SM
// count, link bandwidths) and the calibrated efficiency ceilings of the kernel classes the roofline
// uses (the best measured fraction of peak at large sizes, e.g. gemm = 794.5 / 989 on H100 bf16).
// Size-dependent efficiency (waves, tiles, pipeline fill) is modelled in cost/efficiency.h; the
// spec only carries the large-size asymptotes.
//
// Example (data/gpus/H100-SXM5-80GB.json):
//   GpuSpec h100 = LoadGpuSpec("H100-SXM5-80GB");
//   h100.PeakFlops(DType::kBf16) == 989.4e12;  h100.mem_bw == 3.35e12;  h100.sm_count == 132
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "common/dtype.h"
#include "common/json_file.h"

namespace proteus {

inline constexpr int kGpuSpecMajor = 1;

/// Large-size efficiency ceilings (fraction of the datasheet peak) per kernel class.
struct GpuEfficiency {
  double gemm = 0.80;       // dense matmul, 16-bit (and tf32) tensor cores
  double gemm_fp8 = 0;      // fp8 matmul; 0 = same as gemm
  double attention = 0;     // fused attention (FlashAttention); 0 = half of gemm
  double memory = 0.88;     // streaming kernels, fraction of HBM bandwidth
  double vector = 0.70;     // non-tensor math (elementwise), fraction of vector_flops
  double link = 0.80;       // host (PCIe) and peer (NVLink) copies, fraction of link bandwidth
};

struct GpuSpec {
  std::string name;                       // "H100-SXM5-80GB"
  std::map<DType, double> peak_flops;     // dense FLOP/s per math dtype (tensor cores where used)
  double vector_flops = 0;                // non-tensor fp32 FLOP/s (elementwise math)
  double mem_bw = 0;                      // bytes/s, HBM
  int64_t memory_bytes = 0;
  int sm_count = 0;
  double nvlink_bw = 0;                   // bytes/s per direction, all links together (informational)
  double PeakFlops(DType t) const;        // falls back to fp32 tensor rate for unknown dtypes

  // Added for the cost model (all optional in the file, defaults documented in docs/formats.md).
  std::string architecture;               // "hopper", "ampere", "volta"
  int cc_major = 0, cc_minor = 0;         // compute capability
  int64_t l2_bytes = 0;
  double pcie_bw = 0;                     // bytes/s per direction, host link
  GpuEfficiency efficiency;
  double kernel_overhead_s = 2e-6;        // fixed time per kernel (launch, ramp, drain)
  // Fixed work per GEMM output tile in reduction elements (pipeline prologue, epilogue store): two
  // to three 64-deep stages of a multistage mainloop (CUTLASS sm80/sm90 kernels use 3-5 stages).
  // The shape sensitivity of GEMM efficiency (cost/efficiency.h); calibration may refit it.
  double gemm_depth_overhead = 128;
  // Host time to issue one kernel when the host does not run ahead of the GPU (small kernels,
  // Python between launches): a kernel then takes at least this long on the GPU's timeline.
  // 0 (the default) = the host always runs ahead. Calibration may fit it (host_launch_us).
  double host_launch_s = 0;
  std::map<std::string, std::string> sources;  // field -> datasheet / measurement it comes from

  /// Efficiency ceiling of matmuls in `t` (gemm_fp8 for fp8 when given, else gemm).
  double GemmEfficiency(DType t) const;
  /// Efficiency ceiling of fused attention (falls back to half the gemm ceiling).
  double AttentionEfficiency() const;
};

/// Parses a proteus.gpu/1 document; UserError naming `origin` and the field on any problem.
GpuSpec GpuSpecFromJson(const Json& doc, const std::string& origin);

/// Loads data/gpus/<name>.json (or a path). UserError naming the file/field; unknown names list the
/// shipped ones.
GpuSpec LoadGpuSpec(const std::string& name_or_path);

/// Names of the shipped GPU specs ("A100-SXM4-80GB, H100-SXM5-80GB, ..."), for --help and errors.
std::string ShippedGpuNames();

}  // namespace proteus
