// End-to-end: Transformer Engine fp8 (`--fp8`, `"precision": {"fp8": ...}`) through proteus-sim
// simulate (simulator/compile/fp8_gemm.h has the model).
#include <filesystem>
#include <gtest/gtest.h>

#include "common/json_file.h"
#include "common/log.h"
#include "tests/cli/cli_test_util.h"
#include "tests/common/process_temp_dir.h"

namespace proteus {
namespace {

class Fp8Cli : public ::testing::Test {
 protected:
  void SetUp() override { SetLogLevel(LogLevel::kQuiet); }
};

std::vector<std::string> Gpt13b(const std::string& cluster, std::vector<std::string> extra) {
  std::vector<std::string> args = {"simulate", "--model", "gpt3-1.3b", "--cluster", cluster, "--tp", "2",
                                   "--dp", "4", "--gbs", "16", "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

TEST_F(Fp8Cli, GpusWithoutFp8TensorCoresAreRefusedNamingTheFlag) {
  CliRun r = RunCli(Gpt13b("dgx-a100-1", {"--fp8", "e4m3"}));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--fp8"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("A100-SXM4-80GB"), std::string::npos) << r.err;
  // The same run without fp8 is fine.
  EXPECT_EQ(RunCli(Gpt13b("dgx-a100-1", {})).code, 0);
}

TEST_F(Fp8Cli, AStrategyFileOnA100IsRefusedNamingItsField) {
  std::string path = ProcessTempPath("proteus_fp8_strategy.json");
  WriteJsonFile(path, ParseJson(R"({"format": "proteus.strategy/1", "mesh": {"dp": 8},
    "defaults": {"partition": {"b": "dp"}}, "precision": {"fp8": "hybrid"}})", "inline"));
  CliRun r = RunCli({"simulate", "--model", "gpt3-125m", "--cluster", "dgx-a100-1", "--strategy", path});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(path + ": precision.fp8"), std::string::npos) << r.err;
  // A flag beside a strategy file would be dropped: refused.
  CliRun both = RunCli({"simulate", "--model", "gpt3-125m", "--cluster", "dgx-h100-1", "--strategy", path, "--fp8", "e4m3"});
  EXPECT_EQ(both.code, 2);
  EXPECT_NE(both.err.find("--fp8"), std::string::npos) << both.err;
  std::filesystem::remove(path);
}

double WeightsAtPeak(const Json& report) { return report["gpus"][0]["memory_at_peak_bytes"]["weights"].get<double>(); }

// GPT-3 1.3B on one DGX-H100, tp 2 x dp 4, gbs 16 (4 micro-batches of 1). The numbers are reported in
// docs/strategies.md; here only what the mechanism fixes is checked.
TEST_F(Fp8Cli, H100GptWithAndWithoutFp8) {
  CliRun bf16 = RunCli(Gpt13b("dgx-h100-1", {}));
  CliRun e4m3 = RunCli(Gpt13b("dgx-h100-1", {"--fp8", "e4m3"}));
  CliRun hybrid = RunCli(Gpt13b("dgx-h100-1", {"--fp8", "hybrid", "--fp8-scaling", "current"}));
  CliRun whole = RunCli(Gpt13b("dgx-h100-1", {"--dtype", "fp8_e4m3"}));
  for (const CliRun* r : {&bf16, &e4m3, &hybrid, &whole}) ASSERT_EQ(r->code, 0) << r->err;
  Json b = ParseJson(bf16.out, "bf16"), e = ParseJson(e4m3.out, "e4m3"), h = ParseJson(hybrid.out, "hybrid"),
       w = ParseJson(whole.out, "whole");
  EXPECT_EQ(b["inputs"]["precision"], "bf16");
  EXPECT_EQ(e["inputs"]["precision"], "bf16 + fp8 GEMMs (TE e4m3, delayed scaling)");
  EXPECT_EQ(h["inputs"]["precision"], "bf16 + fp8 GEMMs (TE hybrid, current scaling)");
  EXPECT_EQ(w["inputs"]["precision"], "fp8_e4m3 (whole-model fp8, not Transformer Engine)");
  EXPECT_EQ(e["inputs"]["dtype"], "bf16");
  // Cached fp8 weights + transposes: 2 bytes per block GEMM weight element, 12 h^2 per layer,
  // 24 layers, split over tp 2: 2 * 12 * 2048^2 * 24 / 2 = 1,207,959,552 bytes more weights.
  EXPECT_DOUBLE_EQ(WeightsAtPeak(e) - WeightsAtPeak(b), 2.0 * 12 * 2048 * 2048 * 24 / 2);
  EXPECT_DOUBLE_EQ(WeightsAtPeak(h), WeightsAtPeak(e));
  // Different GEMM dtypes and kernels give different times; none is zero.
  for (const Json* r : {&b, &e, &h, &w}) EXPECT_GT((*r)["iteration_time_s"].get<double>(), 0);
  EXPECT_NE(e["iteration_time_s"].get<double>(), b["iteration_time_s"].get<double>());
  EXPECT_NE(h["iteration_time_s"].get<double>(), e["iteration_time_s"].get<double>());
}

}  // namespace
}  // namespace proteus
