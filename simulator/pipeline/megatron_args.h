// Megatron-LM's arguments -> the model, shorthand strategy and dtype of the run they configure.
//
// Arguments are keyed by Megatron's argparse destination ("tensor_model_parallel_size" for
// --tensor-model-parallel-size, "fp8" for --fp8-format) with their values as Megatron prints them
// ("8", "True", "None", "RMSNorm"). Three readers fill them: a training log's argument dump
// (calibrate/megatron_log.h), a launch line (megatron_launch.h: `pretrain_gpt.py --num-layers 96
// ...`) and the Megatron spellings of `proteus-sim simulate`'s flags.
//
// The model (an inline proteus.model/1 with an hf_config):
//   GPT-style, unless --swiglu or --normalization RMSNorm (then Llama-style: no biases, RoPE);
//   hidden_size, num_layers, num_attention_heads, seq_length are required; ffn_hidden_size
//   defaults to 4h (SwiGLU: 2/3 of it, down to a multiple of 64, as Megatron's validate_args);
//   num_query_groups only with group_query_attention; kv_channels is the head dimension;
//   vocabulary: padded_vocab_size, else vocab_size padded to make_vocab_size_divisible_by x tp;
//   attention fused with use_flash_attn or transformer_impl transformer_engine;
//   MoE (num_experts > 0, SwiGLU only): moe_router_topk, moe_ffn_hidden_size,
//   moe_shared_expert_intermediate_size (a multiple of the expert width), moe_layer_freq (an
//   integer), moe_router_score_function, moe_expert_capacity_factor.
// The strategy: tp, pp, cp, ep, dp (data_parallel_size, or world_size / (tp pp cp); neither: fill
// the cluster), mbs, gbs, interleaving (virtual_pipeline_model_parallel_size or
// num_layers_per_virtual_pipeline_stage), sequence_parallel, recompute, distributed optimizer
// (ZeRO 1), overlap_grad_reduce / overlap_param_gather / tp_comm_overlap (when printed), fp8 and
// its recipe, the main-gradient dtype, activation offloading.
//
// Example: {num_layers 96, hidden_size 12288, num_attention_heads 96, seq_length 2048,
// vocab_size 50257, tensor_model_parallel_size 8} -> a GPT-style model with 51,200 vocabulary rows
// (50257 padded to 128 x 8) and flags {tp 8}.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/json_file.h"
#include "simulator/pipeline/run_spec.h"

namespace proteus {

struct MegatronArg {
  std::string value;  // as printed: "8", "True", "None", "RMSNorm"
  std::string where;  // "train.log: line 12", "launch.sh" or "--tensor-model-parallel-size"
};
/// Megatron's arguments by destination name.
using MegatronArgs = std::map<std::string, MegatronArg>;

/// "--tensor-model-parallel-size" for "tensor_model_parallel_size" ("--fp8-format" for "fp8").
std::string MegatronFlagName(const std::string& dest);

/// Reads arguments with errors that name where each value came from.
class MegatronArgReader {
 public:
  /// `origin` names the whole set in errors; `missing_hint` follows "missing argument X" (how to
  /// give it); `flag_names` shows arguments as command-line flags (--num-layers) in errors.
  MegatronArgReader(const MegatronArgs& args, std::string origin, std::string missing_hint, bool flag_names);

  bool Has(const std::string& name) const { return Str(name).has_value(); }
  /// The value, or nullopt when absent or None/null.
  std::optional<std::string> Str(const std::string& name) const;
  /// A positive integer (at most 2^31 - 1), or nullopt when absent; UserError otherwise.
  std::optional<int64_t> PositiveInt(const std::string& name) const;
  int64_t RequiredInt(const std::string& name, const std::string& alternatives = "") const;
  std::optional<double> Num(const std::string& name) const;
  /// True/False (absent: false).
  bool Flag(const std::string& name) const;
  [[noreturn]] void Fail(const std::string& name, const std::string& what) const;
  /// How errors name the argument ("num_layers" or "--num-layers").
  std::string Shown(const std::string& name) const;

 private:
  const MegatronArgs& args_;
  std::string origin_, missing_hint_;
  bool flag_names_;
};

/// The model the arguments describe, as an inline proteus.model/1 document named `name`.
Json MegatronModelDocument(const MegatronArgReader& a, const std::string& name);

/// The shorthand flags. `num_layers` is the model's layer count, needed only for
/// num_layers_per_virtual_pipeline_stage (else num_layers is read from the arguments). Arguments
/// that are absent keep proteus's defaults (micro-batch 1, gbs from mbs x dp, dp filling the
/// cluster, overlapped gradient reduction).
StrategyFlags MegatronStrategyFlags(const MegatronArgReader& a, std::optional<int64_t> num_layers = std::nullopt);

/// bf16, fp16, or fp32 when neither flag is set (Megatron's default).
std::string MegatronDtype(const MegatronArgReader& a);

}  // namespace proteus
