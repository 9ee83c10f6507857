// `proteus-sim simulate --offload-activations N` (Megatron-Core cpu_offloading) end to end: refusals
// exit 2 naming the flag or field, the peak memory drops by the offloaded bytes minus those in
// flight at the peak, symmetry agrees with the full simulation, a slow PCIe exposes the copies and a
// fast one hides them, the report shows the host memory, the run-file key reaches the strategy.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/json_file.h"
#include "common/log.h"
#include "simulator/pipeline/run_spec.h"
#include "simulator/pipeline/simulation.h"
#include "tests/cli/cli_test_util.h"
#include "tests/common/process_temp_dir.h"

namespace proteus {
namespace {

using BadOffload = BadInputCase;

class ActOffloadBadInput : public ::testing::TestWithParam<BadOffload> {};

// gpt2-small has 12 layers.
TEST_P(ActOffloadBadInput, ExitsTwoNamingTheFlag) {
  ExpectRefused({"simulate", "--model", "gpt2-small", "--cluster", "dgx-a100-1", "--dp", "4"}, GetParam());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ActOffloadBadInput,
    ::testing::Values(BadOffload{{"--offload-activations", "12"}, "--offload-activations: offloads the first N"},
                      BadOffload{{"--offload-activations", "-1"}, "--offload-activations"},
                      BadOffload{{"--offload-activations", "two"}, "--offload-activations"},
                      BadOffload{{"--offload-activations", "2", "--pp", "2"}, "--offload-activations: Megatron-Core "
                                                                              "has no support for pipeline"},
                      BadOffload{{"--offload-activations", "2", "--recompute", "selective"},
                                 "--offload-activations: Megatron-Core: CPU offloading does not work when activation "
                                 "recomputation"},
                      BadOffload{{"--offload-activations", "2", "--recompute", "full"}, "--offload-activations"},
                      BadOffload{{"--offload-activations", "2", "--schedule", "gpipe"}, "--offload-activations"},
                      BadOffload{{"--offload-activations", "2", "--zero", "1", "--offload-optimizer"},
                                 "--offload-activations"}));

TEST(ActOffloadCli, StrategyFileKeyIsCheckedByName) {
  SetLogLevel(LogLevel::kQuiet);
  std::string path = ProcessTempPath("proteus_act_offload_strategy.json");
  WriteFileAtomic(path, R"({"format": "proteus.strategy/1", "mesh": {"dp": 4}, "offload_activations": 12,
      "defaults": {"partition": {"b": "dp"}}})");
  CliRun r = RunCli({"simulate", "--model", "gpt2-small", "--cluster", "dgx-a100-1", "--strategy", path});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(path + ": offload_activations"), std::string::npos) << r.err;
  WriteFileAtomic(path, R"({"format": "proteus.strategy/1", "mesh": {"dp": 4}, "offload_activations": 0,
      "defaults": {"partition": {"b": "dp"}}})");
  r = RunCli({"simulate", "--model", "gpt2-small", "--cluster", "dgx-a100-1", "--strategy", path});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("offload_activations"), std::string::npos) << r.err;
  // The flag beside a file sets its key: the same check.
  WriteFileAtomic(path, R"({"format": "proteus.strategy/1", "mesh": {"dp": 4}, "defaults": {"partition": {"b": "dp"}}})");
  r = RunCli({"simulate", "--model", "gpt2-small", "--cluster", "dgx-a100-1", "--strategy", path,
              "--offload-activations", "12"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(path + ": offload_activations"), std::string::npos) << r.err;
  std::filesystem::remove(path);
}

SimulationRequest Gpt2(int layers, int vocab, int offload) {
  SimulationRequest r;
  r.spec.model = "gpt2-small";
  Json doc = {{"format", "proteus.model/1"},
              {"zoo", "gpt2-small"},
              {"overrides", {{"num_layers", layers}, {"seq_len", 128}, {"vocab", vocab}}}};
  r.spec.model_doc = doc;
  r.spec.model_origin = "test";
  r.spec.cluster = "dgx-a100-1";
  r.spec.flags.dp = 1;
  r.spec.flags.fragmentation = 1.0;  // peaks in exact bytes
  r.spec.flags.offload_activations = offload;
  return r;
}

// gpt2-small cut to 4 layers, s 128, mbs 1 (s b h = 98,304): a = the bytes TE offloads per layer =
// 32 s b h + 16 s b = 3,149,824 (tests/compile/act_offload_test.cc lists them), r = the rest of a
// layer's A = a + r. N = 2, TE's windows W = {1, 3}: group 0 is freed after layer 1, group 1
// after layer 3, group 1 is reloaded before layer 3's backward, group 0 before layer 1's.
constexpr int64_t kSbh = 128 * 768, kSb = 128;
constexpr int64_t kA = 32 * kSbh + 16 * kSb;

// With the full vocabulary the head's fp32 softmax (4 s b V = 25.8 MB) dwarfs a layer, so both runs
// peak with the head's activations allocated, at the end of the forward; there no group is in
// flight (group 1's sync ran before the head), so the peak drops by both groups: 2a.
TEST(ActOffloadCli, PeakDropsByTheOffloadedBytesWhenNoneAreInFlight) {
  SetLogLevel(LogLevel::kQuiet);
  SimulationOutput base = RunSimulation(Gpt2(4, 50257, 0)), off = RunSimulation(Gpt2(4, 50257, 2));
  EXPECT_EQ(base.report.PeakMemory() - off.report.PeakMemory(), 2 * kA);
  EXPECT_EQ(off.report.per_gpu[0].host_activation_bytes, 2 * kA);
}

// With a 128-word vocabulary the head (H = the final norm's input 2 s b h and stats 8 s b, the LM
// head's input 2 s b h, the softmax 4 s b 128 = 459,776 bytes) is smaller than a: the offloaded
// run peaks at the end of layer 3's forward, where group 0 is gone but group 1 is still in flight
// (its copy is synchronized only at layer 3's commit); before layer 3's backward group 1 is back
// and the head freed, the same bytes. Without offload the peak is at the end of the forward, with
// the head. Drop = 2a - a (in flight) + H.
TEST(ActOffloadCli, PeakDropsByTheOffloadedBytesMinusThoseInFlight) {
  SetLogLevel(LogLevel::kQuiet);
  SimulationOutput base = RunSimulation(Gpt2(4, 128, 0)), off = RunSimulation(Gpt2(4, 128, 2));
  const int64_t head = 2 * kSbh + 8 * kSb + 2 * kSbh + 4 * kSb * 128;
  EXPECT_EQ(base.report.PeakMemory() - off.report.PeakMemory(), 2 * kA - kA + head);
}

TEST(ActOffloadCli, SymmetryAndFullSimulationAgree) {
  SetLogLevel(LogLevel::kQuiet);
  SimulationRequest sym;
  sym.spec.model = "gpt2-small";
  sym.spec.cluster = "dgx-a100-1";
  sym.spec.flags.dp = 8;
  sym.spec.flags.gbs = 16;
  sym.spec.flags.offload_activations = 4;
  SimulationRequest all = sym;
  all.spec.symmetry = false;
  SimulationOutput a = RunSimulation(sym), b = RunSimulation(all);
  EXPECT_EQ(a.graph.gpus.size(), 1u);
  EXPECT_EQ(b.graph.gpus.size(), 8u);
  EXPECT_NEAR(a.report.iteration_time_s, b.report.iteration_time_s, 1e-9 * b.report.iteration_time_s);
  EXPECT_EQ(a.report.PeakMemory(), b.report.PeakMemory());
}

// A DGX A100 whose PCIe links all run at `speed` GT/s x `width` (the shipped topology, edited).
std::string ClusterWithPcie(const std::string& tag, const std::string& speed, int width) {
  namespace fs = std::filesystem;
  fs::path dir = ProcessTempDir().path() / ("proteus_act_offload_" + tag);
  fs::create_directories(dir);
  std::ifstream in("data/topos/dgx-a100.xml");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string xml = ss.str();
  for (auto [from, to] : {std::pair<std::string, std::string>{"16.0 GT/s PCIe", speed + " GT/s PCIe"},
                          {"link_width=\"16\"", "link_width=\"" + std::to_string(width) + "\""}})
    for (size_t p = xml.find(from); p != std::string::npos; p = xml.find(from, p + to.size())) xml.replace(p, from.size(), to);
  WriteFileAtomic((dir / "node.xml").string(), xml);
  std::string cluster = (dir / "cluster.json").string();
  WriteFileAtomic(cluster, R"({"format": "proteus.cluster/1", "name": "dgx-a100-pcie-)" + tag +
                               R"(", "node_groups": [{"name": "n", "count": 1, "gpu": "A100-SXM4-80GB",
      "topology": "node.xml"}], "fabric": {"kind": "rail-optimized", "transport": "rdma", "nic_gbps": 200}})");
  return cluster;
}

SimulationOutput OnPcie(const std::string& cluster, int offload) {
  SimulationRequest r;
  r.spec.model = "gpt2-small";
  r.spec.cluster = cluster;
  r.spec.flags.dp = 8;
  r.spec.flags.offload_activations = offload;
  return RunSimulation(r);
}

// gpt2-small (12 layers, s 1024), N = 2: each micro-batch moves 2 x 2 x a, a = 32 s b h + 16 s b =
// 25,182,208 bytes. PCIe Gen1 x1 (NCCL: 15 / 80 = 0.1875 GB/s a link): the copies run one after the
// other on the copy stream, so the iteration takes at least 4a / 0.1875 GB/s = 0.54 s, far above
// the 9 ms without offload (1.08 s: GPUs 0 and 1 share a link), and the copy stream is exposed. PCIe Gen6 x64 (384 GB/s): a copy
// takes 0.13 ms beside TE's 6-layer windows, hidden; the iteration is nearly unchanged (the copies
// still slow the compute they overlap by the interference factor: 8.793 vs 8.783 ms).
TEST(ActOffloadCli, SlowPcieExposesTheCopiesFastPcieHidesThem) {
  SetLogLevel(LogLevel::kQuiet);
  const double a = 32.0 * 1024 * 768 + 16 * 1024;
  std::string slow = ClusterWithPcie("slow", "2.5", 1), fast = ClusterWithPcie("fast", "64.0", 64);
  SimulationOutput slow_base = OnPcie(slow, 0), slow_off = OnPcie(slow, 2);
  SimulationOutput fast_base = OnPcie(fast, 0), fast_off = OnPcie(fast, 2);
  int copy = static_cast<int>(StreamKind::kCopy);
  EXPECT_GE(slow_off.report.iteration_time_s, 4 * a / 0.1875e9);
  EXPECT_GT(slow_off.report.iteration_time_s, 10 * slow_base.report.iteration_time_s);
  EXPECT_GT(slow_off.report.per_gpu[0].exposed_comm_s[copy], 0.5 * 4 * a / 0.1875e9);
  EXPECT_LT(fast_off.report.iteration_time_s, 1.02 * fast_base.report.iteration_time_s);
  EXPECT_GE(fast_off.report.iteration_time_s, fast_base.report.iteration_time_s);
  EXPECT_LT(fast_off.report.per_gpu[0].exposed_comm_s[copy], 0.01 * fast_off.report.iteration_time_s);
  // Without offload nothing crosses PCIe on one node: the two topologies give the same time.
  EXPECT_NEAR(slow_base.report.iteration_time_s, fast_base.report.iteration_time_s,
              1e-9 * fast_base.report.iteration_time_s);
}

TEST(ActOffloadCli, ReportShowsHostMemoryStrategyLineAndExplain) {
  SetLogLevel(LogLevel::kQuiet);
  std::vector<std::string> args = {"simulate", "--model", "gpt2-small", "--cluster", "dgx-a100-1", "--dp", "8"};
  CliRun base = RunCli(args);
  args.insert(args.end(), {"--offload-activations", "4"});
  CliRun table = RunCli(args);
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_EQ(base.out.find("Activation offload per GPU"), std::string::npos);
  EXPECT_NE(table.out.find("Activation offload per GPU"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("activation offload (4 layers, cpu)"), std::string::npos) << table.out;
  CliRun j = RunCli([&] { auto v = args; v.push_back("--json"); return v; }());
  ASSERT_EQ(j.code, 0) << j.err;
  Json report = ParseJson(j.out, "stdout");
  // 4 layers x a, a = 32 s b h + 16 s b at s 1024, mbs 1, h 768.
  EXPECT_EQ(report["gpus"][0]["host_activation_bytes"].get<int64_t>(), 4 * (32 * 1024 * 768 + 16 * 1024));
  CliRun e = RunCli([&] { auto v = args; v.push_back("--explain"); return v; }());
  ASSERT_EQ(e.code, 0) << e.err;
  EXPECT_NE(e.out.find("activation offload (Megatron-Core cpu_offloading"), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("layers 0-3"), std::string::npos) << e.out;
}

TEST(ActOffloadCli, RunFileKeyIsAFlag) {
  Json doc = ParseJson(R"({"model": "gpt2-small", "cluster": "dgx-a100-1",
      "strategy": {"dp": 8, "offload_activations": 3}})", "run.json");
  EXPECT_EQ(RunSpecFromJson(JsonView(doc, "run.json")).flags.offload_activations, 3);
  Json bad = ParseJson(R"({"model": "gpt2-small", "cluster": "dgx-a100-1",
      "strategy": {"dp": 8, "offload_activations": -3}})", "run.json");
  try {
    RunSpecFromJson(JsonView(bad, "run.json"));
    ADD_FAILURE() << "a negative layer count was accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("offload_activations"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace proteus
