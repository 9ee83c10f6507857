#include "profiler/device_presets.h"

#include <algorithm>
#include <cctype>

namespace proteus::profiler {
namespace {
constexpr double kT = 1e12, kGB = 1e9;
constexpr int64_t kGiB = int64_t{1} << 30, kMiB = int64_t{1} << 20;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}
}  // namespace

double DevicePreset::PeakFlops(DType t) const {
  switch (t) {
    case DType::kFp32: case DType::kInt32: case DType::kInt64: return fp32_flops;
    case DType::kTf32: return tf32_flops;
    case DType::kFp16: case DType::kBf16: return bf16_flops;
    case DType::kFp8E4M3: case DType::kFp8E5M2: return fp8_flops > 0 ? fp8_flops : bf16_flops;
  }
  return fp32_flops;
}

// Sources (dense tensor-core numbers, i.e. half of the "with sparsity" figures):
//   A100: NVIDIA A100 Tensor Core GPU datasheet (SXM4 80GB): fp32 19.5, tf32 156, bf16 312 TFLOP/s,
//         2,039 GB/s, NVLink3 600 GB/s bidirectional, L2 40 MB, 108 SMs, cc 8.0.
//   H100: NVIDIA H100 datasheet (SXM5): fp32 67, tf32 494.5, bf16 989.5, fp8 1979 TFLOP/s, 3.35 TB/s,
//         NVLink4 900 GB/s bidirectional, L2 50 MB, 132 SMs, cc 9.0.
//   H200: NVIDIA H200 datasheet (SXM): compute as H100, 141 GB HBM3e at 4.8 TB/s.
//   B200: NVIDIA DGX B200 / Blackwell datasheet: bf16 2.25, fp8 4.5 PFLOP/s dense, tf32 1.1, fp32 ~75,
//         180 GB (HGX B200) at 8 TB/s, NVLink5 1.8 TB/s bidirectional, 148 SMs, cc 10.0.
//   PCIe Gen4 x16 ~25 GB/s, Gen5 x16 ~50 GB/s usable per direction.
const std::vector<DevicePreset>& DevicePresets() {
  static const std::vector<DevicePreset> kPresets = {
      {"a100", "NVIDIA A100-SXM4-80GB", 8, 0, 108, 80 * kGiB, 40 * kMiB, 2039 * kGB, 19.5 * kT,
       156 * kT, 312 * kT, 0, 300 * kGB, 25 * kGB},
      {"h100", "NVIDIA H100 80GB HBM3", 9, 0, 132, 80 * kGiB, 50 * kMiB, 3350 * kGB, 67 * kT,
       494.5 * kT, 989.5 * kT, 1979 * kT, 450 * kGB, 50 * kGB},
      {"h200", "NVIDIA H200", 9, 0, 132, 141 * int64_t{1000000000}, 50 * kMiB, 4800 * kGB, 67 * kT,
       494.5 * kT, 989.5 * kT, 1979 * kT, 450 * kGB, 50 * kGB},
      {"b200", "NVIDIA B200", 10, 0, 148, 180 * int64_t{1000000000}, 126 * kMiB, 8000 * kGB,
       75 * kT, 1100 * kT, 2250 * kT, 4500 * kT, 900 * kGB, 50 * kGB},
  };
  return kPresets;
}

std::optional<DevicePreset> FindDevicePreset(const std::string& name) {
  std::string n = Lower(name);
  for (const auto& p : DevicePresets())
    if (n == p.name) return p;
  for (const auto& p : DevicePresets())
    if (n.find(p.name) != std::string::npos) return p;
  return std::nullopt;
}

// Dense tensor-core bf16 FMA rate per SM and clock, times 2 flop per FMA. Checks:
// A100 108 SM * 1.41 GHz * 2048 = 312 T; H100 132 * 1.83 GHz * 4096 = 989 T;
// L40S (8.9) 142 * 2.52 GHz * 512 = 183 T; B200 148 * 1.86 GHz * 8192 = 2.25 P.
double Bf16FlopsPerClockPerSm(int cc_major, int cc_minor) {
  int cc = cc_major * 10 + cc_minor;
  if (cc >= 100) return 8192;
  if (cc >= 90) return 4096;
  if (cc >= 86) return 512;
  if (cc >= 80) return 2048;
  if (cc >= 70) return 1024;  // V100: 80 SM * 1.53 GHz * 1024 = 125 T (fp16)
  return 0;
}

DevicePreset PresetForDevice(const DeviceInfo& dev) {
  DevicePreset p;
  if (auto known = FindDevicePreset(dev.name)) {
    p = *known;
  } else {
    p.name = dev.name;
    double clock_hz = dev.sm_clock_mhz * 1e6;
    p.bf16_flops = Bf16FlopsPerClockPerSm(dev.cc_major, dev.cc_minor) * dev.sm_count * clock_hz;
    p.tf32_flops = p.bf16_flops / 2;
    p.fp8_flops = (dev.cc_major * 10 + dev.cc_minor >= 89) ? 2 * p.bf16_flops : 0;
    p.fp32_flops = 128.0 * 2 * dev.sm_count * clock_hz;  // 128 fp32 FMA lanes per SM (sm_86+)
    // HBM bandwidth is not reported by CUDA; a middle-of-the-road guess, only for ETAs.
    p.hbm_bw = 2000 * kGB;
    p.pcie_bw = 25 * kGB;
  }
  p.marketing_name = dev.name;
  p.cc_major = dev.cc_major;
  p.cc_minor = dev.cc_minor;
  if (dev.sm_count > 0) p.sm_count = dev.sm_count;
  if (dev.memory_bytes > 0) p.memory_bytes = dev.memory_bytes;
  if (dev.l2_bytes > 0) p.l2_bytes = dev.l2_bytes;
  return p;
}

}  // namespace proteus::profiler
