// Data-parallel methods in the compiled graph (strategy/dp_method.h, compile/program_dp_methods.cc).
#include <gtest/gtest.h>

#include "common/error.h"
#include "compile_fixture.h"

namespace proteus {
namespace {

using testing::CountTasks;
using testing::MakeJob;
using testing::SmallGpt;

ShorthandOptions Dp2(DpMethod m) {
  ShorthandOptions o;
  o.dp = 2;
  o.global_batch = 4;  // 2 micro-batches
  o.dp_reduction.method = m;
  return o;
}

// The gradient all-reduces of GPU 0 in stream order: (name, bytes, name of the task each waits for).
struct Reduction {
  std::string name, after;
  int64_t bytes = 0;
  bool operator==(const Reduction&) const = default;
};
std::vector<Reduction> Reductions(const ExecGraph& g) {
  std::vector<Reduction> out;
  for (TaskId id : g.gpus[0].streams[static_cast<int>(StreamKind::kDpComm)]) {
    const Task& t = g.tasks[id];
    std::string after = t.dep_count > 0 ? std::string(g.NameOf(g.tasks[g.deps[t.dep_begin]])) : "";
    out.push_back({std::string(g.NameOf(t)), after, g.comms[t.comm].bytes});
  }
  return out;
}

int64_t Sum(const std::vector<Reduction>& r) {
  int64_t s = 0;
  for (const auto& x : r) s += x.bytes;
  return s;
}

TEST(DpMethods, WfbpIsOneAllReducePerGradientTensorAsItIsWritten) {
  // The buckets method with 1-byte buckets closes a bucket at every tensor: the same reductions.
  ShorthandOptions one_byte = Dp2(DpMethod::kBuckets);
  one_byte.grad_bucket_bytes = 1;
  auto wfbp = Reductions(MakeJob(SmallGpt(2), Dp2(DpMethod::kWfbp)).Run().graph);
  auto buckets = Reductions(MakeJob(SmallGpt(2), one_byte).Run().graph);
  EXPECT_GT(wfbp.size(), 10u);
  EXPECT_EQ(wfbp, buckets);
  EXPECT_EQ(wfbp.front().after, "lm_head.logits bwd_weight");  // issued long before the backward ends
}

TEST(DpMethods, BspIsOneAllReduceOfEveryGradientAfterTheBackward) {
  ShorthandOptions after = Dp2(DpMethod::kBuckets);
  after.overlap_grad_reduce = false;
  auto bsp = Reductions(MakeJob(SmallGpt(2), Dp2(DpMethod::kBsp)).Run().graph);
  auto wfbp = Reductions(MakeJob(SmallGpt(2), Dp2(DpMethod::kWfbp)).Run().graph);
  ASSERT_EQ(bsp.size(), 1u);
  EXPECT_EQ(bsp.front().bytes, Sum(wfbp));
  EXPECT_EQ(bsp, Reductions(MakeJob(SmallGpt(2), after).Run().graph));  // the last compute step, as buckets without overlap
}

TEST(DpMethods, FusionWaitsForHorovodsCycleAndFusesWithinTheThreshold) {
  ShorthandOptions o = Dp2(DpMethod::kFusion);  // 64 MiB, 5 ms: the small GPT's backward is far shorter
  CompileResult r = MakeJob(SmallGpt(2), o).Run();
  auto fused = Reductions(r.graph);
  ASSERT_EQ(fused.size(), 1u);  // every gradient ready by the first tick, well under 64 MiB
  EXPECT_EQ(fused.front().after, "horovod cycle wait");
  int waits = 0;
  for (const Task& t : r.graph.tasks) {
    if (std::string(r.graph.NameOf(t)) != "horovod cycle wait") continue;
    ++waits;
    EXPECT_EQ(t.kind, TaskKind::kMemcpy);
    EXPECT_EQ(t.stream, StreamKind::kCopy);
    EXPECT_GT(t.duration_s, 0);
    EXPECT_LT(t.duration_s, 5e-3 + 1e-12);
  }
  EXPECT_EQ(waits, 1);
  // Threshold 0 (HOROVOD_FUSION_THRESHOLD=0) and no cycle: one all-reduce per tensor, as wfbp.
  o.dp_reduction.fusion_threshold_bytes = 0;
  o.dp_reduction.fusion_cycle_s = 0;
  auto unfused = Reductions(MakeJob(SmallGpt(2), o).Run().graph);
  EXPECT_EQ(unfused, Reductions(MakeJob(SmallGpt(2), Dp2(DpMethod::kWfbp)).Run().graph));
}

TEST(DpMethods, MgWfbpMergesAdjacentGradientsAndReducesThemAll) {
  // Fake collectives: 1 us + bytes / 100 GB/s; fake compute: ~1 us per step, so a start-up of 1 us
  // is worth waiting for the next gradient: fewer all-reduces than tensors, the same bytes.
  auto mg = Reductions(MakeJob(SmallGpt(2), Dp2(DpMethod::kMgWfbp)).Run().graph);
  auto wfbp = Reductions(MakeJob(SmallGpt(2), Dp2(DpMethod::kWfbp)).Run().graph);
  EXPECT_LT(mg.size(), wfbp.size());
  EXPECT_GT(mg.size(), 1u);
  EXPECT_EQ(Sum(mg), Sum(wfbp));
}

TEST(DpMethods, RefusedWhereTheyDoNotApply) {
  ShorthandOptions fsdp = Dp2(DpMethod::kWfbp);
  fsdp.fsdp = true;
  EXPECT_THROW(MakeJob(SmallGpt(2), fsdp).Run(), UserError);
  ShorthandOptions no_overlap = Dp2(DpMethod::kMgWfbp);
  no_overlap.overlap_grad_reduce = false;
  try {
    MakeJob(SmallGpt(2), no_overlap).Run();
    FAIL() << "overlap_grad_reduce false with mgwfbp accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("--dp-method"), std::string::npos) << e.what();
  }
  ShorthandOptions bucket = Dp2(DpMethod::kBsp);
  bucket.grad_bucket_bytes = 1;
  EXPECT_THROW(MakeJob(SmallGpt(2), bucket).Run(), UserError);
}

}  // namespace
}  // namespace proteus
