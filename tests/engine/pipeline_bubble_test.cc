// Pipeline bubbles, simulated, against the formulas of the papers on a uniform-stage model.
//
// The coster prices every transformer-layer GEMM at 1 ms per phase (fwd, bwd_data, bwd_weight) and
// everything else at 0; a SmallGpt layer has four GEMMs (qkv, proj, fc1, fc2), so a stage of one
// layer has F = B = W = 4 ms, and the head and embedding add nothing. Communication is ~1 us. The
// bubble of a rank is its compute idle time: makespan - compute busy.
//   1f1b       (p-1)(F + B + W)
//   zb-h1      (p-1)(F + B - W)                      (Qi et al. 2024)
//   dualpipev  (p-1)(F&B + BW - 3W), F&B = F + BW    (DeepSeek-V3 Table 2 with its PP/2 = p)
//   dualpipe   (p/2-1)(F&B + BW - 3W), F&B = F + BW  (DeepSeek-V3 Table 2; F, B, W of a stage)
//   zb-v       (p-1) F of a chunk when F = B = W     (what its order allows; schedule.h)
#include <gtest/gtest.h>

#include <algorithm>

#include "simulator/engine/engine.h"
#include "tests/compile/compile_fixture.h"

namespace proteus::testing {
namespace {

constexpr double kGemm = 1e-3;

class UniformCoster : public OpCoster {
 public:
  TaskCost Cost(const Operator& local, Phase) const override {
    bool layer_gemm = local.kind == OpKind::kLinear && local.FindDim("v") == nullptr;
    return {layer_gemm ? kGemm : 0.0, CostSource::kRoofline, layer_gemm ? "gemm" : "other", ""};
  }
  TaskCost StepCost(int64_t, DType) const override { return {0.0, CostSource::kRoofline, "elementwise", ""}; }
};

struct Bubble {
  double max_idle_s = 0, makespan_s = 0;
  int64_t max_activations = 0;  // bytes, the largest per-GPU activation peak
};

Bubble Simulate(const std::string& schedule, int pp, int layers, int m) {
  ShorthandOptions o;
  o.pp = pp;
  o.global_batch = m;
  o.schedule = schedule;
  Job job = MakeJob(SmallGpt(layers), o);
  UniformCoster coster;
  CompileInputs in;
  in.model = &job.model;
  in.strategy = &job.strategy;
  in.cluster = &job.cluster;
  in.collectives = &job.collectives;
  in.coster = &coster;
  in.gpu_memory = [](GpuId) { return int64_t{80} << 30; };
  CompileResult r = Compile(in, {});
  SimResult sim = Simulate(r.graph);
  Bubble b;
  b.makespan_s = sim.makespan_s;
  for (const auto& t : sim.times) b.max_idle_s = std::max(b.max_idle_s, sim.makespan_s - t.compute_busy_s);
  for (const auto& m : sim.memory)
    b.max_activations =
        std::max(b.max_activations, m.peak_breakdown[static_cast<int>(MemCategory::kActivations)]);
  return b;
}

TEST(PipelineBubble, ZbH1IsAThirdOf1F1B) {
  const int p = 4, m = 8;
  const double f = 4 * kGemm;  // F = B = W of one layer
  Bubble one = Simulate("1f1b", p, p, m), zb = Simulate("zb-h1", p, p, m);
  std::printf("p %d m %d: 1f1b bubble %.3f ms (expect (p-1)(F+B+W) = %.3f), zb-h1 %.3f ms (expect (p-1)(F+B-W) = %.3f)\n",
              p, m, one.max_idle_s * 1e3, 3 * (p - 1) * f * 1e3, zb.max_idle_s * 1e3, (p - 1) * f * 1e3);
  EXPECT_NEAR(one.max_idle_s, (p - 1) * 3 * f, 0.02 * f);
  EXPECT_NEAR(zb.max_idle_s, (p - 1) * f, 0.02 * f);
  EXPECT_LE(zb.max_idle_s, one.max_idle_s / 3 + 0.02 * f);
  // Same work: the iteration shrinks by the bubble saved.
  EXPECT_NEAR(one.makespan_s - zb.makespan_s, one.max_idle_s - zb.max_idle_s, 0.02 * f);
}

TEST(PipelineBubble, DualPipeVMatchesDeepSeekFormula) {
  for (int p : {2, 4}) {
    const int m = 4 * p;
    const double f = 4 * kGemm, b = f, w = f;  // per chunk (one layer)
    double expect = (p - 1) * ((f + (b + w)) + (b + w) - 3 * w);
    Bubble dp = Simulate("dualpipev", p, 2 * p, m);
    std::printf("p %d m %d: dualpipev bubble %.3f ms (expect (p-1)(F&B+B-3W) = %.3f)\n", p, m, dp.max_idle_s * 1e3,
                expect * 1e3);
    EXPECT_NEAR(dp.max_idle_s, expect, 0.02 * f) << "p " << p;
  }
}

TEST(PipelineBubble, DualPipeMatchesDeepSeekFormula) {
  for (int p : {2, 4, 6}) {
    const int m = 4 * p;
    const double f = 4 * kGemm, b = f, w = f;  // per stage (one layer)
    double expect = (p / 2 - 1) * ((f + (b + w)) + (b + w) - 3 * w);
    Bubble dp = Simulate("dualpipe", p, p, m);
    std::printf("p %d m %d: dualpipe bubble %.3f ms (expect (p/2-1)(F&B+B-3W) = %.3f)\n", p, m, dp.max_idle_s * 1e3,
                expect * 1e3);
    EXPECT_NEAR(dp.max_idle_s, expect, 0.02 * f) << "p " << p;
  }
}

TEST(PipelineBubble, DualPipeAgainstDualPipeVOnOneModel) {
  // 8 layers on p = 4: a dualpipe stage is two layers (F = B = W = 8 ms) on two ranks, a
  // dualpipev chunk one layer. Per rank both run a quarter of the model per micro-batch.
  const int p = 4, m = 16;
  const double layer = 4 * kGemm;
  Bubble one = Simulate("1f1b", p, 8, m), dv = Simulate("dualpipev", p, 8, m), two = Simulate("dualpipe", p, 8, m);
  for (auto [name, b] : {std::pair{"1f1b", one}, {"dualpipev", dv}, {"dualpipe", two}})
    std::printf("8 layers, p %d, m %d, %-9s: bubble %5.1f ms, iteration %5.1f ms, peak activations %lld bytes\n", p,
                m, name, b.max_idle_s * 1e3, b.makespan_s * 1e3, static_cast<long long>(b.max_activations));
  // (p/2-1)(F + 2B - W) of a 2-layer stage = 16 ms, against dualpipev's (p-1)(F + 2B - W) of a layer = 24 ms.
  EXPECT_NEAR(two.max_idle_s, (p / 2 - 1) * (2 * layer + 2 * (2 * layer) - 2 * layer), 0.02 * layer);
  EXPECT_NEAR(dv.max_idle_s, (p - 1) * (layer + 2 * layer - layer), 0.02 * layer);
  // Same work per rank: the iteration differs by the bubble.
  EXPECT_NEAR(dv.makespan_s - two.makespan_s, dv.max_idle_s - two.max_idle_s, 0.02 * layer);
  // Activations: p+1 = 5 stages in flight against 1f1b's p = 4 on rank 0 (5/4), plus the head's
  // logits, which ranks 0 and p-1 keep for both directions' micro-batches.
  double ratio = static_cast<double>(two.max_activations) / static_cast<double>(one.max_activations);
  EXPECT_GT(ratio, 1.25);
  EXPECT_LT(ratio, 1.35);
}

TEST(PipelineBubble, OneModelFourSchedules) {
  // 8 layers on p = 4: a 1f1b stage is two layers (F = B = W = 8 ms), a dualpipev chunk one (4 ms).
  const int p = 4, m = 16;
  const double layer = 4 * kGemm;
  Bubble one = Simulate("1f1b", p, 8, m), zb = Simulate("zb-h1", p, 8, m), zv = Simulate("zb-v", p, 8, m),
         dp = Simulate("dualpipev", p, 8, m);
  for (auto [name, b] : {std::pair{"1f1b", one}, {"zb-h1", zb}, {"zb-v", zv}, {"dualpipev", dp}})
    std::printf("8 layers, p %d, m %d, %-9s: bubble %5.1f ms, iteration %5.1f ms, peak activations %lld bytes\n", p,
                m, name, b.max_idle_s * 1e3, b.makespan_s * 1e3, static_cast<long long>(b.max_activations));
  EXPECT_NEAR(one.max_idle_s, (p - 1) * 3 * (2 * layer), 0.02 * layer);
  EXPECT_NEAR(zb.max_idle_s, (p - 1) * (2 * layer), 0.02 * layer);
  EXPECT_NEAR(dp.max_idle_s, (p - 1) * (layer + 2 * (2 * layer) - 3 * layer), 0.02 * layer);
  EXPECT_NEAR(zv.max_idle_s, (p - 1) * layer, 0.02 * layer);  // (p-1) F of a chunk: half of zb-h1's
  // ZB-H1 keeps 1f1b's peak (rank 0's p micro-batches); every rank now reaches it. DualPipeV's
  // 2p+1 half-stage chunks are a little more than p stages.
  EXPECT_NEAR(static_cast<double>(zb.max_activations), static_cast<double>(one.max_activations),
              0.05 * static_cast<double>(one.max_activations));
  // ZB-V's 2p chunks are p stages too; its rank 0 also keeps the head's activations (stage 2p-1).
  EXPECT_GE(zv.max_activations, one.max_activations);
  EXPECT_LT(static_cast<double>(zv.max_activations), 1.1 * static_cast<double>(one.max_activations));
  EXPECT_GT(dp.max_activations, one.max_activations);
  EXPECT_LT(static_cast<double>(dp.max_activations), 1.25 * static_cast<double>(one.max_activations));
}

TEST(PipelineBubble, SplitSchedulesFreeEveryActivationUnderTpDpSpAndRecompute) {
  // W frees what B's recomputation and the forward allocated, ZeRO-1 buckets run in W: after the
  // iteration no activation byte is left on any GPU, and nothing deadlocks.
  for (std::string schedule : {"zb-h1", "zb-v", "dualpipev", "dualpipe"})
    for (std::string recompute : {"none", "selective", "full"}) {
      ShorthandOptions o;
      o.tp = 2;
      o.pp = 2;
      o.dp = 2;
      o.global_batch = 8;
      o.sequence_parallel = true;
      o.zero = 1;
      o.recompute = recompute;
      o.schedule = schedule;
      Job job = MakeJob(SmallGpt(4), o);
      CompileResult r = job.Run();
      SimResult sim = Simulate(r.graph);
      EXPECT_GT(sim.makespan_s, 0) << schedule << " " << recompute;
      for (const auto& m : sim.memory) {
        EXPECT_EQ(m.final_breakdown[static_cast<int>(MemCategory::kActivations)], 0) << schedule << " " << recompute;
        EXPECT_GT(m.peak_breakdown[static_cast<int>(MemCategory::kActivations)], 0) << schedule << " " << recompute;
      }
    }
}

}  // namespace
}  // namespace proteus::testing
