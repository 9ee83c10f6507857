#include "simulator/search/layer_balance.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace proteus {
namespace {

// The slowest stage's cost per micro-batch: what a long 1F1B pipeline's steady state runs at.
double Bottleneck(const std::vector<StageCost>& stages, const std::vector<int>& split) {
  double worst = 0;
  for (size_t s = 0; s < stages.size(); ++s) worst = std::max(worst, stages[s].fixed_s + split[s] * stages[s].layer_s);
  return worst;
}

TEST(ProportionalSplit, WorkedExampleOfTheHeader) {
  // 24 layers, 1 ms (A100) and 2.5 ms (V100) per layer: T = 24 / (1 + 0.4) = 17.14 ms, so
  // (17.14, 6.86) -> floors (17, 6) and the one layer left to the larger fraction: (17, 7).
  const std::vector<StageCost> stages = {{1e-3, 0, 24}, {2.5e-3, 0, 24}};
  EXPECT_EQ(*ProportionalSplit(stages, 24), (std::vector<int>{17, 7}));
}

TEST(ProportionalSplit, EqualStagesSplitEvenlyAndTheRemainderGoesFirst) {
  const std::vector<StageCost> stages(4, StageCost{1e-3, 0, 100});
  EXPECT_EQ(*ProportionalSplit(stages, 24), (std::vector<int>{6, 6, 6, 6}));
  // 26 = 4 x 6.5: every fraction is .5, ties go to the earlier stages.
  EXPECT_EQ(*ProportionalSplit(stages, 26), (std::vector<int>{7, 7, 6, 6}));
}

TEST(ProportionalSplit, FixedWorkOnTheEndStagesTakesLayersOffThem) {
  // Embedding 2 layers' worth on stage 0, head 4 on stage 2: T = (30 + 6) / 3 = 12 ->
  // (10, 12, 8).
  const std::vector<StageCost> stages = {{1, 2, 100}, {1, 0, 100}, {1, 4, 100}};
  EXPECT_EQ(*ProportionalSplit(stages, 30), (std::vector<int>{10, 12, 8}));
}

TEST(ProportionalSplit, MemoryLimitsCapAStageAndTheRestTakeTheLayers) {
  // The V100 stage would take 7 of 24 but fits 5: the A100 stage takes the other 19.
  const std::vector<StageCost> stages = {{1e-3, 0, 24}, {2.5e-3, 0, 5}};
  EXPECT_EQ(*ProportionalSplit(stages, 24), (std::vector<int>{19, 5}));
  // Room for 20 layers in all, or a stage with none: no split.
  EXPECT_FALSE(ProportionalSplit({{1e-3, 0, 15}, {2.5e-3, 0, 5}}, 24));
  EXPECT_FALSE(ProportionalSplit({{1e-3, 0, 24}, {2.5e-3, 0, 0}}, 24));
  EXPECT_FALSE(ProportionalSplit({{1e-3, 0, 24}, {1e-3, 0, 24}, {1e-3, 0, 24}}, 2));  // fewer layers than stages
}

TEST(BalanceLayers, LocalSearchMovesLayersWhileTheTimeImproves) {
  // The time penalizes stage 0 beyond its bottleneck (say its gradient reduction): 0.4 ms per
  // layer on stage 0. From (17, 7): bottleneck 17.5 + 6.8 = 24.3 ms; moving one layer to stage 1
  // gives 20 + 6.4 = 26.4 (worse) ... while moving from stage 1 to 0 gives 18 + 7.2 = 25.2
  // (worse): (17, 7) is a local minimum, and the search stops after one step's two tries.
  const std::vector<StageCost> stages = {{1e-3, 0, 24}, {2.5e-3, 0, 24}};
  int calls = 0;
  auto time = [&](const std::vector<int>& split) -> std::optional<double> {
    ++calls;
    return Bottleneck(stages, split) + 0.4e-3 * split[0];
  };
  std::optional<BalancedSplit> b = BalanceLayers(stages, 24, time, 24);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->split, (std::vector<int>{17, 7}));
  EXPECT_EQ(b->moves, 0);
  EXPECT_EQ(b->evaluations, 3);
  EXPECT_EQ(calls, 3);
  // A steep penalty on stage 0 (3 ms a layer): the search walks layers to stage 1 one at a time
  // until T = max(L0, 2.5 L1) + 3 L0 stops falling: (6, 18) costs 45 + 18 = 63 ms, (5, 19)
  // 47.5 + 15 = 62.5, (4, 20) 50 + 12 = 62, (3, 21) 52.5 + 9 = 61.5, ... (1, 23) 57.5 + 3 = 60.5.
  auto steep = [&](const std::vector<int>& split) -> std::optional<double> {
    return Bottleneck(stages, split) + 3e-3 * split[0];
  };
  b = BalanceLayers(stages, 24, steep, 100);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->split, (std::vector<int>{1, 23}));
  EXPECT_EQ(b->moves, 16);
  EXPECT_NEAR(b->iteration_s, 60.5e-3, 1e-12);
  // Bounded by steps: at most max_moves moves.
  b = BalanceLayers(stages, 24, steep, 3);
  EXPECT_EQ(b->moves, 3);
  EXPECT_EQ(b->split, (std::vector<int>{14, 10}));
}

TEST(BalanceLayers, ASplitThatDoesNotFitIsNeverTaken) {
  const std::vector<StageCost> stages = {{1e-3, 0, 24}, {2.5e-3, 0, 24}};
  // Out of memory at 18 layers or more on stage 0 (the time function's say, not max_layers').
  auto time = [&](const std::vector<int>& split) -> std::optional<double> {
    if (split[0] >= 18) return std::nullopt;
    return Bottleneck(stages, split) - 1e-3 * split[0];  // would pull layers to stage 0
  };
  std::optional<BalancedSplit> b = BalanceLayers(stages, 24, time, 24);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->split, (std::vector<int>{17, 7}));
  // When the proportional split itself does not fit, there is nothing to start from.
  EXPECT_FALSE(BalanceLayers(stages, 24, [](const std::vector<int>&) { return std::optional<double>(); }, 24));
}

}  // namespace
}  // namespace proteus
