#include "simulator/cost/cost_params.h"

#include <cmath>
#include <memory>

#include <gtest/gtest.h>

#include "common/costdb.h"
#include "common/units.h"
#include "simulator/cost/compute_cost.h"
#include "simulator/cost/roofline.h"
#include "tests/common/test_keys.h"

namespace proteus {
namespace {

using test_keys::Gemm;
using test_keys::Gelu;

Calibration CalibrationFor(const std::string& gpu, const CostParamValues& values) {
  Calibration c;
  c.gpu = gpu;
  for (const auto& [name, v] : values) c.params[name].value = v;
  return c;
}

class CostParamsTest : public ::testing::Test {
 protected:
  GpuSpec a100_ = LoadGpuSpec("A100-SXM4-80GB");
  GpuSpec h100_ = LoadGpuSpec("H100-SXM5-80GB");
};

TEST_F(CostParamsTest, SpecsAreNamedOrderedAndBounded) {
  const auto& specs = CostParamSpecs();
  ASSERT_EQ(specs.size(), 10u);
  EXPECT_EQ(specs.front().name, "gemm_ceiling");
  EXPECT_EQ(specs.back().name, "overlap_slowdown");
  for (const auto& s : specs) {
    EXPECT_LT(s.lo, s.hi) << s.name;
    EXPECT_EQ(FindCostParam(s.name), &s);
    EXPECT_NE(CostParamNames().find(std::string(s.name)), std::string::npos);
  }
  EXPECT_EQ(FindCostParam("no_such_param"), nullptr);
}

TEST_F(CostParamsTest, UncalibratedValuesAreInBoundsAndMatchTheSpec) {
  CostParamValues v = UncalibratedParams(a100_);
  EXPECT_EQ(v.size(), CostParamSpecs().size());
  EXPECT_FALSE(ValidateCostParams(v)) << ValidateCostParams(v).value_or("");
  EXPECT_DOUBLE_EQ(v["gemm_ceiling"], a100_.efficiency.gemm);
  EXPECT_DOUBLE_EQ(v["kernel_overhead_us"], a100_.kernel_overhead_s / kUs);
  EXPECT_DOUBLE_EQ(v["memory_ceiling"], a100_.efficiency.memory);
  EXPECT_DOUBLE_EQ(v["coll_bw_eff_intra"], 1.0);
  EXPECT_DOUBLE_EQ(v["coll_latency_us"], 0.0);
}

TEST_F(CostParamsTest, ApplyingUncalibratedValuesChangesNoEstimate) {
  GpuSpec same = ApplyComputeParams(a100_, UncalibratedParams(a100_));
  for (const OpKey& k : {Gemm(8192, 8192, 8192), Gemm(128, 4096, 64), Gelu(1 << 20)})
    EXPECT_DOUBLE_EQ(Roofline(k, same).seconds, Roofline(k, a100_).seconds) << k.ToString();
}

TEST_F(CostParamsTest, HalvedGemmCeilingDoublesComputeTimeOfLargeGemm) {
  OpKey big = Gemm(16384, 16384, 16384);
  RooflineEstimate before = Roofline(big, h100_);
  ASSERT_TRUE(before.compute_bound());
  double half = h100_.efficiency.gemm / 2;
  RooflineEstimate after = Roofline(big, ApplyComputeParams(h100_, {{"gemm_ceiling", half}}));
  std::printf("compute %.4g s -> %.4g s (expect x2)\n", before.compute_s, after.compute_s);
  EXPECT_NEAR(after.compute_s / before.compute_s, 2.0, 1e-6);
  EXPECT_DOUBLE_EQ(after.overhead_s, before.overhead_s);
}

TEST_F(CostParamsTest, KernelOverheadAddsExactlyToEveryEstimate) {
  GpuSpec more = ApplyComputeParams(a100_, {{"kernel_overhead_us", 12}});
  double delta = 12e-6 - a100_.kernel_overhead_s;
  for (const OpKey& k : {Gemm(8192, 8192, 8192), Gemm(64, 64, 64), Gelu(1024), Gelu(1 << 24)}) {
    EXPECT_NEAR(Roofline(k, more).seconds - Roofline(k, a100_).seconds, delta, 1e-12) << k.ToString();
    EXPECT_DOUBLE_EQ(Roofline(k, more).overhead_s, 12e-6);
  }
}

TEST_F(CostParamsTest, MemoryCeilingSlowsStreamingKernels) {
  OpKey g = Gelu(1 << 26);
  RooflineEstimate before = Roofline(g, a100_);
  RooflineEstimate after = Roofline(g, ApplyComputeParams(a100_, {{"memory_ceiling", 0.44}}));
  EXPECT_GT(after.memory_s, before.memory_s * 1.5);
}

TEST_F(CostParamsTest, CollectiveParamsAndOverlap) {
  EXPECT_TRUE(CollectiveParams({}).identity());
  EXPECT_FALSE(OverlapSlowdown({}).has_value());
  CollectiveCorrection c =
      CollectiveParams({{"coll_bw_eff_intra", 0.9}, {"coll_bw_eff_inter", 0.7}, {"coll_latency_us", 15}});
  EXPECT_DOUBLE_EQ(c.bw_eff_intra, 0.9);
  EXPECT_DOUBLE_EQ(c.bw_eff_inter, 0.7);
  EXPECT_NEAR(c.extra_latency_s, 15e-6, 1e-15);
  EXPECT_FALSE(c.identity());
  EXPECT_DOUBLE_EQ(OverlapSlowdown({{"overlap_slowdown", 1.3}}).value(), 1.3);
}

TEST_F(CostParamsTest, ValidationNamesTheBadEntry) {
  auto low = ValidateCostParams({{"gemm_ceiling", 0.1}});
  ASSERT_TRUE(low);
  EXPECT_NE(low->find("gemm_ceiling"), std::string::npos) << *low;
  auto high = ValidateCostParams({{"kernel_overhead_us", 51}});
  ASSERT_TRUE(high);
  EXPECT_NE(high->find("kernel_overhead_us"), std::string::npos) << *high;
  auto nan = ValidateCostParams({{"memory_ceiling", std::nan("")}});
  ASSERT_TRUE(nan);
  EXPECT_NE(nan->find("memory_ceiling"), std::string::npos) << *nan;
  auto unknown = ValidateCostParams({{"warp_speed", 1}});
  ASSERT_TRUE(unknown);
  EXPECT_NE(unknown->find("warp_speed"), std::string::npos) << *unknown;
  // Bounds are inclusive.
  EXPECT_FALSE(ValidateCostParams({{"gemm_ceiling", 0.30}, {"coll_latency_us", 0}, {"overlap_slowdown", 2.0}}));
}

TEST_F(CostParamsTest, CalibrationInDatabaseIsUsedAndReported) {
  auto db = std::make_shared<CostDb>();
  db->calibrations.push_back(CalibrationFor(a100_.name, {{"gemm_ceiling", 0.5}, {"kernel_overhead_us", 7}}));
  ComputeCostModel model(a100_, db);
  ASSERT_NE(model.calibration(), nullptr);
  EXPECT_EQ(model.calibration()->gpu, a100_.name);
  GpuSpec fitted = ApplyComputeParams(a100_, {{"gemm_ceiling", 0.5}, {"kernel_overhead_us", 7}});
  for (const OpKey& k : {Gemm(4096, 4096, 4096), Gelu(1 << 20)}) {
    CostEstimate e = model.Estimate(k);
    EXPECT_EQ(e.source, CostSource::kCalibrated) << k.ToString();
    EXPECT_DOUBLE_EQ(e.seconds, Roofline(k, fitted).seconds) << k.ToString();
  }
  EXPECT_DOUBLE_EQ(model.gpu().efficiency.gemm, 0.5);
}

TEST_F(CostParamsTest, MeasuredEntryWinsOverCalibration) {
  auto db = std::make_shared<CostDb>();
  db->calibrations.push_back(CalibrationFor(a100_.name, {{"gemm_ceiling", 0.5}}));
  OpEntry e;
  e.key = Gemm(4096, 4096, 4096);
  e.time.median_s = 0.123e-3;
  e.time.count = 5;
  db->PutOp(e);
  ComputeCostModel model(a100_, db);
  CostEstimate est = model.Estimate(Gemm(4096, 4096, 4096));
  EXPECT_EQ(est.source, CostSource::kMeasured);
  EXPECT_DOUBLE_EQ(est.seconds, 0.123e-3);
}

TEST_F(CostParamsTest, OtherGpusCalibrationIsIgnored) {
  auto db = std::make_shared<CostDb>();
  db->calibrations.push_back(CalibrationFor(h100_.name, {{"gemm_ceiling", 0.5}, {"kernel_overhead_us", 9}}));
  ComputeCostModel model(a100_, db);
  EXPECT_EQ(model.calibration(), nullptr);
  CostEstimate e = model.Estimate(Gemm(4096, 4096, 4096));
  EXPECT_EQ(e.source, CostSource::kRoofline);
  EXPECT_DOUBLE_EQ(e.seconds, Roofline(Gemm(4096, 4096, 4096), a100_).seconds);
}

}  // namespace
}  // namespace proteus

namespace proteus {
namespace {

// A kernel shorter than the host's launch time runs at the host's pace; a long one is unchanged.
TEST(HostLaunch, FloorsShortKernelsOnly) {
  GpuSpec gpu = ApplyComputeParams(LoadGpuSpec("A100-SXM4-80GB"), {{"host_launch_us", 20}});
  EXPECT_DOUBLE_EQ(Roofline(test_keys::Gelu(1024), gpu).seconds, 20e-6);
  GpuSpec plain = LoadGpuSpec("A100-SXM4-80GB");
  OpKey big = test_keys::Gemm(8192, 8192, 8192);
  EXPECT_DOUBLE_EQ(Roofline(big, gpu).seconds, Roofline(big, plain).seconds);
  EXPECT_LT(Roofline(test_keys::Gelu(1024), plain).seconds, 20e-6);
}

}  // namespace
}  // namespace proteus
