// End-to-end acceptance of `proteus-sim simulate` (issue: the simulator spine).
#include <filesystem>
#include <set>
#include <gtest/gtest.h>

#include "common/input_file.h"
#include "common/json_file.h"
#include "common/log.h"
#include "tests/cli/cli_test_util.h"
#include "tests/common/process_temp_dir.h"

namespace proteus {
namespace {

std::string TempPath(const std::string& name) {
  return ProcessTempPath("proteus_cli_" + name);
}

class SimulateCli : public ::testing::Test {
 protected:
  void SetUp() override { SetLogLevel(LogLevel::kQuiet); }
};

// The README's main job: GPT-3 175B on 128 DGX-H100 nodes, TP 8 x PP 8 x DP 16, mbs 1, gbs 1536,
// with the distributed optimizer (without it the first stage needs 80.8 GiB: 18 bytes/param).
TEST_F(SimulateCli, Gpt3On1024H100sGivesAPlausibleReportJsonAndTrace) {
  std::string trace = TempPath("gpt3_trace.json");
  CliRun r = RunCli({"simulate", "--model", "gpt3-175b", "--cluster", "dgx-h100-128", "--tp", "8", "--pp", "8",
                     "--dp", "16", "--mbs", "1", "--gbs", "1536", "--zero", "1", "--json", "--trace", trace});
  ASSERT_EQ(r.code, 0) << r.err;
  Json report = ParseJson(r.out, "stdout");
  EXPECT_EQ(report["format"], "proteus.report/1");
  double t = report["iteration_time_s"];
  // 6 * 175e9 params * 1536 * 2048 tokens ~ 3.3e18 FLOPs; 1024 H100s at 30-60% of 989 TFLOP/s
  // take 5.5 s to 11 s. Anything within [3 s, 30 s] is plausible; MFU within [0.15, 0.75].
  EXPECT_GT(t, 3.0);
  EXPECT_LT(t, 30.0);
  double mfu = report["mfu"];
  EXPECT_GT(mfu, 0.15);
  EXPECT_LT(mfu, 0.75);
  EXPECT_FALSE(report["oom"].get<bool>());
  // 175B / 64 model-parallel shards ~ 2.8e9 params per GPU x (6 + 12/16) bytes ~ 19 GB static, plus
  // ~32 GB of activations (8 micro-batches in flight on the first stage) and the reserve, < 80 GB.
  double peak = report["peak_memory_bytes"];
  EXPECT_GT(peak, 30e9);
  EXPECT_LT(peak, 80e9);
  EXPECT_EQ(report["inputs"]["gpus"], 1024);
  EXPECT_EQ(report["inputs"]["micro_batches"], 96);  // 1536 / (1 * 16)

  Json tr = ParseJson(ReadInputFile(trace, InputKind::kMeasurement), trace);  // 87 MiB: a measurement
  std::set<std::pair<int, int>> threads_with_events;
  for (const auto& e : tr["traceEvents"])
    if (e["ph"] == "X") threads_with_events.insert({e["pid"].get<int>(), e["tid"].get<int>()});
  // Every simulated GPU has compute, TP, DP and PP communication on its own streams.
  std::set<int> pids;
  for (auto& [pid, tid] : threads_with_events) pids.insert(pid);
  for (int pid : pids) {
    int streams = 0;
    for (auto& [p, tid] : threads_with_events) streams += p == pid;
    EXPECT_GE(streams, 4) << "gpu process " << pid;
  }
  std::filesystem::remove(trace);
}

// -q and -v belong to proteus-sim, but users type them after the subcommand too.
TEST_F(SimulateCli, QuietAndVerboseAreAcceptedAfterTheSubcommand) {
  SetLogLevel(LogLevel::kInfo);
  CliRun quiet = RunCli({"simulate", "--model", "gpt2-small", "--cluster", "dgx-a100-1", "-q"});
  ASSERT_EQ(quiet.code, 0) << quiet.err;
  EXPECT_EQ(GetLogLevel(), LogLevel::kQuiet);
  CliRun verbose = RunCli({"simulate", "--model", "gpt2-small", "--cluster", "dgx-a100-1", "--verbose"});
  ASSERT_EQ(verbose.code, 0) << verbose.err;
  EXPECT_EQ(GetLogLevel(), LogLevel::kDebug);
  SetLogLevel(LogLevel::kQuiet);
  // An option neither the subcommand nor proteus-sim knows is still refused.
  CliRun bad = RunCli({"simulate", "--model", "gpt2-small", "--cluster", "dgx-a100-1", "--quite"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("--quite"), std::string::npos) << bad.err;
}

// Output paths are checked before the simulation, and a run whose last output fails takes back the
// files it wrote (common/output_file.h).
TEST_F(SimulateCli, BadOutputPathsFailEarlyAndAFailedRunLeavesNothing) {
  std::string dir = ProcessTempDir().path().string();
  CliRun to_dir = RunCli({"simulate", "--model", "gpt2-small", "--cluster", "dgx-a100-1", "--trace", dir});
  EXPECT_EQ(to_dir.code, 2);
  EXPECT_NE(to_dir.err.find("--trace"), std::string::npos) << to_dir.err;
  EXPECT_NE(to_dir.err.find("directory"), std::string::npos) << to_dir.err;
  CliRun no_folder = RunCli({"simulate", "--model", "gpt2-small", "--cluster", "dgx-a100-1", "--report",
                             dir + "/proteus_no_such_folder/r.json"});
  EXPECT_EQ(no_folder.code, 2);
  EXPECT_NE(no_folder.err.find("--report"), std::string::npos) << no_folder.err;
  // /dev/full accepts the open and fails the write ("no space"): the trace written before it goes.
  std::string trace = TempPath("taken_back_trace.json");
  std::filesystem::remove(trace);
  CliRun full = RunCli({"simulate", "--model", "gpt2-small", "--cluster", "dgx-a100-1", "--trace", trace, "--report",
                        "/dev/full"});
  EXPECT_EQ(full.code, 2) << full.err;
  EXPECT_FALSE(std::filesystem::exists(trace));
}

TEST_F(SimulateCli, TableReportNamesTheVerdictAndBreakdowns) {
  CliRun r = RunCli({"simulate", "--model", "gpt2-small", "--cluster", "dgx-h100-1", "--tp", "2", "--dp", "4",
                     "--gbs", "32"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* s : {"iteration time", "MFU", "weights", "optimizer", "activations", "Cost sources"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
}

TEST_F(SimulateCli, ModelThatDoesNotFitIsAnOomVerdictNotACrash) {
  // 175B on one 8-GPU node: ~22e9 params per GPU x 18 bytes = 394 GB > 80 GB.
  CliRun r = RunCli({"simulate", "--model", "gpt3-175b", "--cluster", "dgx-h100-1", "--tp", "8", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  Json report = ParseJson(r.out, "stdout");
  EXPECT_TRUE(report["oom"].get<bool>());
}

TEST_F(SimulateCli, ExplainPrintsTheExpandedTree) {
  CliRun r = RunCli({"simulate", "--model", "gpt2-small", "--cluster", "dgx-h100-1", "--tp", "2", "--pp", "2",
                     "--sp", "--explain"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("tp"), std::string::npos);
  EXPECT_NE(r.out.find("layers"), std::string::npos);
}

TEST_F(SimulateCli, EmitManifestListsUnmeasuredOperators) {
  std::string path = TempPath("manifest.json");
  CliRun r = RunCli({"simulate", "--model", "gpt2-small", "--cluster", "dgx-h100-1", "--dp", "8", "--gbs", "8",
                     "--emit-manifest", path});
  ASSERT_EQ(r.code, 0) << r.err;
  Json m = ReadJsonFile(path);
  EXPECT_EQ(m["format"], "proteus.manifest/1");
  bool has_gemm = false;
  for (const auto& op : m["ops"]) has_gemm = has_gemm || op["kind"] == "gemm";
  EXPECT_TRUE(has_gemm);
  std::filesystem::remove(path);
}

struct BadInput {
  std::vector<std::string> args;
  std::string expect_in_message;
};

class SimulateBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(SimulateBadInput, ExitsTwoWithAClearMessage) {
  SetLogLevel(LogLevel::kQuiet);
  std::vector<std::string> args = {"simulate"};
  args.insert(args.end(), GetParam().args.begin(), GetParam().args.end());
  CliRun r = RunCli(args);
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("error: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(GetParam().expect_in_message), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SimulateBadInput,
    ::testing::Values(
        BadInput{{"--model", "gpt-nonexistent", "--cluster", "dgx-h100-1"}, "gpt-nonexistent"},
        BadInput{{"--model", "gpt2-small", "--cluster", "no-such-cluster"}, "no-such-cluster"},
        // gpt2-small has 12 heads: tp 8 does not divide them.
        BadInput{{"--model", "gpt2-small", "--cluster", "dgx-h100-1", "--tp", "8"}, "tp"},
        // 8 x 2 = 16 GPUs on an 8-GPU cluster.
        BadInput{{"--model", "gpt2-small", "--cluster", "dgx-h100-1", "--tp", "4", "--pp", "2", "--dp", "2"}, "8"},
        // global batch 10 over dp 8 x micro-batch 1.
        BadInput{{"--model", "gpt2-small", "--cluster", "dgx-h100-1", "--dp", "8", "--gbs", "10"}, "10"},
        // 12 layers, stages cover 2.
        BadInput{{"--model", "gpt2-small", "--cluster", "dgx-h100-1", "--pp", "2", "--pp-layers", "1,1"}, "layers"},
        BadInput{{"--model", "gpt2-small", "--cluster", "dgx-h100-1", "--schedule", "zigzag"}, "zigzag"},
        // dualpipe mirrors rank r on rank pp-1-r (an even pp) and splits the micro-batches in two
        // directions (an even count >= 2 pp); gbs 6 over dp 1 is 6 micro-batches < 8.
        BadInput{{"--model", "gpt2-small", "--cluster", "dgx-h100-1", "--pp", "3", "--gbs", "12", "--schedule",
                  "dualpipe"},
                 "--schedule: dualpipe needs an even pp"},
        BadInput{{"--model", "gpt2-small", "--cluster", "dgx-h100-1", "--pp", "4", "--gbs", "6", "--schedule",
                  "dualpipe"},
                 "--schedule: dualpipe needs an even number of micro-batches >= 2 x pp (8)"},
        BadInput{{"--model", "gpt2-small", "--cluster", "dgx-h100-1", "--recompute", "most"}, "most"},
        BadInput{{"--model", "gpt2-small", "--cluster", "dgx-h100-1", "--db", "/nonexistent/db.json"}, "db.json"},
        BadInput{{"--model", "gpt2-small", "--cluster", "dgx-h100-1", "--dtype", "int8"}, "--dtype"},
        BadInput{{"--model", "gpt2-small"}, "--cluster"},
        // ZeRO stages, FSDP and overlaps the strategy cannot take name their flag.
        BadInput{{"--model", "gpt2-small", "--cluster", "dgx-h100-1", "--dp", "8", "--zero", "4"}, "--zero"},
        BadInput{{"--model", "gpt2-small", "--cluster", "dgx-h100-1", "--dp", "8", "--zero", "1", "--fsdp"}, "--fsdp"},
        BadInput{{"--model", "gpt2-small", "--cluster", "dgx-h100-1", "--dp", "8", "--overlap-param-gather"},
                 "--overlap-param-gather"},
        BadInput{{"--model", "gpt2-small", "--cluster", "dgx-h100-1", "--tp", "2", "--dp", "4", "--tp-comm-overlap"},
                 "--tp-comm-overlap"},
        BadInput{{"--model", "gpt2-small", "--cluster", "dgx-h100-1", "--dp", "8", "--overlap-p2p", "maybe"},
                 "--overlap-p2p"},
        BadInput{{"--model", "gpt2-small", "--cluster", "dgx-h100-1", "--dp", "8", "--fsdp", "--fsdp-prefetch", "99"},
                 "--fsdp-prefetch"},
        // sp with tp 1 leaves no tp communication to overlap.
        BadInput{{"--model", "gpt2-small", "--cluster", "dgx-h100-1", "--dp", "8", "--sp", "--tp-comm-overlap"},
                 "tp_comm_overlap"}));

TEST(SimulateFiles, MalformedFilesNameTheFileAndField) {
  SetLogLevel(LogLevel::kQuiet);
  std::string cluster = TempPath("bad_cluster.json");
  WriteFileAtomic(cluster, R"({"format": "proteus.cluster/1", "name": "x", "node_groups": [{"count": -2}]})");
  CliRun r = RunCli({"simulate", "--model", "gpt2-small", "--cluster", cluster});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(cluster), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("node_groups[0]"), std::string::npos) << r.err;

  std::string db = TempPath("bad_db.json");
  WriteFileAtomic(db, R"({"format": "proteus.costdb/1", "ops": [{"kind": "gemm"}]})");
  r = RunCli({"simulate", "--model", "gpt2-small", "--cluster", "dgx-h100-1", "--db", db});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("ops[0]"), std::string::npos) << r.err;

  std::string strategy = TempPath("bad_strategy.json");
  WriteFileAtomic(strategy, R"({"format": "proteus.strategy/1", "mesh": {"dp": 0}})");
  r = RunCli({"simulate", "--model", "gpt2-small", "--cluster", "dgx-h100-1", "--strategy", strategy});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(strategy), std::string::npos) << r.err;
  for (auto& p : {cluster, db, strategy}) std::filesystem::remove(p);
}

TEST(SimulateFiles, OutputFilesAreNotHalfWrittenOnError) {
  SetLogLevel(LogLevel::kQuiet);
  std::string trace = TempPath("never_trace.json");
  std::filesystem::remove(trace);
  CliRun r = RunCli({"simulate", "--model", "gpt2-small", "--cluster", "dgx-h100-1", "--tp", "8", "--trace", trace});
  EXPECT_EQ(r.code, 2);
  EXPECT_FALSE(std::filesystem::exists(trace));
}

}  // namespace
}  // namespace proteus
