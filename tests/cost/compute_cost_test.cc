#include "simulator/cost/compute_cost.h"

#include <thread>

#include <gtest/gtest.h>

#include "simulator/cost/interpolate.h"
#include "simulator/cost/roofline.h"
#include "tests/common/test_keys.h"

namespace proteus {
namespace {

using test_keys::Gemm;
using test_keys::Gelu;

OpEntry Entry(const OpKey& key, double seconds) {
  OpEntry e;
  e.key = key;
  e.time.median_s = seconds;
  e.time.count = 10;
  return e;
}

class ComputeCostTest : public ::testing::Test {
 protected:
  GpuSpec h100_ = LoadGpuSpec("H100-SXM5-80GB");
  double Roof(const OpKey& k) const { return Roofline(k, h100_).seconds; }
};

TEST_F(ComputeCostTest, NoDatabaseGivesRoofline) {
  ComputeCostModel model(h100_, nullptr);
  CostEstimate e = model.Estimate(Gemm(8192, 8192, 8192));
  EXPECT_EQ(e.source, CostSource::kRoofline);
  EXPECT_DOUBLE_EQ(e.seconds, Roof(Gemm(8192, 8192, 8192)));
  EXPECT_NEAR(e.seconds, 1.451e-3, 0.005e-3);  // compute_cost.h example
}

TEST_F(ComputeCostTest, ExactHitReturnsMeasured) {
  auto db = std::make_shared<CostDb>();
  db->PutOp(Entry(Gemm(4096, 4096, 4096), 0.2e-3));
  ComputeCostModel model(h100_, db);
  CostEstimate e = model.Estimate(Gemm(4096, 4096, 4096));
  EXPECT_EQ(e.source, CostSource::kMeasured);
  EXPECT_DOUBLE_EQ(e.seconds, 0.2e-3);
  EXPECT_TRUE(model.Unmeasured().empty());
}

TEST_F(ComputeCostTest, InterpolatesBetweenTwoMeasuredGemms) {
  auto db = std::make_shared<CostDb>();
  OpKey lo = Gemm(1024, 1024, 1024), hi = Gemm(4096, 4096, 4096), mid = Gemm(2048, 2048, 2048);
  // Measured at 0.9x and 0.8x of the roofline's throughput.
  db->PutOp(Entry(lo, Roof(lo) / 0.9));
  db->PutOp(Entry(hi, Roof(hi) / 0.8));
  ComputeCostModel model(h100_, db);
  CostEstimate e = model.Estimate(mid);
  EXPECT_EQ(e.source, CostSource::kInterpolated);
  EXPECT_GT(e.seconds, Roof(lo) / 0.9);
  EXPECT_LT(e.seconds, Roof(hi) / 0.8);
  // Equidistant in log space (to 0.04%: coordinates are log2(1 + p)): residual
  // sqrt(0.9 * 0.8) = 0.8485 (interpolate.h example).
  EXPECT_NEAR(e.seconds, Roof(mid) / std::sqrt(0.72), 1e-4 * e.seconds);
  ASSERT_EQ(model.Unmeasured().size(), 1u);
  EXPECT_EQ(model.Unmeasured()[0], mid);
}

TEST_F(ComputeCostTest, NearerNeighbourWeighsMore) {
  auto db = std::make_shared<CostDb>();
  OpKey lo = Gemm(1024, 1024, 1024), hi = Gemm(8192, 8192, 8192);
  db->PutOp(Entry(lo, Roof(lo) / 0.5));
  db->PutOp(Entry(hi, Roof(hi) / 1.0));
  ComputeCostModel model(h100_, db);
  OpKey q = Gemm(6144, 6144, 6144);  // closer to hi
  double r = Roof(q) / model.Estimate(q).seconds;
  EXPECT_GT(r, std::sqrt(0.5));
  EXPECT_LT(r, 1.0);
}

TEST_F(ComputeCostTest, FarBeyondMeasuredRangeFallsBackToRoofline) {
  auto db = std::make_shared<CostDb>();
  db->PutOp(Entry(Gemm(1024, 1024, 1024), 50e-6));
  ComputeCostModel model(h100_, db);
  // 2x past the range: the nearest residual is carried.
  CostEstimate near = model.Estimate(Gemm(2048, 1024, 1024));
  EXPECT_EQ(near.source, CostSource::kInterpolated);
  double r = Roof(Gemm(1024, 1024, 1024)) / 50e-6;
  EXPECT_NEAR(near.seconds, Roof(Gemm(2048, 1024, 1024)) / r, 1e-12);
  // 16x past it (beyond kMaxReach = 4x): plain roofline.
  CostEstimate far = model.Estimate(Gemm(16384, 1024, 1024));
  EXPECT_EQ(far.source, CostSource::kRoofline);
  EXPECT_DOUBLE_EQ(far.seconds, Roof(Gemm(16384, 1024, 1024)));
}

TEST_F(ComputeCostTest, OtherFamiliesAndBadEntriesAreNotUsed) {
  auto db = std::make_shared<CostDb>();
  OpKey bwd = Gemm(1024, 1024, 1024);
  bwd.phase = Phase::kBwdData;
  db->PutOp(Entry(bwd, 1.0));  // another phase: another family
  OpEntry oom = Entry(Gemm(2048, 2048, 2048), 0);
  oom.status = "oom";
  db->PutOp(oom);
  ComputeCostModel model(h100_, db);
  EXPECT_EQ(model.Estimate(Gemm(1024, 1024, 1024)).source, CostSource::kRoofline);
  EXPECT_EQ(model.Estimate(Gemm(2048, 2048, 2048)).source, CostSource::kRoofline);
}

TEST_F(ComputeCostTest, MemoryBoundFamilyInterpolatesAchievedBandwidth) {
  auto db = std::make_shared<CostDb>();
  // A kernel that reaches 70% of the roofline's bandwidth at both measured sizes.
  db->PutOp(Entry(Gelu(1 << 20), Roof(Gelu(1 << 20)) / 0.7));
  db->PutOp(Entry(Gelu(1 << 26), Roof(Gelu(1 << 26)) / 0.7));
  ComputeCostModel model(h100_, db);
  CostEstimate e = model.Estimate(Gelu(1 << 23));
  EXPECT_EQ(e.source, CostSource::kInterpolated);
  EXPECT_NEAR(e.seconds, Roof(Gelu(1 << 23)) / 0.7, 1e-12);
}

TEST_F(ComputeCostTest, RepeatedAndConcurrentCallsAgree) {
  auto db = std::make_shared<CostDb>();
  db->PutOp(Entry(Gemm(1024, 1024, 1024), 30e-6));
  db->PutOp(Entry(Gemm(4096, 4096, 4096), 0.3e-3));
  ComputeCostModel model(h100_, db);
  std::vector<OpKey> keys;
  for (int64_t s = 256; s <= 16384; s *= 2) keys.push_back(Gemm(s, s, 4096));
  std::vector<std::vector<double>> seen(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 50; ++rep)
        for (const auto& k : keys) seen[t].push_back(model.Estimate(k).seconds);
    });
  for (auto& th : threads) th.join();
  for (int t = 1; t < 4; ++t) EXPECT_EQ(seen[t], seen[0]);
  EXPECT_EQ(model.Unmeasured().size(), keys.size() - 1);  // 4096 x 4096 x 4096 is measured
}

TEST_F(ComputeCostTest, InterpolationIgnoresEntryOrder) {
  std::vector<OpEntry> entries = {Entry(Gemm(1024, 1024, 1024), 30e-6), Entry(Gemm(4096, 1024, 1024), 80e-6),
                                  Entry(Gemm(1024, 4096, 1024), 85e-6), Entry(Gemm(4096, 4096, 4096), 0.3e-3)};
  std::vector<const OpEntry*> fwd, rev;
  for (const auto& e : entries) fwd.push_back(&e);
  rev.assign(fwd.rbegin(), fwd.rend());
  OpKey q = Gemm(2048, 2048, 2048);
  EXPECT_EQ(InterpolateTime(q, fwd, h100_), InterpolateTime(q, rev, h100_));
}

}  // namespace
}  // namespace proteus
