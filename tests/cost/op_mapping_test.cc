#include "simulator/cost/op_mapping.h"

#include <map>

#include <gtest/gtest.h>

#include "common/error.h"

#include "simulator/cost/op_work.h"
#include "simulator/model/backward.h"
#include "simulator/model/zoo.h"

namespace proteus {
namespace {

// Forward ops of a model by path ("layers.0.mlp.fc1").
std::map<std::string, Operator> OpsOf(const Model& m) {
  std::map<std::string, Operator> ops;
  VisitOps(m.root, [&](const std::string& path, const Operator& op) { ops.emplace(path, op); });
  return ops;
}

const Operator& Find(const std::map<std::string, Operator>& ops, const std::string& suffix) {
  for (const auto& [path, op] : ops)
    if (path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0)
      return op;
  throw std::runtime_error("no op " + suffix);
}

std::string Shape(const OpKey& k) { return k.ToString(); }

Model Llama(ZooOptions o = {}) {
  o.num_layers = 1;
  return BuildZooModel("llama3-8b", o);
}

TEST(OpMapping, LinearForwardAndDerivedBackwardShareTheGemmShape) {
  auto ops = OpsOf(Llama());
  const Operator& fc2 = Find(ops, "mlp.fc2");  // [b,s,f] x [f,h]: m = s, n = h, k = f
  OpKey fwd = KeyForOperator(fc2, Phase::kFwd);
  EXPECT_EQ(Shape(fwd), "gemm|bf16|fwd|k=14336,m=8192,n=4096|");
  std::vector<Operator> bwd = DeriveBackward(fc2);
  ASSERT_EQ(bwd.size(), 2u);
  EXPECT_EQ(Shape(KeyForOperator(bwd[0])), "gemm|bf16|bwd_data|k=14336,m=8192,n=4096|");
  EXPECT_EQ(Shape(KeyForOperator(bwd[1])), "gemm|bf16|bwd_weight|k=14336,m=8192,n=4096|");
  // Asking the forward op for its backward phases gives the same keys.
  EXPECT_EQ(KeyForOperator(fc2, Phase::kBwdData), KeyForOperator(bwd[0]));
  EXPECT_EQ(KeyForOperator(fc2, Phase::kBwdWeight), KeyForOperator(bwd[1]));
}

TEST(OpMapping, QkvAndSwigluFc1CountTheirPackedOutputs) {
  auto ops = OpsOf(Llama());
  // llama3-8b: 32 heads, 8 kv groups, head dim 128 -> qkv out features 8 * (4 + 2) * 128 = 6144.
  EXPECT_EQ(Shape(KeyForOperator(Find(ops, "attn.qkv"), Phase::kFwd)), "gemm|bf16|fwd|k=4096,m=8192,n=6144|");
  // swiglu fc1 writes gate and up: n = 2 * 14336.
  EXPECT_EQ(Shape(KeyForOperator(Find(ops, "mlp.fc1"), Phase::kFwd)), "gemm|bf16|fwd|k=4096,m=8192,n=28672|");
}

TEST(OpMapping, AttentionCountsQueryAndKvHeads) {
  auto ops = OpsOf(Llama());
  const Operator& core = Find(ops, "attn.core");
  OpKey k = KeyForOperator(core, Phase::kFwd);
  EXPECT_EQ(Shape(k),
            "attention|bf16|fwd|batch=1,head_dim=128,heads=32,kv_heads=8,seq_kv=8192,seq_q=8192|causal=1");
  std::vector<Operator> bwd = DeriveBackward(core);
  ASSERT_EQ(bwd.size(), 1u);
  OpKey b = KeyForOperator(bwd[0]);
  EXPECT_EQ(b.phase, Phase::kBwdData);
  EXPECT_EQ(b.shape, k.shape);
  EXPECT_EQ(b.attrs, k.attrs);
}

TEST(OpMapping, PartitionedAndBatchScaledSizesFlowThrough) {
  auto ops = OpsOf(Llama());
  Operator core = Find(ops, "attn.core");
  // What the compiler hands over for TP 4 and micro-batch 2: g split 8 -> 2, b scaled 1 -> 2.
  core.MutableDim("g")->size = 2;
  core.MutableDim("b")->size = 2;
  OpKey k = KeyForOperator(core, Phase::kFwd);
  EXPECT_EQ(k.shape.at("batch"), 2);
  EXPECT_EQ(k.shape.at("heads"), 8);
  EXPECT_EQ(k.shape.at("kv_heads"), 2);
}

TEST(OpMapping, NormsRopeSwigluAndLoss) {
  auto ops = OpsOf(Llama());
  EXPECT_EQ(Shape(KeyForOperator(Find(ops, "attn.norm"), Phase::kFwd)), "rmsnorm|bf16|fwd|cols=4096,rows=8192|");
  // rope rotates the q and k slots: (4 + 1) per group * 8 groups = 40 heads of 128.
  EXPECT_EQ(Shape(KeyForOperator(Find(ops, "attn.rope"), Phase::kFwd)),
            "rope|bf16|fwd|head_dim=128,heads=40,tokens=8192|");
  EXPECT_EQ(Shape(KeyForOperator(Find(ops, "mlp.act"), Phase::kFwd)), "swiglu|bf16|fwd|cols=14336,rows=8192|");
  const Operator& act = Find(ops, "mlp.act");
  EXPECT_EQ(KeyForOperator(DeriveBackward(act)[0]).shape, KeyForOperator(act, Phase::kFwd).shape);
  const Operator& loss = Find(ops, "cross_entropy");
  OpKey ce = KeyForOperator(loss, Phase::kFwd);
  EXPECT_EQ(Shape(ce), "cross_entropy|fp32|fwd|tokens=8192,vocab=128256|");
  EXPECT_EQ(KeyForOperator(DeriveBackward(loss)[0]).shape, ce.shape);
}

TEST(OpMapping, EmbeddingHasNoDataGradientAndStepsItsTable) {
  auto ops = OpsOf(Llama());
  const Operator& word = Find(ops, "embed.word");
  EXPECT_FALSE(OperatorRunsPhase(word, Phase::kBwdData));  // token ids need no gradient
  EXPECT_TRUE(OperatorRunsPhase(word, Phase::kBwdWeight));
  EXPECT_EQ(Shape(KeyForOperator(word, Phase::kFwd)), "embedding|bf16|fwd|hidden=4096,tokens=8192,vocab=128256|");
  std::vector<Operator> bwd = DeriveBackward(word);
  ASSERT_EQ(bwd.size(), 1u);
  EXPECT_EQ(KeyForOperator(bwd[0]).shape, KeyForOperator(word, Phase::kFwd).shape);
  OpKey step = KeyForOperator(word, Phase::kStep);
  EXPECT_EQ(Shape(step), "adam|bf16|step|params=525336576|");  // 128256 * 4096
  EXPECT_THROW(KeyForOperator(word, Phase::kBwdData), InternalError);
}

TEST(OpMapping, UnfusedAttentionUsesBatchedMatmulHints) {
  ZooOptions o;
  o.fused_attention = false;
  auto ops = OpsOf(Llama(o));
  // scores: batch b*g*r = 32, m = s, n = t, k = d.
  const Operator& scores = Find(ops, "attn.scores");
  EXPECT_EQ(Shape(KeyForOperator(scores, Phase::kFwd)), "bgemm|bf16|fwd|batch=32,k=128,m=8192,n=8192|");
  EXPECT_EQ(KeyForOperator(DeriveBackward(scores)[0]).shape, KeyForOperator(scores, Phase::kFwd).shape);
  EXPECT_EQ(Shape(KeyForOperator(Find(ops, "attn.softmax"), Phase::kFwd)),
            "softmax|bf16|fwd|cols=8192,rows=262144|");  // rows = 32 heads * 8192 queries
}

TEST(OpMapping, ResnetConvolutionsAndPools) {
  auto ops = OpsOf(BuildZooModel("resnet50"));  // fp32, as the DDP benchmarks of REFERENCE.md 4
  // stem: 7x7/2 pad 3, 3 -> 64 channels on 224^2.
  OpKey stem = KeyForOperator(Find(ops, "stem.conv1"), Phase::kFwd);
  EXPECT_EQ(Shape(stem), "conv2d|fp32|fwd|c=3,h=224,k=64,n=1,pad=3,r=7,s=7,stride=2,w=224|");
  KernelWork w = WorkOf(stem);
  EXPECT_DOUBLE_EQ(w.flops, 2.0 * 112 * 112 * 64 * 3 * 7 * 7);  // 2 * (p q) * k * c r s
  OpKey pool = KeyForOperator(Find(ops, "maxpool"), Phase::kFwd);
  EXPECT_EQ(Shape(pool), "pool|fp32|fwd|c=64,h=112,n=1,stride=2,w=112,window=3|mode=max");
  EXPECT_EQ(KeyForOperator(Find(ops, "relu1"), Phase::kFwd).attrs.at("fn"), "relu");
}

// Inception's 1x7 conv pads 3 columns and no rows: keyed as the padded input with pad 0, whose
// work is the op's own FLOPs (17x17 out).
TEST(OpMapping, AsymmetricPaddingKeysThePaddedInput) {
  auto ops = OpsOf(BuildZooModel("inception-v3"));
  const Operator& conv = Find(ops, "layers.4.branch7x7_2_conv");  // Mixed_6b, 128 -> 128, 1x7
  OpKey key = KeyForOperator(conv, Phase::kFwd);
  EXPECT_EQ(Shape(key), "conv2d|fp32|fwd|c=128,h=17,k=128,n=1,pad=0,r=1,s=7,stride=1,w=23|");
  EXPECT_DOUBLE_EQ(WorkOf(key).flops, conv.ForwardFlops());  // 2 * 17*17 * 128 * 128*7
  EXPECT_DOUBLE_EQ(conv.ForwardFlops(), 2.0 * 17 * 17 * 128 * 128 * 7);
}

// A concat and its backward (the split of the gradient) are device copies of the output's bytes.
TEST(OpMapping, ConcatIsACopyOfItsOutput) {
  auto ops = OpsOf(BuildZooModel("inception-v3"));
  const Operator& cat = Find(ops, "layers.0.concat");  // Mixed_5b: 64 + 64 + 96 + 32 = 256 x 35 x 35
  int64_t bytes = 256 * 35 * 35 * 4;                  // fp32
  OpKey fwd = KeyForOperator(cat, Phase::kFwd);
  EXPECT_EQ(Shape(fwd), "copy|fp32|fwd|bytes=" + std::to_string(bytes) + "|dir=d2d");
  EXPECT_DOUBLE_EQ(WorkOf(fwd).bytes, 2.0 * bytes);  // read the parts, write the output
  EXPECT_DOUBLE_EQ(WorkOf(fwd).flops, 0.0);
  ASSERT_TRUE(OperatorRunsPhase(cat, Phase::kBwdData));
  EXPECT_FALSE(OperatorRunsPhase(cat, Phase::kBwdWeight));
  OpKey bwd = KeyForOperator(cat, Phase::kBwdData);
  EXPECT_EQ(bwd.shape, fwd.shape);
  EXPECT_EQ(bwd.phase, Phase::kBwdData);
  EXPECT_EQ(OperatorFlops(cat, Phase::kFwd) + OperatorFlops(cat, Phase::kBwdData), 0.0);
}

// Every op of every zoo model, forward and derived backward, maps to a valid key with finite work,
// and the model FLOPs of the derived ops equal OperatorFlops of the forward op.
TEST(OpMapping, EveryZooOperatorMapsToAValidKey) {
  for (const std::string& name : ZooModelNames()) {
    bool vision = IsVisionModel(name);
    for (bool fused : {true, false}) {
      if (vision && !fused) continue;
      ZooOptions o;
      if (!vision) o.num_layers = 2, o.fused_attention = fused;
      Model m = BuildZooModel(name, o);
      VisitOps(m.root, [&](const std::string& path, const Operator& op) {
        std::vector<Operator> ops = {op};
        double bwd_flops = 0;
        for (auto& b : DeriveBackward(op)) bwd_flops += b.ForwardFlops(), ops.push_back(std::move(b));
        for (const auto& x : ops) {
          OpKey k = KeyForOperator(x);
          EXPECT_EQ(ValidateOpKey(k), std::nullopt) << name << " " << path << " " << k.ToString();
          for (const auto& [p, v] : k.shape) EXPECT_GE(v, p == "pad" ? 0 : 1) << name << " " << path << " " << p;
          KernelWork w = WorkOf(k);
          EXPECT_GT(w.bytes, 0) << name << " " << path;
          EXPECT_TRUE(OperatorRunsPhase(op, x.phase)) << name << " " << path;
          EXPECT_EQ(KeyForOperator(op, x.phase).shape, k.shape) << name << " " << path;
        }
        double mine = OperatorFlops(op, Phase::kBwdData) + OperatorFlops(op, Phase::kBwdWeight);
        EXPECT_NEAR(mine, bwd_flops, 1e-6 * bwd_flops) << name << " " << path;
        if (op.WeightParams() > 0) { EXPECT_EQ(KeyForOperator(op, Phase::kStep).kind, "adam"); }
      });
    }
  }
}

TEST(OpMapping, BytesComeFromTheKey) {
  auto ops = OpsOf(Llama());
  const Operator& fc2 = Find(ops, "mlp.fc2");
  // bf16: 2 * (m k + k n + m n) with m 8192, n 4096, k 14336.
  EXPECT_EQ(OperatorBytes(fc2, Phase::kFwd), 2LL * (8192LL * 14336 + 14336LL * 4096 + 8192LL * 4096));
  EXPECT_EQ(OperatorBytes(Find(ops, "embed.word"), Phase::kBwdData), 0);
}

}  // namespace
}  // namespace proteus
