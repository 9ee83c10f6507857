// `proteus-sim calibrate`: runs in, a cost-database layer with a calibration out; `simulate --db` and
// `validate --db` then use it.
#include <filesystem>
#include <gtest/gtest.h>

#include "common/costdb.h"
#include "common/json_file.h"
#include "common/log.h"
#include "tests/cli/cli_test_util.h"
#include "tests/common/temp_dir.h"

namespace proteus {
namespace {

namespace fs = std::filesystem;

// Four small GPT runs of different shapes on one A100 node; the times are made up but plausible.
const char* kRuns = R"({"format": "proteus.run/1", "runs": [
  {"name": "a", "model": {"zoo": "megatron-1.7b", "overrides": {"num_layers": 2, "hidden": 512, "num_heads": 8, "seq_len": 512}},
   "cluster": "dgx-a100-1", "strategy": {"tp": 1, "gbs": 8}, "measured": {"iteration_time_s": 0.012}},
  {"name": "b", "model": {"zoo": "megatron-1.7b", "overrides": {"num_layers": 2, "hidden": 2048, "num_heads": 16, "seq_len": 1024}},
   "cluster": "dgx-a100-1", "strategy": {"tp": 2, "gbs": 8}, "measured": {"iteration_time_s": 0.05}},
  {"name": "c", "model": {"zoo": "megatron-1.7b", "overrides": {"num_layers": 4, "hidden": 4096, "num_heads": 32, "seq_len": 1024}},
   "cluster": "dgx-a100-1", "strategy": {"tp": 8, "gbs": 4}, "measured": {"iteration_time_s": 0.09}},
  {"name": "d", "model": {"zoo": "megatron-1.7b", "overrides": {"num_layers": 2, "hidden": 256, "num_heads": 4, "seq_len": 128}},
   "cluster": "dgx-a100-1", "strategy": {"tp": 1, "gbs": 32}, "measured": {"iteration_time_s": 0.004}}]})";

class CalibrateCliTest : public ::testing::Test {
 protected:
  void SetUp() override { SetLogLevel(LogLevel::kQuiet); }
  TempDir dir_{"calibrate_cli_test"};
  std::string Out(const std::string& name) const { return (dir_.path() / name).string(); }
  CliRun Calibrate(const std::string& runs, const std::string& out, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"calibrate", runs, "--gpu", "A100-SXM4-80GB", "-o", out,
                                     "--params", "gemm_ceiling,kernel_overhead_us", "--date", "2026-12-01"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunCli(args);
  }
};

TEST_F(CalibrateCliTest, MalformedRunFileExits2AndWritesNothing) {
  std::string runs = dir_.Write("broken.json", R"({"format": "proteus.run/1", "runs": [{"name": )");
  std::string out = Out("cal.json");
  CliRun r = Calibrate(runs, out);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("broken.json"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(CalibrateCliTest, BadFieldInRunFileNamesIt) {
  std::string runs = dir_.Write("badtp.json", R"({"format": "proteus.run/1", "runs": [
    {"name": "x", "model": "gpt2-small", "cluster": "dgx-a100-1", "strategy": {"tp": "eight"},
     "measured": {"iteration_time_s": 1}}]})");
  std::string out = Out("cal.json");
  CliRun r = Calibrate(runs, out);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("badtp.json"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("tp"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(CalibrateCliTest, UnknownGpuExits2AndWritesNothing) {
  std::string runs = dir_.Write("runs.json", kRuns);
  std::string out = Out("cal.json");
  CliRun r = RunCli({"calibrate", runs, "--gpu", "Z9000", "-o", out, "--params", "gemm_ceiling"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("Z9000"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(CalibrateCliTest, UnknownParamsExits2AndWritesNothing) {
  std::string runs = dir_.Write("runs.json", kRuns);
  std::string out = Out("cal.json");
  CliRun r = RunCli({"calibrate", runs, "--gpu", "A100-SXM4-80GB", "-o", out, "--params", "gemm_ceiling,warp_speed"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("--params"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("warp_speed"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(CalibrateCliTest, WritesCalibrationThatSimulateAndValidateUse) {
  std::string runs = dir_.Write("runs.json", kRuns);
  std::string out = Out("cal.json");
  CliRun r = Calibrate(runs, out, {"--threads", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(fs::exists(out));

  Json doc = ReadJsonFile(out);
  EXPECT_EQ(doc.value("format", ""), "proteus.costdb/1");
  ASSERT_TRUE(doc.contains("calibration")) << doc.dump(1);
  ASSERT_EQ(doc["calibration"].size(), 1u);
  const Json& cal = doc["calibration"][0];
  EXPECT_EQ(cal.value("gpu", ""), "A100-SXM4-80GB");
  EXPECT_TRUE(cal["params"].contains("gemm_ceiling"));
  EXPECT_TRUE(cal["params"].contains("kernel_overhead_us"));
  const Json& prov = cal["provenance"];
  for (const char* field : {"runs", "cv_mean_abs_error", "command", "date"})
    EXPECT_TRUE(prov.contains(field)) << field << " missing in " << prov.dump();
  EXPECT_EQ(prov.value("date", ""), "2026-12-01");
  EXPECT_NE(prov.value("command", "").find("calibrate"), std::string::npos);
  CostDb db = CostDb::Load(out);
  ASSERT_NE(db.FindCalibration("A100-SXM4-80GB"), nullptr);

  std::vector<std::string> sim = {"simulate", "--model", "gpt2-small", "--cluster", "dgx-a100-1", "--tp", "2",
                                  "--gbs", "8"};
  CliRun plain = RunCli(sim);
  ASSERT_EQ(plain.code, 0) << plain.err;
  EXPECT_NE(plain.out.find("UNCALIBRATED"), std::string::npos) << plain.out;
  EXPECT_EQ(plain.out.find("calibration:"), std::string::npos) << plain.out;
  sim.insert(sim.end(), {"--db", out});
  CliRun calibrated = RunCli(sim);
  ASSERT_EQ(calibrated.code, 0) << calibrated.err;
  EXPECT_NE(calibrated.out.find("calibration:"), std::string::npos) << calibrated.out;
  EXPECT_EQ(calibrated.out.find("UNCALIBRATED"), std::string::npos) << calibrated.out;

  // validate reads the proteus.run/1 file itself and honours --db.
  CliRun v0 = RunCli({"validate", runs, "--json"});
  ASSERT_EQ(v0.code, 0) << v0.err;
  CliRun v1 = RunCli({"validate", runs, "--db", out, "--json"});
  ASSERT_EQ(v1.code, 0) << v1.err;
  Json j0 = ParseJson(v0.out, "stdout"), j1 = ParseJson(v1.out, "stdout");
  ASSERT_EQ(j0["comparisons"].size(), 4u);
  ASSERT_EQ(j1["comparisons"].size(), 4u);
  bool differs = false;
  for (size_t i = 0; i < 4; ++i)
    differs |= j0["comparisons"][i]["predicted"].get<double>() != j1["comparisons"][i]["predicted"].get<double>();
  EXPECT_TRUE(differs);
  EXPECT_LT(j1["mean_abs_error"].get<double>(), j0["mean_abs_error"].get<double>());
}

}  // namespace
}  // namespace proteus

namespace proteus {
namespace {

// A measured layer given with --db prices the runs during the fit and is copied into the output,
// so `simulate --db <output>` predicts what the fit predicted.
TEST(CalibrateDbCli, MeasuredLayerIsUsedInTheFitAndCopiedIntoTheOutput) {
  SetLogLevel(LogLevel::kQuiet);
  TempDir dir("calibrate_db_cli_test");
  std::string runs = dir.Write("runs.json", kRuns);
  CostDb measured;
  measured.device.name = "NVIDIA A100-SXM4-80GB";
  CollectiveCurve curve;
  curve.key = {"all_reduce", 8, 1, 8, "default", "default", DType::kFp16};
  curve.points = {{1 << 20, 40e-6, 0, 0}, {1 << 26, 700e-6, 0, 0}};
  measured.PutCurve(curve);
  std::string db = (dir.path() / "nccl.json").string();
  measured.Save(db);
  std::string out = (dir.path() / "cal.json").string();
  CliRun r = RunCli({"calibrate", runs, "--db", db, "--gpu", "A100-SXM4-80GB", "--params", "gemm_ceiling", "-o", out});
  ASSERT_EQ(r.code, 0) << r.err;
  CostDb layer = CostDb::Load(out);
  ASSERT_EQ(layer.curves().size(), 1u);
  EXPECT_EQ(layer.curves()[0].key, curve.key);
  ASSERT_EQ(layer.calibrations.size(), 1u);
  EXPECT_NE(layer.calibrations[0].provenance.at("command").get<std::string>().find("--db " + db), std::string::npos);
}

TEST(CalibrateDbCli, ADatabaseOfAnotherGpuIsRefused) {
  SetLogLevel(LogLevel::kQuiet);
  TempDir dir("calibrate_db_cli_test2");
  std::string runs = dir.Write("runs.json", kRuns);
  CostDb measured;
  measured.device.name = "NVIDIA H100 80GB HBM3";
  std::string db = (dir.path() / "h100.json").string();
  measured.Save(db);
  std::string out = (dir.path() / "cal.json").string();
  CliRun r = RunCli({"calibrate", runs, "--db", db, "--gpu", "A100-SXM4-80GB", "--params", "gemm_ceiling", "-o", out});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("h100.json"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace proteus
