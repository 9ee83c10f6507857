// End-to-end invariants of context parallelism (ring attention, compile/program_context.cc), each
// with its expectation beside the check.
#include <gtest/gtest.h>

#include "common/log.h"
#include "simulator/pipeline/simulation.h"

namespace proteus {
namespace {

SimulationRequest CpRequest(const std::string& model, const std::string& cluster, int tp, int cp, int dp,
                            int64_t seq, int zero = 0) {
  SimulationRequest r;
  r.spec.model = model;
  r.spec.cluster = cluster;
  r.spec.flags.tp = tp;
  r.spec.flags.cp = cp;
  r.spec.flags.dp = dp;
  r.spec.flags.mbs = 1;
  r.spec.flags.gbs = 2 * dp;
  r.spec.flags.zero = zero;
  r.spec.seq_len = seq;
  return r;
}

class ContextParallelInvariants : public ::testing::Test {
 protected:
  void SetUp() override { SetLogLevel(LogLevel::kQuiet); }
};

struct Case {
  const char* model;
  const char* cluster;
  int tp, cp, dp;
  int64_t seq;
};
// The ring inside one node (NVLink) and across two (tp 8 fills a node: the cp ring's hop is a NIC).
const Case kCases[] = {{"gpt2-small", "dgx-h100-1", 2, 2, 2, 2048}, {"llama3.2-1b", "dgx-h100-2", 8, 2, 1, 8192}};

TEST_F(ContextParallelInvariants, DoublingEveryLinkNeverSlowsACpRun) {
  for (const Case& c : kCases) {
    SimulationRequest base = CpRequest(c.model, c.cluster, c.tp, c.cp, c.dp, c.seq);
    SimulationRequest fast = base;
    fast.spec.bandwidth_scale = 2.0;
    double t1 = RunSimulation(base).report.iteration_time_s;
    double t2 = RunSimulation(fast).report.iteration_time_s;
    EXPECT_LE(t2, t1 * (1 + 1e-12)) << c.model << " on " << c.cluster;
  }
}

// Symmetry simulates one cp rank for all; the full simulation runs every ring: they agree.
TEST_F(ContextParallelInvariants, SymmetryAndFullSimulationAgree) {
  for (const Case& c : kCases) {
    SimulationRequest sym = CpRequest(c.model, c.cluster, c.tp, c.cp, c.dp, c.seq);
    SimulationRequest all = sym;
    all.spec.symmetry = false;
    SimulationOutput a = RunSimulation(sym), b = RunSimulation(all);
    EXPECT_LT(a.graph.gpus.size(), b.graph.gpus.size());
    EXPECT_EQ(b.graph.gpus.size(), static_cast<size_t>(c.tp * c.cp * c.dp));
    EXPECT_NEAR(a.report.iteration_time_s, b.report.iteration_time_s, 1e-9 * b.report.iteration_time_s) << c.model;
    EXPECT_EQ(a.report.PeakMemory(), b.report.PeakMemory()) << c.model;
  }
}

// Each cp rank keeps the activations of its s / cp tokens: half of them at cp 2 (every saved
// tensor of gpt2-small is per token, its fused attention core's included). The distributed
// optimizer shards over dp x cp: cp 2 x dp 2 holds what dp 4 holds.
TEST_F(ContextParallelInvariants, ActivationsDivideByCpAndTheOptimizerShardsOverDpTimesCp) {
  const auto act = static_cast<size_t>(MemCategory::kActivations), opt = static_cast<size_t>(MemCategory::kOptimizer);
  SimulationOutput cp1 = RunSimulation(CpRequest("gpt2-small", "dgx-h100-1", 1, 1, 4, 2048, 1));
  SimulationOutput cp2 = RunSimulation(CpRequest("gpt2-small", "dgx-h100-1", 1, 2, 2, 2048, 1));
  const double a1 = static_cast<double>(cp1.report.per_gpu[0].memory_at_peak[act]);
  const double a2 = static_cast<double>(cp2.report.per_gpu[0].memory_at_peak[act]);
  EXPECT_NEAR(a2 / a1, 0.5, 0.01) << a1 << " " << a2;
  EXPECT_EQ(cp2.graph.gpus[0].static_memory[opt], cp1.graph.gpus[0].static_memory[opt]);
  EXPECT_GT(cp2.graph.gpus[0].static_memory[opt], 0);
}

// More cp ranks for one sample: each runs s / cp tokens, so the iteration (the same global batch,
// the same dp) is faster at cp 2 than at cp 1, and the ring's sends show up as communication.
TEST_F(ContextParallelInvariants, SplittingTheSequenceShortensTheIteration) {
  SimulationOutput cp1 = RunSimulation(CpRequest("llama3.2-1b", "dgx-h100-2", 8, 1, 1, 16384));
  SimulationOutput cp2 = RunSimulation(CpRequest("llama3.2-1b", "dgx-h100-2", 8, 2, 1, 16384));
  EXPECT_LT(cp2.report.iteration_time_s, cp1.report.iteration_time_s);
  EXPECT_GT(cp2.report.iteration_time_s, cp1.report.iteration_time_s / 2);  // the ring is not free
  EXPECT_DOUBLE_EQ(cp2.report.model_flops, cp1.report.model_flops);
}

}  // namespace
}  // namespace proteus
