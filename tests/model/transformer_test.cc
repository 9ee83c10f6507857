#include "simulator/model/transformer.h"

#include <gtest/gtest.h>

#include <set>

#include "common/error.h"
#include "simulator/model/backward.h"
#include "simulator/model/zoo.h"

namespace proteus {
namespace {

// GPT parameters: per layer 12h^2 + 13h (qkv 3h^2+3h, proj h^2+h, fc1 4h^2+4h, fc2 4h^2+h, two
// LayerNorms 4h), embeddings (V + s) h, final LayerNorm 2h; the lm head is tied.
double GptParams(double l, double h, double v, double s) { return l * (12 * h * h + 13 * h) + (v + s) * h + 2 * h; }

// Megatron-LM (Narayanan et al. SC'21, eq. 3) model FLOPs of one fwd+bwd per sample (B = 1).
double MegatronFlops(double l, double h, double v, double s) {
  return 72 * s * l * h * h * (1 + s / (6 * h) + v / (12 * l * h));
}

TEST(Transformer, Gpt3_175bParamsMatchClosedForm) {
  Model m = BuildZooModel("gpt3-175b");
  // 96*(12*12288^2 + 13*12288) + (51200 + 2048)*12288 + 2*12288 = 174,615,... (exact integer)
  EXPECT_EQ(m.Params(), static_cast<int64_t>(GptParams(96, 12288, 51200, 2048)));
  EXPECT_NEAR(m.Params() / 1e9, 174.6, 0.05);
  EXPECT_EQ(m.num_layers, 96);
  EXPECT_EQ(m.seq_len, 2048);
}

TEST(Transformer, GptFlopsMatchMegatronFormula) {
  for (const char* name : {"gpt3-125m", "gpt3-6.7b", "gpt3-175b", "megatron-1008b"}) {
    Model m = BuildZooModel(name);
    double expect = MegatronFlops(m.num_layers, m.hidden, m.vocab, m.seq_len);
    EXPECT_NEAR(m.TrainingFlopsPerSample() / expect, 1.0, 1e-12) << name;
    // Derived backward = 2x forward (model FLOPs), so fwd + derived bwd is the same number.
    EXPECT_NEAR((m.root.ForwardFlops() + BackwardFlops(m.root)) / expect, 1.0, 1e-12) << name;
  }
}

TEST(Transformer, Gpt2SmallMatchesReleasedCheckpoint) {
  // HF gpt2: 124,439,808 parameters = 12*(12*768^2 + 13*768) + (50257 + 1024)*768 + 2*768.
  // HF checkpoints count the tokenizer's 50,257 rows: no Megatron vocab padding.
  ZooOptions unpadded;
  unpadded.vocab_pad_multiple = 1;
  EXPECT_EQ(BuildZooModel("gpt2-small", unpadded).Params(), 124439808);
  EXPECT_EQ(BuildZooModel("gpt2-xl", unpadded).Params(), 1557611200);  // HF gpt2-xl
}

TEST(Transformer, VocabIsPaddedLikeMegatron) {
  // Megatron pads 50,257 rows to 50,304 (a multiple of 128), so TP 2..128 can split it: the padded
  // model has (50304 - 50257) * 768 = 36,096 more parameters (tied embedding and head).
  Model m = BuildZooModel("gpt2-small");
  EXPECT_EQ(m.vocab, 50304);
  EXPECT_EQ(m.Params(), 124439808 + 47 * 768);
}

TEST(Transformer, GptLayerActivationsMatchKorthikanti) {
  // One sample (b = 1): 34*s*h bytes + fp32 LayerNorm statistics 2*8*s + fp32 log-sum-exp 4*a*s.
  Model m = BuildZooModel("gpt3-175b");
  const Module* layer = FindModule(m.root, "layers.7");
  ASSERT_NE(layer, nullptr);
  double s = 2048, h = 12288, a = 96;
  EXPECT_EQ(SavedActivationBytes(*layer), static_cast<int64_t>(34 * s * h + 16 * s + 4 * a * s));
  EXPECT_NEAR(SavedActivationBytes(*layer) / (34 * s * h), 1.0, 0.01);

  ZooOptions o;
  o.fused_attention = false;
  Model u = BuildZooModel("gpt3-175b", o);
  // Unfused attention adds 5*a*s^2 (softmax output 2, dropout mask 1, dropped probabilities 2).
  EXPECT_EQ(SavedActivationBytes(*FindModule(u.root, "layers.7")),
            static_cast<int64_t>(34 * s * h + 5 * a * s * s + 16 * s));
  // Same FLOPs either way.
  EXPECT_DOUBLE_EQ(u.root.ForwardFlops(), m.root.ForwardFlops());
}

TEST(Transformer, PathsAndTensorNamesFollowConventions) {
  Model m = BuildZooModel("gpt3-125m");
  std::set<std::string> paths, outputs;
  VisitOps(m.root, [&](const std::string& path, const Operator& op) {
    paths.insert(path);
    for (const auto& t : op.tensors)
      if (t.role == TensorRole::kOutput) { EXPECT_TRUE(outputs.insert(t.name).second) << "two producers of " << t.name; }
  });
  for (const char* p : {"embed.word", "layers.0.attn.norm", "layers.0.attn.qkv", "layers.0.attn.core",
                        "layers.11.mlp.fc1", "layers.11.mlp.fc2", "final_norm.norm", "lm_head.logits",
                        "loss.cross_entropy"})
    EXPECT_TRUE(paths.count(p)) << p;
  // Every input is produced by an earlier op, or is a model input.
  std::set<std::string> produced;
  VisitOps(m.root, [&](const std::string& path, const Operator& op) {
    for (const auto& t : op.tensors) {
      if (t.role == TensorRole::kInput && t.needs_grad) { EXPECT_TRUE(produced.count(t.name)) << path << " reads " << t.name; }
      if (t.role == TensorRole::kOutput) produced.insert(t.name);
    }
  });
  // Tied: the lm head reads the embedding's table.
  EXPECT_NE(FindModule(m.root, "lm_head")->ops[0].FindTensor("embed.word.weight"), nullptr);
  EXPECT_EQ(FindModule(m.root, "layers")->children.size(), 12u);
  EXPECT_EQ(FindModule(m.root, "layers.3")->type, "transformer_layer");
}

TEST(Transformer, TensorParallelHintsNameRealDims) {
  Model m = BuildZooModel("llama3-70b");
  int hinted = 0;
  VisitOps(m.root, [&](const std::string& path, const Operator& op) {
    for (const char* key : {"tp", "sp"}) {
      auto it = op.attrs.find(key);
      if (it == op.attrs.end()) continue;
      ++hinted;
      const Dim* d = op.FindDim(it->second);
      ASSERT_NE(d, nullptr) << path << " " << key << "=" << it->second;
      EXPECT_FALSE(d->extent_only) << path;
      EXPECT_NE(d->kind, DimKind::kOpaque) << path;
    }
  });
  EXPECT_GT(hinted, 80 * 8);
  // GQA: qkv output [g=8 groups, c = 64/8 + 2 slots, d = 128]; TP splits the 8 groups.
  const Operator& qkv = FindModule(m.root, "layers.0.attn")->ops[1];
  EXPECT_EQ(qkv.name, "qkv");
  EXPECT_EQ(qkv.attrs.at("tp"), "g");
  EXPECT_EQ(qkv.FindDim("g")->size, 8);
  EXPECT_EQ(qkv.FindDim("c")->size, 10);
  EXPECT_EQ(qkv.FindDim("d")->size, 128);
}

TEST(Transformer, RejectsBadSizes) {
  TransformerConfig c;
  c.name = "x";
  c.num_layers = 2;
  c.hidden = 100;
  c.num_heads = 3;
  c.vocab = 10;
  c.seq_len = 8;
  try {
    BuildTransformer(c, "m.json");
    FAIL();
  } catch (const UserError& e) {
    EXPECT_EQ(e.where(), "m.json: num_heads");
  }
  c.num_heads = 4;
  c.num_kv_heads = 3;
  EXPECT_THROW(BuildTransformer(c, "m.json"), UserError);
  c.num_kv_heads = 2;
  c.num_layers = 0;
  EXPECT_THROW(BuildTransformer(c, "m.json"), UserError);
}

TEST(Zoo, UnknownNameListsKnownNames) {
  try {
    BuildZooModel("gpt3-176b");
    FAIL();
  } catch (const UserError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("gpt3-175b"), std::string::npos);
    EXPECT_NE(what.find("resnet50"), std::string::npos);
  }
}

}  // namespace
}  // namespace proteus
