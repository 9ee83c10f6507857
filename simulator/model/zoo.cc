#include "simulator/model/zoo.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "common/error.h"
#include "simulator/model/classic_cnn.h"
#include "simulator/model/inception.h"
#include "simulator/model/resnet.h"
#include "simulator/model/transformer.h"

namespace proteus {
namespace {

struct TransformerEntry {
  std::string_view name;
  BlockStyle style;
  int64_t layers, hidden, heads, kv_heads, ffn, vocab, seq, max_positions;
  bool tied;
  DType dtype;
};

constexpr BlockStyle kGpt = BlockStyle::kGpt;
constexpr BlockStyle kLlama = BlockStyle::kLlama;
constexpr BlockStyle kBert = BlockStyle::kBert;
constexpr DType kBf16 = DType::kBf16;
constexpr DType kFp16 = DType::kFp16;

// ffn 0 = 4 * hidden; kv_heads 0 = heads; max_positions 0 = seq.
constexpr std::array<TransformerEntry, 32> kTransformers = {{
    // GPT-3: Brown et al. 2020, "Language Models are Few-Shot Learners", Table 2.1 (n_layers,
    // d_model, n_heads). Vocabulary: GPT-2 BPE (50,257) padded to 51,200 as in Megatron-LM runs
    // (Narayanan et al. SC'21). Two deviations from the table, which is not self-consistent:
    // XL (1.3B) lists 24 heads of 128 (= 3072 != 2048): we use 16 heads of 128; 13B lists d_model
    // 5140 with 40 heads of 128: we use 5120.
    {"gpt3-125m", kGpt, 12, 768, 12, 0, 0, 51200, 2048, 0, true, kBf16},
    {"gpt3-350m", kGpt, 24, 1024, 16, 0, 0, 51200, 2048, 0, true, kBf16},
    {"gpt3-760m", kGpt, 24, 1536, 16, 0, 0, 51200, 2048, 0, true, kBf16},
    {"gpt3-1.3b", kGpt, 24, 2048, 16, 0, 0, 51200, 2048, 0, true, kBf16},
    {"gpt3-2.7b", kGpt, 32, 2560, 32, 0, 0, 51200, 2048, 0, true, kBf16},
    {"gpt3-6.7b", kGpt, 32, 4096, 32, 0, 0, 51200, 2048, 0, true, kBf16},
    {"gpt3-13b", kGpt, 40, 5120, 40, 0, 0, 51200, 2048, 0, true, kBf16},
    {"gpt3-175b", kGpt, 96, 12288, 96, 0, 0, 51200, 2048, 0, true, kBf16},
    // Megatron-LM weak-scaling GPT models: Narayanan et al., "Efficient Large-Scale Language Model
    // Training on GPU Clusters Using Megatron-LM", SC'21, Table 1 (heads, hidden, layers); vocab
    // 51,200, seq 2048, trained in fp16.
    {"megatron-1.7b", kGpt, 24, 2304, 24, 0, 0, 51200, 2048, 0, true, kFp16},
    {"megatron-3.6b", kGpt, 30, 3072, 32, 0, 0, 51200, 2048, 0, true, kFp16},
    {"megatron-7.5b", kGpt, 36, 4096, 32, 0, 0, 51200, 2048, 0, true, kFp16},
    {"megatron-18.4b", kGpt, 40, 6144, 48, 0, 0, 51200, 2048, 0, true, kFp16},
    {"megatron-39.1b", kGpt, 48, 8192, 64, 0, 0, 51200, 2048, 0, true, kFp16},
    {"megatron-76.1b", kGpt, 60, 10240, 80, 0, 0, 51200, 2048, 0, true, kFp16},
    {"megatron-145.6b", kGpt, 80, 12288, 96, 0, 0, 51200, 2048, 0, true, kFp16},
    {"megatron-310.1b", kGpt, 96, 16384, 128, 0, 0, 51200, 2048, 0, true, kFp16},
    {"megatron-529.6b", kGpt, 105, 20480, 128, 0, 0, 51200, 2048, 0, true, kFp16},
    {"megatron-1008b", kGpt, 128, 25600, 160, 0, 0, 51200, 2048, 0, true, kFp16},
    // GPT-2: Radford et al. 2019 and the released checkpoints' config.json (n_layer, n_embd,
    // n_head, n_ctx 1024, vocab 50,257, tied embeddings).
    {"gpt2-small", kGpt, 12, 768, 12, 0, 0, 50257, 1024, 0, true, kBf16},
    {"gpt2-medium", kGpt, 24, 1024, 16, 0, 0, 50257, 1024, 0, true, kBf16},
    {"gpt2-large", kGpt, 36, 1280, 20, 0, 0, 50257, 1024, 0, true, kBf16},
    {"gpt2-xl", kGpt, 48, 1600, 25, 0, 0, 50257, 1024, 0, true, kBf16},
    // Llama 2: Touvron et al. 2023 and the meta-llama/Llama-2-*-hf config.json files (GQA with 8
    // kv heads for 70B only; context 4096; vocab 32,000; untied).
    {"llama2-7b", kLlama, 32, 4096, 32, 0, 11008, 32000, 4096, 4096, false, kBf16},
    {"llama2-13b", kLlama, 40, 5120, 40, 0, 13824, 32000, 4096, 4096, false, kBf16},
    {"llama2-70b", kLlama, 80, 8192, 64, 8, 28672, 32000, 4096, 4096, false, kBf16},
    // Llama 3 / 3.2: meta-llama/Meta-Llama-3-8B, -70B and Llama-3.2-1B config.json (GQA, 8 kv
    // heads, vocab 128,256; 3.2-1B ties its embeddings). Training sequence 8192 (the 3.2 config
    // allows 131,072 positions after long-context extension; we train at the pre-training 8192).
    {"llama3-8b", kLlama, 32, 4096, 32, 8, 14336, 128256, 8192, 8192, false, kBf16},
    {"llama3-70b", kLlama, 80, 8192, 64, 8, 28672, 128256, 8192, 8192, false, kBf16},
    {"llama3.2-1b", kLlama, 16, 2048, 32, 8, 8192, 128256, 8192, 131072, true, kBf16},
    // Llama 3.1 405B: meta-llama/Llama-3.1-405B config.json (126 layers, 16384 hidden, 128 heads,
    // 8 kv heads, ffn 53248, vocab 128,256, untied); trained at sequence 8192 (Dubey et al. 2024,
    // pre-training stage), 131,072 positions after extension.
    {"llama3.1-405b", kLlama, 126, 16384, 128, 8, 53248, 128256, 8192, 131072, false, kBf16},
    // BERT: Devlin et al. 2019 (L, H, A) and bert-*-uncased config.json (vocab 30,522, 512
    // positions, 2 token types); pre-training heads MLM + NSP.
    {"bert-base", kBert, 12, 768, 12, 0, 0, 30522, 512, 512, true, kBf16},
    {"bert-large", kBert, 24, 1024, 16, 0, 0, 30522, 512, 512, true, kBf16},
    // Llama-style 1B stand-in sized like TinyLlama-1.1B (config.json: 22 layers, 2048, 32 heads,
    // 4 kv heads, ffn 5632, vocab 32,000, context 2048).
    {"tinyllama-1.1b", kLlama, 22, 2048, 32, 4, 5632, 32000, 2048, 2048, false, kBf16},
}};

// Mixture-of-experts models (Llama-style blocks with MoE MLPs, model/moe.h). head_dim 0 = hidden /
// heads; expert_ffn is one routed expert's SwiGLU width.
struct MoeEntry {
  TransformerEntry base;
  int64_t head_dim, experts, top_k, expert_ffn;
};

constexpr std::array<MoeEntry, 4> kMoeTransformers = {{
    // Mixtral: Jiang et al. 2024, "Mixtral of Experts", Table 1, and mistralai/Mixtral-8x7B-v0.1
    // and Mixtral-8x22B-v0.1 config.json (8 experts, top 2, every layer MoE; vocab 32,000 and
    // 32,768; untied). 46.7B / 141B total, 12.9B / 39B active (Mistral AI). Trained here at 4096.
    {{"mixtral-8x7b", kLlama, 32, 4096, 32, 8, 14336, 32000, 4096, 32768, false, kBf16}, 0, 8, 2, 14336},
    {{"mixtral-8x22b", kLlama, 56, 6144, 48, 8, 16384, 32768, 4096, 65536, false, kBf16}, 0, 8, 2, 16384},
    // Qwen3 MoE: Qwen/Qwen3-30B-A3B and Qwen3-235B-A22B config.json (128 experts, top 8,
    // moe_intermediate_size 768 / 1536, head_dim 128, decoder_sparse_step 1, no shared experts,
    // vocab 151,936, untied); 30.5B / 3.3B and 235B / 22B (Qwen3 technical report, Table 2).
    {{"qwen3-30b-a3b", kLlama, 48, 2048, 32, 4, 6144, 151936, 4096, 40960, false, kBf16}, 128, 128, 8, 768},
    {{"qwen3-235b-a22b", kLlama, 94, 4096, 64, 4, 12288, 151936, 4096, 40960, false, kBf16}, 128, 128, 8, 1536},
}};

const TransformerEntry* FindTransformer(const std::string& name) {
  for (const auto& e : kTransformers)
    if (e.name == name) return &e;
  for (const auto& e : kMoeTransformers)
    if (e.base.name == name) return &e.base;
  return nullptr;
}

const MoeEntry* FindMoe(const std::string& name) {
  for (const auto& e : kMoeTransformers)
    if (e.base.name == name) return &e;
  return nullptr;
}

TransformerConfig ConfigOf(const TransformerEntry& e) {
  TransformerConfig c;
  c.name = std::string(e.name);
  c.style = e.style;
  c.num_layers = e.layers;
  c.hidden = e.hidden;
  c.num_heads = e.heads;
  c.num_kv_heads = e.kv_heads;
  c.ffn_hidden = e.ffn;
  c.vocab = e.vocab;
  c.seq_len = e.seq;
  c.max_positions = e.max_positions;
  c.tied_embeddings = e.tied;
  c.dtype = e.dtype;
  bool llama = e.style == kLlama;
  c.dropout = !llama;
  c.bias = !llama;
  c.causal = e.style != kBert;
  if (const MoeEntry* moe = FindMoe(c.name)) {
    c.head_dim = moe->head_dim;
    c.moe.num_experts = moe->experts;
    c.moe.top_k = moe->top_k;
    c.moe.expert_ffn = moe->expert_ffn;
  }
  return c;
}

}  // namespace

void ApplyZooOptions(const ZooOptions& o, TransformerConfig& c) {
  if (o.dtype) c.dtype = *o.dtype;
  if (o.num_layers) c.num_layers = *o.num_layers;
  if (o.hidden) c.hidden = *o.hidden;  // head size follows: hidden / heads
  if (o.num_heads) c.num_heads = *o.num_heads;
  if (o.num_kv_heads) c.num_kv_heads = *o.num_kv_heads;
  if (o.ffn_hidden) c.ffn_hidden = *o.ffn_hidden;
  if (o.vocab) c.vocab = *o.vocab;
  if (o.vocab_pad_multiple) c.vocab_pad_multiple = *o.vocab_pad_multiple;
  if (o.seq_len) {
    c.seq_len = *o.seq_len;
    // Learned position tables grow with the sequence (a model trained at that length).
    if (c.max_positions < c.seq_len) c.max_positions = c.seq_len;
  }
  if (o.fused_attention) c.fused_attention = *o.fused_attention;
  if (o.tied_embeddings) c.tied_embeddings = *o.tied_embeddings;
  if (o.dropout) c.dropout = *o.dropout;
  if (o.name) c.name = *o.name;
  if (o.moe_load_skew) c.moe.load_skew = *o.moe_load_skew;
  if (o.moe_capacity_factor) c.moe.capacity_factor = *o.moe_capacity_factor;
}

namespace {

std::string KnownNames() {
  std::string s;
  for (const auto& n : ZooModelNames()) s += (s.empty() ? "" : ", ") + n;
  return s;
}

}  // namespace

std::vector<std::string> ZooModelNames() {
  std::vector<std::string> names;
  for (const auto& e : kTransformers) names.emplace_back(e.name);
  for (const auto& e : kMoeTransformers) names.emplace_back(e.base.name);
  for (const auto& n : ResNetNames()) names.push_back(n);
  for (const auto& n : ClassicCnnNames()) names.push_back(n);
  names.emplace_back(kInceptionV3);
  std::sort(names.begin(), names.end());
  return names;
}

bool IsVisionModel(const std::string& name) { return IsResNet(name) || IsClassicCnn(name) || name == kInceptionV3; }

bool IsZooModel(const std::string& name) {
  auto names = ZooModelNames();
  return std::find(names.begin(), names.end(), name) != names.end();
}

Model BuildZooModel(const std::string& name) { return BuildZooModel(name, ZooOptions{}, "model"); }

Model BuildZooModel(const std::string& name, const ZooOptions& options, const std::string& origin) {
  if (const TransformerEntry* e = FindTransformer(name)) {
    if (options.image_size) throw UserError(origin + ": image_size", "does not apply to a transformer");
    if (options.aux_logits) throw UserError(origin + ": aux_logits", "applies to inception-v3 only");
    TransformerConfig c = ConfigOf(*e);
    ApplyZooOptions(options, c);
    return BuildTransformer(c, origin);
  }
  if (IsResNet(name)) return BuildResNet(name, options, origin);
  if (IsClassicCnn(name)) return BuildClassicCnn(name, options, origin);
  if (name == kInceptionV3) return BuildInceptionV3(options, origin);
  throw UserError(origin, "unknown model '" + name + "'; known zoo models: " + KnownNames() +
                              " (or give a proteus.model/1 file or an HF config.json)");
}

}  // namespace proteus
