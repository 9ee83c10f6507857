#include "simulator/strategy/validate.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "simulator/model/transformer.h"
#include "simulator/strategy/shorthand.h"
#include "tests/strategy/tiny_model.h"

namespace proteus {
namespace {

std::string Rejection(const Model& m, const Strategy& s, int gpus) {
  try {
    ValidateStrategy(m, s, gpus);
  } catch (const UserError& e) {
    return e.what();
  }
  return "(accepted)";
}

Strategy Shorthand(const Model& m, int tp, int pp, int dp, int64_t gbs = 0) {
  ShorthandOptions o;
  o.tp = tp;
  o.pp = pp;
  o.dp = dp;
  o.global_batch = gbs;
  return ExpandShorthand(m, o);
}

TEST(Validate, AcceptsAConsistentStrategy) {
  Model m = testing::TinyGpt(4);
  EXPECT_EQ(Rejection(m, Shorthand(m, 2, 2, 2, 8), 8), "(accepted)");
}

TEST(Validate, MeshLargerThanTheCluster) {
  Model m = testing::TinyGpt(4);
  EXPECT_EQ(Rejection(m, Shorthand(m, 2, 2, 2, 8), 4),
            "shorthand: mesh pp=2 x dp=2 x tp=2 needs 8 GPUs but the cluster has 4");
}

TEST(Validate, TpNotDividingADim) {
  Model m = testing::TinyGpt(2, /*s=*/8, /*h=*/16, /*f=*/64, /*vocab=*/30);
  EXPECT_EQ(Rejection(m, Shorthand(m, 4, 1, 1), 4), "shorthand: tp=4 does not divide dim v=30 of embed.word");
}

TEST(Validate, SequenceParallelNotDividingTheSequence) {
  Model m = testing::TinyGpt(2, /*s=*/6, 16, 64, 32);
  ShorthandOptions o;
  o.tp = 4;
  o.sequence_parallel = true;
  EXPECT_EQ(Rejection(m, ExpandShorthand(m, o), 4), "shorthand: tp=4 does not divide dim s=6 of layers.0.mlp.norm");
}

TEST(Validate, BatchNotDivisible) {
  Model m = testing::TinyGpt(2);
  EXPECT_EQ(Rejection(m, Shorthand(m, 1, 1, 4, 10), 4),
            "shorthand: global_batch 10 is not divisible by micro_batch 1 x dp 4 = 4");
}

TEST(Validate, StagesNotCoveringOrOutOfOrder) {
  Model m = testing::TinyGpt(4);
  Strategy s = Shorthand(m, 1, 2, 1, 4);
  // Drop the rule for layers 2-3: they are left without a stage.
  std::vector<StrategyRule> kept;
  for (const auto& r : s.nodes)
    if (r.match != "layers.[2-3]") kept.push_back(r);
  Strategy missing = s;
  missing.nodes = kept;
  EXPECT_EQ(Rejection(m, missing, 2),
            "shorthand: layers.2.mlp.norm has no pipeline stage (2 stages): give it a stage rule");
  Strategy swapped = s;
  for (auto& r : swapped.nodes)
    if (r.settings.stage && r.match == "layers.[0-1]") r.settings.stage = 1;
    else if (r.settings.stage && r.match == "layers.[2-3]") r.settings.stage = 0;
  EXPECT_EQ(Rejection(m, swapped, 2),
            "shorthand: stages must follow execution order: layers.2.mlp.norm (stage 0) runs after "
            "layers.1.mlp.residual (stage 1)");
  Strategy empty = s;
  empty.mesh[0].size = 3;  // stages 0 and 1 are used, 2 is empty
  for (auto& r : empty.nodes)
    if (r.settings.stage == 1) r.settings.stage = 2;
  EXPECT_EQ(Rejection(m, empty, 3),
            "shorthand: pipeline stage 1 has no operators: stages must cover the layers with no empty stage");
  Strategy beyond = s;
  beyond.nodes.back().settings.stage = 5;
  EXPECT_NE(Rejection(m, beyond, 2).find("is on stage 5 but the pipeline has 2 stages"), std::string::npos);
}

TEST(Validate, TooFewLayersForThePipeline) {
  Model m = testing::TinyGpt(2);
  EXPECT_THROW(Shorthand(m, 1, 4, 1, 4), UserError);
}

TEST(Validate, UnknownAxesAndGlobsMatchingNothing) {
  Model m = testing::TinyGpt(2);
  Strategy s = Shorthand(m, 2, 1, 1);
  s.nodes.push_back({"layers.*.mlp.fc1", {}});
  s.nodes.back().settings.partition["h"] = "tq";
  EXPECT_EQ(Rejection(m, s, 2), "shorthand: nodes[6].partition.h: unknown mesh axis 'tq' (mesh axes: pp, dp, tp)");
  s.nodes.back() = {"layer.*.mlp", {}};
  s.nodes.back().settings.recompute = Recompute::kFull;
  EXPECT_EQ(Rejection(m, s, 2), "shorthand: nodes[6].match 'layer.*.mlp' matches no module or operator of model tiny-gpt");
  s.nodes.back() = {"layers.*.mlp.norm", {}};
  s.nodes.back().settings.partition["h"] = "tp";
  EXPECT_EQ(Rejection(m, s, 2), "shorthand: layers.0.mlp.norm: dim h is opaque and cannot be partitioned over tp");
  s.nodes.back() = {"layers.*.mlp.fc1", {}};
  s.nodes.back().settings.partition["h"] = "tp";  // f is already on tp
  EXPECT_EQ(Rejection(m, s, 2), "shorthand: layers.0.mlp.fc1: two dims are partitioned over the same axis tp");
  s.nodes.back().settings.partition["h"] = "pp";
  EXPECT_NE(Rejection(m, s, 2).find("pp is the pipeline axis"), std::string::npos);
}

TEST(Validate, ShardedWeightsNeedShardedGradientsAndAnUnsplitAxis) {
  Model m = testing::TinyGpt(2);
  Strategy s = Shorthand(m, 1, 1, 2);
  s.defaults.weights = "dp";  // ZeRO-3 without ZeRO-2
  EXPECT_NE(Rejection(m, s, 2).find("ZeRO-3 implies ZeRO-2 and ZeRO-1"), std::string::npos) << Rejection(m, s, 2);
  s.defaults.grads = "dp";
  s.defaults.optimizer = "dp";
  EXPECT_EQ(Rejection(m, s, 2), "(accepted)");
  Strategy t = Shorthand(m, 2, 1, 1);
  t.defaults.weights = t.defaults.grads = t.defaults.optimizer = "tp";  // tp already splits fc1's weight
  EXPECT_NE(Rejection(m, t, 2).find("already split over tp"), std::string::npos) << Rejection(m, t, 2);
}

TEST(Validate, APartitionOfADimNoOperatorHasIsAnError) {
  Model m = testing::TinyGpt(2);
  Strategy s = Shorthand(m, 2, 1, 1);
  s.nodes.push_back({"layers.*.mlp", {}});
  s.nodes.back().settings.partition["ff"] = "tp";  // a typo for f
  EXPECT_NE(Rejection(m, s, 2).find("shorthand: nodes[" + std::to_string(s.nodes.size() - 1) +
                                    "].partition.ff: no operator under 'layers.*.mlp' has a dim 'ff'"),
            std::string::npos)
      << Rejection(m, s, 2);
  s.nodes.back().settings.partition["ff"] = std::nullopt;  // removing an absent dim is harmless
  EXPECT_EQ(Rejection(m, s, 2), "(accepted)");
  s.defaults.partition["batch"] = "tp";
  EXPECT_NE(Rejection(m, s, 2).find("defaults.partition.batch"), std::string::npos);
}

TEST(Validate, UnimplementedFeaturesAreRefusedByName) {
  Model m = testing::TinyGpt(2);
  Strategy s = Shorthand(m, 1, 1, 2);
  s.defaults.offload_optimizer = true;  // per module: DeepSpeed offloads the whole optimizer
  EXPECT_NE(Rejection(m, s, 2).find("shorthand: defaults.offload.optimizer: optimizer offload is per job"),
            std::string::npos);
  s.defaults.offload_optimizer.reset();
  s.defaults.weights.reset();
  s.defaults.grads = "dp";  // ZeRO-2 without ZeRO-1
  EXPECT_NE(Rejection(m, s, 2).find("ZeRO-2 implies ZeRO-1"), std::string::npos);
}

TEST(Validate, InterleavingNeedsMicrobatchesDivisibleByPp) {
  Model m = testing::TinyGpt(4);
  ShorthandOptions o;
  o.pp = 2;
  o.schedule = "interleaved:2";
  o.global_batch = 3;
  EXPECT_EQ(Rejection(m, ExpandShorthand(m, o), 2),
            "shorthand: the interleaved schedule needs micro-batches (3) divisible by pp (2)");
}

}  // namespace
}  // namespace proteus

namespace proteus {
namespace {

// DeepSpeed ZeRO-Offload offloads a ZeRO stage 1 or 2 optimizer; anything else is refused by name.
TEST(Validate, OptimizerOffloadNeedsZeroOneOrTwo) {
  Model m = testing::TinyGpt(2);
  ShorthandOptions o;
  o.dp = 2;
  o.offload_optimizer = true;
  for (int zero : {0, 3}) {
    o.zero = zero;
    try {
      ExpandShorthand(m, o);
      ADD_FAILURE() << "zero " << zero << " accepted";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find("--offload-optimizer"), std::string::npos) << e.what();
    }
  }
  o.zero = 1;
  EXPECT_EQ(Rejection(m, ExpandShorthand(m, o), 2), "(accepted)");
  o.zero = 2;
  EXPECT_EQ(Rejection(m, ExpandShorthand(m, o), 2), "(accepted)");
  // A file: the top-level key without a sharded optimizer names the field.
  Strategy s = Shorthand(m, 1, 1, 2);
  s.origin = "s.json";
  s.offload_optimizer = true;
  EXPECT_NE(Rejection(m, s, 2).find("s.json: offload_optimizer: "), std::string::npos) << Rejection(m, s, 2);
  s.defaults.optimizer = s.defaults.grads = s.defaults.weights = "dp";  // ZeRO-3
  EXPECT_NE(Rejection(m, s, 2).find("ZeRO-Infinity"), std::string::npos) << Rejection(m, s, 2);
}

// Megatron-Core's TransformerConfig refuses cpu_offloading_num_layers outside [0, num_layers), pipeline
// parallelism and recomputation; here also other schedules and DeepSpeed's optimizer offload. The
// shorthand names the flag, a file its field.
TEST(Validate, ActivationOffloadRefusesWhatMegatronRefuses) {
  Model m = testing::TinyGpt(2);  // 2 layers: N = 1 only
  Strategy ok = Shorthand(m, 1, 1, 2);
  ok.offload_activations = 1;
  EXPECT_EQ(Rejection(m, ok, 2), "(accepted)");
  ok.offload_activations = 2;
  EXPECT_NE(Rejection(m, ok, 2).find("--offload-activations: offloads the first N transformer layers, 0 < N < the 2"),
            std::string::npos)
      << Rejection(m, ok, 2);
  Strategy pp = Shorthand(m, 1, 2, 1);
  pp.offload_activations = 1;
  pp.origin = "s.json";
  EXPECT_NE(Rejection(m, pp, 2).find("s.json: offload_activations: Megatron-Core has no support for pipeline"),
            std::string::npos)
      << Rejection(m, pp, 2);
  Strategy rc = Shorthand(m, 1, 1, 2);
  rc.offload_activations = 1;
  rc.defaults.recompute = Recompute::kSelective;
  EXPECT_NE(Rejection(m, rc, 2).find("does not work when activation recomputation is enabled"), std::string::npos)
      << Rejection(m, rc, 2);
  Strategy gp = Shorthand(m, 1, 1, 2);
  gp.offload_activations = 1;
  gp.schedule.kind = ScheduleKind::kGPipe;
  EXPECT_NE(Rejection(m, gp, 2).find("--offload-activations: without a pipeline"), std::string::npos)
      << Rejection(m, gp, 2);
  Strategy both = Shorthand(m, 1, 1, 2);
  both.offload_activations = 1;
  both.offload_optimizer = true;
  both.defaults.optimizer = "dp";
  EXPECT_NE(Rejection(m, both, 2).find("--offload-activations: activation offload follows Megatron-Core"),
            std::string::npos)
      << Rejection(m, both, 2);
}

}  // namespace
}  // namespace proteus

namespace proteus {
namespace {

// HSDP: --hsdp needs --fsdp and 1 < N < dp with N | dp (N = dp would be plain FSDP, N = 1 DDP);
// a file's weight_gather.shard_group is checked against the shard axis.
TEST(Validate, HsdpShardGroupMustCutTheShardAxisIntoGroups) {
  Model m = testing::TinyGpt(2);
  ShorthandOptions o;
  o.dp = 8;
  o.global_batch = 8;
  o.weight_gather.shard_group = 4;
  auto flag_error = [&](const ShorthandOptions& x) -> std::string {
    try {
      ExpandShorthand(m, x);
    } catch (const UserError& e) {
      return e.what();
    }
    return "(accepted)";
  };
  EXPECT_EQ(flag_error(o).rfind("--hsdp: ", 0), 0u) << flag_error(o);  // without --fsdp
  o.fsdp = true;
  EXPECT_EQ(Rejection(m, ExpandShorthand(m, o), 8), "(accepted)");
  for (int bad : {1, 3, 8, 16}) {
    o.weight_gather.shard_group = bad;
    EXPECT_EQ(flag_error(o).rfind("--hsdp: ", 0), 0u) << bad << ": " << flag_error(o);
  }
  // A file: the same rules, naming the field.
  o.weight_gather.shard_group = 4;
  Strategy s = ExpandShorthand(m, o);
  s.origin = "h.json";
  s.weight_gather.shard_group = 8;  // = dp: plain FSDP
  EXPECT_NE(Rejection(m, s, 8).find("h.json: weight_gather.shard_group 8: must divide the shard axis dp=8"),
            std::string::npos)
      << Rejection(m, s, 8);
  s.weight_gather.shard_group = 3;
  EXPECT_NE(Rejection(m, s, 8).find("weight_gather.shard_group 3"), std::string::npos) << Rejection(m, s, 8);
  s.weight_gather.shard_group = 2;
  EXPECT_EQ(Rejection(m, s, 8), "(accepted)");
  s.defaults.weights.reset();  // ZeRO-2 with a shard group: nothing to shard in groups
  EXPECT_NE(Rejection(m, s, 8).find("h.json: weight_gather.shard_group 2: HSDP shards the weights"),
            std::string::npos)
      << Rejection(m, s, 8);
}

// A 2-layer Llama with attention (s 16, h 32, 4 heads, 2 kv heads).
Model TinyLlama() {
  TransformerConfig c;
  c.name = "tiny-llama";
  c.style = BlockStyle::kLlama;
  c.num_layers = 2;
  c.hidden = 32;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.vocab = 64;
  c.seq_len = 16;
  c.bias = c.dropout = false;
  return BuildTransformer(c, "test");
}

// Context parallelism (ring attention) needs every iterated sequence dim split over cp, a sequence
// divisible by 2 x cp, and none of the combinations it is not modelled with: each refusal names the
// flag (shorthand) or the file's field.
TEST(Validate, ContextParallelNeedsTheSequenceOnCp) {
  Model m = TinyLlama();  // s 16
  ShorthandOptions o;
  o.dp = 2;
  o.cp = 2;
  Strategy s = ExpandShorthand(m, o);
  EXPECT_EQ(Rejection(m, s, 4), "(accepted)");
  o.cp = 8;  // 16 = 2 x 8
  EXPECT_EQ(Rejection(m, ExpandShorthand(m, o), 16), "(accepted)");
  o.cp = 3;  // 16 is not divisible by 6
  std::string why = Rejection(m, ExpandShorthand(m, o), 6);
  EXPECT_NE(why.find("--cp"), std::string::npos) << why;
  EXPECT_NE(why.find("2 x cp = 6"), std::string::npos) << why;
  // A file's cp axis without the sequence on it: its ranks would be silent replicas.
  Strategy file = Shorthand(m, 1, 1, 2);
  file.origin = "s.json";
  file.mesh = {{"pp", 1}, {"dp", 2}, {"cp", 2}, {"tp", 1}};
  why = Rejection(m, file, 4);
  EXPECT_NE(why.find("s.json"), std::string::npos) << why;
  EXPECT_NE(why.find(".partition.s"), std::string::npos) << why;
  // Not modelled beside cp: sequence parallelism, expert parallelism, ZeRO-2.
  o.cp = 2;
  o.tp = 2;
  o.sequence_parallel = true;
  why = Rejection(m, ExpandShorthand(m, o), 8);
  EXPECT_NE(why.find("--sp"), std::string::npos) << why;
  o.sequence_parallel = false;
  o.zero = 2;
  why = Rejection(m, ExpandShorthand(m, o), 8);
  EXPECT_NE(why.find("--cp"), std::string::npos) << why;
  EXPECT_NE(why.find("ZeRO-2"), std::string::npos) << why;
}

// Unfused attention would read every key through a gather of the whole q/k/v: refused under cp.
TEST(Validate, ContextParallelNeedsFusedAttention) {
  TransformerConfig c;
  c.name = "tiny-unfused";
  c.style = BlockStyle::kLlama;
  c.num_layers = 1;
  c.hidden = 32;
  c.num_heads = 4;
  c.vocab = 64;
  c.seq_len = 16;
  c.fused_attention = false;
  Model m = BuildTransformer(c, "test");
  ShorthandOptions o;
  o.cp = 2;
  std::string why = Rejection(m, ExpandShorthand(m, o), 2);
  EXPECT_NE(why.find("fused attention"), std::string::npos) << why;
}

// Splitting the queries of attention over any axis, with no exchange of keys and values, would
// let each rank attend to its own block only.
TEST(Validate, AttentionQueriesSplitWithoutKeyExchangeAreRefused) {
  Model m = TinyLlama();
  Strategy s = Shorthand(m, 2, 1, 1);
  s.nodes.push_back({"layers.*.attn.core", {}});
  s.nodes.back().settings.partition["s"] = "sq";
  s.mesh = {{"pp", 1}, {"dp", 1}, {"sq", 2}, {"tp", 2}};
  std::string why = Rejection(m, s, 4);
  EXPECT_NE(why.find("layers.0.attn.core.partition.s"), std::string::npos) << why;
  EXPECT_NE(why.find("key/value exchange"), std::string::npos) << why;
  // Sequence parallelism splits s outside attention only: accepted.
  ShorthandOptions o;
  o.tp = 2;
  o.sequence_parallel = true;
  EXPECT_EQ(Rejection(m, ExpandShorthand(m, o), 2), "(accepted)");
}

}  // namespace
}  // namespace proteus
