// Optimizer offload (DeepSpeed ZeRO-Offload): static memory moves to the host, the gradient and
// parameter shards cross the PCIe route from the GPU to its CPU as flows, CPU Adam replaces the
// GPU's step. Expectations are computed here from the model and the topology, not read back.
#include <gtest/gtest.h>

#include <algorithm>

#include "simulator/cost/cpu_spec.h"
#include "tests/compile/compile_fixture.h"

namespace proteus {
namespace {

using testing::Job;
using testing::MakeJob;
using testing::SmallGpt;

constexpr int kDp = 8;

// SmallGpt on one DGX A100, dp 8, DeepSpeed's 16-bit gradients.
Job OffloadJob(int zero, bool offload) {
  ShorthandOptions o;
  o.dp = kDp;
  o.global_batch = 2 * kDp;  // two micro-batches: the copies run in the last one only
  o.zero = zero;
  o.offload_optimizer = offload;
  o.precision.main_grads = DType::kBf16;
  Job j = MakeJob(SmallGpt(2), o);
  j.cluster = MakeHomogeneousCluster("dgx-a100", 1, 0);
  return j;
}

int64_t Static(const ExecGraph& g, MemCategory c) { return g.gpus[0].static_memory[static_cast<int>(c)]; }

std::vector<const Task*> Named(const ExecGraph& g, const std::string& part, int gpu = 0) {
  std::vector<const Task*> out;
  for (const auto& t : g.tasks)
    if (t.gpu == gpu && std::string(g.NameOf(t)).find(part) != std::string::npos) out.push_back(&t);
  return out;
}

// P parameters, replicated weights: ZeRO keeps 12/dp bytes per parameter of optimizer state
// (fp32 master + Adam m, v) per GPU. Offloaded, the GPU's optimizer category drops by exactly that
// and the host holds it, plus the fp32 gradient partition 4/dp; weights and gradients stay.
TEST(HostOffload, OptimizerBytesMoveFromTheGpuToTheHost) {
  for (int zero : {1, 2}) {
    Job on = OffloadJob(zero, true), off = OffloadJob(zero, false);
    const int64_t p = on.model.Params();
    ExecGraph a = on.Run().graph, b = off.Run().graph;
    EXPECT_EQ(Static(b, MemCategory::kOptimizer), p * 12 / kDp) << "zero " << zero;
    EXPECT_EQ(Static(a, MemCategory::kOptimizer), 0);
    EXPECT_EQ(a.gpus[0].host_optimizer_bytes, p * 12 / kDp);
    EXPECT_EQ(a.gpus[0].host_gradient_bytes, p * 4 / kDp);
    EXPECT_EQ(b.gpus[0].host_optimizer_bytes, 0);
    EXPECT_EQ(Static(a, MemCategory::kWeights), Static(b, MemCategory::kWeights));
    EXPECT_EQ(Static(a, MemCategory::kGradients), Static(b, MemCategory::kGradients));
  }
}

// Every offloaded byte crosses GPU0's route to its CPU: the gradient shards (fp32, 4 bytes per
// parameter of the 1/dp shard, as DeepSpeed casts with .float() before the copy) to the host, the
// updated bf16 parameter shard (2 bytes) back; alone, each copy takes 10 us + bytes / 24 GB/s.
TEST(HostOffload, CopiesAreFlowsOverTheGpusPcieRouteToItsCpu) {
  Job j = OffloadJob(2, true);
  const int64_t p = j.model.Params();
  ExecGraph g = j.Run(/*symmetry=*/false).graph;
  const Cluster& c = j.cluster;
  std::vector<LinkId> up = c.GlobalLinks(0, c.PathsOf(0).gpu_cpu[0].links);
  std::vector<LinkId> down = c.GlobalLinks(0, c.PathsOf(0).cpu_gpu[0].links);
  ASSERT_EQ(up.size(), 3u);  // GPU0 -> switch 14 -> switch 10 -> CPU0
  EXPECT_EQ(c.graph.LinkAt(up.front()).src, c.gpu_vertex[0]);
  EXPECT_EQ(c.graph.VertexAt(c.graph.LinkAt(up.back()).dst).kind, VertexKind::kCpu);
  for (LinkId l : up) EXPECT_EQ(c.graph.LinkAt(l).kind, LinkKind::kPcie);

  int64_t to_host = 0;
  for (const Task* t : Named(g, " to host")) {
    EXPECT_EQ(t->kind, TaskKind::kMemcpy);
    EXPECT_EQ(t->stream, StreamKind::kCopy);
    EXPECT_EQ(t->microbatch, 1);
    const Comm& comm = g.comms[t->comm];
    ASSERT_EQ(comm.plan->flows.size(), 1u);
    EXPECT_EQ(comm.plan->flows[0].links, up);
    EXPECT_DOUBLE_EQ(comm.plan->time_s, 10e-6 + static_cast<double>(comm.bytes) / 24e9);
    // It waits for its bucket's reduce-scatter.
    ASSERT_EQ(t->dep_count, 1);
    EXPECT_NE(std::string(g.NameOf(g.tasks[g.deps[t->dep_begin]])).find("reduce_scatter"), std::string::npos);
    to_host += comm.bytes;
  }
  EXPECT_EQ(to_host, 4 * p / kDp);
  auto h2d = Named(g, "param shard to device");
  ASSERT_EQ(h2d.size(), 1u);
  EXPECT_EQ(g.comms[h2d[0]->comm].bytes, 2 * p / kDp);
  EXPECT_EQ(g.comms[h2d[0]->comm].plan->flows[0].links, down);
  // The parameter all-gathers wait for the copy back.
  for (const Task* ag : Named(g, "param bucket")) {
    bool waits = false;
    for (int32_t d = ag->dep_begin; d < ag->dep_begin + ag->dep_count; ++d)
      waits = waits || g.NameOf(g.tasks[g.deps[d]]) == "param shard to device";
    EXPECT_TRUE(waits);
  }
}

// No GPU optimizer step; CPU Adam over the shard, on the EPYC 7742 socket GPUs 0-3 share:
// P/8 x 34 bytes / (204.8 GB/s x 0.5 / 4).
TEST(HostOffload, CpuAdamReplacesTheGpuStep) {
  Job j = OffloadJob(1, true);
  const int64_t p = j.model.Params();
  ExecGraph g = j.Run().graph;
  EXPECT_TRUE(Named(g, "optimizer step").empty());
  auto adam = Named(g, "cpu adam");
  ASSERT_EQ(adam.size(), 1u);
  EXPECT_NEAR(adam[0]->duration_s, static_cast<double>(p / kDp) * 34 / (204.8e9 * 0.5 / 4), 1e-15);
  EXPECT_EQ(adam[0]->comm, -1);
  EXPECT_TRUE(Named(OffloadJob(1, false).Run().graph, "cpu adam").empty());
  EXPECT_FALSE(Named(OffloadJob(1, false).Run().graph, "optimizer step").empty());
}

// With symmetry GPU0 stands for the node's other seven GPUs; GPU1 copies to CPU0 over the same
// last hop (switch 10 -> CPU0) at the same time, so its flow joins GPU0's copy; GPUs 2-7 use other
// links and stay out.
TEST(HostOffload, SymmetryAddsTheCopiesOfGpusBehindASharedLink) {
  Job j = OffloadJob(2, true);
  ExecGraph g = j.Run(/*symmetry=*/true).graph;
  ASSERT_EQ(g.gpus.size(), 1u);
  const Cluster& c = j.cluster;
  auto copies = Named(g, " to host");
  ASSERT_FALSE(copies.empty());
  const CollectivePlan& plan = *g.comms[copies[0]->comm].plan;
  ASSERT_EQ(plan.flows.size(), 2u);
  EXPECT_EQ(plan.flows[0].links, c.GlobalLinks(0, c.PathsOf(0).gpu_cpu[0].links));
  EXPECT_EQ(plan.flows[1].links, c.GlobalLinks(0, c.PathsOf(0).gpu_cpu[1].links));
}

}  // namespace
}  // namespace proteus
