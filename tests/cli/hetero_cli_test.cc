// `simulate` on the mixed A100 + V100 cluster: the report names the GPU types, the old "priced as
// the first group's GPU" warning is gone, what is still shared across types is warned about, and
// a symmetry fallback is stated.
#include <gtest/gtest.h>

#include "common/json_file.h"
#include "tests/cli/cli_test_util.h"

namespace proteus {
namespace {

CliRun SimulateHetero(std::vector<std::string> extra) {
  std::vector<std::string> args = {"simulate", "--model", "gpt2-small", "--cluster", "hetero-a100-v100",
                                   "--mbs", "1", "--gbs", "8"};
  args.insert(args.end(), extra.begin(), extra.end());
  testing::internal::CaptureStderr();
  CliRun r = RunCli(args);
  r.err += testing::internal::GetCapturedStderr();
  return r;
}

TEST(HeteroCli, TableNamesEachGpuType) {
  CliRun r = SimulateHetero({"--tp", "4", "--pp", "2", "--dp", "4"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("32 (16 A100-SXM4-80GB + 16 V100-SXM2-32GB), 2 simulated"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(GPU types: A100-SXM4-80GB pp0/dp0/tp0; V100-SXM2-32GB pp1/dp0/tp0)"), std::string::npos)
      << r.out;
  EXPECT_EQ(r.err.find("compute costs use"), std::string::npos) << r.err;  // the old approximation
  EXPECT_EQ(r.err.find("mixes GPU types"), std::string::npos) << r.err;    // no database: nothing shared
}

TEST(HeteroCli, WarnsWhatADatabaseStillSharesAcrossTypes) {
  CliRun r = SimulateHetero({"--tp", "4", "--pp", "2", "--dp", "4", "--db", "a100-calibrated"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("the job mixes GPU types (A100-SXM4-80GB + V100-SXM2-32GB)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("collective curves"), std::string::npos) << r.err;
  // The A100 calibration prices the A100 stage only: the report names it, and both sources appear.
  EXPECT_NE(r.out.find("calibration: A100-SXM4-80GB"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("calibrated "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("roofline "), std::string::npos) << r.out;
}

TEST(HeteroCli, JsonListsTypesAndTheSymmetryNote) {
  CliRun r = SimulateHetero({"--tp", "4", "--pp", "1", "--dp", "8", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  Json doc = Json::parse(r.out);
  const Json& types = doc["inputs"]["gpu_types"];
  ASSERT_EQ(types.size(), 2u);
  EXPECT_EQ(types[0]["type"], "A100-SXM4-80GB");
  EXPECT_EQ(types[0]["gpus"], 16);
  EXPECT_DOUBLE_EQ(types[0]["peak_tflops"].get<double>(), 312);
  EXPECT_EQ(types[1]["type"], "V100-SXM2-32GB");
  EXPECT_DOUBLE_EQ(types[1]["peak_tflops"].get<double>(), 15.7);  // bf16 on V100: the fp32 rate
  EXPECT_EQ(doc["inputs"]["simulated_gpus"], 32);
  ASSERT_EQ(doc["notes"].size(), 1u);
  EXPECT_NE(doc["notes"][0].get<std::string>().find("every GPU simulated"), std::string::npos);
  EXPECT_EQ(doc["gpus"][0]["gpu_type"], "A100-SXM4-80GB");
  EXPECT_EQ(doc["gpus"][31]["gpu_type"], "V100-SXM2-32GB");
}

TEST(HeteroCli, SingleTypeJsonIsUnchanged) {
  CliRun r = RunCli({"simulate", "--model", "gpt2-small", "--cluster", "dgx-a100-1", "--tp", "2", "--mbs", "1",
                     "--gbs", "4", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  Json doc = Json::parse(r.out);
  EXPECT_FALSE(doc["inputs"].contains("gpu_types"));
  EXPECT_FALSE(doc.contains("notes"));
  EXPECT_FALSE(doc["gpus"][0].contains("gpu_type"));
  EXPECT_EQ(doc["inputs"]["gpu_type"], "A100-SXM4-80GB");
}

}  // namespace
}  // namespace proteus
