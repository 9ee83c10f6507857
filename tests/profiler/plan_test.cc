#include "profiler/plan.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>

namespace proteus::profiler {
namespace {

NodeDesc Node(const char* gpu, int gpus, int nodes = 1) { return NodeDesc{*FindDevicePreset(gpu), gpus, nodes}; }

TEST(PlanCollectives, GroupSizesSizesAndAlgorithms) {
  CollectiveOptions o;
  o.ops = {"all_reduce"};
  o.max_bytes = 1024;  // 8 B .. 1 KB
  auto pts = PlanCollectives(Node("h100", 8), o);
  std::set<int> ranks;
  std::map<std::string, int> per_curve;
  for (const auto& p : pts) {
    ranks.insert(p.key.ranks);
    per_curve[p.key.algo + "/" + p.key.proto + "/" + std::to_string(p.key.ranks)]++;
  }
  EXPECT_EQ(ranks, (std::set<int>{2, 4, 8}));
  EXPECT_EQ(per_curve["default/default/8"], 8);  // 8, 16, ..., 1024: x2 steps
  EXPECT_EQ(per_curve["ring/ll/8"], 5);          // 8, 32, 128, 512 (x4 steps), then the end 1024
  EXPECT_EQ(per_curve.count("ring/ll/8") + per_curve.count("tree/simple/8") + per_curve.count("nvls/simple/8"), 3u);
  EXPECT_EQ(per_curve.count("nvls/simple/2"), 1u);  // a candidate on any group of an NVSwitch node
  std::set<std::string> a100_algos;
  for (const auto& p : PlanCollectives(Node("a100", 8), o)) a100_algos.insert(p.key.algo);
  EXPECT_EQ(a100_algos, (std::set<std::string>{"default", "ring", "tree"}));  // no NVLS before Hopper
  EXPECT_EQ(per_curve.count("nvls_tree/simple/8"), 0u);  // multi-node only
}

TEST(PlanCollectives, OddGpuCountsAndOneGpu) {
  CollectiveOptions o;
  o.all_algos = false;
  o.max_bytes = 8;
  std::set<int> ranks;
  for (const auto& p : PlanCollectives(Node("a100", 6), o)) ranks.insert(p.key.ranks);
  EXPECT_EQ(ranks, (std::set<int>{2, 4, 6}));
  EXPECT_TRUE(PlanCollectives(Node("a100", 1), o).empty());
  EXPECT_TRUE(PlanInterference(Node("a100", 1)).empty());
}

TEST(PlanCollectives, MultiNodeUsesAllRanks) {
  CollectiveOptions o;
  o.ops = {"all_gather"};
  o.max_bytes = 8;
  auto pts = PlanCollectives(Node("h100", 8, 4), o);
  ASSERT_FALSE(pts.empty());
  for (const auto& p : pts) {
    EXPECT_EQ(p.key.ranks, 32);
    EXPECT_EQ(p.key.nodes, 4);
    EXPECT_EQ(p.key.ranks_per_node, 8);
  }
}

TEST(AlgoProto, P2pHasOnlyTheDefault) {
  EXPECT_TRUE(AlgoProtoCandidates("alltoall", Node("h100", 8)).empty());
  EXPECT_TRUE(AlgoProtoCandidates("sendrecv", Node("h100", 8)).empty());
  EXPECT_EQ(AlgoProtoCandidates("broadcast", Node("h100", 8)).size(), 3u);  // ring x ll, ll128, simple
}

TEST(PlanInterference, FourClassesTimesFourCollectives) {
  auto pairs = PlanInterference(Node("h100", 8));
  ASSERT_EQ(pairs.size(), 16u);
  std::set<std::string> classes;
  for (const auto& p : pairs) {
    classes.insert(p.compute_class);
    EXPECT_EQ(p.comm.ranks, 8);
  }
  EXPECT_EQ(classes, (std::set<std::string>{"gemm", "attention", "norm", "elementwise"}));
}

TEST(Estimate, CollectiveCallFollowsBandwidth) {
  // all_reduce 8 ranks, 1 GB, simple: 12 us + 1 GiB * 2*7/8 / (450 GB/s * 0.8).
  CollectivePoint p{CollectiveKey{"all_reduce", 8, 1, 8, "ring", "simple", DType::kBf16}, int64_t{1} << 30};
  EXPECT_NEAR(EstimateCollectiveCallSeconds(p, *FindDevicePreset("h100")), 12e-6 + 1073741824.0 * 1.75 / 360e9, 1e-9);
}

TEST(PrintPlan, SaysCountsAndEstimate) {
  Plan plan;
  plan.ops = {OpKey{"gemm", DType::kBf16, Phase::kFwd, {{"m", 64}, {"n", 64}, {"k", 64}}, {}}};
  plan.topology = true;
  std::ostringstream os;
  PrintPlan(os, plan, Node("h200", 8), true);
  std::string s = os.str();
  EXPECT_NE(s.find("ops: 1 keys"), std::string::npos) << s;
  EXPECT_NE(s.find("gemm bf16 fwd"), std::string::npos) << s;
  EXPECT_NE(s.find("key gemm|bf16|fwd|k=64,m=64,n=64|"), std::string::npos) << s;
  EXPECT_NE(s.find("estimated duration:"), std::string::npos) << s;
  EXPECT_NE(s.find("topology 2.000 s"), std::string::npos) << s;
}

}  // namespace
}  // namespace proteus::profiler
