#include "simulator/cost/roofline.h"

#include <algorithm>

#include "simulator/cost/efficiency.h"
#include "simulator/cost/op_work.h"

namespace proteus {
namespace {

// Math time and the efficiency it assumed, by the unit that does the math.
std::pair<double, double> ComputeTime(const KernelWork& w, DType dtype, const GpuSpec& gpu) {
  if (w.flops <= 0) return {0, 0};
  switch (w.unit) {
    case MathUnit::kTensor: {
      double eff = PlanMatmul(w.matmul, dtype, gpu).efficiency;
      return {w.flops / (gpu.PeakFlops(dtype) * eff), eff};
    }
    case MathUnit::kAttention: {
      double eff = AttentionEfficiency(w.attention, gpu);
      return {w.flops / (gpu.PeakFlops(dtype) * eff), eff};
    }
    default: {
      double eff = gpu.efficiency.vector;
      return {w.flops / (gpu.vector_flops * eff), eff};
    }
  }
}

// A spec without a host link figure gets PCIe Gen3 x16 (16 GB/s per direction); a GPU without
// NVLink copies to its peers over PCIe.
constexpr double kDefaultPcieBw = 16e9;

double MemoryTime(const KernelWork& w, const GpuSpec& gpu) {
  if (w.bytes <= 0) return 0;
  double pcie = gpu.pcie_bw > 0 ? gpu.pcie_bw : kDefaultPcieBw;
  switch (w.unit) {
    case MathUnit::kHostLink: return w.bytes / (pcie * gpu.efficiency.link);
    case MathUnit::kPeerLink: return w.bytes / ((gpu.nvlink_bw > 0 ? gpu.nvlink_bw : pcie) * gpu.efficiency.link);
    default: return w.bytes / (gpu.mem_bw * MemoryEfficiency(w.bytes, gpu));
  }
}

}  // namespace

RooflineEstimate Roofline(const OpKey& key, const GpuSpec& gpu) {
  KernelWork w = WorkOf(key);
  RooflineEstimate r;
  r.flops = w.flops;
  r.bytes = w.bytes;
  std::tie(r.compute_s, r.compute_efficiency) = ComputeTime(w, key.dtype, gpu);
  r.memory_s = MemoryTime(w, gpu);
  r.overhead_s = gpu.kernel_overhead_s;
  // A kernel shorter than its launch on the host runs at the host's pace.
  r.seconds = std::max(r.overhead_s + std::max(r.compute_s, r.memory_s), gpu.host_launch_s);
  return r;
}

}  // namespace proteus
