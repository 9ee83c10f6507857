#include "profiler/stats.h"

#include <gtest/gtest.h>

namespace proteus::profiler {
namespace {

TEST(Quantile, LinearInterpolationBetweenOrderStatistics) {
  std::vector<double> v = {4, 1, 3, 2};  // sorted 1 2 3 4
  EXPECT_DOUBLE_EQ(Quantile(v, 0.5), 2.5);   // position 1.5
  EXPECT_DOUBLE_EQ(Quantile(v, 0.1), 1.3);   // position 0.3: 1 + 0.3 * (2 - 1)
  EXPECT_DOUBLE_EQ(Quantile(v, 0.9), 3.7);   // position 2.7: 3 + 0.7 * (4 - 3)
  EXPECT_DOUBLE_EQ(Quantile({5}, 0.9), 5);
  EXPECT_DOUBLE_EQ(Quantile({}, 0.5), 0);
}

TEST(Summarize, MedianPercentilesCountMethodAndWall) {
  TimeStats t = Summarize({1e-3, 2e-3, 3e-3, 4e-3, 100e-3}, {5e-3, 6e-3, 7e-3}, "cupti_kernel_sum");
  EXPECT_DOUBLE_EQ(t.median_s, 3e-3);            // an outlier does not move the median
  EXPECT_DOUBLE_EQ(t.p10_s, 1.4e-3);             // position 0.4
  EXPECT_NEAR(t.p90_s, 4e-3 + 0.6 * 96e-3, 1e-12);  // position 3.6
  EXPECT_EQ(t.count, 5);
  EXPECT_EQ(t.method, "cupti_kernel_sum");
  EXPECT_DOUBLE_EQ(t.wall_median_s, 6e-3);
}

TEST(TimingPolicy, RepetitionsFillTheTargetWithinBounds) {
  TimingPolicy p = OpPolicy();  // target 20 ms, 10..200 timed calls, 5 ms warm-up, >= 2 calls
  EXPECT_EQ(p.TimedCalls(10e-6), 200);    // 20 ms / 10 us = 2000 -> capped at 200
  EXPECT_EQ(p.TimedCalls(0.5e-3), 40);    // 20 ms / 0.5 ms
  EXPECT_EQ(p.TimedCalls(20e-3), 10);     // 1 -> raised to the minimum 10
  EXPECT_EQ(p.WarmupCalls(1e-3), 5);      // 5 ms / 1 ms
  EXPECT_EQ(p.WarmupCalls(50e-3), 2);     // at least 2
  EXPECT_EQ(p.TotalCalls(20e-3), 1 + 2 + 10);
  TimingPolicy c = CollectivePolicy();
  EXPECT_EQ(c.TimedCalls(1.0), 5);
  EXPECT_EQ(c.TimedCalls(1e-6), 50);
}

TEST(RotationSets, ExceedTwiceL2WithinMemory) {
  const int64_t l2 = 50 << 20;  // H100
  EXPECT_EQ(RotationSets(int64_t{10} << 20, l2, int64_t{80} << 30), 11);  // ceil(100/10) + 1
  EXPECT_EQ(RotationSets(int64_t{1} << 20, l2, int64_t{80} << 30), 16);   // 101 -> capped at 16
  EXPECT_EQ(RotationSets(int64_t{1} << 30, l2, int64_t{80} << 30), 2);    // ceil(0.1) + 1
  EXPECT_EQ(RotationSets(int64_t{30} << 30, l2, int64_t{40} << 30), 1);   // only one fits in half of free
}

}  // namespace
}  // namespace proteus::profiler
