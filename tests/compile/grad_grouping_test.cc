// The data-parallel methods' groupings (compile/grad_grouping.h) under their alpha-beta model.
#include "simulator/compile/grad_grouping.h"

#include <random>

#include <gtest/gtest.h>

namespace proteus {
namespace {

// Gradients in production order with non-decreasing ready times (ms) and sizes (bytes).
std::vector<GradReady> Grads(const std::vector<double>& ready_ms, const std::vector<int64_t>& bytes) {
  std::vector<GradReady> g;
  for (size_t k = 0; k < ready_ms.size(); ++k) g.push_back({ready_ms[k] * 1e-3, bytes[k]});
  return g;
}

// A seeded random backward: n gradients, gaps of 0..2 ms, 1 KiB..16 MiB each.
std::vector<GradReady> RandomGrads(std::mt19937_64& rng, int n) {
  std::uniform_real_distribution<double> gap(0, 2e-3);
  std::uniform_int_distribution<int64_t> bytes(1024, 16 << 20);
  std::vector<GradReady> g;
  double t = 0;
  for (int k = 0; k < n; ++k) {
    t += gap(rng);
    g.push_back({t, bytes(rng)});
  }
  return g;
}

TEST(GradGrouping, MgWfbpWorkedExampleOfTheHeader) {
  // alpha 1 ms, beta ~0; ready 0, 0.5, 3 ms: {g0, g1} then {g2}, done at 4 ms.
  AlphaBeta ab{1e-3, 1e-15};
  auto g = Grads({0, 0.5, 3}, {1, 1, 1});
  auto groups = GroupMgWfbp(g, ab);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].first, 0);
  EXPECT_EQ(groups[0].last, 1);
  EXPECT_EQ(groups[1].first, 2);
  EXPECT_NEAR(AlphaBetaEnd(g, groups, ab), 4e-3, 1e-9);
  EXPECT_NEAR(AlphaBetaEnd(g, GroupWfbp(g), ab), 4e-3, 1e-9);  // 0..1, 1..2, 3..4
  EXPECT_NEAR(AlphaBetaEnd(g, GroupBsp(g), ab), 4e-3, 1e-9);   // 3..4
}

TEST(GradGrouping, MgWfbpMergesWhatWouldWaitAndKeepsApartWhatWouldNot) {
  // alpha 1 ms, beta 1 ms/MB. g0 (1 MB) ready at 0 runs 0..2 ms; g1 ready at 0.2 (inside g0's
  // start-up window) joins it; g2 ready at 10 ms, long after: alone.
  AlphaBeta ab{1e-3, 1e-9};
  auto groups = GroupMgWfbp(Grads({0, 0.2, 10}, {1000000, 1000, 1000}), ab);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].last, 1);
  EXPECT_EQ(groups[1].first, 2);
}

// MG-WFBP is never slower than WFBP nor BSP under its own alpha-beta model (grad_grouping.h).
TEST(GradGrouping, MgWfbpNeverSlowerThanWfbpNorBspUnderItsAlphaBetaModel) {
  std::mt19937_64 rng(20190429);
  std::uniform_real_distribution<double> alpha(1e-6, 5e-3), beta(1e-11, 1e-8);
  for (int trial = 0; trial < 2000; ++trial) {
    auto g = RandomGrads(rng, 1 + trial % 60);
    AlphaBeta ab{alpha(rng), beta(rng)};
    double mg = AlphaBetaEnd(g, GroupMgWfbp(g, ab), ab);
    double wfbp = AlphaBetaEnd(g, GroupWfbp(g), ab);
    double bsp = AlphaBetaEnd(g, GroupBsp(g), ab);
    ASSERT_LE(mg, wfbp * (1 + 1e-12)) << "trial " << trial;
    ASSERT_LE(mg, bsp * (1 + 1e-12)) << "trial " << trial;
  }
}

// When every gradient's all-reduce fits in the compute before the next gradient (comm overlaps
// compute), WFBP ends at r_last + t(p_last) <= BSP's r_last + t(sum p).
TEST(GradGrouping, WfbpNeverSlowerThanBspWhenCommunicationOverlapsCompute) {
  std::mt19937_64 rng(2017);
  for (int trial = 0; trial < 500; ++trial) {
    auto g = RandomGrads(rng, 2 + trial % 40);
    double min_gap = 1;
    for (size_t k = 1; k < g.size(); ++k) min_gap = std::min(min_gap, g[k].ready_s - g[k - 1].ready_s);
    int64_t max_bytes = 0;
    for (const auto& x : g) max_bytes = std::max(max_bytes, x.bytes);
    // The largest all-reduce takes at most the smallest gap between two gradients.
    AlphaBeta ab{min_gap / 4, 0.75 * min_gap / static_cast<double>(max_bytes)};
    double wfbp = AlphaBetaEnd(g, GroupWfbp(g), ab);
    double bsp = AlphaBetaEnd(g, GroupBsp(g), ab);
    ASSERT_LE(wfbp, bsp * (1 + 1e-12)) << "trial " << trial;
    ASSERT_NEAR(wfbp, g.back().ready_s + ab.Time(g.back().bytes), 1e-12);
  }
}

TEST(GradGrouping, FusionFusesWhatIsReadyAtEachCycleWithinTheThreshold) {
  // Cycle 5 ms, threshold 100 bytes. Ready at 1, 2, 4 ms (tick 5), 6 ms (tick 10), 7 ms (tick 10).
  // Tick 5: 60 + 30 fit (90), 50 would pass 100: {g0, g1}, {g2}; tick 10: {g3, g4} (40 + 40).
  auto g = Grads({1, 2, 4, 6, 7}, {60, 30, 50, 40, 40});
  auto groups = GroupFusion(g, 100, 5e-3);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].first, 0);
  EXPECT_EQ(groups[0].last, 1);
  EXPECT_EQ(groups[1].first, 2);
  EXPECT_EQ(groups[1].last, 2);
  EXPECT_EQ(groups[2].first, 3);
  EXPECT_EQ(groups[2].last, 4);
  EXPECT_NEAR(groups[0].not_before_s, 5e-3, 1e-15);
  EXPECT_NEAR(groups[2].not_before_s, 10e-3, 1e-15);
}

TEST(GradGrouping, FusionThresholdZeroIsOneAllReducePerTensorAndAGradientOverTheThresholdGoesAlone) {
  auto g = Grads({1, 1, 1}, {10, 10, 10});
  EXPECT_EQ(GroupFusion(g, 0, 5e-3).size(), 3u);             // HOROVOD_FUSION_THRESHOLD=0: no fusion
  auto big = GroupFusion(Grads({1, 1, 1}, {10, 500, 10}), 100, 5e-3);
  ASSERT_EQ(big.size(), 3u);                                 // 10 | 500 (alone) | 10
  EXPECT_EQ(big[1].first, 1);
  EXPECT_EQ(GroupFusion(g, 1 << 20, 0).size(), 1u);          // no cycle: same instant, one buffer
  EXPECT_EQ(GroupFusion(Grads({1, 2, 3}, {10, 10, 10}), 1 << 20, 0).size(), 3u);
}

TEST(GradGrouping, FitAlphaBetaRecoversALine) {
  auto line = [](int64_t b) { return 25e-6 + 1e-10 * static_cast<double>(b); };
  AlphaBeta ab = FitAlphaBeta(line, 4096, 100 << 20);
  EXPECT_NEAR(ab.alpha_s, 25e-6, 1e-12);
  EXPECT_NEAR(ab.beta_s_per_byte, 1e-10, 1e-18);
  AlphaBeta one = FitAlphaBeta(line, 4096, 4096);  // one size: all start-up
  EXPECT_NEAR(one.alpha_s, line(4096), 1e-15);
  EXPECT_EQ(one.beta_s_per_byte, 0);
}

}  // namespace
}  // namespace proteus
