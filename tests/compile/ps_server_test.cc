// The BytePS parameter server's push and pull (compile/ps_server.h) on the ddl-benchmarks cluster:
// 8 nodes x 4 PCIe GPUs, one 10 Gb/s NIC each (its link: NicBw() B/s), fabric latency 25 us, V100 nodes whose
// default CPU (Xeon E5-2698 v4) has 76.8 GB/s of DRAM bandwidth per socket.
#include "simulator/compile/ps_server.h"

#include <map>
#include <numeric>

#include <gtest/gtest.h>

#include "common/error.h"
#include "simulator/compile/host_offload.h"
#include "tests/user_error_text.h"

namespace proteus {
namespace {

constexpr double kSumBw = 76.8e9;

const Cluster& Ddl() {
  static const Cluster c = LoadCluster("pcie-4gpu-8-10gbe");
  return c;
}

// The NIC links' bandwidth as the cluster builds them (10 Gb/s less the fabric model's derating).
double NicBw() { return Ddl().graph.Bandwidth(Ddl().nic_uplink[0][0]); }

DpReduction Ps(int servers, bool colocated) {
  DpReduction r;
  r.method = DpMethod::kPs;
  r.ps_servers = servers;
  r.ps_colocated = colocated;
  return r;
}

// Worker nodes 0..w-1 and their roots (the first GPU of each, 4 GPUs per node).
std::vector<int> Nodes(int w) {
  std::vector<int> n(w);
  std::iota(n.begin(), n.end(), 0);
  return n;
}
std::vector<GpuId> Roots(int w) {
  std::vector<GpuId> r;
  for (int n = 0; n < w; ++n) r.push_back(4 * n);
  return r;
}

std::map<LinkId, double> Load(const CollectivePlan& p) {
  std::map<LinkId, double> load;
  for (const FlowSpec& f : p.flows)
    for (LinkId l : f.links) load[l] += f.bytes;
  return load;
}

// Per worker the bytes of the flows leaving its root GPU (first link: its GPU -> CPU copy) and of
// those arriving at it (last link: the CPU -> GPU copy).
double WorkerBytes(const CollectivePlan& p, GpuId root) {
  const Cluster& c = Ddl();
  const int node = c.gpu_node[root];
  const auto up = c.GlobalLinks(node, c.PathsOf(node).gpu_cpu[c.LocalIndex(root)].links);
  const auto down = c.GlobalLinks(node, c.PathsOf(node).cpu_gpu[c.LocalIndex(root)].links);
  double bytes = 0;
  for (const FlowSpec& f : p.flows) {
    if (f.links.front() == up.front()) bytes += f.bytes;
    if (f.links.back() == down.back()) bytes += f.bytes;
  }
  return bytes;
}

// The invariant of a parameter server: every worker pushes its whole gradient and pulls the whole
// sum back, 2 x the gradient, whatever the servers' number, placement and the piece boundaries.
TEST(PsServers, EveryWorkerMovesTwiceTheGradient) {
  for (bool colocated : {false, true})
    for (int servers : {1, 3, 8})
      for (int64_t bytes : {int64_t{1}, int64_t{4096000}, int64_t{4096001}, int64_t{102'760'448}}) {
        PsServers ps(Ddl(), Ps(servers, colocated), Nodes(8), kSumBw, "--ps-servers");
        CollectivePlan p = ps.Plan(Roots(8), bytes, 5);
        for (GpuId root : Roots(8))
          EXPECT_DOUBLE_EQ(WorkerBytes(p, root), 2.0 * static_cast<double>(bytes))
              << "colocated " << colocated << ", " << servers << " servers, " << bytes << " bytes, root " << root;
      }
}

// The header's worked example: 2 workers, 2 separate servers, one 8e6-byte tensor in pieces of
// 4096000 and 3904000 bytes. Each worker's uplink carries 8e6 bytes, server 0's downlink the larger
// piece from both workers, 8192000 bytes: the busiest link, 8192000 / NIC bandwidth; the
// latency is 2 x 10 us (host copies) + 2 x 25 us (fabric) + the larger piece's sum
// 2 x 4096000 / 76.8e9 = 106.7 us.
TEST(PsServers, TwoWorkersTwoServersWorkedExample) {
  PsServers ps(Ddl(), Ps(0, false), Nodes(2), kSumBw, "--ps-servers");
  EXPECT_EQ(ps.Servers(), 2);  // default: one per worker node
  ASSERT_EQ(ps.ExtraLinkCapacities(), (std::vector<double>{NicBw(), NicBw(), NicBw(), NicBw()}));
  CollectivePlan p = ps.Plan(Roots(2), 8'000'000, 0);
  const double latency = 2 * kHostCopyLatencyS + 2 * 25e-6 + 2 * 4096000 / kSumBw;
  std::printf("expected %.6f ms = %.6f + 8192000 / %.4g, got %.6f\n", (latency + 8192000 / NicBw()) * 1e3,
              latency * 1e3, NicBw(), p.time_s * 1e3);
  EXPECT_NEAR(p.latency_s, latency, 1e-12);
  EXPECT_NEAR(p.time_s, latency + 8192000 / NicBw(), 1e-12);
  EXPECT_EQ(p.algo, kPsAlgo);
  // Server 0's downlink (the first added link) takes piece 0 from both workers.
  const LinkId base = Ddl().graph.NumLinks();
  EXPECT_DOUBLE_EQ(Load(p)[base], 2 * 4096000.0);
  EXPECT_DOUBLE_EQ(Load(p)[base + 2], 2 * 3904000.0);
  // Alone, every flow ends with the busiest link.
  for (const FlowSpec& f : p.flows) EXPECT_NEAR(f.bytes / f.max_rate, p.time_s - p.latency_s, 1e-12);
}

// Piece j of the stage's sequence goes to server j mod S: 5 pieces from position 2 over 3 servers
// land on servers 2, 0, 1, 2, 0.
TEST(PsServers, PiecesGoRoundRobinOverTheServers) {
  PsServers ps(Ddl(), Ps(3, false), Nodes(4), kSumBw, "--ps-servers");
  CollectivePlan p = ps.Plan(Roots(4), 5 * 4096000, 2);
  const LinkId base = Ddl().graph.NumLinks();
  auto load = Load(p);
  EXPECT_DOUBLE_EQ(load[base + 0], 4 * 2 * 4096000.0);  // server 0 down: 2 pieces from 4 workers
  EXPECT_DOUBLE_EQ(load[base + 2], 4 * 1 * 4096000.0);  // server 1
  EXPECT_DOUBLE_EQ(load[base + 4], 4 * 2 * 4096000.0);  // server 2
  EXPECT_DOUBLE_EQ(load[base + 5], 4 * 2 * 4096000.0);  // server 2 up: the pulls
}

// Co-located servers add no links; a worker's piece for its own node's server never reaches the
// NIC, so each NIC's uplink carries (W - 1) / W of the pushes plus its server's pulls to the others.
TEST(PsServers, ColocatedServersShareTheWorkersNics) {
  PsServers ps(Ddl(), Ps(0, true), Nodes(4), kSumBw, "--ps-servers");
  EXPECT_TRUE(ps.ExtraLinkCapacities().empty());
  CollectivePlan p = ps.Plan(Roots(4), 4 * 4096000, 0);  // one piece per server
  auto load = Load(p);
  for (int n = 0; n < 4; ++n) {
    const LinkId up = Ddl().nic_uplink[n][0];
    EXPECT_DOUBLE_EQ(load[up], 3 * 4096000.0 + 3 * 4096000.0) << "node " << n;
    EXPECT_DOUBLE_EQ(load[up + 1], 3 * 4096000.0 + 3 * 4096000.0) << "node " << n;
  }
  for (const FlowSpec& f : p.flows)
    for (LinkId l : f.links) EXPECT_LT(l, Ddl().graph.NumLinks());
}

TEST(PsServers, MoreColocatedServersThanWorkerNodesAreRefused) {
  EXPECT_NE(ErrorOf([] { PsServers(Ddl(), Ps(5, true), Nodes(4), kSumBw, "--ps-servers"); }).find("--ps-servers: 5 co-located servers on 4 worker nodes"), std::string::npos);
  EXPECT_NO_THROW(PsServers(Ddl(), Ps(5, false), Nodes(4), kSumBw, "--ps-servers"));
}

Strategy DpStrategy(int dp, DpMethod method = DpMethod::kPs) {
  Strategy s;
  s.origin = "shorthand";
  s.mesh = {MeshAxis{"dp", dp}};
  s.dp_reduction.method = method;
  return s;
}

TEST(PsServers, WorkersMustBeWholeNodes) {
  EXPECT_EQ(PsRanksPerNode(DpStrategy(8), 8, Ddl()), 4);
  EXPECT_EQ(PsRanksPerNode(DpStrategy(2), 2, Ddl()), 2);  // one node, partly used: no servers
  EXPECT_FALSE(MakePsServers(DpStrategy(4), 4, Ddl()).has_value());
  EXPECT_EQ(MakePsServers(DpStrategy(32), 32, Ddl())->Servers(), 8);
  EXPECT_NE(ErrorOf([] { PsRanksPerNode(DpStrategy(6), 6, Ddl()); }).find("--dp-method: ps (BytePS) needs whole worker nodes"), std::string::npos);
  EXPECT_EQ(PsRanksPerNode(DpStrategy(6, DpMethod::kWfbp), 6, Ddl()), 1);  // other methods: no such rule
}

}  // namespace
}  // namespace proteus
