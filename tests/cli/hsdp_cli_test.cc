// `proteus-sim simulate --fsdp --hsdp N` (HSDP) end to end: refusals exit 2 naming the flag or
// field; on two DGX A100 nodes (dp 16, shard groups of 8 = one node each) the gathers and
// reduce-scatters stay on the node's NVLink while the all-reduce across the groups crosses the
// NICs; symmetry agrees with the full simulation; the run-file key reaches the strategy.
#include <filesystem>

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/json_file.h"
#include "common/log.h"
#include "simulator/pipeline/run_spec.h"
#include "simulator/pipeline/simulation.h"
#include "tests/cli/cli_test_util.h"
#include "tests/common/process_temp_dir.h"
#include "topo/cluster.h"

namespace proteus {
namespace {

using BadHsdp = BadInputCase;

class HsdpBadInput : public ::testing::TestWithParam<BadHsdp> {};

TEST_P(HsdpBadInput, ExitsTwoNamingTheFlag) {
  ExpectRefused({"simulate", "--model", "gpt2-small", "--cluster", "dgx-a100-2", "--dp", "16"}, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Cases, HsdpBadInput,
                         ::testing::Values(BadHsdp{{"--hsdp", "8"}, "--hsdp"},                 // without --fsdp
                                           BadHsdp{{"--zero", "3", "--hsdp", "8"}, "--hsdp"},  // DeepSpeed units
                                           BadHsdp{{"--fsdp", "--hsdp", "16"}, "--hsdp"},      // = dp: plain FSDP
                                           BadHsdp{{"--fsdp", "--hsdp", "1"}, "--hsdp"},       // DDP
                                           BadHsdp{{"--fsdp", "--hsdp", "3"}, "--hsdp"},       // 3 does not divide 16
                                           BadHsdp{{"--fsdp", "--hsdp", "0"}, "--hsdp"}));

TEST(HsdpCli, FlagBesideAStrategyFileIsRefused) {
  SetLogLevel(LogLevel::kQuiet);
  std::string path = ProcessTempPath("proteus_hsdp_strategy.json");
  WriteFileAtomic(path, R"({"format": "proteus.strategy/1", "mesh": {"dp": 16}, "defaults": {"partition": {"b": "dp"}}})");
  CliRun r = RunCli({"simulate", "--model", "gpt2-small", "--cluster", "dgx-a100-2", "--strategy", path, "--hsdp", "8"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--hsdp"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("weight_gather"), std::string::npos) << r.err;
  // The file's own key: shard_group without sharded weights names the field.
  WriteFileAtomic(path, R"({"format": "proteus.strategy/1", "mesh": {"dp": 16}, "weight_gather": {"shard_group": 8},
      "defaults": {"partition": {"b": "dp"}}})");
  r = RunCli({"simulate", "--model", "gpt2-small", "--cluster", "dgx-a100-2", "--strategy", path});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(path + ": weight_gather.shard_group 8"), std::string::npos) << r.err;
  std::filesystem::remove(path);
}

SimulationRequest HsdpRequest(int hsdp) {
  SimulationRequest r;
  r.spec.model = "gpt2-small";
  r.spec.cluster = "dgx-a100-2";
  r.spec.flags.dp = 16;
  r.spec.flags.mbs = 1;
  r.spec.flags.gbs = 32;  // two micro-batches
  r.spec.flags.fsdp = true;
  r.spec.flags.hsdp = hsdp;
  return r;
}

// Whether any flow of the comm crosses a network (NIC / fabric) link.
bool CrossesNet(const Comm& c, const Cluster& cluster) {
  for (const FlowSpec& f : c.plan->flows)
    for (LinkId l : f.links)
      if (cluster.graph.LinkAt(l).kind == LinkKind::kNet) return true;
  return false;
}

TEST(HsdpCli, GathersStayInTheNodeAndTheReplicaAllReduceCrossesTheNics) {
  SetLogLevel(LogLevel::kQuiet);
  Cluster cluster = LoadCluster("data/clusters/dgx-a100-2.json");
  for (bool symmetry : {true, false}) {
    SimulationRequest r = HsdpRequest(8);
    r.spec.symmetry = symmetry;
    SimulationOutput out = RunSimulation(r);
    const ExecGraph& g = out.graph;
    int in_group = 0, across = 0;
    for (const Comm& c : g.comms) {
      if (c.members.empty()) continue;
      std::string name(g.NameOf(g.tasks[c.members.front()]));
      if (name.find("dp shard group") != std::string::npos) {
        ASSERT_FALSE(c.plan->flows.empty()) << name;
        EXPECT_FALSE(CrossesNet(c, cluster)) << name;  // dp 0..7 = node 0
        ++in_group;
      } else if (name.find("dp replicas") != std::string::npos) {
        EXPECT_TRUE(CrossesNet(c, cluster)) << name;  // dp i and i + 8: one GPU per node
        ++across;
      }
    }
    // Per micro-batch and unit (embed, 12 layers, final_norm, lm_head = 15): two gathers and a
    // scatter per group (2 with symmetry off), one all-reduce per replicate group (8 with it off).
    int groups = symmetry ? 1 : 2, replica_groups = symmetry ? 1 : 8;
    EXPECT_EQ(in_group, 2 * 15 * 3 * groups) << symmetry;
    EXPECT_EQ(across, 2 * 15 * replica_groups) << symmetry;
  }
  // Plain FSDP over 16 ranks gathers across the two nodes.
  SimulationOutput plain = RunSimulation(HsdpRequest(0));
  bool crosses = false;
  for (const Comm& c : plain.graph.comms)
    if (!c.members.empty() &&
        std::string(plain.graph.NameOf(plain.graph.tasks[c.members.front()])).find("weights all_gather dp") !=
            std::string::npos)
      crosses |= CrossesNet(c, cluster);
  EXPECT_TRUE(crosses);
}

TEST(HsdpCli, SymmetryAndFullSimulationAgreeOnTwoNodes) {
  SetLogLevel(LogLevel::kQuiet);
  SimulationRequest sym = HsdpRequest(8), all = HsdpRequest(8);
  all.spec.symmetry = false;
  SimulationOutput a = RunSimulation(sym), b = RunSimulation(all);
  EXPECT_EQ(a.graph.gpus.size(), 1u);
  EXPECT_EQ(b.graph.gpus.size(), 16u);
  EXPECT_NEAR(a.report.iteration_time_s, b.report.iteration_time_s, 1e-9 * b.report.iteration_time_s);
  EXPECT_EQ(a.report.PeakMemory(), b.report.PeakMemory());
  // And HSDP is a different job from plain FSDP (its own timing, 2x the static state per GPU).
  SimulationOutput plain = RunSimulation(HsdpRequest(0));
  EXPECT_NE(a.report.iteration_time_s, plain.report.iteration_time_s);
  auto state = [](const SimulationOutput& o) {
    const auto& m = o.graph.gpus[0].static_memory;
    return m[static_cast<int>(MemCategory::kWeights)] + m[static_cast<int>(MemCategory::kGradients)] +
           m[static_cast<int>(MemCategory::kOptimizer)];
  };
  // 18 / 8 vs 18 / 16 bytes per parameter (per-tensor integer division: a few bytes per tensor).
  EXPECT_NEAR(static_cast<double>(state(a)), 2.0 * static_cast<double>(state(plain)),
              1e-6 * static_cast<double>(state(a)));
}

TEST(HsdpCli, ReportNamesTheShardAndReplicateGroups) {
  SetLogLevel(LogLevel::kQuiet);
  CliRun r = RunCli({"simulate", "--model", "gpt2-small", "--cluster", "dgx-a100-2", "--dp", "16", "--gbs", "32",
                     "--fsdp", "--hsdp", "8"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("hsdp (shard 8 x replicate 2, per-layer units)"), std::string::npos) << r.out;
}

TEST(HsdpCli, RunFileKeyIsAFlag) {
  Json doc = ParseJson(R"({"model": "gpt2-small", "cluster": "dgx-a100-2",
      "strategy": {"dp": 16, "fsdp": true, "hsdp": 8}})", "run.json");
  EXPECT_EQ(RunSpecFromJson(JsonView(doc, "run.json")).flags.hsdp, 8);
  Json bad = ParseJson(R"({"model": "gpt2-small", "cluster": "dgx-a100-2", "strategy": {"dp": 16, "hsdp": 0}})",
                       "run.json");
  try {
    RunSpecFromJson(JsonView(bad, "run.json"));
    ADD_FAILURE() << "hsdp 0 accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("hsdp"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace proteus
