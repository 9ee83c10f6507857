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
  for (DpMethod m : {DpMethod::kBuckets, DpMethod::kBsp, DpMethod::kWfbp, DpMethod::kFusion, DpMethod::kMgWfbp,
                     DpMethod::kPs})
    EXPECT_EQ(ParseDpMethod(DpMethodName(m)), m);
  EXPECT_FALSE(ParseDpMethod("byteps"));
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

TEST(DpMethod, PsKeysParseAndRoundTrip) {
  Strategy def = Parse(R"(, "dp_method": "ps")");
  EXPECT_EQ(def.dp_reduction.ps_servers, 0);  // one per worker node
  EXPECT_FALSE(def.dp_reduction.ps_colocated);
  EXPECT_EQ(def.dp_reduction.ps_partition_bytes, 4096000);  // BYTEPS_PARTITION_BYTES
  Strategy s = Parse(R"(, "dp_method": "ps", "ps_servers": 3, "ps_colocated": true, "ps_partition_bytes": 1000)");
  EXPECT_EQ(s.dp_reduction.ps_servers, 3);
  EXPECT_TRUE(s.dp_reduction.ps_colocated);
  EXPECT_EQ(s.dp_reduction.ps_partition_bytes, 1000);
  EXPECT_EQ(ParseStrategy(StrategyToJson(s), "round").dp_reduction, s.dp_reduction);
  EXPECT_EQ(ParseStrategy(StrategyToJson(def), "round").dp_reduction, def.dp_reduction);
}

TEST(DpMethod, BadPsKeysNameTheField) {
  std::string other = ErrorOf(R"(, "dp_method": "wfbp", "ps_servers": 2)");
  EXPECT_NE(other.find("s.json: ps_servers: is a knob of dp_method ps"), std::string::npos) << other;
  std::string none = ErrorOf(R"(, "ps_colocated": true)");
  EXPECT_NE(none.find("s.json: ps_colocated: is a knob of dp_method ps"), std::string::npos) << none;
  std::string zero = ErrorOf(R"(, "dp_method": "ps", "ps_servers": 0)");
  EXPECT_NE(zero.find("s.json: ps_servers: must be between 1 and"), std::string::npos) << zero;
  std::string piece = ErrorOf(R"(, "dp_method": "ps", "ps_partition_bytes": 0)");
  EXPECT_NE(piece.find("ps_partition_bytes"), std::string::npos) << piece;
}

}  // namespace
}  // namespace proteus
