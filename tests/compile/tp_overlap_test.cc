// Tensor-parallel communication overlap: sequence parallelism's all-gathers and reduce-scatters
// pipelined with the GEMMs next to them, in tp chunks (tp_overlap.h).
#include <gtest/gtest.h>

#include "common/error.h"
#include "simulator/compile/tp_overlap.h"
#include "tests/compile/compile_fixture.h"

namespace proteus {
namespace {

using testing::CountTasks;
using testing::MakeJob;
using testing::SmallGpt;

ShorthandOptions TpSp(int tp, bool overlap) {
  ShorthandOptions o;
  o.tp = tp;
  o.sequence_parallel = true;
  o.tp_comm_overlap = overlap;
  return o;
}

// Bytes one rank sends over tp collectives (ring: (n-1)/n of the nccl-tests size for both kinds).
double TpTrafficPerRank(const ExecGraph& g, int tp) {
  double bytes = 0;
  for (const auto& t : g.tasks)
    if (t.gpu == 0 && t.comm >= 0 && t.stream == StreamKind::kTpComm)
      bytes += static_cast<double>(g.comms[t.comm].bytes) * (tp - 1) / tp;
  return bytes;
}

double ComputeSeconds(const ExecGraph& g, const std::string& op_phase) {
  double s = 0;
  for (const auto& t : g.tasks)
    if (t.gpu == 0 && t.kind == TaskKind::kCompute && std::string(g.NameOf(t)).rfind(op_phase, 0) == 0)
      s += t.duration_s;
  return s;
}

TEST(TpOverlap, GemmsNextToSequenceParallelCommunicationRunInTpChunks) {
  const int tp = 4;
  CompileResult plain = MakeJob(SmallGpt(2), TpSp(tp, false)).Run();
  CompileResult over = MakeJob(SmallGpt(2), TpSp(tp, true)).Run();
  const ExecGraph& g = over.graph;
  // Column-parallel fc1 after an all-gather, row-parallel fc2 before a reduce-scatter, and their
  // backward counterparts: tp chunks, emitted compactly (tp_overlap.h): gathers as chunk 1, chunks
  // 2..n-1, chunk n; scatters as chunk 1, chunks 2..n.
  for (const char* op : {"layers.0.mlp.fc1 fwd", "layers.0.mlp.fc2 bwd_data"})
    for (const char* part : {" [1/4]", " [2-3/4]", " [4/4]"})
      EXPECT_EQ(CountTasks(g, 0, std::string(op) + part), 1) << op << part;
  for (const char* op : {"layers.0.mlp.fc2 fwd", "layers.0.mlp.fc1 bwd_data"})
    for (const char* part : {" [1/4]", " [2-4/4]"}) EXPECT_EQ(CountTasks(g, 0, std::string(op) + part), 1) << op << part;
  // The chunks share the whole GEMM's time.
  EXPECT_NEAR(ComputeSeconds(g, "layers.0.mlp.fc1 fwd"), ComputeSeconds(plain.graph, "layers.0.mlp.fc1 fwd"), 1e-15);
  // The gather's tp - 1 pieces as one collective; the scatter's first tp - 1 pieces, then the last.
  EXPECT_EQ(CountTasks(g, 0, "layers.0.mlp.norm.out pieces [1-3/3] all_gather tp"), 1);
  EXPECT_EQ(CountTasks(g, 0, "layers.0.mlp.fc2.out pieces [1-3/4] reduce_scatter tp"), 1);
  EXPECT_EQ(CountTasks(g, 0, "layers.0.mlp.fc2.out pieces [4/4] reduce_scatter tp"), 1);
  // The same bytes cross the links, only cut into pieces.
  // (up to the bytes lost dividing a scatter into tp integer pieces)
  EXPECT_NEAR(TpTrafficPerRank(g, tp), TpTrafficPerRank(plain.graph, tp), 1e-3 * TpTrafficPerRank(plain.graph, tp));
  // Only the last chunk of fc1 waits for the gather; the first runs on the local shard.
  for (const auto& t : g.tasks) {
    if (t.gpu != 0) continue;
    if (g.NameOf(t) == "layers.0.mlp.fc1 fwd [4/4]") {
      ASSERT_EQ(t.dep_count, 1);
      EXPECT_EQ(g.NameOf(g.tasks[g.deps[t.dep_begin]]), "layers.0.mlp.norm.out pieces [1-3/3] all_gather tp");
    }
    if (g.NameOf(t) == "layers.0.mlp.fc1 fwd [2-3/4]") {
      EXPECT_EQ(t.dep_count, 0);
    }
    // Pieces pay userbuffer start-ups, not NCCL's launch latency.
    if (g.NameOf(t) == "layers.0.mlp.norm.out pieces [1-3/3] all_gather tp") {
      EXPECT_LE(g.comms[t.comm].plan->latency_s, 3 * kUserbufferLatencyS + 1e-15);
    }
  }
}

TEST(TpOverlap, WithoutSequenceParallelCommunicationThereIsNothingToOverlap) {
  ShorthandOptions o = TpSp(2, true);
  o.sequence_parallel = false;
  testing::Job job = MakeJob(SmallGpt(2), TpSp(2, false));
  job.strategy.tp_comm_overlap = true;
  job.strategy.nodes.erase(std::remove_if(job.strategy.nodes.begin(), job.strategy.nodes.end(),
                                          [](const StrategyRule& r) { return r.settings.partition.count("s"); }),
                           job.strategy.nodes.end());
  try {
    job.Run();
    FAIL() << "accepted tp_comm_overlap with nothing to overlap";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("tp_comm_overlap"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace proteus
