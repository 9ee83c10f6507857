// Training-log reader: Megatron-LM logs (argument dump, padded vocabulary, timed iteration lines,
// skipped iterations, warm-up, old and new line layouts, rank prefixes), NeMo logs (YAML config,
// progress bars and NeMo 2 lines), and every error with the file and the line or argument.
#include "simulator/calibrate/megatron_log.h"

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/error.h"
#include "simulator/model/model_file.h"
#include "simulator/model/summary.h"
#include "tests/common/temp_dir.h"

namespace proteus {
namespace {

// The arguments of a GPT-3 1.3B job on 16 GPUs (tp 2, dp 8) as Megatron-LM prints them.
std::map<std::string, std::string> Gpt13bArgs() {
  return {{"num_layers", "24"},
          {"hidden_size", "2048"},
          {"ffn_hidden_size", "8192"},
          {"num_attention_heads", "16"},
          {"group_query_attention", "False"},
          {"num_query_groups", "1"},
          {"seq_length", "2048"},
          {"max_position_embeddings", "2048"},
          {"vocab_size", "None"},
          {"make_vocab_size_divisible_by", "128"},
          {"swiglu", "False"},
          {"normalization", "LayerNorm"},
          {"position_embedding_type", "learned_absolute"},
          {"untie_embeddings_and_output_weights", "False"},
          {"use_flash_attn", "True"},
          {"hidden_dropout", "0.1"},
          {"attention_dropout", "0.1"},
          {"tensor_model_parallel_size", "2"},
          {"pipeline_model_parallel_size", "1"},
          {"virtual_pipeline_model_parallel_size", "None"},
          {"context_parallel_size", "1"},
          {"world_size", "16"},
          {"data_parallel_size", "8"},
          {"micro_batch_size", "4"},
          {"global_batch_size", "512"},
          {"sequence_parallel", "True"},
          {"recompute_granularity", "selective"},
          {"recompute_method", "None"},
          {"fp16", "False"},
          {"bf16", "True"},
          {"fp8", "None"},
          {"num_experts", "None"},
          {"use_distributed_optimizer", "True"},
          {"data_path", "['./data/my-gpt2_text_document']"}};
}

std::string ArgumentDump(const std::map<std::string, std::string>& args) {
  std::string s = "------------------------ arguments ------------------------\n";
  for (const auto& [name, value] : args)
    s += "  " + name + " " + std::string(name.size() < 48 ? 48 - name.size() : 0, '.') + " " + value + "\n";
  return s + "-------------------- end of arguments ---------------------\n";
}

// A current Megatron-LM iteration line (timestamp, throughput field).
std::string IterationLine(int iteration, double ms, double tflops, int skipped = 0) {
  char buf[640];
  std::snprintf(buf, sizeof buf,
                " [2024-05-01 10:%02d:00] iteration %8d/  500000 | consumed samples: %12d | elapsed time per "
                "iteration (ms): %.1f | throughput per GPU (TFLOP/s/GPU): %.1f | learning rate: 1.500E-04 | global "
                "batch size:   512 | lm loss: 7.123E+00 | loss scale: 65536.0 | grad norm: 1.234 | number of skipped "
                "iterations: %3d | number of nan iterations:   0 |\n",
                iteration % 60, iteration, iteration * 512, ms, tflops, skipped);
  return buf;
}

// An old Megatron-LM line: no timestamp, no throughput.
std::string OldIterationLine(int iteration, double ms) {
  char buf[480];
  std::snprintf(buf, sizeof buf,
                " iteration %8d/  500000 | consumed samples: %12d | elapsed time per iteration (ms): %.1f | learning "
                "rate: 1.500E-04 | global batch size:   512 | lm loss: 7.123E+00 | loss scale: 65536.0 | number of "
                "skipped iterations:   0 | number of nan iterations:   0 |\n",
                iteration, iteration * 512, ms);
  return buf;
}

constexpr const char* kVocabLine = " > padded vocab (size: 50257) with 175 dummy tokens (new size: 50432)\n";

// The 1.3B log: argument dump, padded vocabulary, 10 iteration lines of which the first is warm-up
// and the sixth skipped (loss-scale overflow, no optimizer step, so it is faster).
std::string Gpt13bLog() {
  std::string log = "using world size: 16, data-parallel size: 8, tensor-model-parallel size: 2\n";
  log += ArgumentDump(Gpt13bArgs());
  log += "> building GPT2BPETokenizer tokenizer ...\n";
  log += kVocabLine;
  log += "[after dataloaders are built] datetime: 2024-05-01 09:59:00\n";
  const double ms[] = {9120.5, 3580.2, 3590.0, 3570.4, 3600.8, 2100.0, 3585.5, 3575.1, 3610.3, 3582.0};
  const double tf[] = {56.1, 137.4, 137.0, 137.8, 136.6, 234.2, 137.2, 137.6, 136.2, 137.3};
  for (int i = 0; i < 10; ++i) log += IterationLine(10 * (i + 1), ms[i], tf[i], i == 5 ? 1 : 0);
  log += "[exiting program at iteration 100] datetime: 2024-05-01 10:10:00\n";
  return log;
}

TEST(MegatronLog, ReadsEveryFieldOfAMegatronLog) {
  TempDir dir("proteus_megatron_log");
  std::string path = dir.Write("gpt13b.log", Gpt13bLog());
  MegatronLogOptions options;
  options.cluster = "dgx-a100-2";
  MeasuredRun run = ReadMegatronLog(path, options);

  EXPECT_EQ(run.name, "gpt13b");
  EXPECT_EQ(run.spec.name, "gpt13b");
  EXPECT_EQ(run.origin, path);
  EXPECT_EQ(run.spec.cluster, "dgx-a100-2");
  EXPECT_EQ(run.spec.dtype, "bf16");
  // 10 lines - 1 warm-up - 1 skipped = 8 samples, in log order, seconds.
  std::vector<double> expect = {3.5802, 3.5900, 3.5704, 3.6008, 3.5855, 3.5751, 3.6103, 3.5820};
  ASSERT_EQ(run.iteration_samples_s.size(), expect.size());
  for (size_t i = 0; i < expect.size(); ++i) EXPECT_NEAR(run.iteration_samples_s[i], expect[i], 1e-12) << i;
  // Sorted: 3.5704 3.5751 3.5802 3.5820 3.5855 3.5900 3.6008 3.6103 -> median (3.5820 + 3.5855) / 2.
  EXPECT_NEAR(run.measured.values.at("iteration_time_s"), (3.5820 + 3.5855) / 2, 1e-12);
  // Sorted: 136.2 136.6 137.0 137.2 137.3 137.4 137.6 137.8 -> (137.2 + 137.3) / 2.
  EXPECT_NEAR(run.measured.values.at("tflops_per_gpu"), 137.25, 1e-9);
  EXPECT_EQ(run.measured.values.size(), 2u);
  EXPECT_EQ(run.measured.source, path);

  const StrategyFlags& f = run.spec.flags;
  EXPECT_EQ(f.tp, 2);
  EXPECT_EQ(f.pp, 1);
  EXPECT_EQ(f.dp, 8);
  EXPECT_EQ(f.mbs, 4);
  EXPECT_EQ(f.gbs, 512);
  EXPECT_EQ(f.schedule, "1f1b");
  EXPECT_EQ(f.zero, 1);
  EXPECT_EQ(f.main_grads, "fp32");  // bf16: Megatron accumulates and reduces in fp32
  EXPECT_EQ(f.recompute, "selective");
  EXPECT_TRUE(f.sp);

  EXPECT_EQ(run.spec.model_origin, path);
  const Json& hf = run.spec.model_doc.at("hf_config");
  EXPECT_EQ(run.spec.model_doc.at("format"), "proteus.model/1");
  EXPECT_EQ(hf.at("model_type"), "gpt2");
  EXPECT_EQ(hf.at("hidden_size"), 2048);
  EXPECT_EQ(hf.at("num_hidden_layers"), 24);
  EXPECT_EQ(hf.at("num_attention_heads"), 16);
  EXPECT_EQ(hf.at("num_key_value_heads"), 16);  // num_query_groups 1 is ignored without GQA
  EXPECT_EQ(hf.at("intermediate_size"), 8192);
  EXPECT_EQ(hf.at("vocab_size"), 50432);        // Megatron's padded size, from the tokenizer line
  EXPECT_EQ(hf.at("max_position_embeddings"), 2048);
  EXPECT_EQ(hf.at("tie_word_embeddings"), true);
  EXPECT_EQ(hf.at("torch_dtype"), "bfloat16");
  const Json& o = run.spec.model_doc.at("overrides");
  EXPECT_EQ(o.at("seq_len"), 2048);
  EXPECT_EQ(o.at("fused_attention"), true);
  EXPECT_EQ(o.at("vocab_pad_multiple"), 1);  // already padded: proteus must not pad again
  EXPECT_EQ(o.at("dropout"), true);

  // The document builds: 24 x 12 h^2 (+ biases, norms) + 50432 h + 2048 h = 1.316e9 parameters.
  Model m = ModelFromDocument(run.spec.model_doc, run.spec.model_origin);
  EXPECT_EQ(m.vocab, 50432);
  EXPECT_EQ(m.seq_len, 2048);
  EXPECT_TRUE(m.fused_attention);
  double params = static_cast<double>(SummarizeModel(m, 0).params);
  EXPECT_NEAR(params, 24 * 12.0 * 2048 * 2048 + 50432.0 * 2048 + 2048.0 * 2048, 0.002 * params);
}

TEST(MegatronLog, LlamaStyleArgumentsGiveALlamaModelAndInterleavedSchedule) {
  std::map<std::string, std::string> args = Gpt13bArgs();
  args["swiglu"] = "True";
  args["normalization"] = "RMSNorm";
  args["position_embedding_type"] = "rope";
  args["group_query_attention"] = "True";
  args["num_query_groups"] = "4";
  args["untie_embeddings_and_output_weights"] = "True";
  args["ffn_hidden_size"] = "5504";
  args["vocab_size"] = "32003";                 // no tokenizer line: padded to 128 x tp 2 = 256
  args["pipeline_model_parallel_size"] = "4";
  args["virtual_pipeline_model_parallel_size"] = "3";
  args["world_size"] = "64";
  args.erase("data_parallel_size");             // dp = 64 / (2 x 4)
  args["recompute_granularity"] = "full";
  args["recompute_method"] = "uniform";
  args["use_flash_attn"] = "False";
  args["transformer_impl"] = "transformer_engine";
  args["hidden_dropout"] = "0.0";
  args["attention_dropout"] = "0.0";
  args["bf16"] = "False";
  args["fp16"] = "True";
  args["use_distributed_optimizer"] = "False";
  args["sequence_parallel"] = "False";
  std::string log = ArgumentDump(args);
  for (int i = 0; i < 3; ++i) log += IterationLine(i + 1, 1000.0 + i, 100.0);
  TempDir dir("proteus_megatron_llama");
  MeasuredRun run = ReadMegatronLog(dir.Write("llama.log", log));
  EXPECT_EQ(run.spec.cluster, "");
  EXPECT_EQ(run.spec.dtype, "fp16");
  const StrategyFlags& f = run.spec.flags;
  EXPECT_EQ(f.tp, 2);
  EXPECT_EQ(f.pp, 4);
  EXPECT_EQ(f.dp, 8);
  EXPECT_EQ(f.schedule, "interleaved:3");
  EXPECT_EQ(f.recompute, "full");
  EXPECT_EQ(f.zero, 0);
  EXPECT_FALSE(f.sp);
  EXPECT_EQ(f.main_grads, "fp16");  // fp16 without accumulate_allreduce_grads_in_fp32
  const Json& hf = run.spec.model_doc.at("hf_config");
  EXPECT_EQ(hf.at("model_type"), "llama");
  EXPECT_EQ(hf.at("num_key_value_heads"), 4);
  EXPECT_EQ(hf.at("intermediate_size"), 5504);
  EXPECT_EQ(hf.at("vocab_size"), 126 * 256);  // 32003 -> 32256
  EXPECT_EQ(hf.at("tie_word_embeddings"), false);
  EXPECT_EQ(hf.at("torch_dtype"), "float16");
  EXPECT_EQ(run.spec.model_doc.at("overrides").at("fused_attention"), true);  // Transformer Engine attention
  EXPECT_EQ(run.spec.model_doc.at("overrides").at("dropout"), false);
  Model m = ModelFromDocument(run.spec.model_doc, run.spec.model_origin);
  EXPECT_EQ(m.family, "llama");
  EXPECT_EQ(m.num_kv_heads, 4);
  // Samples 1.001, 1.002 after one warm-up line.
  EXPECT_NEAR(run.measured.values.at("iteration_time_s"), 1.0015, 1e-12);
}

TEST(MegatronLog, GradReduceInBf16GivesBf16MainGrads) {
  std::map<std::string, std::string> args = Gpt13bArgs();
  args["grad_reduce_in_bf16"] = "True";
  args["vocab_size"] = "50257";
  std::string log = ArgumentDump(args);
  for (int i = 0; i < 3; ++i) log += IterationLine(i + 1, 1000.0, 100.0);
  TempDir dir("proteus_megatron_bf16_grads");
  EXPECT_EQ(ReadMegatronLog(dir.Write("a.log", log)).spec.flags.main_grads, "bf16");
  args["accumulate_allreduce_grads_in_fp32"] = "True";  // printed by validate_args: it decides
  log = ArgumentDump(args);
  for (int i = 0; i < 3; ++i) log += IterationLine(i + 1, 1000.0, 100.0);
  EXPECT_EQ(ReadMegatronLog(dir.Write("b.log", log)).spec.flags.main_grads, "fp32");
}

TEST(MegatronLog, OldLogsWithoutTimestampOrThroughputAndWithRankPrefixes) {
  std::map<std::string, std::string> args = Gpt13bArgs();
  args.erase("recompute_granularity");
  args.erase("use_flash_attn");
  args["checkpoint_activations"] = "True";  // the old spelling of full recomputation
  args["padded_vocab_size"] = "50304";
  std::string log;
  for (const auto& l : {ArgumentDump(args)}) log += l;
  for (int i = 0; i < 4; ++i) log += "[default0]:" + OldIterationLine(100 * (i + 1), 2000.0 + 10 * i);
  TempDir dir("proteus_megatron_old");
  MegatronLogOptions options;
  options.warmup_lines = 2;
  MeasuredRun run = ReadMegatronLog(dir.Write("old.log", log), options);
  ASSERT_EQ(run.iteration_samples_s.size(), 2u);
  EXPECT_DOUBLE_EQ(run.iteration_samples_s[0], 2.02);
  EXPECT_DOUBLE_EQ(run.iteration_samples_s[1], 2.03);
  EXPECT_EQ(run.measured.values.count("tflops_per_gpu"), 0u);
  EXPECT_EQ(run.spec.flags.recompute, "full");
  EXPECT_EQ(run.spec.model_doc.at("hf_config").at("vocab_size"), 50304);
  EXPECT_EQ(run.spec.model_doc.at("overrides").at("fused_attention"), false);
}

TEST(MegatronLog, ForkFieldsGiveSamplesPerSecondHardwareTflopsAndTokens) {
  std::string log = ArgumentDump(Gpt13bArgs()) + kVocabLine;
  for (int i = 0; i < 3; ++i)
    log += " iteration " + std::to_string(i + 1) +
           "/ 100 | elapsed time per iteration (ms): 1000.0 | samples per second: 512.0 | TFLOPs: 150.5 | "
           "tokens per second: 1048576.0 | number of skipped iterations:   0 |\n";
  TempDir dir("proteus_megatron_fork");
  MeasuredRun run = ReadMegatronLog(dir.Write("fork.log", log));
  EXPECT_DOUBLE_EQ(run.measured.values.at("samples_per_s"), 512.0);
  EXPECT_DOUBLE_EQ(run.measured.values.at("hw_tflops_per_gpu"), 150.5);
  EXPECT_DOUBLE_EQ(run.measured.values.at("tokens_per_s"), 1048576.0);
}

// A NeMo 1.x log: Hydra's YAML config, the vocabulary line, and a Lightning progress bar that
// redraws with '\r' (each step drawn twice).
std::string NemoLog() {
  std::string log =
      "[NeMo I 2024-05-01 10:00:00 megatron_gpt_pretraining:37] \n"
      "\n"
      "************** Experiment configuration ***********\n"
      "name: megatron_gpt\n"
      "trainer:\n"
      "  devices: 8\n"
      "  num_nodes: 4\n"
      "  precision: bf16-mixed\n"
      "  max_steps: 1000\n"
      "model:\n"
      "  micro_batch_size: 2\n"
      "  global_batch_size: 256\n"
      "  tensor_model_parallel_size: 4\n"
      "  pipeline_model_parallel_size: 2\n"
      "  virtual_pipeline_model_parallel_size: null\n"
      "  encoder_seq_length: 4096\n"
      "  max_position_embeddings: 4096\n"
      "  num_layers: 32\n"
      "  hidden_size: 4096\n"
      "  ffn_hidden_size: 11008\n"
      "  num_attention_heads: 32\n"
      "  num_query_groups: 8\n"
      "  activation: fast-swiglu\n"
      "  normalization: rmsnorm\n"
      "  position_embedding_type: rope\n"
      "  share_embeddings_and_output_weights: false\n"
      "  sequence_parallel: true\n"
      "  activations_checkpoint_granularity: selective  # attention only\n"
      "  activations_checkpoint_method: null\n"
      "  make_vocab_size_divisible_by: 128\n"
      "  tokenizer:\n"
      "    library: sentencepiece\n"
      "  optim:\n"
      "    name: distributed_fused_adam\n"
      "    lr: 0.0003\n"
      "\n"
      "[NeMo I 2024-05-01 10:00:05 tokenizer_utils:130] Padded vocab_size: 32256, original vocab_size: 32000, "
      "dummy tokens: 256.\n";
  log += "Epoch 0: :   0%|          | 0/1000 [00:00<?, ?it/s]";
  const double s[] = {12.5, 3.61, 3.58, 3.60, 3.59};
  for (int i = 0; i < 5; ++i) {
    std::string t = std::to_string(s[i]);
    t.resize(t.find('.') + 3);
    std::string seg = "\rEpoch 0: :   " + std::to_string(i) + "%|  | " + std::to_string(i + 1) +
                      "/1000 [00:45<1:14:00, reduced_train_loss=7.12, global_step=" + std::to_string(i) +
                      ".000, consumed_samples=" + std::to_string(256 * (i + 1)) + ".0, train_step_timing in s=" + t + "]";
    log += seg + seg;
  }
  return log + "\n";
}

TEST(MegatronLog, ReadsANemoLog) {
  TempDir dir("proteus_nemo_log");
  std::string path = dir.Write("nemo.log", NemoLog());
  MeasuredRun run = ReadMegatronLog(path);
  // Five steps (the redraws dropped), the first as warm-up.
  ASSERT_EQ(run.iteration_samples_s.size(), 4u);
  EXPECT_DOUBLE_EQ(run.iteration_samples_s[0], 3.61);
  EXPECT_DOUBLE_EQ(run.iteration_samples_s[3], 3.59);
  EXPECT_NEAR(run.measured.values.at("iteration_time_s"), (3.59 + 3.60) / 2, 1e-12);
  EXPECT_EQ(run.spec.dtype, "bf16");
  const StrategyFlags& f = run.spec.flags;
  EXPECT_EQ(f.tp, 4);
  EXPECT_EQ(f.pp, 2);
  EXPECT_EQ(f.dp, 4);  // 8 devices x 4 nodes / (4 x 2)
  EXPECT_EQ(f.mbs, 2);
  EXPECT_EQ(f.gbs, 256);
  EXPECT_EQ(f.schedule, "1f1b");
  EXPECT_EQ(f.recompute, "selective");
  EXPECT_EQ(f.zero, 1);
  EXPECT_TRUE(f.sp);
  const Json& hf = run.spec.model_doc.at("hf_config");
  EXPECT_EQ(hf.at("model_type"), "llama");
  EXPECT_EQ(hf.at("num_hidden_layers"), 32);
  EXPECT_EQ(hf.at("hidden_size"), 4096);
  EXPECT_EQ(hf.at("intermediate_size"), 11008);
  EXPECT_EQ(hf.at("num_attention_heads"), 32);
  EXPECT_EQ(hf.at("num_key_value_heads"), 8);
  EXPECT_EQ(hf.at("vocab_size"), 32256);
  EXPECT_EQ(hf.at("tie_word_embeddings"), false);
  EXPECT_EQ(run.spec.model_doc.at("overrides").at("seq_len"), 4096);
  EXPECT_EQ(run.spec.model_doc.at("overrides").at("fused_attention"), true);
  EXPECT_NO_THROW(ModelFromDocument(run.spec.model_doc, run.spec.model_origin));
}

TEST(MegatronLog, ReadsNemo2StepLinesWithFallbackArguments) {
  std::string log;
  for (int i = 0; i < 4; ++i)
    log += "Training epoch 0, iteration " + std::to_string(i) + "/99 | lr: 1.5e-05 | global_batch_size: 512 | "
           "global_step: " + std::to_string(i) + " | reduced_train_loss: 7.12 | train_step_timing in s: " +
           std::to_string(2 + i) + ".5 | consumed_samples: 5632\n";
  TempDir dir("proteus_nemo2_log");
  MegatronLogOptions options;
  options.model_given = true;
  options.fallback_args = {{"tensor_model_parallel_size", "8"}, {"world_size", "64"}, {"micro_batch_size", "1"},
                           {"global_batch_size", "512"}, {"bf16", "True"}};
  MeasuredRun run = ReadMegatronLog(dir.Write("nemo2.log", log), options);
  EXPECT_EQ(run.iteration_samples_s, (std::vector<double>{3.5, 4.5, 5.5}));
  EXPECT_DOUBLE_EQ(run.measured.values.at("iteration_time_s"), 4.5);
  EXPECT_TRUE(run.spec.model_doc.is_null());
  EXPECT_EQ(run.spec.flags.tp, 8);
  EXPECT_EQ(run.spec.flags.dp, 8);
  EXPECT_EQ(run.spec.dtype, "bf16");
}

// The message of the UserError `read` throws ("(no error)" if none; other exceptions escape).
template <typename F>
std::string ErrorOf(F read) {
  try {
    read();
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no error)";
}

std::string ReadError(const std::string& text, MegatronLogOptions options = {}) {
  TempDir dir("proteus_megatron_errors");
  std::string path = dir.Write("train.log", text);
  std::string e = ErrorOf([&] { (void)ReadMegatronLog(path, options); });
  // Report relative to the file so expectations read like the messages users see.
  size_t at = e.find(path);
  return at == 0 ? "train.log" + e.substr(path.size()) : e;
}

bool StartsWith(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

TEST(MegatronLogErrors, NoIterationLines) {
  std::string e = ReadError(ArgumentDump(Gpt13bArgs()) + "loading checkpoint ...\n");
  EXPECT_TRUE(StartsWith(e, "train.log: no iteration lines (\"iteration N/ M | ... elapsed time per iteration "
                            "(ms): ...\")"))
      << e;
}

TEST(MegatronLogErrors, TruncatedLines) {
  std::string good = ArgumentDump(Gpt13bArgs()) + IterationLine(10, 3000, 100) + IterationLine(20, 3000, 100);
  int last = 0;
  for (char c : good) last += c == '\n';
  std::string cut = IterationLine(30, 3000, 100);
  for (size_t keep : {size_t{45}, size_t{60}, cut.size() - 10}) {
    std::string e = ReadError(good + cut.substr(0, keep) + "\n");
    EXPECT_TRUE(StartsWith(e, "train.log: line " + std::to_string(last + 1) + ": truncated iteration line")) << e;
  }
  // Cut before the "elapsed time" field but with the bar that closes a field.
  std::string e = ReadError(good + " iteration 30/ 100 | consumed samples: 512 |\n");
  EXPECT_TRUE(StartsWith(e, "train.log: line " + std::to_string(last + 1) + ": truncated iteration line (no "
                            "\"elapsed time per iteration (ms)\" field)"))
      << e;
  int nemo_lines = 0;
  for (char c : NemoLog()) nemo_lines += c == '\n';
  e = ReadError(NemoLog() + "\rEpoch 0: :   5%|  | 6/1000 [00:45<1:14:00, train_step_timing in s=");
  EXPECT_TRUE(StartsWith(e, "train.log: line " + std::to_string(nemo_lines + 1) + ": truncated progress line")) << e;
}

TEST(MegatronLogErrors, MissingRequiredArguments) {
  for (const char* name : {"num_layers", "hidden_size", "num_attention_heads", "seq_length", "micro_batch_size",
                           "global_batch_size"}) {
    std::map<std::string, std::string> args = Gpt13bArgs();
    args.erase(name);
    std::string e = ReadError(ArgumentDump(args) + kVocabLine + IterationLine(1, 1, 1) + IterationLine(2, 1, 1));
    EXPECT_TRUE(StartsWith(e, std::string("train.log: missing argument ") + name + " ")) << e;
  }
  std::map<std::string, std::string> args = Gpt13bArgs();
  args.erase("world_size");
  args.erase("data_parallel_size");
  std::string e = ReadError(ArgumentDump(args) + kVocabLine + IterationLine(1, 1, 1) + IterationLine(2, 1, 1));
  EXPECT_TRUE(StartsWith(e, "train.log: missing argument world_size (or data_parallel_size)")) << e;
  // No tokenizer line and no vocabulary argument.
  e = ReadError(ArgumentDump(Gpt13bArgs()) + IterationLine(1, 1, 1) + IterationLine(2, 1, 1));
  EXPECT_TRUE(StartsWith(e, "train.log: missing argument padded_vocab_size (or vocab_size)")) << e;
  EXPECT_NE(e.find("log_args"), std::string::npos) << e;  // says how to supply it
}

TEST(MegatronLogErrors, NonNumericValuesNameTheLineAndField) {
  std::string dump = ArgumentDump(Gpt13bArgs());
  std::string vocab = " > padded vocab (size: 50257) with 175 dummy tokens (new size: 50432)\n";
  int lines = 0;
  for (char c : dump + vocab) lines += c == '\n';
  std::string bad = IterationLine(2, 1000, 100);
  bad.replace(bad.find("1000.0"), 6, "1e3ms");
  std::string e = ReadError(dump + vocab + IterationLine(1, 1000, 100) + bad);
  EXPECT_TRUE(StartsWith(e, "train.log: line " + std::to_string(lines + 2) +
                                ": elapsed time per iteration (ms): expected a positive number, got \"1e3ms\""))
      << e;
  bad = IterationLine(2, 1000, 100);
  bad.replace(bad.find("TFLOP/s/GPU): 100.0"), 19, "TFLOP/s/GPU): nan");
  e = ReadError(dump + vocab + IterationLine(1, 1000, 100) + bad);
  EXPECT_TRUE(StartsWith(e, "train.log: line " + std::to_string(lines + 2) + ": throughput per GPU")) << e;
  bad = IterationLine(2, 1000, 100);
  bad.replace(bad.find("iterations:   0"), 15, "iterations: one");
  e = ReadError(dump + vocab + IterationLine(1, 1000, 100) + bad);
  EXPECT_TRUE(StartsWith(e, "train.log: line " + std::to_string(lines + 2) + ": number of skipped iterations")) << e;
  // A bad argument names its own line in the dump.
  std::map<std::string, std::string> args = Gpt13bArgs();
  args["num_layers"] = "twenty";
  std::string text = ArgumentDump(args) + vocab + IterationLine(1, 1, 1) + IterationLine(2, 1, 1);
  int line = 1;
  for (size_t i = 0; i < text.find("  num_layers "); ++i) line += text[i] == '\n';
  e = ReadError(text);
  EXPECT_EQ(e, "train.log: line " + std::to_string(line) + ": num_layers: expected a positive integer, got \"twenty\"");
  args = Gpt13bArgs();
  args["sequence_parallel"] = "yes";
  e = ReadError(ArgumentDump(args) + vocab + IterationLine(1, 1, 1) + IterationLine(2, 1, 1));
  EXPECT_NE(e.find(": sequence_parallel: expected True or False"), std::string::npos) << e;
}

TEST(MegatronLogErrors, NothingLeftAfterWarmup) {
  std::string text = ArgumentDump(Gpt13bArgs()) + IterationLine(1, 1000, 1) + IterationLine(2, 900, 1, 3);
  std::string e = ReadError(text);
  EXPECT_EQ(e, "train.log: 2 timed line(s), none left after dropping 1 warm-up line(s) and 1 with skipped "
               "iterations (lower the warm-up count)");
  MegatronLogOptions options;
  options.warmup_lines = 5;
  e = ReadError(text, options);
  EXPECT_TRUE(StartsWith(e, "train.log: 2 timed line(s), none left after dropping 2 warm-up")) << e;
  options.warmup_lines = -1;
  EXPECT_TRUE(StartsWith(ReadError(text, options), "train.log: the warm-up line count")) << ReadError(text, options);
}

TEST(MegatronLogErrors, FallbackValuesNameTheirOrigin) {
  MegatronLogOptions options;
  options.fallback_args = {{"padded_vocab_size", "-5"}};
  options.fallback_origin = "runs.json: runs[0].log_args";
  std::string e = ReadError(ArgumentDump(Gpt13bArgs()) + IterationLine(1, 1, 1) + IterationLine(2, 1, 1), options);
  EXPECT_EQ(e, "runs.json: runs[0].log_args.padded_vocab_size: padded_vocab_size: expected a positive integer, got "
               "\"-5\"");
  // A fallback fills a gap; the log's own values win over it.
  options.fallback_args = {{"padded_vocab_size", "50304"}, {"num_layers", "2"}};
  TempDir dir("proteus_megatron_fallback");
  MeasuredRun run =
      ReadMegatronLog(dir.Write("f.log", ArgumentDump(Gpt13bArgs()) + IterationLine(1, 1, 1) + IterationLine(2, 1, 1)),
                      options);
  EXPECT_EQ(run.spec.model_doc.at("hf_config").at("vocab_size"), 50304);
  EXPECT_EQ(run.spec.model_doc.at("hf_config").at("num_hidden_layers"), 24);
}

TEST(MegatronLogErrors, UnmodelledFeaturesAndUnreadableFiles) {
  std::string vocab = " > padded vocab (size: 50257) with 175 dummy tokens (new size: 50432)\n";
  std::map<std::string, std::string> args = Gpt13bArgs();
  args["context_parallel_size"] = "2";
  std::string e = ReadError(ArgumentDump(args) + vocab + IterationLine(1, 1, 1) + IterationLine(2, 1, 1));
  EXPECT_NE(e.find(": context_parallel_size: context parallelism is not modelled"), std::string::npos) << e;
  args = Gpt13bArgs();
  args["num_experts"] = "8";
  e = ReadError(ArgumentDump(args) + vocab + IterationLine(1, 1, 1) + IterationLine(2, 1, 1));
  EXPECT_NE(e.find(": num_experts: mixture-of-experts"), std::string::npos) << e;
  args = Gpt13bArgs();
  args.erase("data_parallel_size");
  args["world_size"] = "13";
  e = ReadError(ArgumentDump(args) + vocab + IterationLine(1, 1, 1) + IterationLine(2, 1, 1));
  EXPECT_NE(e.find(": world_size: world_size 13 is not a multiple of tp x pp = 2"), std::string::npos) << e;
  e = ErrorOf([] { (void)ReadMegatronLog("/nonexistent/train.log"); });
  EXPECT_EQ(e, "/nonexistent/train.log: cannot open file");
}

TEST(MegatronLog, LooksLikeTrainingLog) {
  EXPECT_TRUE(LooksLikeTrainingLog(Gpt13bLog()));
  EXPECT_TRUE(LooksLikeTrainingLog(NemoLog()));
  EXPECT_TRUE(LooksLikeTrainingLog(OldIterationLine(1, 1)));
  EXPECT_FALSE(LooksLikeTrainingLog("{\"format\": \"proteus.run/1\"}"));
  EXPECT_FALSE(LooksLikeTrainingLog("hello\n"));
}

// Megatron-Core with Transformer Engine fp8 keeps the model in bf16: the run simulates --fp8, not a
// whole-model fp8 dtype.
TEST(MegatronLog, Fp8RunsBecomeTransformerEngineFp8Flags) {
  std::map<std::string, std::string> args = Gpt13bArgs();
  args["fp8"] = "hybrid";
  args["fp8_recipe"] = "tensorwise";
  std::string log = ArgumentDump(args) + kVocabLine + IterationLine(10, 3000, 100) + IterationLine(20, 3000, 100);
  TempDir dir("proteus_megatron_fp8");
  MegatronLogOptions options;
  options.cluster = "dgx-h100-2";
  options.warmup_lines = 0;
  MeasuredRun run = ReadMegatronLog(dir.Write("fp8.log", log), options);
  EXPECT_EQ(run.spec.dtype, "bf16");
  EXPECT_EQ(run.spec.flags.fp8, "hybrid");
  EXPECT_EQ(run.spec.flags.fp8_scaling, "current");
  args["fp8_recipe"] = "mxfp8";
  std::string e = ReadError(ArgumentDump(args) + kVocabLine + IterationLine(10, 3000, 100), options);
  EXPECT_TRUE(e.find("fp8_recipe") != std::string::npos && e.find("mxfp8") != std::string::npos) << e;
}

}  // namespace
}  // namespace proteus
