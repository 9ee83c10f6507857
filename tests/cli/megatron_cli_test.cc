// Megatron-LM's spellings on `simulate` (issue 14, item 4): the long argument names give the same
// prediction as the short flags, disagreeing spellings are refused naming both, and
// --from-megatron-args simulates a pretrain_gpt.py launch, naming what it ignores.
#include <gtest/gtest.h>

#include "common/json_file.h"
#include "common/log.h"
#include "tests/cli/cli_test_util.h"
#include "tests/common/temp_dir.h"

namespace proteus {
namespace {

double IterationTime(std::vector<std::string> args) {
  SetLogLevel(LogLevel::kQuiet);
  args.insert(args.begin(), "simulate");
  args.push_back("--json");
  CliRun r = RunCli(args);
  EXPECT_EQ(r.code, 0) << r.err;
  if (r.code != 0) return -1;
  return ParseJson(r.out, "stdout")["iteration_time_s"].get<double>();
}

TEST(MegatronCli, LongNamesPredictWhatTheShortFlagsPredict) {
  const std::vector<std::string> base = {"--model", "gpt3-1.3b", "--cluster", "dgx-h100-2"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  double short_flags = IterationTime(with({"--tp", "2", "--pp", "2", "--mbs", "2", "--gbs", "64", "--sp", "--zero",
                                           "1", "--recompute", "selective", "--schedule", "interleaved:2", "--dtype",
                                           "fp16", "--seq-len", "1024"}));
  double long_names = IterationTime(with(
      {"--tensor-model-parallel-size", "2", "--pipeline-model-parallel-size", "2", "--micro-batch-size", "2",
       "--global-batch-size", "64", "--sequence-parallel", "--use-distributed-optimizer", "--recompute-activations",
       "--num-layers-per-virtual-pipeline-stage", "6", "--fp16", "--seq-length", "1024"}));
  EXPECT_GT(short_flags, 0);
  EXPECT_EQ(short_flags, long_names);  // bit for bit: the same run
  // 24 layers / pp 2 / 6 layers per chunk = 2 chunks: --virtual-pipeline-model-parallel-size 2.
  EXPECT_EQ(long_names, IterationTime(with({"--tp", "2", "--pp", "2", "--mbs", "2", "--gbs", "64", "--sp",
                                            "--use-distributed-optimizer", "--recompute", "selective",
                                            "--virtual-pipeline-model-parallel-size", "2", "--dtype", "fp16",
                                            "--seq-len", "1024"})));
  // A spelling and its short flag may both be given when they agree.
  EXPECT_EQ(short_flags, IterationTime(with({"--tp", "2", "--tensor-model-parallel-size", "2", "--pp", "2", "--mbs",
                                             "2", "--gbs", "64", "--sp", "--zero", "1", "--recompute", "selective",
                                             "--schedule", "interleaved:2", "--fp16", "--dtype", "fp16", "--seq-len",
                                             "1024"})));
}

class MegatronConflict : public ::testing::TestWithParam<BadInputCase> {};

TEST_P(MegatronConflict, ExitsTwoNamingBoth) {
  ExpectRefused({"simulate", "--model", "gpt3-1.3b", "--cluster", "dgx-h100-2"}, GetParam());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MegatronConflict,
    ::testing::Values(
        BadInputCase{{"--tp", "4", "--tensor-model-parallel-size", "8"},
                     "--tp: --tp 4 and --tensor-model-parallel-size 8 disagree"},
        BadInputCase{{"--pp", "2", "--pipeline-model-parallel-size", "4"}, "--pp 2 and --pipeline-model-parallel-size 4"},
        BadInputCase{{"--mbs", "1", "--micro-batch-size", "2"}, "--mbs 1 and --micro-batch-size 2"},
        BadInputCase{{"--gbs", "64", "--global-batch-size", "128"}, "--gbs 64 and --global-batch-size 128"},
        BadInputCase{{"--seq-len", "1024", "--seq-length", "2048"}, "--seq-len 1024 and --seq-length 2048"},
        BadInputCase{{"--recompute", "full", "--recompute-activations"},
                     "--recompute full and --recompute-activations disagree (--recompute-activations means "
                     "--recompute selective)"},
        BadInputCase{{"--recompute", "full", "--recompute-granularity", "selective"},
                     "--recompute full and --recompute-granularity selective"},
        BadInputCase{{"--zero", "2", "--use-distributed-optimizer"}, "--zero 2 and --use-distributed-optimizer"},
        BadInputCase{{"--dtype", "bf16", "--fp16"}, "--dtype bf16 and --fp16"},
        BadInputCase{{"--bf16", "--fp16"}, "--bf16: given with --fp16"},
        BadInputCase{{"--pp", "2", "--schedule", "interleaved:3", "--virtual-pipeline-model-parallel-size", "2"},
                     "--schedule interleaved:3 and --virtual-pipeline-model-parallel-size 2"},
        BadInputCase{{"--fp8", "e4m3", "--fp8-format", "hybrid"}, "--fp8 e4m3 and --fp8-format hybrid"},
        BadInputCase{{"--tensor-model-parallel-size", "0"}, "--tensor-model-parallel-size"}));

TEST(MegatronCli, TheLaunchMayBeGivenAsTextAfterTheFlag) {
  double text = IterationTime({"--cluster", "dgx-h100-1", "--from-megatron-args",
                               "--num-layers 2 --hidden-size 512 --num-attention-heads 8 --seq-length 512 "
                               "--vocab-size 1000 --micro-batch-size 1 --bf16 --tensor-model-parallel-size 2"});
  double joined = IterationTime({"--cluster", "dgx-h100-1",
                                 "--from-megatron-args=--num-layers 2 --hidden-size 512 --num-attention-heads 8 "
                                 "--seq-length 512 --vocab-size 1000 --micro-batch-size 1 --bf16 "
                                 "--tensor-model-parallel-size 2"});
  EXPECT_GT(text, 0);
  EXPECT_EQ(text, joined);
}

TEST(MegatronCli, ModelOrLaunchIsRequired) {
  ExpectRefused({"simulate", "--cluster", "dgx-h100-1"}, {{}, "--model: required"});
  ExpectRefused({"simulate", "--cluster", "dgx-h100-1"},
                {{"--from-megatron-args=--num-layers 2", "--model", "gpt2-small"}, "--model: given with --from-megatron-args"});
  ExpectRefused({"simulate", "--cluster", "dgx-h100-1"},
                {{"--from-megatron-args=--num-layers 2", "--strategy", "s.json"}, "--strategy: given with --from-megatron-args"});
  ExpectRefused({"simulate", "--cluster", "dgx-h100-1"},
                {{"--from-megatron-args", "no/such/file.sh"}, "--from-megatron-args: no file \"no/such/file.sh\""});
}

// A small Llama-style launch: 8 layers, GQA, SwiGLU; torchrun's 2 nodes x 8 GPUs.
const char* kLaunch = R"(torchrun --nproc_per_node 8 --nnodes 2 --master_addr n0 pretrain_gpt.py \
  --num-layers 8 --hidden-size 2048 --num-attention-heads 16 --group-query-attention --num-query-groups 4 \
  --ffn-hidden-size 5632 --seq-length 2048 --max-position-embeddings 4096 --swiglu --normalization RMSNorm \
  --tokenizer-type HuggingFaceTokenizer --tokenizer-model meta/tok --vocab-size 32000 \
  --micro-batch-size 2 --global-batch-size 64 --tensor-model-parallel-size 2 --pipeline-model-parallel-size 2 \
  --sequence-parallel --use-distributed-optimizer --overlap-grad-reduce --bf16 \
  --hidden-dropout 0 --attention-dropout 0 \
  --recompute-granularity full --recompute-method uniform --recompute-num-layers 1 \
  --lr 3e-4 --train-iters 1000 --data-path /data/x --save /ckpt --use-mcore-models
)";

TEST(MegatronCli, FromMegatronArgsSimulatesTheLaunchAndNamesWhatItIgnores) {
  TempDir dir("proteus_megatron_cli");
  std::string file = dir.Write("llama_small.sh", kLaunch);
  SetLogLevel(LogLevel::kQuiet);
  testing::internal::CaptureStderr();
  CliRun r = RunCli({"simulate", "--from-megatron-args", file, "--cluster", "dgx-h100-2", "--json"});
  std::string warnings = testing::internal::GetCapturedStderr();
  ASSERT_EQ(r.code, 0) << r.err;
  Json report = ParseJson(r.out, "stdout");
  EXPECT_EQ(report["inputs"]["gpus"], 16);
  EXPECT_EQ(report["inputs"]["micro_batches"], 8);  // 64 / (2 x dp 4)
  EXPECT_NE(warnings.find("ignored, not modelled by proteus: --recompute-method, --recompute-num-layers, "
                          "--use-mcore-models"),
            std::string::npos)
      << warnings;
  EXPECT_NE(warnings.find("ignored, no effect on one iteration's time or memory: --master_addr, "
                          "--tokenizer-model, --lr, --train-iters, --data-path, --save"),
            std::string::npos)
      << warnings;
  // The same run typed as proteus flags, with the launch's model as an HF config.
  std::string config = dir.Write("config.json", R"({"model_type": "llama", "hidden_size": 2048,
      "num_hidden_layers": 8, "num_attention_heads": 16, "num_key_value_heads": 4, "intermediate_size": 5632,
      "vocab_size": 32000, "max_position_embeddings": 4096, "tie_word_embeddings": true, "torch_dtype": "bfloat16"})");
  double typed = IterationTime({"--model", config, "--seq-len", "2048", "--cluster", "dgx-h100-2", "--tp", "2",
                                "--pp", "2", "--dp", "4", "--mbs", "2", "--gbs", "64", "--sp", "--zero", "1",
                                "--recompute", "full", "--dtype", "bf16"});
  EXPECT_EQ(report["iteration_time_s"].get<double>(), typed);
}

TEST(MegatronCli, FlagsTypedBesideTheLaunchOverrideItWithAWarning) {
  TempDir dir("proteus_megatron_cli_override");
  std::string file = dir.Write("llama_small.sh", kLaunch);
  SetLogLevel(LogLevel::kQuiet);
  testing::internal::CaptureStderr();
  CliRun r = RunCli({"simulate", "--from-megatron-args", file, "--cluster", "dgx-h100-2", "--json", "--gbs", "128",
                     "--pipeline-model-parallel-size", "1", "--dp", "8"});
  std::string warnings = testing::internal::GetCapturedStderr();
  ASSERT_EQ(r.code, 0) << r.err;
  Json report = ParseJson(r.out, "stdout");
  EXPECT_EQ(report["inputs"]["micro_batches"], 8);  // 128 / (2 x dp 8)
  EXPECT_NE(warnings.find("--gbs 128 replaces 64 of --from-megatron-args " + file), std::string::npos) << warnings;
  EXPECT_NE(warnings.find("--dp 8 replaces 4 of --from-megatron-args"), std::string::npos) << warnings;
  EXPECT_NE(warnings.find("--pipeline-model-parallel-size 1 replaces --pp 2 of --from-megatron-args"),
            std::string::npos)
      << warnings;
}

}  // namespace
}  // namespace proteus
