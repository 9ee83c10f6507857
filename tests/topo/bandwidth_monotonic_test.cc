// Property: more bandwidth never makes a collective slower. For several node topologies and
// fabrics, every op, group shape and size from 8 B to 256 MiB, the predicted time must not grow
// when the NIC speed doubles (0.5 Gb/s up to 512 Gb/s) nor when every link doubles (ScaleBandwidth).
// Also: any positive NIC speed, however slow, plans (NCCL always finds a ring).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/units.h"
#include "topo/bandwidth_scale.h"
#include "topo/cluster.h"
#include "topo/measured_model.h"
#include "topo/nccl_model.h"
#include "tests/common/process_temp_dir.h"

namespace proteus {
namespace {

struct ClusterSetup {
  std::string topology, transport;
  int nodes;
};

Cluster MakeCluster(const ClusterSetup& s, double nic_gbps) {
  std::ostringstream json;
  json << R"({"format": "proteus.cluster/1", "name": "mono", "node_groups": [{"name": "g", "count": )" << s.nodes
       << R"(, "gpu": ")" << (s.topology == "dgx-a100" ? "A100-SXM4-80GB" : "V100-SXM2-32GB")
       << R"(", "topology": ")" << s.topology << R"("}], "fabric": {"kind": "fat-tree", "transport": ")"
       << s.transport << R"(", "nic_gbps": )" << nic_gbps << R"(, "latency_us": 5, "oversubscription": 1.0}})";
  std::string path = ProcessTempPath("proteus_mono_cluster.json");
  {
    std::ofstream f(path);
    f << json.str();
  }
  Cluster c = LoadCluster(path);
  std::remove(path.c_str());
  return c;
}

// Groups: whole cluster, two GPUs per node, one GPU per node (first GPUs of each node), one node.
std::vector<std::vector<GpuId>> Groups(const Cluster& c) {
  const int nodes = static_cast<int>(c.node_first_gpu.size());
  const int per_node = c.NumGpus() / nodes;
  std::vector<std::vector<GpuId>> out(4);
  for (int n = 0; n < nodes; ++n) {
    for (int l = 0; l < per_node; ++l) {
      GpuId g = c.node_first_gpu[n] + l;
      out[0].push_back(g);
      if (l < 2) out[1].push_back(g);
      if (l == 0) out[2].push_back(g);
      if (n == 0) out[3].push_back(g);
    }
  }
  return out;
}

const std::vector<CollOp> kOps = {CollOp::kAllReduce, CollOp::kAllGather, CollOp::kReduceScatter,
                                  CollOp::kBroadcast, CollOp::kReduce};

// Predicted time for every (group, op, size), in a fixed order.
std::vector<double> Times(const Cluster& c) {
  auto model = MakeCollectiveModel(c, nullptr);
  std::vector<double> out;
  for (const auto& group : Groups(c))
    for (CollOp op : kOps)
      for (int64_t bytes = 8; bytes <= 256 * kMiB; bytes *= 2)
        out.push_back(model->Plan({op, group, bytes, DType::kFp32}).time_s);
  return out;
}

std::string Describe(size_t i) {
  const int sizes = 26;  // 8 B .. 256 MiB
  size_t per_group = kOps.size() * sizes;
  std::ostringstream s;
  s << "group " << i / per_group << ", op " << (i % per_group) / sizes << ", bytes " << (int64_t{8} << (i % sizes));
  return s.str();
}

// `slow` and `fast` come from the same requests; fast may not exceed slow (1e-9 relative slack).
void ExpectNotSlower(const std::vector<double>& slow, const std::vector<double>& fast, const std::string& what) {
  ASSERT_EQ(slow.size(), fast.size());
  int failures = 0;
  for (size_t i = 0; i < slow.size() && failures < 40; ++i) {
    if (fast[i] > slow[i] * (1 + 1e-9)) {
      ++failures;
      ADD_FAILURE() << what << ", " << Describe(i) << ": " << slow[i] * 1e6 << " us -> " << fast[i] * 1e6 << " us";
    }
  }
}

const std::vector<ClusterSetup> kSetups = {{"pcie-4gpu", "tcp", 2}, {"dgx-a100", "rdma", 2}, {"dgx1-v100", "rdma", 2}};

TEST(BandwidthMonotonic, FasterNicNeverSlowsACollective) {
  for (const ClusterSetup& s : kSetups) {
    std::vector<double> prev;
    double prev_gbps = 0;
    for (double gbps = 0.5; gbps <= 512; gbps *= 2) {
      std::vector<double> now = Times(MakeCluster(s, gbps));
      if (!prev.empty())
        ExpectNotSlower(prev, now, s.topology + " " + std::to_string(prev_gbps) + " -> " + std::to_string(gbps) + " Gb/s");
      prev = std::move(now);
      prev_gbps = gbps;
    }
  }
}

TEST(BandwidthMonotonic, DoublingEveryLinkNeverSlowsACollective) {
  for (const ClusterSetup& s : kSetups) {
    for (double gbps : {1.0, 25.0, 200.0}) {
      Cluster base = MakeCluster(s, gbps);
      Cluster doubled = ScaleBandwidth(base, 2.0);
      ExpectNotSlower(Times(base), Times(doubled), s.topology + " at " + std::to_string(gbps) + " Gb/s, all links x2");
    }
  }
}

TEST(BandwidthMonotonic, AnyPositiveNicSpeedPlans) {
  // NCCL's search ends, failing every speed, with one channel on a trivial ring (search.cc); the
  // plan then takes at least the bytes over the slowest link.
  for (double gbps : {0.5, 0.1, 0.001}) {
    Cluster c = MakeCluster({"pcie-4gpu", "tcp", 2}, gbps);
    auto model = MakeCollectiveModel(c, nullptr);
    for (CollOp op : kOps) {
      CollectivePlan p = model->Plan({op, Groups(c)[0], 4 * kMiB, DType::kFp32});
      EXPECT_GT(p.time_s, 0);
      EXPECT_GE(p.channels, 1);
    }
    // all_reduce across two nodes moves at least the whole buffer through each node's NIC (tree: up
    // and down once; ring: 2 x 7/8 of it): at least 4 MiB over the NIC speed.
    CollectivePlan ar = model->Plan({CollOp::kAllReduce, Groups(c)[0], 4 * kMiB, DType::kFp32});
    EXPECT_GE(ar.time_s, 4 * kMiB / (gbps * kGbps) * (1 - 1e-9)) << gbps;
  }
}

}  // namespace
}  // namespace proteus

namespace proteus {
namespace {

TEST(LaunchedChannels, OneChannelAloneRunsAtTheSingleChannelSpeed) {
  // 2 pcie-4gpu nodes over TCP, 5 Gb/s = 0.625 GB/s per NIC. The search (speeds ..., 1.2, 0.24, 0.12)
  // finds 2 x 0.24 = 0.48, then 5 x 0.12 = 0.6 (more), as NCCL does; one channel alone gets 0.24.
  Cluster c = MakeCluster({"pcie-4gpu", "tcp", 2}, 5);
  TopologyCollectiveModel m(c);
  std::vector<GpuId> group = {0, 1, 4, 5};  // two GPUs per node
  bool seen = false;
  for (const AlgoEstimate& e : m.Estimates({CollOp::kAllReduce, group, 16 * kKiB, DType::kFp32})) {
    if (e.algo != NcclAlgo::kRing || e.proto != NcclProto::kLl) continue;
    seen = true;
    EXPECT_EQ(e.channels, 5);
    // NCCL's model: busBw 5 x 0.12 / 4 (LL) = 0.15 GB/s; algBw = 0.15 x 4 ranks / 6 steps = 0.1 GB/s.
    EXPECT_NEAR(e.bw, 0.1 * kGBps, 1e-6 * kGBps);
    // LL ring launches a channel per 512 threads x 8 B x 4 ranks = 16 KiB: 16 KiB < 2 x 16 KiB gives
    // one channel, at min(0.24 single, 0.6 / 1) = 0.24 GB/s: 0.24 / 4 x 4 / 6 = 0.04 GB/s algBw
    // (at its search speed, 0.12, it would be 0.02).
    EXPECT_EQ(e.run_channels, 1);
    EXPECT_NEAR(e.run_bw, 0.04 * kGBps, 1e-6 * kGBps);
  }
  EXPECT_TRUE(seen);
}

TEST(LaunchedChannels, ForcedAlgorithmNcclDoesNotOfferIsAUserError) {
  Cluster c = MakeCluster({"dgx-a100", "rdma", 2}, 200);
  auto model = MakeCollectiveModel(c, nullptr, CollectiveModelOptions{"", NcclAlgo::kTree, std::nullopt});
  EXPECT_THROW(model->Plan({CollOp::kBroadcast, Groups(c)[0], kMiB, DType::kFp32}), UserError);
}

}  // namespace
}  // namespace proteus
