#include "simulator/report/trace.h"

#include <filesystem>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/json_file.h"
#include "common/units.h"
#include "simulator/engine/engine.h"
#include "tests/common/process_temp_dir.h"
#include "tests/engine/test_graph.h"

namespace proteus {
namespace {

using testing::Flow;
using testing::TestGraph;

// g0: compute A (1 ms, allocates 1 GiB of activations until its end), copy C (0.5 ms), then a
// tp all-reduce with g1 and a send to g1 on pp_comm. g1: compute B (2 ms) named with characters
// JSON must escape.
struct Fixture {
  TestGraph t{2, {100e9}};
  TaskId a, b, c;
  CommId ar, p2p;
  SimResult result;

  Fixture() {
    t.graph.gpus[0].static_memory[static_cast<int>(MemCategory::kWeights)] = 2 * kGiB;
    a = t.Compute(0, 1e-3, {}, "layers.0.fc1", StreamKind::kCompute,
                  {{MemCategory::kActivations, false, kGiB}, {MemCategory::kActivations, true, -kGiB}});
    c = t.Compute(0, 0.5e-3, {}, "offload", StreamKind::kCopy);
    b = t.Compute(1, 2e-3, {}, "odd \"name\"\\ with\nnewline");
    ar = t.AddComm(CollOp::kAllReduce, StreamKind::kTpComm, {0, 1}, 1e-6, 11e-6, {Flow({0}, 1e6, 100e9)}, {{a}, {b}});
    p2p = t.AddComm(CollOp::kSendRecv, StreamKind::kPpComm, {0, 1}, 1e-6, 1e-6, {});
    result = Simulate(t.graph);
  }
};

std::string TempPath(const char* name) {
  return ProcessTempPath(std::string("proteus_trace_test_") + name);
}

TEST(Trace, WritesParsableJsonWithEveryStream) {
  Fixture f;
  std::string path = TempPath("a.json");
  WriteChromeTrace(f.t.graph, f.result, path);
  Json doc = ReadJsonFile(path);  // throws if the JSON does not parse
  ASSERT_TRUE(doc.contains("traceEvents"));

  std::map<std::pair<int, int>, int> complete_events;  // (pid, tid) -> count
  std::map<int, std::string> process_names;
  std::set<std::pair<int, std::string>> thread_names;
  for (const Json& e : doc["traceEvents"]) {
    std::string ph = e["ph"];
    if (ph == "X") ++complete_events[{e["pid"].get<int>(), e["tid"].get<int>()}];
    if (ph == "M" && e["name"] == "process_name") process_names[e["pid"]] = e["args"]["name"];
    if (ph == "M" && e["name"] == "thread_name") thread_names.insert({e["pid"].get<int>(), e["args"]["name"]});
  }
  // Every stream with tasks has its complete events and its name.
  for (size_t gpu = 0; gpu < f.t.graph.gpus.size(); ++gpu) {
    for (int s = 0; s < kNumStreams; ++s) {
      size_t tasks = f.t.graph.gpus[gpu].streams[s].size();
      std::pair<int, int> key{static_cast<int>(gpu), s};
      EXPECT_EQ(complete_events.count(key) ? complete_events[key] : 0, static_cast<int>(tasks))
          << "gpu " << gpu << " stream " << s;
      bool named = thread_names.count({static_cast<int>(gpu), std::string(StreamName(static_cast<StreamKind>(s)))}) > 0;
      EXPECT_EQ(named, tasks > 0);
    }
  }
  EXPECT_EQ(process_names[0], "g0 (x1)");
  EXPECT_EQ(process_names[1], "g1 (x1)");
  std::filesystem::remove(path);
}

TEST(Trace, EventTimesAreMicrosecondsAndNamesSurviveEscaping) {
  Fixture f;
  Json doc = ParseJson(ChromeTraceJson(f.t.graph, f.result), "trace");
  bool found_b = false, found_ar = false;
  for (const Json& e : doc["traceEvents"]) {
    if (e["ph"] != "X") continue;
    if (e["name"] == "odd \"name\"\\ with\nnewline") {
      found_b = true;
      EXPECT_NEAR(e["ts"].get<double>(), 0.0, 1e-9);
      EXPECT_NEAR(e["dur"].get<double>(), 2000.0, 1e-3);  // 2 ms
      EXPECT_EQ(e["cat"], "compute");
    }
    if (e["name"] == "comm0@g0") {
      found_ar = true;
      // Starts when B ends (2 ms), lasts 1 us latency + 1 MB at 100 GB/s = 11 us.
      EXPECT_NEAR(e["ts"].get<double>(), 2000.0, 1e-3);
      EXPECT_NEAR(e["dur"].get<double>(), 11.0, 1e-3);
      EXPECT_EQ(e["args"]["op"], "all_reduce");
      EXPECT_EQ(e["tid"], static_cast<int>(StreamKind::kTpComm));
    }
  }
  EXPECT_TRUE(found_b);
  EXPECT_TRUE(found_ar);
}

TEST(Trace, P2pArrowAndMemoryCounter) {
  Fixture f;
  Json doc = ParseJson(ChromeTraceJson(f.t.graph, f.result), "trace");
  int arrow_starts = 0, arrow_ends = 0;
  std::vector<double> activations_g0;
  for (const Json& e : doc["traceEvents"]) {
    if (e["ph"] == "s") {
      ++arrow_starts;
      EXPECT_EQ(e["pid"], 0);
    }
    if (e["ph"] == "f") {
      ++arrow_ends;
      EXPECT_EQ(e["pid"], 1);
    }
    if (e["ph"] == "C" && e["pid"] == 0) {
      activations_g0.push_back(e["args"]["activations"]);
      EXPECT_NEAR(e["args"]["weights"].get<double>(), 2.0, 1e-9);  // static 2 GiB throughout
    }
  }
  EXPECT_EQ(arrow_starts, 1);
  EXPECT_EQ(arrow_ends, 1);
  // Samples at t = 0 (static, then A allocates 1 GiB at the same instant) and at 1 ms (A frees).
  ASSERT_EQ(activations_g0.size(), 3u);
  EXPECT_NEAR(activations_g0[0], 0.0, 1e-9);
  EXPECT_NEAR(activations_g0[1], 1.0, 1e-9);
  EXPECT_NEAR(activations_g0[2], 0.0, 1e-9);
}

TEST(Trace, UnwritablePathIsAUserError) {
  Fixture f;
  EXPECT_THROW(WriteChromeTrace(f.t.graph, f.result, "/nonexistent-dir/trace.json"), UserError);
}

}  // namespace
}  // namespace proteus
