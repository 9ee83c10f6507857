#include "topo/node_topology.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/error.h"
#include "common/units.h"
#include "topo/paths.h"

namespace proteus {
namespace {

// Two GPUs on one PCIe switch under one CPU, one NVLink pair, one NIC on the switch.
constexpr const char* kSmall = R"(<system version="1">
  <cpu numaid="0" arch="x86_64" vendor="GenuineIntel" familyid="6" modelid="143">
    <pci busid="0000:10:00.0" class="0x060400" link_speed="32.0 GT/s PCIe" link_width="16">
      <pci busid="0000:11:00.0" class="0x030200" link_speed="32.0 GT/s PCIe" link_width="16">
        <gpu dev="0" sm="90"><nvlink target="0000:12:00.0" count="2" tclass="0x030200"/></gpu>
      </pci>
      <pci busid="0000:12:00.0" class="0x030200" link_speed="32.0 GT/s PCIe" link_width="16">
        <gpu dev="1" sm="90"><nvlink target="0000:11:00.0" count="2" tclass="0x030200"/></gpu>
      </pci>
      <pci busid="0000:13:00.0" class="0x020700" link_speed="16.0 GT/s PCIe" link_width="16">
        <nic><net name="mlx5_0" dev="0" speed="200000"/></nic>
      </pci>
    </pci>
  </cpu>
</system>)";

TEST(NodeTopology, ParsesGpusNicsAndBandwidths) {
  NodeTopology t = ParseNodeTopology(kSmall, "small.xml");
  ASSERT_EQ(t.NumGpus(), 2);
  ASSERT_EQ(t.nics.size(), 1u);
  EXPECT_EQ(t.MinSm(), 90);
  EXPECT_FALSE(t.has_nvswitch);
  EXPECT_DOUBLE_EQ(t.nic_speed[0], 25 * kGBps);  // 200000 Mb/s / 8000 = 25 GB/s
  NodePaths p = ComputeNodePaths(t);
  EXPECT_EQ(p.gpu_gpu[0][1].type, PathType::kNvl);
  EXPECT_DOUBLE_EQ(p.gpu_gpu[0][1].bw, 2 * 20.6 * kGBps);  // 2 links x SM90 20.6 GB/s
  EXPECT_EQ(p.gpu_nic[0][0].type, PathType::kPix);
  EXPECT_DOUBLE_EQ(p.gpu_nic[0][0].bw, 24 * kGBps);  // NIC Gen4 x16 = 16 x 120 / 80 = 24 GB/s, GPU Gen5 = 48
}

TEST(NodeTopology, EveryShippedTopologyParses) {
  int count = 0;
  for (const auto& e : std::filesystem::directory_iterator("data/topos")) {
    if (e.path().extension() != ".xml") continue;
    NodeTopology t = LoadNodeTopology(e.path().string());
    EXPECT_GE(t.NumGpus(), 4) << e.path();
    NodePaths p = ComputeNodePaths(t);
    for (int i = 0; i < t.NumGpus(); ++i)
      for (int j = 0; j < t.NumGpus(); ++j)
        if (i != j) { EXPECT_NE(p.gpu_gpu[i][j].type, PathType::kDis) << e.path() << " " << i << "->" << j; }
    ++count;
  }
  EXPECT_EQ(count, 6);  // dgx1-v100, dgx-a100, dgx-h100, hgx-h200, pcie-4gpu, pcie-8gpu
}

TEST(NodeTopology, MalformedXmlNamesFileAndLine) {
  try {
    ParseNodeTopology("<system>\n<cpu>\n</system>", "bad.xml");
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.xml: line"), std::string::npos) << e.what();
  }
}

TEST(NodeTopology, BadAttributeNamesXmlPath) {
  std::string xml = kSmall;
  xml.replace(xml.find("sm=\"90\""), 7, "sm=\"x\"");
  try {
    ParseNodeTopology(xml, "bad.xml");
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_EQ(e.where(), "bad.xml: system/cpu[0]/pci[0]/pci[0]/gpu[0]@sm") << e.what();
  }
}

TEST(NodeTopology, MissingRootAndNoGpusAreErrors) {
  EXPECT_THROW(ParseNodeTopology("<nothing/>", "x.xml"), UserError);
  EXPECT_THROW(ParseNodeTopology("<system><cpu/></system>", "x.xml"), UserError);
}

TEST(NodeTopology, ToleratesMissingLinkSpeedsAndSwitchTargets) {
  // No link speeds anywhere (Gen4 x16 = 24 GB/s assumed); NVLinks to two switch chips merge into one
  // NVSwitch vertex; two NICs on one PCIe switch.
  const char* xml = R"(<system version="1"><cpu numaid="0" vendor="AuthenticAMD">
    <pci busid="0000:10:00.0" class="0x060400">
      <pci busid="0000:11:00.0" class="0x030200"><gpu dev="0" sm="80">
        <nvlink target="0000:c0:00.0" count="6" tclass="0x068000"/><nvlink target="0000:c1:00.0" count="6" tclass="0x068000"/></gpu></pci>
      <pci busid="0000:12:00.0" class="0x030200"><gpu dev="1" sm="80">
        <nvlink target="0000:c0:00.0" count="6" tclass="0x068000"/><nvlink target="0000:c1:00.0" count="6" tclass="0x068000"/></gpu></pci>
      <pci busid="0000:13:00.0" class="0x020700"><nic><net name="a" dev="0" speed="200000"/><net name="b" dev="1" speed="200000"/></nic></pci>
    </pci></cpu></system>)";
  NodeTopology t = ParseNodeTopology(xml, "tolerant.xml");
  EXPECT_TRUE(t.has_nvswitch);
  EXPECT_EQ(t.nics.size(), 2u);
  NodePaths p = ComputeNodePaths(t);
  EXPECT_EQ(p.gpu_gpu[0][1].type, PathType::kNvl);
  EXPECT_DOUBLE_EQ(p.gpu_gpu[0][1].bw, 12 * 20.0 * kGBps);  // 12 links x SM80 20 GB/s through the switch
  EXPECT_DOUBLE_EQ(p.gpu_nic[1][1].bw, 24 * kGBps);
  EXPECT_EQ(p.local_nic[0], 0);
  EXPECT_EQ(p.local_nic[1], 1);  // two equal NICs pair up one-to-one
}

TEST(NodeTopology, C2cLinkToCpu) {
  const char* xml = R"(<system version="1"><cpu numaid="0" arch="arm64" vendor="NVIDIA">
    <pci busid="0000:01:00.0" class="0x030200" link_speed="32.0 GT/s PCIe" link_width="16">
      <gpu dev="0" sm="90"><c2c bw="40000" count="10"/></gpu></pci>
    <pci busid="0000:02:00.0" class="0x030200" link_speed="32.0 GT/s PCIe" link_width="16">
      <gpu dev="1" sm="90"><c2c bw="40000" count="10"/></gpu></pci></cpu></system>)";
  NodeTopology t = ParseNodeTopology(xml, "gh.xml");
  NodePaths p = ComputeNodePaths(t);
  // GPU0 -> CPU -> GPU1 over C2C (400 GB/s) beats PCIe through the CPU (48 GB/s, PHB); only PCIe
  // hops through a CPU count as PHB in NCCL, so the path stays C2C.
  EXPECT_EQ(p.gpu_gpu[0][1].type, PathType::kC2c);
  EXPECT_DOUBLE_EQ(p.gpu_gpu[0][1].bw, 400 * kGBps);
  bool has_c2c = false;
  for (const Link& l : t.graph.links) has_c2c |= l.kind == LinkKind::kC2C && l.bandwidth == 400 * kGBps;
  EXPECT_TRUE(has_c2c);  // 40000 MB/s x 10 / 1000
}

TEST(Paths, Dgx1HybridCubeMesh) {
  NodeTopology t = LoadNodeTopology("dgx1-v100");
  NodePaths p = ComputeNodePaths(t);
  // NVLink neighbours: one hop NVL, 20 GB/s per link (SM70), doubled links 40.
  EXPECT_EQ(p.gpu_gpu[0][1].type, PathType::kNvl);
  EXPECT_DOUBLE_EQ(p.gpu_gpu[0][1].bw, 20 * kGBps);
  EXPECT_EQ(p.gpu_gpu[0][3].type, PathType::kNvl);
  EXPECT_DOUBLE_EQ(p.gpu_gpu[0][3].bw, 40 * kGBps);
  EXPECT_EQ(p.gpu_gpu[0][4].type, PathType::kNvl);
  // GPU0 and GPU5 share no NVLink: two NVLink hops through GPU1 (NVB, min(20, 40) = 20 GB/s) beat
  // the PCIe route across both CPUs.
  EXPECT_EQ(p.gpu_gpu[0][5].type, PathType::kNvb);
  EXPECT_DOUBLE_EQ(p.gpu_gpu[0][5].bw, 20 * kGBps);
  EXPECT_EQ(p.gpu_gpu[0][5].links.size(), 2u);
  // GPU0 -> NIC0 on its own PCIe switch: PIX at Gen3 x16 = 12 GB/s.
  EXPECT_EQ(p.gpu_nic[0][0].type, PathType::kPix);
  EXPECT_DOUBLE_EQ(p.gpu_nic[0][0].bw, 12 * kGBps);
  // NIC2 hangs off CPU1: reached through GPU4's switch via NVLink (PXN) rather than across CPUs.
  EXPECT_EQ(p.gpu_nic[0][2].type, PathType::kPxn);
}

TEST(Paths, PcieServerTypes) {
  NodeTopology t = LoadNodeTopology("pcie-8gpu");
  NodePaths p = ComputeNodePaths(t);
  EXPECT_EQ(p.gpu_gpu[0][1].type, PathType::kPix);  // same switch
  EXPECT_EQ(p.gpu_gpu[0][2].type, PathType::kPhb);  // two switches under one CPU
  EXPECT_EQ(p.gpu_gpu[0][4].type, PathType::kSys);  // across sockets
  EXPECT_DOUBLE_EQ(p.gpu_gpu[0][4].bw, 10 * kGBps);  // Ice Lake (model 106): NCCL's Skylake-class QPI, 10 GB/s
}

}  // namespace
}  // namespace proteus

namespace proteus {
namespace {

// DGX A100 (data/topos/dgx-a100.xml): GPU0 hangs off PCIe switch 14 (with NIC0), under switch 10
// (with GPU1's switch 1c), under CPU0; GPUs 4-7 sit under CPU1. The host route is those three PCIe
// hops, 24 GB/s each (NCCL's Gen4 x16), type PHB; the way back is the reverse links.
TEST(NodePaths, GpuToLocalCpuGoesUpItsOwnPcieSwitches) {
  NodeTopology t = LoadNodeTopology("dgx-a100");
  NodePaths p = ComputeNodePaths(t);
  const Path& up = p.gpu_cpu[0];
  ASSERT_EQ(up.links.size(), 3u);
  EXPECT_EQ(up.type, PathType::kPhb);
  EXPECT_DOUBLE_EQ(up.bw, 24 * kGBps);
  EXPECT_EQ(t.graph.links[up.links.front()].src, t.gpus[0]);
  EXPECT_EQ(t.graph.links[up.links.back()].dst, p.local_cpu[0]);
  EXPECT_EQ(t.graph.vertices[p.local_cpu[0]].kind, VertexKind::kCpu);
  for (LinkId l : up.links) EXPECT_EQ(t.graph.links[l].kind, LinkKind::kPcie);
  // GPU1 shares the last hop (switch 10 -> CPU0) with GPU0, GPU2 does not.
  EXPECT_EQ(p.gpu_cpu[1].links.back(), up.links.back());
  EXPECT_NE(p.gpu_cpu[2].links.back(), up.links.back());
  EXPECT_EQ(p.local_cpu[2], p.local_cpu[0]);
  EXPECT_NE(p.local_cpu[4], p.local_cpu[0]);
  // GPU0's first hop is the one its NIC traffic takes too.
  EXPECT_EQ(p.gpu_nic[0][p.local_nic[0]].links.front(), up.links.front());
  const Path& down = p.cpu_gpu[0];
  ASSERT_EQ(down.links.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(down.links[i], t.reverse[up.links[2 - i]]);
  EXPECT_EQ(t.graph.links[down.links.back()].dst, t.gpus[0]);
}

}  // namespace
}  // namespace proteus
