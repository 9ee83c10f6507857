#include "simulator/model/hf_config.h"

#include <algorithm>
#include <array>
#include <map>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "simulator/model/hf_unsupported.h"

namespace proteus {
namespace {

constexpr std::array<std::string_view, 11> kLlamaTypes = {"llama", "mistral", "qwen2", "qwen3", "gemma", "phi3",
                                                          "olmo", "mixtral", "qwen2_moe", "qwen3_moe", "deepseek"};
constexpr std::array<std::string_view, 8> kGptTypes = {"gpt2", "gpt_neo", "gpt_neox", "gptj", "opt", "bloom",
                                                       "falcon", "gpt_bigcode"};
constexpr std::array<std::string_view, 2> kBertTypes = {"bert", "roberta"};

template <size_t N>
bool In(const std::array<std::string_view, N>& set, const std::string& x) {
  return std::find(set.begin(), set.end(), x) != set.end();
}

// The first key present among `keys`, as a positive integer; nullopt if none is present.
std::optional<int64_t> FirstInt(const JsonView& v, std::initializer_list<std::string_view> keys) {
  for (auto k : keys)
    if (v.Has(k) && !v.raw().at(std::string(k)).is_null()) return v.PositiveInt(k);
  return std::nullopt;
}

int64_t RequireInt(const JsonView& v, std::initializer_list<std::string_view> keys) {
  if (auto x = FirstInt(v, keys)) return *x;
  std::string names;
  for (auto k : keys) names += (names.empty() ? "" : " or ") + std::string(k);
  v.FailField(*keys.begin(), "missing: expected " + names + " (a positive integer)");
}

BlockStyle StyleOf(const JsonView& v) {
  std::string type = v.StrOr("model_type", "");
  std::string act = v.StrOr("hidden_act", v.StrOr("activation_function", ""));
  if (In(kBertTypes, type)) return BlockStyle::kBert;
  if (In(kLlamaTypes, type)) return BlockStyle::kLlama;
  if (In(kGptTypes, type)) return BlockStyle::kGpt;
  if (act == "silu" || act == "swiglu") return BlockStyle::kLlama;
  if (act.rfind("gelu", 0) == 0 || act == "relu") return BlockStyle::kGpt;
  v.FailField("model_type", "cannot tell the block style from model_type '" + type + "' and hidden_act '" + act +
                                "'; expected a Llama-style type (llama, mistral, qwen2, ...), a GPT-style type (gpt2, "
                                "gpt_neox, opt, ...), bert, or hidden_act silu / gelu");
}

DType DTypeOf(const JsonView& v) {
  std::string t = v.StrOr("torch_dtype", v.StrOr("dtype", "bfloat16"));
  if (t == "bfloat16") return DType::kBf16;
  if (t == "float16") return DType::kFp16;
  if (t == "float32") return DType::kFp32;
  v.FailField(v.Has("torch_dtype") ? "torch_dtype" : "dtype",
              "unsupported '" + t + "'; expected bfloat16, float16 or float32");
}

// ValidateTransformerConfig names TransformerConfig fields; errors name the key the config used.
void ValidateWithHfKeys(const TransformerConfig& c, const JsonView& v, const std::string& origin) {
  try {
    ValidateTransformerConfig(c, origin);
  } catch (const UserError& e) {
    static const std::map<std::string, std::vector<std::string>> kKeys = {
        {"hidden", {"hidden_size", "n_embd", "d_model"}},
        {"num_layers", {"num_hidden_layers", "n_layer", "num_layers"}},
        {"num_heads", {"num_attention_heads", "n_head"}},
        {"num_kv_heads", {"num_key_value_heads"}},
        {"head_dim", {"head_dim"}},
        {"ffn_hidden", {"intermediate_size", "n_inner", "ffn_dim"}},
        {"vocab", {"vocab_size"}},
        {"seq_len", {"max_position_embeddings", "n_positions", "n_ctx"}},
        {"max_positions", {"max_position_embeddings", "n_positions", "n_ctx"}},
        {"type_vocab", {"type_vocab_size"}},
        {"moe.num_experts", {"num_local_experts", "num_experts", "n_routed_experts"}},
        {"moe.top_k", {"num_experts_per_tok"}},
        {"moe.expert_ffn", {"moe_intermediate_size", "intermediate_size"}},
        {"moe.first_dense_layers", {"first_k_dense_replace"}},
        {"moe.sparse_step", {"decoder_sparse_step"}}};
    std::string prefix = origin + ": ";
    if (e.where().rfind(prefix, 0) != 0) throw;
    auto it = kKeys.find(e.where().substr(prefix.size()));
    if (it == kKeys.end()) throw;
    for (const auto& key : it->second)
      if (v.Has(key))
        throw UserError(prefix + key, std::string(e.what()).substr(e.where().size() + 2) + " (as the model's " +
                                          it->first + ")");
    throw;
  }
}

// A non-negative integer key where 0 or null means "off" (dense configs carry "num_experts": 0).
int64_t CountOr0(const JsonView& v, std::initializer_list<std::string_view> keys) {
  for (auto k : keys) {
    if (!v.Has(k) || v.raw().at(std::string(k)).is_null()) continue;
    if (v.raw().at(std::string(k)) == 0) return 0;
    return v.PositiveInt(k);
  }
  return 0;
}

// Mixtral (num_local_experts), Qwen2/3-MoE (num_experts, moe_intermediate_size,
// decoder_sparse_step) and DeepSeekMoE (n_routed_experts, n_shared_experts of width
// moe_intermediate_size each, first_k_dense_replace, moe_layer_freq, scoring_func) spellings.
MoeConfig MoeOf(const JsonView& v) {
  MoeConfig m;
  m.num_experts = CountOr0(v, {"num_local_experts", "num_experts", "n_routed_experts"});
  if (m.num_experts == 0) {
    if (CountOr0(v, {"num_experts_per_tok"}) > 0)
      v.FailField("num_experts_per_tok", "is set but the config has no experts (num_local_experts, num_experts or "
                                         "n_routed_experts)");
    return m;
  }
  m.top_k = RequireInt(v, {"num_experts_per_tok"});
  m.expert_ffn = CountOr0(v, {"moe_intermediate_size"});  // 0: intermediate_size (Mixtral)
  m.num_shared_experts = CountOr0(v, {"n_shared_experts"});
  m.first_dense_layers = CountOr0(v, {"first_k_dense_replace"});
  m.sparse_step = FirstInt(v, {"decoder_sparse_step"}).value_or(1);
  // DeepSeek's rule (i % moe_layer_freq == 0) and Qwen's ((i + 1) % step == 0) agree only at 1.
  if (FirstInt(v, {"moe_layer_freq"}).value_or(1) != 1)
    v.FailField("moe_layer_freq", "only 1 (every layer after first_k_dense_replace is MoE) is supported");
  std::string score = v.StrOr("scoring_func", "softmax");
  if (score != "softmax" && score != "sigmoid")
    v.FailField("scoring_func", "unsupported '" + score + "'; expected softmax or sigmoid");
  m.score = score == "sigmoid" ? RouterScore::kSigmoid : RouterScore::kSoftmax;
  return m;
}

}  // namespace

bool LooksLikeHfConfig(const Json& doc) {
  return doc.is_object() && (doc.contains("model_type") || doc.contains("hidden_size") || doc.contains("n_embd"));
}

TransformerConfig TransformerConfigFromHf(const Json& config, const std::string& origin) {
  JsonView v(config, origin);
  if (!v.IsObject()) v.Fail("expected a JSON object (an HF config.json)");
  RejectUnsupportedHfKeys(v, UnsupportedHfKeys());
  TransformerConfig c;
  c.style = StyleOf(v);
  c.name = v.StrOr("name_or_path", v.StrOr("_name_or_path", ""));
  c.hidden = RequireInt(v, {"hidden_size", "n_embd", "d_model"});
  c.num_layers = RequireInt(v, {"num_hidden_layers", "n_layer", "num_layers"});
  c.num_heads = RequireInt(v, {"num_attention_heads", "n_head"});
  c.num_kv_heads = FirstInt(v, {"num_key_value_heads"}).value_or(0);
  c.head_dim = FirstInt(v, {"head_dim"}).value_or(0);
  c.ffn_hidden = FirstInt(v, {"intermediate_size", "n_inner", "ffn_dim"}).value_or(0);
  c.vocab = RequireInt(v, {"vocab_size"});
  c.max_positions = RequireInt(v, {"max_position_embeddings", "n_positions", "n_ctx"});
  c.seq_len = c.max_positions;
  c.type_vocab = FirstInt(v, {"type_vocab_size"}).value_or(2);
  bool tied_default = c.style != BlockStyle::kLlama;
  c.tied_embeddings = v.BoolOr("tie_word_embeddings", tied_default);
  c.dtype = DTypeOf(v);
  bool llama = c.style == BlockStyle::kLlama;
  c.dropout = !llama;
  c.bias = !llama;
  c.causal = c.style != BlockStyle::kBert;
  c.moe = MoeOf(v);
  ValidateWithHfKeys(c, v, origin);
  return c;
}

Model ModelFromHfConfig(const Json& config, const std::string& origin) {
  TransformerConfig c = TransformerConfigFromHf(config, origin);
  if (c.name.empty()) c.name = origin;
  return BuildTransformer(c, origin);
}

}  // namespace proteus
