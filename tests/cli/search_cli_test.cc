// proteus-sim search end to end: the table, the JSON, and bad input.
#include <gtest/gtest.h>

#include "common/json_file.h"
#include "tests/cli/cli_test_util.h"

namespace proteus {
namespace {

const std::vector<std::string> kSmall = {"search", "--model", "gpt2-small", "--cluster", "dgx-a100-1",
                                         "--gbs", "32", "--pp", "1,2", "--mbs", "1", "--recompute", "none",
                                         "--zero", "1", "--threads", "2"};

std::vector<std::string> With(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.begin(), "-q");
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST(SearchCli, JsonRanksPlansWithFlagsThatSimulateToTheSameTime) {
  CliRun r = RunCli(With(kSmall, {"--tp", "1,2", "--json", "--top", "2"}));
  ASSERT_EQ(r.code, 0) << r.err;
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["format"], "proteus.search/1");
  EXPECT_EQ(j["considered"], 4);
  ASSERT_EQ(j["ranked"].size(), 2u);
  // The printed flags, pasted after `simulate`, give the ranked time.
  std::vector<std::string> sim = {"-q", "simulate", "--model", "gpt2-small", "--cluster", "dgx-a100-1", "--json"};
  std::string flags = j["ranked"][0]["flags"];
  for (size_t pos = 0, next; pos < flags.size(); pos = next + 1) {
    next = flags.find(' ', pos);
    if (next == std::string::npos) next = flags.size();
    sim.push_back(flags.substr(pos, next - pos));
  }
  CliRun s = RunCli(sim);
  ASSERT_EQ(s.code, 0) << s.err;
  EXPECT_DOUBLE_EQ(Json::parse(s.out)["iteration_time_s"].get<double>(), j["ranked"][0]["iteration_time_s"].get<double>());
}

TEST(SearchCli, TableListsRanksAndPruneReasons) {
  // A value given twice is tried once (CLI11 appends repeated list options).
  CliRun r = RunCli(With(kSmall, {"--tp", "1,2,3", "--tp", "2", "--json"}));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out)["considered"], 6);  // tp 1, 2, 3 x pp 1, 2
  r = RunCli(With(kSmall, {"--tp", "1,2,3"}));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("rank"), std::string::npos);
  EXPECT_NE(r.out.find("--tp 1 --pp 1 --dp 8"), std::string::npos);
  EXPECT_NE(r.out.find("tp x pp does not divide the cluster's GPUs"), std::string::npos);
}

TEST(SearchCli, MixedClusterPlansCarryTheirLayerSplitAndSimulateToTheirTime) {
  // hetero-a100-v100 (16 A100 + 16 V100): pp 2 puts stage 1 on the V100s, so the search adds a
  // balanced --pp-layers split; pp 1 straddles both types and is event-simulated without a fast
  // estimate.
  const std::vector<std::string> base = {"-q", "search", "--model", "gpt2-small", "--cluster", "hetero-a100-v100",
                                         "--dtype", "fp16", "--gbs", "32", "--tp", "4", "--pp", "1,2", "--mbs", "1",
                                         "--recompute", "none", "--zero", "1", "--threads", "2"};
  std::vector<std::string> args = base;
  args.push_back("--json");
  CliRun r = RunCli(args);
  ASSERT_EQ(r.code, 0) << r.err;
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["balanced_splits"], 1);
  EXPECT_EQ(j["unpriced"], 1);
  const Json& best = j["ranked"][0];
  ASSERT_EQ(best["pp_layers"].size(), 2u);
  EXPECT_GT(best["pp_layers"][0].get<int>(), best["pp_layers"][1].get<int>());
  const std::string flags = best["flags"];
  EXPECT_NE(flags.find("--pp-layers "), std::string::npos) << flags;
  bool null_fast = false;
  for (const auto& e : j["ranked"]) null_fast = null_fast || e["fast_estimate_s"].is_null();
  EXPECT_TRUE(null_fast);
  std::vector<std::string> sim = {"-q", "simulate", "--model", "gpt2-small", "--cluster", "hetero-a100-v100",
                                  "--dtype", "fp16", "--json"};
  for (size_t pos = 0, next; pos < flags.size(); pos = next + 1) {
    next = flags.find(' ', pos);
    if (next == std::string::npos) next = flags.size();
    sim.push_back(flags.substr(pos, next - pos));
  }
  CliRun s = RunCli(sim);
  ASSERT_EQ(s.code, 0) << s.err;
  EXPECT_DOUBLE_EQ(Json::parse(s.out)["iteration_time_s"].get<double>(), best["iteration_time_s"].get<double>());
  // The table says what was added and what was not fast-estimated.
  CliRun table = RunCli(base);
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_NE(table.out.find("1 of them layer-balanced splits"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("note: 1 candidates not priced by the fast estimate (pipeline stage 0 has GPUs of two types"),
            std::string::npos)
      << table.out;
  CliRun help = RunCli({"search", "--help"});
  EXPECT_NE(help.out.find("--balance-layers"), std::string::npos);
}

TEST(SearchCli, BadInputExitsTwoNamingTheReason) {
  CliRun none = RunCli(With(kSmall, {"--tp", "3"}));
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.err.find("no candidate"), std::string::npos) << none.err;
  EXPECT_TRUE(none.out.empty());
  CliRun gbs = RunCli(With(kSmall, {"--tp", "1", "--gbs", "0"}));
  EXPECT_EQ(gbs.code, 2);
  CliRun top = RunCli(With(kSmall, {"--tp", "1", "--top", "0"}));
  EXPECT_EQ(top.code, 2);
  EXPECT_NE(top.err.find("--top"), std::string::npos) << top.err;
  CliRun sched = RunCli(With(kSmall, {"--tp", "1", "--schedules", "zigzag"}));
  EXPECT_EQ(sched.code, 2);
  EXPECT_NE(sched.err.find("--schedules"), std::string::npos) << sched.err;
  CliRun estimate = RunCli(With(kSmall, {"--tp", "1", "--estimate", "0"}));
  EXPECT_EQ(estimate.code, 2);
  EXPECT_NE(estimate.err.find("--estimate"), std::string::npos) << estimate.err;
  EXPECT_TRUE(estimate.out.empty());
}

}  // namespace
}  // namespace proteus
