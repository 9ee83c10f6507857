// `simulate --compare-trace`: the measured iteration of a PyTorch profiler trace beside the
// simulated one, in the table and in the JSON report; a bad trace fails before any simulation.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/json_file.h"
#include "common/log.h"
#include "tests/cli/cli_test_util.h"
#include "tests/common/temp_dir.h"

namespace proteus {
namespace {

// Two ProfilerSteps of 1 ms; in each, one GEMM kernel of 600 us launched by aten::mm and one NCCL
// all-reduce of 300 us of which 100 us overlap the GEMM: compute 600 us, exposed comm 200 us,
// idle 200 us per step.
Json TwoStepTrace() {
  Json events = Json::array();
  int corr = 1;
  for (int step = 0; step < 2; ++step) {
    double t0 = 1000.0 * step;
    events.push_back({{"ph", "X"}, {"cat", "cpu_op"}, {"name", "ProfilerStep#" + std::to_string(step + 1)},
                      {"pid", 1}, {"tid", 1}, {"ts", t0}, {"dur", 1000.0}, {"args", Json::object()}});
    events.push_back({{"ph", "X"}, {"cat", "cpu_op"}, {"name", "aten::mm"}, {"pid", 1}, {"tid", 1}, {"ts", t0 + 1},
                      {"dur", 5.0},
                      {"args", {{"Input Dims", {{2048, 4096}, {4096, 4096}}}, {"Input type", {"c10::BFloat16", "c10::BFloat16"}}}}});
    for (auto [name, ts, dur] : {std::tuple{"sm90_xmma_gemm_bf16bf16", 10.0, 600.0},
                                 std::tuple{"ncclDevKernel_AllReduce_Sum_bf16_RING_LL", 510.0, 300.0}}) {
      events.push_back({{"ph", "X"}, {"cat", "cuda_runtime"}, {"name", "cudaLaunchKernel"}, {"pid", 1}, {"tid", 1},
                        {"ts", t0 + 2}, {"dur", 1.0}, {"args", {{"correlation", corr}}}});
      events.push_back({{"ph", "X"}, {"cat", "kernel"}, {"name", name}, {"pid", 0}, {"tid", 7}, {"ts", t0 + ts},
                        {"dur", dur}, {"args", {{"correlation", corr}, {"device", 0}, {"stream", 7}}}});
      ++corr;
    }
  }
  return {{"traceEvents", events},
          {"deviceProperties", {{{"id", 0}, {"name", "NVIDIA H100 80GB HBM3"}, {"numSms", 132}}}}};
}

class CompareTraceTest : public ::testing::Test {
 protected:
  void SetUp() override { SetLogLevel(LogLevel::kQuiet); }
  std::string Path(const std::string& name) const { return (dir_.path() / name).string(); }
  std::vector<std::string> Simulate(const std::string& trace) const {
    return {"simulate", "--model", "uniform-gpt", "--cluster", "dgx-h100-1", "--tp", "1", "--dp", "1",
            "--compare-trace", trace};
  }
  TempDir dir_{"compare_trace_test"};
};

TEST_F(CompareTraceTest, TablePutsTheTraceBesideTheSimulation) {
  WriteJsonFile(Path("t.json"), TwoStepTrace());
  CliRun run = RunCli(Simulate(Path("t.json")));
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_NE(run.out.find("Measured trace"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("exposed_communication"), std::string::npos);
}

TEST_F(CompareTraceTest, JsonCarriesTheMeasuredBreakdown) {
  WriteJsonFile(Path("t.json"), TwoStepTrace());
  std::vector<std::string> args = Simulate(Path("t.json"));
  args.push_back("--json");
  CliRun run = RunCli(args);
  ASSERT_EQ(run.code, 0) << run.err;
  Json report = Json::parse(run.out);
  const Json& c = report.at("trace_comparison");
  // Hand-computed: the second step alone is used (the first of several is warm-up).
  EXPECT_NEAR(c.at("iteration").at("measured_s").get<double>(), 1000e-6, 1e-9);
  EXPECT_NEAR(c.at("compute").at("measured_s").get<double>(), 600e-6, 1e-9);
  EXPECT_NEAR(c.at("exposed_communication").at("measured_s").get<double>(), 200e-6, 1e-9);
  EXPECT_NEAR(c.at("idle").at("measured_s").get<double>(), 200e-6, 1e-9);
  EXPECT_NEAR(c.at("iteration").at("simulated_s").get<double>(), report.at("iteration_time_s").get<double>(), 0);
}

TEST_F(CompareTraceTest, ABadTraceFailsFirstNamingTheFile) {
  WriteFileAtomic(Path("bad.json"), "{\"traceEvents\": [");
  std::vector<std::string> args = Simulate(Path("bad.json"));
  args.insert(args.end(), {"--report", Path("r.json")});
  CliRun run = RunCli(args);
  EXPECT_EQ(run.code, 2);
  EXPECT_NE(run.err.find("bad.json"), std::string::npos) << run.err;
  EXPECT_FALSE(std::filesystem::exists(Path("r.json")));
}

// `calibrate --trace` refuses a trace of another GPU than --gpu: its times would price the wrong GPU.
TEST_F(CompareTraceTest, CalibrateRefusesATraceOfAnotherGpu) {
  WriteJsonFile(Path("t.json"), TwoStepTrace());
  CliRun run = RunCli({"calibrate", "--trace", Path("t.json"), "--gpu", "A100-SXM4-80GB", "-o", Path("a100.json")});
  EXPECT_EQ(run.code, 2);
  EXPECT_NE(run.err.find("t.json"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("H100"), std::string::npos) << run.err;
  EXPECT_FALSE(std::filesystem::exists(Path("a100.json")));
}

// A trace of the right GPU becomes a layer of measured entries with their trace source.
TEST_F(CompareTraceTest, CalibrateWritesTraceEntriesAsAMeasuredLayer) {
  WriteJsonFile(Path("t.json"), TwoStepTrace());
  CliRun run = RunCli({"calibrate", "--trace", Path("t.json"), "--gpu", "H100-SXM5-80GB", "-o", Path("h100.json")});
  ASSERT_EQ(run.code, 0) << run.err;
  Json db = ReadJsonFile(Path("h100.json"));
  ASSERT_EQ(db.at("ops").size(), 1u);
  EXPECT_EQ(db["ops"][0].at("source").get<std::string>(), "trace:t.json");
  EXPECT_NEAR(db["ops"][0].at("time").at("median_us").get<double>(), 600, 1e-9);
}

}  // namespace
}  // namespace proteus
