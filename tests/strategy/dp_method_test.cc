// The data-parallel method keys of strategy files (strategy/dp_method.h).
#include "simulator/strategy/dp_method.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "simulator/strategy/strategy.h"

namespace proteus {
namespace {

Strategy Parse(const std::string& keys) {
  return ParseStrategy(ParseJson(R"({"format": "proteus.strategy/1", "mesh": [{"axis": "dp", "size": 4}])" + keys + "}",
                                 "s.json"),
                       "s.json");
}

std::string ErrorOf(const std::string& keys) {
  try {
    Parse(keys);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

TEST(DpMethod, NamesRoundTrip) {
  for (DpMethod m : {DpMethod::kBuckets, DpMethod::kBsp, DpMethod::kWfbp, DpMethod::kFusion, DpMethod::kMgWfbp})
    EXPECT_EQ(ParseDpMethod(DpMethodName(m)), m);
  EXPECT_FALSE(ParseDpMethod("ps"));
}

TEST(DpMethod, DefaultsAreBucketsAndHorovodsKnobs) {
  Strategy s = Parse("");
  EXPECT_EQ(s.dp_reduction.method, DpMethod::kBuckets);
  EXPECT_EQ(s.dp_reduction.fusion_threshold_bytes, 64 << 20);  // HOROVOD_FUSION_THRESHOLD
  EXPECT_DOUBLE_EQ(s.dp_reduction.fusion_cycle_s, 0.005);      // HOROVOD_CYCLE_TIME
  EXPECT_FALSE(StrategyToJson(s).contains("dp_method"));       // default files are written as before
}

TEST(DpMethod, FileKeysParseAndRoundTrip) {
  Strategy s = Parse(R"(, "dp_method": "fusion", "fusion_threshold_bytes": 1048576, "fusion_cycle_ms": 2.5)");
  EXPECT_EQ(s.dp_reduction.method, DpMethod::kFusion);
  EXPECT_EQ(s.dp_reduction.fusion_threshold_bytes, 1048576);
  EXPECT_DOUBLE_EQ(s.dp_reduction.fusion_cycle_s, 0.0025);
  EXPECT_EQ(ParseStrategy(StrategyToJson(s), "round").dp_reduction, s.dp_reduction);
}

TEST(DpMethod, BadKeysNameTheField) {
  std::string unknown = ErrorOf(R"(, "dp_method": "bytescheduler")");
  EXPECT_NE(unknown.find("dp_method"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("mgwfbp"), std::string::npos) << unknown;  // lists the known ones
  std::string threshold = ErrorOf(R"(, "dp_method": "fusion", "fusion_threshold_bytes": -1)");
  EXPECT_NE(threshold.find("fusion_threshold_bytes"), std::string::npos) << threshold;
  std::string cycle = ErrorOf(R"(, "dp_method": "fusion", "fusion_cycle_ms": -5)");
  EXPECT_NE(cycle.find("fusion_cycle_ms"), std::string::npos) << cycle;
  std::string huge = ErrorOf(R"(, "fusion_cycle_ms": 1e9)");
  EXPECT_NE(huge.find("fusion_cycle_ms"), std::string::npos) << huge;
}

}  // namespace
}  // namespace proteus
