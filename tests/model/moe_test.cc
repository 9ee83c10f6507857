// Mixture-of-experts models: parameter counts against the publishers' totals (zoo and config.json),
// the forward FLOPs of moe.h's model, layer placement, load skew and the refusals.
#include "simulator/model/moe.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"
#include "simulator/model/hf_config.h"
#include "simulator/model/transformer.h"
#include "simulator/model/zoo.h"

namespace proteus {
namespace {

std::string ErrorOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no error)";
}

void ExpectWithin1Percent(double got, double published, const std::string& what) {
  EXPECT_LT(std::abs(got / published - 1), 0.01) << what << ": " << got << " vs published " << published;
}

const Operator* FindOp(const Model& m, const std::string& path) {
  const Operator* found = nullptr;
  VisitOps(m.root, [&](const std::string& p, const Operator& op) {
    if (p == path) found = &op;
  });
  return found;
}

struct Published {
  const char* name;
  double total, active;
};

TEST(Moe, ZooParameterCountsMatchThePublishers) {
  // Mistral AI (Mixtral of Experts, 2024) and the Qwen3 technical report (2025), Table 2.
  for (const Published& p : {Published{"mixtral-8x7b", 46.7e9, 12.9e9}, Published{"mixtral-8x22b", 141e9, 39e9},
                             Published{"qwen3-30b-a3b", 30.5e9, 3.3e9}, Published{"qwen3-235b-a22b", 235e9, 22e9}}) {
    Model m = BuildZooModel(p.name);
    ExpectWithin1Percent(static_cast<double>(m.Params()), p.total, std::string(p.name) + " total");
    // Active counts are rounded to two digits by the publishers: 3.3B is 3.25-3.35B.
    EXPECT_LT(std::abs(static_cast<double>(ActiveParams(m.root)) / p.active - 1), 0.02) << p.name << " active "
                                                                                       << ActiveParams(m.root);
    EXPECT_GT(m.num_experts, 0);
  }
}

TEST(Moe, MixtralExactCountAndFlopsOfTheHeaderExample) {
  Model m = BuildZooModel("mixtral-8x7b");
  // moe.h: per layer attention 4096*(4096 + 2*1024) + 4096*4096 = 41,943,040, router 32,768,
  // experts 3*8*4096*14336 = 1,409,286,144, two RMSNorms 8,192; embedding + head 2*32000*4096;
  // final norm 4096.
  int64_t layer = 41943040 + 32768 + 1409286144 + 8192;
  EXPECT_EQ(m.Params(), 32 * layer + 2 * 32000 * 4096 + 4096);
  EXPECT_EQ(m.Params(), 46702792704);
  const Module* mlp = FindModule(m.root, "layers.0.mlp");
  ASSERT_NE(mlp, nullptr);
  EXPECT_EQ(mlp->type, "moe");
  // Forward FLOPs of one MoE block, one sample of 4096 tokens: router 2*s*h*E + routed experts
  // 2*s*k*h*3*F (the norm, scores, permute and unpermute move bytes only).
  double s = 4096, h = 4096, f = 14336;
  EXPECT_NEAR(mlp->ForwardFlops(), 2 * s * h * 8 + 2 * s * 2 * h * 3 * f, 1e3);
  // The expert GEMM of uniform routing: s*k = 8192 token slots.
  const Operator* fc1 = FindOp(m, "layers.0.mlp.fc1");
  ASSERT_NE(fc1, nullptr);
  EXPECT_EQ(fc1->FindDim("x")->size, 8192);
  EXPECT_TRUE(IsRoutedExpertOp(*fc1));
}

TEST(Moe, SkewPricesTheBusiestExpertButKeepsModelFlops) {
  ZooOptions o;
  o.moe_load_skew = 1.5;
  Model skewed = BuildZooModel("mixtral-8x7b", o);
  Model uniform = BuildZooModel("mixtral-8x7b");
  const Operator* fc1 = FindOp(skewed, "layers.0.mlp.fc1");
  EXPECT_EQ(fc1->FindDim("x")->size, 12288);  // 8192 * 1.5
  EXPECT_NEAR(fc1->ForwardFlops(), FindOp(uniform, "layers.0.mlp.fc1")->ForwardFlops(), 1.0);
  EXPECT_NEAR(fc1->HardwareFlops(), 1.5 * fc1->ForwardFlops(), 1e3);
  // A capacity factor caps the busiest expert (tokens beyond it are dropped).
  o.moe_capacity_factor = 1.25;
  EXPECT_EQ(FindOp(BuildZooModel("mixtral-8x7b", o), "layers.0.mlp.fc1")->FindDim("x")->size, 10240);
  // Skew on a dense model is refused by name.
  EXPECT_NE(ErrorOf([&] { BuildZooModel("llama3-8b", o, "m.json"); }).find("m.json: moe_"), std::string::npos);
  o.moe_capacity_factor.reset();
  o.moe_load_skew = 0.5;
  EXPECT_NE(ErrorOf([&] { BuildZooModel("mixtral-8x7b", o, "m.json"); }).find("m.json: moe_load_skew"),
            std::string::npos);
}

Json MixtralConfig() {
  // mistralai/Mixtral-8x7B-v0.1 config.json (the keys that size the model).
  return {{"architectures", {"MixtralForCausalLM"}}, {"model_type", "mixtral"}, {"hidden_act", "silu"},
          {"hidden_size", 4096}, {"intermediate_size", 14336}, {"max_position_embeddings", 32768},
          {"num_attention_heads", 32}, {"num_experts_per_tok", 2}, {"num_hidden_layers", 32},
          {"num_key_value_heads", 8}, {"num_local_experts", 8}, {"rms_norm_eps", 1e-05},
          {"router_aux_loss_coef", 0.02}, {"sliding_window", nullptr}, {"tie_word_embeddings", false},
          {"torch_dtype", "bfloat16"}, {"vocab_size", 32000}};
}

TEST(Moe, HfConfigsImportAsMoe) {
  Model mixtral = ModelFromHfConfig(MixtralConfig(), "config.json");
  EXPECT_EQ(mixtral.Params(), BuildZooModel("mixtral-8x7b").Params());
  EXPECT_EQ(mixtral.num_experts, 8);
  EXPECT_EQ(mixtral.moe_top_k, 2);

  // Qwen/Qwen3-30B-A3B config.json.
  Json qwen = {{"model_type", "qwen3_moe"}, {"hidden_act", "silu"}, {"hidden_size", 2048},
               {"intermediate_size", 6144}, {"moe_intermediate_size", 768}, {"num_experts", 128},
               {"num_experts_per_tok", 8}, {"decoder_sparse_step", 1}, {"mlp_only_layers", Json::array()},
               {"norm_topk_prob", true}, {"num_attention_heads", 32}, {"num_key_value_heads", 4},
               {"head_dim", 128}, {"num_hidden_layers", 48}, {"max_position_embeddings", 40960},
               {"vocab_size", 151936}, {"tie_word_embeddings", false}, {"torch_dtype", "bfloat16"}};
  Model q = ModelFromHfConfig(qwen, "config.json");
  ExpectWithin1Percent(static_cast<double>(q.Params()), 30.5e9, "Qwen3-30B-A3B config.json");
  EXPECT_EQ(q.Params(), BuildZooModel("qwen3-30b-a3b").Params());

  // DeepSeekMoE placement: first_k_dense_replace dense layers, then MoE with shared experts.
  Json ds = {{"model_type", "deepseek"}, {"hidden_act", "silu"}, {"hidden_size", 2048},
             {"intermediate_size", 10944}, {"moe_intermediate_size", 1408}, {"n_routed_experts", 64},
             {"n_shared_experts", 2}, {"num_experts_per_tok", 6}, {"first_k_dense_replace", 1},
             {"moe_layer_freq", 1}, {"num_attention_heads", 16}, {"num_hidden_layers", 28},
             {"max_position_embeddings", 4096}, {"vocab_size", 102400}, {"tie_word_embeddings", false}};
  Model d = ModelFromHfConfig(ds, "config.json");
  EXPECT_EQ(FindModule(d.root, "layers.0.mlp")->type, "mlp");
  EXPECT_EQ(FindModule(d.root, "layers.1.mlp")->type, "moe");
  // deepseek-ai/deepseek-moe-16b-base: 16.4B parameters (DeepSeekMoE paper, Table 1).
  ExpectWithin1Percent(static_cast<double>(d.Params()), 16.4e9, "DeepSeekMoE 16B");
  // The shared experts: 2 x 1408 wide, one dense SwiGLU of 2816.
  EXPECT_EQ(FindOp(d, "layers.1.mlp.shared_fc1")->FindDim("f")->size, 2816);
}

TEST(Moe, HfRefusalsNameTheKey) {
  // DeepSeek-V3: MLA is not modelled, so the config is refused rather than simulated without it.
  Json v3 = {{"model_type", "deepseek_v3"}, {"hidden_act", "silu"}, {"hidden_size", 7168},
             {"intermediate_size", 18432}, {"moe_intermediate_size", 2048}, {"n_routed_experts", 256},
             {"n_shared_experts", 1}, {"num_experts_per_tok", 8}, {"first_k_dense_replace", 3},
             {"kv_lora_rank", 512}, {"q_lora_rank", 1536}, {"num_attention_heads", 128},
             {"num_hidden_layers", 61}, {"max_position_embeddings", 163840}, {"vocab_size", 129280}};
  EXPECT_EQ(ErrorOf([&] { ModelFromHfConfig(v3, "v3.json"); }).rfind("v3.json: kv_lora_rank: not supported", 0), 0u);
  Json bad = MixtralConfig();
  bad.erase("num_experts_per_tok");
  EXPECT_NE(ErrorOf([&] { ModelFromHfConfig(bad, "c.json"); }).find("c.json: num_experts_per_tok"), std::string::npos);
  bad = MixtralConfig();
  bad["num_experts_per_tok"] = 9;
  EXPECT_NE(ErrorOf([&] { ModelFromHfConfig(bad, "c.json"); }).find("c.json: num_experts_per_tok"), std::string::npos);
  bad = MixtralConfig();
  bad["moe_layer_freq"] = 2;
  EXPECT_NE(ErrorOf([&] { ModelFromHfConfig(bad, "c.json"); }).find("c.json: moe_layer_freq"), std::string::npos);
  bad = MixtralConfig();
  bad.erase("num_local_experts");
  EXPECT_NE(ErrorOf([&] { ModelFromHfConfig(bad, "c.json"); }).find("c.json: num_experts_per_tok"), std::string::npos);
  bad = MixtralConfig();
  bad["model_type"] = "gpt2";
  bad["hidden_act"] = "gelu";
  EXPECT_NE(ErrorOf([&] { ModelFromHfConfig(bad, "c.json"); }).find("c.json: num_local_experts"), std::string::npos);
}

TEST(Moe, SparseStepPlacesMoeLayers) {
  TransformerConfig c;
  c.style = BlockStyle::kLlama;
  c.num_layers = 4;
  c.hidden = 256;
  c.num_heads = 4;
  c.vocab = 1000;
  c.seq_len = 128;
  c.bias = c.dropout = false;
  c.moe.num_experts = 4;
  c.moe.top_k = 1;
  c.moe.sparse_step = 2;
  Model m = BuildTransformer(c, "t");
  EXPECT_EQ(FindModule(m.root, "layers.0.mlp")->type, "mlp");
  EXPECT_EQ(FindModule(m.root, "layers.1.mlp")->type, "moe");
  EXPECT_EQ(FindModule(m.root, "layers.2.mlp")->type, "mlp");
  EXPECT_EQ(FindModule(m.root, "layers.3.mlp")->type, "moe");
  c.moe.first_dense_layers = 4;
  EXPECT_NE(ErrorOf([&] { BuildTransformer(c, "t"); }).find("t: moe.first_dense_layers"), std::string::npos);
}

}  // namespace
}  // namespace proteus
