#include "topo/calibrated_collective.h"

#include <cstdio>
#include <vector>

#include <gtest/gtest.h>

#include "common/units.h"
#include "topo/cluster.h"

namespace proteus {
namespace {

std::vector<GpuId> Range(int from, int to) {
  std::vector<GpuId> g;
  for (int i = from; i < to; ++i) g.push_back(i);
  return g;
}

bool UsesNet(const Cluster& c, const CollectivePlan& p) {
  for (const auto& f : p.flows)
    for (LinkId l : f.links)
      if (c.graph.LinkAt(l).kind == LinkKind::kNet) return true;
  return false;
}

class CalibratedCollectiveTest : public ::testing::Test {
 protected:
  Cluster cluster_ = MakeHomogeneousCluster("dgx-a100", 2, 0);
  std::unique_ptr<CollectiveModel> model_ = MakeCollectiveModel(cluster_, nullptr);
  CollectiveCorrection c_{/*intra=*/0.5, /*inter=*/0.8, /*extra=*/10e-6};

  void ExpectCorrected(const CollectivePlan& before, const CollectivePlan& after, double eff) {
    double transfer = before.time_s - before.latency_s;
    std::printf("%s %s: %.4g us + %.4g us -> %.4g us + %.4g us (eff %.2f)\n", before.algo.c_str(),
                before.proto.c_str(), before.latency_s / kUs, transfer / kUs, after.latency_s / kUs,
                (after.time_s - after.latency_s) / kUs, eff);
    EXPECT_NEAR(after.latency_s, before.latency_s + c_.extra_latency_s, 1e-15);
    EXPECT_NEAR(after.time_s, before.latency_s + c_.extra_latency_s + transfer / eff, 1e-12);
    ASSERT_EQ(after.flows.size(), before.flows.size());
    for (size_t i = 0; i < before.flows.size(); ++i) {
      EXPECT_NEAR(after.flows[i].max_rate, before.flows[i].max_rate * eff, before.flows[i].max_rate * 1e-12);
      EXPECT_EQ(after.flows[i].bytes, before.flows[i].bytes);
      EXPECT_EQ(after.flows[i].links, before.flows[i].links);
    }
    EXPECT_EQ(after.algo, before.algo);
    EXPECT_EQ(after.source, before.source);
  }
};

TEST_F(CalibratedCollectiveTest, IntraNodePlanUsesIntraEfficiency) {
  CollectivePlan plan = model_->Plan({CollOp::kAllReduce, Range(0, 8), 256 * kMiB, DType::kBf16});
  ASSERT_FALSE(plan.flows.empty());
  ASSERT_FALSE(UsesNet(cluster_, plan));
  CollectivePlan before = plan;
  CorrectPlan(plan, cluster_, c_);
  ExpectCorrected(before, plan, c_.bw_eff_intra);
}

TEST_F(CalibratedCollectiveTest, CrossNodePlanUsesInterEfficiency) {
  CollectivePlan plan = model_->Plan({CollOp::kAllReduce, Range(0, 16), 256 * kMiB, DType::kBf16});
  ASSERT_FALSE(plan.flows.empty());
  ASSERT_TRUE(UsesNet(cluster_, plan));
  CollectivePlan before = plan;
  CorrectPlan(plan, cluster_, c_);
  ExpectCorrected(before, plan, c_.bw_eff_inter);
}

TEST_F(CalibratedCollectiveTest, CrossNodeSendRecvUsesInterEfficiency) {
  CollectivePlan plan = model_->Plan({CollOp::kSendRecv, {0, 8}, 64 * kMiB, DType::kBf16});
  ASSERT_FALSE(plan.flows.empty());
  ASSERT_TRUE(UsesNet(cluster_, plan));
  CollectivePlan before = plan;
  CorrectPlan(plan, cluster_, c_);
  ExpectCorrected(before, plan, c_.bw_eff_inter);
}

TEST_F(CalibratedCollectiveTest, HeaderExample) {
  // eff_inter 0.8, extra 10 us: 20 us + 1 ms becomes 30 us + 1.25 ms.
  CollectivePlan plan = model_->Plan({CollOp::kAllReduce, Range(0, 16), 64 * kMiB, DType::kBf16});
  ASSERT_TRUE(UsesNet(cluster_, plan));
  plan.latency_s = 20e-6;
  plan.time_s = 20e-6 + 1e-3;
  CorrectPlan(plan, cluster_, {1.0, 0.8, 10e-6});
  EXPECT_NEAR(plan.latency_s, 30e-6, 1e-15);
  EXPECT_NEAR(plan.time_s, 30e-6 + 1.25e-3, 1e-12);
}

TEST_F(CalibratedCollectiveTest, IdentityCorrectionChangesNothing) {
  CollectivePlan plan = model_->Plan({CollOp::kAllGather, Range(0, 16), 32 * kMiB, DType::kBf16});
  CollectivePlan before = plan;
  CorrectPlan(plan, cluster_, {});
  EXPECT_DOUBLE_EQ(plan.time_s, before.time_s);
  EXPECT_DOUBLE_EQ(plan.latency_s, before.latency_s);
  for (size_t i = 0; i < plan.flows.size(); ++i) EXPECT_DOUBLE_EQ(plan.flows[i].max_rate, before.flows[i].max_rate);
}

TEST_F(CalibratedCollectiveTest, CorrectedFlowsStillEndAtPlanTime) {
  // topo/collective.h contract: max_rate = bytes / (time - latency) for the bottleneck flows.
  CollectivePlan plan = model_->Plan({CollOp::kAllReduce, Range(0, 8), 256 * kMiB, DType::kBf16});
  double ratio_before = 0;
  for (const auto& f : plan.flows) ratio_before = std::max(ratio_before, f.bytes / f.max_rate);
  CollectivePlan before = plan;
  CorrectPlan(plan, cluster_, c_);
  double ratio_after = 0;
  for (const auto& f : plan.flows) ratio_after = std::max(ratio_after, f.bytes / f.max_rate);
  EXPECT_NEAR(ratio_after, ratio_before / c_.bw_eff_intra, ratio_before * 1e-9);
  EXPECT_NEAR(ratio_after / (plan.time_s - plan.latency_s), ratio_before / (before.time_s - before.latency_s),
              1e-9);
}

TEST_F(CalibratedCollectiveTest, MeasuredCurvePlanIsUntouched) {
  CollectivePlan plan = model_->Plan({CollOp::kAllReduce, Range(0, 16), 256 * kMiB, DType::kBf16});
  plan.source = "measured:all_reduce ranks=16";
  CollectivePlan before = plan;
  CorrectPlan(plan, cluster_, c_);
  EXPECT_EQ(plan.time_s, before.time_s);
  EXPECT_EQ(plan.latency_s, before.latency_s);
  for (size_t i = 0; i < plan.flows.size(); ++i) EXPECT_EQ(plan.flows[i].max_rate, before.flows[i].max_rate);
}

TEST_F(CalibratedCollectiveTest, FlowlessPlanIsUntouched) {
  CollectivePlan plan = model_->Plan({CollOp::kAllReduce, {3}, 256 * kMiB, DType::kBf16});
  ASSERT_TRUE(plan.flows.empty()) << plan.algo;
  CollectivePlan before = plan;
  CorrectPlan(plan, cluster_, c_);
  EXPECT_EQ(plan.time_s, before.time_s);
  EXPECT_EQ(plan.latency_s, before.latency_s);
}

}  // namespace
}  // namespace proteus
