// Every trace `simulate --trace` writes nests on each track as Perfetto nests it (issue 14, item
// 1): times rounded to the nanosecond as Perfetto's JSON importer rounds them (llround(us x 1000)),
// then per (pid, tid), sorted by start, each slice lies inside the slice open at its start or
// starts at or after that slice's end. Rounding ts and dur separately broke this by 1 ns.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <gtest/gtest.h>

#include "common/json_file.h"
#include "common/log.h"
#include "tests/cli/cli_test_util.h"
#include "tests/common/temp_dir.h"

namespace proteus {
namespace {

int64_t PerfettoNs(const Json& us) { return std::llround(us.get<double>() * 1000.0); }

// Slices that start inside an open slice of their track and end after it, as "pid/tid at ts".
std::vector<std::string> NestingViolations(const Json& trace, size_t* slices) {
  std::map<std::pair<int, int>, std::vector<std::pair<int64_t, int64_t>>> tracks;  // (start, end) ns
  for (const Json& e : trace["traceEvents"]) {
    if (e["ph"] != "X") continue;
    int64_t ts = PerfettoNs(e["ts"]);
    tracks[{e["pid"].get<int>(), e["tid"].get<int>()}].push_back({ts, ts + PerfettoNs(e["dur"])});
  }
  std::vector<std::string> bad;
  *slices = 0;
  for (auto& [track, v] : tracks) {
    *slices += v.size();
    // At one start, the longer slice is the parent (Perfetto's order for complete events).
    std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.first != b.first ? a.first < b.first : a.second > b.second; });
    std::vector<int64_t> open_ends;
    for (auto [start, end] : v) {
      while (!open_ends.empty() && open_ends.back() <= start) open_ends.pop_back();
      if (!open_ends.empty() && end > open_ends.back())
        bad.push_back(std::to_string(track.first) + "/" + std::to_string(track.second) + " at " +
                      std::to_string(start) + " ns ends " + std::to_string(end - open_ends.back()) + " ns late");
      open_ends.push_back(end);
    }
  }
  return bad;
}

TEST(NestingViolations, FindsAPartialOverlapAndAcceptsTouchingAndNestedSlices) {
  auto slice = [](int tid, double ts, double dur) {
    return Json{{"ph", "X"}, {"pid", 0}, {"tid", tid}, {"ts", ts}, {"dur", dur}};
  };
  Json ok = {{"traceEvents", {slice(0, 0, 2.5), slice(0, 2.5, 1), slice(1, 0, 10), slice(1, 1, 2), slice(1, 3, 7)}}};
  size_t n = 0;
  EXPECT_TRUE(NestingViolations(ok, &n).empty());
  EXPECT_EQ(n, 5u);
  // 0.001 us before the previous slice ends: the separately rounded case.
  Json bad = {{"traceEvents", {slice(0, 1000.000, 2.001), slice(0, 1002.000, 1)}}};
  auto v = NestingViolations(bad, &n);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0], "0/0 at 1002000 ns ends 999 ns late");
}

struct TraceCase {
  const char* name;
  std::vector<std::string> args;
};

class TraceNesting : public ::testing::TestWithParam<TraceCase> {};

TEST_P(TraceNesting, EverySliceNestsOnItsTrack) {
  SetLogLevel(LogLevel::kInfo);
  TempDir dir(std::string("proteus_trace_nesting_") + GetParam().name);
  std::string path = (dir.path() / "trace.json").string();
  std::vector<std::string> args = {"simulate"};
  args.insert(args.end(), GetParam().args.begin(), GetParam().args.end());
  args.insert(args.end(), {"--trace", path});
  testing::internal::CaptureStderr();
  CliRun r = RunCli(args);
  std::string err = testing::internal::GetCapturedStderr();
  SetLogLevel(LogLevel::kQuiet);
  ASSERT_EQ(r.code, 0) << r.err;
  // The size and path are printed on stderr, the size in bytes exactly.
  std::string bytes = std::to_string(std::filesystem::file_size(path));
  EXPECT_NE(err.find("trace: " + path + ", "), std::string::npos) << err;
  EXPECT_NE(err.find("(" + bytes + " bytes)"), std::string::npos) << err;
  size_t slices = 0;
  std::vector<std::string> bad = NestingViolations(ReadJsonFile(path), &slices);
  EXPECT_GT(slices, 100u);
  EXPECT_TRUE(bad.empty()) << bad.size() << " of " << slices << " slices mis-nest, first " << bad.front();
}

INSTANTIATE_TEST_SUITE_P(
    Runs, TraceNesting,
    ::testing::Values(
        // The demo (scripts/demo.sh: GPT-3 175B on 1,024 H100s, calibrated profile) with 8
        // micro-batches instead of 96, so the trace is a twelfth of its 90 MB.
        TraceCase{"demo", {"--model", "gpt3-175b", "--cluster", "dgx-h100-128", "--tp", "8", "--pp", "8", "--dp", "16",
                           "--mbs", "1", "--gbs", "128", "--zero", "1", "--db", "h100-calibrated"}},
        TraceCase{"interleaved_overlaps",
                  {"--model", "gpt3-1.3b", "--cluster", "dgx-h100-2", "--tp", "2", "--pp", "2", "--mbs", "2", "--gbs",
                   "64", "--schedule", "interleaved:2", "--sp", "--tp-comm-overlap", "--zero", "1",
                   "--overlap-param-gather", "--recompute", "selective"}},
        TraceCase{"dualpipev_full_graph",
                  {"--model", "gpt2-small", "--cluster", "dgx-h100-1", "--pp", "4", "--dp", "2", "--gbs", "16",
                   "--schedule", "dualpipev", "--no-symmetry"}},
        TraceCase{"fsdp", {"--model", "gpt2-small", "--cluster", "dgx-h100-1", "--dp", "8", "--fsdp", "--gbs", "32"}},
        TraceCase{"moe_ep", {"--from-megatron-args=--num-layers 4 --hidden-size 1024 --num-attention-heads 16 "
                             "--seq-length 1024 --swiglu --normalization RMSNorm --vocab-size 32000 --bf16 "
                             "--num-experts 8 --moe-router-topk 2 --moe-ffn-hidden-size 1024 "
                             "--expert-model-parallel-size 4 --micro-batch-size 1 --global-batch-size 32",
                             "--cluster", "dgx-h100-1"}}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace proteus
