#include "simulator/calibrate/calibrate.h"

#include <cmath>
#include <cstdio>

#include <gtest/gtest.h>

#include "common/error.h"
#include "simulator/pipeline/simulation.h"

namespace proteus {
namespace {

const char* kGpu = "A100-SXM4-80GB";

struct Shape {
  int layers, hidden, heads, seq, tp, gbs;
};

MeasuredRun SmallRun(const Shape& s, int index) {
  MeasuredRun run;
  run.name = "run" + std::to_string(index);
  run.origin = "calibrate_test: runs[" + std::to_string(index) + "]";
  run.spec.model_doc = Json::parse(R"({"format": "proteus.model/1", "zoo": "megatron-1.7b"})");
  run.spec.model_doc["overrides"] = {{"name", "g" + std::to_string(index)},
                                     {"num_layers", s.layers},
                                     {"hidden", s.hidden},
                                     {"num_heads", s.heads},
                                     {"seq_len", s.seq},
                                     {"fused_attention", false}};
  run.spec.model_origin = run.origin + ".model";
  run.spec.cluster = "dgx-a100-1";
  run.spec.flags.tp = s.tp;
  run.spec.flags.mbs = 1;
  run.spec.flags.gbs = s.gbs;
  return run;
}

Calibration Truth() {
  Calibration c;
  c.gpu = kGpu;
  c.params["gemm_ceiling"].value = 0.70;
  c.params["kernel_overhead_us"].value = 6;
  return c;
}

double Simulate(const RunSpec& spec, const Calibration& cal) {
  SimulationRequest req;
  req.spec = spec;
  req.calibration_override = cal;
  return RunSimulation(req).report.iteration_time_s;
}

RunSet SyntheticRuns(int count) {
  const std::vector<Shape> shapes = {
      {2, 512, 8, 512, 1, 8},    {2, 1024, 16, 1024, 2, 8}, {4, 2048, 16, 1024, 4, 4},
      {2, 2304, 24, 2048, 8, 2}, {3, 768, 12, 256, 1, 16},  {2, 4096, 32, 1024, 8, 2},
      {4, 1536, 16, 2048, 2, 4}, {2, 256, 4, 128, 1, 32},
  };
  RunSet set;
  Calibration truth = Truth();
  for (int i = 0; i < count; ++i) {
    MeasuredRun run = SmallRun(shapes[i], i);
    run.measured.values["iteration_time_s"] = Simulate(run.spec, truth);
    run.measured.source = "synthetic";
    set.runs.push_back(run);
  }
  return set;
}

CalibrateOptions Options(std::vector<std::string> params) {
  CalibrateOptions o;
  o.gpu = kGpu;
  o.params = std::move(params);
  o.progress = false;
  o.command = "calibrate_test";
  o.date = "2026-12-01";
  return o;
}

std::string ErrorOf(const RunSet& set, const CalibrateOptions& options) {
  try {
    Calibrate(set, options);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

TEST(Calibrate, RecoversKnownParametersFromSyntheticRuns) {
  RunSet set = SyntheticRuns(8);
  CalibrationOutcome out = Calibrate(set, Options({"gemm_ceiling", "kernel_overhead_us"}));
  const auto& p = out.calibration.params;
  ASSERT_EQ(p.size(), 2u);
  double gemm = p.at("gemm_ceiling").value, overhead = p.at("kernel_overhead_us").value;
  std::printf("gemm_ceiling %.5f (0.70) +- %.2g, kernel_overhead_us %.4f (6) +- %.2g\n", gemm,
              p.at("gemm_ceiling").stderr_value, overhead, p.at("kernel_overhead_us").stderr_value);
  std::printf("mean |error| before %.4f after %.6f cv %.6f (max %.6f), %d evaluations\n", out.mean_abs_before,
              out.mean_abs_after, out.mean_abs_cv, out.max_abs_cv, out.evaluations);
  EXPECT_NEAR(gemm, 0.70, 0.70 * 0.02);
  EXPECT_NEAR(overhead, 6, 6 * 0.02);
  EXPECT_FALSE(p.at("gemm_ceiling").at_bound);
  EXPECT_FALSE(p.at("kernel_overhead_us").at_bound);
  EXPECT_LT(out.mean_abs_cv, 0.01);
  EXPECT_LT(out.mean_abs_after, out.mean_abs_before);
  EXPECT_GT(out.mean_abs_before, 0.01);  // the uncalibrated start is visibly off
  EXPECT_EQ(out.calibration.gpu, kGpu);
  EXPECT_EQ(out.rows.size(), 8u);
  EXPECT_TRUE(out.skipped.empty());
  const Json& prov = out.calibration.provenance;
  EXPECT_TRUE(prov.contains("runs"));
  EXPECT_TRUE(prov.contains("cv_mean_abs_error"));
  EXPECT_EQ(prov.value("command", ""), "calibrate_test");
  EXPECT_EQ(prov.value("date", ""), "2026-12-01");
}

TEST(Calibrate, OtherGpuRunsAreSkipped) {
  RunSet set = SyntheticRuns(6);
  MeasuredRun h100 = SmallRun({2, 512, 8, 512, 1, 8}, 99);
  h100.spec.cluster = "dgx-h100-1";
  h100.measured.values["iteration_time_s"] = 0.01;
  set.runs.push_back(h100);
  CalibrationOutcome out = Calibrate(set, Options({"gemm_ceiling", "kernel_overhead_us"}));
  ASSERT_EQ(out.skipped.size(), 1u);
  EXPECT_NE(out.skipped[0].find("run99"), std::string::npos) << out.skipped[0];
  EXPECT_EQ(out.rows.size(), 6u);
}

TEST(Calibrate, NoRunOfRequestedGpuNamesTypesPresent) {
  RunSet set = SyntheticRuns(2);
  CalibrateOptions o = Options({"gemm_ceiling"});
  o.gpu = "H100-SXM5-80GB";
  std::string err = ErrorOf(set, o);
  EXPECT_NE(err.find("H100-SXM5-80GB"), std::string::npos) << err;
  EXPECT_NE(err.find(kGpu), std::string::npos) << err;
}

TEST(Calibrate, UnknownParameterIsRejected) {
  RunSet set = SyntheticRuns(2);
  std::string err = ErrorOf(set, Options({"gemm_ceiling", "warp_speed"}));
  EXPECT_NE(err.find("warp_speed"), std::string::npos) << err;
  EXPECT_NE(err.find("--params"), std::string::npos) << err;
}

TEST(Calibrate, ParameterNothingDependsOnCannotBeIdentified) {
  RunSet set = SyntheticRuns(3);  // unfused attention only
  std::string err = ErrorOf(set, Options({"gemm_ceiling", "attention_ceiling"}));
  EXPECT_NE(err.find("cannot identify"), std::string::npos) << err;
  EXPECT_NE(err.find("attention_ceiling"), std::string::npos) << err;
}

// calibrate.h: "UserError (exit 2) ... when there are not more measurements than parameters".
TEST(Calibrate, AsManyParametersAsMeasurementsIsRejected) {
  RunSet set = SyntheticRuns(2);
  std::string err = ErrorOf(set, Options({"gemm_ceiling", "kernel_overhead_us"}));
  EXPECT_NE(err.find("more measurements than parameters"), std::string::npos) << err;
}

TEST(Calibrate, MoreParametersThanMeasurementsIsRejected) {
  RunSet set = SyntheticRuns(2);
  std::string err = ErrorOf(set, Options({"gemm_ceiling", "kernel_overhead_us", "memory_ceiling"}));
  EXPECT_NE(err.find("2 measurements cannot identify 3 parameters"), std::string::npos) << err;
}

}  // namespace
}  // namespace proteus

namespace proteus {
namespace {

// Runs of one shape that differ only in how many micro-batches they run: every GEMM has the same
// shape, so the ceiling and the shape sensitivity scale every run alike and cannot be told apart.
TEST(Calibrate, OneShapeOnlyCannotSeparateCeilingFromShapeSensitivity) {
  RunSet set;
  for (int i = 0; i < 3; ++i) {
    MeasuredRun run = SmallRun({2, 1024, 8, 512, 1, 8 << i}, i);
    run.measured.values["iteration_time_s"] = 0.05 * (1 << i);
    set.runs.push_back(run);
  }
  std::string error = ErrorOf(set, Options({"gemm_ceiling", "gemm_depth_overhead"}));
  EXPECT_NE(error.find("cannot tell them apart"), std::string::npos) << error;
}

// The provenance records what a later reader needs to trust or redo the fit.
TEST(Calibrate, ProvenanceNamesRunsMethodAndErrors) {
  CalibrationOutcome o = Calibrate(SyntheticRuns(4), Options({"gemm_ceiling"}));
  const Json& p = o.calibration.provenance;
  EXPECT_EQ(p.at("runs").size(), 4u);
  EXPECT_EQ(p.at("fitted"), Json::array({"gemm_ceiling"}));
  EXPECT_NE(p.at("method").get<std::string>().find("leave-one-out"), std::string::npos);
  EXPECT_EQ(p.at("command").get<std::string>(), "calibrate_test");
  EXPECT_EQ(p.at("date").get<std::string>(), "2026-12-01");
  EXPECT_LE(p.at("cv_mean_abs_error").get<double>(), p.at("cv_max_abs_error").get<double>());
}

}  // namespace
}  // namespace proteus
