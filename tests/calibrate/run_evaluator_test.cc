#include "simulator/calibrate/run_evaluator.h"

#include <cmath>
#include <cstdio>

#include <gtest/gtest.h>

namespace proteus {
namespace {

MeasuredRun ManyMicroBatches(int m) {
  MeasuredRun run;
  run.name = "pp2-m" + std::to_string(m);
  run.origin = "run_evaluator_test";
  run.spec.model = "data/models/uniform-gpt.json";
  run.spec.cluster = "dgx-a100-1";
  run.spec.flags.tp = 2;
  run.spec.flags.pp = 2;
  run.spec.flags.dp = 2;
  run.spec.flags.mbs = 1;
  run.spec.flags.gbs = 2 * m;  // dp 2: m micro-batches per pipeline
  run.measured.values = {{"iteration_time_s", 1.0}, {"tflops_per_gpu", 100.0}};
  return run;
}

Calibration Changed(const std::string& gpu) {
  Calibration c;
  c.gpu = gpu;
  c.params["kernel_overhead_us"].value = 10;
  c.params["gemm_ceiling"].value = 0.7;
  return c;
}

TEST(RunEvaluator, FastEqualsExactAtUncalibratedPoint) {
  MeasuredRun run = ManyMicroBatches(64);
  RunEvaluator ev(run);
  ASSERT_TRUE(ev.has_fast_path());
  std::map<std::string, double> exact = ev.Exact(nullptr);
  std::map<std::string, double> fast = ev.Fast(nullptr);
  ASSERT_EQ(exact.size(), 2u);
  for (const auto& [metric, v] : exact) {
    ASSERT_TRUE(fast.count(metric)) << metric;
    std::printf("%s: exact %.9g fast %.9g\n", metric.c_str(), v, fast[metric]);
    EXPECT_NEAR(fast[metric], v, std::abs(v) * 1e-12) << metric;
    EXPECT_NEAR(ev.uncalibrated().at(metric), v, std::abs(v) * 1e-12) << metric;
  }
}

TEST(RunEvaluator, FastWithinOnePercentOfExactAtChangedParameters) {
  MeasuredRun run = ManyMicroBatches(64);
  RunEvaluator ev(run);
  ASSERT_TRUE(ev.has_fast_path());
  Calibration cal = Changed(ev.gpu_type());
  std::map<std::string, double> exact = ev.Exact(&cal);
  std::map<std::string, double> fast = ev.Fast(&cal);
  EXPECT_GT(exact.at("iteration_time_s"), ev.uncalibrated().at("iteration_time_s"));
  for (const auto& [metric, v] : exact) {
    double rel = fast[metric] / v - 1;
    std::printf("%s: exact %.6g fast %.6g (%.4f%%)\n", metric.c_str(), v, fast[metric], 100 * rel);
    EXPECT_LT(std::abs(rel), 0.01) << metric;
  }
  // Stateless: evaluating again gives the same numbers.
  EXPECT_EQ(ev.Fast(&cal), fast);
  EXPECT_EQ(ev.Exact(&cal), exact);
}

TEST(RunEvaluator, FewMicroBatchesAreAlwaysExact) {
  MeasuredRun run = ManyMicroBatches(4);
  RunEvaluator ev(run);
  EXPECT_FALSE(ev.has_fast_path());
  Calibration cal = Changed(ev.gpu_type());
  EXPECT_EQ(ev.Fast(&cal), ev.Exact(&cal));
}

}  // namespace
}  // namespace proteus
