// Structural checks over every zoo model: what the compiler relies on (op.h conventions).
#include <gtest/gtest.h>

#include <map>

#include "simulator/model/backward.h"
#include "simulator/model/resnet.h"
#include "simulator/model/zoo.h"

namespace proteus {
namespace {

std::vector<int64_t> Sizes(const Operator& op, const TensorUse& t) {
  std::vector<int64_t> s;
  for (const auto& a : t.axes) s.push_back(op.FindDim(a)->size);
  return s;
}

// Producers and consumers agree on every tensor's shape axis by axis; every axis and hint names a
// dim of its op; every value read is produced earlier or is a model input; weights shared by two
// ops (tied embeddings) have one shape.
void CheckModel(const Model& m) {
  std::map<std::string, std::vector<int64_t>> shape;
  VisitOps(m.root, [&](const std::string& path, const Operator& op) {
    for (const auto& t : op.tensors)
      for (const auto& a : t.axes) ASSERT_NE(op.FindDim(a), nullptr) << path << " " << t.name << " axis " << a;
    for (const auto& s : op.saved)
      for (const auto& a : s.axes) ASSERT_NE(op.FindDim(a), nullptr) << path << " saved " << s.name;
    for (const char* key : {"tp", "sp"})
      if (op.attrs.count(key)) {
        const Dim* d = op.FindDim(op.attrs.at(key));
        ASSERT_NE(d, nullptr) << path << " " << key;
        EXPECT_FALSE(d->extent_only || d->kind == DimKind::kOpaque) << path << " " << key;
      }
    for (const auto& t : op.tensors) {
      auto sizes = Sizes(op, t);
      auto it = shape.find(t.name);
      if (t.role == TensorRole::kOutput) {
        EXPECT_EQ(it, shape.end()) << path << " writes " << t.name << " again";
        shape[t.name] = sizes;
      } else if (it != shape.end()) {
        EXPECT_EQ(it->second, sizes) << path << " reads " << t.name << " with another shape";
      } else if (t.role == TensorRole::kWeight) {
        shape[t.name] = sizes;
      } else {
        EXPECT_FALSE(t.needs_grad) << path << " reads " << t.name << " before it is produced";
      }
    }
  });
}

TEST(Consistency, EveryZooModelIsWellFormed) {
  for (const auto& name : ZooModelNames()) {
    SCOPED_TRACE(name);
    ZooOptions o;
    if (!IsVisionModel(name)) o.num_layers = 2;
    CheckModel(BuildZooModel(name, o));
    if (IsVisionModel(name)) continue;
    o.fused_attention = false;
    CheckModel(BuildZooModel(name, o));
  }
}

TEST(Consistency, BackwardIsTwiceForwardForEveryTransformer) {
  for (const auto& name : ZooModelNames()) {
    if (IsVisionModel(name)) continue;
    ZooOptions o;
    o.num_layers = 2;
    Model m = BuildZooModel(name, o);
    EXPECT_NEAR(BackwardFlops(m.root) / (2 * m.root.ForwardFlops()), 1.0, 1e-12) << name;
  }
  // ResNet: the first convolution has no data gradient (images), so slightly under 2x:
  // 2*fwd - 2 * (conv1 FLOPs = 2*3*64*49*112*112).
  Model r = BuildZooModel("resnet50");
  EXPECT_DOUBLE_EQ(BackwardFlops(r.root), 2 * r.root.ForwardFlops() - 2.0 * 3 * 64 * 49 * 112 * 112);
}

TEST(Consistency, LlamaUnfusedAttentionKeepsSoftmaxOnce) {
  // Without dropout the context bmm keeps the softmax output the softmax already keeps: 2*a*s^2
  // instead of 5*a*s^2 (Korthikanti's 5 = softmax 2 + mask 1 + dropped probabilities 2).
  ZooOptions o;
  o.num_layers = 1;
  Model fused = BuildZooModel("llama2-7b", o);
  o.fused_attention = false;
  Model plain = BuildZooModel("llama2-7b", o);
  double a = 32, s = 4096;
  int64_t f = SavedActivationBytes(*FindModule(fused.root, "layers.0"));
  int64_t p = SavedActivationBytes(*FindModule(plain.root, "layers.0"));
  // Fused keeps q,k,v packed and the fp32 log-sum-exp; unfused keeps q, k, v as parts and the probs.
  EXPECT_EQ(p - f, static_cast<int64_t>(2 * a * s * s - 4 * a * s));
}

}  // namespace
}  // namespace proteus
