// The search's layer-split variants (search.h pass 0, layer_balance.h): on a mixed cluster always,
// on one GPU type with SearchSpace::balance_layers; every reported plan still a full simulation.
#include <gtest/gtest.h>

#include "common/log.h"
#include "simulator/pipeline/simulation.h"
#include "simulator/search/search.h"

namespace proteus {
namespace {

RunSpec Spec(const std::string& cluster) {
  RunSpec s;
  s.model = "gpt2-small";
  s.cluster = cluster;
  s.dtype = "fp16";
  return s;
}

SearchSpace Space(std::vector<int> tp, std::vector<int> pp, int64_t gbs) {
  SearchSpace space;
  space.global_batch = gbs;
  space.tp = std::move(tp);
  space.pp = std::move(pp);
  space.mbs = {1};
  space.recompute = {"none"};
  space.zero = {1};
  return space;
}

SearchOptions AllVerified() {
  SearchOptions o;
  o.top = o.verify = o.estimate = 100;
  o.threads = 2;
  return o;
}

double Simulated(RunSpec spec, const StrategyFlags& f) {
  SimulationRequest r;
  r.spec = std::move(spec);
  r.spec.flags = f;
  return RunSimulation(r).report.iteration_time_s;
}

const SearchEntry* Find(const SearchResult& r, int pp, bool split) {
  for (const auto& e : r.ranked)
    if (e.flags.pp == pp && e.flags.pp_layers.empty() != split) return &e;
  return nullptr;
}

TEST(LayerSplitSearch, OnAMixedClusterTheBalancedSplitBeatsTheEvenOneBySimulation) {
  SetLogLevel(LogLevel::kQuiet);
  // tp 4 x pp 2 x dp 4: stage 0 on A100s, stage 1 on V100s; pp 1 straddles both types.
  const RunSpec spec = Spec("hetero-a100-v100");
  SearchResult r = RunSearch(spec, Space({4}, {1, 2}, 32), AllVerified());
  EXPECT_EQ(r.balanced, 1);
  EXPECT_EQ(r.fast_estimated, 3);  // pp 1, pp 2 even, pp 2 balanced
  EXPECT_EQ(r.unpriced, 1);        // pp 1
  ASSERT_EQ(r.ranked.size(), 3u);
  const SearchEntry* even = Find(r, 2, false);
  const SearchEntry* balanced = Find(r, 2, true);
  ASSERT_TRUE(even && balanced);
  EXPECT_EQ(even->layers, (std::vector<int>{6, 6}));
  ASSERT_EQ(balanced->layers.size(), 2u);
  EXPECT_GT(balanced->layers[0], balanced->layers[1]);  // more layers on the faster A100s
  EXPECT_EQ(balanced->flags.pp_layers,
            std::to_string(balanced->layers[0]) + "," + std::to_string(balanced->layers[1]));
  EXPECT_LT(balanced->iteration_time_s, 0.9 * even->iteration_time_s);
  EXPECT_TRUE(balanced->verified);
  // Its flags, --pp-layers included, simulate to the reported time.
  EXPECT_EQ(balanced->iteration_time_s, Simulated(spec, balanced->flags));
  // The straddling pp 1 plan was not fast-estimated, and still event-simulated and ranked.
  const SearchEntry* flat = Find(r, 1, false);
  ASSERT_TRUE(flat);
  EXPECT_FALSE(flat->fast_estimated);
  EXPECT_EQ(flat->fast_estimate_s, 0);
  EXPECT_EQ(flat->iteration_time_s, Simulated(spec, flat->flags));
  EXPECT_TRUE(even->fast_estimated && balanced->fast_estimated);
}

TEST(LayerSplitSearch, OneGpuTypeBalancesOnlyWhenAsked) {
  SetLogLevel(LogLevel::kQuiet);
  const RunSpec spec = Spec("dgx-a100-1");
  SearchSpace space = Space({1}, {2, 4}, 32);
  SearchResult plain = RunSearch(spec, space, AllVerified());
  EXPECT_EQ(plain.balanced, 0);
  for (const auto& e : plain.ranked) EXPECT_TRUE(e.flags.pp_layers.empty()) << FlagsCommandLine(e.flags);
  space.balance_layers = true;
  SearchResult r = RunSearch(spec, space, AllVerified());
  // gpt2-small's output head (768 x 50,257) costs about five layers: the last stage gets fewer.
  EXPECT_GE(r.balanced, 1);
  const SearchEntry* split = Find(r, 2, true);
  ASSERT_TRUE(split);
  EXPECT_LT(split->layers.back(), split->layers.front());
  EXPECT_LT(split->iteration_time_s, Find(r, 2, false)->iteration_time_s);
  EXPECT_EQ(split->iteration_time_s, Simulated(spec, split->flags));
}

}  // namespace
}  // namespace proteus
