#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <map>

#include "common/costdb.h"
#include "common/error.h"
#include "common/units.h"
#include "topo/coll_table.h"
#include "topo/measured_model.h"
#include "topo/nccl_model.h"

namespace proteus {
namespace {

std::vector<GpuId> Range(GpuId first, int n, int stride = 1) {
  std::vector<GpuId> g;
  for (int i = 0; i < n; ++i) g.push_back(first + i * stride);
  return g;
}

// Bytes each GPU sends (flows whose first link leaves the GPU's vertex).
std::map<GpuId, double> EgressBytes(const Cluster& c, const CollectivePlan& plan) {
  std::map<NodeId, GpuId> gpu_of_vertex;
  for (GpuId g = 0; g < c.NumGpus(); ++g) gpu_of_vertex[c.gpu_vertex[g]] = g;
  std::map<GpuId, double> out;
  for (const auto& f : plan.flows) {
    auto it = gpu_of_vertex.find(c.graph.LinkAt(f.links.front()).src);
    if (it != gpu_of_vertex.end()) out[it->second] += f.bytes;
  }
  return out;
}

void ExpectFlowContract(const Cluster& c, const CollectivePlan& plan) {
  std::map<LinkId, double> rate;
  for (const auto& f : plan.flows) {
    ASSERT_FALSE(f.links.empty());
    EXPECT_NEAR(f.bytes / f.max_rate, plan.time_s - plan.latency_s, 1e-9 * plan.time_s);
    for (size_t i = 0; i + 1 < f.links.size(); ++i)  // a route is connected
      EXPECT_EQ(c.graph.LinkAt(f.links[i]).dst, c.graph.LinkAt(f.links[i + 1]).src);
    for (LinkId l : f.links) rate[l] += f.max_rate;
  }
  for (const auto& [l, r] : rate) EXPECT_LE(r, c.graph.LinkAt(l).bandwidth * (1 + 1e-9)) << "link " << l;
}

TEST(Collective, H100NodeUsesNvlsForLargeAndLlRingForSmall) {
  Cluster c = LoadCluster("dgx-h100-1");
  auto model = MakeCollectiveModel(c, nullptr);
  CollectivePlan big = model->Plan({CollOp::kAllReduce, Range(0, 8), kGiB, DType::kFp32});
  EXPECT_EQ(big.algo, "nvls");
  // 8 channels x 40 GB/s x 5/6 = 266.7 GB/s; 23 us latency: 1 GiB -> 23 us + 4026.5 us, plus the NVLS
  // pipeline fill: chunk 128 KiB (1 GiB is not below 64 x 16 x 8 x 128 KiB), loop 16 x 8 x 128 KiB = 16 MiB,
  // fill = (3 - 1) x 16 MiB / 266.7 GB/s = 125.8 us.
  const double alg_bw = 8 * 40 * kGBps * 5 / 6;
  EXPECT_NEAR(big.time_s, 23e-6 + kGiB / alg_bw + 2 * 16 * kMiB / alg_bw, 1e-9);
  EXPECT_EQ(big.source, "topology-model");
  CollectivePlan small = model->Plan({CollOp::kAllReduce, Range(0, 8), 8, DType::kFp32});
  EXPECT_EQ(small.algo, "ring");
  EXPECT_EQ(small.proto, "ll");
  EXPECT_NEAR(small.time_s, (6.6 + 14 * 0.6) * 1e-6, 1e-8);  // baseLat + 2(n-1) x hwLat(NVLink, ring, LL)
}

TEST(Collective, RingAllReduceFlowsConserveBytes) {
  Cluster c = LoadCluster("dgx-a100-1");
  auto model = MakeCollectiveModel(c, nullptr);
  const int64_t s = 256 * kMiB;
  CollectivePlan plan = model->Plan({CollOp::kAllReduce, Range(0, 8), s, DType::kBf16});
  ASSERT_EQ(plan.algo, "ring");
  auto egress = EgressBytes(c, plan);
  ASSERT_EQ(egress.size(), 8u);
  for (const auto& [g, b] : egress) EXPECT_NEAR(b, 2.0 * 7 / 8 * s, 1) << g;  // 2(n-1)/n x S per rank
  ExpectFlowContract(c, plan);
  EXPECT_LE(plan.flows.size(), 8u);  // one per hop: all channels share the same NVSwitch routes
}

TEST(Collective, MultiNodeRingUsesNicsAndConservesBytes) {
  Cluster c = LoadCluster("dgx-a100-4");
  CollectiveModelOptions ring;
  ring.force_algo = NcclAlgo::kRing;
  ring.force_proto = NcclProto::kSimple;
  auto model = MakeCollectiveModel(c, nullptr, ring);
  const int64_t s = kGiB;
  CollectivePlan plan = model->Plan({CollOp::kAllReduce, Range(0, 32), s, DType::kBf16});
  double total = 0, on_nics = 0;
  for (const auto& f : plan.flows) {
    total += f.bytes;
    for (LinkId l : f.links)
      if (c.graph.LinkAt(l).kind == LinkKind::kNet && c.graph.VertexAt(c.graph.LinkAt(l).src).kind == VertexKind::kNic)
        on_nics += f.bytes;
  }
  EXPECT_NEAR(total, 32 * 2.0 * 31 / 32 * s, 1e3);  // n x 2(n-1)/n x S
  // Each node boundary carries one hop's worth (2(n-1)/n x S) split over the channels' NICs.
  EXPECT_NEAR(on_nics, 4 * 2.0 * 31 / 32 * s, 1e3);
  ExpectFlowContract(c, plan);
  // 8 channels x 24 GB/s (HDR NIC behind Gen4 PCIe): busbw = 192 GB/s, the maintainers' DGX-A100 figure.
  double busbw = s / (plan.time_s - plan.latency_s) * 2 * 31 / 32;
  EXPECT_NEAR(busbw / kGBps, 192, 1);
}

TEST(Collective, NvlsFlowsSendAndReceiveTheBuffer) {
  Cluster c = LoadCluster("dgx-h100-1");
  auto model = MakeCollectiveModel(c, nullptr);
  CollectivePlan plan = model->Plan({CollOp::kAllReduce, Range(0, 8), kGiB, DType::kBf16});
  ASSERT_EQ(plan.algo, "nvls");
  ASSERT_EQ(plan.flows.size(), 16u);  // per GPU: up to the switch and back
  for (const auto& f : plan.flows) EXPECT_DOUBLE_EQ(f.bytes, double(kGiB));
  ExpectFlowContract(c, plan);
}

TEST(Collective, AllToAllAndSendRecv) {
  Cluster c = LoadCluster("dgx-h100-2");
  auto model = MakeCollectiveModel(c, nullptr);
  const int64_t s = 64 * kMiB;
  CollectivePlan a2a = model->Plan({CollOp::kAllToAll, Range(0, 16), s, DType::kBf16});
  EXPECT_EQ(a2a.algo, "p2p");
  double total = 0;
  for (const auto& f : a2a.flows) total += f.bytes;
  EXPECT_NEAR(total, 16 * 15.0 / 16 * s, 1);  // every rank sends (n-1)/n of its buffer
  ExpectFlowContract(c, a2a);
  CollectivePlan local = model->Plan({CollOp::kSendRecv, {0, 1}, s, DType::kBf16});
  CollectivePlan remote = model->Plan({CollOp::kSendRecv, {0, 8}, s, DType::kBf16});
  EXPECT_LT(local.time_s, remote.time_s);  // 370.8 GB/s NVLink vs a 50 GB/s NIC
  ASSERT_EQ(remote.flows.size(), 1u);
  EXPECT_DOUBLE_EQ(remote.flows[0].bytes, double(s));
  ExpectFlowContract(c, remote);
}

TEST(Collective, SingleRankIsLocal) {
  Cluster c = LoadCluster("dgx-h100-1");
  auto model = MakeCollectiveModel(c, nullptr);
  CollectivePlan p = model->Plan({CollOp::kAllReduce, {3}, kMiB, DType::kBf16});
  EXPECT_EQ(p.algo, "local");
  EXPECT_TRUE(p.flows.empty());
}

// The smallest size of a doubling sweep at which the Simple protocol is chosen.
int64_t SimpleFrom(const Cluster& c, const std::vector<GpuId>& group) {
  auto model = MakeCollectiveModel(c, nullptr);
  for (int64_t b = 1024; b <= 16 * kGiB; b *= 2)
    if (model->Plan({CollOp::kAllReduce, group, b, DType::kBf16}).proto == "simple") return b;
  return -1;
}

TEST(Collective, SwitchPointsMoveWithLatencyAndBandwidth) {
  Cluster fast = MakeHomogeneousCluster("dgx-a100", 4, 200);
  Cluster slow_net = MakeHomogeneousCluster("dgx-a100", 4, 200);
  slow_net.fabric.latency_s = 20e-6;  // a high-latency fabric makes Simple's extra steps costlier
  auto group = Range(0, 32);
  int64_t base = SimpleFrom(fast, group), later = SimpleFrom(slow_net, group);
  ASSERT_GT(base, 0);
  EXPECT_GT(later, base);
  // A slower network makes the transfer dominate at smaller sizes, so the most bandwidth-efficient
  // protocol (Simple) takes over earlier.
  Cluster thin = MakeHomogeneousCluster("dgx-a100", 4, 25);
  EXPECT_LT(SimpleFrom(thin, group), base);
}

TEST(Collective, NcclVersionChangesTheChoice) {
  Cluster c = LoadCluster("dgx-h100-1");
  CollectiveModelOptions old;
  old.nccl_version = "2.10.3";
  auto m = MakeCollectiveModel(c, nullptr, old);
  EXPECT_EQ(m->Plan({CollOp::kAllReduce, Range(0, 8), kGiB, DType::kBf16}).algo, "ring");  // no NVLS before 2.17
  EXPECT_THROW(NcclTuningFor("1.3"), UserError);
  EXPECT_EQ(NcclTuningFor("2.22.3").version, "2.21");
}

TEST(Collective, PatForOneGpuPerNode) {
  Cluster c = LoadCluster("dgx-h100-16");
  auto model = MakeCollectiveModel(c, nullptr);
  // One GPU per node (a DP group under TP8): NCCL 2.23 offers PAT for all_gather; its log-depth
  // latency wins somewhere in the middle sizes, the ring at the largest.
  bool pat = false;
  for (int64_t b = kKiB; b <= 64 * kMiB; b *= 2)
    pat |= model->Plan({CollOp::kAllGather, Range(0, 16, 8), b, DType::kBf16}).algo == "pat";
  EXPECT_TRUE(pat);
  CollectivePlan big = model->Plan({CollOp::kAllGather, Range(0, 16, 8), kGiB, DType::kBf16});
  EXPECT_EQ(big.algo, "ring");
  ExpectFlowContract(c, big);
}

TEST(Collective, MeasuredCurveWinsAndIsInterpolatedInLogSize) {
  Cluster c = LoadCluster("dgx-h100-1");
  CostDb db;
  CollectiveCurve curve;
  curve.key = {"all_reduce", 8, 1, 8, "default", "default", DType::kBf16};
  curve.points = {{kMiB, 30e-6, 0, 0}, {4 * kMiB, 60e-6, 0, 0}};
  db.PutCurve(curve);
  auto model = MakeCollectiveModel(c, &db);
  CollectivePlan p = model->Plan({CollOp::kAllReduce, Range(0, 8), 2 * kMiB, DType::kBf16});
  EXPECT_NEAR(p.time_s, 45e-6, 1e-12);  // halfway between log2(1 MiB) and log2(4 MiB)
  EXPECT_EQ(p.source, "measured:" + curve.key.ToString());
  ExpectFlowContract(c, p);
  // Another dtype has no curve: the model answers.
  EXPECT_EQ(model->Plan({CollOp::kAllReduce, Range(0, 8), 2 * kMiB, DType::kFp32}).source, "topology-model");
  // Beyond the last point the last bandwidth holds.
  EXPECT_NEAR(model->Plan({CollOp::kAllReduce, Range(0, 8), 8 * kMiB, DType::kBf16}).time_s, 120e-6, 1e-12);
}

TEST(Collective, LargeClusterPlansQuickly) {
  Cluster c = MakeHomogeneousCluster("dgx-h100", 2048, 400);
  auto model = MakeCollectiveModel(c, nullptr);
  auto dp = Range(0, 2048, 8);  // one GPU per node
  auto start = std::chrono::steady_clock::now();
  CollectivePlan plan = model->Plan({CollOp::kAllReduce, dp, 512 * kMiB, DType::kBf16});
  const int kTp = 200;
  for (int i = 0; i < kTp; ++i) model->Plan({CollOp::kAllReduce, Range(8 * i, 8), (i + 1) * kMiB, DType::kBf16});
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("2048-rank ring + %d TP plans: %.1f ms; %zu flows in the ring\n", kTp, ms, plan.flows.size());
  EXPECT_LE(plan.flows.size(), 4u * 2048);  // proportional to the group
  ExpectFlowContract(c, plan);
}

}  // namespace
}  // namespace proteus

namespace proteus {
namespace {

TEST(Collective, CollNetOnlyWhereTheFabricOffersIt) {
  auto has_collnet = [](const std::string& cluster) {
    Cluster c = LoadCluster(cluster);
    TopologyCollectiveModel m(c);
    bool any = false;
    for (const auto& e : m.Estimates({CollOp::kAllReduce, Range(0, 128), 64 * kMiB, DType::kBf16}))
      any |= e.algo == NcclAlgo::kCollNetDirect || e.algo == NcclAlgo::kCollNetChain;
    return any;
  };
  EXPECT_TRUE(has_collnet("dgx-h100-16-sharp"));
  EXPECT_FALSE(has_collnet("dgx-h100-16"));
  Cluster c = LoadCluster("dgx-h100-16-sharp");
  CollectiveModelOptions force;
  force.force_algo = NcclAlgo::kCollNetDirect;
  auto m = MakeCollectiveModel(c, nullptr, force);
  CollectivePlan p = m->Plan({CollOp::kAllReduce, Range(0, 128), 64 * kMiB, DType::kBf16});
  EXPECT_EQ(p.algo, "collnet_direct");
  ExpectFlowContract(c, p);
}

TEST(Collective, TcpFabricDisablesLl128AcrossNodes) {
  Cluster c = LoadCluster("dgx-a100-4-eth10");
  TopologyCollectiveModel m(c);
  for (const auto& e : m.Estimates({CollOp::kAllReduce, Range(0, 32), 64 * kMiB, DType::kBf16}))
    EXPECT_NE(e.proto, NcclProto::kLl128) << AlgoName(e.algo);
}

}  // namespace
}  // namespace proteus
