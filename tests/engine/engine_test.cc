#include "simulator/engine/engine.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "simulator/engine/maxmin.h"
#include "tests/engine/test_graph.h"

namespace proteus {
namespace {

using testing::Flow;
using testing::TestGraph;

constexpr double kTol = 1e-12;

TEST(Engine, EmptyGraph) {
  TestGraph t(1);
  SimResult r = Simulate(t.graph);
  EXPECT_EQ(r.makespan_s, 0);
}

TEST(Engine, SerialStreamTimesAdd) {
  TestGraph t(1);
  TaskId a = t.Compute(0, 1.0);
  TaskId b = t.Compute(0, 2.0);
  TaskId c = t.Compute(0, 3.0);
  SimResult r = Simulate(t.graph);
  EXPECT_NEAR(r.task_end_s[a], 1.0, kTol);
  EXPECT_NEAR(r.task_start_s[b], 1.0, kTol);
  EXPECT_NEAR(r.task_end_s[c], 6.0, kTol);  // 1 + 2 + 3
  EXPECT_NEAR(r.makespan_s, 6.0, kTol);
  EXPECT_NEAR(r.times[0].busy_s[0], 6.0, kTol);
  EXPECT_NEAR(r.times[0].compute_work_s, 6.0, kTol);
  EXPECT_NEAR(r.times[0].idle_s, 0.0, kTol);
}

TEST(Engine, TwoStreamsOverlap) {
  TestGraph t(1);
  TaskId a = t.Compute(0, 4.0);
  TaskId b = t.Compute(0, 3.0, {}, "copy", StreamKind::kCopy);
  SimResult r = Simulate(t.graph);
  EXPECT_EQ(r.task_start_s[b], 0.0);
  EXPECT_NEAR(r.task_end_s[a], 4.0, kTol);
  EXPECT_NEAR(r.makespan_s, 4.0, kTol);  // max(4, 3), not 4 + 3
  EXPECT_NEAR(r.times[0].exposed_s[static_cast<int>(StreamKind::kCopy)], 0.0, kTol);
}

// The parameter server's stream (dp_method ps) is ordered by dependencies alone: two requests
// without dependencies run together (an in-order stream would end at 2 + 3 = 5), and one with a
// dependency waits for it, not for the tasks listed before it.
TEST(Engine, PsStreamIsOrderedByDependenciesOnly) {
  TestGraph t(1);
  TaskId a = t.Compute(0, 2.0, {}, "push a", StreamKind::kPsComm);
  TaskId b = t.Compute(0, 3.0, {}, "push b", StreamKind::kPsComm);
  TaskId c = t.Compute(0, 1.0, {a}, "push c", StreamKind::kPsComm);
  SimResult r = Simulate(t.graph);
  EXPECT_EQ(r.task_start_s[b], 0.0);
  EXPECT_NEAR(r.task_start_s[c], 2.0, kTol);  // after a, beside b
  EXPECT_NEAR(r.makespan_s, 3.0, kTol);       // max(2 + 1, 3)
  EXPECT_NEAR(r.times[0].busy_s[static_cast<int>(StreamKind::kPsComm)], 3.0, kTol);
  EXPECT_FALSE(InOrder(StreamKind::kPsComm));
  EXPECT_TRUE(InOrder(StreamKind::kDpComm));
}

TEST(Engine, DependencyAcrossStreamsDelays) {
  TestGraph t(1);
  TaskId a = t.Compute(0, 2.0);
  TaskId b = t.Compute(0, 1.0, {a}, "copy", StreamKind::kCopy);
  SimResult r = Simulate(t.graph);
  EXPECT_NEAR(r.task_start_s[b], 2.0, kTol);  // waits for a
  EXPECT_NEAR(r.task_end_s[b], 3.0, kTol);    // 2 + 1
}

TEST(Engine, DependencyAcrossGpus) {
  TestGraph t(2);
  TaskId a = t.Compute(0, 2.0);
  TaskId b = t.Compute(1, 1.0, {a});
  SimResult r = Simulate(t.graph);
  EXPECT_NEAR(r.task_start_s[b], 2.0, kTol);
  EXPECT_NEAR(r.times[1].idle_s, 2.0, kTol);  // g1 waits [0, 2)
}

TEST(Engine, RendezvousWaitsForLastMember) {
  // g0 computes 1 s, g1 3 s, then both join a comm (latency 0.5 s, 2 s alone, no flows): it starts at
  // 3 (the last member), ends at 3 + max(0.5, 2) = 5; g0's member starts at 3, not 1.
  TestGraph t(2);
  TaskId a = t.Compute(0, 1.0);
  TaskId b = t.Compute(1, 3.0);
  CommId c = t.AddComm(CollOp::kAllReduce, StreamKind::kTpComm, {0, 1}, 0.5, 2.0, {}, {{a}, {b}});
  SimResult r = Simulate(t.graph);
  EXPECT_NEAR(r.comm_start_s[c], 3.0, kTol);
  for (int i = 0; i < 2; ++i) {
    EXPECT_NEAR(r.task_start_s[t.Member(c, i)], 3.0, kTol);
    EXPECT_NEAR(r.task_end_s[t.Member(c, i)], 5.0, kTol);
  }
  // g0: compute [0,1), idle [1,3), comm [3,5): 2 s exposed tp, 2 s idle.
  EXPECT_NEAR(r.times[0].exposed_s[static_cast<int>(StreamKind::kTpComm)], 2.0, kTol);
  EXPECT_NEAR(r.times[0].exposed_comm_s, 2.0, kTol);
  EXPECT_NEAR(r.times[0].idle_s, 2.0, kTol);
}

TEST(Engine, CommWithoutFlowsEndsAtTimeOrLatency) {
  TestGraph t(1);
  CommId slow = t.AddComm(CollOp::kAllReduce, StreamKind::kDpComm, {0}, 0.3, 1.0, {});
  CommId latency_only = t.AddComm(CollOp::kAllReduce, StreamKind::kDpComm, {0}, 0.5, 0.0, {});
  SimResult r = Simulate(t.graph);
  EXPECT_NEAR(r.task_end_s[t.Member(slow, 0)], 1.0, kTol);          // time_s
  EXPECT_NEAR(r.task_end_s[t.Member(latency_only, 0)], 1.5, kTol);  // 1 + max(0.5, 0)
}

TEST(Engine, LatencyThenFlowAtMaxRate) {
  // latency 10 us, 100 MB at max_rate 100 GB/s on a 200 GB/s link: 10 us + 1 ms.
  TestGraph t(1, {200e9});
  CommId c = t.AddComm(CollOp::kAllReduce, StreamKind::kTpComm, {0}, 10e-6, 1.01e-3, {Flow({0}, 100e6, 100e9)});
  SimResult r = Simulate(t.graph);
  EXPECT_NEAR(r.task_end_s[t.Member(c, 0)], 10e-6 + 1e-3, 1e-15);
}

TEST(Engine, HeaderExample) {
  // engine.h: A 2 ms on g0, B 3 ms on g1, then R (10 us + 100 MB at 100 GB/s): makespan 4.01 ms.
  TestGraph t(2, {200e9});
  TaskId a = t.Compute(0, 2e-3);
  TaskId b = t.Compute(1, 3e-3);
  CommId c = t.AddComm(CollOp::kAllReduce, StreamKind::kTpComm, {0, 1}, 10e-6, 1.01e-3,
                       {Flow({0}, 100e6, 100e9)}, {{a}, {b}});
  SimResult r = Simulate(t.graph);
  EXPECT_NEAR(r.makespan_s, 4.01e-3, 1e-15);
  EXPECT_NEAR(r.task_start_s[t.Member(c, 0)], 3e-3, 1e-15);
  EXPECT_NEAR(r.times[0].exposed_comm_s, 1.01e-3, 1e-15);
  EXPECT_NEAR(r.times[0].idle_s, 1e-3, 1e-15);
}

TEST(Engine, TwoCommsSharingALinkEachGetHalf) {
  // Alone: 100 B at up to 100 B/s on a 100 B/s link = 1 s. Two at once on that link: 50 B/s each, 2 s.
  TestGraph alone(2, {100});
  alone.AddComm(CollOp::kAllReduce, StreamKind::kTpComm, {0}, 0, 1, {Flow({0}, 100, 100)});
  EXPECT_NEAR(Simulate(alone.graph).makespan_s, 1.0, kTol);

  TestGraph shared(2, {100});
  CommId c0 = shared.AddComm(CollOp::kAllReduce, StreamKind::kTpComm, {0}, 0, 1, {Flow({0}, 100, 100)});
  CommId c1 = shared.AddComm(CollOp::kAllReduce, StreamKind::kTpComm, {1}, 0, 1, {Flow({0}, 100, 100)});
  SimResult r = Simulate(shared.graph);
  EXPECT_NEAR(r.task_end_s[shared.Member(c0, 0)], 2.0, kTol);  // 100 B / 50 B/s
  EXPECT_NEAR(r.task_end_s[shared.Member(c1, 0)], 2.0, kTol);
}

TEST(Engine, SlowFlowFreesBandwidthForTheOther) {
  // Link 100 B/s. A: 20 B capped at 20 B/s; B: 100 B capped at 100 B/s. Fair share 50 > 20, so A runs
  // at 20 and B at 80. A ends at 1 s; B has carried 80, its last 20 B go at 100 B/s: 1.2 s.
  TestGraph t(2, {100});
  CommId a = t.AddComm(CollOp::kAllReduce, StreamKind::kTpComm, {0}, 0, 1, {Flow({0}, 20, 20)});
  CommId b = t.AddComm(CollOp::kAllReduce, StreamKind::kTpComm, {1}, 0, 1, {Flow({0}, 100, 100)});
  SimResult r = Simulate(t.graph);
  EXPECT_NEAR(r.task_end_s[t.Member(a, 0)], 1.0, kTol);
  EXPECT_NEAR(r.task_end_s[t.Member(b, 0)], 1.2, kTol);
}

TEST(Engine, LateFlowReSharesTheLink) {
  // Link 100 B/s, unbounded flows of 100 B. c0 starts at 0; c1 at 0.5 (after 0.5 s of compute).
  // [0, 0.5): c0 alone at 100, 50 B left. [0.5, 1.5): 50 B/s each; c0 done at 1.5, c1 has 50 B left.
  // [1.5, 2.0): c1 alone at 100 B/s.
  TestGraph t(2, {100});
  CommId c0 = t.AddComm(CollOp::kAllReduce, StreamKind::kTpComm, {0}, 0, 1, {Flow({0}, 100, kUnbounded)});
  TaskId pre = t.Compute(1, 0.5);
  CommId c1 = t.AddComm(CollOp::kAllReduce, StreamKind::kTpComm, {1}, 0, 1, {Flow({0}, 100, kUnbounded)}, {{pre}});
  SimResult r = Simulate(t.graph);
  EXPECT_NEAR(r.task_end_s[t.Member(c0, 0)], 1.5, kTol);
  EXPECT_NEAR(r.task_end_s[t.Member(c1, 0)], 2.0, kTol);
}

TEST(Engine, CommEndsWithItsLastFlow) {
  // Two flows on separate links: 100 B at 100 B/s and 300 B at 100 B/s: the comm ends at 3 s.
  TestGraph t(1, {100, 100});
  CommId c = t.AddComm(CollOp::kAllGather, StreamKind::kTpComm, {0}, 0, 3,
                       {Flow({0}, 100, 100), Flow({1}, 300, 100)});
  EXPECT_NEAR(Simulate(t.graph).task_end_s[t.Member(c, 0)], 3.0, kTol);
}

TEST(Engine, MembersOnThreeGpusEndTogether) {
  TestGraph t(3, {100});
  TaskId a = t.Compute(0, 1);
  TaskId b = t.Compute(1, 2);
  TaskId c = t.Compute(2, 0.5);
  CommId k = t.AddComm(CollOp::kAllReduce, StreamKind::kDpComm, {0, 1, 2}, 0.25, 1.25, {Flow({0}, 100, 100)},
                       {{a}, {b}, {c}});
  TaskId after = t.Compute(2, 1, {t.Member(k, 2)});
  SimResult r = Simulate(t.graph);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(r.task_end_s[t.Member(k, i)], 3.25, kTol);  // 2 + 0.25 + 1
  EXPECT_NEAR(r.task_start_s[after], 3.25, kTol);
}

TEST(Engine, ZeroDurationChain) {
  TestGraph t(1);
  TaskId a = t.Compute(0, 0);
  TaskId b = t.Compute(0, 0, {a});
  TaskId c = t.Compute(0, 1, {b});
  SimResult r = Simulate(t.graph);
  EXPECT_EQ(r.task_start_s[c], 0.0);
  EXPECT_NEAR(r.makespan_s, 1.0, kTol);
}

}  // namespace
}  // namespace proteus
