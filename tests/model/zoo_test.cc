#include "simulator/model/zoo.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "simulator/model/backward.h"
#include "simulator/model/resnet.h"

namespace proteus {
namespace {

// Llama parameters: per layer q and o 2h^2, k and v 2*h*G*d, SwiGLU 3*h*F, two RMSNorms 2h;
// embedding V*h, untied head V*h, final norm h. Expected values are the HF checkpoints' counts.
double LlamaParams(double l, double h, double kv_dim, double f, double v, bool tied) {
  return l * (2 * h * h + 2 * h * kv_dim + 3 * h * f + 2 * h) + v * h * (tied ? 1 : 2) + h;
}

TEST(Zoo, LlamaParamsMatchCheckpoints) {
  EXPECT_EQ(BuildZooModel("llama2-7b").Params(), 6738415616);     // meta-llama/Llama-2-7b-hf
  EXPECT_EQ(BuildZooModel("llama2-13b").Params(), 13015864320);   // meta-llama/Llama-2-13b-hf
  EXPECT_EQ(BuildZooModel("llama2-70b").Params(), 68976648192);   // meta-llama/Llama-2-70b-hf
  EXPECT_EQ(BuildZooModel("llama3-8b").Params(), 8030261248);     // meta-llama/Meta-Llama-3-8B
  EXPECT_EQ(BuildZooModel("llama3-70b").Params(), 70553706496);   // meta-llama/Meta-Llama-3-70B
  EXPECT_EQ(BuildZooModel("llama3.1-405b").Params(), 405853388800);  // meta-llama/Llama-3.1-405B
  EXPECT_EQ(BuildZooModel("llama3.2-1b").Params(), 1235814400);   // meta-llama/Llama-3.2-1B (tied)
  EXPECT_EQ(BuildZooModel("llama3-8b").Params(),
            static_cast<int64_t>(LlamaParams(32, 4096, 8 * 128, 14336, 128256, false)));
}

TEST(Zoo, LlamaFlopsMatchClosedForm) {
  // Forward per sample: l*(2*s*h*(h + 2*G*d) + 2*s*h^2 + 6*s*h*F + 4*s^2*h) + 2*s*h*V.
  Model m = BuildZooModel("llama3-70b");
  double l = 80, h = 8192, kv = 8 * 128, f = 28672, v = 128256, s = 8192;
  double fwd = l * (2 * s * h * (h + 2 * kv) + 2 * s * h * h + 6 * s * h * f + 4 * s * s * h) + 2 * s * h * v;
  EXPECT_NEAR(m.root.ForwardFlops() / fwd, 1.0, 1e-12);
  EXPECT_NEAR(BackwardFlops(m.root) / (2 * fwd), 1.0, 1e-12);
}

TEST(Zoo, BertParamsMatchCheckpoints) {
  // bert-base-uncased BertForPreTraining: 110,106,428 (BertModel 109,482,240 + MLM transform
  // 590,592 + LayerNorm 1,536 + decoder bias 30,522 + NSP 1,538).
  ZooOptions unpadded;  // checkpoints count the tokenizer's 30,522 rows
  unpadded.vocab_pad_multiple = 1;
  EXPECT_EQ(BuildZooModel("bert-base", unpadded).Params(), 110106428);
  EXPECT_EQ(BuildZooModel("bert-large", unpadded).Params(), 336226108);  // bert-large-uncased BertForPreTraining
  Model b = BuildZooModel("bert-base");
  EXPECT_EQ(b.seq_len, 512);
  // Encoder: attention is not causal.
  const Module* attn = FindModule(b.root, "layers.0.attn");
  bool found = false;
  for (const auto& op : attn->ops)
    if (op.kind == OpKind::kAttention) found = op.attrs.at("causal") == "0";
  EXPECT_TRUE(found);
}

TEST(Zoo, MegatronTable1SizesMatchTheirParameterCounts) {
  // SC'21 Table 1 parameter counts (billions) from P = 12*l*h^2*(1 + 13/(12h) + (V+s)/(12*l*h)).
  const std::pair<const char*, double> rows[] = {
      {"megatron-1.7b", 1.7},     {"megatron-3.6b", 3.6},     {"megatron-7.5b", 7.5},
      {"megatron-18.4b", 18.4},   {"megatron-39.1b", 39.1},   {"megatron-76.1b", 76.1},
      {"megatron-145.6b", 145.6}, {"megatron-310.1b", 310.1}, {"megatron-529.6b", 529.6},
      {"megatron-1008b", 1008}};
  for (const auto& [name, billions] : rows) {
    Model m = BuildZooModel(name);
    EXPECT_NEAR(m.Params() / 1e9 / billions, 1.0, 0.03) << name;
    EXPECT_EQ(m.dtype, DType::kFp16) << name;
  }
}

TEST(Zoo, ResNet50MatchesTorchvision) {
  Model m = BuildZooModel("resnet50");
  EXPECT_EQ(m.Params(), 25557032);  // torchvision resnet50: convs, batchnorm gamma/beta, fc
  EXPECT_EQ(m.num_layers, 16);      // 3 + 4 + 6 + 3 bottlenecks
  EXPECT_EQ(FindModule(m.root, "layers.15")->type, "resnet_block");
  // torchvision lists 4.09 GFLOPS, meaning multiply-adds; we count 2 FLOPs per multiply-add.
  EXPECT_NEAR(m.root.ForwardFlops() / 2 / 4.09e9, 1.0, 0.005);
  EXPECT_EQ(BuildZooModel("resnet101").Params(), 44549160);  // torchvision resnet101
  EXPECT_EQ(BuildZooModel("resnet152").Params(), 60192808);  // torchvision resnet152
}

TEST(Zoo, ResNetImageSizeScalesFlopsNotParams) {
  ZooOptions o;
  o.image_size = 448;
  Model big = BuildZooModel("resnet50", o);
  Model base = BuildZooModel("resnet50");
  EXPECT_EQ(big.Params(), base.Params());
  // Convolutions scale with pixels (4x); the fc after global pooling does not (2*2048*1000).
  double fc = 2.0 * 2048 * 1000;
  EXPECT_NEAR((big.root.ForwardFlops() - fc) / (base.root.ForwardFlops() - fc), 4.0, 0.01);
  o.num_layers = 3;
  EXPECT_THROW(BuildZooModel("resnet50", o), UserError);
}

TEST(Zoo, OverridesAndDtype) {
  ZooOptions o;
  o.num_layers = 2;
  o.seq_len = 4096;
  o.dtype = DType::kFp32;
  o.name = "small";
  Model m = BuildZooModel("gpt3-350m", o);
  EXPECT_EQ(m.name, "small");
  EXPECT_EQ(m.num_layers, 2);
  EXPECT_EQ(m.seq_len, 4096);
  // Learned positions grow to the new sequence: (V + s) h with s = 4096.
  EXPECT_EQ(m.Params(), 2 * (12 * 1024 * 1024 + 13 * 1024) + (51200 + 4096) * 1024 + 2 * 1024);
  VisitOps(m.root, [&](const std::string& path, const Operator& op) {
    if (op.kind == OpKind::kCrossEntropy) return;  // the loss runs in fp32 anyway
    EXPECT_EQ(op.dtype, DType::kFp32) << path;
  });
  o = ZooOptions{};
  o.num_heads = 7;
  EXPECT_THROW(BuildZooModel("gpt3-350m", o), UserError);
}

TEST(Zoo, NamesAreSortedAndAllBuild) {
  auto names = ZooModelNames();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_GE(names.size(), 33u);
  ZooOptions o;  // small copies of every entry build quickly
  for (const auto& n : names) {
    if (!IsVisionModel(n)) o.num_layers = 1;
    else o.num_layers.reset();
    Model m = BuildZooModel(n, o);
    EXPECT_GT(m.Params(), 0) << n;
    EXPECT_GT(m.root.ForwardFlops(), 0) << n;
  }
}

}  // namespace
}  // namespace proteus
