// Flow folding (flow_folding.h): symmetric flows become one weighted class, and the engine's answer
// is the unfolded one.
#include "simulator/engine/flow_folding.h"

#include <gtest/gtest.h>

#include "simulator/engine/engine.h"
#include "tests/engine/random_graph.h"
#include "tests/engine/test_graph.h"

namespace proteus {
namespace {

using testing::Flow;
using testing::TestGraph;

// Both runs of a graph, folded and not, must agree task for task.
void ExpectSameAsUnfolded(const ExecGraph& g, const std::string& what) {
  EngineOptions plain;
  plain.fold_flows = false;
  SimResult folded = Simulate(g), unfolded = Simulate(g, plain);
  ASSERT_EQ(folded.task_end_s.size(), unfolded.task_end_s.size());
  EXPECT_NEAR(folded.makespan_s, unfolded.makespan_s, 1e-12 * unfolded.makespan_s) << what;
  for (size_t t = 0; t < folded.task_end_s.size(); ++t) {
    EXPECT_NEAR(folded.task_start_s[t], unfolded.task_start_s[t], 1e-12 * unfolded.makespan_s) << what << " task " << t;
    EXPECT_NEAR(folded.task_end_s[t], unfolded.task_end_s[t], 1e-12 * unfolded.makespan_s) << what << " task " << t;
  }
}

// A ring of n hops: hop i leaves over link 2i (its node's uplink) and arrives over link 2(i+1)+1
// (the next node's downlink); optionally every hop also crosses one shared core link (last).
TestGraph Ring(int n, double cap, bool shared_core, double bytes) {
  std::vector<double> caps(2 * n, cap);
  if (shared_core) caps.push_back(cap);
  TestGraph t(1, caps);
  std::vector<FlowSpec> flows;
  for (int i = 0; i < n; ++i) {
    std::vector<LinkId> route = {2 * i, 2 * ((i + 1) % n) + 1};
    if (shared_core) route.push_back(2 * n);
    flows.push_back(Flow(route, bytes, 0));
  }
  t.AddComm(CollOp::kAllReduce, StreamKind::kDpComm, {0}, 0, 0, flows);
  return t;
}

TEST(FlowFolding, ASymmetricRingIsOneClassOfWeightOne) {
  TestGraph t = Ring(8, 100, false, 50);
  FlowFolding f = FoldFlows(t.graph);
  EXPECT_TRUE(f.folded);
  EXPECT_EQ(f.flows_in, 8);
  ASSERT_EQ(f.plans.size(), 1u);
  ASSERT_EQ(f.plans[0].size(), 1u);
  const FoldedFlow& ring = f.plans[0][0];
  EXPECT_EQ(ring.flows, 8);
  // Uplinks and downlinks are alike too (same capacity, one hop each): one class of 16 links, each
  // carrying one hop.
  ASSERT_EQ(ring.route.size(), 1u);
  EXPECT_EQ(ring.weights, (std::vector<double>{1}));
  EXPECT_EQ(f.class_size[ring.route[0]], 16);
  // Alone on its links a hop runs at the link's 100 B/s: 50 B take 0.5 s.
  EXPECT_DOUBLE_EQ(Simulate(t.graph).makespan_s, 0.5);
  ExpectSameAsUnfolded(t.graph, "ring");
}

TEST(FlowFolding, ASharedLinkWeighsEveryHopThatCrossesIt) {
  TestGraph t = Ring(4, 100, true, 50);
  FlowFolding f = FoldFlows(t.graph);
  ASSERT_EQ(f.plans[0].size(), 1u);
  const FoldedFlow& ring = f.plans[0][0];
  ASSERT_EQ(ring.route.size(), 2u);                  // the nodes' links, the core link
  EXPECT_EQ(ring.weights, (std::vector<double>{1, 4}));  // the core link carries all four hops
  EXPECT_EQ(f.class_size[ring.route[0]], 8);
  EXPECT_EQ(f.class_size[ring.route[1]], 1);
  // Four hops share the core link's 100 B/s: 25 B/s each, 50 B take 2 s.
  EXPECT_DOUBLE_EQ(Simulate(t.graph).makespan_s, 2.0);
  ExpectSameAsUnfolded(t.graph, "shared core");
}

TEST(FlowFolding, ContentionOnOneHopSplitsItsClass) {
  // A second comm on hop 0's uplink: hop 0 is slower, the others are not, and folding must see it.
  TestGraph t = Ring(4, 100, false, 50);
  t.AddComm(CollOp::kSendRecv, StreamKind::kPpComm, {0}, 0, 0, {Flow({0}, 100, 0)});
  FlowFolding f = FoldFlows(t.graph);
  EXPECT_GE(f.plans[f.plan_of_comm[0]].size(), 2u);
  ExpectSameAsUnfolded(t.graph, "contended hop");
}

TEST(FlowFolding, CommsSharingAPlanShareItsFoldedFlows) {
  TestGraph t = Ring(4, 100, true, 50);
  CommId second = t.AddComm(CollOp::kAllReduce, StreamKind::kTpComm, {0}, 0, 0, {});
  t.graph.comms[second].plan = t.graph.comms[0].plan;
  FlowFolding f = FoldFlows(t.graph);
  EXPECT_EQ(f.plans.size(), 1u);
  EXPECT_EQ(f.plan_of_comm[0], f.plan_of_comm[second]);
  // Both rings run at once on separate streams: 8 hops on the core link, 12.5 B/s each: 4 s.
  EXPECT_DOUBLE_EQ(Simulate(t.graph).makespan_s, 4.0);
  ExpectSameAsUnfolded(t.graph, "shared plan");
}

TEST(FlowFolding, NothingAlikeLeavesEveryFlowItsOwnClass) {
  std::vector<double> caps = {100, 200, 300};
  TestGraph t(1, caps);
  t.AddComm(CollOp::kAllReduce, StreamKind::kDpComm, {0}, 0, 0, {Flow({0}, 10, 0), Flow({1}, 20, 0), Flow({2}, 30, 0)});
  FlowFolding f = FoldFlows(t.graph);
  EXPECT_FALSE(f.folded);
  ASSERT_EQ(f.plans[0].size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(f.plans[0][i].route, (std::vector<int32_t>{static_cast<int32_t>(i)}));
    EXPECT_EQ(f.plans[0][i].weights, (std::vector<double>{1}));
  }
  EXPECT_EQ(f.capacity, caps);  // link classes keep the links' order
}

// A random graph replicated k times side by side (k copies of every link, every comm's flows on each
// copy) is symmetric: folding divides its flows by k and changes no time.
TestGraph Replicated(uint32_t seed, int k) {
  TestGraph base = testing::RandomGraph(seed);
  const int links = static_cast<int>(base.graph.link_capacity.size());
  ExecGraph g = base.graph;
  g.link_capacity.clear();
  for (int r = 0; r < k; ++r)
    g.link_capacity.insert(g.link_capacity.end(), base.graph.link_capacity.begin(), base.graph.link_capacity.end());
  for (Comm& c : g.comms) {
    CollectivePlan plan = *c.plan;
    plan.flows.clear();
    for (int r = 0; r < k; ++r)
      for (FlowSpec f : c.plan->flows) {
        for (LinkId& l : f.links) l += r * links;
        plan.flows.push_back(f);
      }
    c.plan = std::make_shared<const CollectivePlan>(std::move(plan));
  }
  TestGraph out(0);
  out.graph = std::move(g);
  return out;
}

TEST(FlowFolding, ReplicatedRandomGraphsFoldAndKeepEveryTime) {
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    TestGraph t = Replicated(seed, 4);
    FlowFolding f = FoldFlows(t.graph);
    if (f.flows_in > 0) {
      EXPECT_TRUE(f.folded) << "seed " << seed;
      EXPECT_LE(f.flows_out * 4, f.flows_in) << "seed " << seed;
    }
    ExpectSameAsUnfolded(t.graph, "replicated seed " + std::to_string(seed));
  }
}

TEST(FlowFolding, RandomGraphsKeepEveryTime) {
  for (uint32_t seed = 100; seed < 160; ++seed) {
    TestGraph t = testing::RandomGraph(seed, 60);
    ExpectSameAsUnfolded(t.graph, "seed " + std::to_string(seed));
  }
}

TEST(FlowFolding, DeterministicForTheSameGraph) {
  TestGraph t = Replicated(7, 3);
  FlowFolding a = FoldFlows(t.graph), b = FoldFlows(t.graph);
  EXPECT_EQ(a.capacity, b.capacity);
  ASSERT_EQ(a.plans.size(), b.plans.size());
  for (size_t p = 0; p < a.plans.size(); ++p) {
    ASSERT_EQ(a.plans[p].size(), b.plans[p].size());
    for (size_t k = 0; k < a.plans[p].size(); ++k) {
      EXPECT_EQ(a.plans[p][k].route, b.plans[p][k].route);
      EXPECT_EQ(a.plans[p][k].weights, b.plans[p][k].weights);
    }
  }
}

}  // namespace
}  // namespace proteus
