#include "simulator/compile/compile.h"

#include <gtest/gtest.h>

#include <sstream>

#include "common/error.h"

#include "simulator/compile/program.h"
#include "simulator/compile/schedule.h"
#include "tests/compile/compile_fixture.h"

namespace proteus {
namespace {

using testing::CountTasks;
using testing::MakeJob;
using testing::SmallGpt;

int CountPhase(const ExecGraph& g, int gpu, const std::string& part, Phase phase, int mb) {
  int n = 0;
  for (const auto& t : g.tasks)
    if (t.gpu == gpu && t.phase == phase && t.microbatch == mb &&
        std::string(g.NameOf(t)).find(part) != std::string::npos)
      ++n;
  return n;
}

TEST(Compile, TensorParallelLayerHasMegatronsFourAllReduces) {
  ShorthandOptions o;
  o.tp = 2;
  CompileResult r = MakeJob(SmallGpt(2), o).Run();
  const ExecGraph& g = r.graph;
  // Forward g: after the row-parallel proj and fc2. Backward f: the input gradients of the
  // column-parallel qkv and fc1 (partial over tp) reaching the norms.
  // 12 forward compute ops (6 attention, 6 MLP, with dropout) + the 2 forward all_reduces.
  EXPECT_EQ(CountPhase(g, 0, "layers.0.", Phase::kFwd, 0), 14);
  EXPECT_EQ(CountTasks(g, 0, "layers.0.attn.proj.out all_reduce tp", 0), 1);
  EXPECT_EQ(CountTasks(g, 0, "layers.0.mlp.fc2.out all_reduce tp", 0), 1);
  EXPECT_EQ(CountTasks(g, 0, "grad layers.0.attn.norm.out all_reduce tp", 0), 1);
  EXPECT_EQ(CountTasks(g, 0, "grad layers.0.mlp.norm.out all_reduce tp", 0), 1);
  int layer_comms = 0;
  for (const auto& t : g.tasks)
    if (t.microbatch == 0 && t.kind == TaskKind::kCollective &&
        std::string(g.NameOf(t)).find("layers.0.") != std::string::npos)
      ++layer_comms;
  EXPECT_EQ(layer_comms, 4);  // exactly 2 forward + 2 backward, nothing else
}

TEST(Compile, SequenceParallelUsesGatherAndScatterPairs) {
  ShorthandOptions o;
  o.tp = 2;
  o.sequence_parallel = true;
  CompileResult r = MakeJob(SmallGpt(2), o).Run();
  const ExecGraph& g = r.graph;
  auto count = [&](const std::string& op, Phase ph) {
    int n = 0;
    for (const auto& t : g.tasks)
      if (t.microbatch == 0 && t.kind == TaskKind::kCollective && t.phase == ph &&
          std::string(g.NameOf(t)).find("layers.0.") != std::string::npos &&
          std::string(g.NameOf(t)).find(op) != std::string::npos)
        ++n;
    return n;
  };
  // Forward: all_gather before qkv and fc1, reduce_scatter after proj and fc2.
  EXPECT_EQ(count("all_gather", Phase::kFwd), 2);
  EXPECT_EQ(count("reduce_scatter", Phase::kFwd), 2);
  EXPECT_EQ(count("all_reduce", Phase::kFwd), 0);
  // Backward: reduce_scatter of the norm-output gradients, all_gather of the proj/fc2 output
  // gradients, and the re-gather of the kept sharded inputs of qkv and fc1 for their wgrad.
  EXPECT_EQ(count("reduce_scatter", Phase::kBwdData), 2);
  EXPECT_EQ(count("all_gather", Phase::kBwdData), 2);
  EXPECT_EQ(count("regather all_gather", Phase::kBwdWeight), 2);
  EXPECT_EQ(count("all_reduce", Phase::kBwdData), 0);
}

TEST(Compile, DataParallelBucketsAndZeroOne) {
  ShorthandOptions o;
  o.dp = 2;
  o.global_batch = 4;  // 2 micro-batches
  o.grad_bucket_bytes = 1;  // one bucket per weight: every gradient reduced as soon as it is ready
  testing::Job job = MakeJob(SmallGpt(2), o);
  CompileResult plain = job.Run();
  const ExecGraph& g = plain.graph;
  int buckets = CountTasks(g, 0, "grad bucket");
  EXPECT_GT(buckets, 10);
  // Buckets only in the last micro-batch, all_reduce over dp on the dp stream.
  for (const auto& t : g.tasks) {
    if (std::string(g.NameOf(t)).find("grad bucket") == std::string::npos) continue;
    EXPECT_EQ(t.microbatch, 1);
    EXPECT_EQ(t.stream, StreamKind::kDpComm);
    EXPECT_EQ(g.comms[t.comm].op, CollOp::kAllReduce);
  }
  // The first bucket is issued right after the last weight gradient of the backward's first op
  // (the lm head), long before the backward ends: overlap.
  const auto& dp = g.gpus[0].streams[static_cast<int>(StreamKind::kDpComm)];
  ASSERT_FALSE(dp.empty());
  const Task& first = g.tasks[dp.front()];
  ASSERT_EQ(first.dep_count, 1);
  EXPECT_EQ(std::string(g.NameOf(g.tasks[g.deps[first.dep_begin]])), "lm_head.logits bwd_weight");
  EXPECT_EQ(CountTasks(g, 0, "param bucket"), 0);

  o.zero = 1;
  testing::Job zero = MakeJob(SmallGpt(2), o);
  CompileResult z = zero.Run();
  EXPECT_EQ(CountTasks(z.graph, 0, "reduce_scatter dp"), buckets);
  EXPECT_EQ(CountTasks(z.graph, 0, "all_reduce dp"), 0);
  EXPECT_EQ(CountTasks(z.graph, 0, "param bucket"), buckets);  // all_gather of updated params
}

TEST(Compile, StaticMemoryIsEighteenBytesPerParamOverShards) {
  Model m = SmallGpt(2);
  const int64_t params = m.Params();
  ShorthandOptions o;
  o.dp = 4;
  CompileResult r = MakeJob(m, o).Run();
  const auto& mem = r.graph.gpus[0].static_memory;
  auto at = [&](MemCategory c) { return mem[static_cast<int>(c)]; };
  // Megatron-Core: bf16 weights 2 + fp32 main grads 4 + fp32 master, m, v 12 = 18 bytes per parameter.
  EXPECT_EQ(at(MemCategory::kWeights), 2 * params);
  EXPECT_EQ(at(MemCategory::kGradients), 4 * params);
  EXPECT_EQ(at(MemCategory::kOptimizer), 12 * params);
  o.zero = 1;  // the 12 are sharded over dp 4
  CompileResult z = MakeJob(m, o).Run();
  const auto& zm = z.graph.gpus[0].static_memory;
  EXPECT_EQ(zm[static_cast<int>(MemCategory::kWeights)] + zm[static_cast<int>(MemCategory::kGradients)] +
                zm[static_cast<int>(MemCategory::kOptimizer)],
            6 * params + 12 * params / 4);
  o.precision.main_grads = DType::kBf16;  // DeepSpeed's 16-bit gradients: 2 + 2 + 12/4
  CompileResult h = MakeJob(m, o).Run();
  EXPECT_EQ(h.graph.gpus[0].static_memory[static_cast<int>(MemCategory::kGradients)], 2 * params);
  o.precision.main_grads = DType::kFp32;
  o.zero = 0;
  o.dp = 1;
  o.tp = 2;  // tp shards the split matrices; norms, biases of row-parallel layers stay whole
  CompileResult t = MakeJob(m, o).Run();
  int64_t w = t.graph.gpus[0].static_memory[static_cast<int>(MemCategory::kWeights)];
  EXPECT_LT(w, 2 * params);
  EXPECT_GT(w, params);  // 2 bytes x (half the big matrices + the small replicated ones)
}

TEST(Compile, ModelFlopsOfTasksMatchThreeTimesForward) {
  ShorthandOptions o;
  o.tp = 2;
  o.pp = 2;
  o.dp = 2;
  o.global_batch = 8;
  CompileResult r = MakeJob(SmallGpt(4), o).Run();
  double flops = 0;
  for (const auto& t : r.graph.tasks)
    if (!t.recompute) flops += t.flops * r.graph.gpus[t.gpu].multiplicity;
  // Each replica of the model does fwd + bwd = 3 x forward FLOPs per sample; 8 samples.
  EXPECT_NEAR(flops / r.summary.model_flops, 1.0, 1e-9);
  EXPECT_EQ(r.summary.samples, 8);
  EXPECT_EQ(r.summary.tokens, 8 * 16);
  EXPECT_EQ(r.summary.microbatches, 4);
  EXPECT_EQ(r.summary.simulated_gpus, 2);
  EXPECT_EQ(r.summary.total_gpus, 8);
}

// (micro-batch, forward?) of the first op of a stage, in compute-stream order.
std::vector<std::pair<int, bool>> BlockOrder(const ExecGraph& g, int gpu, const std::string& first_op) {
  std::vector<std::pair<int, bool>> out;
  for (TaskId id : g.gpus[gpu].streams[static_cast<int>(StreamKind::kCompute)]) {
    const Task& t = g.tasks[id];
    std::string name(g.NameOf(t));
    if (name == first_op + " fwd") out.push_back({t.microbatch, true});
    if (name == first_op + " bwd_data" || name == first_op + " bwd_weight")
      if (out.empty() || out.back() != std::make_pair(t.microbatch, false)) out.push_back({t.microbatch, false});
  }
  return out;
}

TEST(Compile, PipelineSchedulesOrderBlocks) {
  ShorthandOptions o;
  o.pp = 2;
  o.global_batch = 3;
  o.schedule = "gpipe";
  CompileResult gp = MakeJob(SmallGpt(2), o).Run();
  using B = std::vector<std::pair<int, bool>>;
  EXPECT_EQ(BlockOrder(gp.graph, 0, "layers.0.attn.norm"),
            (B{{0, true}, {1, true}, {2, true}, {0, false}, {1, false}, {2, false}}));
  o.schedule = "1f1b";
  CompileResult ob = MakeJob(SmallGpt(2), o).Run();
  // Stage 0 of 2: warm-up 1 forward, then 1F1B, then cool-down.
  EXPECT_EQ(BlockOrder(ob.graph, 0, "layers.0.attn.norm"),
            (B{{0, true}, {1, true}, {0, false}, {2, true}, {1, false}, {2, false}}));
  // The last stage alternates from the start.
  EXPECT_EQ(BlockOrder(ob.graph, 1, "layers.1.attn.norm"),
            (B{{0, true}, {0, false}, {1, true}, {1, false}, {2, true}, {2, false}}));
  // One activation send and one gradient send per micro-batch between the stages.
  EXPECT_EQ(CountTasks(ob.graph, 0, "send layers.0.mlp.residual.out -> stage 1"), 3);
  EXPECT_EQ(CountTasks(ob.graph, 1, "send grad layers.0.mlp.residual.out -> stage 0"), 3);
  // The receiver's first op waits for the send of the same micro-batch.
  for (const auto& t : ob.graph.tasks) {
    if (std::string(ob.graph.NameOf(t)) != "layers.1.attn.norm fwd") continue;
    bool waits = false;
    for (int d = 0; d < t.dep_count; ++d) {
      const Task& dep = ob.graph.tasks[ob.graph.deps[t.dep_begin + d]];
      waits |= dep.kind == TaskKind::kP2P && dep.microbatch == t.microbatch && dep.gpu == 0;
    }
    EXPECT_TRUE(waits) << "mb " << t.microbatch;
  }
}

TEST(Schedule, OneFOneBWarmupAndInterleaving) {
  Schedule s;
  s.kind = ScheduleKind::k1F1B;
  auto order = PipelineOrder(s, 1, 4, 8);
  std::string text;
  for (const auto& b : order) text += (b.forward() ? "F" : "B") + std::to_string(b.microbatch) + " ";
  EXPECT_EQ(text, "F0 F1 F2 B0 F3 B1 F4 B2 F5 B3 F6 B4 F7 B5 B6 B7 ");
  s.kind = ScheduleKind::kInterleaved;
  s.chunks = 2;
  auto il = PipelineOrder(s, 0, 2, 4);
  ASSERT_EQ(il.size(), 16u);  // 4 micro-batches x 2 chunks x (F + B)
  // Megatron's unit order: chunk 0 mb 0,1; chunk 1 mb 0,1; chunk 0 mb 2,3; ...
  EXPECT_EQ(il[0].chunk, 0);
  EXPECT_EQ(il[2].chunk, 1);
  EXPECT_EQ(il[2].microbatch, 0);
  // Warm-up on rank 0: (2-0-1)*2 + (2-1)*2 = 4 forward units before the first backward.
  int first_b = 0;
  while (il[first_b].forward()) ++first_b;
  EXPECT_EQ(first_b, 5);  // 4 warm-up units + the first steady forward
  EXPECT_EQ(il[first_b].chunk, 1);  // backward starts on the last chunk
}

TEST(Compile, InterleavedScheduleCompiles) {
  ShorthandOptions o;
  o.pp = 2;
  o.global_batch = 4;
  o.schedule = "interleaved:2";
  CompileResult r = MakeJob(SmallGpt(4), o).Run();
  // Rank 0 holds virtual stages 0 and 2 (layers 0 and 2), rank 1 stages 1 and 3.
  EXPECT_EQ(CountTasks(r.graph, 0, "layers.2.mlp.fc1 fwd"), 4);
  EXPECT_EQ(CountTasks(r.graph, 1, "layers.3.mlp.fc1 fwd"), 4);
  EXPECT_EQ(CountTasks(r.graph, 1, "send layers.1.mlp.residual.out -> stage 2"), 4);
}

TEST(Compile, SymmetryOnAndOffBuildTheSameProgramPerRank) {
  ShorthandOptions o;
  o.tp = 2;
  o.pp = 2;
  o.dp = 2;
  o.global_batch = 8;
  testing::Job job = MakeJob(SmallGpt(2), o);
  CompileResult sym = job.Run(true), all = job.Run(false);
  ASSERT_EQ(sym.graph.gpus.size(), 2u);
  ASSERT_EQ(all.graph.gpus.size(), 8u);
  EXPECT_EQ(sym.graph.gpus[0].multiplicity, 4);
  EXPECT_EQ(sym.graph.gpus[1].global_id, 4);  // pp1/dp0/tp0
  // Every rank of a stage runs the representative's stream contents, task for task.
  for (const auto& gpu : all.graph.gpus) {
    const SimGpu& rep = sym.graph.gpus[gpu.global_id / 4];
    for (int s = 0; s < kNumStreams; ++s) {
      ASSERT_EQ(gpu.streams[s].size(), rep.streams[s].size()) << gpu.label << " stream " << s;
      for (size_t k = 0; k < gpu.streams[s].size(); ++k) {
        const Task& a = all.graph.tasks[gpu.streams[s][k]];
        const Task& b = sym.graph.tasks[rep.streams[s][k]];
        ASSERT_EQ(all.graph.NameOf(a), sym.graph.NameOf(b));
        ASSERT_EQ(a.duration_s, b.duration_s);
        if (a.comm >= 0) { ASSERT_EQ(all.graph.comms[a.comm].plan->time_s, sym.graph.comms[b.comm].plan->time_s); }
      }
    }
    EXPECT_EQ(gpu.static_memory, rep.static_memory);
  }
  // Without symmetry a tp collective has both tp ranks as members; with it, only the representative.
  for (const auto& c : all.graph.comms)
    if (c.op == CollOp::kAllReduce && c.stream == StreamKind::kTpComm) {
      EXPECT_EQ(c.members.size(), 2u);
      break;
    }
  for (const auto& c : sym.graph.comms) EXPECT_EQ(c.members.size(), 1u);
}

TEST(Compile, RecomputationTradesMemoryForWork) {
  auto peak_activations = [](const ExecGraph& g) {
    int64_t cur = 0, peak = 0;
    for (TaskId id : g.gpus[0].streams[static_cast<int>(StreamKind::kCompute)]) {
      const Task& t = g.tasks[id];
      for (int m = 0; m < t.mem_count; ++m) {
        cur += g.mem_effects[t.mem_begin + m].bytes;
        peak = std::max(peak, cur);
      }
    }
    EXPECT_EQ(cur, 0);  // everything kept for backward is freed
    return peak;
  };
  auto recomputed = [](const ExecGraph& g) {
    int n = 0;
    for (const auto& t : g.tasks) n += t.recompute;
    return n;
  };
  ShorthandOptions o;
  o.global_batch = 2;
  CompileResult none = MakeJob(SmallGpt(2, /*fused=*/false), o).Run();
  o.recompute = "selective";
  CompileResult sel = MakeJob(SmallGpt(2, false), o).Run();
  o.recompute = "full";
  CompileResult full = MakeJob(SmallGpt(2, false), o).Run();
  EXPECT_EQ(recomputed(none.graph), 0);
  // Selective: the unfused attention core (scores, softmax, dropout, context) per layer per mb.
  EXPECT_EQ(recomputed(sel.graph), 4 * 2 * 2);
  EXPECT_GT(recomputed(full.graph), recomputed(sel.graph));
  EXPECT_LT(peak_activations(sel.graph), peak_activations(none.graph));
  EXPECT_LT(peak_activations(full.graph), peak_activations(sel.graph));
}

TEST(Compile, ActivationsMatchTheModelsAccountingWithoutParallelism) {
  ShorthandOptions o;
  Model m = SmallGpt(2);
  CompileResult r = MakeJob(m, o).Run();
  int64_t fwd_alloc = 0;
  for (const auto& t : r.graph.tasks)
    for (int k = 0; k < t.mem_count; ++k)
      if (r.graph.mem_effects[t.mem_begin + k].bytes > 0 && t.phase == Phase::kFwd)
        fwd_alloc += r.graph.mem_effects[t.mem_begin + k].bytes;
  EXPECT_EQ(fwd_alloc, SavedActivationBytes(m.root));  // one sample, every kept tensor once
}

TEST(Compile, RejectsInvalidStrategiesAndDumps) {
  ShorthandOptions o;
  o.tp = 3;  // 4 heads
  EXPECT_THROW(MakeJob(SmallGpt(2), o).Run(), UserError);
  ShorthandOptions ok;
  ok.tp = 2;
  CompileResult r = MakeJob(SmallGpt(2), ok).Run();
  std::ostringstream os;
  DumpGraph(r.graph, os, 5);
  EXPECT_NE(os.str().find("stream compute"), std::string::npos);
  EXPECT_NE(os.str().find("embed.word fwd mb0"), std::string::npos);
}

}  // namespace
}  // namespace proteus
