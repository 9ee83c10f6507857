// Context parallelism (compile/program_context.cc): ring attention's K/V exchange, its block steps,
// and the gradient reduction over dp x cp, each checked against a hand count.
#include <gtest/gtest.h>

#include "tests/compile/compile_fixture.h"

namespace proteus::testing {
namespace {

// Llama 3 8B's attention geometry (h 4096, 32 heads, 8 kv heads: head_dim 128) at s 32,768; two
// layers suffice, the exchange is per layer.
Model Llama3_8BShape(int64_t seq) {
  TransformerConfig c;
  c.name = "llama3-8b-shape";
  c.style = BlockStyle::kLlama;
  c.num_layers = 2;
  c.hidden = 4096;
  c.num_heads = 32;
  c.num_kv_heads = 8;
  c.ffn_hidden = 14336;
  c.vocab = 1024;
  c.seq_len = seq;
  c.bias = c.dropout = false;
  return BuildTransformer(c, "test");
}

Job CpJob(Model m, int tp, int cp, int dp, int zero = 0) {
  ShorthandOptions o;
  o.tp = tp;
  o.cp = cp;
  o.dp = dp;
  o.zero = zero;
  Job j{std::move(m), {}, FakeCluster(tp * cp * dp), {}, {}};
  j.strategy = ExpandShorthand(j.model, o);
  return j;
}

struct RingComms {
  int fwd = 0, bwd = 0;
  int64_t fwd_bytes = 0, bwd_bytes = 0;
  std::vector<int64_t> sizes;
};

// Ring sends of simulated GPU 0 in micro-batch 0.
RingComms RingSends(const ExecGraph& g) {
  RingComms r;
  for (const auto& t : g.tasks) {
    if (t.gpu != 0 || t.microbatch != 0 || t.comm < 0) continue;
    if (std::string(g.NameOf(t)).find(" ring ") == std::string::npos) continue;
    int64_t b = g.comms[t.comm].bytes;
    EXPECT_EQ(g.comms[t.comm].op, CollOp::kSendRecv);
    r.sizes.push_back(b);
    if (t.phase == Phase::kFwd) {
      ++r.fwd;
      r.fwd_bytes += b;
    } else {
      ++r.bwd;
      r.bwd_bytes += b;
    }
  }
  return r;
}

// docs/strategies.md's worked example: per layer, micro-batch and ring step the K/V block is
// 2 x (s/cp) x (kv_heads/tp) x head_dim x 2 bytes = 2 x 16,384 x 1 x 128 x 2 = 8,388,608 at cp 2,
// tp 8. Forward sends cp - 1 blocks, backward cp - 1 K/V blocks and cp - 1 dK/dV blocks.
TEST(ContextParallel, RingAttentionBytesPerLayerMatchTheWorkedExample) {
  CompileResult r = CpJob(Llama3_8BShape(32768), 8, 2, 1).Run();
  RingComms c = RingSends(r.graph);
  const int64_t block = 2 * 16384 * 1 * 128 * 2;
  ASSERT_EQ(block, 8388608);
  EXPECT_EQ(c.fwd, 2 * 1);  // 2 layers x (cp - 1)
  EXPECT_EQ(c.bwd, 2 * 2);  // 2 layers x (K/V at step 0, dK/dV at step 1)
  for (int64_t b : c.sizes) EXPECT_EQ(b, block);
  // The core runs as cp block steps in forward and in backward.
  EXPECT_EQ(CountTasks(r.graph, 0, "attn.core fwd ring [", 0), 2 * 2);
  EXPECT_EQ(CountTasks(r.graph, 0, "attn.core bwd_data ring [", 0), 2 * 2);
  // and the backward waits for the last dK/dV.
  EXPECT_EQ(CountTasks(r.graph, 0, "attn.core bwd_data ring dk/dv received", 0), 2);
}

// cp 4: block 2 x 8,192 x 1 x 128 x 2 = 4 MiB; forward 3 sends; backward K/V (step 0), K/V + dK/dV
// (steps 1, 2: 8 MiB each), dK/dV (step 3): 2 x (cp - 1) blocks per layer.
TEST(ContextParallel, RingAttentionAtCp4SendsKvAndDkvAroundTheRing) {
  CompileResult r = CpJob(Llama3_8BShape(32768), 8, 4, 1).Run();
  RingComms c = RingSends(r.graph);
  const int64_t block = 2 * 8192 * 1 * 128 * 2;
  EXPECT_EQ(c.fwd, 2 * 3);
  EXPECT_EQ(c.fwd_bytes, 2 * 3 * block);
  EXPECT_EQ(c.bwd, 2 * 4);
  EXPECT_EQ(c.bwd_bytes, 2 * 2 * 3 * block);
}

// The fused core's compute steps are priced from their blocks: with causal balance the diagonal
// step attends (s/cp) queries to (s/cp) keys under the mask and every other step (s/cp) queries to
// half a block, s / (2 cp) keys, unmasked. The fake coster prices FLOPs (1 us + FLOPs / 100 TFLOP/s)
// without the causal mask, so step 1 costs half of step 0's FLOPs.
TEST(ContextParallel, RingStepsArePricedFromTheirBlocks) {
  CompileResult r = CpJob(Llama3_8BShape(4096), 1, 2, 1).Run();
  double step0 = -1, step1 = -1;
  for (const auto& t : r.graph.tasks) {
    if (t.gpu != 0 || t.microbatch != 0) continue;
    std::string n(r.graph.NameOf(t));
    if (n == "layers.0.attn.core fwd ring [1/2]") step0 = t.duration_s;
    if (n == "layers.0.attn.core fwd ring [2/2]") step1 = t.duration_s;
  }
  // Per block: 4 x b x heads x s_q x s_kv x d FLOPs; s_q 2,048, 32 heads, d 128.
  const double diag = 4.0 * 32 * 2048 * 2048 * 128, half = diag / 2;
  EXPECT_NEAR(step0, 1e-6 + diag / 1e14, 1e-12);
  EXPECT_NEAR(step1, 1e-6 + half / 1e14, 1e-12);
}

struct BucketComm {
  std::string name;
  int64_t bytes;
};

std::vector<BucketComm> BucketComms(const ExecGraph& g) {
  std::vector<BucketComm> out;
  for (const auto& t : g.tasks) {
    if (t.gpu != 0 || t.comm < 0) continue;
    std::string n(g.NameOf(t));
    if (n.find("bucket 0 ") != std::string::npos) out.push_back({n, g.comms[t.comm].bytes});
  }
  return out;
}

// cp ranks hold the same weights: a bucket of B bytes is reduced over dp x cp, two-level and
// with the bytes of one collective over the group: reduce_scatter cp (B), then all_reduce dp
// (B / cp), then all_gather cp (B); with the distributed optimizer reduce_scatter cp, reduce_scatter
// dp, and after the step all_gather dp (B / cp), all_gather cp (B).
TEST(ContextParallel, GradientsAreReducedOverDpTimesCp) {
  Model m = SmallGpt();
  CompileResult plain = CpJob(m, 1, 2, 2).Run();
  auto b = BucketComms(plain.graph);
  ASSERT_EQ(b.size(), 3u);
  const int64_t bytes = b[0].bytes;
  EXPECT_EQ(b[0].name, "grad bucket 0 reduce_scatter cp");
  EXPECT_EQ(b[1].name, "grad bucket 0 all_reduce dp");
  EXPECT_EQ(b[1].bytes, bytes / 2);
  EXPECT_EQ(b[2].name, "grad bucket 0 all_gather cp");
  EXPECT_EQ(b[2].bytes, bytes);

  CompileResult zero = CpJob(m, 1, 2, 2, 1).Run();
  auto z = BucketComms(zero.graph);
  ASSERT_EQ(z.size(), 4u);
  EXPECT_EQ(z[0].name, "grad bucket 0 reduce_scatter cp");
  EXPECT_EQ(z[1].name, "grad bucket 0 reduce_scatter dp");
  EXPECT_EQ(z[1].bytes, z[0].bytes / 2);
  EXPECT_EQ(z[2].name, "param bucket 0 all_gather dp");
  EXPECT_EQ(z[2].bytes, z[0].bytes / 2);
  EXPECT_EQ(z[3].name, "param bucket 0 all_gather cp");
  EXPECT_EQ(z[3].bytes, z[0].bytes);
}

// Symmetric and full compilation give every rank the same ring: with --no-symmetry every cp rank
// has its own sends, as many as the representative.
TEST(ContextParallel, EveryCpRankRunsTheRing) {
  CompileResult all = CpJob(SmallGpt(), 1, 2, 1).Run(false);
  int per_gpu[2] = {0, 0};
  for (const auto& t : all.graph.tasks)
    if (t.comm >= 0 && std::string(all.graph.NameOf(t)).find(" ring ") != std::string::npos) ++per_gpu[t.gpu];
  EXPECT_GT(per_gpu[0], 0);
  EXPECT_EQ(per_gpu[0], per_gpu[1]);
}

}  // namespace
}  // namespace proteus::testing
