// Context parallelism (--cp, ring attention) from the command line: accepted where modelled, refused
// (exit 2, naming the flag or the file's field) where not. --seq-len replaces a transformer's
// sequence length on every model form that has one.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "common/json_file.h"
#include "common/log.h"
#include "tests/cli/cli_test_util.h"
#include "tests/common/process_temp_dir.h"

namespace proteus {
namespace {

CliRun Simulate(std::vector<std::string> args) {
  SetLogLevel(LogLevel::kQuiet);
  args.insert(args.begin(), "simulate");
  return RunCli(args);
}

void ExpectExit2Naming(const CliRun& r, const std::string& what) {
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("error: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  auto path = ProcessTempPath(name);
  std::ofstream(path) << text;
  return path;
}

double TokensPerSample(const CliRun& r) {
  Json j = Json::parse(r.out);
  return j["tokens_per_s"].get<double>() / j["samples_per_s"].get<double>();
}

TEST(ContextParallelCli, CpRunsRingAttention) {
  CliRun r = Simulate({"--model", "llama3-8b", "--cluster", "dgx-h100-2", "--tp", "8", "--cp", "2", "--dp", "1",
                       "--seq-len", "16384", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  Json j = Json::parse(r.out);
  EXPECT_DOUBLE_EQ(TokensPerSample(r), 16384.0);
  EXPECT_GT(j["iteration_time_s"].get<double>(), 0);
  // --cp 1 is no context parallelism: the run is the one without the flag, bit for bit.
  CliRun one = Simulate({"--model", "gpt2-small", "--cluster", "dgx-h100-1", "--cp", "1", "--json"});
  CliRun none = Simulate({"--model", "gpt2-small", "--cluster", "dgx-h100-1", "--json"});
  ASSERT_EQ(one.code, 0) << one.err;
  EXPECT_EQ(one.out, none.out);
}

TEST(ContextParallelCli, CpNotDividingTheSequenceOrBesideUnmodelledFlagsIsRefused) {
  // 4,098 tokens are not divisible by 2 x cp = 4 (the load-balanced chunks).
  CliRun odd = Simulate({"--model", "llama3-8b", "--cluster", "dgx-h100-2", "--tp", "8", "--cp", "2", "--dp", "1",
                         "--seq-len", "4098"});
  ExpectExit2Naming(odd, "--cp");
  EXPECT_NE(odd.err.find("4098"), std::string::npos) << odd.err;
  ExpectExit2Naming(Simulate({"--model", "llama3-8b", "--cluster", "dgx-h100-2", "--tp", "8", "--cp", "2", "--dp",
                              "1", "--sp"}),
                    "--sp");
  ExpectExit2Naming(Simulate({"--model", "gpt2-small", "--cluster", "dgx-h100-1", "--cp", "2", "--zero", "3"}), "--cp");
  ExpectExit2Naming(Simulate({"--model", "resnet50", "--cluster", "dgx-h100-1", "--cp", "2"}), "--cp");
}

TEST(ContextParallelCli, HelpNamesTheFlags) {
  CliRun help = RunCli({"simulate", "--help"});
  EXPECT_NE(help.out.find("--cp"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("--seq-len"), std::string::npos) << help.out;
}

TEST(ContextParallelCli, CpThatCannotFitOrBesideAStrategyFileIsRefused) {
  // tp 8 x cp 2 = 16 GPUs on 8.
  ExpectExit2Naming(Simulate({"--model", "llama3-8b", "--cluster", "dgx-h100-1", "--tp", "8", "--cp", "2"}), "--cp");
  ExpectExit2Naming(Simulate({"--model", "gpt2-small", "--cluster", "dgx-h100-1", "--cp", "0"}), "--cp");
  std::string file = WriteTemp("proteus_cp_strategy.json", R"({"format": "proteus.strategy/1",
      "mesh": [{"axis": "dp", "size": 4}, {"axis": "cp", "size": 2}],
      "micro_batch": 1, "global_batch": 4, "defaults": {"partition": {"b": "dp"}}})");
  // A file's cp axis with no operator's sequence on it: its ranks would be silent replicas.
  ExpectExit2Naming(Simulate({"--model", "gpt2-small", "--cluster", "dgx-h100-1", "--strategy", file}), "partition.s");
  ExpectExit2Naming(Simulate({"--model", "gpt2-small", "--cluster", "dgx-h100-1", "--strategy", file, "--cp", "2"}),
                    "--cp");
  std::filesystem::remove(file);
}

TEST(ContextParallelCli, SeqLenReplacesTheSequenceOfEveryTransformerForm) {
  // Zoo (gpt2-small: 1,024 tokens; the learned position table grows with the sequence).
  CliRun zoo = Simulate({"--model", "gpt2-small", "--cluster", "dgx-h100-1", "--seq-len", "2048", "--json"});
  ASSERT_EQ(zoo.code, 0) << zoo.err;
  EXPECT_DOUBLE_EQ(TokensPerSample(zoo), 2048.0);
  // A proteus.model/1 file whose own overrides say 4,096: the flag wins.
  CliRun file = Simulate({"--model", "llama3.2-1b-seq4096", "--cluster", "dgx-h100-1", "--seq-len", "1024", "--json"});
  ASSERT_EQ(file.code, 0) << file.err;
  EXPECT_DOUBLE_EQ(TokensPerSample(file), 1024.0);
  // A raw HF config.json (max_position_embeddings 131,072; proteus's default is its 8,192 training length).
  CliRun hf = Simulate({"--model", "llama3.2-1b-config", "--cluster", "dgx-h100-1", "--seq-len", "512", "--json"});
  ASSERT_EQ(hf.code, 0) << hf.err;
  EXPECT_DOUBLE_EQ(TokensPerSample(hf), 512.0);
  // The model FLOPs follow the new sequence by transformer.h's closed form: per sample forward
  // 24 s h^2 l + 4 s^2 h l + 2 s h V (gpt2-small: l 12, h 768, V 50,257 padded to 50,304), x3 for
  // the training step, x8 samples (dp 8, mbs 1).
  auto flops = [](double s) {
    const double l = 12, h = 768, v = 50304;
    return 3 * 8 * (24 * s * h * h * l + 4 * s * s * h * l + 2 * s * h * v);
  };
  CliRun base = Simulate({"--model", "gpt2-small", "--cluster", "dgx-h100-1", "--json"});
  ASSERT_EQ(base.code, 0) << base.err;
  EXPECT_DOUBLE_EQ(TokensPerSample(base), 1024.0);
  EXPECT_NEAR(Json::parse(base.out)["model_flops_per_iteration"].get<double>() / flops(1024), 1.0, 1e-12);
  EXPECT_NEAR(Json::parse(zoo.out)["model_flops_per_iteration"].get<double>() / flops(2048), 1.0, 1e-12);
  EXPECT_GT(Json::parse(zoo.out)["iteration_time_s"].get<double>(), Json::parse(base.out)["iteration_time_s"].get<double>());
}

TEST(ContextParallelCli, SeqLenIsRefusedWhereTheModelHasNoSequenceToChange) {
  ExpectExit2Naming(Simulate({"--model", "resnet50", "--cluster", "dgx-h100-1", "--seq-len", "1024"}), "--seq-len");
  ExpectExit2Naming(Simulate({"--model", "tiny-mlp-tree", "--cluster", "dgx-h100-1", "--seq-len", "32"}), "--seq-len");
  ExpectExit2Naming(Simulate({"--model", "gpt2-small", "--cluster", "dgx-h100-1", "--seq-len", "0"}), "--seq-len");
}

}  // namespace
}  // namespace proteus
