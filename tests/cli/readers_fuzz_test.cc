// Fuzz test of the run readers (suite cases and measured runs: RunSpecFromJson, MeasuredFromJson)
// and of every input file end to end: mutated strategy, cluster and model files given to
// `proteus-sim simulate` exit 0 or 2 (never 1, never a crash), and a 2 prints "error: " and names the
// file. Seeds: the cases of data/validation/*.json, and small model/cluster/strategy files so that
// each simulation takes milliseconds. Deterministic (fixed seeds), bounded by iteration count.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/json_file.h"
#include "simulator/pipeline/run_spec.h"
#include "simulator/model/model_file.h"
#include "simulator/strategy/shorthand.h"
#include "tests/cli/cli_test_util.h"
#include "tests/common/json_mutator.h"
#include "tests/common/temp_dir.h"

namespace proteus {
namespace {

TEST(ReadersFuzz, SuiteCasesAndMeasurementsParseOrThrowUserError) {
  int cases = 0;
  for (const char* suite : {"data/validation/megatron-sc21-table1.json", "data/validation/megatron-sc21-table2-ptdp.json"}) {
    Json doc = ReadJsonFile(suite);
    for (size_t i = 0; i < doc["cases"].size(); i += 3) {  // every third case: they differ only in numbers
      const Json& valid = doc["cases"][i];
      fuzz::FuzzStats stats;
      EXPECT_EQ(fuzz::FuzzJsonReader(valid, 50 + i, 300,
                                     [](const Json& j) { (void)RunSpecFromJson(JsonView(j, "fuzz.json")); }, &stats),
                "")
          << suite << " case " << i;
      EXPECT_GT(stats.accepted, 30) << suite << " case " << i << ": " << stats.rejected << " rejected";
      EXPECT_EQ(fuzz::FuzzJsonReader(valid, 60 + i, 300,
                                     [](const Json& j) { (void)MeasuredFromJson(JsonView(j, "fuzz.json")); }),
                "")
          << suite << " case " << i;
      ++cases;
    }
  }
  EXPECT_GE(cases, 3);
}

// Out-of-range numbers in a case name the file and the field.
TEST(ReadersFuzz, BadCaseValuesNameFileAndField) {
  Json c = ReadJsonFile("data/validation/megatron-sc21-table1.json")["cases"][0];
  auto message = [](const Json& j) -> std::string {
    try {
      (void)RunSpecFromJson(JsonView(j, "suite.json", "cases[0]"));
      (void)MeasuredFromJson(JsonView(j, "suite.json", "cases[0]"));
    } catch (const UserError& e) {
      return e.what();
    }
    return "(accepted)";
  };
  Json bad = c;
  bad["strategy"]["tp"] = 0;
  EXPECT_EQ(message(bad).rfind("suite.json: cases[0].strategy.tp:", 0), 0u) << message(bad);
  bad = c;
  bad["measured"]["hw_tflops_per_gpu"] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(message(bad).rfind("suite.json: cases[0].measured.hw_tflops_per_gpu:", 0), 0u) << message(bad);
}

// Regressions the fuzzer found, each with the input that showed it.
TEST(ReadersFuzz, NonStringZooAndWrappingCountsAreUserErrors) {
  Json c = ReadJsonFile("data/validation/megatron-sc21-table1.json")["cases"][0];
  auto escaped = [](const Json& j) { return fuzz::Escaped([&] { (void)RunSpecFromJson(JsonView(j, "suite.json")); }); };
  // "zoo": ["megatron-1.7b"] threw nlohmann::json::type_error out of RunSpecFromJson.
  Json bad = c;
  bad["model"]["zoo"] = Json::array({"megatron-1.7b"});
  EXPECT_EQ(escaped(bad), "");
  // tp 2^32 + 8 was read as tp 8; zero 2^32 as ZeRO 0.
  for (const char* field : {"tp", "zero"}) {
    bad = c;
    bad["strategy"][field] = (int64_t{1} << 32) + (field == std::string("tp") ? 8 : 0);
    EXPECT_THROW((void)RunSpecFromJson(JsonView(bad, "suite.json")), UserError) << field;
  }
  // tp 2^16 x pp 2^16 overflowed int to 0 and simulate divided the cluster's GPUs by it (SIGFPE).
  bad = c;
  bad["strategy"]["tp"] = 65536, bad["strategy"]["pp"] = 65536;
  EXPECT_THROW((void)RunSpecFromJson(JsonView(bad, "suite.json")), UserError);
}


constexpr const char* kModel = "data/models/tiny-mlp-tree.json";

// Two 4-GPU PCIe nodes on a 10 Gb/s TCP fat-tree: 8 GPUs, a few milliseconds per simulation.
Json SmallCluster() {
  return {{"format", "proteus.cluster/1"},
          {"name", "fuzz"},
          {"node_groups", {{{"name", "pcie"}, {"count", 2}, {"gpu", "V100-SXM2-32GB"}, {"topology", "pcie-4gpu"}}}},
          {"fabric", {{"kind", "fat-tree"}, {"transport", "tcp"}, {"nic_gbps", 10}, {"latency_us", 25}}}};
}

// The tiny model split tp 2 x dp 2 x pp 1, as a strategy file.
Json SmallStrategy() {
  ShorthandOptions o;
  o.tp = 2;
  o.dp = 2;
  o.global_batch = 8;
  return StrategyToJson(ExpandShorthand(LoadModel(kModel), o));
}

// Runs simulate; "" when it exited 0 (counted in `simulated`), or 2 with "error: " naming `file`;
// else what went wrong.
std::string CheckSimulate(const std::vector<std::string>& args, const std::string& file, int* simulated) {
  CliRun r = RunCli(args);
  if (r.code == 0) {
    ++*simulated;
    return "";
  }
  if (r.code != 2) return "exit " + std::to_string(r.code) + ": " + r.err;
  if (r.err.rfind("error: ", 0) != 0) return "message does not start with 'error: ': " + r.err;
  if (r.err.find(file) == std::string::npos)
    return "message does not name " + file + ": " + r.err;
  return "";
}

// Mutates `valid` `iterations` times (alternating tree, deep and text mutations), writes each to
// `name` in `dir` and simulates with `args_for(path)`.
void FuzzSimulate(const TempDir& dir, const std::string& name, const Json& valid, uint64_t seed, int iterations,
                  const std::function<std::vector<std::string>(const std::string&)>& args_for) {
  std::string path = dir.Write(name, valid.dump(1));
  ASSERT_EQ(RunCli(args_for(path)).code, 0) << "the valid " << name << " must simulate: " << RunCli(args_for(path)).err;
  fuzz::JsonMutator mut(seed);
  int simulated = 0;
  iterations = fuzz::FuzzIterations(iterations);
  for (int i = 0; i < iterations; ++i) {
    std::string text;
    switch (i % 3) {
      case 0: text = fuzz::Show(mut.MutateTree(valid)); break;
      case 1: text = fuzz::Show(mut.MutateDeep(valid)); break;
      default: text = mut.MutateText(valid); break;
    }
    path = dir.Write(name, text);
    EXPECT_EQ(CheckSimulate(args_for(path), path, &simulated), "") << name << " iteration " << i << ": " << text;
  }
  // Some mutants (an extra rule, another batch size, a renamed group) simulate end to end.
  EXPECT_GT(simulated, 0) << name;
}

TEST(ReadersFuzz, MutatedInputFilesExitZeroOrTwoNamingTheFile) {
  TempDir dir("proteus_cli_fuzz");
  std::string cluster = dir.Write("base_cluster.json", SmallCluster().dump(1));
  FuzzSimulate(dir, "strategy.json", SmallStrategy(), 70, 100, [&](const std::string& p) {
    return std::vector<std::string>{"-q", "simulate", "--model", kModel, "--cluster", cluster, "--strategy", p};
  });
  FuzzSimulate(dir, "cluster.json", SmallCluster(), 71, 100, [&](const std::string& p) {
    return std::vector<std::string>{"-q", "simulate", "--model", kModel, "--cluster", p, "--tp", "2"};
  });
  FuzzSimulate(dir, "model.json", ReadJsonFile(kModel), 72, 100, [&](const std::string& p) {
    return std::vector<std::string>{"-q", "simulate", "--model", p, "--cluster", cluster, "--dp", "4"};
  });
  // The zoo form: overrides reach the transformer builder and the compiler.
  Json zoo = {{"format", "proteus.model/1"},
              {"zoo", "gpt3-125m"},
              {"overrides", {{"num_layers", 2}, {"seq_len", 128}, {"vocab", 1024}, {"dtype", "fp16"}}}};
  FuzzSimulate(dir, "zoo.json", zoo, 73, 60, [&](const std::string& p) {
    return std::vector<std::string>{"-q", "simulate", "--model", p, "--cluster", cluster, "--tp", "2", "--pp", "2"};
  });
}

// A whole validation suite of one small case through `proteus-sim validate`: its cases are read by
// RunSpecFromJson and MeasuredFromJson and then simulated.
TEST(ReadersFuzz, MutatedSuitesExitZeroOrTwoNamingTheFile) {
  TempDir dir("proteus_cli_fuzz");
  std::string cluster = dir.Write("base_cluster.json", SmallCluster().dump(1));
  Json suite = {{"format", "proteus.suite/1"},
                {"name", "fuzz"},
                {"cases",
                 {{{"name", "tiny tp2 dp2"},
                   {"model", {{"zoo", "gpt3-125m"}, {"overrides", {{"num_layers", 2}, {"seq_len", 128}}}}},
                   {"cluster", cluster},
                   {"strategy", {{"tp", 2}, {"dp", 2}, {"mbs", 1}, {"gbs", 8}, {"schedule", "1f1b"}}},
                   {"dtype", "fp16"},
                   {"measured", {{"iteration_time_s", 0.01}, {"tflops_per_gpu", 10}}},
                   {"source", "fuzz"}}}}};
  // `validate` names the suite file and case even for errors found while simulating it.
  FuzzSimulate(dir, "suite.json", suite, 74, 60,
               [&](const std::string& p) { return std::vector<std::string>{"-q", "validate", p}; });
}

// Bad values deep inside each file: exit 2, and the message names the file and the field.
TEST(ReadersFuzz, DeepBadValuesNameFileAndFieldEndToEnd) {
  TempDir dir("proteus_cli_fuzz");
  std::string cluster = dir.Write("base_cluster.json", SmallCluster().dump(1));
  auto expect_error = [](const std::vector<std::string>& args, const std::string& prefix) {
    CliRun r = RunCli(args);
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_EQ(r.err.rfind("error: " + prefix, 0), 0u) << r.err;
  };
  Json model = {{"format", "proteus.model/1"}, {"zoo", "gpt3-125m"}, {"overrides", {{"num_layers", -2}}}};
  std::string m = dir.Write("m.json", model.dump());
  expect_error({"-q", "simulate", "--model", m, "--cluster", cluster}, m + ": overrides.num_layers:");
  model["overrides"] = {{"dtype", "fp12"}};
  dir.Write("m.json", model.dump());
  expect_error({"-q", "simulate", "--model", m, "--cluster", cluster}, m + ": overrides.dtype:");

  Json strategy = SmallStrategy();
  strategy["mesh"][1]["size"] = 0;
  std::string s = dir.Write("s.json", strategy.dump());
  expect_error({"-q", "simulate", "--model", kModel, "--cluster", cluster, "--strategy", s}, s + ": mesh[1].size:");

  Json c = SmallCluster();
  c["node_groups"][0]["count"] = 0;
  std::string cf = dir.Write("c.json", c.dump());
  expect_error({"-q", "simulate", "--model", kModel, "--cluster", cf}, cf + ": node_groups[0].count:");
  c = SmallCluster();
  c["fabric"]["latency_us"] = -1;
  dir.Write("c.json", c.dump());
  expect_error({"-q", "simulate", "--model", kModel, "--cluster", cf}, cf + ": fabric.latency_us:");
}

}  // namespace
}  // namespace proteus
