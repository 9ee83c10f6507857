// Activation offload (Megatron-Core cpu_offloading, Transformer Engine's cpu_offload): which bytes
// leave the GPU, where the copies and syncs sit (TE's layer_window_map), and the PCIe route the
// copies cross. Expectations are computed here from the model's sizes and the topology.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/compile/compile_fixture.h"

namespace proteus {
namespace {

using testing::Job;
using testing::MakeJob;
using testing::SmallGpt;

// SmallGpt (h 64, 4 heads, s 16, GPT blocks with dropout) on one DGX A100, pp 1, mbs 1.
Job OffloadJob(int layers, int offload, int dp = 1, int microbatches = 1) {
  ShorthandOptions o;
  o.dp = dp;
  o.global_batch = microbatches * dp;
  o.offload_activations = offload;
  Job j = MakeJob(SmallGpt(layers), o);
  j.cluster = MakeHomogeneousCluster("dgx-a100", 1, 0);
  return j;
}

// A GPT layer keeps, per token (s b = 16, h = 64): the attention norm's input 2h and fp32 mean and
// rstd 8, qkv's input 2h, the core's packed q, k, v 6h and output 2h (proj's input, the same
// tensor), a dropout mask h, the MLP norm's input 2h and stats 8, fc1's input 2h, the GELU's input
// 8h, fc2's input 8h, a dropout mask h; and the core's fp32 log-sum-exp, 4 bytes per head.
// Transformer Engine offloads all but the two masks and the log-sum-exp: 32 s b h + 16 s b.
constexpr int64_t kSbh = 16 * 64, kSb = 16;
constexpr int64_t kOffloadedPerLayer = 32 * kSbh + 16 * kSb;  // 33,024 bytes

std::vector<const Task*> Named(const ExecGraph& g, const std::string& part, int gpu = 0, int mb = -2) {
  std::vector<const Task*> out;
  for (const auto& t : g.tasks)
    if (t.gpu == gpu && std::string(g.NameOf(t)).find(part) != std::string::npos && (mb == -2 || t.microbatch == mb))
      out.push_back(&t);
  return out;
}

const Task& One(const ExecGraph& g, const std::string& name, int mb = 0) {
  auto v = Named(g, name, 0, mb);
  EXPECT_EQ(v.size(), 1u) << name;
  return *v.front();
}

std::vector<std::string> DepNames(const ExecGraph& g, const Task& t) {
  std::vector<std::string> out;
  for (int32_t d = t.dep_begin; d < t.dep_begin + t.dep_count; ++d) out.emplace_back(g.NameOf(g.tasks[g.deps[d]]));
  return out;
}

bool DependsOn(const ExecGraph& g, const Task& t, const std::string& name) {
  auto deps = DepNames(g, t);
  return std::find(deps.begin(), deps.end(), name) != deps.end();
}

TEST(ActivationOffload, EachOffloadedLayerMovesItsSavedActivationsButMasksAndSoftmaxStats) {
  ExecGraph g = OffloadJob(4, 2, 1, 2).Run().graph;
  EXPECT_EQ(g.gpus[0].host_activation_bytes, 2 * kOffloadedPerLayer);
  for (int mb : {0, 1}) {
    int64_t moved = 0;
    for (const char* part : {" activations to host", " activations to device"})
      for (const Task* t : Named(g, part, 0, mb)) {
        EXPECT_EQ(t->kind, TaskKind::kMemcpy);
        EXPECT_EQ(t->stream, StreamKind::kCopy);
        EXPECT_EQ(g.comms[t->comm].bytes, kOffloadedPerLayer) << g.NameOf(*t);
        moved += g.comms[t->comm].bytes;
      }
    // Per micro-batch: every offloaded byte goes to the host and comes back.
    EXPECT_EQ(moved, 2 * g.gpus[0].host_activation_bytes) << "micro-batch " << mb;
  }
  EXPECT_EQ(Named(g, "layers.2 activations").size(), 0u);  // layers 2 and 3 stay on the GPU
  ExecGraph base = OffloadJob(4, 0, 1, 2).Run().graph;
  EXPECT_EQ(base.gpus[0].host_activation_bytes, 0);
  // A cudaMemcpy opens no NCCL communicator: no channel buffers for the copy stream.
  EXPECT_EQ(g.gpus[0].static_memory[static_cast<int>(MemCategory::kBuffers)],
            base.gpus[0].static_memory[static_cast<int>(MemCategory::kBuffers)]);
}

// The reload allocates the group's bytes as it starts; the forward sync frees them.
TEST(ActivationOffload, SyncFreesAndReloadAllocatesTheGroup) {
  ExecGraph g = OffloadJob(4, 2).Run().graph;
  for (int l : {0, 1}) {
    const Task& sync = One(g, "layers." + std::to_string(l) + " offload sync");
    ASSERT_EQ(sync.mem_count, 1);
    EXPECT_EQ(g.mem_effects[sync.mem_begin].bytes, -kOffloadedPerLayer);
    EXPECT_EQ(g.mem_effects[sync.mem_begin].category, MemCategory::kActivations);
    const Task& back = One(g, "layers." + std::to_string(l) + " activations to device");
    ASSERT_EQ(back.mem_count, 1);
    EXPECT_EQ(g.mem_effects[back.mem_begin].bytes, kOffloadedPerLayer);
    EXPECT_FALSE(g.mem_effects[back.mem_begin].at_end);
  }
}

// TE's layer_window_map for L = 4 layers, N = 2: W(g) = (4 / 2)(g + 1) - 1 = {1, 3}. Forward: copy
// 0 after layer 0; after layer 1 the compute stream waits for copy 0 (sync 0), then copy 1; after
// layer 3 sync 1. Backward: before layer 3 (= W(1)) reload 1; before layer 1 (= W(0)) wait for it
// and reload 0; before layer 0 wait for every reload.
TEST(ActivationOffload, CopiesAndSyncsFollowTransformerEnginesWindows) {
  ExecGraph g = OffloadJob(4, 2).Run().graph;
  const std::string last1 = "layers.1.mlp.residual fwd", last3 = "layers.3.mlp.residual fwd";
  EXPECT_TRUE(DependsOn(g, One(g, "layers.0 activations to host"), "layers.0.mlp.residual fwd"));
  const Task& sync0 = One(g, "layers.0 offload sync");
  EXPECT_TRUE(DependsOn(g, sync0, last1));
  EXPECT_TRUE(DependsOn(g, sync0, "layers.0 activations to host"));
  EXPECT_EQ(DepNames(g, One(g, "layers.1 activations to host")), std::vector<std::string>{"layers.0 offload sync"});
  const Task& sync1 = One(g, "layers.1 offload sync");
  EXPECT_TRUE(DependsOn(g, sync1, last3));
  EXPECT_TRUE(DependsOn(g, sync1, "layers.1 activations to host"));

  EXPECT_EQ(DepNames(g, One(g, "layers.1 reload sync")).size(), 0u);  // the first reload waits for nothing
  EXPECT_EQ(DepNames(g, One(g, "layers.1 activations to device")), std::vector<std::string>{"layers.1 reload sync"});
  EXPECT_EQ(DepNames(g, One(g, "layers.0 reload sync")), std::vector<std::string>{"layers.1 activations to device"});
  EXPECT_EQ(DepNames(g, One(g, "layers.0 activations to device")), std::vector<std::string>{"layers.0 reload sync"});
  EXPECT_EQ(DepNames(g, One(g, "activation reloads done")), std::vector<std::string>{"layers.0 activations to device"});

  // On the compute stream: reload sync 1 right before layer 3's first backward task, reload sync 0
  // before layer 1's, the final wait before layer 0's.
  const auto& stream = g.gpus[0].streams[static_cast<int>(StreamKind::kCompute)];
  auto next_after = [&](const std::string& name) {
    for (size_t k = 0; k + 1 < stream.size(); ++k)
      if (g.NameOf(g.tasks[stream[k]]) == name) return std::string(g.NameOf(g.tasks[stream[k + 1]]));
    return std::string();
  };
  EXPECT_EQ(next_after("layers.1 reload sync"), "layers.3.mlp.residual bwd_data");
  EXPECT_EQ(next_after("layers.0 reload sync"), "layers.1.mlp.residual bwd_data");
  EXPECT_EQ(next_after("activation reloads done"), "layers.0.mlp.residual bwd_data");
  EXPECT_EQ(next_after("layers.0 offload sync"), "layers.2.attn.norm fwd");
}

// L = 4, N = 3: L / N = 1, L % N = 1, so W(0) = 0 + 1, W(1) = 1 + 1, W(2) = 2 + 1 = {1, 2, 3}.
TEST(ActivationOffload, WindowsWithARemainder) {
  ExecGraph g = OffloadJob(4, 3).Run().graph;
  EXPECT_TRUE(DependsOn(g, One(g, "layers.0 offload sync"), "layers.1.mlp.residual fwd"));
  EXPECT_TRUE(DependsOn(g, One(g, "layers.1 offload sync"), "layers.2.mlp.residual fwd"));
  EXPECT_TRUE(DependsOn(g, One(g, "layers.2 offload sync"), "layers.3.mlp.residual fwd"));
  EXPECT_EQ(DepNames(g, One(g, "layers.2 activations to host")), std::vector<std::string>{"layers.1 offload sync"});
  EXPECT_EQ(g.gpus[0].host_activation_bytes, 3 * kOffloadedPerLayer);
}

// Without symmetry every copy is one flow over exactly its GPU's route to its CPU (topo/paths.h
// gpu_cpu, cpu_gpu back), time alone 10 us + bytes / 24 GB/s (PCIe Gen4 x16).
TEST(ActivationOffload, CopiesAreFlowsOverEachGpusPcieRoute) {
  Job j = OffloadJob(4, 2, 8);
  ExecGraph g = j.Run(/*symmetry=*/false).graph;
  ASSERT_EQ(g.gpus.size(), 8u);
  const Cluster& c = j.cluster;
  int seen = 0;
  for (int gpu = 0; gpu < 8; ++gpu) {
    std::vector<LinkId> up = c.GlobalLinks(0, c.PathsOf(0).gpu_cpu[gpu].links);
    std::vector<LinkId> down = c.GlobalLinks(0, c.PathsOf(0).cpu_gpu[gpu].links);
    for (LinkId l : up) EXPECT_EQ(c.graph.LinkAt(l).kind, LinkKind::kPcie);
    for (const char* part : {" activations to host", " activations to device"})
      for (const Task* t : Named(g, part, gpu)) {
        const CollectivePlan& plan = *g.comms[t->comm].plan;
        ASSERT_EQ(plan.flows.size(), 1u);
        EXPECT_EQ(plan.flows[0].links, std::string(part).find("host") != std::string::npos ? up : down);
        EXPECT_DOUBLE_EQ(plan.time_s, 10e-6 + static_cast<double>(kOffloadedPerLayer) / 24e9);
        ++seen;
      }
  }
  EXPECT_EQ(seen, 8 * 2 * 2);  // 8 GPUs x 2 layers x there and back
}

// With symmetry GPU0 stands for the node's eight GPUs; GPU1 copies at the same time over the same
// PCIe switch -> CPU0 link, so its flow joins GPU0's copy (as for optimizer offload).
TEST(ActivationOffload, SymmetryAddsTheCopiesOfGpusBehindASharedLink) {
  Job j = OffloadJob(4, 2, 8);
  ExecGraph g = j.Run(/*symmetry=*/true).graph;
  ASSERT_EQ(g.gpus.size(), 1u);
  const Cluster& c = j.cluster;
  const CollectivePlan& plan = *g.comms[One(g, "layers.0 activations to host").comm].plan;
  ASSERT_EQ(plan.flows.size(), 2u);
  EXPECT_EQ(plan.flows[0].links, c.GlobalLinks(0, c.PathsOf(0).gpu_cpu[0].links));
  EXPECT_EQ(plan.flows[1].links, c.GlobalLinks(0, c.PathsOf(0).gpu_cpu[1].links));
}

}  // namespace
}  // namespace proteus
