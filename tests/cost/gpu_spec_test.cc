#include "simulator/cost/gpu_spec.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace proteus {
namespace {

Json MinimalSpec() {
  return Json::parse(R"({"format": "proteus.gpu/1", "name": "X", "sm_count": 10, "memory_gib": 16,
                         "memory_bandwidth_gbps": 1000, "peak_tflops": {"bf16": 100, "fp32": 10}})");
}

std::string ErrorOf(const Json& doc) {
  try {
    GpuSpecFromJson(doc, "x.json");
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

TEST(GpuSpec, ShippedSpecsLoadWithDatasheetNumbers) {
  GpuSpec h100 = LoadGpuSpec("H100-SXM5-80GB");
  EXPECT_EQ(h100.sm_count, 132);
  EXPECT_DOUBLE_EQ(h100.PeakFlops(DType::kBf16), 989.4e12);
  EXPECT_DOUBLE_EQ(h100.mem_bw, 3.35e12);
  EXPECT_EQ(h100.memory_bytes, 80LL << 30);
  EXPECT_DOUBLE_EQ(h100.nvlink_bw, 450e9);
  EXPECT_NEAR(h100.GemmEfficiency(DType::kBf16), 794.5 / 989.4, 0.001);  // REFERENCE.md section 2
  EXPECT_NEAR(h100.GemmEfficiency(DType::kFp8E4M3), 1453.4 / 1978.9, 0.001);
  GpuSpec a100 = LoadGpuSpec("A100-SXM4-80GB");
  EXPECT_EQ(a100.sm_count, 108);
  EXPECT_NEAR(a100.GemmEfficiency(DType::kBf16), 271.2 / 312, 0.001);
  GpuSpec h200 = LoadGpuSpec("H200-SXM-141GB");
  EXPECT_DOUBLE_EQ(h200.mem_bw, 4.8e12);
  EXPECT_DOUBLE_EQ(h200.PeakFlops(DType::kBf16), h100.PeakFlops(DType::kBf16));  // same compute
  GpuSpec v100 = LoadGpuSpec("V100-SXM2-32GB");
  EXPECT_EQ(v100.sm_count, 80);
  EXPECT_DOUBLE_EQ(v100.PeakFlops(DType::kFp16), 125e12);
}

TEST(GpuSpec, EveryShippedNumberCitesASource) {
  for (const char* name : {"A100-SXM4-80GB", "H100-SXM5-80GB", "H200-SXM-141GB", "V100-SXM2-32GB"}) {
    GpuSpec s = LoadGpuSpec(name);
    EXPECT_EQ(s.name, name);
    for (const char* field : {"sm_count", "memory_gib", "memory_bandwidth_gbps", "nvlink_gbps", "peak_tflops",
                              "efficiency.gemm", "efficiency.attention", "efficiency.memory", "kernel_overhead_us"})
      EXPECT_FALSE(s.sources[field].empty()) << name << " " << field;
  }
}

TEST(GpuSpec, MissingDtypeFallsBackToFp32Rate) {
  GpuSpec v100 = LoadGpuSpec("V100-SXM2-32GB");  // no bf16, no tf32 tensor cores
  EXPECT_DOUBLE_EQ(v100.PeakFlops(DType::kBf16), 15.7e12);
  GpuSpec a100 = LoadGpuSpec("A100-SXM4-80GB");  // fp8 falls to the tf32 tensor rate
  EXPECT_DOUBLE_EQ(a100.PeakFlops(DType::kFp8E4M3), 156e12);
}

TEST(GpuSpec, UnknownNameListsShippedNames) {
  try {
    LoadGpuSpec("H999-SXM");
    FAIL() << "expected UserError";
  } catch (const UserError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("H999-SXM"), std::string::npos) << msg;
    for (const char* name : {"A100-SXM4-80GB", "H100-SXM5-80GB", "H200-SXM-141GB", "V100-SXM2-32GB"})
      EXPECT_NE(msg.find(name), std::string::npos) << msg;
  }
}

TEST(GpuSpec, ParsesMinimalDocumentWithDefaults) {
  GpuSpec s = GpuSpecFromJson(MinimalSpec(), "x.json");
  EXPECT_EQ(s.memory_bytes, 16LL << 30);
  EXPECT_DOUBLE_EQ(s.mem_bw, 1e12);
  EXPECT_DOUBLE_EQ(s.vector_flops, 10e12);          // from the fp32 peak
  EXPECT_DOUBLE_EQ(s.AttentionEfficiency(), 0.40);  // half the default gemm ceiling 0.80
  EXPECT_DOUBLE_EQ(s.kernel_overhead_s, 2e-6);
}

TEST(GpuSpec, RejectsBadFieldsNamingThem) {
  Json j = MinimalSpec();
  j["sm_count"] = -3;
  EXPECT_NE(ErrorOf(j).find("x.json: sm_count"), std::string::npos);
  j = MinimalSpec();
  j["efficiency"] = {{"gemm", 1.5}};
  EXPECT_NE(ErrorOf(j).find("efficiency.gemm"), std::string::npos);
  j = MinimalSpec();
  j["peak_tflops"] = {{"bf17", 100}};
  EXPECT_NE(ErrorOf(j).find("peak_tflops.bf17"), std::string::npos);
  j = MinimalSpec();
  j["memory_bandwith_gbps"] = 5;  // typo
  EXPECT_NE(ErrorOf(j).find("unknown field"), std::string::npos);
  j = MinimalSpec();
  j["format"] = "proteus.gpu/2";
  EXPECT_NE(ErrorOf(j).find("newer"), std::string::npos);
  j = MinimalSpec();
  j["compute_capability"] = "nine";
  EXPECT_NE(ErrorOf(j).find("compute_capability"), std::string::npos);
  j = MinimalSpec();
  j.erase("peak_tflops");
  EXPECT_NE(ErrorOf(j).find("peak_tflops"), std::string::npos);
}

}  // namespace
}  // namespace proteus
