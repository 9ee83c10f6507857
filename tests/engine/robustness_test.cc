// Properties of whole runs: determinism, monotonicity in bandwidth, deadlock reports, graph checks.
#include <cstring>
#include <iostream>
#include <string>

#include <gtest/gtest.h>

#include "common/error.h"
#include "simulator/engine/engine.h"
#include "tests/engine/random_graph.h"
#include "tests/engine/test_graph.h"

namespace proteus {
namespace {

using testing::Flow;
using testing::RandomGraph;
using testing::TestGraph;

bool BitIdentical(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

struct SlowGemm {
  OverlapFactors Factors(std::string_view compute_class, CollOp op) const {
    return compute_class == "gemm" ? OverlapFactors{1.3, 1.7} : OverlapFactors{1.1, 1.2};
  }
};

TEST(Robustness, SameGraphTwiceIsBitIdentical) {
  SlowGemm model;
  EngineOptions with_interference;
  with_interference.interference = InterferenceFrom(model);
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    TestGraph t = RandomGraph(seed, 60);
    for (const EngineOptions& options : {EngineOptions{}, with_interference}) {
      SimResult a = Simulate(t.graph, options);
      SimResult b = Simulate(t.graph, options);
      EXPECT_TRUE(BitIdentical(a.task_start_s, b.task_start_s)) << "seed " << seed;
      EXPECT_TRUE(BitIdentical(a.task_end_s, b.task_end_s)) << "seed " << seed;
      EXPECT_EQ(std::memcmp(&a.makespan_s, &b.makespan_s, sizeof(double)), 0);
      EXPECT_EQ(a.counters.events, b.counters.events);
      EXPECT_EQ(a.counters.solves, b.counters.solves);
    }
  }
}

TEST(Robustness, EveryTaskRunsAfterItsDependenciesAndStreamPredecessor) {
  for (uint32_t seed = 1; seed <= 10; ++seed) {
    TestGraph t = RandomGraph(seed, 60);
    SimResult r = Simulate(t.graph);
    const ExecGraph& g = t.graph;
    for (size_t i = 0; i < g.tasks.size(); ++i) {
      const Task& task = g.tasks[i];
      EXPECT_LE(r.task_start_s[i], r.task_end_s[i]);
      for (int32_t d = task.dep_begin; d < task.dep_begin + task.dep_count; ++d) {
        EXPECT_LE(r.task_end_s[g.deps[d]], r.task_start_s[i]) << "seed " << seed << " task " << i;
      }
    }
    for (const SimGpu& gpu : g.gpus) {
      for (const auto& stream : gpu.streams) {
        for (size_t k = 1; k < stream.size(); ++k) EXPECT_LE(r.task_end_s[stream[k - 1]], r.task_start_s[stream[k]]);
      }
    }
  }
}

TEST(Robustness, DoublingEveryLinkCapacityNeverIncreasesMakespan) {
  for (uint32_t seed = 1; seed <= 12; ++seed) {
    TestGraph t = RandomGraph(seed, 50);
    double base = Simulate(t.graph).makespan_s;
    for (double& cap : t.graph.link_capacity) cap *= 2;
    double faster = Simulate(t.graph).makespan_s;
    std::cout << "  seed " << seed << ": makespan " << base << " s -> " << faster << " s with 2x links\n";
    EXPECT_LE(faster, base * (1 + 1e-12)) << "seed " << seed;
  }
}

TEST(Robustness, DeadlockNamesTheStuckTask) {
  // g0 issues comm A then comm B on tp_comm; g1 issues B then A: each waits for the other forever.
  TestGraph t(2);
  Task task;
  task.kind = TaskKind::kCollective;
  task.stream = StreamKind::kTpComm;
  t.graph.comms.resize(2);
  CollectivePlan one_second;
  one_second.time_s = 1;
  t.graph.comms[0].plan = std::make_shared<const CollectivePlan>(one_second);
  t.graph.comms[1].plan = t.graph.comms[0].plan;
  auto add = [&](int gpu, CommId c, const char* name) {
    task.gpu = gpu;
    task.comm = c;
    task.name = t.graph.Intern(name);
    t.graph.comms[c].members.push_back(t.graph.AddTask(task, {}, {}));
  };
  add(0, 0, "A@g0");
  add(0, 1, "B@g0");
  add(1, 1, "B@g1");
  add(1, 0, "A@g1");
  try {
    Simulate(t.graph);
    FAIL() << "expected a deadlock";
  } catch (const InternalError& e) {
    std::string msg = e.what();
    std::cout << "  " << msg << "\n";
    EXPECT_NE(msg.find("deadlock"), std::string::npos);
    EXPECT_NE(msg.find("'A@g0'"), std::string::npos);
    EXPECT_NE(msg.find("tp_comm"), std::string::npos);
    EXPECT_NE(msg.find("rendezvous"), std::string::npos);
    EXPECT_NE(msg.find("'A@g1'"), std::string::npos);       // the missing member...
    EXPECT_NE(msg.find("behind 'B@g1'"), std::string::npos); // ...and what it is queued behind
  }
}

TEST(Robustness, DeadlockThroughADependencyIsReported) {
  // g1's task waits for a member of a comm whose other member never comes (g0's stream is blocked).
  TestGraph t(2);
  CommId c = t.AddComm(CollOp::kAllReduce, StreamKind::kDpComm, {0, 1}, 0, 1, {});
  TaskId blocker = t.Compute(0, 1, {}, "blocker");
  // Make g1's member depend on a task that depends on g0's member: a cycle through the rendezvous.
  t.graph.deps.push_back(blocker);
  Task& m1 = t.graph.tasks[t.Member(c, 1)];
  m1.dep_begin = static_cast<int32_t>(t.graph.deps.size() - 1);
  m1.dep_count = 1;
  t.graph.deps.push_back(t.Member(c, 0));
  Task& b = t.graph.tasks[blocker];
  b.dep_begin = static_cast<int32_t>(t.graph.deps.size() - 1);
  b.dep_count = 1;
  try {
    Simulate(t.graph);
    FAIL() << "expected a deadlock";
  } catch (const InternalError& e) {
    std::string msg = e.what();
    std::cout << "  " << msg << "\n";
    EXPECT_NE(msg.find("deadlock"), std::string::npos);
    EXPECT_NE(msg.find("'blocker'"), std::string::npos);
  }
}

TEST(Robustness, MalformedGraphsAreInternalErrors) {
  {
    TestGraph t(1, {0.0});  // a link without capacity
    t.AddComm(CollOp::kAllReduce, StreamKind::kTpComm, {0}, 0, 1, {Flow({0}, 100, 100)});
    EXPECT_THROW(Simulate(t.graph), InternalError);
  }
  {
    TestGraph t(1, {10});
    t.AddComm(CollOp::kAllReduce, StreamKind::kTpComm, {0}, 0, 1, {Flow({3}, 100, 100)});  // unknown link
    EXPECT_THROW(Simulate(t.graph), InternalError);
  }
  {
    TestGraph t(1);
    CommId c = t.AddComm(CollOp::kAllReduce, StreamKind::kTpComm, {0}, 0, 1, {});
    t.graph.comms[c].members.clear();  // the member task names a comm that does not list it
    EXPECT_THROW(Simulate(t.graph), InternalError);
  }
  {
    TestGraph t(1);
    t.Compute(0, -1);  // negative duration
    EXPECT_THROW(Simulate(t.graph), InternalError);
  }
  {
    TestGraph t(1);
    t.Compute(0, 1);
    t.graph.gpus[0].streams[0].clear();  // a task in no stream
    EXPECT_THROW(Simulate(t.graph), InternalError);
  }
}

}  // namespace
}  // namespace proteus
