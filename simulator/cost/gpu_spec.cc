#include "simulator/cost/gpu_spec.h"

#include <cmath>

#include "common/data_dir.h"
#include "common/error.h"
#include "common/suggest.h"
#include "common/units.h"

namespace proteus {

double GpuSpec::PeakFlops(DType t) const {
  if (auto it = peak_flops.find(t); it != peak_flops.end()) return it->second;
  // A dtype without its own tensor-core rate runs at the fp32 tensor (tf32) rate where one exists,
  // else on the CUDA cores (V100 has neither bf16 nor tf32 tensor cores).
  if (auto it = peak_flops.find(DType::kTf32); it != peak_flops.end()) return it->second;
  if (auto it = peak_flops.find(DType::kFp32); it != peak_flops.end()) return it->second;
  return vector_flops;
}

double GpuSpec::GemmEfficiency(DType t) const {
  bool fp8 = t == DType::kFp8E4M3 || t == DType::kFp8E5M2;
  return fp8 && efficiency.gemm_fp8 > 0 ? efficiency.gemm_fp8 : efficiency.gemm;
}

double GpuSpec::AttentionEfficiency() const {
  return efficiency.attention > 0 ? efficiency.attention : 0.5 * efficiency.gemm;
}

namespace {

// A strictly positive finite number (NaN and infinities are rejected by JsonView::Num).
double Positive(const JsonView& v, std::string_view key) {
  double x = v.Num(key);
  if (!(x > 0)) v.FailField(key, "must be a positive number, got " + std::to_string(x));
  return x;
}

double Fraction(const JsonView& v, std::string_view key, double fallback) {
  if (!v.Has(key)) return fallback;
  double x = v.Num(key);
  if (!(x > 0 && x <= 1)) v.FailField(key, "must be a fraction in (0, 1], got " + std::to_string(x));
  return x;
}

void ReadPeaks(const JsonView& root, GpuSpec& spec) {
  JsonView peaks = root.At("peak_tflops");
  if (!peaks.IsObject()) peaks.Fail("expected an object {dtype: dense TFLOP/s}");
  for (auto it = peaks.raw().begin(); it != peaks.raw().end(); ++it) {
    auto dtype = ParseDType(it.key());
    if (!dtype) peaks.FailField(it.key(), "unknown dtype (expected fp32, tf32, fp16, bf16, fp8_e4m3, fp8_e5m2)");
    spec.peak_flops[*dtype] = Positive(peaks, it.key()) * kTera;
  }
  if (spec.peak_flops.empty()) peaks.Fail("needs at least one dtype");
}

void ReadEfficiency(const JsonView& root, GpuSpec& spec) {
  auto eff = root.Find("efficiency");
  if (!eff) return;
  eff->RejectUnknownKeys({"gemm", "gemm_fp8", "attention", "memory", "vector", "link"});
  GpuEfficiency& e = spec.efficiency;
  e.gemm = Fraction(*eff, "gemm", e.gemm);
  e.gemm_fp8 = Fraction(*eff, "gemm_fp8", e.gemm_fp8);
  e.attention = Fraction(*eff, "attention", e.attention);
  e.memory = Fraction(*eff, "memory", e.memory);
  e.vector = Fraction(*eff, "vector", e.vector);
  e.link = Fraction(*eff, "link", e.link);
}

void ReadComputeCapability(const JsonView& root, GpuSpec& spec) {
  if (!root.Has("compute_capability")) return;
  std::string cc = root.Str("compute_capability");
  auto dot = cc.find('.');
  bool ok = dot != std::string::npos && dot > 0 && dot + 1 < cc.size();
  for (size_t i = 0; ok && i < cc.size(); ++i) ok = i == dot || (cc[i] >= '0' && cc[i] <= '9');
  if (!ok || cc.size() > 6) root.FailField("compute_capability", "expected \"<major>.<minor>\", got \"" + cc + "\"");
  spec.cc_major = std::stoi(cc.substr(0, dot));
  spec.cc_minor = std::stoi(cc.substr(dot + 1));
}

}  // namespace

GpuSpec GpuSpecFromJson(const Json& doc, const std::string& origin) {
  JsonView root(doc, origin);
  root.RequireFormat("proteus.gpu", kGpuSpecMajor);
  root.RejectUnknownKeys({"format", "name", "architecture", "compute_capability", "sm_count", "memory_gib",
                          "memory_bandwidth_gbps", "l2_mib", "nvlink_gbps", "pcie_gbps", "peak_tflops",
                          "vector_fp32_tflops", "efficiency", "kernel_overhead_us", "sources"});
  GpuSpec spec;
  spec.name = root.Str("name");
  if (spec.name.empty()) root.FailField("name", "must not be empty");
  spec.architecture = root.StrOr("architecture", "");
  ReadComputeCapability(root, spec);
  int64_t sms = root.PositiveInt("sm_count");
  if (sms > 100000) root.FailField("sm_count", "implausibly large (" + std::to_string(sms) + ")");
  spec.sm_count = static_cast<int>(sms);
  double gib = Positive(root, "memory_gib");
  if (gib > 1e9) root.FailField("memory_gib", "implausibly large");
  spec.memory_bytes = static_cast<int64_t>(std::llround(gib * static_cast<double>(kGiB)));
  spec.mem_bw = Positive(root, "memory_bandwidth_gbps") * kGBps;
  if (root.Has("l2_mib")) spec.l2_bytes = static_cast<int64_t>(std::llround(Positive(root, "l2_mib") * kMiB));
  if (root.Has("nvlink_gbps")) spec.nvlink_bw = Positive(root, "nvlink_gbps") * kGBps;
  if (root.Has("pcie_gbps")) spec.pcie_bw = Positive(root, "pcie_gbps") * kGBps;
  ReadPeaks(root, spec);
  spec.vector_flops = root.Has("vector_fp32_tflops") ? Positive(root, "vector_fp32_tflops") * kTera
                                                     : spec.PeakFlops(DType::kFp32);
  ReadEfficiency(root, spec);
  if (root.Has("kernel_overhead_us")) {
    double us = root.Num("kernel_overhead_us");
    if (us < 0 || us > 1e6) root.FailField("kernel_overhead_us", "must be in [0, 1e6] microseconds");
    spec.kernel_overhead_s = us * kUs;
  }
  if (auto src = root.Find("sources")) {
    if (!src->IsObject()) src->Fail("expected an object {field: source}");
    for (auto it = src->raw().begin(); it != src->raw().end(); ++it) spec.sources[it.key()] = src->Str(it.key());
  }
  return spec;
}

std::string ShippedGpuNames() { return ListDataNames("gpus", ".json"); }

GpuSpec LoadGpuSpec(const std::string& name_or_path) {
  auto path = ResolveDataFile("gpus", name_or_path, ".json");
  if (!path && LooksLikePath(name_or_path)) throw UserError("gpu", "file not found: " + name_or_path);
  if (!path)
    throw UserError("gpu \"" + name_or_path + "\"",
                    "unknown GPU; " + DidYouMean(name_or_path, DataNames("gpus", ".json")) + "(shipped: " +
                        ShippedGpuNames() + "; or give a path to a proteus.gpu/1 file)");
  return GpuSpecFromJson(ReadJsonFile(*path), *path);
}

}  // namespace proteus
