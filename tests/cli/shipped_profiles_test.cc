// The shipped calibrated profiles (data/db/*-calibrated.json) are reproducible: rerunning the
// command recorded in each file's provenance gives the same parameters and errors. This is the
// check that a profile was fitted only on the public inputs its command names (data/validation,
// data/measurements) and that nobody edited the numbers by hand.
#include <gtest/gtest.h>

#include <sstream>

#include "common/costdb.h"
#include "tests/cli/cli_test_util.h"
#include "tests/common/temp_dir.h"

namespace proteus {
namespace {

std::vector<std::string> Words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

void ExpectReproduces(const std::string& shipped_path) {
  CostDb shipped = CostDb::Load(shipped_path);
  ASSERT_EQ(shipped.calibrations.size(), 1u) << shipped_path;
  const Calibration& want = shipped.calibrations[0];
  std::vector<std::string> args = Words(want.provenance.at("command").get<std::string>());
  ASSERT_GE(args.size(), 4u);
  ASSERT_EQ(args[0], "proteus-sim");
  args.erase(args.begin());
  TempDir dir("shipped_profile");
  std::string out = (dir.path() / "rerun.json").string();
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "-o") args[i + 1] = out;
  CliRun run = RunCli(args);
  ASSERT_EQ(run.code, 0) << run.err;
  CostDb again = CostDb::Load(out);
  ASSERT_EQ(again.calibrations.size(), 1u);
  const Calibration& got = again.calibrations[0];
  EXPECT_EQ(got.gpu, want.gpu);
  ASSERT_EQ(got.params.size(), want.params.size());
  for (const auto& [name, p] : want.params) {
    ASSERT_TRUE(got.params.count(name)) << name;
    EXPECT_NEAR(got.params.at(name).value, p.value, 1e-9 * std::max(1.0, std::fabs(p.value))) << name;
    EXPECT_EQ(got.params.at(name).at_bound, p.at_bound) << name;
  }
  for (const char* key : {"cv_mean_abs_error", "cv_max_abs_error", "mean_abs_error_fit"})
    EXPECT_NEAR(got.provenance.at(key).get<double>(), want.provenance.at(key).get<double>(), 1e-9) << key;
  EXPECT_EQ(got.provenance.at("runs"), want.provenance.at("runs"));
  EXPECT_EQ(got.provenance.at("kernels"), want.provenance.at("kernels"));
}

TEST(ShippedProfiles, A100IsReproducedByItsRecordedCommand) { ExpectReproduces("data/db/a100-calibrated.json"); }
TEST(ShippedProfiles, H100IsReproducedByItsRecordedCommand) { ExpectReproduces("data/db/h100-calibrated.json"); }

}  // namespace
}  // namespace proteus
