// `proteus-sim validate`: predicted vs measured per case, mean and max absolute error.
#include <cmath>
#include <filesystem>
#include <gtest/gtest.h>

#include "common/json_file.h"
#include "common/log.h"
#include "tests/cli/cli_test_util.h"
#include "tests/common/process_temp_dir.h"

namespace proteus {
namespace {

std::string WriteSuite(const std::string& name, const std::string& text) {
  auto path = ProcessTempPath("proteus_suite_" + name + ".json");
  WriteFileAtomic(path, text);
  return path;
}

TEST(ValidateCli, PrintsErrorPerCaseAndSummary) {
  SetLogLevel(LogLevel::kQuiet);
  std::string suite = WriteSuite("ok", R"({
    "format": "proteus.suite/1", "name": "t",
    "cases": [
      {"name": "a", "model": "gpt2-small", "cluster": "dgx-h100-1",
       "strategy": {"dp": 8, "gbs": 64}, "measured": {"samples_per_s": 1000}, "source": "test"},
      {"name": "b", "model": "gpt2-small", "cluster": "dgx-h100-1",
       "strategy": {"tp": 2, "dp": 4, "gbs": 64}, "measured": {"samples_per_s": 1000, "mfu": 0.4}}]})");
  CliRun r = RunCli({"validate", suite, "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  Json j = ParseJson(r.out, "stdout");
  ASSERT_EQ(j["comparisons"].size(), 3u);
  double max_err = 0, sum = 0;
  for (const auto& c : j["comparisons"]) {
    double e = (c["predicted"].get<double>() - c["measured"].get<double>()) / c["measured"].get<double>();
    EXPECT_DOUBLE_EQ(c["relative_error"].get<double>(), e);
    max_err = std::max(max_err, std::fabs(e));
    sum += std::fabs(e);
  }
  EXPECT_DOUBLE_EQ(j["max_abs_error"].get<double>(), max_err);
  EXPECT_DOUBLE_EQ(j["mean_abs_error"].get<double>(), sum / 3);

  CliRun table = RunCli({"validate", suite});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_NE(table.out.find("mean |error|"), std::string::npos) << table.out;
  std::filesystem::remove(suite);
}

TEST(ValidateCli, BadSuiteNamesCaseField) {
  SetLogLevel(LogLevel::kQuiet);
  std::string suite = WriteSuite("bad", R"({"format": "proteus.suite/1", "cases": [
      {"model": "gpt2-small", "cluster": "dgx-h100-1", "strategy": {"dp": 8},
       "measured": {"speed": 3}}]})");
  CliRun r = RunCli({"validate", suite});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("cases[0].measured.speed"), std::string::npos) << r.err;
  std::filesystem::remove(suite);
}

TEST(ValidateCli, ShippedSuitesParse) {
  for (const char* name : {"data/validation/megatron-sc21-table1.json", "data/validation/megatron-sc21-table2-ptdp.json"}) {
    Json doc = ReadJsonFile(name);
    JsonView root(doc, name);
    EXPECT_EQ(root.RequireFormat("proteus.suite", 1), 1);
    EXPECT_GT(root.At("cases").Size(), 0u);
  }
}

TEST(ValidateCli, ErrorsWhileSimulatingACaseNameTheCase) {
  SetLogLevel(LogLevel::kQuiet);
  std::string suite = WriteSuite("tp", R"({"format": "proteus.suite/1", "cases": [
      {"model": "gpt2-small", "cluster": "dgx-h100-1", "strategy": {"dp": 8}, "measured": {"mfu": 0.3}},
      {"model": "gpt2-small", "cluster": "dgx-h100-1", "strategy": {"tp": 8}, "measured": {"mfu": 0.3}}]})");
  CliRun r = RunCli({"validate", suite});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err.rfind("error: " + suite + ": cases[1]: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("tp=8 does not divide"), std::string::npos) << r.err;
  std::filesystem::remove(suite);
}

TEST(SimulateFlags, HugeDegreesAreRejectedNotOverflowed) {
  SetLogLevel(LogLevel::kQuiet);
  CliRun r = RunCli({"simulate", "--model", "gpt2-small", "--cluster", "dgx-h100-1", "--tp", "65536", "--pp", "65536"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("4294967296"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace proteus
