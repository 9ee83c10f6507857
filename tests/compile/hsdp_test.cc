// HSDP (weight_gather.shard_group): FSDP units sharded inside groups of n consecutive dp ranks,
// replicated across the dp / n groups. Expected values are computed here from the model and the
// mesh, not read back from the compiler.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "simulator/compile/comm_buffers.h"
#include "simulator/compile/mesh.h"
#include "tests/compile/compile_fixture.h"

namespace proteus {
namespace {

using testing::MakeJob;
using testing::SmallGpt;

ShorthandOptions Hsdp(int dp, int group, int microbatches) {
  ShorthandOptions o;
  o.dp = dp;
  o.fsdp = true;
  o.weight_gather.shard_group = group;
  o.global_batch = int64_t{dp} * microbatches;  // mbs 1
  return o;
}

int64_t StaticBytes(const ExecGraph& g) {
  const auto& m = g.gpus[0].static_memory;
  return m[static_cast<int>(MemCategory::kWeights)] + m[static_cast<int>(MemCategory::kGradients)] +
         m[static_cast<int>(MemCategory::kOptimizer)];
}

struct Traffic {
  int64_t gather = 0, scatter = 0, replica_reduce = 0;
  int gathers = 0, scatters = 0, replica_reduces = 0;
};

// Bytes of simulated GPU 0's unit collectives, by kind.
Traffic UnitTraffic(const ExecGraph& g) {
  Traffic b;
  for (const auto& t : g.tasks) {
    if (t.gpu != 0 || t.comm < 0) continue;
    std::string name(g.NameOf(t));
    int64_t bytes = g.comms[t.comm].bytes;
    if (name.find(" weights all_gather dp shard group") != std::string::npos) {
      b.gather += bytes;
      ++b.gathers;
    } else if (name.find(" grads reduce_scatter dp shard group") != std::string::npos) {
      b.scatter += bytes;
      ++b.scatters;
    } else if (name.find(" grads all_reduce dp replicas") != std::string::npos) {
      b.replica_reduce += bytes;
      ++b.replica_reduces;
    }
  }
  return b;
}

TEST(AxisSpan, ShardGroupsAreBlocksAndReplicateGroupsCrossThem) {
  DeviceMesh dp16({{"dp", 16}});
  // Rank 11 = dp 11; blocks of 8: {8..15}; the same place (3) in every block: {3, 11}.
  EXPECT_EQ(dp16.Group(11, 0, {8, false}), (std::vector<GpuId>{8, 9, 10, 11, 12, 13, 14, 15}));
  EXPECT_EQ(dp16.Group(11, 0, {8, true}), (std::vector<GpuId>{3, 11}));
  EXPECT_EQ(dp16.Group(11, 0, {0, false}).size(), 16u);  // the whole axis
  EXPECT_TRUE(dp16.LeadsGroup(8, 0, {8, false}));
  EXPECT_FALSE(dp16.LeadsGroup(11, 0, {8, false}));
  EXPECT_TRUE(dp16.LeadsGroup(3, 0, {8, true}));
  EXPECT_FALSE(dp16.LeadsGroup(11, 0, {8, true}));
  // With tp 2 inside dp: rank = dp x 2 + tp. Rank 5 = dp 2, tp 1; blocks of 2 dp ranks: dp {2, 3}
  // = ranks {5, 7}; across: dp {0, 2} = ranks {1, 5}.
  DeviceMesh m({{"pp", 1}, {"dp", 4}, {"tp", 2}});
  EXPECT_EQ(m.Group(5, 1, {2, false}), (std::vector<GpuId>{5, 7}));
  EXPECT_EQ(m.Group(5, 1, {2, true}), (std::vector<GpuId>{1, 5}));
}

TEST(Hsdp, StaticStateIsShardedOverTheShardGroupOnly) {
  Model m = SmallGpt(2);
  const double params = static_cast<double>(m.Params());
  // dp 8 in groups of 4. Default (Megatron-Core) accounting: 2 + 4 + 12 = 18 bytes per parameter,
  // all of it sharded over the group: 18 / 4; plain FSDP shards over all 8: 18 / 8.
  ShorthandOptions o = Hsdp(8, 4, 1);
  EXPECT_NEAR(static_cast<double>(StaticBytes(MakeJob(m, o).Run().graph)), 18.0 * params / 4, 18.0 * 16);
  // FSDP2 mixed precision (fp32 parameters, reduce in fp32): 4 + 4 + 8 = 16 bytes, / 4.
  o.precision.params = ParamStorage::kFp32;
  EXPECT_NEAR(static_cast<double>(StaticBytes(MakeJob(m, o).Run().graph)), 16.0 * params / 4, 16.0 * 16);
  ShorthandOptions plain = o;
  plain.weight_gather.shard_group = 0;
  EXPECT_NEAR(static_cast<double>(StaticBytes(MakeJob(m, plain).Run().graph)), 16.0 * params / 8, 16.0 * 16);
}

TEST(Hsdp, OptimizerStepUpdatesTheGroupShard) {
  Model m = SmallGpt(2);
  CompileResult r = MakeJob(m, Hsdp(8, 4, 1)).Run();
  // FakeCoster: 1 us + params x 1e-11 s; the step updates params / 4 per GPU.
  int steps = 0;
  for (const auto& t : r.graph.tasks)
    if (t.gpu == 0 && r.graph.NameOf(t) == "optimizer step") {
      EXPECT_NEAR(t.duration_s, 1e-6 + static_cast<double>(m.Params()) / 4 * 1e-11, 1e-15);
      ++steps;
    }
  EXPECT_EQ(steps, 1);
}

TEST(Hsdp, GathersAndScattersInTheGroupThenAllReducesTheShardAcrossGroups) {
  Model m = SmallGpt(2);  // untied: every weight in one unit
  const int64_t weight_bytes = m.Params() * 2;  // bf16
  const int mb = 2, n = 4;
  Traffic t = UnitTraffic(MakeJob(m, Hsdp(8, n, mb)).Run().graph);
  // Per micro-batch: gathered for forward and again for backward, scattered once, and each rank's
  // 1/n shard of the summed gradients all-reduced across the 8 / 4 = 2 groups.
  EXPECT_EQ(t.gather, 2 * mb * weight_bytes);
  EXPECT_EQ(t.scatter, mb * weight_bytes);
  EXPECT_EQ(t.replica_reduce, mb * weight_bytes / n);  // every unit's bytes are a multiple of 4 x 2
  // Units: embed, layers.0, layers.1, final_norm, lm_head; one all_reduce after each scatter.
  EXPECT_EQ(t.scatters, 5 * mb);
  EXPECT_EQ(t.replica_reduces, 5 * mb);
  EXPECT_EQ(testing::CountTasks(MakeJob(m, Hsdp(8, n, mb)).Run().graph, 0, "grad bucket"), 0);
}

TEST(Hsdp, EachAllReduceWaitsForItsUnitsReduceScatter) {
  Model m = SmallGpt(2);
  CompileResult r = MakeJob(m, Hsdp(8, 4, 1)).Run();
  const ExecGraph& g = r.graph;
  int checked = 0;
  for (const auto& t : g.tasks) {
    std::string name(g.NameOf(t));
    if (t.gpu != 0 || name.find(" grads all_reduce dp replicas") == std::string::npos) continue;
    std::string unit = name.substr(0, name.find(" grads"));
    bool waits = false;
    for (int32_t d = t.dep_begin; d < t.dep_begin + t.dep_count; ++d)
      waits |= g.NameOf(g.tasks[g.deps[d]]) == unit + " grads reduce_scatter dp shard group";
    EXPECT_TRUE(waits) << name;
    EXPECT_EQ(t.stream, StreamKind::kDpComm);
    ++checked;
  }
  EXPECT_EQ(checked, 5);
}

TEST(Hsdp, FullSimulationGroupsAreConsecutiveBlocksAndStridedReplicas) {
  Model m = SmallGpt(2);
  CompileResult r = MakeJob(m, Hsdp(8, 4, 1)).Run(/*symmetry=*/false);
  const ExecGraph& g = r.graph;
  std::set<std::vector<GpuId>> shard_groups, replica_groups;
  for (const auto& c : g.comms) {
    if (c.members.empty()) continue;
    std::string name(g.NameOf(g.tasks[c.members.front()]));
    std::vector<GpuId> ids;
    for (TaskId t : c.members) ids.push_back(g.gpus[g.tasks[t].gpu].global_id);
    std::sort(ids.begin(), ids.end());
    if (name.find("dp shard group") != std::string::npos) shard_groups.insert(ids);
    if (name.find("dp replicas") != std::string::npos) replica_groups.insert(ids);
  }
  // dp 8 in groups of 4: shard groups {0..3}, {4..7}; replicate groups {i, i + 4}.
  EXPECT_EQ(shard_groups, (std::set<std::vector<GpuId>>{{0, 1, 2, 3}, {4, 5, 6, 7}}));
  EXPECT_EQ(replica_groups, (std::set<std::vector<GpuId>>{{0, 4}, {1, 5}, {2, 6}, {3, 7}}));
}

TEST(Hsdp, ShardAndReplicateGroupsEachHoldANcclCommunicator) {
  Model m = SmallGpt(2);
  ShorthandOptions o = Hsdp(8, 4, 1);
  ShorthandOptions plain = o;
  plain.weight_gather.shard_group = 0;
  auto buffers = [&](const ShorthandOptions& x) {
    return MakeJob(m, x).Run().graph.gpus[0].static_memory[static_cast<int>(MemCategory::kBuffers)];
  };
  // The fake collectives run one channel: one more dp communicator = 4 MiB + 512 KiB + 4,800 KiB.
  const int64_t per_channel = (int64_t{4} << 20) + kNcclLlBuffsize + kNcclLl128Buffsize;
  EXPECT_EQ(buffers(o) - buffers(plain), per_channel);
}

}  // namespace
}  // namespace proteus
