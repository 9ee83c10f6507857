// Split backwards in the compiled graph: zb-h1 and dualpipev emit B (input gradients, sends) and W
// (weight gradients, buckets) as separate blocks, W's frees the saved inputs, dualpipev places its
// stages in a V and hands the turn-around tensor over without a send.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "simulator/compile/backward_split.h"
#include "simulator/compile/mesh.h"
#include "simulator/strategy/validate.h"
#include "tests/compile/compile_fixture.h"

namespace proteus::testing {
namespace {

// Names and micro-batches of one GPU's compute stream, in issue order, for tasks of `op`.
std::vector<std::string> ComputeOrder(const ExecGraph& g, int gpu, const std::string& op) {
  std::vector<std::string> out;
  for (TaskId id : g.gpus[gpu].streams[static_cast<int>(StreamKind::kCompute)]) {
    const Task& t = g.tasks[id];
    std::string name(g.NameOf(t));
    if (name.rfind(op + " ", 0) == 0) out.push_back(name.substr(op.size() + 1) + std::to_string(t.microbatch));
  }
  return out;
}

TEST(SplitBackward, WeightPartIsBwdWeightAndWhatFollowsIt) {
  ShorthandOptions o;
  o.pp = 2;
  o.dp = 2;
  o.global_batch = 4;
  Job job = MakeJob(SmallGpt(2), o);
  ExecGraph g;
  ResolvedModel resolved = ValidateStrategy(job.model, job.strategy, job.cluster);
  DeviceMesh mesh(job.strategy.mesh);
  JobProgram prog = BuildJobProgram({&job.model, &job.strategy, &resolved, &mesh, &job.coster, {}}, g);
  const std::vector<Step>& bwd = prog.stages[1].backward;
  std::vector<char> w = WeightGradSteps(bwd);
  int buckets = 0, sends = 0;
  for (size_t k = 0; k < bwd.size(); ++k) {
    std::string name = g.names[bwd[k].name];
    if (bwd[k].phase == Phase::kBwdWeight) { EXPECT_TRUE(w[k]) << name; }
    if (bwd[k].phase == Phase::kBwdData) { EXPECT_FALSE(w[k]) << name; }
    if (bwd[k].kind == TaskKind::kP2P) {
      EXPECT_FALSE(w[k]) << name;  // the input gradient leaves with B
      ++sends;
    }
    if (bwd[k].last_microbatch_only) {
      EXPECT_TRUE(w[k]) << name;  // dp buckets follow the weight gradients
      ++buckets;
    }
    for (int d : bwd[k].deps) EXPECT_TRUE(w[k] || !w[d]) << name << " (B) depends on W step " << g.names[bwd[d].name];
  }
  EXPECT_GT(buckets, 0);
  EXPECT_EQ(sends, 1);
}

TEST(SplitBackward, ZbH1DefersWeightGradientsOnLaterRanks) {
  ShorthandOptions o;
  o.pp = 2;
  o.global_batch = 4;
  o.schedule = "zb-h1";
  CompileResult r = MakeJob(SmallGpt(2), o).Run();
  // Rank 1 (last stage) holds one W back: W(k) after B(k+1). fc1 has both halves.
  EXPECT_EQ(ComputeOrder(r.graph, 1, "layers.1.mlp.fc1"),
            (std::vector<std::string>{"fwd0", "bwd_data0", "fwd1", "bwd_data1", "bwd_weight0", "fwd2", "bwd_data2",
                                      "bwd_weight1", "fwd3", "bwd_data3", "bwd_weight2", "bwd_weight3"}));
  // Rank 0 holds none back: each W right after its B.
  EXPECT_EQ(ComputeOrder(r.graph, 0, "layers.0.mlp.fc1"),
            (std::vector<std::string>{"fwd0", "fwd1", "bwd_data0", "bwd_weight0", "fwd2", "bwd_data1", "bwd_weight1",
                                      "fwd3", "bwd_data2", "bwd_weight2", "bwd_data3", "bwd_weight3"}));
}

TEST(SplitBackward, SavedInputOfAWeightGemmIsFreedByW) {
  ShorthandOptions o;
  o.pp = 2;
  o.global_batch = 4;
  o.schedule = "zb-h1";
  CompileResult r = MakeJob(SmallGpt(2), o).Run();
  const ExecGraph& g = r.graph;
  int frees_on_w = 0;
  for (const auto& t : g.tasks) {
    std::string name(g.NameOf(t));
    for (int e = 0; e < t.mem_count; ++e) {
      const MemEffect& m = g.mem_effects[t.mem_begin + e];
      if (m.bytes >= 0 || m.category != MemCategory::kActivations) continue;
      if (name == "layers.1.mlp.fc1 bwd_weight") ++frees_on_w;
      EXPECT_NE(name, "layers.1.mlp.fc1 bwd_data") << "the saved input of fc1 is freed before its W";
    }
  }
  EXPECT_EQ(frees_on_w, 4);  // once per micro-batch
}

TEST(SplitBackward, DualPipeVPlacesStagesInAVAndTurnsAroundInMemory) {
  ShorthandOptions o;
  o.pp = 2;
  o.global_batch = 4;
  o.schedule = "dualpipev";
  CompileResult r = MakeJob(SmallGpt(4), o).Run();
  // 4 stages of one layer: rank 0 holds stages 0 and 3 (layers 0 and 3), rank 1 stages 1 and 2.
  EXPECT_EQ(CountTasks(r.graph, 0, "layers.3.mlp.fc1 fwd"), 4);
  EXPECT_EQ(CountTasks(r.graph, 1, "layers.2.mlp.fc1 fwd"), 4);
  EXPECT_GT(CountTasks(r.graph, 0, "lm_head"), 0);  // the last stage is on rank 0
  EXPECT_EQ(CountTasks(r.graph, 1, "lm_head"), 0);
  // Stage 1 -> 2 stays on rank 1: no transfer, in either direction.
  EXPECT_EQ(CountTasks(r.graph, 1, "send layers.1.mlp.residual.out -> stage 2"), 0);
  EXPECT_EQ(CountTasks(r.graph, 1, "send grad layers.1.mlp.residual.out -> stage 1"), 0);
  // Stage 2 -> 3 crosses back to rank 0, once per micro-batch; its gradient returns.
  EXPECT_EQ(CountTasks(r.graph, 1, "send layers.2.mlp.residual.out -> stage 3"), 4);
  EXPECT_EQ(CountTasks(r.graph, 0, "send grad layers.2.mlp.residual.out -> stage 2"), 4);
  // Rank 1 runs the turn-around: stage 2's fwd of a micro-batch waits for stage 1's on the same GPU.
  for (const auto& t : r.graph.tasks) {
    if (std::string(r.graph.NameOf(t)) != "layers.2.attn.norm fwd") continue;
    bool waits = false;
    for (int d = 0; d < t.dep_count; ++d) {
      const Task& dep = r.graph.tasks[r.graph.deps[t.dep_begin + d]];
      waits |= dep.gpu == t.gpu && dep.microbatch == t.microbatch &&
               std::string(r.graph.NameOf(dep)) == "layers.1.mlp.residual fwd";
    }
    EXPECT_TRUE(waits) << "mb " << t.microbatch;
  }
}

TEST(SplitBackward, DualPipeVPairStartsWhenBothInputsArrived) {
  ShorthandOptions o;
  o.pp = 2;
  o.global_batch = 4;
  o.schedule = "dualpipev";
  CompileResult r = MakeJob(SmallGpt(4), o).Run();
  // Rank 0 of 2, 4 micro-batches: F0 F1 F2 F0' B0' W0' F1' (F3 BW1') (F2' BW0) BW2' (F3' BW1) ...
  // In the pair (F2' BW0) the forward of stage 3, mb 2, also waits for the gradient stage 1 sends
  // stage 0 for mb 0.
  int found = 0;
  for (const auto& t : r.graph.tasks) {
    if (t.gpu != 0 || t.microbatch != 2 || std::string(r.graph.NameOf(t)) != "layers.3.attn.norm fwd") continue;
    ++found;
    bool waits = false;
    for (int d = 0; d < t.dep_count; ++d) {
      const Task& dep = r.graph.tasks[r.graph.deps[t.dep_begin + d]];
      waits |= dep.kind == TaskKind::kP2P && dep.gpu == 1 && dep.microbatch == 0 &&
               std::string(r.graph.NameOf(dep)).rfind("send grad", 0) == 0;
    }
    EXPECT_TRUE(waits);
  }
  EXPECT_EQ(found, 1);
}

TEST(SplitBackward, TiedEmbeddingOnOneGpuIsStoredOnce) {
  // Under a V placement the embedding (stage 0) and the head (stage 2p-1) share rank 0: a tied
  // weight is one tensor there, so rank 0 holds one [vocab 128, h 64] bf16 matrix less than untied.
  auto weights_of_rank0 = [](bool tied) {
    TransformerConfig c;
    c.name = "small-gpt";
    c.num_layers = 4;
    c.hidden = 64;
    c.num_heads = 4;
    c.vocab = 128;
    c.seq_len = 16;
    c.tied_embeddings = tied;
    ShorthandOptions o;
    o.pp = 2;
    o.global_batch = 4;
    o.schedule = "dualpipev";
    CompileResult r = MakeJob(BuildTransformer(c, "test"), o).Run();
    return r.graph.gpus[0].static_memory[static_cast<int>(MemCategory::kWeights)];
  };
  EXPECT_EQ(weights_of_rank0(false) - weights_of_rank0(true), 128 * 64 * 2);
}

TEST(SplitBackward, SymmetryOnAndOffAgreeForSplitSchedules) {
  for (std::string schedule : {"zb-h1", "zb-v", "dualpipev"}) {
    ShorthandOptions o;
    o.tp = 2;
    o.pp = 2;
    o.dp = 2;
    o.global_batch = 8;
    o.schedule = schedule;
    Job job = MakeJob(SmallGpt(4), o);
    CompileResult sym = job.Run(true), full = job.Run(false);
    // Every simulated rank of one pipeline rank runs the representative's task sequence.
    ASSERT_EQ(sym.graph.gpus.size(), 2u) << schedule;
    for (int p = 0; p < 2; ++p) {
      size_t n_sym = sym.graph.gpus[p].streams[0].size();
      for (const auto& gpu : full.graph.gpus)
        if (gpu.label.rfind("pp" + std::to_string(p), 0) == 0) { EXPECT_EQ(gpu.streams[0].size(), n_sym) << schedule; }
    }
  }
}

}  // namespace
}  // namespace proteus::testing
