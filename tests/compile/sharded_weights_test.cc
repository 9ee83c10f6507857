// ZeRO-3 / FSDP: sharded weights gathered per unit, gradients reduce-scattered per unit; the
// distributed optimizer's overlapped parameter gathers; blocking vs overlapped p2p; tied-embedding
// gradients across pipeline ranks; vocab-parallel cross-entropy. Expected values are computed here
// from the model, not read back from the compiler.
#include <gtest/gtest.h>

#include <set>

#include "tests/compile/compile_fixture.h"

namespace proteus {
namespace {

using testing::CountTasks;
using testing::MakeJob;
using testing::SmallGpt;

int64_t StaticBytes(const ExecGraph& g) {
  const auto& m = g.gpus[0].static_memory;
  return m[static_cast<int>(MemCategory::kWeights)] + m[static_cast<int>(MemCategory::kGradients)] +
         m[static_cast<int>(MemCategory::kOptimizer)];
}

struct CommBytes {
  int64_t all_gather = 0, reduce_scatter = 0;
  int all_gathers = 0, reduce_scatters = 0;
};

// Bytes of the weight gathers and gradient scatters of simulated GPU 0.
CommBytes UnitTraffic(const ExecGraph& g) {
  CommBytes b;
  for (const auto& t : g.tasks) {
    if (t.gpu != 0 || t.comm < 0) continue;
    std::string name(g.NameOf(t));
    if (name.find(" weights all_gather") != std::string::npos) {
      b.all_gather += g.comms[t.comm].bytes;
      ++b.all_gathers;
    } else if (name.find(" grads reduce_scatter") != std::string::npos) {
      b.reduce_scatter += g.comms[t.comm].bytes;
      ++b.reduce_scatters;
    }
  }
  return b;
}

// The task with this exact name (first match) on GPU 0, or nullptr.
const Task* Find(const ExecGraph& g, const std::string& name, int mb = -2) {
  for (const auto& t : g.tasks)
    if (t.gpu == 0 && g.NameOf(t) == name && (mb == -2 || t.microbatch == mb)) return &t;
  return nullptr;
}

bool DependsOn(const ExecGraph& g, const Task& t, const std::string& dep_name) {
  for (int32_t d = t.dep_begin; d < t.dep_begin + t.dep_count; ++d)
    if (g.NameOf(g.tasks[g.deps[d]]) == dep_name) return true;
  return false;
}

TEST(ShardedWeights, ZeroThreeStaticBytesAreSixteenPerParamOverDp) {
  Model m = SmallGpt(2);
  const int64_t params = m.Params();
  for (int dp : {2, 4}) {
    ShorthandOptions o;
    o.dp = dp;
    o.zero = 3;
    o.precision.main_grads = DType::kBf16;  // DeepSpeed keeps 16-bit gradients
    CompileResult r = MakeJob(m, o).Run();
    // Mixed-precision Adam: (2 + 2 + 12) bytes per parameter, all of it sharded over dp.
    EXPECT_NEAR(static_cast<double>(StaticBytes(r.graph)), 16.0 * params / dp, 16.0 * 8) << "dp " << dp;
    // Megatron-Core's fp32 main gradients: (2 + 4 + 12) / dp.
    o.precision.main_grads = DType::kFp32;
    EXPECT_NEAR(static_cast<double>(StaticBytes(MakeJob(m, o).Run().graph)), 18.0 * params / dp, 18.0 * 8);
  }
}

TEST(ShardedWeights, FsdpGathersTheParametersTwiceAndScattersTheGradientsOnce) {
  Model m = SmallGpt(2);  // untied embeddings: every weight belongs to one unit
  const int64_t weight_bytes = m.Params() * 2;  // bf16
  ShorthandOptions o;
  o.dp = 4;
  o.fsdp = true;
  CompileResult r = MakeJob(m, o).Run();  // one micro-batch
  CommBytes b = UnitTraffic(r.graph);
  EXPECT_EQ(b.all_gather, 2 * weight_bytes);    // forward, and again for backward (resharded)
  EXPECT_EQ(b.reduce_scatter, weight_bytes);    // each gradient once
  // Units: embed, layers.0, layers.1, final_norm, lm_head.
  EXPECT_EQ(b.reduce_scatters, 5);
  EXPECT_EQ(CountTasks(r.graph, 0, "grad bucket"), 0);  // no data-parallel buckets besides

  o.weight_gather.reshard_after_forward = false;  // FSDP2 reshard_after_forward=False
  CommBytes kept = UnitTraffic(MakeJob(m, o).Run().graph);
  EXPECT_EQ(kept.all_gather, weight_bytes);
  EXPECT_EQ(kept.reduce_scatter, weight_bytes);

  // Two micro-batches: gathers and scatters every micro-batch (no gradient accumulation unsharded).
  o.weight_gather.reshard_after_forward = true;
  o.global_batch = 8;
  CommBytes two = UnitTraffic(MakeJob(m, o).Run().graph);
  EXPECT_EQ(two.all_gather, 4 * weight_bytes);
  EXPECT_EQ(two.reduce_scatter, 2 * weight_bytes);
}

TEST(ShardedWeights, ZeroThreeGathersPerOperatorAndPrefetchGatesTheGathers) {
  Model m = SmallGpt(2);
  ShorthandOptions o;
  o.dp = 2;
  o.zero = 3;
  CompileResult r = MakeJob(m, o).Run();
  // One unit per operator with weights: as many scatters as such operators.
  int weighted_ops = 0;
  VisitModules(m.root, [&](const std::string&, const Module& mod) {
    for (const auto& op : mod.ops) weighted_ops += op.WeightParams() > 0;
  });
  EXPECT_EQ(UnitTraffic(r.graph).reduce_scatters, weighted_ops);

  // FSDP, prefetch 1: layers.1's forward gather waits for the embedding unit (two units back) only;
  // prefetch 0: it waits for layers.0, the unit just before.
  o.zero = 0;
  o.fsdp = true;
  CompileResult p1 = MakeJob(m, o).Run();
  const Task* g1 = Find(p1.graph, "layers.1 weights all_gather dp");
  ASSERT_NE(g1, nullptr);
  EXPECT_EQ(g1->phase, Phase::kFwd);
  EXPECT_TRUE(DependsOn(p1.graph, *g1, "embed.word fwd") || DependsOn(p1.graph, *g1, "embed.add fwd") ||
              g1->dep_count == 1);
  o.weight_gather.prefetch = 0;
  CompileResult p0 = MakeJob(m, o).Run();
  const Task* g0 = Find(p0.graph, "layers.1 weights all_gather dp");
  ASSERT_NE(g0, nullptr);
  ASSERT_EQ(g0->dep_count, 1);
  EXPECT_EQ(std::string(p0.graph.NameOf(p0.graph.tasks[p0.graph.deps[g0->dep_begin]])).rfind("layers.0.", 0), 0u);
  // The first compute of layers.1 waits for its gather.
  const Task* norm = Find(p0.graph, "layers.1.attn.norm fwd");
  ASSERT_NE(norm, nullptr);
  EXPECT_TRUE(DependsOn(p0.graph, *norm, "layers.1 weights all_gather dp"));
}

TEST(ShardedWeights, GatheredWeightsAreBuffersFreedAfterUse) {
  Model m = SmallGpt(2);
  ShorthandOptions o;
  o.dp = 2;
  o.fsdp = true;
  CompileResult r = MakeJob(m, o).Run();
  int64_t net = 0, peak_alloc = 0;
  for (const auto& e : r.graph.mem_effects)
    if (e.category == MemCategory::kBuffers) {
      net += e.bytes;
      peak_alloc = std::max(peak_alloc, e.bytes);
    }
  EXPECT_EQ(net, 0);  // every gathered unit and unsharded gradient is freed again
  EXPECT_GT(peak_alloc, 0);
}

TEST(ParamGather, OverlappedGathersMoveIntoTheFirstForward) {
  Model m = SmallGpt(2);
  ShorthandOptions o;
  o.dp = 2;
  o.global_batch = 4;  // two micro-batches
  o.zero = 1;
  CompileResult tail = MakeJob(m, o).Run();
  int buckets = CountTasks(tail.graph, 0, "param bucket");
  ASSERT_GT(buckets, 0);
  for (const auto& t : tail.graph.tasks)
    if (std::string(tail.graph.NameOf(t)).find("param bucket") != std::string::npos) { EXPECT_EQ(t.phase, Phase::kStep); }

  o.overlap_param_gather = true;
  CompileResult over = MakeJob(m, o).Run();
  EXPECT_EQ(CountTasks(over.graph, 0, "param bucket"), buckets);  // same gathers, moved
  for (const auto& t : over.graph.tasks) {
    if (std::string(over.graph.NameOf(t)).find("param bucket") == std::string::npos) continue;
    EXPECT_EQ(t.phase, Phase::kFwd);
    EXPECT_EQ(t.microbatch, 0);
  }
  // The embedding (first operator) waits for the gather of the bucket holding its table.
  const Task* embed = Find(over.graph, "embed.word fwd", 0);
  ASSERT_NE(embed, nullptr);
  bool waits = false;
  for (int32_t d = embed->dep_begin; d < embed->dep_begin + embed->dep_count; ++d)
    waits |= std::string(over.graph.NameOf(over.graph.tasks[over.graph.deps[d]])).find("param bucket") == 0;
  EXPECT_TRUE(waits);
  const Task* embed1 = Find(over.graph, "embed.word fwd", 1);
  ASSERT_NE(embed1, nullptr);
  EXPECT_EQ(embed1->dep_count, 0);  // later micro-batches use the gathered parameters
}

TEST(Pipeline, BlockingSendsMakeTheNextComputeWait) {
  Model m = SmallGpt(4);
  ShorthandOptions o;
  o.pp = 2;
  o.global_batch = 4;
  CompileResult blocking = MakeJob(m, o).Run();  // 1f1b: Megatron's sends block
  EXPECT_FALSE(blocking.graph.tasks.empty());
  auto waits_on_send = [](const ExecGraph& g) {
    int n = 0;
    for (const auto& t : g.tasks)
      if (t.kind == TaskKind::kCompute && t.phase != Phase::kStep)  // the step waits for every stream
        for (int32_t d = t.dep_begin; d < t.dep_begin + t.dep_count; ++d) n += g.tasks[g.deps[d]].kind == TaskKind::kP2P &&
                                                                           g.tasks[g.deps[d]].gpu == t.gpu;
    return n;
  };
  EXPECT_GT(waits_on_send(blocking.graph), 0);
  o.overlap_p2p_comm = true;
  EXPECT_EQ(waits_on_send(MakeJob(m, o).Run().graph), 0);
}

TEST(Pipeline, TiedEmbeddingGradientsAreAllReducedAcrossFirstAndLastStage) {
  TransformerConfig c;
  c.name = "tied";
  c.num_layers = 2;
  c.hidden = 64;
  c.num_heads = 4;
  c.vocab = 128;
  c.seq_len = 16;
  c.tied_embeddings = true;
  Model m = BuildTransformer(c, "test");
  ShorthandOptions o;
  o.pp = 2;
  o.tp = 2;
  CompileResult r = MakeJob(m, o).Run();
  const ExecGraph& g = r.graph;
  std::set<int> gpus;
  const Task* ar = nullptr;
  for (const auto& t : g.tasks)
    if (g.NameOf(t) == "tied embed.word.weight grad all_reduce pp") {
      gpus.insert(t.gpu);
      ar = &t;
    }
  ASSERT_NE(ar, nullptr);
  EXPECT_EQ(gpus.size(), 2u);  // the first and the last pipeline rank, one shared collective
  EXPECT_EQ(g.comms[ar->comm].members.size(), 2u);
  // vocab / tp rows x hidden, fp32 main gradients.
  EXPECT_EQ(g.comms[ar->comm].bytes, m.vocab / 2 * 64 * 4);
  // Before each rank's optimizer step.
  for (const auto& t : g.tasks)
    if (g.NameOf(t) == "optimizer step") { EXPECT_TRUE(DependsOn(g, t, "tied embed.word.weight grad all_reduce pp")); }
  // Untied: none.
  EXPECT_EQ(CountTasks(MakeJob(SmallGpt(2), o).Run().graph, 0, "tied "), 0);
}

TEST(CrossEntropy, VocabParallelLossHasThreeAllReduces) {
  ShorthandOptions o;
  o.tp = 2;
  CompileResult r = MakeJob(SmallGpt(2), o).Run();
  EXPECT_EQ(CountTasks(r.graph, 0, "loss.cross_entropy.out max all_reduce tp"), 1);
  EXPECT_EQ(CountTasks(r.graph, 0, "loss.cross_entropy.out target logit all_reduce tp"), 1);
  EXPECT_EQ(CountTasks(r.graph, 0, "loss.cross_entropy.out sum exp all_reduce tp"), 1);
  const Task* max = Find(r.graph, "loss.cross_entropy.out max all_reduce tp");
  ASSERT_NE(max, nullptr);
  EXPECT_EQ(r.graph.comms[max->comm].bytes, 16 * 4);  // s x b fp32 (b = 1)
}

}  // namespace
}  // namespace proteus
