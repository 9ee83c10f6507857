#include "profiler/sweep.h"

#include <gtest/gtest.h>

#include <set>

#include "profiler/canonical.h"
#include "profiler/plan.h"
#include "profiler/zoo_shapes.h"

namespace proteus::profiler {
namespace {

const DevicePreset& H100() {
  static DevicePreset p = *FindDevicePreset("h100");
  return p;
}

bool Has(const std::vector<OpKey>& keys, const OpKey& k) {
  for (const auto& x : keys)
    if (x == k) return true;
  return false;
}

TEST(Sweep, DeterministicUniqueAndCanonical) {
  auto a = DefaultSweep(H100()), b = DefaultSweep(H100());
  ASSERT_EQ(a.size(), b.size());
  std::set<std::string> seen;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i], b[i]);
    EXPECT_TRUE(seen.insert(a[i].ToString()).second) << "duplicate " << a[i].ToString();
    EXPECT_EQ(Canonicalize(a[i], "sweep"), a[i]);
  }
}

TEST(Sweep, CoversTheZooShapes) {
  auto keys = DefaultSweep(H100());
  // Llama-3-8B at tp 2: qkv n = (32/2 + 2*8/2) * 128 = 3072, k = 4096; tokens 4096 (mbs 1 x seq 4096).
  EXPECT_TRUE(Has(keys, MakeKey("gemm", DType::kBf16, Phase::kBwdWeight, {{"m", 4096}, {"n", 3072}, {"k", 4096}})));
  // Its attention: 16 heads, 4 kv heads per rank, causal.
  EXPECT_TRUE(Has(keys, MakeKey("attention", DType::kBf16, Phase::kFwd, {{"batch", 1}, {"heads", 16}, {"kv_heads", 4},
                                {"seq_q", 4096}, {"seq_kv", 4096}, {"head_dim", 128}}, {{"causal", "1"}})));
  // GPT-3 175B at tp 8, the logits: vocab 50257 padded to 51200 -> 6400 per rank.
  EXPECT_TRUE(Has(keys, MakeKey("gemm", DType::kBf16, Phase::kFwd, {{"m", 2048}, {"n", 6400}, {"k", 12288}})));
  // BERT is not causal.
  EXPECT_TRUE(Has(keys, MakeKey("attention", DType::kBf16, Phase::kBwdData, {{"batch", 8}, {"heads", 16}, {"kv_heads", 16},
                                {"seq_q", 512}, {"seq_kv", 512}, {"head_dim", 64}}, {{"causal", "0"}})));
  // ResNet-50's 3x3 conv of conv2_x at batch 64, and the fp8 grid on a GPU that has fp8.
  EXPECT_TRUE(Has(keys, MakeKey("conv2d", DType::kFp16, Phase::kBwdData, {{"n", 64}, {"c", 64}, {"h", 56}, {"w", 56},
                                {"k", 64}, {"r", 3}, {"s", 3}, {"stride", 1}, {"pad", 1}})));
  EXPECT_TRUE(Has(keys, MakeKey("gemm", DType::kFp8E4M3, Phase::kFwd, {{"m", 4096}, {"n", 4096}, {"k", 4096}})));
}

TEST(Sweep, DropsShapesTooSlowToMeasureAndFp8WithoutHardware) {
  SweepOptions o;
  for (const auto& k : DefaultSweep(H100(), o)) EXPECT_LE(EstimateCallSeconds(k, H100()), o.max_call_s) << k.ToString();
  DevicePreset a100 = *FindDevicePreset("a100");
  for (const auto& k : DefaultSweep(a100)) EXPECT_NE(k.dtype, DType::kFp8E4M3) << k.ToString();
  // GPT-3 175B fc1 at tp 1 and 65536 tokens: 2 * 65536 * 49152 * 12288 = 7.9e13 flop, ~115 ms: dropped.
  EXPECT_FALSE(Has(DefaultSweep(H100()), MakeKey("gemm", DType::kBf16, Phase::kFwd, {{"m", 65536}, {"n", 49152}, {"k", 12288}})));
}

TEST(Sweep, PeerCopiesOnlyWithTwoGpus) {
  SweepOptions one;
  one.gpus = 1;
  OpKey peer = MakeKey("copy", DType::kBf16, Phase::kFwd, {{"bytes", 1024}}, {{"dir", "peer"}});
  EXPECT_FALSE(Has(DefaultSweep(H100(), one), peer));
  SweepOptions two;
  two.gpus = 2;
  EXPECT_TRUE(Has(DefaultSweep(H100(), two), peer));
}

TEST(ZooShapes, PaddedVocab) {
  EXPECT_EQ(PaddedVocabPerRank(50257, 8), 6400);   // 51200 / 8
  EXPECT_EQ(PaddedVocabPerRank(50257, 1), 50304);  // next multiple of 128
  EXPECT_EQ(PaddedVocabPerRank(128256, 4), 32128); // 128256 -> 128512 (251 * 512) / 4
}

TEST(DefaultSweepEstimate, UnderFifteenMinutesOnH100AndH200) {
  for (const char* gpu : {"h100", "h200"}) {
    DevicePreset d = *FindDevicePreset(gpu);
    NodeDesc node{d, 8, 1};
    SweepOptions so;
    so.gpus = 8;
    Plan plan;
    plan.ops = DefaultSweep(d, so);
    plan.collectives = PlanCollectives(node, {});
    plan.interference = PlanInterference(node);
    plan.topology = true;
    PlanEstimate e = EstimatePlan(plan, node);
    EXPECT_LT(e.total(), 15 * 60) << gpu;
    EXPECT_GT(e.ops_s, 60) << gpu;  // thousands of keys cannot take less than a minute
  }
}

}  // namespace
}  // namespace proteus::profiler
