#include <cmath>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "common/costdb.h"
#include "common/error.h"
#include "tests/common/temp_dir.h"

namespace proteus {
namespace {

Calibration Cal(const std::string& gpu, double gemm, double overhead) {
  Calibration c;
  c.gpu = gpu;
  c.params["gemm_ceiling"] = {gemm, 0.01, false};
  c.params["kernel_overhead_us"] = {overhead, 0.5, true};
  c.provenance = {{"runs", Json::array({"a", "b"})}, {"command", "proteus-sim calibrate"}, {"date", "2026-12-01"}};
  return c;
}

std::string ErrorOf(const Json& doc) {
  try {
    CostDb::FromJson(doc, "cal.json");
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

TEST(CostDbCalibration, FindCalibrationByGpu) {
  CostDb db;
  EXPECT_EQ(db.FindCalibration("A100-SXM4-80GB"), nullptr);
  db.calibrations.push_back(Cal("A100-SXM4-80GB", 0.7, 6));
  db.calibrations.push_back(Cal("H100-SXM5-80GB", 0.8, 4));
  ASSERT_NE(db.FindCalibration("H100-SXM5-80GB"), nullptr);
  EXPECT_DOUBLE_EQ(db.FindCalibration("H100-SXM5-80GB")->params.at("gemm_ceiling").value, 0.8);
  EXPECT_EQ(db.FindCalibration("A100-SXM4-80GB"), &db.calibrations[0]);
  EXPECT_EQ(db.FindCalibration("V100"), nullptr);
}

TEST(CostDbCalibration, RoundTripsThroughJsonAndFile) {
  CostDb db;
  db.calibrations.push_back(Cal("A100-SXM4-80GB", 0.7, 6));
  Json j = db.ToJson();
  ASSERT_TRUE(j.contains("calibration"));
  CostDb back = CostDb::FromJson(j, "mem.json");
  ASSERT_EQ(back.calibrations.size(), 1u);
  const Calibration& c = back.calibrations[0];
  EXPECT_EQ(c.gpu, "A100-SXM4-80GB");
  ASSERT_EQ(c.params.size(), 2u);
  EXPECT_DOUBLE_EQ(c.params.at("gemm_ceiling").value, 0.7);
  EXPECT_DOUBLE_EQ(c.params.at("gemm_ceiling").stderr_value, 0.01);
  EXPECT_FALSE(c.params.at("gemm_ceiling").at_bound);
  EXPECT_DOUBLE_EQ(c.params.at("kernel_overhead_us").value, 6);
  EXPECT_TRUE(c.params.at("kernel_overhead_us").at_bound);
  EXPECT_EQ(c.provenance, db.calibrations[0].provenance);
  EXPECT_EQ(back.ToJson(), j);

  TempDir dir("costdb_calibration_test");
  std::string path = (dir.path() / "cal.costdb.json").string();
  db.Save(path);
  CostDb loaded = CostDb::Load(path);
  ASSERT_NE(loaded.FindCalibration("A100-SXM4-80GB"), nullptr);
  EXPECT_EQ(loaded.ToJson(), j);
}

TEST(CostDbCalibration, NoCalibrationWritesNoEntry) {
  CostDb db;
  CostDb back = CostDb::FromJson(db.ToJson(), "mem.json");
  EXPECT_TRUE(back.calibrations.empty());
}

TEST(CostDbCalibration, OverlayUpperCalibrationReplacesLowersForSameGpu) {
  CostDb lower, upper;
  lower.calibrations.push_back(Cal("A100-SXM4-80GB", 0.6, 3));
  lower.calibrations.push_back(Cal("H100-SXM5-80GB", 0.8, 4));
  Calibration up;
  up.gpu = "A100-SXM4-80GB";
  up.params["memory_ceiling"] = {0.9, 0, false};
  upper.calibrations.push_back(up);
  CostDb merged = upper.Overlay(lower);
  ASSERT_EQ(merged.calibrations.size(), 2u);
  const Calibration* a = merged.FindCalibration("A100-SXM4-80GB");
  ASSERT_NE(a, nullptr);
  // Replaced whole, not merged parameter by parameter.
  EXPECT_EQ(a->params.size(), 1u);
  EXPECT_EQ(a->params.count("gemm_ceiling"), 0u);
  EXPECT_DOUBLE_EQ(a->params.at("memory_ceiling").value, 0.9);
  ASSERT_NE(merged.FindCalibration("H100-SXM5-80GB"), nullptr);
  EXPECT_DOUBLE_EQ(merged.FindCalibration("H100-SXM5-80GB")->params.at("gemm_ceiling").value, 0.8);
  // Lower over upper: the lower's A100 calibration wins then.
  CostDb reversed = lower.Overlay(upper);
  EXPECT_DOUBLE_EQ(reversed.FindCalibration("A100-SXM4-80GB")->params.at("gemm_ceiling").value, 0.6);
}

TEST(CostDbCalibration, DuplicateGpuIsRejected) {
  CostDb db;
  db.calibrations.push_back(Cal("A100-SXM4-80GB", 0.7, 6));
  Json j = db.ToJson();
  j["calibration"].push_back(j["calibration"][0]);
  std::string err = ErrorOf(j);
  EXPECT_NE(err.find("cal.json"), std::string::npos) << err;
  EXPECT_NE(err.find("gpu"), std::string::npos) << err;
  EXPECT_NE(err.find("A100-SXM4-80GB"), std::string::npos) << err;
}

TEST(CostDbCalibration, NonFiniteValueIsRejected) {
  CostDb db;
  db.calibrations.push_back(Cal("A100-SXM4-80GB", 0.7, 6));
  Json j = db.ToJson();
  j["calibration"][0]["params"]["gemm_ceiling"]["value"] = std::numeric_limits<double>::infinity();
  std::string err = ErrorOf(j);
  EXPECT_NE(err.find("value"), std::string::npos) << err;
  EXPECT_NE(err.find("gemm_ceiling"), std::string::npos) << err;
  j["calibration"][0]["params"]["gemm_ceiling"]["value"] = "fast";
  EXPECT_NE(ErrorOf(j).find("value"), std::string::npos) << ErrorOf(j);
}

TEST(CostDbCalibration, NegativeStderrIsRejected) {
  CostDb db;
  db.calibrations.push_back(Cal("A100-SXM4-80GB", 0.7, 6));
  Json j = db.ToJson();
  j["calibration"][0]["params"]["kernel_overhead_us"]["stderr"] = -0.1;
  std::string err = ErrorOf(j);
  EXPECT_NE(err.find("stderr"), std::string::npos) << err;
  EXPECT_NE(err.find("kernel_overhead_us"), std::string::npos) << err;
}

TEST(CostDbCalibration, MissingGpuOrParamsIsRejected) {
  CostDb db;
  db.calibrations.push_back(Cal("A100-SXM4-80GB", 0.7, 6));
  Json j = db.ToJson();
  Json no_gpu = j;
  no_gpu["calibration"][0]["gpu"] = "";
  EXPECT_NE(ErrorOf(no_gpu).find("gpu"), std::string::npos) << ErrorOf(no_gpu);
  Json bad_params = j;
  bad_params["calibration"][0]["params"] = Json::array();
  EXPECT_NE(ErrorOf(bad_params).find("params"), std::string::npos) << ErrorOf(bad_params);
}

}  // namespace
}  // namespace proteus
