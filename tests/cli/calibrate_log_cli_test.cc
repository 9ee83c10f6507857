// `proteus-sim calibrate` straight from Megatron-LM training logs: the logs name no cluster, so
// --cluster gives it; each log becomes a run named after its file.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <map>

#include "common/costdb.h"
#include "common/json_file.h"
#include "common/log.h"
#include "tests/cli/cli_test_util.h"
#include "tests/common/temp_dir.h"

namespace proteus {
namespace {

// A Megatron-LM log of a small GPT on one DGX-A100 node: the argument dump, then timed lines.
std::string MegatronLog(int layers, int hidden, int heads, int tp, double ms) {
  std::map<std::string, std::string> args = {
      {"num_layers", std::to_string(layers)}, {"hidden_size", std::to_string(hidden)},
      {"ffn_hidden_size", std::to_string(4 * hidden)}, {"num_attention_heads", std::to_string(heads)},
      {"seq_length", "1024"}, {"max_position_embeddings", "1024"}, {"padded_vocab_size", "51200"},
      {"tensor_model_parallel_size", std::to_string(tp)}, {"pipeline_model_parallel_size", "1"},
      {"world_size", "8"}, {"data_parallel_size", std::to_string(8 / tp)}, {"micro_batch_size", "1"},
      {"global_batch_size", std::to_string(2 * 8 / tp)}, {"fp16", "True"}, {"bf16", "False"},
      {"use_flash_attn", "False"}, {"recompute_granularity", "None"}, {"sequence_parallel", "False"}};
  std::string log = "------------------------ arguments ------------------------\n";
  for (const auto& [k, v] : args) log += "  " + k + " " + std::string(48 - k.size(), '.') + " " + v + "\n";
  log += "-------------------- end of arguments ---------------------\n";
  for (int i = 1; i <= 6; ++i) {
    char line[400];
    std::snprintf(line, sizeof line,
                  " iteration %8d/    1000 | consumed samples: %8d | elapsed time per iteration (ms): %.1f | "
                  "learning rate: 1.0E-04 | lm loss: 7.0E+00 | loss scale: 65536.0 | number of skipped iterations:   0 "
                  "| number of nan iterations:   0 |\n",
                  i, 16 * i, i == 1 ? 3 * ms : ms + 0.1 * i);
    log += line;
  }
  return log;
}

class CalibrateLogCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetLogLevel(LogLevel::kQuiet);
    WriteFileAtomic(Path("small.log"), MegatronLog(2, 1024, 16, 1, 40));
    WriteFileAtomic(Path("wide.log"), MegatronLog(2, 4096, 32, 4, 120));
    WriteFileAtomic(Path("deep.log"), MegatronLog(8, 2048, 16, 2, 150));
  }
  std::string Path(const std::string& name) const { return (dir_.path() / name).string(); }
  TempDir dir_{"calibrate_log_cli_test"};
};

TEST_F(CalibrateLogCliTest, FitsFromLogsOnTheGivenCluster) {
  std::string out = Path("a100.json");
  CliRun run = RunCli({"calibrate", Path("small.log"), Path("wide.log"), Path("deep.log"), "--cluster", "dgx-a100-1",
                       "--gpu", "A100-SXM4-80GB", "--params", "gemm_ceiling,kernel_overhead_us", "-o", out});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_NE(run.out.find("small"), std::string::npos);  // each log's run is in the table
  EXPECT_NE(run.out.find("cross-validated"), std::string::npos);
  CostDb db = CostDb::Load(out);
  ASSERT_EQ(db.calibrations.size(), 1u);
  const Json& runs = db.calibrations[0].provenance.at("runs");
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].at("name").get<std::string>(), "small");
}

TEST_F(CalibrateLogCliTest, BareLogsWithoutAClusterAreRefusedAndNothingIsWritten) {
  std::string out = Path("a100.json");
  CliRun run = RunCli({"calibrate", Path("small.log"), "--gpu", "A100-SXM4-80GB", "-o", out});
  EXPECT_EQ(run.code, 2);
  EXPECT_NE(run.err.find("small.log"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("cluster"), std::string::npos) << run.err;
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST_F(CalibrateLogCliTest, OneLogCannotIdentifyTwoParameters) {
  std::string out = Path("a100.json");
  CliRun run = RunCli({"calibrate", Path("small.log"), "--cluster", "dgx-a100-1", "--gpu", "A100-SXM4-80GB",
                       "--params", "gemm_ceiling,kernel_overhead_us", "-o", out});
  EXPECT_EQ(run.code, 2);
  EXPECT_NE(run.err.find("cannot identify"), std::string::npos) << run.err;
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace proteus

namespace proteus {
namespace {

// A database of another GPU is used as given but never silently: a warning names both GPUs, and a
// calibration of another GPU type leaves the run uncalibrated (and the report says so).
TEST(DatabaseGpuMismatch, WarnsAndAppliesNoForeignCalibration) {
  SetLogLevel(LogLevel::kInfo);
  testing::internal::CaptureStderr();
  CliRun run = RunCli({"simulate", "--model", "uniform-gpt", "--cluster", "dgx-h100-1", "--tp", "1", "--dp", "1",
                       "--db", "a100-calibrated"});
  std::string warnings = testing::internal::GetCapturedStderr();
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_NE(warnings.find("measured on A100-SXM4-80GB"), std::string::npos) << warnings;
  EXPECT_NE(warnings.find("H100-SXM5-80GB"), std::string::npos) << warnings;
  EXPECT_NE(run.out.find("UNCALIBRATED"), std::string::npos);
}

}  // namespace
}  // namespace proteus
