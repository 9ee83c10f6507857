#include "topo/cluster.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/data_dir.h"
#include "common/error.h"
#include "common/units.h"
#include "tests/common/process_temp_dir.h"

namespace proteus {
namespace {

std::string WriteTemp(const std::string& name, const std::string& text) {
  auto dir = ProcessTempDir().path() / "proteus_topo_test";
  std::filesystem::create_directories(dir);
  auto path = dir / name;
  std::ofstream(path) << text;
  return path.string();
}

TEST(Cluster, EveryShippedClusterLoads) {
  int count = 0;
  for (const auto& e : std::filesystem::directory_iterator("data/clusters")) {
    if (e.path().extension() != ".json") continue;
    Cluster c = LoadCluster(e.path().string());
    EXPECT_GT(c.NumGpus(), 0) << e.path();
    EXPECT_EQ(static_cast<int>(c.gpu_vertex.size()), c.NumGpus());
    for (const auto& g : c.groups)  // the simulator looks GPU types up in data/gpus
      EXPECT_TRUE(ResolveDataFile("gpus", g.gpu_type, ".json").has_value()) << e.path() << ": " << g.gpu_type;
    ++count;
  }
  EXPECT_GE(count, 20);
}

TEST(Cluster, DgxH100_128Layout) {
  Cluster c = LoadCluster("dgx-h100-128");
  EXPECT_EQ(c.NumNodes(), 128);
  EXPECT_EQ(c.NumGpus(), 1024);
  EXPECT_EQ(c.GroupOf(1023).gpu_type, "H100-SXM5-80GB");
  EXPECT_EQ(c.GroupOf(0).gpus_per_node, 8);
  // GpuId = node x 8 + local index.
  EXPECT_EQ(c.gpu_node[8 * 37 + 5], 37);
  EXPECT_EQ(c.LocalIndex(8 * 37 + 5), 5);
  EXPECT_EQ(c.graph.VertexAt(c.gpu_vertex[8 * 37 + 5]).name, "node37/gpu5");
  EXPECT_EQ(c.NicsPerNode(0), 8);
  EXPECT_DOUBLE_EQ(c.graph.LinkAt(c.nic_uplink[3][2]).bandwidth, 400 * kGbps);  // 50 GB/s
  EXPECT_EQ(c.NumSwitches(), 8);  // one per rail
}

TEST(Cluster, RoutesCrossTheRightLinks) {
  Cluster c = LoadCluster("dgx-h100-2");
  // GPU 3 of node 0 to GPU 3 of node 1: PCIe to NIC 3, rail 3, NIC 3, PCIe: the rail switch is shared.
  auto route = c.Route(3, 8 + 3);
  ASSERT_FALSE(route.empty());
  EXPECT_EQ(c.graph.LinkAt(route.front()).src, c.gpu_vertex[3]);
  EXPECT_EQ(c.graph.LinkAt(route.back()).dst, c.gpu_vertex[11]);
  int net = 0;
  for (LinkId l : route) net += c.graph.LinkAt(l).kind == LinkKind::kNet;
  EXPECT_EQ(net, 2);  // NIC -> rail switch -> NIC
  // Inside a node: GPU -> NVSwitch -> GPU.
  EXPECT_EQ(c.Route(0, 1).size(), 2u);
}

TEST(Cluster, HeterogeneousGroupsNumberNodesInOrder) {
  Cluster c = LoadCluster("hetero-a100-v100");
  EXPECT_EQ(c.NumNodes(), 4);
  EXPECT_EQ(c.GroupOf(0).gpu_type, "A100-SXM4-80GB");
  EXPECT_EQ(c.GroupOf(16).gpu_type, "V100-SXM2-32GB");
  EXPECT_EQ(c.gpu_node[16], 2);
}

TEST(Cluster, GenericNameAndHomogeneous) {
  Cluster c = LoadCluster("dgx-a100-7");  // <topology>-<nodes>, NIC speed from the XML (200 Gb/s)
  EXPECT_EQ(c.NumGpus(), 56);
  EXPECT_DOUBLE_EQ(c.graph.LinkAt(c.nic_uplink[6][7]).bandwidth, 25 * kGBps);
  Cluster h = MakeHomogeneousCluster("dgx-h100", 3, 100);
  EXPECT_EQ(h.NumGpus(), 24);
  EXPECT_DOUBLE_EQ(h.graph.LinkAt(h.nic_uplink[0][0]).bandwidth, 100 * kGbps);
  EXPECT_THROW(MakeHomogeneousCluster("dgx-h100", 0, 100), UserError);
}

TEST(Cluster, ErrorsNameFileAndField) {
  auto bad_count = WriteTemp("c1.json", R"({"format": "proteus.cluster/1",
      "node_groups": [{"count": -3, "gpu": "H100-SXM5-80GB", "topology": "dgx-h100"}]})");
  try {
    LoadCluster(bad_count);
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("node_groups[0].count"), std::string::npos) << e.what();
  }
  auto bad_fabric = WriteTemp("c2.json", R"({"format": "proteus.cluster/1",
      "node_groups": [{"count": 2, "gpu": "H100-SXM5-80GB", "topology": "dgx-h100"}],
      "fabric": {"kind": "torus"}})");
  EXPECT_THROW(LoadCluster(bad_fabric), UserError);
  auto bad_topo = WriteTemp("c3.json", R"({"format": "proteus.cluster/1",
      "node_groups": [{"count": 2, "gpu": "H100-SXM5-80GB", "topology": "no-such-box"}]})");
  EXPECT_THROW(LoadCluster(bad_topo), UserError);
  auto bad_major = WriteTemp("c4.json", R"({"format": "proteus.cluster/9", "node_groups": []})");
  EXPECT_THROW(LoadCluster(bad_major), UserError);
  EXPECT_THROW(LoadCluster("no-such-cluster"), UserError);
  // A malformed topology beside the cluster file: the error names the XML file.
  WriteTemp("broken.xml", "<system><cpu></system>");
  auto broken = WriteTemp("c5.json", R"({"format": "proteus.cluster/1",
      "node_groups": [{"count": 1, "gpu": "H100-SXM5-80GB", "topology": "broken.xml"}]})");
  try {
    LoadCluster(broken);
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("broken.xml"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace proteus
