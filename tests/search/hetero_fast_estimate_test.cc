// The fast estimate on a mixed A100 + V100 cluster (fast_estimate.h, model 4): each stage priced as
// its own GPU type, stages straddling two types left to the event simulation.
#include <gtest/gtest.h>

#include "common/log.h"
#include "common/units.h"
#include "simulator/pipeline/simulation.h"
#include "simulator/search/fast_estimate.h"
#include "simulator/search/search_space.h"

namespace proteus {
namespace {

// hetero-a100-v100: GPUs 0-15 on two DGX A100 nodes, 16-31 on two DGX-1 V100 nodes. fp16, where
// both have tensor cores (V100 has none for bf16: its bf16 runs at the fp32 rate).
RunSpec Spec(const std::string& cluster) {
  RunSpec s;
  s.model = "gpt2-small";
  s.cluster = cluster;
  s.dtype = "fp16";
  return s;
}

StrategyFlags Flags(int tp, int pp, int dp, const std::string& pp_layers = "") {
  StrategyFlags f;
  f.tp = tp, f.pp = pp, f.dp = dp, f.mbs = 1, f.gbs = 32 * dp;  // 32 micro-batches
  f.sp = tp > 1;
  f.zero = 1;
  f.pp_layers = pp_layers;
  return f;
}

struct Estimator {
  explicit Estimator(const RunSpec& s) : spec(s), model(LoadModelFor(s)), cluster(LoadClusterFor(s)), fast(s, model, cluster) {}
  RunSpec spec;
  Model model;
  Cluster cluster;
  FastEstimator fast;
};

double Simulated(RunSpec spec, const StrategyFlags& f) {
  SimulationRequest r;
  r.spec = std::move(spec);
  r.spec.flags = f;
  return RunSimulation(r).report.iteration_time_s;
}

TEST(HeteroFastEstimate, EachStageIsPricedAsItsOwnGpuType) {
  SetLogLevel(LogLevel::kQuiet);
  Estimator hetero(Spec("hetero-a100-v100"));
  ASSERT_EQ(hetero.fast.gpu_types(), (std::vector<std::string>{"A100-SXM4-80GB", "V100-SXM2-32GB"}));
  // pp 2 x dp 4 x tp 4: stage 0 on the A100 nodes, stage 1 on the V100 nodes.
  const StrategyFlags f = Flags(4, 2, 4);
  hetero.fast.Prepare({f}, 2);
  EXPECT_EQ(hetero.fast.profiles_priced(), 2);  // one per GPU type
  const auto stages = hetero.fast.StageCosts(f);
  ASSERT_TRUE(stages);
  ASSERT_EQ(stages->size(), 2u);
  // The same layer on one type's own cluster: the mixed cluster's stages cost exactly that.
  Estimator a100(Spec("dgx-a100-2")), v100(Spec("dgx1-v100-2"));
  a100.fast.Prepare({Flags(4, 1, 4)}, 1);
  v100.fast.Prepare({Flags(4, 1, 4)}, 1);
  const double a = a100.fast.StageCosts(Flags(4, 2, 2))->at(1).layer_s;
  const double v = v100.fast.StageCosts(Flags(4, 2, 2))->at(1).layer_s;
  EXPECT_DOUBLE_EQ((*stages)[0].layer_s, a);
  EXPECT_DOUBLE_EQ((*stages)[1].layer_s, v);
  // fp16 peak 312 vs 125 TFLOP/s, HBM 2,039 vs 900 GB/s: 2.3-2.5x by the specs; gpt2-small at
  // tp 4 is partly kernel-launch and NVLink bound, which narrows it (measured: 0.685 / 0.366 ms,
  // 1.87x). An A100 price for the V100 stage would give 1.0.
  EXPECT_GT(v / a, 1.5) << "a " << a << " s, v " << v << " s";
  EXPECT_LT(v / a, 3.0) << "a " << a << " s, v " << v << " s";
  // Memory: the V100 stage (32 GiB) holds fewer layers than the A100 stage (80 GiB) could.
  EXPECT_LE((*stages)[1].max_layers, (*stages)[0].max_layers);
}

TEST(HeteroFastEstimate, ADatabasePricesOnlyTheStagesOfItsOwnGpuFamily) {
  SetLogLevel(LogLevel::kQuiet);
  // a100-calibrated (measured on an A100) prices the A100 stage; the V100 stage stays on the
  // V100's roofline, as the mixed job's full simulation prices it (pipeline/gpu_pricing.h).
  RunSpec spec = Spec("hetero-a100-v100");
  spec.databases = {"a100-calibrated"};
  Estimator hetero(spec);
  RunSpec a100_spec = Spec("dgx-a100-2");
  a100_spec.databases = {"a100-calibrated"};
  Estimator a100(a100_spec), v100(Spec("dgx1-v100-2"));
  hetero.fast.Prepare({Flags(4, 2, 4)}, 1);
  a100.fast.Prepare({Flags(4, 1, 4)}, 1);
  v100.fast.Prepare({Flags(4, 1, 4)}, 1);
  const auto stages = hetero.fast.StageCosts(Flags(4, 2, 4));
  ASSERT_TRUE(stages);
  EXPECT_DOUBLE_EQ((*stages)[0].layer_s, a100.fast.StageCosts(Flags(4, 2, 2))->at(0).layer_s);
  EXPECT_DOUBLE_EQ((*stages)[1].layer_s, v100.fast.StageCosts(Flags(4, 2, 2))->at(1).layer_s);
  // The calibration does change the A100's price (else the check above would say nothing).
  Estimator plain(Spec("dgx-a100-2"));
  plain.fast.Prepare({Flags(4, 1, 4)}, 1);
  EXPECT_NE((*stages)[0].layer_s, plain.fast.StageCosts(Flags(4, 2, 2))->at(0).layer_s);
}

TEST(HeteroFastEstimate, AgreesWithTheEventSimulationOnEvenAndUnevenSplits) {
  SetLogLevel(LogLevel::kQuiet);
  Estimator hetero(Spec("hetero-a100-v100"));
  const std::vector<StrategyFlags> cases = {Flags(4, 2, 4), Flags(4, 2, 4, "8,4"), Flags(2, 4, 4, "4,4,2,2"),
                                            Flags(1, 2, 16, "9,3")};
  hetero.fast.Prepare(cases, 2);
  for (const auto& f : cases) {
    const FastEstimate e = hetero.fast.Estimate(f);
    ASSERT_TRUE(e.unpriced.empty()) << e.unpriced;
    const double sim = Simulated(hetero.spec, f);
    // Measured: 4% low at tp 4 pp 2 (as on dgx-a100-4 alone, 3.5%: the fill, drain and tail of
    // 32 micro-batches; 1.4% at 128).
    EXPECT_NEAR(e.iteration_s, sim, 0.08 * sim) << FlagsCommandLine(f);
  }
  // Costed as A100 everywhere (the old representative on the first nodes), the even split's V100
  // stage would look as fast as its A100 one; priced per type, moving layers to the A100 stage pays.
  EXPECT_LT(hetero.fast.Estimate(cases[1]).iteration_s, 0.8 * hetero.fast.Estimate(cases[0]).iteration_s);
}

TEST(HeteroFastEstimate, EachStagesMemoryBoundMeetsItsOwnGpu) {
  SetLogLevel(LogLevel::kQuiet);
  // GPT-3 13B, tp 2 pp 2 dp 8, ZeRO 0: 20 layers a stage hold about 55 GiB of static bytes, which
  // the A100 stage (80 GiB) holds and the V100 stage (32 GiB) does not.
  RunSpec spec = Spec("hetero-a100-v100");
  spec.model = "gpt3-13b";
  Estimator hetero(spec);
  StrategyFlags f = Flags(2, 2, 8);
  f.zero = 0;
  hetero.fast.Prepare({f}, 1);
  const FastEstimate even = hetero.fast.Estimate(f);
  EXPECT_TRUE(even.oom);
  EXPECT_GT(even.peak_memory, 32 * kGiB);
  const auto stages = hetero.fast.StageCosts(f);
  ASSERT_TRUE(stages);
  EXPECT_LT((*stages)[1].max_layers, 20);
  // Measured: 25 and 11, 36 of the 40 layers: no split fits, so the balancer offers none.
  EXPECT_LT((*stages)[0].max_layers + (*stages)[1].max_layers, 40);
  EXPECT_FALSE(ProportionalSplit(*stages, 40));
  // Each stage past its own limit is out of memory by the estimate's bound too.
  f.pp_layers = std::to_string((*stages)[0].max_layers + 1) + "," + std::to_string(39 - (*stages)[0].max_layers);
  EXPECT_TRUE(hetero.fast.Estimate(f).oom) << f.pp_layers;
}

TEST(HeteroFastEstimate, AStageOnTwoGpuTypesIsLeftToTheEventSimulation) {
  SetLogLevel(LogLevel::kQuiet);
  Estimator hetero(Spec("hetero-a100-v100"));
  // pp 1: the one stage's data-parallel replicas sit on both node types.
  const StrategyFlags f = Flags(4, 1, 8);
  hetero.fast.Prepare({f}, 1);
  const FastEstimate e = hetero.fast.Estimate(f);
  EXPECT_NE(e.unpriced.find("pipeline stage 0 has GPUs of two types (A100-SXM4-80GB, V100-SXM2-32GB)"),
            std::string::npos)
      << e.unpriced;
  EXPECT_FALSE(hetero.fast.StageCosts(f));
}

}  // namespace
}  // namespace proteus
