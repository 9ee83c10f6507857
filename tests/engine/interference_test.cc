// Interference between compute and communication (engine.h). The factors come from a local fake
// standing in for cost/interference.h's InterferenceModel (same Factors signature).
#include <gtest/gtest.h>

#include "simulator/cost/interference.h"
#include "simulator/engine/engine.h"
#include "tests/engine/test_graph.h"

namespace proteus {
namespace {

using testing::Flow;
using testing::TestGraph;

constexpr double kTol = 1e-12;

struct FakeFactors {
  double compute_slowdown;
  double comm_slowdown;
};

// gemm next to an all-reduce: compute x1.5, comm x2; everything else: no slowdown.
struct FakeInterferenceModel {
  FakeFactors Factors(std::string_view compute_class, CollOp op) const {
    if (compute_class == "gemm" && op == CollOp::kAllReduce) return {1.5, 2.0};
    return {1.0, 1.0};
  }
};

EngineOptions WithFake(const FakeInterferenceModel& model) {
  EngineOptions o;
  o.interference = InterferenceFrom(model);
  return o;
}

// A gemm of 3 s alone and an all-reduce of 100 B capped at 100 B/s (1 s alone) start together on g0.
// While both run: gemm at 1/1.5, comm capped at 100/2 = 50 B/s -> comm ends at 2 s. The gemm has done
// 2/1.5 = 4/3 s of work by then; the remaining 5/3 s run alone: it ends at 2 + 5/3 = 11/3 s.
TEST(Interference, ComputeAndCommSlowEachOther) {
  FakeInterferenceModel model;
  TestGraph t(1, {1000});
  TaskId gemm = t.Compute(0, 3.0);
  CommId c = t.AddComm(CollOp::kAllReduce, StreamKind::kTpComm, {0}, 0, 1, {Flow({0}, 100, 100)});
  SimResult r = Simulate(t.graph, WithFake(model));
  EXPECT_NEAR(r.task_end_s[t.Member(c, 0)], 2.0, kTol);
  EXPECT_NEAR(r.task_end_s[gemm], 11.0 / 3.0, kTol);
  EXPECT_NEAR(r.times[0].compute_work_s, 3.0, kTol);               // time alone
  EXPECT_NEAR(r.times[0].compute_busy_s, 11.0 / 3.0, kTol);        // stretched
  EXPECT_GT(r.counters.interference_updates, 0);

  SimResult plain = Simulate(t.graph);  // no model: both run at full speed
  EXPECT_NEAR(plain.task_end_s[t.Member(c, 0)], 1.0, kTol);
  EXPECT_NEAR(plain.task_end_s[gemm], 3.0, kTol);
}

TEST(Interference, FlowlessCommIsStretchedToo) {
  // Same as above with a comm of 1 s and no flows: stretched x2 while the gemm runs -> 2 s.
  FakeInterferenceModel model;
  TestGraph t(1);
  TaskId gemm = t.Compute(0, 3.0);
  CommId c = t.AddComm(CollOp::kAllReduce, StreamKind::kTpComm, {0}, 0, 1, {});
  SimResult r = Simulate(t.graph, WithFake(model));
  EXPECT_NEAR(r.task_end_s[t.Member(c, 0)], 2.0, kTol);
  EXPECT_NEAR(r.task_end_s[gemm], 11.0 / 3.0, kTol);
}

TEST(Interference, OnlyTheMatchingClassAndOp) {
  // An attention task beside the all-reduce, and a gemm beside an all-gather: factors 1, no change.
  FakeInterferenceModel model;
  TestGraph t(2, {1000});
  TaskId attn = t.Compute(0, 3.0, {}, "attn", StreamKind::kCompute, {}, "attention");
  CommId ar = t.AddComm(CollOp::kAllReduce, StreamKind::kTpComm, {0}, 0, 1, {Flow({0}, 100, 100)});
  TaskId gemm = t.Compute(1, 3.0);
  CommId ag = t.AddComm(CollOp::kAllGather, StreamKind::kTpComm, {1}, 0, 1, {Flow({0}, 100, 100)});
  SimResult r = Simulate(t.graph, WithFake(model));
  EXPECT_NEAR(r.task_end_s[attn], 3.0, kTol);
  EXPECT_NEAR(r.task_end_s[gemm], 3.0, kTol);
  EXPECT_NEAR(r.task_end_s[t.Member(ar, 0)], 1.0, kTol);
  EXPECT_NEAR(r.task_end_s[t.Member(ag, 0)], 1.0, kTol);
}

TEST(Interference, OtherGpusComputeDoesNotSlowALocalComm) {
  // The gemm runs on g1; the all-reduce has its only member on g0: no overlap on any GPU.
  FakeInterferenceModel model;
  TestGraph t(2, {1000});
  TaskId gemm = t.Compute(1, 3.0);
  CommId c = t.AddComm(CollOp::kAllReduce, StreamKind::kTpComm, {0}, 0, 1, {Flow({0}, 100, 100)});
  SimResult r = Simulate(t.graph, WithFake(model));
  EXPECT_NEAR(r.task_end_s[gemm], 3.0, kTol);
  EXPECT_NEAR(r.task_end_s[t.Member(c, 0)], 1.0, kTol);
}

TEST(Interference, ACollectiveIsCappedByItsSlowestMember) {
  // Members on g0 and g1; a gemm of 10 s runs on g1 only. The comm (100 B at 100 B/s) is capped at
  // 50 B/s for all its flows: 2 s. The gemm: 2 s at 1/1.5 (4/3 done), then 26/3 s alone -> 32/3 s.
  FakeInterferenceModel model;
  TestGraph t(2, {1000});
  TaskId gemm = t.Compute(1, 10.0);
  CommId c = t.AddComm(CollOp::kAllReduce, StreamKind::kDpComm, {0, 1}, 0, 1, {Flow({0}, 100, 100)});
  SimResult r = Simulate(t.graph, WithFake(model));
  EXPECT_NEAR(r.task_end_s[t.Member(c, 0)], 2.0, kTol);
  EXPECT_NEAR(r.task_end_s[gemm], 32.0 / 3.0, kTol);
}

TEST(Interference, CommStartingMidwaySlowsTheRestOfTheGemm) {
  // g0: gemm 3 s. g0's comm waits for a 1 s task on the copy stream, then runs (100 B at 100 B/s).
  // [0,1): gemm alone, 1 s done. [1,3): overlap: comm at 50 B/s -> ends at 3; gemm does 2/1.5 = 4/3.
  // [3, 3 + 2/3): the gemm's last 2/3 s alone -> ends at 11/3.
  FakeInterferenceModel model;
  TestGraph t(1, {1000});
  TaskId gemm = t.Compute(0, 3.0);
  TaskId wait = t.Compute(0, 1.0, {}, "wait", StreamKind::kCopy);
  CommId c = t.AddComm(CollOp::kAllReduce, StreamKind::kTpComm, {0}, 0, 1, {Flow({0}, 100, 100)}, {{wait}});
  SimResult r = Simulate(t.graph, WithFake(model));
  EXPECT_NEAR(r.task_end_s[t.Member(c, 0)], 3.0, kTol);
  EXPECT_NEAR(r.task_end_s[gemm], 11.0 / 3.0, kTol);
}

TEST(Interference, WorksWithTheCostModelsInterferenceModel) {
  // The real model (defaults, no database) through the adapter. With f = Factors("gemm", all_reduce),
  // a 3 s gemm and a 1 s all-reduce (100 B capped at 100 B/s) starting together: the comm runs at
  // 100 / f.comm and ends at f.comm; the gemm has then done f.comm / f.compute and ends at
  // f.comm + 3 - f.comm / f.compute (the comm ends first as long as f.comm < 3 f.compute).
  InterferenceModel model;
  InterferenceFactors f = model.Factors("gemm", CollOp::kAllReduce);
  ASSERT_LT(f.comm_slowdown, 3 * f.compute_slowdown);
  TestGraph t(1, {1000});
  TaskId gemm = t.Compute(0, 3.0);
  CommId c = t.AddComm(CollOp::kAllReduce, StreamKind::kDpComm, {0}, 0, 1, {Flow({0}, 100, 100)});
  EngineOptions options;
  options.interference = InterferenceFrom(model);
  SimResult r = Simulate(t.graph, options);
  EXPECT_NEAR(r.task_end_s[t.Member(c, 0)], f.comm_slowdown, kTol);
  EXPECT_NEAR(r.task_end_s[gemm], f.comm_slowdown + 3 - f.comm_slowdown / f.compute_slowdown, kTol);
}

}  // namespace
}  // namespace proteus
