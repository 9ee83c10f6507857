#include "simulator/pipeline/simulation.h"

#include <cstdio>

#include <gtest/gtest.h>

#include "common/costdb.h"
#include "simulator/cost/cost_source.h"
#include "tests/common/temp_dir.h"

namespace proteus {
namespace {

RunSpec SmallSpec() {
  RunSpec s;
  s.model = "data/models/uniform-gpt.json";
  s.cluster = "dgx-a100-1";
  s.flags.tp = 2;
  s.flags.pp = 2;
  s.flags.dp = 2;
  s.flags.mbs = 1;
  s.flags.gbs = 8;
  return s;
}

Calibration Cal(const std::string& gpu) {
  Calibration c;
  c.gpu = gpu;
  c.params["gemm_ceiling"].value = 0.6;
  c.params["kernel_overhead_us"].value = 8;
  c.params["coll_bw_eff_intra"].value = 0.8;
  c.provenance = {{"runs", Json::array({"synthetic"})}};
  return c;
}

int64_t Calibrated(const Report& r) { return r.cost_sources[static_cast<int>(CostSource::kCalibrated)]; }

class PreparedSimulationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    PreparedSimulation probe(SmallSpec());
    gpu_ = probe.gpu_type();
  }
  static inline std::string gpu_;
};

TEST_F(PreparedSimulationTest, RepricingIsStateless) {
  PreparedSimulation sim(SmallSpec());
  Calibration cal = Cal(sim.gpu_type());
  Report a = sim.Run(&cal);
  Report plain = sim.Run(nullptr);
  Report b = sim.Run(&cal);
  std::printf("%s: uncalibrated %.6g s, calibrated %.6g s\n", gpu_.c_str(), plain.iteration_time_s,
              a.iteration_time_s);
  EXPECT_EQ(a.iteration_time_s, b.iteration_time_s);
  EXPECT_EQ(a.cost_sources, b.cost_sources);
  EXPECT_EQ(a.calibration, b.calibration);
  EXPECT_NE(a.iteration_time_s, plain.iteration_time_s);
  EXPECT_GT(a.iteration_time_s, plain.iteration_time_s);  // lower ceiling, more overhead, slower links
  Report plain2 = sim.Run(nullptr);
  EXPECT_EQ(plain.iteration_time_s, plain2.iteration_time_s);
  EXPECT_EQ(plain.cost_sources, plain2.cost_sources);
}

TEST_F(PreparedSimulationTest, CalibratedRunReportsItsSource) {
  PreparedSimulation sim(SmallSpec());
  Calibration cal = Cal(sim.gpu_type());
  const Report& r = sim.Run(&cal);
  EXPECT_GT(Calibrated(r), 0);
  EXPECT_EQ(r.cost_sources[static_cast<int>(CostSource::kRoofline)], 0);
  EXPECT_FALSE(r.calibration.empty());
  EXPECT_FALSE(r.UncalibratedOnly());
  ASSERT_NE(sim.calibration(), nullptr);
  EXPECT_EQ(sim.calibration()->gpu, sim.gpu_type());
}

TEST_F(PreparedSimulationTest, WithoutDatabaseIsUncalibratedOnly) {
  PreparedSimulation sim(SmallSpec());
  const Report& r = sim.Run();
  EXPECT_TRUE(r.UncalibratedOnly());
  EXPECT_EQ(Calibrated(r), 0);
  EXPECT_TRUE(r.calibration.empty());
  EXPECT_EQ(sim.calibration(), nullptr);
  EXPECT_EQ(sim.database(), nullptr);
}

TEST_F(PreparedSimulationTest, OtherGpusCalibrationIsIgnored) {
  PreparedSimulation sim(SmallSpec());
  double plain = sim.Run(nullptr).iteration_time_s;
  Calibration other = Cal("H100-SXM5-80GB");
  ASSERT_NE(other.gpu, sim.gpu_type());
  const Report& r = sim.Run(&other);
  EXPECT_EQ(r.iteration_time_s, plain);
  EXPECT_EQ(Calibrated(r), 0);
}

TEST_F(PreparedSimulationTest, MatchesRunSimulationWithOverride) {
  Calibration cal = Cal(gpu_);
  PreparedSimulation sim(SmallSpec());
  double prepared = sim.Run(&cal).iteration_time_s;
  SimulationRequest req;
  req.spec = SmallSpec();
  req.calibration_override = cal;
  SimulationOutput out = RunSimulation(req);
  EXPECT_EQ(prepared, out.report.iteration_time_s);
  EXPECT_EQ(sim.Run(&cal).cost_sources, out.report.cost_sources);
  ASSERT_NE(out.calibration, nullptr);
  EXPECT_GT(Calibrated(out.report), 0);
  EXPECT_FALSE(out.report.calibration.empty());
}

TEST_F(PreparedSimulationTest, CalibrationFromDatabaseFileMatches) {
  Calibration cal = Cal(gpu_);
  TempDir dir("prepared_simulation_test");
  std::string path = (dir.path() / "cal.costdb.json").string();
  CostDb db;
  db.calibrations.push_back(cal);
  db.Save(path);

  RunSpec spec = SmallSpec();
  spec.databases = {path};
  PreparedSimulation with_db(spec);
  const Report& from_db = with_db.Run(nullptr);  // the database's own calibration
  double db_time = from_db.iteration_time_s;
  EXPECT_GT(Calibrated(from_db), 0);
  EXPECT_FALSE(from_db.calibration.empty());
  EXPECT_FALSE(from_db.UncalibratedOnly());

  PreparedSimulation plain(SmallSpec());
  EXPECT_EQ(db_time, plain.Run(&cal).iteration_time_s);

  SimulationRequest req;
  req.spec = spec;
  SimulationOutput out = RunSimulation(req);
  EXPECT_EQ(db_time, out.report.iteration_time_s);
  ASSERT_NE(out.calibration, nullptr);
  EXPECT_EQ(out.calibration->gpu, gpu_);
  EXPECT_FALSE(out.report.calibration.empty());
  std::printf("calibration line: %s\n", out.report.calibration.c_str());
}

}  // namespace
}  // namespace proteus
