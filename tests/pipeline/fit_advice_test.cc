#include "simulator/pipeline/fit_advice.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "common/error.h"
#include "common/units.h"
#include "simulator/pipeline/simulation.h"

namespace proteus {
namespace {

// GPT-3 1.3B, dp 8 on one A100 80 GB node with the distributed optimizer: static memory is small
// (9 GiB), the activations of 30 samples per micro-batch (~115 GiB) are not. gbs / dp = 60, so the
// micro-batches below 30 that divide it are 20, 15, 12, ...
RunSpec OomSpec() {
  RunSpec s;
  s.model = "gpt3-1.3b";
  s.cluster = "dgx-a100-1";
  s.flags.dp = 8;
  s.flags.mbs = 30;
  s.flags.gbs = 480;
  s.flags.zero = 1;
  return s;
}

SimulationOutput Simulate(const RunSpec& spec, bool advice) {
  SimulationRequest r;
  r.spec = spec;
  r.fit_advice = advice;
  return RunSimulation(r);
}

TEST(FitAdvice, SuggestsTheLargestMicroBatchThatFits) {
  RunSpec spec = OomSpec();
  SimulationOutput out = Simulate(spec, true);
  ASSERT_TRUE(out.report.oom);
  ASSERT_FALSE(out.report.fit_advice.empty());
  for (const auto& a : out.report.fit_advice) std::printf("advice: %s\n", a.c_str());
  const std::string& first = out.report.fit_advice.front();
  ASSERT_EQ(first.rfind("--mbs ", 0), 0u) << first;
  int mbs = std::stoi(first.substr(6));
  ASSERT_LT(mbs, spec.flags.mbs);
  spec.flags.mbs = mbs;  // the advice holds: it fits
  EXPECT_FALSE(Simulate(spec, false).report.oom);
  for (int larger = mbs + 1; larger < OomSpec().flags.mbs; ++larger) {
    if (spec.flags.gbs % (larger * spec.flags.dp) != 0) continue;
    spec.flags.mbs = larger;  // and it is the largest that does
    EXPECT_TRUE(Simulate(spec, false).report.oom) << "mbs " << larger;
  }
}

TEST(FitAdvice, EveryAdvisedChangeFits) {
  RunSpec spec = OomSpec();
  SimulationOutput out = Simulate(spec, true);
  for (const auto& a : out.report.fit_advice) {
    RunSpec changed = spec;
    if (a.rfind("--recompute ", 0) == 0) changed.flags.recompute = a.substr(12, a.find(' ', 12) - 12);
    else if (a.rfind("--zero ", 0) == 0) changed.flags.zero = std::stoi(a.substr(7));
    else continue;
    EXPECT_FALSE(Simulate(changed, false).report.oom) << a;
  }
}

TEST(FitAdvice, NoFalseSuggestionWhenNothingFits) {
  RunSpec s;  // 175B parameters on 8 GPUs: 175e9 x 18 / 8 = 367 GiB of static memory per GPU
  s.model = "gpt3-175b";
  s.cluster = "dgx-h100-1";
  s.flags.tp = 8;
  s.flags.dp = 1;
  SimulationOutput out = Simulate(s, true);
  ASSERT_TRUE(out.report.oom);
  ASSERT_EQ(out.report.fit_advice.size(), 1u);
  const std::string& a = out.report.fit_advice.front();
  std::printf("advice: %s\n", a.c_str());
  EXPECT_EQ(a.rfind("nothing tried fits", 0), 0u) << a;
  EXPECT_EQ(a.find("--mbs"), std::string::npos);
}

TEST(FitAdvice, FittingRunsGetNoAdvice) {
  RunSpec spec = OomSpec();
  spec.flags.mbs = 1;
  SimulationOutput out = Simulate(spec, true);
  EXPECT_FALSE(out.report.oom);
  EXPECT_TRUE(out.report.fit_advice.empty());
}

// The reserve adds to every GPU's peak; fragmentation multiplies what tasks allocated at the peak.
TEST(MemoryReserve, ReserveAndFragmentationChangeThePeakAsDocumented) {
  RunSpec plain = OomSpec();
  plain.flags.mbs = 1;
  plain.flags.reserve_gib = 0.0;
  plain.flags.fragmentation = 1.0;
  RunSpec more = plain;
  more.flags.reserve_gib = 2.0;
  more.flags.fragmentation = 1.5;
  SimulationOutput a = Simulate(plain, false), b = Simulate(more, false);
  ASSERT_EQ(a.report.per_gpu.size(), b.report.per_gpu.size());
  for (size_t i = 0; i < a.report.per_gpu.size(); ++i) {
    const GpuReport &ga = a.report.per_gpu[i], &gb = b.report.per_gpu[i];
    int64_t allocated = 0, fixed = 0;
    for (int64_t x : gb.memory_at_peak) allocated += x;
    for (int64_t x : b.graph.gpus[i].static_memory) fixed += x;
    EXPECT_EQ(ga.memory_reserve, 0);
    EXPECT_EQ(ga.memory_fragmentation, 0);
    EXPECT_EQ(gb.memory_reserve, int64_t{2} << 30);
    EXPECT_EQ(gb.memory_fragmentation, std::llround(1.5 * (allocated - fixed)) - (allocated - fixed));
    EXPECT_EQ(gb.peak_memory, ga.peak_memory + (int64_t{2} << 30) + gb.memory_fragmentation);
    std::printf("%s: peak %.2f GiB -> %.2f GiB (reserve 2, fragmentation 1.5 on %.2f GiB of activations)\n",
                ga.label.c_str(), double(ga.peak_memory) / kGiB, double(gb.peak_memory) / kGiB,
                double(allocated - fixed) / kGiB);
  }
}

TEST(MemoryReserve, BadFlagsNameTheFlag) {
  RunSpec s = OomSpec();
  s.flags.fragmentation = 0.8;
  try {
    Simulate(s, false);
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_EQ(e.where(), "--fragmentation");
  }
  s = OomSpec();
  s.flags.reserve_gib = -1.0;
  EXPECT_THROW(Simulate(s, false), UserError);
  s = OomSpec();
  s.flags.main_grads = "fp8";
  try {
    Simulate(s, false);
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_EQ(e.where(), "--main-grads");
  }
}

}  // namespace
}  // namespace proteus
