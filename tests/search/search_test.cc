#include "simulator/search/search.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"
#include "common/log.h"
#include "simulator/pipeline/simulation.h"

namespace proteus {
namespace {

RunSpec Base() {
  RunSpec s;
  s.model = "gpt2-small";
  s.cluster = "dgx-a100-1";
  return s;
}

// gpt2-small on 8 GPUs, gbs 64: pp 1 and 2, tp 1 and 2, mbs 1 and 2.
SearchSpace SmallSpace() {
  SearchSpace space;
  space.global_batch = 64;
  space.tp = {1, 2};
  space.pp = {1, 2};
  space.mbs = {1, 2};
  space.recompute = {"none"};
  space.zero = {1};
  return space;
}

double SimulatedTime(const StrategyFlags& f) {
  SimulationRequest r;
  r.spec = Base();
  r.spec.flags = f;
  return RunSimulation(r).report.iteration_time_s;
}

TEST(Search, RanksVerifiedPlansFastestFirstAndTheirTimesAreTheSimulations) {
  SetLogLevel(LogLevel::kQuiet);
  SearchOptions options;
  options.top = 3;
  options.threads = 2;
  SearchResult r = RunSearch(Base(), SmallSpace(), options);
  EXPECT_EQ(r.considered, 8);
  EXPECT_EQ(r.estimated, 8);
  ASSERT_EQ(r.ranked.size(), 3u);
  for (size_t i = 0; i < r.ranked.size(); ++i) {
    EXPECT_TRUE(r.ranked[i].verified);
    if (i > 0) EXPECT_LE(r.ranked[i - 1].iteration_time_s, r.ranked[i].iteration_time_s);
    // A reported time is the plain simulation of the flags it prints, to the last bit.
    EXPECT_EQ(r.ranked[i].iteration_time_s, SimulatedTime(r.ranked[i].flags));
  }
}

TEST(Search, EstimateExtrapolatesTheSteadyStateOfTheSameSimulation) {
  SetLogLevel(LogLevel::kQuiet);
  // tp 1, pp 2, dp 4, mbs 1, gbs 64: m = 16 > 3 pp, so the estimate simulates m = 4 and 6 and
  // extrapolates T(16) = T(6) + 10 (T(6) - T(4)) / 2. Every 1F1B micro-batch past the fill costs
  // the same, so the line meets the full simulation.
  SearchSpace space = SmallSpace();
  space.tp = {1};
  space.pp = {2};
  space.mbs = {1};
  SearchOptions options;
  options.top = 1;
  options.threads = 1;
  SearchResult r = RunSearch(Base(), space, options);
  ASSERT_EQ(r.ranked.size(), 1u);
  EXPECT_EQ(r.profiles, 1);     // the fast estimate's block profile
  EXPECT_EQ(r.simulations, 4);  // the profile, two for the estimate, one to verify
  StrategyFlags f = r.ranked[0].flags;
  f.gbs = 16;  // m = 4
  const double t4 = SimulatedTime(f);
  f.gbs = 24;  // m = 6
  const double t6 = SimulatedTime(f);
  EXPECT_DOUBLE_EQ(r.ranked[0].estimate_s, t6 + 10 * (t6 - t4) / 2);
  EXPECT_NEAR(r.ranked[0].estimate_s, r.ranked[0].iteration_time_s, 0.02 * r.ranked[0].iteration_time_s);
}

TEST(Search, ResultDoesNotDependOnTheThreadCount) {
  SetLogLevel(LogLevel::kQuiet);
  SearchOptions one, two;
  one.threads = 1;
  two.threads = 2;
  one.top = two.top = 8;
  SearchResult a = RunSearch(Base(), SmallSpace(), one), b = RunSearch(Base(), SmallSpace(), two);
  ASSERT_EQ(a.ranked.size(), b.ranked.size());
  for (size_t i = 0; i < a.ranked.size(); ++i) {
    EXPECT_EQ(a.ranked[i].iteration_time_s, b.ranked[i].iteration_time_s);
    EXPECT_EQ(FlagsCommandLine(a.ranked[i].flags), FlagsCommandLine(b.ranked[i].flags));
  }
}

TEST(Search, BudgetStopsEstimatingAndSaysHowManyItSkipped) {
  SetLogLevel(LogLevel::kQuiet);
  SearchOptions options;
  options.budget = 3;
  options.threads = 1;
  SearchResult r = RunSearch(Base(), SmallSpace(), options);
  EXPECT_EQ(r.estimated, 3);
  EXPECT_EQ(r.pruned["beyond --budget"], 5);
}

TEST(Search, NothingToSearchIsAnErrorNamingTheReason) {
  SetLogLevel(LogLevel::kQuiet);
  SearchSpace space = SmallSpace();
  space.tp = {3};  // divides neither 8 GPUs nor 12 heads
  EXPECT_THROW(RunSearch(Base(), space, {}), UserError);
  SearchOptions bad;
  bad.top = 0;
  EXPECT_THROW(RunSearch(Base(), SmallSpace(), bad), UserError);
  bad.top = 1;
  bad.budget = -1;
  EXPECT_THROW(RunSearch(Base(), SmallSpace(), bad), UserError);
}

}  // namespace
}  // namespace proteus
