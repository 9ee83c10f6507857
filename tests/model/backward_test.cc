#include "simulator/model/backward.h"

#include <gtest/gtest.h>

#include <set>

#include "simulator/model/zoo.h"

namespace proteus {
namespace {

const Operator& OpAt(const Model& m, const std::string& module, const std::string& name) {
  const Module* mod = FindModule(m.root, module);
  EXPECT_NE(mod, nullptr) << module;
  for (const auto& op : mod->ops)
    if (op.name == name) return op;
  ADD_FAILURE() << module << "." << name;
  return mod->ops.front();
}

DimKind KindOf(const Operator& op, const std::string& dim) { return op.FindDim(dim)->kind; }

TEST(Backward, LinearSplitsIntoDataAndWeightGradients) {
  Model m = BuildZooModel("gpt3-175b");
  const Operator& fc1 = OpAt(m, "layers.0.mlp", "fc1");
  auto bwd = DeriveBackward(fc1);
  ASSERT_EQ(bwd.size(), 2u);
  const Operator& data = bwd[0];
  const Operator& weight = bwd[1];
  EXPECT_EQ(data.phase, Phase::kBwdData);
  EXPECT_EQ(weight.phase, Phase::kBwdWeight);
  // Each half costs what the forward does: 2*2048*12288*49152.
  EXPECT_DOUBLE_EQ(data.ForwardFlops(), 2.0 * 2048 * 12288 * 49152);
  EXPECT_DOUBLE_EQ(weight.ForwardFlops(), fc1.ForwardFlops());
  // dX = dY W^T: h becomes an output (spatial) dim, f is summed (TP column split -> partial sums).
  EXPECT_EQ(KindOf(data, "s"), DimKind::kBatch);
  EXPECT_EQ(KindOf(data, "h"), DimKind::kSpatial);
  EXPECT_EQ(KindOf(data, "f"), DimKind::kReduce);
  // dW = X^T dY: tokens are summed (data-parallel gradients are partial sums).
  EXPECT_EQ(KindOf(weight, "b"), DimKind::kReduce);
  EXPECT_EQ(KindOf(weight, "s"), DimKind::kReduce);
  EXPECT_EQ(KindOf(weight, "h"), DimKind::kSpatial);
  EXPECT_EQ(KindOf(weight, "f"), DimKind::kSpatial);
  // Tensors: names "<x>.grad"; dX reads dY and W; dW reads X and dY.
  EXPECT_NE(data.FindTensor("layers.0.mlp.fc1.out.grad"), nullptr);
  EXPECT_NE(data.FindTensor("layers.0.mlp.fc1.weight"), nullptr);
  EXPECT_EQ(data.FindTensor("layers.0.mlp.norm.out"), nullptr);  // dX does not need X
  EXPECT_EQ(data.FindTensor("layers.0.mlp.norm.out.grad")->role, TensorRole::kOutput);
  EXPECT_EQ(weight.FindTensor("layers.0.mlp.fc1.weight.grad")->role, TensorRole::kOutput);
  EXPECT_EQ(weight.FindTensor("layers.0.mlp.fc1.bias.grad")->role, TensorRole::kOutput);
  EXPECT_NE(weight.FindTensor("layers.0.mlp.norm.out"), nullptr);
  EXPECT_TRUE(data.saved.empty());
  EXPECT_EQ(data.attrs.at("tp"), "f");
}

TEST(Backward, RowParallelDataGradientNeedsNoReduction) {
  Model m = BuildZooModel("gpt3-125m");
  auto bwd = DeriveBackward(OpAt(m, "layers.0.mlp", "fc2"));
  // fc2: f was reduce in forward and indexes dX: spatial (each TP rank owns its slice).
  EXPECT_EQ(KindOf(bwd[0], "f"), DimKind::kSpatial);
  EXPECT_EQ(KindOf(bwd[0], "h"), DimKind::kReduce);
}

TEST(Backward, LookupsAndImagesHaveNoDataGradient) {
  Model m = BuildZooModel("gpt3-125m");
  auto emb = DeriveBackward(OpAt(m, "embed", "word"));
  ASSERT_EQ(emb.size(), 1u);  // token ids are not differentiated: only the scatter-add into the table
  EXPECT_EQ(emb[0].phase, Phase::kBwdWeight);
  EXPECT_DOUBLE_EQ(emb[0].ForwardFlops(), 0.0);
  EXPECT_EQ(emb[0].FindTensor("embed.word.weight.grad")->role, TensorRole::kOutput);

  Model r = BuildZooModel("resnet50");
  auto conv1 = DeriveBackward(OpAt(r, "stem", "conv1"));
  ASSERT_EQ(conv1.size(), 1u);
  EXPECT_EQ(conv1[0].phase, Phase::kBwdWeight);
}

TEST(Backward, ElementwiseOpsHaveOnlyDataGradient) {
  Model m = BuildZooModel("gpt3-125m");
  auto gelu = DeriveBackward(OpAt(m, "layers.0.mlp", "act"));
  ASSERT_EQ(gelu.size(), 1u);
  EXPECT_EQ(gelu[0].phase, Phase::kBwdData);
  // Reads dY and the kept input (fc1.out), writes fc1.out.grad.
  EXPECT_NE(gelu[0].FindTensor("layers.0.mlp.fc1.out"), nullptr);
  EXPECT_EQ(gelu[0].FindTensor("layers.0.mlp.fc1.out.grad")->role, TensorRole::kOutput);
  EXPECT_EQ(KindOf(gelu[0], "f"), DimKind::kBatch);

  auto norm = DeriveBackward(OpAt(m, "layers.0.attn", "norm"));
  ASSERT_EQ(norm.size(), 2u);  // gamma and beta have gradients
  EXPECT_EQ(KindOf(norm[0], "h"), DimKind::kOpaque);
  EXPECT_EQ(KindOf(norm[1], "s"), DimKind::kReduce);
}

TEST(Backward, AttentionCountsModelAndHardwareFlops) {
  Model m = BuildZooModel("gpt3-175b");
  const Operator& core = OpAt(m, "layers.0.attn", "core");
  auto bwd = DeriveBackward(core);
  ASSERT_EQ(bwd.size(), 1u);
  // fwd 4*s^2*h; bwd 2x that in model FLOPs, 2.5x in hardware FLOPs (QK^T recomputed).
  double fwd = 4.0 * 2048 * 2048 * 12288;
  EXPECT_DOUBLE_EQ(core.ForwardFlops(), fwd);
  EXPECT_DOUBLE_EQ(bwd[0].ForwardFlops(), 2 * fwd);
  EXPECT_DOUBLE_EQ(bwd[0].HardwareFlops(), 2.5 * fwd);
  EXPECT_EQ(bwd[0].FindTensor("layers.0.attn.qkv.out.grad")->role, TensorRole::kOutput);
}

TEST(Backward, LossSeedsBackward) {
  Model m = BuildZooModel("gpt3-125m");
  const Operator& ce = OpAt(m, "loss", "cross_entropy");
  auto bwd = DeriveBackward(ce);
  ASSERT_EQ(bwd.size(), 1u);
  EXPECT_EQ(bwd[0].FindTensor("loss.cross_entropy.out.grad"), nullptr);
  EXPECT_EQ(bwd[0].FindTensor("lm_head.logits.out.grad")->role, TensorRole::kOutput);
  EXPECT_EQ(KindOf(bwd[0], "v"), DimKind::kSpatial);  // each vocab shard writes its own dlogits
}

TEST(Backward, EveryGradientReadIsWrittenByALaterBackwardOp) {
  // Walk backward in reverse forward order: each gradient an op reads must already be produced.
  Model m = BuildZooModel("llama3.2-1b");
  std::vector<Operator> fwd;
  VisitOps(m.root, [&](const std::string&, const Operator& op) { fwd.push_back(op); });
  std::set<std::string> produced;
  for (auto it = fwd.rbegin(); it != fwd.rend(); ++it)
    for (const auto& b : DeriveBackward(*it))
      for (const auto& t : b.tensors) {
        bool is_grad = t.name.size() > 5 && t.name.compare(t.name.size() - 5, 5, ".grad") == 0;
        if (t.role == TensorRole::kInput && is_grad) { EXPECT_TRUE(produced.count(t.name)) << b.name << " " << t.name; }
        if (t.role == TensorRole::kOutput) produced.insert(t.name);
      }
  EXPECT_TRUE(produced.count("embed.word.weight.grad"));
}

}  // namespace
}  // namespace proteus
