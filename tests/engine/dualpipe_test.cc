// DualPipe in the compiled graph: each stage on two ranks (r and p-1-r), sends in both directions
// to the rank that holds the next stage of the micro-batch's direction, both copies' parameters
// in static memory, and the copies' gradient sum over each mirror pair before the optimizer step.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <utility>

#include "simulator/engine/engine.h"
#include "tests/compile/compile_fixture.h"

namespace proteus::testing {
namespace {

// The fake collective model, also keeping every (op, group) the compiler asks it to price.
class RecordingCollectives : public FakeCollectives {
 public:
  CollectivePlan Plan(const CollectiveRequest& r) const override {
    requests.push_back(r);
    return FakeCollectives::Plan(r);
  }
  mutable std::vector<CollectiveRequest> requests;
};

struct Compiled {
  Job job;
  RecordingCollectives collectives;
  CompileResult result;
};

// `model` on pp ranks (tp = dp = 1: GPU id = pipeline rank), m micro-batches.
std::unique_ptr<Compiled> CompileWith(const std::string& schedule, int pp, Model model, int m) {
  ShorthandOptions o;
  o.pp = pp;
  o.global_batch = m;
  o.schedule = schedule;
  auto c = std::make_unique<Compiled>(Compiled{MakeJob(std::move(model), o), {}, {}});
  CompileInputs in;
  in.model = &c->job.model;
  in.strategy = &c->job.strategy;
  in.cluster = &c->job.cluster;
  in.collectives = &c->collectives;
  in.coster = &c->job.coster;
  in.gpu_memory = [](GpuId) { return int64_t{80} << 30; };
  c->result = Compile(in, {});
  return c;
}
std::unique_ptr<Compiled> CompileWith(const std::string& schedule, int pp, int layers, int m) {
  return CompileWith(schedule, pp, SmallGpt(layers), m);
}

bool IsSend(const ExecGraph& g, const Task& t, bool grad) {
  std::string name(g.NameOf(t));
  return t.kind == TaskKind::kP2P && name.rfind("send ", 0) == 0 && (name.find("send grad ") == 0) == grad;
}

TEST(DualPipe, SendsFlowBothWaysBetweenNeighbours) {
  const int p = 4, m = 8;
  auto c = CompileWith("dualpipe", p, 4, m);
  const ExecGraph& g = c->result.graph;
  ASSERT_EQ(g.gpus.size(), 4u);
  // Rank 3 holds the last stage of direction 0 (loss: no activation send) and the first of
  // direction 1 (micro-batches 4..7 enter there): its activation sends are direction 1's.
  std::set<int> fwd_mb[4], grad_mb[4];
  for (const Task& t : g.tasks) {
    if (IsSend(g, t, false)) fwd_mb[t.gpu].insert(t.microbatch);
    if (IsSend(g, t, true)) grad_mb[t.gpu].insert(t.microbatch);
  }
  EXPECT_EQ(fwd_mb[3], (std::set<int>{4, 5, 6, 7}));
  EXPECT_EQ(grad_mb[3], (std::set<int>{0, 1, 2, 3}));  // stage 3's input gradients, direction 0
  EXPECT_EQ(fwd_mb[0], (std::set<int>{0, 1, 2, 3}));
  EXPECT_EQ(grad_mb[0], (std::set<int>{4, 5, 6, 7}));  // stage 3 of direction 1 is on rank 0
  EXPECT_EQ(fwd_mb[1].size(), 8u);                      // middle ranks send in both directions
  // Every p2p pair is two neighbouring ranks; rank 3 sends to rank 2 (never to 0 or itself), rank
  // 0 to rank 1, and the mirrored pairs exist in both orders.
  std::set<std::pair<int, int>> pairs;
  for (const CollectiveRequest& r : c->collectives.requests)
    if (r.op == CollOp::kSendRecv) pairs.insert({r.group[0], r.group[1]});
  EXPECT_EQ(pairs, (std::set<std::pair<int, int>>{{0, 1}, {1, 0}, {1, 2}, {2, 1}, {2, 3}, {3, 2}}));
  // Every micro-batch's forward runs on exactly two ranks' worth of stages: p stages x m blocks.
  int forwards = 0;
  for (const Task& t : g.tasks)
    if (std::string(g.NameOf(t)) == "lm_head.logits fwd") ++forwards;
  EXPECT_EQ(forwards, m);  // the head (stage 3) runs direction 0 on rank 3, direction 1 on rank 0
  EXPECT_GT(Simulate(g).makespan_s, 0);
}

int64_t Static(const ExecGraph& g, int gpu, MemCategory c) { return g.gpus[gpu].static_memory[static_cast<int>(c)]; }

TEST(DualPipe, EveryRankHoldsTwoStagesParameters) {
  // 8 layers on p 4: a 1f1b stage is 2 layers; dualpipe rank r holds stages r and 3-r.
  const int p = 4;
  auto one = CompileWith("1f1b", p, 8, 8), dv = CompileWith("dualpipev", p, 8, 8), two = CompileWith("dualpipe", p, 8, 8);
  // One transformer layer of SmallGpt (h 64): qkv 3h^2 + 3h, proj h^2 + h, fc1 4h^2 + 4h, fc2
  // 4h^2 + h, two layer norms 2 x 2h: 12h^2 + 13h parameters.
  const int64_t h = 64, layer = 12 * h * h + 13 * h;
  for (int r : {1, 2}) {  // middle ranks: layers only
    // Megatron-Core default: bf16 weights 2, fp32 main grads 4, Adam 12 bytes per parameter.
    EXPECT_EQ(Static(one->result.graph, r, MemCategory::kWeights), 2 * 2 * layer) << r;
    EXPECT_EQ(Static(dv->result.graph, r, MemCategory::kWeights), 2 * 2 * layer) << r;  // two 1-layer chunks
    EXPECT_EQ(Static(two->result.graph, r, MemCategory::kWeights), 2 * 2 * (2 * layer)) << r;
    EXPECT_EQ(Static(two->result.graph, r, MemCategory::kGradients), 4 * 2 * (2 * layer)) << r;
    EXPECT_EQ(Static(two->result.graph, r, MemCategory::kOptimizer), 12 * 2 * (2 * layer)) << r;
  }
  // Ranks 0 and 3 both hold the embedding (stage 0) and the head (stage 3): each the sum of
  // 1f1b's first and last stages, 2x what the two hold there together per rank.
  for (MemCategory cat : {MemCategory::kWeights, MemCategory::kGradients, MemCategory::kOptimizer}) {
    int64_t ends = Static(one->result.graph, 0, cat) + Static(one->result.graph, 3, cat);
    EXPECT_EQ(Static(two->result.graph, 0, cat), ends);
    EXPECT_EQ(Static(two->result.graph, 3, cat), ends);
  }
}

TEST(DualPipe, MirrorRanksSumTheirCopiesGradientsBeforeTheStep) {
  const int p = 4;
  auto c = CompileWith("dualpipe", p, 4, 8);
  const ExecGraph& g = c->result.graph;
  std::vector<TaskId> sums(p, -1), steps(p, -1);
  for (TaskId i = 0; i < static_cast<TaskId>(g.tasks.size()); ++i) {
    std::string name(g.NameOf(g.tasks[i]));
    if (name == "dualpipe copy grad all_reduce pp") {
      EXPECT_EQ(sums[g.tasks[i].gpu], -1) << "one sum per rank";
      sums[g.tasks[i].gpu] = i;
    }
    if (name == "optimizer step") steps[g.tasks[i].gpu] = i;
  }
  for (int r = 0; r < p; ++r) {
    ASSERT_GE(sums[r], 0) << r;
    const Task& t = g.tasks[sums[r]];
    const Comm& comm = g.comms[t.comm];
    // One all-reduce per mirror pair {r, p-1-r}, of the rank's whole gradient (both its stages).
    ASSERT_EQ(comm.members.size(), 2u);
    std::set<int> gpus = {g.tasks[comm.members[0]].gpu, g.tasks[comm.members[1]].gpu};
    EXPECT_EQ(gpus, (std::set<int>{r, p - 1 - r}));
    EXPECT_EQ(comm.op, CollOp::kAllReduce);
    EXPECT_EQ(comm.bytes, Static(g, r, MemCategory::kGradients));
    // The optimizer step waits for the sum.
    const Task& step = g.tasks[steps[r]];
    bool waits = false;
    for (int32_t d = step.dep_begin; d < step.dep_begin + step.dep_count; ++d) waits |= g.deps[d] == sums[r];
    EXPECT_TRUE(waits) << r;
  }
  // No other schedule sums copies.
  auto one = CompileWith("1f1b", p, 4, 8);
  for (const Task& t : one->result.graph.tasks)
    EXPECT_NE(std::string(one->result.graph.NameOf(t)), "dualpipe copy grad all_reduce pp");
}

int CountNamed(const ExecGraph& g, const std::string& part) {
  int n = 0;
  for (const Task& t : g.tasks) n += std::string(g.NameOf(t)).find(part) != std::string::npos;
  return n;
}

TEST(DualPipe, TiedEmbeddingIsCoveredByTheCopySum) {
  // Tied word embedding and head: 1f1b all-reduces its gradient between ranks 0 and p-1; under
  // dualpipe both ranks hold both (stages 0 and p-1), store it once, and the pair's copy sum adds it.
  TransformerConfig cfg;
  cfg.name = "tied-gpt";
  cfg.num_layers = 4;
  cfg.hidden = 64;
  cfg.num_heads = 4;
  cfg.vocab = 128;
  cfg.seq_len = 16;
  cfg.tied_embeddings = true;
  auto one = CompileWith("1f1b", 4, BuildTransformer(cfg, "test"), 8);
  auto two = CompileWith("dualpipe", 4, BuildTransformer(cfg, "test"), 8);
  EXPECT_EQ(CountNamed(one->result.graph, "grad all_reduce pp"), 2);  // the tied all-reduce on ranks 0 and 3
  EXPECT_EQ(CountNamed(two->result.graph, "tied "), 0);
  EXPECT_EQ(CountNamed(two->result.graph, "dualpipe copy grad all_reduce pp"), 4);
  // Rank 0 of dualpipe stores what 1f1b's ranks 0 and 3 store, less the second copy of the tied matrix.
  const int64_t tied_params = 128 * 64;
  EXPECT_EQ(Static(two->result.graph, 0, MemCategory::kWeights),
            Static(one->result.graph, 0, MemCategory::kWeights) + Static(one->result.graph, 3, MemCategory::kWeights) -
                2 * tied_params);
}

TEST(DualPipe, EachCopyReducesItsBucketsOnceInItsDirectionsLastMicroBatch) {
  ShorthandOptions o;
  o.pp = 4;
  o.dp = 2;
  o.global_batch = 16;  // 8 micro-batches: direction 0 runs 0..3, direction 1 runs 4..7
  o.schedule = "1f1b";
  CompileResult one = MakeJob(SmallGpt(4), o).Run();
  o.schedule = "dualpipe";
  CompileResult two = MakeJob(SmallGpt(4), o).Run();
  for (int r = 0; r < 4; ++r) {
    // Rank r's buckets: its stage r copy's (1f1b's rank r) and its stage 3-r copy's (1f1b's rank 3-r).
    int expect = CountTasks(one.graph, r, "grad bucket") + CountTasks(one.graph, 3 - r, "grad bucket");
    EXPECT_GT(expect, 0);
    EXPECT_EQ(CountTasks(two.graph, r, "grad bucket"), expect) << r;
    EXPECT_EQ(CountTasks(two.graph, r, "grad bucket", 3) + CountTasks(two.graph, r, "grad bucket", 7), expect) << r;
  }
}

TEST(DualPipe, SymmetryMatchesFullSimulation) {
  // tp 2 x dp 2 replicas of each pipeline rank, ZeRO-1 buckets in each direction's last micro-batch.
  ShorthandOptions o;
  o.tp = 2;
  o.pp = 4;
  o.dp = 2;
  o.global_batch = 16;
  o.zero = 1;
  o.schedule = "dualpipe";
  Job job = MakeJob(SmallGpt(4), o);
  CompileResult sym = job.Run(true), all = job.Run(false);
  EXPECT_EQ(sym.graph.gpus.size(), 4u);
  EXPECT_EQ(all.graph.gpus.size(), 16u);
  SimResult a = Simulate(sym.graph), b = Simulate(all.graph);
  EXPECT_NEAR(a.makespan_s, b.makespan_s, 1e-12 * b.makespan_s);
  for (size_t i = 0; i < sym.graph.gpus.size(); ++i) {
    int global = sym.graph.gpus[i].global_id;
    EXPECT_EQ(a.memory[i].peak, b.memory[global].peak) << "rank " << global;
  }
}

}  // namespace
}  // namespace proteus::testing
