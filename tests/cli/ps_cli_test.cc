// --dp-method ps (the BytePS parameter server, compile/ps_server.h) end to end on the ddl-benchmarks
// cluster: ResNet-50 fp32, batch 64 per GPU, 8 nodes x 4 PCIe GPUs on 10 Gb/s Ethernet.
#include <string>

#include <gtest/gtest.h>

#include "common/log.h"
#include "simulator/pipeline/simulation.h"

namespace proteus {
namespace {

SimulationOutput Simulate(int gpus, const std::string& method, bool symmetry = true, int servers = 0, bool colocated = false) {
  SetLogLevel(LogLevel::kQuiet);
  SimulationRequest r;
  r.spec.model = "resnet50";
  r.spec.cluster = "pcie-4gpu-8-10gbe";
  r.spec.dtype = "fp32";
  r.spec.symmetry = symmetry;
  r.spec.flags.dp = gpus;
  r.spec.flags.mbs = 64;
  r.spec.flags.dp_method = method;
  if (servers > 0) r.spec.flags.ps_servers = servers;
  r.spec.flags.ps_colocated = colocated;
  return RunSimulation(r);
}

struct Counts {
  int reduce = 0, broadcast = 0, push_pull = 0, wgrad_tensors = 0;
};

Counts CountOnGpu0(const ExecGraph& g) {
  Counts c;
  for (const Task& t : g.tasks) {
    if (t.gpu != 0 || t.comm < 0) continue;
    const Comm& comm = g.comms[t.comm];
    if (comm.op == CollOp::kReduce) ++c.reduce;
    else if (comm.op == CollOp::kBroadcast) ++c.broadcast;
    else if (t.stream == StreamKind::kPsComm) ++c.push_pull;
  }
  return c;
}

int WfbpAllReduces(const ExecGraph& g) {
  int n = 0;
  for (const Task& t : g.tasks)
    if (t.gpu == 0 && t.comm >= 0 && g.comms[t.comm].op == CollOp::kAllReduce && t.stream == StreamKind::kDpComm) ++n;
  return n;
}

// One worker node: the node's GPUs reduce and broadcast each tensor; nothing goes to a server.
TEST(PsCli, OneNodeReducesAndBroadcastsInsideIt) {
  SimulationOutput ps = Simulate(4, "ps");
  const int tensors = WfbpAllReduces(Simulate(4, "wfbp").graph);
  ASSERT_GT(tensors, 100);  // ResNet-50's weight tensors, one all-reduce each under wfbp
  Counts c = CountOnGpu0(ps.graph);
  EXPECT_EQ(c.reduce, tensors);
  EXPECT_EQ(c.broadcast, tensors);
  EXPECT_EQ(c.push_pull, 0);
  EXPECT_EQ(ps.graph.link_capacity.size(), static_cast<size_t>(LoadCluster("pcie-4gpu-8-10gbe").graph.NumLinks()));
}

// Several nodes: per tensor a reduce, a push and pull on the ps stream, a broadcast; the separate
// servers' NICs are links after the cluster's (two per server).
TEST(PsCli, EveryTensorIsPushedAndPulledOnce) {
  SimulationOutput ps = Simulate(16, "ps");
  const int tensors = WfbpAllReduces(Simulate(16, "wfbp").graph);
  Counts c = CountOnGpu0(ps.graph);
  EXPECT_EQ(c.reduce, tensors);
  EXPECT_EQ(c.push_pull, tensors);
  EXPECT_EQ(c.broadcast, tensors);
  EXPECT_EQ(ps.graph.link_capacity.size(),
            static_cast<size_t>(LoadCluster("pcie-4gpu-8-10gbe").graph.NumLinks()) + 2 * 4);
  EXPECT_GT(ps.report.per_gpu.front().hidden_comm_s[static_cast<int>(StreamKind::kPsComm)] +
                ps.report.per_gpu.front().exposed_comm_s[static_cast<int>(StreamKind::kPsComm)],
            0);
}

// One simulated GPU stands for all: its push and pull plan carries every worker's flows, and the
// nodes' other GPUs take no part. Simulating every GPU gives the same iteration but for the other
// nodes' reduces and broadcasts, which there share those nodes' PCIe links with the push and pull
// flows (under symmetry no mirror stands for them there): within 1e-5.
TEST(PsCli, SymmetryAgreesWithEveryGpuSimulated) {
  double sym = Simulate(8, "ps", true).report.iteration_time_s;
  double all = Simulate(8, "ps", false).report.iteration_time_s;
  std::printf("ps 8 GPUs: symmetry %.6f s, every GPU %.6f s\n", sym, all);
  EXPECT_NEAR(sym, all, 1e-5 * all);
}

// One server takes every worker's pushes on its one NIC (incast): slower than one per node.
// Co-located servers share the workers' NICs, which then carry 2 (W-1)/W of the gradient each way
// instead of 1: not faster than separate hosts.
TEST(PsCli, ServerCountAndPlacementMatterOverTenGbE) {
  double eight = Simulate(32, "ps").report.iteration_time_s;
  double one = Simulate(32, "ps", true, 1).report.iteration_time_s;
  double colocated = Simulate(32, "ps", true, 0, true).report.iteration_time_s;
  std::printf("ps 32 GPUs: 8 separate servers %.4f s, 1 server %.4f s, 8 co-located %.4f s\n", eight, one, colocated);
  EXPECT_GT(one, eight * 1.05);
  EXPECT_GE(colocated, eight);
}

}  // namespace
}  // namespace proteus
