#include "simulator/search/search_space.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/units.h"
#include "simulator/pipeline/simulation.h"

namespace proteus {
namespace {

RunSpec Spec(const std::string& model, const std::string& cluster) {
  RunSpec s;
  s.model = model;
  s.cluster = cluster;
  return s;
}

TEST(SearchSpace, EnumeratesWhatTilesTheClusterAndCountsTheRest) {
  // gpt2-small: 12 layers, 12 heads; dgx-a100-1: 8 GPUs in one node.
  RunSpec spec = Spec("gpt2-small", "dgx-a100-1");
  Model model = LoadModelFor(spec);
  Cluster cluster = LoadClusterFor(spec);
  SearchSpace space;
  space.global_batch = 16;
  space.tp = {1, 2, 4, 8};
  space.pp = {1, 2, 4};
  space.mbs = {1, 2};
  space.recompute = {"none"};
  space.zero = {0};
  CandidateSet set = EnumerateCandidates(model, cluster, space);
  // 4 x 3 x 2 = 24 combinations. tp x pp must divide 8: (4,4), (8,2), (8,4) do not (x 2 mbs = 6);
  // tp 8 does not divide 12 heads: (8,1) x 2 = 2. The other 8 (tp, pp) pairs x 2 mbs remain, and
  // 16 is divisible by mbs x dp for all of them (the largest, mbs 2 x dp 8, is 16).
  EXPECT_EQ(set.considered, 24);
  EXPECT_EQ(set.candidates.size(), 16u);
  EXPECT_EQ(set.pruned["tp x pp does not divide the cluster's GPUs"], 6);
  EXPECT_EQ(set.pruned["tp does not divide the attention heads"], 2);
  for (const auto& f : set.candidates) {
    EXPECT_EQ(f.tp * f.pp * f.dp, 8);
    EXPECT_EQ(f.gbs, 16);
    EXPECT_EQ(f.sp, f.tp > 1);  // sequence parallelism with tensor parallelism, by default
  }
}

TEST(SearchSpace, DefaultTpStopsAtOneNode) {
  // dgx-a100-2 has 16 GPUs in nodes of 8: the default tp list is 1, 2, 4, 8, never 16.
  RunSpec spec = Spec("gpt2-small", "dgx-a100-2");
  SearchSpace space;
  space.global_batch = 64;
  space.pp = {1};
  space.mbs = {1};
  space.recompute = {"none"};
  space.zero = {0};
  CandidateSet set = EnumerateCandidates(LoadModelFor(spec), LoadClusterFor(spec), space);
  EXPECT_EQ(set.considered, 4);  // tp 1, 2, 4, 8
  for (const auto& f : set.candidates) EXPECT_LE(f.tp, 8);
}

TEST(SearchSpace, StaticLowerBoundIsTheFrameworksBytesPerParameter) {
  RunSpec spec = Spec("gpt2-small", "dgx-a100-1");
  Model model = LoadModelFor(spec);
  StrategyFlags f;
  f.tp = 2, f.pp = 2, f.dp = 2, f.zero = 1;
  // Megatron-Core with the distributed optimizer: bf16 weights 2 + fp32 main grads 4 + (master 4 +
  // Adam 8) / dp 2 = 12 bytes per parameter, over params / (tp x pp), plus the 1 GiB reserve.
  const int64_t per_gpu = model.Params() / 4;
  EXPECT_EQ(StaticMemoryLowerBound(model, f), per_gpu * 2 + per_gpu * 4 + per_gpu * 12 / 2 + kGiB);
  f.zero = 0;  // 18 bytes per parameter
  EXPECT_EQ(StaticMemoryLowerBound(model, f), per_gpu * 2 + per_gpu * 4 + per_gpu * 12 + kGiB);
}

TEST(SearchSpace, StaticMemoryPrunesWhatCannotFit) {
  // GPT-3 175B at tp 8, pp 1 on 80 GB H100s: 1.75e11 / 8 x (6 + 12/128) bytes = 133 GB > 80 GB.
  RunSpec spec = Spec("gpt3-175b", "dgx-h100-128");
  SearchSpace space;
  space.global_batch = 1536;
  space.tp = {8};
  space.pp = {1, 8};
  space.mbs = {1};
  space.recompute = {"none"};
  space.zero = {1};
  CandidateSet set = EnumerateCandidates(LoadModelFor(spec), LoadClusterFor(spec), space);
  EXPECT_EQ(set.pruned["static memory above the GPU's"], 1);
  ASSERT_EQ(set.candidates.size(), 1u);
  EXPECT_EQ(set.candidates[0].pp, 8);
}

TEST(SearchSpace, BadValuesNameTheirFlag) {
  RunSpec spec = Spec("gpt2-small", "dgx-a100-1");
  Model model = LoadModelFor(spec);
  Cluster cluster = LoadClusterFor(spec);
  auto message = [&](SearchSpace s) {
    try {
      EnumerateCandidates(model, cluster, s);
    } catch (const UserError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  SearchSpace s;
  EXPECT_NE(message(s).find("--gbs"), std::string::npos);
  s.global_batch = 8;
  s.tp = {0};
  EXPECT_NE(message(s).find("--tp"), std::string::npos);
  s.tp = {};
  s.schedules = {"round-robin"};
  EXPECT_NE(message(s).find("--schedules"), std::string::npos);
  s.schedules = {"interleaved:1"};
  EXPECT_NE(message(s).find("--schedules"), std::string::npos);
  s.schedules = {};
  s.recompute = {"some"};
  EXPECT_NE(message(s).find("--recompute"), std::string::npos);
  s.recompute = {};
  s.zero = {4};
  EXPECT_NE(message(s).find("--zero"), std::string::npos);
}

TEST(SearchSpace, CommandLineNamesEveryFlagItSets) {
  StrategyFlags f;
  f.tp = 4, f.pp = 2, f.dp = 8, f.mbs = 2, f.gbs = 256;
  f.schedule = "interleaved:2";
  f.recompute = "selective";
  f.zero = 1;
  f.sp = true;
  EXPECT_EQ(FlagsCommandLine(f),
            "--tp 4 --pp 2 --dp 8 --mbs 2 --gbs 256 --schedule interleaved:2 --recompute selective --zero 1 --sp");
  StrategyFlags g;
  g.dp = 16, g.gbs = 64, g.fsdp = true, g.hsdp = 8, g.offload_activations = 2, g.reserve_gib = 2.5;
  EXPECT_EQ(FlagsCommandLine(g),
            "--tp 1 --pp 1 --dp 16 --mbs 1 --gbs 64 --fsdp --hsdp 8 --offload-activations 2 --memory-reserve-gib 2.5");
}

TEST(SearchSpace, OnAMixedClusterTheStaticBoundMeetsTheStagesMeanMemory) {
  // hetero-a100-v100: pp 2 puts stage 0 on 80 GiB A100s and stage 1 on 32 GiB V100s. GPT-3 13B
  // at tp 2, ZeRO 0: params / 4 x 18 bytes + the 1 GiB reserve is about 55 GiB: above the V100's
  // 32 but within the stages' mean (80 + 32) / 2 = 56, so an uneven split could hold it and it
  // stays; tp 1 (about 109 GiB) cannot fit either GPU and is pruned.
  RunSpec spec = Spec("gpt3-13b", "hetero-a100-v100");
  Model model = LoadModelFor(spec);
  Cluster cluster = LoadClusterFor(spec);
  SearchSpace space;
  space.global_batch = 64;
  space.tp = {1, 2};
  space.pp = {2};
  space.mbs = {1};
  space.recompute = {"none"};
  space.zero = {0};
  CandidateSet set = EnumerateCandidates(model, cluster, space);
  ASSERT_EQ(set.candidates.size(), 1u);
  EXPECT_EQ(set.candidates[0].tp, 2);
  const int64_t bound = StaticMemoryLowerBound(model, set.candidates[0]);
  EXPECT_GT(bound, 32 * kGiB);
  EXPECT_LE(bound, 56 * kGiB);
  EXPECT_EQ(set.pruned["static memory above the GPU's"], 1);
}

}  // namespace
}  // namespace proteus
