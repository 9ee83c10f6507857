#include <gtest/gtest.h>

#include "common/error.h"
#include "simulator/engine/engine.h"
#include "tests/engine/test_graph.h"

namespace proteus {
namespace {

using testing::TestGraph;

constexpr int kWeights = static_cast<int>(MemCategory::kWeights);
constexpr int kActivations = static_cast<int>(MemCategory::kActivations);
constexpr int kBuffers = static_cast<int>(MemCategory::kBuffers);

// Static weights 100; fwd allocates 50 activations at its start; bwd frees them at its end; then a
// step allocates 30 buffers at its start and frees them at its end.
//   t in [0,1): 100 + 50 = 150 (fwd)    [1,2): 150 (bwd)    then 100    [2,3): 130 (step)
// Peak 150 = {weights 100, activations 50}, reached at t = 0 by fwd.
TestGraph PeakGraph(int64_t capacity) {
  TestGraph t(1);
  t.graph.gpus[0].static_memory[kWeights] = 100;
  t.graph.gpus[0].memory_capacity = capacity;
  TaskId fwd = t.Compute(0, 1, {}, "fwd", StreamKind::kCompute, {{MemCategory::kActivations, false, 50}});
  TaskId bwd = t.Compute(0, 1, {fwd}, "bwd", StreamKind::kCompute, {{MemCategory::kActivations, true, -50}});
  t.Compute(0, 1, {bwd}, "step", StreamKind::kCompute,
            {{MemCategory::kBuffers, false, 30}, {MemCategory::kBuffers, true, -30}});
  return t;
}

TEST(Memory, PeakAndBreakdown) {
  TestGraph t = PeakGraph(0);
  SimResult r = Simulate(t.graph);
  const GpuMemory& m = r.memory[0];
  EXPECT_EQ(m.peak, 150);  // 100 static + 50 activations
  EXPECT_EQ(m.peak_breakdown[kWeights], 100);
  EXPECT_EQ(m.peak_breakdown[kActivations], 50);
  EXPECT_EQ(m.peak_breakdown[kBuffers], 0);
  EXPECT_EQ(m.peak_task, 0);  // fwd
  EXPECT_EQ(m.peak_time_s, 0.0);
  EXPECT_EQ(m.final_breakdown[kWeights], 100);
  EXPECT_EQ(m.final_breakdown[kActivations], 0);
  EXPECT_FALSE(m.oom);  // capacity 0: unknown, never OOM
}

TEST(Memory, OomIsAVerdictNotACrash) {
  SimResult tight = Simulate(PeakGraph(149).graph);
  EXPECT_TRUE(tight.memory[0].oom);  // 150 > 149
  EXPECT_TRUE(tight.any_oom);
  EXPECT_NEAR(tight.makespan_s, 3.0, 1e-12);  // the run still completes
  SimResult exact = Simulate(PeakGraph(150).graph);
  EXPECT_FALSE(exact.memory[0].oom);  // 150 fits in 150
  EXPECT_FALSE(exact.any_oom);
}

TEST(Memory, FreeBeforeAllocAtTheSameInstant) {
  // a frees 40 at its end (t = 1); b starts at 1 and allocates 40: the peak stays 40 + 40 static...
  // static 40, a allocates 40 at start (80), frees at end (40), b allocates 40 (80). Peak 80, not 120.
  TestGraph t(1);
  t.graph.gpus[0].static_memory[kBuffers] = 40;
  TaskId a = t.Compute(0, 1, {}, "a", StreamKind::kCompute,
                       {{MemCategory::kActivations, false, 40}, {MemCategory::kActivations, true, -40}});
  t.Compute(0, 1, {a}, "b", StreamKind::kCompute, {{MemCategory::kActivations, false, 40}});
  SimResult r = Simulate(t.graph);
  EXPECT_EQ(r.memory[0].peak, 80);
}

TEST(Memory, ConcurrentStreamsAddUp) {
  // compute allocates 30 for [0, 2); copy allocates 20 for [1, 3) (after a 1 s wait): peak 50 at t = 1.
  TestGraph t(1);
  t.Compute(0, 2, {}, "c", StreamKind::kCompute,
            {{MemCategory::kActivations, false, 30}, {MemCategory::kActivations, true, -30}});
  TaskId wait = t.Compute(0, 1, {}, "wait", StreamKind::kCopy);
  t.Compute(0, 2, {wait}, "copy", StreamKind::kCopy,
            {{MemCategory::kBuffers, false, 20}, {MemCategory::kBuffers, true, -20}});
  SimResult r = Simulate(t.graph);
  EXPECT_EQ(r.memory[0].peak, 50);
  EXPECT_EQ(r.memory[0].peak_time_s, 1.0);
  EXPECT_EQ(r.memory[0].peak_breakdown[kActivations], 30);
  EXPECT_EQ(r.memory[0].peak_breakdown[kBuffers], 20);
}

TEST(Memory, StaticOnlyPeak) {
  TestGraph t(2);
  t.graph.gpus[1].static_memory[kWeights] = 7;
  t.graph.gpus[1].memory_capacity = 6;
  SimResult r = Simulate(t.graph);
  EXPECT_EQ(r.memory[0].peak, 0);
  EXPECT_EQ(r.memory[1].peak, 7);
  EXPECT_EQ(r.memory[1].peak_task, -1);  // static memory
  EXPECT_TRUE(r.memory[1].oom);
}

TEST(Memory, FreeingUnallocatedMemoryIsAnInternalError) {
  TestGraph t(1);
  t.Compute(0, 1, {}, "bad_free", StreamKind::kCompute, {{MemCategory::kGradients, true, -1}});
  try {
    Simulate(t.graph);
    FAIL() << "expected InternalError";
  } catch (const InternalError& e) {
    EXPECT_NE(std::string(e.what()).find("bad_free"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("gradients"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace proteus

namespace proteus {
namespace {

// Reserve 10 and fragmentation 1.2 on PeakGraph: peak = 100 static + 10 reserve + 1.2 x 50 dynamic
// = 170, with 10 of fragmentation; the moment (fwd at t = 0) and the breakdown stay as without them.
TEST(Memory, ReserveAndFragmentationCountInThePeak) {
  testing::TestGraph t = PeakGraph(0);
  t.graph.gpus[0].memory_reserve = 10;
  t.graph.gpus[0].fragmentation = 1.2;
  SimResult r = Simulate(t.graph);
  const GpuMemory& m = r.memory[0];
  EXPECT_EQ(m.reserve, 10);
  EXPECT_EQ(m.fragmentation, 10);  // 0.2 x 50
  EXPECT_EQ(m.peak, 170);
  EXPECT_EQ(m.peak_task, 0);
  EXPECT_EQ(m.peak_breakdown[kActivations], 50);
  EXPECT_EQ(m.peak_breakdown[kWeights], 100);

  testing::TestGraph tight = PeakGraph(169);  // fits without them (150), not with them (170)
  tight.graph.gpus[0].memory_reserve = 10;
  tight.graph.gpus[0].fragmentation = 1.2;
  EXPECT_TRUE(Simulate(tight.graph).memory[0].oom);
  EXPECT_FALSE(Simulate(PeakGraph(169).graph).memory[0].oom);
}

// Fragmentation applies to what tasks allocate, never to static memory: a graph whose peak is its
// static memory keeps it exactly (plus the reserve).
TEST(Memory, FragmentationSparesStaticMemory) {
  testing::TestGraph t(1);
  t.graph.gpus[0].static_memory[kWeights] = 1000;
  t.graph.gpus[0].fragmentation = 2.0;
  t.graph.gpus[0].memory_reserve = 7;
  t.Compute(0, 1, {}, "idle", StreamKind::kCompute, {});
  SimResult r = Simulate(t.graph);
  EXPECT_EQ(r.memory[0].peak, 1007);
  EXPECT_EQ(r.memory[0].fragmentation, 0);
}

}  // namespace
}  // namespace proteus
