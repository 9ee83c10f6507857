#include "simulator/pipeline/megatron_launch.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "common/error.h"
#include "common/json_file.h"

namespace proteus {
namespace {

// The arguments megatron_args.h reads (or this file, for the vocabulary and attention).
const std::set<std::string>& ReadArguments() {
  static const std::set<std::string> kRead = {
      "num_layers", "hidden_size", "ffn_hidden_size", "num_attention_heads", "group_query_attention",
      "num_query_groups", "kv_channels", "seq_length", "max_position_embeddings", "vocab_size",
      "make_vocab_size_divisible_by", "tokenizer_type", "vocab_file", "merge_file", "swiglu", "normalization",
      "untie_embeddings_and_output_weights", "use_flash_attn", "transformer_impl", "attention_backend",
      "hidden_dropout", "attention_dropout", "bf16", "fp16", "fp8", "fp8_recipe", "tensor_model_parallel_size",
      "pipeline_model_parallel_size", "context_parallel_size", "expert_model_parallel_size", "micro_batch_size",
      "global_batch_size", "virtual_pipeline_model_parallel_size", "num_layers_per_virtual_pipeline_stage",
      "recompute_granularity", "recompute_activations", "checkpoint_activations", "sequence_parallel",
      "use_distributed_optimizer", "overlap_grad_reduce", "overlap_param_gather", "tp_comm_overlap",
      "grad_reduce_in_bf16", "accumulate_allreduce_grads_in_fp32", "cpu_offloading", "cpu_offloading_num_layers",
      "num_experts", "moe_router_topk", "moe_ffn_hidden_size", "moe_shared_expert_intermediate_size",
      "moe_layer_freq", "moe_router_score_function", "moe_expert_capacity_factor"};
  return kRead;
}

// Arguments that change neither one training iteration's time nor its memory: optimizer
// hyper-parameters, schedules, data, checkpoints, logging, evaluation. Prefixes end in '_'.
bool HasNoEffect(const std::string& dest) {
  static const std::vector<std::string> kNames = {
      "lr", "min_lr", "weight_decay", "clip_grad", "init_method_std", "seed", "train_iters", "train_samples",
      "data_path", "train_data_path", "valid_data_path", "test_data_path", "split", "save", "load",
      "tensorboard_dir", "tokenizer_model", "data_cache_path", "distributed_backend", "distributed_timeout_minutes",
      "rampup_batch_size", "initial_loss_scale", "min_loss_scale", "loss_scale", "loss_scale_window", "hysteresis",
      "num_workers", "dataloader_type", "mock_data", "finetune", "no_load_optim", "no_load_rng", "use_checkpoint_args",
      "timing_log_level", "start_weight_decay", "end_weight_decay", "attention_softmax_in_fp32"};
  static const std::vector<std::string> kPrefixes = {"lr_", "adam_", "sgd_", "eval_", "log_", "save_", "ckpt_",
                                                      "wandb_", "exit_", "tensorboard_", "weight_decay_"};
  if (std::find(kNames.begin(), kNames.end(), dest) != kNames.end()) return true;
  for (const auto& p : kPrefixes)
    if (dest.compare(0, p.size(), p) == 0) return true;
  return false;
}

// One word of a shell line: quotes and backslashes as POSIX sh, no expansion.
size_t ReadWord(std::string_view t, size_t i, std::string& word, const std::string& origin) {
  for (; i < t.size() && t[i] != ' ' && t[i] != '\t' && t[i] != '\n'; ++i) {
    char c = t[i];
    if (c == '\\' && i + 1 < t.size()) {
      if (t[i + 1] != '\n') word += t[i + 1];  // backslash-newline continues the line
      ++i;
    } else if (c == '\'' || c == '"') {
      size_t close = t.find(c, i + 1);
      if (close == std::string_view::npos) throw UserError(origin, std::string("unclosed ") + c + " quote");
      word += t.substr(i + 1, close - i - 1);
      i = close;
    } else {
      word += c;
    }
  }
  return i;
}

struct Option {
  std::string dest, spelled, value;  // value "True" for a bare flag
};

// "--name value...", "--name=value", "--name": words after an option up to the next "--" are its
// value (joined by spaces: --data-path 0.5 a 0.5 b).
std::vector<Option> ReadOptions(const std::vector<std::string>& words, const std::string& origin) {
  std::vector<Option> options;
  for (const std::string& w : words) {
    if (w.size() > 2 && w.compare(0, 2, "--") == 0) {
      size_t eq = w.find('=');
      Option o{w.substr(2, eq == std::string::npos ? std::string::npos : eq - 2), w.substr(0, eq), ""};
      std::replace(o.dest.begin(), o.dest.end(), '-', '_');
      if (eq != std::string::npos) o.value = w.substr(eq + 1);
      options.push_back(o);
    } else if (options.empty()) {
      throw UserError(origin, "expected Megatron-LM arguments (--name value ...), got \"" + w + "\" before any");
    } else {
      options.back().value += (options.back().value.empty() ? "" : " ") + w;
    }
  }
  for (Option& o : options)
    if (o.value.empty()) o.value = "True";
    else if (o.dest == "fp8_format") o.dest = "fp8";  // argparse dest of --fp8-format
  return options;
}

// torchrun's GPU count: --nproc_per_node (--nproc-per-node) x --nnodes (default 1).
void ReadLauncher(const std::vector<Option>& launcher, const std::string& origin, MegatronLaunch& run) {
  std::optional<Option> nproc, nnodes;
  for (const Option& o : launcher) {
    if (o.dest == "nproc_per_node") nproc = o;
    else if (o.dest == "nnodes") nnodes = o;
    else run.no_effect.push_back(o.spelled);
  }
  if (!nproc) return;
  MegatronArgs counts = {{"nproc_per_node", {nproc->value, origin}}};
  if (nnodes) counts["nnodes"] = {nnodes->value, origin};
  MegatronArgReader a(counts, origin, "", /*flag_names=*/true);
  int64_t world = *a.PositiveInt("nproc_per_node") * a.PositiveInt("nnodes").value_or(1);
  run.args["world_size"] = {std::to_string(world), origin};
}

void Put(MegatronArgs& args, const std::string& dest, const std::string& value, const std::string& where) {
  if (!args.count(dest)) args[dest] = {value, where};
}

// Megatron-LM's defaults that change a prediction (arguments.py), and the vocabulary and attention
// implied by the tokenizer and attention backend.
void FillDefaults(MegatronArgs& args, const std::string& origin) {
  const std::string& dflt = origin;  // Megatron-LM's defaults
  for (const char* d : {"hidden_dropout", "attention_dropout"}) Put(args, d, "0.1", dflt);
  Put(args, "transformer_impl", "transformer_engine", dflt);
  for (const char* d : {"overlap_grad_reduce", "overlap_param_gather", "tp_comm_overlap"}) Put(args, d, "False", dflt);
  if (auto backend = args.find("attention_backend"); backend != args.end()) {
    bool unfused = backend->second.value == "unfused" || backend->second.value == "local";
    args["use_flash_attn"] = {unfused ? "False" : "True", backend->second.where};
    if (unfused) args["transformer_impl"] = {"local", backend->second.where};
  }
  auto type = args.find("tokenizer_type");
  bool gpt2 = type != args.end() ? type->second.value == "GPT2BPETokenizer" : args.count("merge_file") > 0;
  if (gpt2) Put(args, "vocab_size", "50257", origin);  // GPT2BPETokenizer's 50,257 tokens
}

std::string NameFor(const std::string& file_or_text, bool is_file) {
  return is_file ? std::filesystem::path(file_or_text).stem().string() : "megatron-args";
}

}  // namespace

std::vector<std::string> SplitShellWords(std::string_view text, const std::string& origin) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
    } else if (c == '\\' && i + 1 < text.size() && (text[i + 1] == '\n' || text[i + 1] == '\r')) {
      i += 2;  // a continuation between words
    } else if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
    } else {
      std::string word;
      i = ReadWord(text, i, word, origin);
      while (!word.empty() && word.back() == '\r') word.pop_back();  // CRLF files
      words.push_back(word);
    }
  }
  return words;
}

MegatronLaunch ReadMegatronLaunch(const std::string& file_or_text, const std::string& flag) {
  std::error_code ec;
  bool is_file = std::filesystem::is_regular_file(file_or_text, ec);
  if (!is_file && file_or_text.find("--") == std::string::npos)
    throw UserError(flag, "no file \"" + file_or_text + "\", and not an argument list (--num-layers 96 ...)");
  std::string origin = is_file ? file_or_text : flag;
  std::vector<std::string> words = SplitShellWords(is_file ? ReadTextFile(file_or_text) : file_or_text, origin);
  auto script = std::find_if(words.begin(), words.end(), [](const std::string& w) {
    return w.size() > 3 && w.compare(w.size() - 3, 3, ".py") == 0;
  });
  MegatronLaunch run;
  if (script != words.end()) {
    std::vector<std::string> launcher(words.begin(), script);
    while (!launcher.empty() && launcher.front().compare(0, 2, "--") != 0) launcher.erase(launcher.begin());
    ReadLauncher(ReadOptions(launcher, origin), origin, run);
    words.erase(words.begin(), script + 1);
  }
  for (const Option& o : ReadOptions(words, origin)) {
    run.args[o.dest] = {o.value, origin};
    if (ReadArguments().count(o.dest)) continue;
    auto& list = HasNoEffect(o.dest) ? run.no_effect : run.not_modelled;
    if (std::find(list.begin(), list.end(), o.spelled) == list.end()) list.push_back(o.spelled);
  }
  FillDefaults(run.args, origin);
  MegatronArgReader a(run.args, origin, " (Megatron-LM requires it too)", /*flag_names=*/true);
  a.RequiredInt("micro_batch_size");
  if (!a.Has("vocab_size"))
    throw UserError(origin, "missing argument --vocab-size: proteus does not read tokenizer files; give --vocab-size "
                            "N (the tokenizer's size before padding), or use --tokenizer-type GPT2BPETokenizer");
  run.spec.model = NameFor(file_or_text, is_file);
  run.spec.model_origin = origin;
  run.spec.model_doc = MegatronModelDocument(a, run.spec.model);
  run.spec.flags = MegatronStrategyFlags(a);
  run.spec.dtype = MegatronDtype(a);
  return run;
}

}  // namespace proteus
