// `proteus-sim simulate` memory accounting: flags, strategy-file fields, the table's reserve and
// buffers, the out-of-memory verdict with its advice.
#include <filesystem>

#include <gtest/gtest.h>

#include "common/json_file.h"
#include "common/log.h"
#include "tests/cli/cli_test_util.h"
#include "tests/common/process_temp_dir.h"

namespace proteus {
namespace {

using BadMemoryInput = BadInputCase;

class MemoryBadInput : public ::testing::TestWithParam<BadMemoryInput> {};

TEST_P(MemoryBadInput, ExitsTwoNamingTheFlag) {
  ExpectRefused({"simulate", "--model", "gpt2-small", "--cluster", "dgx-h100-1", "--dp", "8"}, GetParam());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MemoryBadInput,
    ::testing::Values(BadMemoryInput{{"--fragmentation", "0.9"}, "--fragmentation"},
                      BadMemoryInput{{"--fragmentation", "3"}, "--fragmentation"},
                      BadMemoryInput{{"--memory-reserve-gib", "-1"}, "--memory-reserve-gib"},
                      BadMemoryInput{{"--main-grads", "fp8"}, "--main-grads"},
                      BadMemoryInput{{"--params", "int4"}, "--params"}));

TEST(MemoryCli, StrategyFileFieldsAreCheckedByName) {
  SetLogLevel(LogLevel::kQuiet);
  std::string path = ProcessTempPath("proteus_mem_strategy.json");
  WriteFileAtomic(path, R"({"format": "proteus.strategy/1", "mesh": {"dp": 8},
      "defaults": {"partition": {"b": "dp"}}, "memory": {"fragmentation": 0.5}})");
  CliRun r = RunCli({"simulate", "--model", "gpt2-small", "--cluster", "dgx-h100-1", "--strategy", path});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(path + ": memory.fragmentation"), std::string::npos) << r.err;
  std::filesystem::remove(path);
}

TEST(MemoryCli, TableShowsBuffersAndReserve) {
  SetLogLevel(LogLevel::kQuiet);
  CliRun r = RunCli({"simulate", "--model", "gpt2-small", "--cluster", "dgx-h100-1", "--tp", "2", "--dp", "4",
                     "--gbs", "32", "--memory-reserve-gib", "0.75", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  Json report = ParseJson(r.out, "stdout");
  const Json& mem = report["gpus"][0]["memory_at_peak_bytes"];
  EXPECT_EQ(mem["reserve"].get<int64_t>(), int64_t{3} << 28);  // 0.75 GiB
  EXPECT_GT(mem["buffers"].get<int64_t>(), 0);                 // tp and dp communicators
  int64_t sum = 0;
  for (const auto& [k, v] : mem.items()) sum += v.get<int64_t>();
  EXPECT_EQ(sum, report["gpus"][0]["peak_memory_bytes"].get<int64_t>());
  CliRun table = RunCli({"simulate", "--model", "gpt2-small", "--cluster", "dgx-h100-1", "--tp", "2", "--dp", "4",
                         "--gbs", "32"});
  ASSERT_EQ(table.code, 0) << table.err;
  for (const char* s : {"buffers", "reserve", "fragmentation"})
    EXPECT_NE(table.out.find(s), std::string::npos) << s << "\n" << table.out;
}

TEST(MemoryCli, OomVerdictSaysByHowMuchAndWhatFits) {
  SetLogLevel(LogLevel::kQuiet);
  CliRun r = RunCli({"simulate", "--model", "gpt3-1.3b", "--cluster", "dgx-a100-1", "--dp", "8", "--mbs", "30",
                     "--gbs", "480", "--zero", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("VERDICT: OUT OF MEMORY"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" over its "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("to fit: --mbs "), std::string::npos) << r.out;
}

}  // namespace
}  // namespace proteus
