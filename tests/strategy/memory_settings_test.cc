#include "simulator/strategy/memory_settings.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "simulator/strategy/strategy.h"

namespace proteus {
namespace {

const char* kHead = R"({"format": "proteus.strategy/1", "mesh": {"dp": 2}, )";

Strategy Parse(const std::string& rest) {
  return ParseStrategy(ParseJson(std::string(kHead) + rest + "}", "s.json"), "s.json");
}

std::string ErrorOf(const std::string& rest) {
  try {
    Parse(rest);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

TEST(MemorySettings, DefaultsAreMegatronCoresWithAReserveAndFragmentation) {
  Strategy s = Parse(R"("micro_batch": 1)");
  EXPECT_EQ(s.precision.main_grads, DType::kFp32);
  EXPECT_EQ(s.precision.params, ParamStorage::kCompute);
  EXPECT_EQ(s.memory.reserve_bytes, int64_t{1} << 30);
  EXPECT_DOUBLE_EQ(s.memory.fragmentation, 1.1);
  EXPECT_EQ(s.memory.nccl_buffsize, int64_t{4} << 20);
}

TEST(MemorySettings, ParsesAndRoundTrips) {
  Strategy s = Parse(R"("precision": {"main_grads": "bf16", "params": "fp32"},
      "memory": {"reserve_gib": 0.5, "fragmentation": 1.25, "nccl_buffsize_mib": 2})");
  EXPECT_EQ(s.precision.main_grads, DType::kBf16);
  EXPECT_EQ(s.precision.params, ParamStorage::kFp32);
  EXPECT_EQ(s.memory.reserve_bytes, int64_t{512} << 20);
  EXPECT_DOUBLE_EQ(s.memory.fragmentation, 1.25);
  EXPECT_EQ(s.memory.nccl_buffsize, int64_t{2} << 20);
  Strategy back = ParseStrategy(StrategyToJson(s), "round trip");
  EXPECT_EQ(back.precision, s.precision);
  EXPECT_EQ(back.memory, s.memory);
}

TEST(MemorySettings, BadValuesNameTheField) {
  EXPECT_NE(ErrorOf(R"("memory": {"fragmentation": 0.9})").find("s.json: memory.fragmentation"), std::string::npos)
      << ErrorOf(R"("memory": {"fragmentation": 0.9})");
  EXPECT_NE(ErrorOf(R"("memory": {"fragmentation": 2.5})").find("memory.fragmentation"), std::string::npos);
  EXPECT_NE(ErrorOf(R"("memory": {"reserve_gib": -1})").find("memory.reserve_gib"), std::string::npos);
  EXPECT_NE(ErrorOf(R"("memory": {"nccl_buffsize_mib": 0})").find("memory.nccl_buffsize_mib"), std::string::npos);
  EXPECT_NE(ErrorOf(R"("memory": {"reserve": 1})").find("reserve"), std::string::npos);  // unknown key
  EXPECT_NE(ErrorOf(R"("precision": {"main_grads": "fp8"})").find("precision.main_grads"), std::string::npos);
  EXPECT_NE(ErrorOf(R"("precision": {"params": "bf16"})").find("precision.params"), std::string::npos);
}

TEST(MemorySettings, FlagCheckersNameTheFlag) {
  auto error = [](auto f) {
    try {
      f();
    } catch (const UserError& e) {
      return e.where();
    }
    return std::string();
  };
  EXPECT_EQ(error([] { CheckedFragmentation(0.5, "--fragmentation"); }), "--fragmentation");
  EXPECT_EQ(error([] { CheckedReserveBytes(-0.1, "--memory-reserve-gib"); }), "--memory-reserve-gib");
  EXPECT_EQ(error([] { ParseMainGrads("int8", "--main-grads"); }), "--main-grads");
  EXPECT_EQ(error([] { ParseParamStorage("half", "--params"); }), "--params");
  EXPECT_EQ(CheckedReserveBytes(0, "x"), 0);
  EXPECT_DOUBLE_EQ(CheckedFragmentation(1.0, "x"), 1.0);
}

}  // namespace
}  // namespace proteus
