// Run-file reader (proteus.run/1 runs, samples, kernels, logs; proteus.suite/1 cases), RunSet
// name checks, and ReadRuns' dispatch by content; every error names the file and the field.
#include "simulator/calibrate/run_file.h"

#include <string>

#include <gtest/gtest.h>

#include "common/error.h"
#include "simulator/calibrate/read_runs.h"
#include "tests/common/temp_dir.h"

namespace proteus {
namespace {

// A small Megatron-LM log: GPT-2 medium shapes on 8 GPUs (tp 2, dp 4), 4 iteration lines.
std::string SmallLog() {
  std::string log = "------------------------ arguments ------------------------\n";
  for (const char* line :
       {"num_layers 24", "hidden_size 1024", "num_attention_heads 16", "ffn_hidden_size 4096", "seq_length 1024",
        "padded_vocab_size 50304", "tensor_model_parallel_size 2", "pipeline_model_parallel_size 1", "world_size 8",
        "micro_batch_size 8", "global_batch_size 256", "bf16 True", "use_flash_attn True"}) {
    std::string l = line;
    size_t space = l.find(' ');
    log += "  " + l.substr(0, space) + " " + std::string(40 - space, '.') + l.substr(space) + "\n";
  }
  log += "-------------------- end of arguments ---------------------\n";
  for (double ms : {5000.0, 1200.0, 1100.0, 1300.0})
    log += " iteration        1/     100 | elapsed time per iteration (ms): " + std::to_string(ms) +
           " | throughput per GPU (TFLOP/s/GPU): 90.0 | number of skipped iterations:   0 |\n";
  return log;
}

constexpr const char* kRuns = R"({
  "format": "proteus.run/1",
  "runs": [
    {"name": "gpt 1.7b", "model": "megatron-1.7b", "cluster": "dgx-a100-4",
     "strategy": {"tp": 2, "pp": 1, "dp": 16, "mbs": 4, "gbs": 512, "recompute": "selective", "sp": true},
     "dtype": "fp16", "databases": ["a100.json"],
     "iteration_samples_s": [9.0, 1.30, 1.20, 1.25, 1.10], "warmup": 1,
     "source": "our cluster", "hardware": {"gpus": 32}, "software": "megatron-core 0.6", "date": "2024-05-01",
     "notes": "samples only"},
    {"model": {"zoo": "megatron-1.7b", "overrides": {"fused_attention": false}}, "cluster": "dgx-a100-4",
     "strategy": {"tp": 1, "pp": 1, "dp": 32},
     "measured": {"iteration_time_s": 2.5, "hw_tflops_per_gpu": 137}, "iteration_samples_s": [2.4, 2.6],
     "source": "paper"}
  ],
  "kernels": [
    {"name": "gemm 8k", "gpu": "H100-SXM5-80GB", "keys": ["gemm|bf16|fwd|k=8192,m=8192,n=8192|"],
     "measured": {"tflops": 750, "flops": 1099511627776}, "source": "cuBLASLt bench"},
    {"gpu": "A100-SXM4-80GB",
     "keys": ["attention|bf16|fwd|batch=1,head_dim=128,heads=32,kv_heads=32,seq_kv=4096,seq_q=4096|causal=1",
              "attention|bf16|bwd_data|batch=1,head_dim=128,heads=32,kv_heads=32,seq_kv=4096,seq_q=4096|causal=1"],
     "measured": {"time_s": 0.004}}
  ]
})";

TEST(RunFile, ReadsRunsSamplesAndKernels) {
  TempDir dir("proteus_run_file");
  std::string path = dir.Write("runs.json", kRuns);
  RunSet set = ReadRunFile(path);
  ASSERT_EQ(set.runs.size(), 2u);
  const MeasuredRun& a = set.runs[0];
  EXPECT_EQ(a.name, "gpt 1.7b");
  EXPECT_EQ(a.spec.name, "gpt 1.7b");
  EXPECT_EQ(a.origin, path + ": runs[0]");
  EXPECT_EQ(a.spec.model, "megatron-1.7b");
  EXPECT_TRUE(a.spec.model_doc.is_null());
  EXPECT_EQ(a.spec.cluster, "dgx-a100-4");
  EXPECT_EQ(a.spec.flags.tp, 2);
  EXPECT_EQ(a.spec.flags.dp, 16);
  EXPECT_EQ(a.spec.flags.mbs, 4);
  EXPECT_EQ(a.spec.flags.gbs, 512);
  EXPECT_EQ(a.spec.flags.recompute, "selective");
  EXPECT_TRUE(a.spec.flags.sp);
  EXPECT_EQ(a.spec.dtype, "fp16");
  EXPECT_EQ(a.spec.databases, std::vector<std::string>{"a100.json"});
  // Warm-up 1 drops 9.0; median of 1.30 1.20 1.25 1.10 = (1.20 + 1.25) / 2.
  EXPECT_EQ(a.iteration_samples_s, (std::vector<double>{1.30, 1.20, 1.25, 1.10}));
  ASSERT_EQ(a.measured.values.size(), 1u);
  EXPECT_DOUBLE_EQ(a.measured.values.at("iteration_time_s"), 1.225);
  EXPECT_EQ(a.measured.source, "our cluster");

  const MeasuredRun& b = set.runs[1];
  EXPECT_EQ(b.name, "runs[1]");  // "<file stem>[i]"
  EXPECT_EQ(b.spec.model_doc.at("zoo"), "megatron-1.7b");
  EXPECT_EQ(b.spec.model_origin, path + ": runs[1].model");
  EXPECT_EQ(b.iteration_samples_s, (std::vector<double>{2.4, 2.6}));
  EXPECT_DOUBLE_EQ(b.measured.values.at("iteration_time_s"), 2.5);  // the given value wins over the samples
  EXPECT_DOUBLE_EQ(b.measured.values.at("hw_tflops_per_gpu"), 137);
  EXPECT_EQ(b.measured.source, "paper");

  ASSERT_EQ(set.kernels.size(), 2u);
  const KernelMeasurement& g = set.kernels[0];
  EXPECT_EQ(g.name, "gemm 8k");
  EXPECT_EQ(g.origin, path + ": kernels[0]");
  EXPECT_EQ(g.gpu, "H100-SXM5-80GB");
  ASSERT_EQ(g.keys.size(), 1u);
  EXPECT_EQ(g.keys[0].ToString(), "gemm|bf16|fwd|k=8192,m=8192,n=8192|");
  EXPECT_NEAR(g.measured_s, 1099511627776.0 / 750e12, 1e-15);  // 2 x 8192^3 FLOPs at 750 TFLOP/s = 1.466 ms
  EXPECT_EQ(g.source, "cuBLASLt bench");
  const KernelMeasurement& f = set.kernels[1];
  EXPECT_EQ(f.name, "runs.kernels[1]");
  ASSERT_EQ(f.keys.size(), 2u);
  EXPECT_EQ(f.keys[1].phase, Phase::kBwdData);
  EXPECT_EQ(f.keys[1].attrs.at("causal"), "1");
  EXPECT_DOUBLE_EQ(f.measured_s, 0.004);
  EXPECT_EQ(f.source, "");
}

TEST(RunFile, ReadsOneRunAtTheTopLevelAndKernelOnlyFiles) {
  TempDir dir("proteus_run_top");
  std::string path = dir.Write("a100-run.json", R"({"format": "proteus.run/1", "model": "gpt3-13b",
      "cluster": "dgx-a100-8", "strategy": "s.json", "measured": {"tflops_per_gpu": 150, "mfu": 0.48}})");
  RunSet set = ReadRunFile(path);
  ASSERT_EQ(set.runs.size(), 1u);
  EXPECT_EQ(set.runs[0].name, "a100-run");
  EXPECT_EQ(set.runs[0].origin, path);
  EXPECT_EQ(set.runs[0].spec.strategy_file, "s.json");
  EXPECT_DOUBLE_EQ(set.runs[0].measured.values.at("mfu"), 0.48);
  EXPECT_TRUE(set.runs[0].iteration_samples_s.empty());
  EXPECT_TRUE(set.kernels.empty());

  path = dir.Write("kernels.json", R"({"format": "proteus.run/1", "kernels": [
      {"gpu": "H100-SXM5-80GB", "keys": ["add|bf16|fwd|elements=1048576|"], "measured": {"time_s": 1e-5}}]})");
  set = ReadRunFile(path);
  EXPECT_TRUE(set.runs.empty());
  ASSERT_EQ(set.kernels.size(), 1u);
  EXPECT_EQ(set.kernels[0].name, "kernels.kernels[0]");
  EXPECT_EQ(set.kernels[0].origin, path + ": kernels[0]");
}

TEST(RunFile, ReadsASuiteAsRuns) {
  const std::string suite = "data/validation/megatron-sc21-table1.json";
  Json doc = ReadJsonFile(suite);
  RunSet set = ReadRunFile(suite);
  ASSERT_EQ(set.runs.size(), doc["cases"].size());
  const MeasuredRun& r = set.runs[3];
  EXPECT_EQ(r.origin, suite + ": cases[3]");
  EXPECT_EQ(r.name, doc["cases"][3]["name"].get<std::string>());
  EXPECT_EQ(r.spec.cluster, doc["cases"][3]["cluster"].get<std::string>());
  EXPECT_EQ(r.spec.flags.tp, doc["cases"][3]["strategy"]["tp"].get<int>());
  EXPECT_DOUBLE_EQ(r.measured.values.at("hw_tflops_per_gpu"), doc["cases"][3]["measured"]["hw_tflops_per_gpu"].get<double>());
  EXPECT_EQ(r.measured.source, doc["cases"][3]["source"].get<std::string>());

  TempDir dir("proteus_run_suite");
  std::string path = dir.Write("suite.json", R"({"format": "proteus.suite/1", "name": "s", "cases": [
      {"model": "gpt3-13b", "cluster": "dgx-a100-8", "strategy": {"tp": 8}, "measured": {"mfu": 0.4}}]})");
  EXPECT_EQ(ReadRunFile(path).runs.at(0).name, "suite[0]");
}

TEST(RunFile, ReadsARunThatReferencesALog) {
  TempDir dir("proteus_run_log");
  dir.Write("train.log", SmallLog());
  std::string path = dir.Write("runs.json", R"({"format": "proteus.run/1", "runs": [
      {"name": "from log", "log": "train.log", "cluster": "dgx-a100-1", "databases": ["a.json"],
       "measured": {"mfu": 0.29}},
      {"log": "train.log", "cluster": "dgx-a100-2", "warmup": 2, "model": "gpt2-medium",
       "strategy": {"tp": 1, "dp": 16}, "dtype": "fp16", "source": "the lab's run",
       "measured": {"iteration_time_s": 1.0}}]})");
  RunSet set = ReadRunFile(path);
  ASSERT_EQ(set.runs.size(), 2u);
  const MeasuredRun& a = set.runs[0];
  EXPECT_EQ(a.name, "from log");
  EXPECT_EQ(a.origin, path + ": runs[0]");
  EXPECT_EQ(a.spec.cluster, "dgx-a100-1");
  EXPECT_EQ(a.spec.databases, std::vector<std::string>{"a.json"});
  EXPECT_EQ(a.spec.model_doc.at("hf_config").at("hidden_size"), 1024);
  EXPECT_EQ(a.spec.model_origin, (dir.path() / "train.log").string());
  EXPECT_EQ(a.spec.flags.tp, 2);
  EXPECT_EQ(a.spec.flags.dp, 4);
  EXPECT_EQ(a.spec.flags.gbs, 256);
  EXPECT_EQ(a.spec.dtype, "bf16");
  EXPECT_EQ(a.iteration_samples_s, (std::vector<double>{1.2, 1.1, 1.3}));
  EXPECT_DOUBLE_EQ(a.measured.values.at("iteration_time_s"), 1.2);
  EXPECT_DOUBLE_EQ(a.measured.values.at("tflops_per_gpu"), 90.0);
  EXPECT_DOUBLE_EQ(a.measured.values.at("mfu"), 0.29);  // the run adds what the log lacks
  EXPECT_EQ(a.measured.source, (dir.path() / "train.log").string());

  const MeasuredRun& b = set.runs[1];  // the run object's fields override the log's
  EXPECT_EQ(b.spec.model, "gpt2-medium");
  EXPECT_TRUE(b.spec.model_doc.is_null());
  EXPECT_EQ(b.spec.flags.tp, 1);
  EXPECT_EQ(b.spec.flags.dp, 16);
  EXPECT_EQ(b.spec.dtype, "fp16");
  EXPECT_EQ(b.spec.cluster, "dgx-a100-2");
  EXPECT_EQ(b.iteration_samples_s, (std::vector<double>{1.1, 1.3}));
  EXPECT_DOUBLE_EQ(b.measured.values.at("iteration_time_s"), 1.0);
  EXPECT_EQ(b.measured.source, "the lab's run");
}

TEST(RunFile, LogArgsSupplyWhatTheLogLacks) {
  TempDir dir("proteus_run_log_args");
  std::string log = SmallLog();
  log.erase(log.find("  padded_vocab_size"), log.find("  tensor_model") - log.find("  padded_vocab_size"));
  dir.Write("train.log", log);
  std::string path = dir.Write("run.json", R"({"format": "proteus.run/1", "log": "train.log",
      "cluster": "dgx-a100-1", "log_args": {"padded_vocab_size": 50432, "sequence_parallel": true}})");
  RunSet set = ReadRunFile(path);
  EXPECT_EQ(set.runs.at(0).spec.model_doc.at("hf_config").at("vocab_size"), 50432);
  EXPECT_TRUE(set.runs.at(0).spec.flags.sp);
  path = dir.Write("bad.json", R"({"format": "proteus.run/1", "log": "train.log", "cluster": "c",
      "log_args": {"padded_vocab_size": "many"}})");
  try {
    ReadRunFile(path);
    FAIL() << "accepted";
  } catch (const UserError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": log_args.padded_vocab_size: padded_vocab_size: expected a positive "
                                            "integer, got \"many\"");
  }
}

// The message of the UserError ReadRunFile throws for `text` saved as `name` ("(accepted)" if none).
std::string Error(const std::string& text, const std::string& name = "runs.json") {
  TempDir dir("proteus_run_errors");
  dir.Write("train.log", SmallLog());
  std::string path = dir.Write(name, text);
  try {
    ReadRunFile(path);
  } catch (const UserError& e) {
    std::string m = e.what();
    std::string folder = dir.path().string() + "/";
    for (size_t at; (at = m.find(folder)) != std::string::npos;) m.erase(at, folder.size());
    return m;
  }
  return "(accepted)";
}

bool StartsWith(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

constexpr const char* kRun = R"("model": "gpt3-13b", "cluster": "dgx-a100-8", "strategy": {"tp": 8})";

std::string Runs(const std::string& a, const std::string& b = "", const std::string& c = "") {
  std::string runs = "{" + std::string(kRun) + a + "}";
  if (!b.empty()) runs += ", {" + std::string(kRun) + b + "}";
  if (!c.empty()) runs += ", {" + std::string(kRun) + c + "}";
  return R"({"format": "proteus.run/1", "runs": [)" + runs + "]}";
}

TEST(RunFileErrors, RunsNameTheFileAndTheField) {
  EXPECT_TRUE(StartsWith(Error(Runs("")), "runs.json: runs[0].measured: no measured metric")) << Error(Runs(""));
  EXPECT_TRUE(StartsWith(Error(Runs(R"(, "measured": {})")), "runs.json: runs[0].measured: no measured metric"));
  EXPECT_TRUE(StartsWith(Error(Runs(R"(, "measured": {"speed": 1})")), "runs.json: runs[0].measured.speed: unknown metric"));
  std::string m = R"(, "measured": {"mfu": 0.5})";
  std::string e = Error(R"({"format": "proteus.run/1", "runs": [{"model": "m", "cluster": "c", "strategy": {"tp": 0},
            "measured": {"mfu": 0.5}}]})");
  EXPECT_TRUE(StartsWith(e, "runs.json: runs[0].strategy.tp: must be a positive integer")) << e;
  e = Error(Runs(R"(, "name": "a")" + m, R"(, "name": "a")" + m));
  EXPECT_EQ(e, "runs.json: runs[1]: run name \"a\" is already used by runs.json: runs[0]; names must be unique "
               "(give each a \"name\")");
  EXPECT_TRUE(StartsWith(Error(Runs(m + R"(, "tensor_paralel": 8)")), "runs.json: runs[0].tensor_paralel: unknown field"));
  EXPECT_TRUE(StartsWith(Error(Runs(R"(, "iteration_samples_s": [1, 2], "warmup": 2)")),
                         "runs.json: runs[0].warmup: drops 2 of 2 samples"));
  EXPECT_TRUE(StartsWith(Error(Runs(R"(, "iteration_samples_s": [1, -2])")),
                         "runs.json: runs[0].iteration_samples_s[1]: must be a positive"));
  EXPECT_TRUE(StartsWith(Error(Runs(R"(, "iteration_samples_s": [1], "warmup": -1)")), "runs.json: runs[0].warmup:"));
  EXPECT_TRUE(StartsWith(Error(Runs(m + R"(, "warmup": 1)")), "runs.json: runs[0].warmup: applies to"));
  EXPECT_TRUE(StartsWith(Error(Runs(m + R"(, "date": 2024)")), "runs.json: runs[0].date: expected a string"));
  EXPECT_TRUE(StartsWith(Error(Runs(m + R"(, "name": "")")), "runs.json: runs[0].name: must not be empty"));
}

TEST(RunFileErrors, LogRunsNameTheRunOrTheLog) {
  auto log_run = [](const std::string& extra) {
    return R"({"format": "proteus.run/1", "runs": [{"log": "train.log", "cluster": "c")" + extra + "}]}";
  };
  EXPECT_EQ(Error(log_run("")), "(accepted)");
  EXPECT_TRUE(StartsWith(Error(log_run(R"(, "iteration_samples_s": [1])")),
                         "runs.json: runs[0].iteration_samples_s: a run with a \"log\""));
  EXPECT_EQ(Error(R"({"format": "proteus.run/1", "log": "missing.log", "cluster": "c"})"),
            "runs.json: log: no such file: missing.log (a relative path is read from the run file's folder)");
  EXPECT_TRUE(StartsWith(Error(log_run(R"(, "log_args": [1])")), "runs.json: runs[0].log_args: expected an object"));
  EXPECT_TRUE(StartsWith(Error(log_run(R"(, "warmup": 9)")), "train.log: 4 timed line(s), none left"));
  EXPECT_TRUE(StartsWith(Error(R"({"format": "proteus.run/1", "runs": [{"log": "train.log"}]})"),
                         "runs.json: runs[0].cluster: missing required field"));
}

TEST(RunFileErrors, KernelsNameTheFileAndTheField) {
  auto kernel = [](const std::string& body) {
    return R"({"format": "proteus.run/1", "kernels": [{"gpu": "H100-SXM5-80GB", )" + body + "}]}";
  };
  std::string e = Error(kernel(R"("keys": ["gemm|bf16|fwd|k=1,m=1,n=1|", "gemm|bf16|fwd|m=1|"], "measured": {"time_s": 1})"),
                        "kernels.json");
  EXPECT_TRUE(StartsWith(e, "kernels.json: kernels[0].keys[1]: not an op key")) << e;
  EXPECT_NE(e.find("needs shape parameter"), std::string::npos) << e;
  EXPECT_TRUE(StartsWith(Error(kernel(R"("keys": [], "measured": {"time_s": 1})")), "runs.json: kernels[0].keys: expected at least"));
  EXPECT_TRUE(StartsWith(Error(kernel(R"("keys": ["add|bf16|fwd|elements=1|"], "measured": {"time_s": 1, "tflops": 2})")),
                         "runs.json: kernels[0].measured: expected {\"time_s\""));
  EXPECT_TRUE(StartsWith(Error(kernel(R"("keys": ["add|bf16|fwd|elements=1|"], "measured": {"tflops": 2})")),
                         "runs.json: kernels[0].measured.flops: missing required field"));
  EXPECT_TRUE(StartsWith(Error(kernel(R"("keys": ["add|bf16|fwd|elements=1|"], "measured": {"time_s": 0})")),
                         "runs.json: kernels[0].measured.time_s: must be positive"));
  EXPECT_TRUE(StartsWith(Error(kernel(R"("keys": ["add|bf16|fwd|elements=1|"], "measured": {"secs": 1})")),
                         "runs.json: kernels[0].measured.secs: unknown field"));
  EXPECT_TRUE(StartsWith(Error(R"({"format": "proteus.run/1", "kernels": [{"keys": ["add|bf16|fwd|elements=1|"],
                             "measured": {"time_s": 1}}]})"),
                         "runs.json: kernels[0].gpu: missing required field"));
  std::string k = R"({"name": "k", "gpu": "g", "keys": ["add|bf16|fwd|elements=1|"], "measured": {"time_s": 1}})";
  EXPECT_TRUE(StartsWith(Error(R"({"format": "proteus.run/1", "kernels": [)" + k + "," + k + "]}"),
                         "runs.json: kernels[1]: kernel name \"k\" is already used by runs.json: kernels[0]"));
}

TEST(RunFileErrors, FormatsAndShapes) {
  EXPECT_TRUE(StartsWith(Error(R"({"format": "proteus.run/2", "runs": []})"), "runs.json: format: version 2 is newer"));
  EXPECT_TRUE(StartsWith(Error(R"({"format": "proteus.cluster/1"})"), "runs.json: format: expected \"proteus.run/"));
  EXPECT_TRUE(StartsWith(Error(R"({"format": "proteus.suite/1", "cases": [{"model": "m"}]})"),
                         "runs.json: cases[0].cluster: missing required field"));
  EXPECT_TRUE(StartsWith(Error(R"({"format": "proteus.run/1"})"), "runs.json: expected \"runs\""));
  EXPECT_TRUE(StartsWith(Error(R"({"format": "proteus.run/1", "runs": {}})"), "runs.json: runs: expected an array"));
  EXPECT_TRUE(StartsWith(Error(R"({"format": "proteus.run/1", "runs": [], "extra": 1})"), "runs.json: extra: unknown field"));
  EXPECT_TRUE(StartsWith(Error("[1]"), "runs.json: expected a JSON object"));
  EXPECT_TRUE(StartsWith(Error("{\"format\": "), "runs.json: malformed JSON"));
}

TEST(RunSet, AppendRejectsARepeatedNameAndLeavesTheSetAsItWas) {
  auto run = [](std::string name, std::string origin) {
    MeasuredRun r;
    r.name = std::move(name);
    r.origin = std::move(origin);
    return r;
  };
  RunSet a, b;
  a.runs.push_back(run("x", "a.json: runs[0]"));
  b.runs.push_back(run("y", "b.json: runs[0]"));
  b.runs.push_back(run("x", "b.json: runs[1]"));
  try {
    a.Append(b);
    FAIL() << "accepted";
  } catch (const UserError& e) {
    EXPECT_EQ(std::string(e.what()), "b.json: runs[1]: run name \"x\" is already used by a.json: runs[0]; names must "
                                     "be unique (give each a \"name\")");
  }
  EXPECT_EQ(a.runs.size(), 1u);
  RunSet c;
  KernelMeasurement k;
  k.name = "x";  // kernels have their own names
  k.origin = "c.json: kernels[0]";
  c.kernels.push_back(k);
  a.Append(c);
  EXPECT_EQ(a.kernels.size(), 1u);
}

TEST(ReadRuns, DispatchesByContentAndKeepsNamesUnique) {
  TempDir dir("proteus_read_runs");
  std::string runs = dir.Write("runs.json", kRuns);
  std::string log = dir.Write("gpt2-medium.txt", SmallLog());
  std::string suite = "data/validation/megatron-sc21-table1.json";
  RunSet set = ReadRuns({runs, log, suite}, {.cluster = "dgx-a100-1", .warmup_lines = 2});
  ASSERT_EQ(set.runs.size(), 3 + ReadJsonFile(suite)["cases"].size());
  const MeasuredRun& r = set.runs[2];
  EXPECT_EQ(r.name, "gpt2-medium");
  EXPECT_EQ(r.origin, log);
  EXPECT_EQ(r.spec.cluster, "dgx-a100-1");
  EXPECT_EQ(r.iteration_samples_s, (std::vector<double>{1.1, 1.3}));
  EXPECT_EQ(set.kernels.size(), 2u);

  auto error = [](const std::vector<std::string>& paths, ReadRunsOptions o = {}) -> std::string {
    try {
      ReadRuns(paths, o);
    } catch (const UserError& e) {
      return e.what();
    }
    return "(accepted)";
  };
  EXPECT_TRUE(StartsWith(error({log}), log + ": a training log names no cluster")) << error({log});
  EXPECT_TRUE(StartsWith(error({runs, runs}), runs + ": runs[0]: run name \"gpt 1.7b\" is already used by " + runs));
  std::string other = dir.Write("notes.txt", "hello\n");
  EXPECT_TRUE(StartsWith(error({other}), other + ": unrecognized file; expected proteus.run/1 or proteus.suite/1"))
      << error({other});
  std::string hf = dir.Write("config.json", R"({"model_type": "llama"})");
  EXPECT_TRUE(StartsWith(error({hf}), hf + ": a JSON file without \"format\"")) << error({hf});
  EXPECT_EQ(error({dir.path().string() + "/none.json"}), dir.path().string() + "/none.json: cannot open file");
}

}  // namespace
}  // namespace proteus
