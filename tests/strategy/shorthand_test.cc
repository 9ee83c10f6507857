#include "simulator/strategy/shorthand.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "simulator/strategy/explain.h"
#include "simulator/strategy/validate.h"
#include "tests/strategy/tiny_model.h"

namespace proteus {
namespace {

const EffectiveSettings& Find(const ResolvedModel& r, const std::string& path) {
  for (const auto& op : r.ops)
    if (op.path == path) return op.settings;
  throw std::runtime_error("no op " + path);
}

using Part = std::map<std::string, std::string>;

TEST(Shorthand, TpPartitionsTheHintedDimsOfEveryLayerWithOneRulePerPath) {
  Model m = testing::TinyGpt(2);
  ShorthandOptions o;
  o.tp = 2;
  o.dp = 2;
  Strategy s = ExpandShorthand(m, o);
  ASSERT_EQ(s.mesh.size(), 3u);
  EXPECT_EQ(s.mesh[0].name, "pp");
  EXPECT_EQ(s.mesh[2].name, "tp");
  // One rule per layer-independent path: embed.word, fc1, act, fc2, logits, cross_entropy.
  ASSERT_EQ(s.nodes.size(), 6u);
  EXPECT_EQ(s.nodes[1].match, "layers.*.mlp.fc1");
  ResolvedModel r = ValidateStrategy(m, s, 4);
  EXPECT_EQ(Find(r, "layers.1.mlp.fc1").partition, (Part{{"b", "dp"}, {"f", "tp"}}));
  EXPECT_EQ(Find(r, "layers.1.mlp.fc2").partition, (Part{{"b", "dp"}, {"f", "tp"}}));
  EXPECT_EQ(Find(r, "layers.1.mlp.norm").partition, (Part{{"b", "dp"}}));  // no --sp
  EXPECT_EQ(Find(r, "embed.word").partition, (Part{{"b", "dp"}, {"v", "tp"}}));
  EXPECT_EQ(s.global_batch, 2);  // default: micro_batch 1 x dp 2
}

TEST(Shorthand, SpAlsoSplitsTheSequenceOfHintedOps) {
  Model m = testing::TinyGpt(2);
  ShorthandOptions o;
  o.tp = 2;
  o.sequence_parallel = true;
  ResolvedModel r = ValidateStrategy(m, ExpandShorthand(m, o), 2);
  EXPECT_EQ(Find(r, "layers.0.mlp.norm").partition, (Part{{"b", "dp"}, {"s", "tp"}}));
  EXPECT_EQ(Find(r, "layers.0.mlp.residual").partition, (Part{{"b", "dp"}, {"s", "tp"}}));
  EXPECT_EQ(Find(r, "layers.0.mlp.fc1").partition, (Part{{"b", "dp"}, {"f", "tp"}}));
}

TEST(Shorthand, PpSplitsLayersEvenlyWithHeadAndTailModules) {
  Model m = testing::TinyGpt(5);
  ShorthandOptions o;
  o.pp = 2;
  o.global_batch = 4;
  Strategy s = ExpandShorthand(m, o);
  ResolvedModel r = ValidateStrategy(m, s, 2);
  EXPECT_EQ(Find(r, "embed.word").stage, 0);
  EXPECT_EQ(Find(r, "layers.2.mlp.fc1").stage, 0);  // 5 layers over 2 stages: 3 + 2
  EXPECT_EQ(Find(r, "layers.3.mlp.fc1").stage, 1);
  EXPECT_EQ(Find(r, "loss.cross_entropy").stage, 1);
  EXPECT_EQ(s.NumMicrobatches(), 4);
}

TEST(Shorthand, UnevenStagesFromPpLayers) {
  Model m = testing::TinyGpt(6);
  ShorthandOptions o;
  o.pp = 3;
  o.pp_layers = {1, 2, 3};
  ResolvedModel r = ValidateStrategy(m, ExpandShorthand(m, o), 3);
  EXPECT_EQ(Find(r, "layers.0.mlp.fc1").stage, 0);
  EXPECT_EQ(Find(r, "layers.1.mlp.fc1").stage, 1);
  EXPECT_EQ(Find(r, "layers.2.mlp.fc1").stage, 1);
  EXPECT_EQ(Find(r, "layers.3.mlp.fc1").stage, 2);
  o.pp_layers = {1, 2, 2};
  EXPECT_THROW(ExpandShorthand(m, o), UserError);
}

TEST(Shorthand, ZeroRecomputeAndScheduleFlags) {
  Model m = testing::TinyGpt(4);
  ShorthandOptions o;
  o.pp = 2;
  o.dp = 2;
  o.zero = 1;
  o.recompute = "selective";
  o.schedule = "interleaved:2";
  o.global_batch = 8;
  Strategy s = ExpandShorthand(m, o);
  EXPECT_EQ(*s.defaults.optimizer, "dp");
  EXPECT_FALSE(s.defaults.grads.has_value());
  EXPECT_EQ(s.schedule.kind, ScheduleKind::kInterleaved);
  EXPECT_EQ(s.VirtualStages(), 4);
  ResolvedModel r = ValidateStrategy(m, s, 4);
  EXPECT_EQ(Find(r, "layers.3.mlp.fc1").stage, 3);  // one layer per virtual stage
  EXPECT_EQ(Find(r, "layers.3.mlp.fc1").recompute, Recompute::kSelective);
  EXPECT_EQ(Find(r, "embed.word").recompute, Recompute::kNone);
  o.schedule = "zigzag";
  EXPECT_THROW(ExpandShorthand(m, o), UserError);
  o.schedule = "1f1b:2";
  EXPECT_THROW(ExpandShorthand(m, o), UserError);
}

TEST(Explain, PrintsMeshBatchRulesAndAFoldedTree) {
  Model m = testing::TinyGpt(4);
  ShorthandOptions o;
  o.tp = 2;
  o.pp = 2;
  o.dp = 2;
  o.global_batch = 8;
  std::string text = ExplainStrategy(m, ExpandShorthand(m, o));
  EXPECT_NE(text.find("mesh: pp=2 dp=2 tp=2  (8 GPUs"), std::string::npos) << text;
  EXPECT_NE(text.find("-> 4 micro-batches"), std::string::npos) << text;
  EXPECT_NE(text.find("layers.*.mlp.fc1: partition {f: tp}"), std::string::npos) << text;
  // Layers 0-1 (stage 0) fold into one entry, 2-3 (stage 1) into another.
  EXPECT_NE(text.find("[0-1] (transformer_layer)  stage 0  x2 identical"), std::string::npos) << text;
  EXPECT_NE(text.find("[2-3] (transformer_layer)  stage 1  x2 identical"), std::string::npos) << text;
  EXPECT_NE(text.find("fc1 (linear)  {b: dp, f: tp}"), std::string::npos) << text;
}

}  // namespace
}  // namespace proteus

namespace proteus {
namespace {

std::string ShorthandError(const ShorthandOptions& o) {
  try {
    ExpandShorthand(testing::TinyGpt(2), o);
  } catch (const UserError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(Shorthand, ZeroStagesAndFsdpSetTheLayouts) {
  Model m = testing::TinyGpt(2);
  ShorthandOptions o;
  o.dp = 2;
  for (int zero : {0, 1, 2, 3}) {
    o.zero = zero;
    Strategy s = ExpandShorthand(m, o);
    EXPECT_EQ(s.defaults.optimizer.value_or(""), zero >= 1 ? "dp" : "") << zero;
    EXPECT_EQ(s.defaults.grads.value_or(""), zero >= 2 ? "dp" : "") << zero;
    EXPECT_EQ(s.defaults.weights.value_or(""), zero >= 3 ? "dp" : "") << zero;
  }
  EXPECT_EQ(ExpandShorthand(m, o).weight_gather.unit, GatherUnit::kOperator);  // DeepSpeed
  o.zero = 0;
  o.fsdp = true;
  Strategy f = ExpandShorthand(m, o);
  EXPECT_EQ(f.defaults.weights.value_or(""), "dp");
  EXPECT_EQ(f.weight_gather.unit, GatherUnit::kBlock);  // FSDP2
}

TEST(Shorthand, InconsistentShardingAndOverlapFlagsAreRefused) {
  ShorthandOptions o;
  o.zero = 4;
  EXPECT_EQ(ShorthandError(o).rfind("--zero:", 0), 0u) << ShorthandError(o);
  o.zero = 1;
  o.fsdp = true;
  EXPECT_EQ(ShorthandError(o).rfind("--fsdp:", 0), 0u) << ShorthandError(o);
  o.fsdp = false;
  o.zero = 0;
  o.overlap_param_gather = true;
  EXPECT_EQ(ShorthandError(o).rfind("--overlap-param-gather:", 0), 0u) << ShorthandError(o);
  o.zero = 1;
  EXPECT_EQ(ShorthandError(o), "(accepted)");
  o.tp_comm_overlap = true;  // without --sp
  EXPECT_EQ(ShorthandError(o).rfind("--tp-comm-overlap:", 0), 0u) << ShorthandError(o);
}

}  // namespace
}  // namespace proteus

namespace proteus {
namespace {

TEST(Explain, NamesTheOverlapsAndTheWeightGathering) {
  Model m = testing::TinyGpt(2);
  ShorthandOptions o;
  o.dp = 2;
  o.tp = 2;
  o.sequence_parallel = true;
  o.tp_comm_overlap = true;
  o.fsdp = true;
  o.weight_gather.prefetch = 2;
  std::string text = ExplainStrategy(m, ExpandShorthand(m, o));
  EXPECT_NE(text.find("tp comm pipelined with the GEMMs"), std::string::npos) << text;
  EXPECT_NE(text.find("p2p blocking the sender (the schedule's Megatron-Core default)"), std::string::npos) << text;
  EXPECT_NE(text.find("sharded weights: gathered per block (FSDP2), prefetch 2"), std::string::npos) << text;
  EXPECT_EQ(text.find("hsdp"), std::string::npos) << text;
  o.dp = 4;
  o.weight_gather.shard_group = 2;
  text = ExplainStrategy(m, ExpandShorthand(m, o));
  EXPECT_NE(text.find("hsdp: weights, gradients and optimizer states sharded over groups of 2 consecutive ranks"),
            std::string::npos)
      << text;
  o.dp = 2;
  o.weight_gather.shard_group = 0;
  o.fsdp = false;
  o.zero = 1;
  o.overlap_param_gather = true;
  o.overlap_p2p_comm = true;
  text = ExplainStrategy(m, ExpandShorthand(m, o));
  EXPECT_NE(text.find("param gather during the next forward"), std::string::npos) << text;
  EXPECT_NE(text.find("p2p beside compute\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("sharded weights"), std::string::npos) << text;
}

// --cp puts a cp axis between dp and tp (Megatron-Core's tp-cp-dp-pp rank order) and splits every
// operator's sequence dim over it; cp 1 keeps the three-axis mesh every run without cp has had.
TEST(Shorthand, CpAddsAnAxisBetweenDpAndTpAndSplitsTheSequence) {
  Model m = testing::TinyGpt(2);
  ShorthandOptions o;
  o.tp = 2;
  o.dp = 2;
  o.cp = 2;
  Strategy s = ExpandShorthand(m, o);
  ASSERT_EQ(s.mesh.size(), 4u);
  EXPECT_EQ(s.mesh[1].name, "dp");
  EXPECT_EQ(s.mesh[2].name, "cp");
  EXPECT_EQ(s.mesh[2].size, 2);
  EXPECT_EQ(s.mesh[3].name, "tp");
  EXPECT_EQ(s.MeshGpus(), 8);
  EXPECT_EQ(s.ContextParallel(), 2);
  ResolvedModel r = ValidateStrategy(m, s, 8);
  int on_cp = 0, with_s = 0;
  for (const auto& op : r.ops) {
    const Dim* d = op.op->FindDim("s");
    if (!d || d->extent_only) continue;
    ++with_s;
    auto it = op.settings.partition.find("s");
    on_cp += it != op.settings.partition.end() && it->second == "cp";
  }
  EXPECT_GT(with_s, 0);
  EXPECT_EQ(on_cp, with_s);
  o.cp = 1;
  EXPECT_EQ(ExpandShorthand(m, o).mesh.size(), 3u);
  o.cp = 0;
  EXPECT_THROW(ExpandShorthand(m, o), UserError);
}

}  // namespace
}  // namespace proteus
