#include "simulator/search/fast_estimate.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"
#include "common/log.h"
#include "simulator/pipeline/simulation.h"
#include "simulator/search/pipeline_replay.h"
#include "simulator/search/search.h"
#include "simulator/search/search_space.h"
#include "simulator/strategy/shorthand.h"

namespace proteus {
namespace {

RunSpec Base() {
  RunSpec s;
  s.model = "gpt2-small";
  s.cluster = "dgx-a100-1";
  return s;
}

StrategyFlags Flags(int tp, int pp, int mbs, int gbs, const std::string& schedule = "1f1b",
                    const std::string& recompute = "none") {
  StrategyFlags f;
  f.tp = tp;
  f.pp = pp;
  f.dp = 8 / (tp * pp);
  f.mbs = mbs;
  f.gbs = gbs;
  f.schedule = schedule;
  f.recompute = recompute;
  f.sp = tp > 1;
  f.zero = 1;
  return f;
}

double Simulated(const StrategyFlags& f) {
  SimulationRequest r;
  r.spec = Base();
  r.spec.flags = f;
  return RunSimulation(r).report.iteration_time_s;
}

TEST(PipelineReplay, OneFOneBOnTwoRanksByHand) {
  // pipeline_replay.h's worked example: p 2, m 2, F 1, BW 2, p2p 0.5 overlapped.
  std::vector<StageBlocks> stages(2, StageBlocks{1, 2, 0});
  ReplayResult r = ReplayPipeline(ParseScheduleFlag("1f1b", "--schedule"), 2, 2, stages, 0.5, true);
  EXPECT_DOUBLE_EQ(r.rank_end_s[0], 10);
  EXPECT_DOUBLE_EQ(r.rank_end_s[1], 7.5);
  EXPECT_EQ(r.max_in_flight[0], 2);
  EXPECT_EQ(r.max_in_flight[1], 1);
  // A blocking send holds the sender: rank 0's F0 send ends at 1.5, so F1 runs [1.5, 2.5] and
  // its send delays rank 0 to 3; rank 1: F0 [1.5,2.5] B0 [2.5,4.5]+0.5 F1 [5,6] B1 [6,8]+0.5;
  // rank 0: B0 waits 4.5 + 0.5 = 5 -> [5,7], B1 waits 8 + 0.5 -> [8.5,10.5].
  ReplayResult blocking = ReplayPipeline(ParseScheduleFlag("1f1b", "--schedule"), 2, 2, stages, 0.5, false);
  EXPECT_DOUBLE_EQ(blocking.rank_end_s[0], 10.5);
}

TEST(FastEstimate, AgreesWithTheEventSimulationWithinFivePercent) {
  // Measured on gpt2-small's 132-candidate space (docs/search.md): median 0.5%, largest 3.0%.
  SetLogLevel(LogLevel::kQuiet);
  const RunSpec base = Base();
  const Model model = LoadModelFor(base);
  const Cluster cluster = LoadClusterFor(base);
  const std::vector<StrategyFlags> cases = {Flags(1, 2, 1, 64), Flags(2, 2, 2, 64),
                                            Flags(1, 4, 1, 64, "interleaved:2"), Flags(2, 1, 1, 64, "1f1b", "full"),
                                            Flags(1, 2, 1, 64, "zb-h1")};
  FastEstimator fast(base, model, cluster);
  fast.Prepare(cases, 2);
  for (const auto& f : cases) {
    const double sim = Simulated(f), est = fast.Estimate(f).iteration_s;
    EXPECT_NEAR(est, sim, 0.05 * sim) << FlagsCommandLine(f);
  }
}

TEST(FastEstimate, ACandidateSharingAKeyPricesNothingNew) {
  SetLogLevel(LogLevel::kQuiet);
  const RunSpec base = Base();
  FastEstimator fast(base, LoadModelFor(base), LoadClusterFor(base));
  fast.Prepare({Flags(1, 2, 1, 64)}, 1);
  EXPECT_EQ(fast.profiles_priced(), 1);
  // pp, dp and the schedule are not in the key: the same profile prices them.
  fast.Prepare({Flags(1, 4, 1, 64), Flags(1, 1, 1, 64), Flags(1, 4, 1, 64, "interleaved:2")}, 2);
  EXPECT_EQ(fast.profiles_priced(), 1);
  fast.Prepare({Flags(1, 2, 2, 64)}, 1);  // another micro-batch size: a new block
  EXPECT_EQ(fast.profiles_priced(), 2);
}

TEST(FastEstimate, DoesNotDependOnTheThreadCount) {
  SetLogLevel(LogLevel::kQuiet);
  const RunSpec base = Base();
  const Model model = LoadModelFor(base);
  const Cluster cluster = LoadClusterFor(base);
  SearchSpace space;
  space.global_batch = 64;
  space.tp = {1, 2};
  space.pp = {1, 2, 4};
  space.mbs = {1, 2};
  space.recompute = {"none", "full"};
  const CandidateSet set = EnumerateCandidates(model, cluster, space);
  FastEstimator one(base, model, cluster), two(base, model, cluster);
  one.Prepare(set.candidates, 1);
  two.Prepare(set.candidates, 2);
  for (const auto& f : set.candidates) {
    EXPECT_EQ(one.Estimate(f).iteration_s, two.Estimate(f).iteration_s);
    EXPECT_EQ(one.Estimate(f).peak_memory, two.Estimate(f).peak_memory);
  }
}

TEST(FastEstimate, TheWinnerIsStillEventSimulated) {
  SetLogLevel(LogLevel::kQuiet);
  SearchSpace space;
  space.global_batch = 64;
  space.tp = {1, 2};
  space.pp = {1, 2};
  space.mbs = {1, 2};
  space.recompute = {"none"};
  space.zero = {1};
  SearchOptions options;
  options.top = 1;
  options.estimate = 1;  // only the fast estimate's best goes on
  options.threads = 2;
  SearchResult r = RunSearch(Base(), space, options);
  EXPECT_EQ(r.fast_estimated, 8);
  EXPECT_EQ(r.estimated, 1);
  EXPECT_EQ(r.pruned["below the best --estimate by the fast estimate"], 7);
  ASSERT_EQ(r.ranked.size(), 1u);
  EXPECT_TRUE(r.ranked[0].verified);
  EXPECT_EQ(r.ranked[0].iteration_time_s, Simulated(r.ranked[0].flags));
  options.estimate = -1;
  EXPECT_THROW(RunSearch(Base(), space, options), UserError);
}

}  // namespace
}  // namespace proteus
