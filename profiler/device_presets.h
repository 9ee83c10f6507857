// Device presets: datasheet numbers of the GPUs proteus-profile plans for, used only to ESTIMATE how
// long a plan takes (--dry-run, the ETA before the first measurement) and as the peak that the
// GEMM throughput sanity test compares against. Measurements never use them.
//
// Estimated time of one call of an op (a roofline with a launch floor):
//   t = max(kLaunchFloor * kernels, flops / (peak(dtype) * kComputeEff), bytes / (hbm_bw * kMemEff))
// e.g. H100 bf16 gemm 4096^3: 2*4096^3 = 1.37e11 flop / (989e12 * 0.7) = 0.20 ms.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/costdb.h"
#include "common/dtype.h"

namespace proteus::profiler {

/// One GPU type's peak numbers (dense, no sparsity), bytes and bytes/s and flop/s.
struct DevicePreset {
  std::string name;              // "h100": what --gpu takes
  std::string marketing_name;    // "NVIDIA H100 80GB HBM3 (SXM5)"
  int cc_major = 0, cc_minor = 0;
  int sm_count = 0;
  int64_t memory_bytes = 0;
  int64_t l2_bytes = 0;
  double hbm_bw = 0;             // bytes/s
  double fp32_flops = 0;         // CUDA cores
  double tf32_flops = 0;         // tensor cores
  double bf16_flops = 0;         // = fp16
  double fp8_flops = 0;          // 0 where the GPU has no fp8 tensor cores
  double nvlink_bw = 0;          // per GPU, one direction, bytes/s (0: PCIe only)
  double pcie_bw = 0;            // host link, one direction, bytes/s

  /// Peak flop/s for an op computed in `t` (fp8 falls back to bf16 where absent; int types: fp32).
  double PeakFlops(DType t) const;
  /// Whether the tensor cores take fp8 (Ada / Hopper and later: compute capability >= 8.9).
  bool HasFp8() const { return cc_major * 10 + cc_minor >= 89; }
};

/// The known presets (a100, h100, h200, b200), sources cited in device_presets.cc.
const std::vector<DevicePreset>& DevicePresets();
/// Finds a preset by --gpu name ("h100") or by a CUDA device name containing it ("NVIDIA H100 80GB
/// HBM3"); nullopt if none matches.
std::optional<DevicePreset> FindDevicePreset(const std::string& name);
/// A preset for a probed device: the named one if known (memory, SMs and L2 taken from the probe),
/// else one derived from compute capability, SM count and clock (peak = SMs * clock * flop/clk/SM).
DevicePreset PresetForDevice(const DeviceInfo& dev);
/// Dense bf16 tensor-core flop per clock per SM for a compute capability (0 if unknown): the basis
/// of PresetForDevice and of the GEMM throughput test.
double Bf16FlopsPerClockPerSm(int cc_major, int cc_minor);

}  // namespace proteus::profiler
