// `proteus-sim simulate --offload-optimizer` (DeepSpeed ZeRO-Offload) end to end: refusals exit 2
// naming the flag or field, the report shows the host memory, symmetry agrees with the full
// simulation, the run-file key reaches the strategy.
#include <filesystem>

#include <gtest/gtest.h>

#include "common/json_file.h"
#include "common/log.h"
#include "simulator/pipeline/run_spec.h"
#include "simulator/pipeline/simulation.h"
#include "tests/cli/cli_test_util.h"
#include "tests/common/process_temp_dir.h"

namespace proteus {
namespace {

using BadOffload = BadInputCase;

class OffloadBadInput : public ::testing::TestWithParam<BadOffload> {};

TEST_P(OffloadBadInput, ExitsTwoNamingTheFlag) {
  ExpectRefused({"simulate", "--model", "gpt2-small", "--cluster", "dgx-a100-1", "--dp", "8", "--offload-optimizer"}, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Cases, OffloadBadInput,
                         ::testing::Values(BadOffload{{}, "--offload-optimizer"},
                                           BadOffload{{"--zero", "3"}, "--offload-optimizer"},
                                           BadOffload{{"--fsdp"}, "--offload-optimizer"}));

TEST(OffloadCli, StrategyFileKeyNeedsAShardedOptimizer) {
  SetLogLevel(LogLevel::kQuiet);
  std::string path = ProcessTempPath("proteus_offload_strategy.json");
  WriteFileAtomic(path, R"({"format": "proteus.strategy/1", "mesh": {"dp": 8}, "offload_optimizer": true,
      "defaults": {"partition": {"b": "dp"}}})");
  CliRun r = RunCli({"simulate", "--model", "gpt2-small", "--cluster", "dgx-a100-1", "--strategy", path});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(path + ": offload_optimizer"), std::string::npos) << r.err;
  // --offload-optimizer beside a file sets its key: the same refusal.
  WriteFileAtomic(path, R"({"format": "proteus.strategy/1", "mesh": {"dp": 8}, "defaults": {"partition": {"b": "dp"}}})");
  r = RunCli({"simulate", "--model", "gpt2-small", "--cluster", "dgx-a100-1", "--strategy", path, "--offload-optimizer"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(path + ": offload_optimizer"), std::string::npos) << r.err;
  std::filesystem::remove(path);
}

TEST(OffloadCli, ReportShowsHostMemoryAndTheStrategyLine) {
  SetLogLevel(LogLevel::kQuiet);
  std::vector<std::string> args = {"simulate", "--model", "gpt2-small", "--cluster", "dgx-a100-1", "--dp", "8",
                                   "--gbs", "16", "--zero", "2", "--main-grads", "bf16"};
  CliRun base = RunCli(args);
  args.push_back("--offload-optimizer");
  CliRun table = RunCli(args);
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_EQ(base.out.find("Optimizer offload per GPU"), std::string::npos);
  EXPECT_NE(table.out.find("Optimizer offload per GPU"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("optimizer offload (cpu)"), std::string::npos) << table.out;
  args.push_back("--json");
  CliRun j = RunCli(args);
  ASSERT_EQ(j.code, 0) << j.err;
  Json report = ParseJson(j.out, "stdout");
  const Json& gpu = report["gpus"][0];
  // gpt2-small, dp 8: host optimizer = P x 12 / 8, gradients P x 4 / 8; the GPU holds no optimizer state.
  int64_t host = gpu["host_optimizer_bytes"].get<int64_t>();
  EXPECT_GT(host, 0);
  EXPECT_NEAR(static_cast<double>(gpu["host_gradient_bytes"].get<int64_t>()), host / 3.0, 8.0);
  EXPECT_EQ(gpu["memory_at_peak_bytes"]["optimizer"].get<int64_t>(), 0);
}

// One DGX A100 (GPU pairs share a PCIe switch on the way to their CPU), two of them (NIC traffic
// shares GPU0's first PCIe hop) and a PCIe box with one NIC per 4 GPUs: the symmetric simulation
// adds the copies of unsimulated GPUs behind a shared link, so it must match the full one.
// (tp 2 x dp 8 on dgx-a100-2 is left out: there the two already differ without offload, 12.73 vs
// 12.57 ms for gpt2-small, a gap in the collectives' mirror flows, not in the host copies.)
TEST(OffloadCli, SymmetryAndFullSimulationAgree) {
  SetLogLevel(LogLevel::kQuiet);
  struct Case { const char* cluster; int tp, pp, dp, zero; };
  for (const Case& c : {Case{"dgx-a100-1", 1, 1, 8, 2}, Case{"dgx-a100-2", 1, 1, 16, 2}, Case{"dgx-a100-2", 1, 2, 8, 2},
                        Case{"pcie-4gpu-4-eth10", 1, 1, 16, 2}}) {
    SimulationRequest sym;
    sym.spec.model = "gpt2-small";
    sym.spec.cluster = c.cluster;
    sym.spec.flags.tp = c.tp;
    sym.spec.flags.pp = c.pp;
    sym.spec.flags.dp = c.dp;
    sym.spec.flags.gbs = 2 * c.dp;
    sym.spec.flags.zero = c.zero;
    sym.spec.flags.offload_optimizer = true;
    SimulationRequest all = sym;
    all.spec.symmetry = false;
    SimulationOutput a = RunSimulation(sym), b = RunSimulation(all);
    EXPECT_LT(a.graph.gpus.size(), b.graph.gpus.size());
    EXPECT_NEAR(a.report.iteration_time_s, b.report.iteration_time_s, 1e-9 * b.report.iteration_time_s) << c.cluster;
    EXPECT_EQ(a.report.PeakMemory(), b.report.PeakMemory()) << c.cluster;
  }
}

TEST(OffloadCli, ExplainSaysWhatMovesWhere) {
  SetLogLevel(LogLevel::kQuiet);
  CliRun r = RunCli({"simulate", "--model", "gpt2-small", "--cluster", "dgx-a100-1", "--dp", "8", "--zero", "1",
                     "--offload-optimizer", "--explain"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("optimizer offload (DeepSpeed ZeRO-Offload"), std::string::npos) << r.out;
}

// The copies load the links in the engine: on one DGX A100, GPUs 0 and 1 copy their updated bf16
// shard back at the same moment over the one 24 GB/s link from CPU0 to their shared PCIe switch, so
// each copy takes 10 us + B / (24 GB/s / 2); alone it would take 10 us + B / 24 GB/s.
TEST(OffloadCli, CopiesShareTheirPcieLinkInTheEngine) {
  SetLogLevel(LogLevel::kQuiet);
  SimulationRequest r;
  r.spec.model = "gpt2-small";
  r.spec.cluster = "dgx-a100-1";
  r.spec.flags.dp = 8;
  r.spec.flags.gbs = 8;
  r.spec.flags.zero = 2;
  r.spec.flags.offload_optimizer = true;
  r.spec.symmetry = false;
  SimulationOutput out = RunSimulation(r);
  int seen = 0;
  for (size_t t = 0; t < out.graph.tasks.size(); ++t) {
    const Task& task = out.graph.tasks[t];
    if (task.gpu > 1 || out.graph.NameOf(task) != "param shard to device") continue;
    double bytes = static_cast<double>(out.graph.comms[task.comm].bytes);
    double took = out.result.task_end_s[t] - out.result.task_start_s[t];
    EXPECT_NEAR(took, 10e-6 + bytes / 12e9, 1e-9) << "GPU " << task.gpu << ", " << bytes << " bytes";
    ++seen;
  }
  EXPECT_EQ(seen, 2);
}

TEST(OffloadCli, RunFileKeyIsAFlag) {
  Json doc = ParseJson(R"({"model": "gpt2-small", "cluster": "dgx-a100-1",
      "strategy": {"dp": 8, "zero": 1, "offload_optimizer": true}})", "run.json");
  EXPECT_TRUE(RunSpecFromJson(JsonView(doc, "run.json")).flags.offload_optimizer);
}

}  // namespace
}  // namespace proteus
