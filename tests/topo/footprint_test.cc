// CollectiveModel::Footprint: every link any plan of an op on a group may use, whatever the size.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "topo/collective.h"
#include "topo/measured_model.h"
#include "topo/nccl_model.h"

namespace proteus {
namespace {

std::vector<GpuId> Strided(GpuId first, int n, int stride) {
  std::vector<GpuId> g;
  for (int i = 0; i < n; ++i) g.push_back(first + i * stride);
  return g;
}

// Sizes from 1 KiB to 4 GiB: small ones run tree or few channels, large ones rings or NVLS.
void ExpectCoversEveryPlan(const TopologyCollectiveModel& model, CollOp op, const std::vector<GpuId>& group) {
  auto footprint = model.Footprint(op, group);
  ASSERT_TRUE(footprint.has_value());
  EXPECT_TRUE(std::is_sorted(footprint->begin(), footprint->end()));
  EXPECT_EQ(std::adjacent_find(footprint->begin(), footprint->end()), footprint->end()) << "repeated links";
  std::set<LinkId> used;
  for (int64_t bytes = 1024; bytes <= (int64_t{4} << 30); bytes *= 8) {
    CollectivePlan plan = model.Plan({op, group, bytes, DType::kBf16});
    for (const FlowSpec& f : plan.flows)
      for (LinkId l : f.links) {
        used.insert(l);
        EXPECT_TRUE(std::binary_search(footprint->begin(), footprint->end(), l))
            << CollOpName(op) << " of " << bytes << " bytes uses link " << l << " outside its footprint";
      }
  }
  EXPECT_FALSE(used.empty());
  // Not a blanket answer: the footprint holds only links some algorithm of this group routes over.
  EXPECT_LT(footprint->size(), static_cast<size_t>(model.cluster().graph.NumLinks()));
}

TEST(Footprint, CoversEveryPlanOfEverySize) {
  Cluster c = MakeHomogeneousCluster("dgx-h100", 4, 0);
  TopologyCollectiveModel model(c);
  for (CollOp op : {CollOp::kAllReduce, CollOp::kAllGather, CollOp::kReduceScatter, CollOp::kAllToAll}) {
    ExpectCoversEveryPlan(model, op, Strided(0, 8, 1));   // one node: NVLS, ring, tree
    ExpectCoversEveryPlan(model, op, Strided(3, 4, 8));   // one GPU per node: ring, tree, PAT
    ExpectCoversEveryPlan(model, op, Strided(0, 32, 1));  // every GPU
  }
  ExpectCoversEveryPlan(model, CollOp::kSendRecv, {2, 13});
}

TEST(Footprint, SharedNicsMakeOverlappingFootprints) {
  // PCIe nodes whose GPUs share a NIC: rings of neighbouring GPUs meet on it. DGX H100: one NIC per
  // GPU, so the rings of GPU 0 and GPU 1 across nodes share nothing.
  auto overlap = [](const std::vector<LinkId>& a, const std::vector<LinkId>& b) {
    std::vector<LinkId> both;
    std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(both));
    return !both.empty();
  };
  Cluster dgx = MakeHomogeneousCluster("dgx-h100", 4, 0);
  TopologyCollectiveModel dgx_model(dgx);
  EXPECT_FALSE(overlap(*dgx_model.Footprint(CollOp::kAllReduce, Strided(0, 4, 8)),
                       *dgx_model.Footprint(CollOp::kAllReduce, Strided(1, 4, 8))));
  Cluster pcie = MakeHomogeneousCluster("pcie-4gpu", 4, 0);
  TopologyCollectiveModel pcie_model(pcie);
  EXPECT_TRUE(overlap(*pcie_model.Footprint(CollOp::kAllReduce, Strided(0, 4, 4)),
                      *pcie_model.Footprint(CollOp::kAllReduce, Strided(1, 4, 4))));
}

TEST(Footprint, MeasuredModelKeepsTheTopologyRoutes) {
  Cluster c = MakeHomogeneousCluster("dgx-h100", 2, 0);
  CostDb db;
  auto measured = MakeCollectiveModel(c, &db, CollectiveModelOptions{});
  TopologyCollectiveModel topology(c);
  EXPECT_EQ(*measured->Footprint(CollOp::kAllReduce, Strided(0, 16, 1)),
            *topology.Footprint(CollOp::kAllReduce, Strided(0, 16, 1)));
}

TEST(Footprint, TrivialGroupsUseNoLinks) {
  Cluster c = MakeHomogeneousCluster("dgx-h100", 1, 0);
  TopologyCollectiveModel model(c);
  EXPECT_TRUE(model.Footprint(CollOp::kAllReduce, {3})->empty());
  EXPECT_TRUE(model.Footprint(CollOp::kSendRecv, {3, 3})->empty());
}

}  // namespace
}  // namespace proteus
