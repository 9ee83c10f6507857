#include "simulator/pipeline/megatron_args.h"

#include <charconv>
#include <cmath>

#include "common/error.h"
#include "common/log.h"

namespace proteus {
namespace {

// Integers are bounded so that products (tp x pp x cp) and casts to int stay exact.
constexpr int64_t kMaxInt = (int64_t{1} << 31) - 1;

std::optional<double> ParseNumber(const std::string& s) {
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<int64_t> ParseInteger(const std::string& s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string Quoted(const std::string& s) {
  constexpr size_t kShown = 40;  // a damaged value can be long; the start is what identifies it
  return "\"" + s.substr(0, kShown) + (s.size() > kShown ? "...\"" : "\"");
}

}  // namespace

std::string MegatronFlagName(const std::string& dest) {
  if (dest == "fp8") return "--fp8-format";  // argparse dest="fp8"
  if (dest == "world_size") return "the GPU count (torchrun --nproc_per_node x --nnodes)";
  std::string flag = "--" + dest;
  for (char& c : flag)
    if (c == '_') c = '-';
  return flag;
}

MegatronArgReader::MegatronArgReader(const MegatronArgs& args, std::string origin, std::string missing_hint,
                                     bool flag_names)
    : args_(args), origin_(std::move(origin)), missing_hint_(std::move(missing_hint)), flag_names_(flag_names) {}

std::string MegatronArgReader::Shown(const std::string& name) const {
  return flag_names_ ? MegatronFlagName(name) : name;
}

std::optional<std::string> MegatronArgReader::Str(const std::string& name) const {
  auto it = args_.find(name);
  if (it == args_.end()) return std::nullopt;
  const std::string& v = it->second.value;
  if (v.empty() || v == "None" || v == "null" || v == "~") return std::nullopt;
  return v;
}

std::optional<int64_t> MegatronArgReader::PositiveInt(const std::string& name) const {
  auto s = Str(name);
  if (!s) return std::nullopt;
  auto v = ParseInteger(*s);
  if (!v || *v <= 0 || *v > kMaxInt) Fail(name, "expected a positive integer, got " + Quoted(*s));
  return v;
}

int64_t MegatronArgReader::RequiredInt(const std::string& name, const std::string& alternatives) const {
  if (auto v = PositiveInt(name)) return *v;
  std::string hint = missing_hint_;
  if (size_t at = hint.find("{}"); at != std::string::npos) hint.replace(at, 2, name);
  throw UserError(origin_, "missing argument " + Shown(name) + alternatives + hint);
}

std::optional<double> MegatronArgReader::Num(const std::string& name) const {
  auto s = Str(name);
  if (!s) return std::nullopt;
  auto v = ParseNumber(*s);
  if (!v) Fail(name, "expected a number, got " + Quoted(*s));
  return v;
}

bool MegatronArgReader::Flag(const std::string& name) const {
  auto s = Str(name);
  if (!s) return false;
  if (*s == "True" || *s == "true") return true;
  if (*s == "False" || *s == "false") return false;
  Fail(name, "expected True or False, got " + Quoted(*s));
}

void MegatronArgReader::Fail(const std::string& name, const std::string& what) const {
  auto it = args_.find(name);
  throw UserError(it == args_.end() ? origin_ : it->second.where, Shown(name) + ": " + what);
}

namespace {

int64_t PaddedVocab(const MegatronArgReader& a, int64_t tp) {
  if (auto v = a.PositiveInt("padded_vocab_size")) return *v;
  if (auto v = a.PositiveInt("vocab_size")) {
    // Megatron pads to a multiple of make_vocab_size_divisible_by x tp (_vocab_size_with_padding).
    int64_t multiple = a.PositiveInt("make_vocab_size_divisible_by").value_or(128) * tp;
    return (*v + multiple - 1) / multiple * multiple;
  }
  return a.RequiredInt("padded_vocab_size", " (or vocab_size)");
}

// Megatron's default MLP width when none is given (validate_args): 4h, or 2/3 of it rounded
// down to a multiple of 64 for SwiGLU, which keeps the parameter count of a GeLU MLP.
int64_t DefaultFfn(int64_t hidden, bool swiglu) { return swiglu ? 4 * hidden * 2 / 3 / 64 * 64 : 4 * hidden; }

// The MoE keys of an HF config (Qwen-MoE and DeepSeekMoE spellings, model/hf_config.h) from
// Megatron-Core's --num-experts and --moe-* arguments.
void AddMoe(const MegatronArgReader& a, bool llama, int64_t ffn, Json& hf, Json& overrides) {
  auto experts = a.PositiveInt("num_experts");
  if (!experts) return;
  if (!llama) a.Fail("num_experts", "proteus models SwiGLU experts only; add --swiglu (Megatron's MoE examples use it)");
  int64_t expert_ffn = a.PositiveInt("moe_ffn_hidden_size").value_or(ffn);
  hf["num_experts"] = *experts;
  hf["num_experts_per_tok"] = a.PositiveInt("moe_router_topk").value_or(2);  // Megatron's default
  hf["moe_intermediate_size"] = expert_ffn;
  if (auto shared = a.PositiveInt("moe_shared_expert_intermediate_size")) {
    if (*shared % expert_ffn != 0)
      a.Fail("moe_shared_expert_intermediate_size",
             "must be a multiple of the expert width " + std::to_string(expert_ffn) + " (shared experts of that width)");
    hf["n_shared_experts"] = *shared / expert_ffn;
  }
  if (auto freq = a.Str("moe_layer_freq"); freq && *freq != "1") {
    auto step = a.PositiveInt("moe_layer_freq");  // a pattern list is refused here (not an integer)
    // Megatron puts MoE on layers i % N == 0, proteus on (i + 1) % N == 0: same count, shifted.
    LogWarn(a.Shown("moe_layer_freq") + " " + *freq + ": simulated as every " + std::to_string(*step) +
            "th layer MoE counting from layer " + std::to_string(*step - 1) + " (Megatron starts at layer 0)");
    hf["decoder_sparse_step"] = *step;
  }
  if (auto score = a.Str("moe_router_score_function")) hf["scoring_func"] = *score;
  if (auto c = a.Num("moe_expert_capacity_factor")) overrides["moe_capacity_factor"] = *c;
}

}  // namespace

Json MegatronModelDocument(const MegatronArgReader& a, const std::string& name) {
  int64_t tp = a.PositiveInt("tensor_model_parallel_size").value_or(1);
  int64_t hidden = a.RequiredInt("hidden_size");
  int64_t heads = a.RequiredInt("num_attention_heads");
  int64_t seq = a.RequiredInt("seq_length");
  bool swiglu = a.Flag("swiglu");
  bool rmsnorm = a.Str("normalization").value_or("LayerNorm") == "RMSNorm";
  // proteus has two decoder blocks; SwiGLU or RMSNorm means a Llama-style one (no biases, no
  // dropout, RoPE), else GPT-style. The MLP matters most for FLOPs, and SwiGLU decides its shape.
  bool llama = swiglu || rmsnorm;
  // Megatron prints num_query_groups (default 1) even without grouped-query attention.
  std::optional<int64_t> groups;
  if (a.Flag("group_query_attention")) groups = a.PositiveInt("num_query_groups");
  int64_t ffn = a.PositiveInt("ffn_hidden_size").value_or(DefaultFfn(hidden, swiglu));
  Json hf = {{"model_type", llama ? "llama" : "gpt2"},
             {"name_or_path", name},
             {"hidden_size", hidden},
             {"num_hidden_layers", a.RequiredInt("num_layers")},
             {"num_attention_heads", heads},
             {"num_key_value_heads", groups.value_or(heads)},
             {"intermediate_size", ffn},
             {"vocab_size", PaddedVocab(a, tp)},
             {"max_position_embeddings", a.PositiveInt("max_position_embeddings").value_or(seq)},
             {"tie_word_embeddings", !a.Flag("untie_embeddings_and_output_weights")},
             {"torch_dtype", a.Flag("bf16") ? "bfloat16" : a.Flag("fp16") ? "float16" : "float32"}};
  if (auto kv = a.PositiveInt("kv_channels")) hf["head_dim"] = *kv;
  // Flash attention, or Transformer Engine's fused attention, keeps no s^2 scores.
  bool fused = a.Flag("use_flash_attn") || a.Str("transformer_impl").value_or("") == "transformer_engine";
  Json overrides = {{"seq_len", seq}, {"fused_attention", fused}, {"vocab_pad_multiple", 1}};
  auto hidden_dropout = a.Num("hidden_dropout"), attention_dropout = a.Num("attention_dropout");
  if (hidden_dropout || attention_dropout)
    overrides["dropout"] = hidden_dropout.value_or(0) > 0 || attention_dropout.value_or(0) > 0;
  AddMoe(a, llama, ffn, hf, overrides);
  return {{"format", "proteus.model/1"}, {"hf_config", hf}, {"overrides", overrides}};
}

namespace {

std::string Recompute(const MegatronArgReader& a) {
  // recompute_method (uniform / block) and recompute_num_layers choose which layers; proteus
  // recomputes all of a stage's layers, so any full recomputation reads as "full".
  if (auto g = a.Str("recompute_granularity")) {
    if (*g == "full" || *g == "selective") return *g;
    a.Fail("recompute_granularity", "expected full, selective or None, got " + Quoted(*g));
  }
  if (a.Flag("checkpoint_activations")) return "full";
  if (a.Flag("recompute_activations")) return "selective";
  return "none";
}

// Megatron's main-gradient dtype: fp32 when accumulate_allreduce_grads_in_fp32 (validate_args sets
// it for bf16 unless --grad-reduce-in-bf16), else the 16-bit model dtype (fp16's default).
std::string MainGrads(const MegatronArgReader& a) {
  if (!a.Flag("bf16") && !a.Flag("fp16")) return "fp32";
  bool fp32 = a.Str("accumulate_allreduce_grads_in_fp32") ? a.Flag("accumulate_allreduce_grads_in_fp32")
                                                           : a.Flag("bf16") && !a.Flag("grad_reduce_in_bf16");
  return fp32 ? "fp32" : a.Flag("bf16") ? "bf16" : "fp16";
}

// dp from data_parallel_size, else world_size / (tp x pp x cp), else 0 (fill the cluster).
int DataParallel(const MegatronArgReader& a, const StrategyFlags& f) {
  if (auto dp = a.PositiveInt("data_parallel_size")) return static_cast<int>(*dp);
  auto world = a.PositiveInt("world_size");
  if (!world) return 0;
  int64_t model_parallel = int64_t{f.tp} * f.pp * f.cp;
  if (*world % model_parallel != 0)
    a.Fail("world_size", "world_size " + std::to_string(*world) + " is not a multiple of tp x pp" +
                             (f.cp > 1 ? " x cp" : "") + " = " + std::to_string(model_parallel));
  return static_cast<int>(*world / model_parallel);
}

std::string Schedule(const MegatronArgReader& a, int pp, std::optional<int64_t> num_layers) {
  int64_t chunks = a.PositiveInt("virtual_pipeline_model_parallel_size").value_or(1);
  if (auto per_stage = a.PositiveInt("num_layers_per_virtual_pipeline_stage")) {
    int64_t layers = num_layers ? *num_layers : a.RequiredInt("num_layers");
    if (layers % (int64_t{pp} * *per_stage) != 0)
      a.Fail("num_layers_per_virtual_pipeline_stage", "does not divide num_layers / pp (" + std::to_string(layers) +
                                                          " layers, pp " + std::to_string(pp) + ")");
    chunks = layers / pp / *per_stage;
  }
  return chunks > 1 ? "interleaved:" + std::to_string(chunks) : "1f1b";
}

// Transformer Engine fp8: --fp8-format e4m3 | hybrid, --fp8-recipe delayed | tensorwise.
void Fp8(const MegatronArgReader& a, StrategyFlags& f) {
  auto fp8 = a.Str("fp8");
  if (!fp8) return;
  if (*fp8 != "e4m3" && *fp8 != "hybrid") a.Fail("fp8", "expected e4m3 or hybrid, got " + Quoted(*fp8));
  f.fp8 = *fp8;
  std::string recipe = a.Str("fp8_recipe").value_or("delayed");
  if (recipe != "delayed" && recipe != "tensorwise")
    a.Fail("fp8_recipe", "only the delayed and tensorwise fp8 recipes are modelled, got " + Quoted(recipe));
  f.fp8_scaling = recipe == "tensorwise" ? "current" : "delayed";
}

// Overlaps are read only where given: a log's dump prints them all, a launch line fills
// Megatron's defaults (megatron_launch.h); elsewhere proteus's defaults stay.
void Overlaps(const MegatronArgReader& a, StrategyFlags& f) {
  if (a.Has("overlap_grad_reduce")) f.overlap_grad_reduce = a.Flag("overlap_grad_reduce");
  if (a.Has("overlap_param_gather")) f.overlap_param_gather = a.Flag("overlap_param_gather");
  if (a.Has("tp_comm_overlap")) f.tp_comm_overlap = a.Flag("tp_comm_overlap");
}

}  // namespace

StrategyFlags MegatronStrategyFlags(const MegatronArgReader& a, std::optional<int64_t> num_layers) {
  StrategyFlags f;
  f.tp = static_cast<int>(a.PositiveInt("tensor_model_parallel_size").value_or(1));
  f.pp = static_cast<int>(a.PositiveInt("pipeline_model_parallel_size").value_or(1));
  f.cp = static_cast<int>(a.PositiveInt("context_parallel_size").value_or(1));
  f.ep = static_cast<int>(a.PositiveInt("expert_model_parallel_size").value_or(1));
  f.dp = DataParallel(a, f);
  f.mbs = static_cast<int>(a.PositiveInt("micro_batch_size").value_or(1));
  f.gbs = static_cast<int>(a.PositiveInt("global_batch_size").value_or(0));
  f.schedule = Schedule(a, f.pp, num_layers);
  f.zero = a.Flag("use_distributed_optimizer") ? 1 : 0;
  f.recompute = Recompute(a);
  f.sp = a.Flag("sequence_parallel");
  Fp8(a, f);
  Overlaps(a, f);
  f.main_grads = MainGrads(a);
  if (a.Flag("cpu_offloading"))
    f.offload_activations = static_cast<int>(a.PositiveInt("cpu_offloading_num_layers").value_or(1));
  return f;
}

std::string MegatronDtype(const MegatronArgReader& a) {
  // --fp8-format keeps the model in bf16 (Transformer Engine fp8 GEMMs: the strategy's fp8).
  if (a.Flag("bf16")) return "bf16";
  if (a.Flag("fp16")) return "fp16";
  return "fp32";
}

}  // namespace proteus
