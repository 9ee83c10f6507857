// The logic behind `proteus-sim topo` and `proteus-sim collective` (the commands are thin wrappers).
#include <gtest/gtest.h>

#include "common/error.h"
#include "common/units.h"
#include "topo/coll_table.h"
#include "topo/measured_model.h"
#include "topo/topo_report.h"

namespace proteus {
namespace {

TEST(TopoReport, ShowsPathMatrixAndNicMap) {
  Cluster c = LoadCluster("dgx1-v100-1");
  std::string text = FormatTopology(c);
  EXPECT_NE(text.find("NVB/20"), std::string::npos) << text;  // GPU0 -> GPU5 through GPU1
  EXPECT_NE(text.find("NVL/40"), std::string::npos);           // doubled links
  EXPECT_NE(text.find("GPU0 -> nic0"), std::string::npos);
  Json j = TopologyJson(c);
  EXPECT_EQ(j["node_groups"][0]["gpu_paths"][0][5]["type"], "NVB");
  EXPECT_EQ(j["node_groups"][0]["gpu_nics"][0]["local_nic"], 0);
}

TEST(CollTable, NcclTestsGroupsAndErrors) {
  Cluster c = LoadCluster("dgx-h100-2");
  EXPECT_EQ(NcclTestsGroup(c, 8, 0), (std::vector<GpuId>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(NcclTestsGroup(c, 4, 2), (std::vector<GpuId>{0, 1, 8, 9}));  // 2 ranks per node
  EXPECT_THROW(NcclTestsGroup(c, 17, 0), UserError);  // more GPUs than the cluster
  EXPECT_THROW(NcclTestsGroup(c, 5, 2), UserError);   // does not divide
  EXPECT_THROW(NcclTestsGroup(c, 8, 3), UserError);   // more nodes than the cluster
}

TEST(CollTable, SweepDoublesAndHarnessAddsLaunches) {
  Cluster c = LoadCluster("dgx-h100-1");
  auto model = MakeCollectiveModel(c, nullptr);
  auto group = NcclTestsGroup(c, 8, 1);
  auto rows = SweepCollective(*model, CollOp::kAllReduce, group, DType::kFp32, 8, 64);
  ASSERT_EQ(rows.size(), 4u);  // 8, 16, 32, 64
  EXPECT_EQ(rows[3].bytes, 64);
  HarnessOptions g8;
  g8.gpus_per_thread = 8;
  auto slow = SweepCollective(*model, CollOp::kAllReduce, group, DType::kFp32, 8, 8, g8);
  EXPECT_NEAR(slow[0].time_s - rows[0].time_s, 7 * 4e-6, 1e-12);  // (g - 1) x 4 us
  // busbw = size / time x 2(n-1)/n.
  EXPECT_NEAR(rows[0].busbw, 8 / rows[0].time_s * 2 * 7 / 8, 1e-9);
  std::string table = FormatCollectiveTable(rows, c.name, CollOp::kAllReduce, 8, 1);
  EXPECT_NE(table.find("# all_reduce on dgx-h100-1: 8 ranks, 1 node(s)"), std::string::npos);
  Json j = CollectiveTableJson(rows, c.name, CollOp::kAllReduce, 8, 1);
  EXPECT_EQ(j["rows"].size(), 4u);
  EXPECT_EQ(j["rows"][0]["algo"], "ring");
  EXPECT_THROW(SweepCollective(*model, CollOp::kAllReduce, group, DType::kFp32, 64, 8), UserError);
}

TEST(CollTable, BusBwFactors) {
  EXPECT_DOUBLE_EQ(BusBwFactor(CollOp::kAllReduce, 8), 1.75);
  EXPECT_DOUBLE_EQ(BusBwFactor(CollOp::kAllGather, 8), 0.875);
  EXPECT_DOUBLE_EQ(BusBwFactor(CollOp::kBroadcast, 8), 1.0);
  CollOp op;
  EXPECT_TRUE(ParseCollOp("reduce_scatter", &op));
  EXPECT_EQ(op, CollOp::kReduceScatter);
  EXPECT_EQ(CollOpName(CollOp::kAllToAll), "alltoall");
  EXPECT_FALSE(ParseCollOp("allreduc", &op));
}

}  // namespace
}  // namespace proteus
