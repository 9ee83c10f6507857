// Under symmetry a mirror group whose footprint (CollectiveModel::Footprint) misses the simulated
// group's is left out without being planned. That must change no comm: every plan equals the one
// built by planning every mirror and dropping the flows that cross none of the simulated links.
#include <gtest/gtest.h>

#include "tests/compile/compile_fixture.h"
#include "topo/nccl_model.h"

namespace proteus {
namespace {

using testing::FakeCoster;

// The same plans, but no footprint: Compile must plan every mirror.
class WithoutFootprint : public CollectiveModel {
 public:
  explicit WithoutFootprint(const CollectiveModel& base) : base_(base) {}
  CollectivePlan Plan(const CollectiveRequest& r) const override { return base_.Plan(r); }

 private:
  const CollectiveModel& base_;
};

// SmallGpt with 8 heads, so tensor parallelism can span a whole DGX node.
Model EightHeadGpt() {
  TransformerConfig c;
  c.name = "eight-head-gpt";
  c.num_layers = 4;
  c.hidden = 64;
  c.num_heads = 8;
  c.vocab = 128;
  c.seq_len = 16;
  c.tied_embeddings = false;
  return BuildTransformer(c, "test");
}

CompileResult CompileOn(const Cluster& cluster, const CollectiveModel& collectives, const ShorthandOptions& o) {
  Model model = EightHeadGpt();
  Strategy strategy = ExpandShorthand(model, o);
  FakeCoster coster;
  CompileInputs in;
  in.model = &model;
  in.strategy = &strategy;
  in.cluster = &cluster;
  in.collectives = &collectives;
  in.coster = &coster;
  in.gpu_memory = [](GpuId) { return int64_t{80} << 30; };
  return Compile(in, CompileOptions{});
}

// Flows (links and bytes) of every comm, in graph order.
void ExpectSameComms(const ExecGraph& a, const ExecGraph& b) {
  ASSERT_EQ(a.comms.size(), b.comms.size());
  size_t flows = 0;
  for (size_t i = 0; i < a.comms.size(); ++i) {
    const auto& fa = a.comms[i].plan->flows;
    const auto& fb = b.comms[i].plan->flows;
    ASSERT_EQ(fa.size(), fb.size()) << "comm " << i;
    for (size_t f = 0; f < fa.size(); ++f) {
      EXPECT_EQ(fa[f].links, fb[f].links) << "comm " << i << " flow " << f;
      EXPECT_EQ(fa[f].bytes, fb[f].bytes) << "comm " << i << " flow " << f;
    }
    flows += fa.size();
  }
  EXPECT_GT(flows, 0u);
}

struct Case {
  const char* topology;
  int nodes, tp, pp, dp;
};

class MirrorFootprint : public ::testing::TestWithParam<Case> {};

TEST_P(MirrorFootprint, RulingMirrorsOutByFootprintChangesNoComm) {
  const Case& k = GetParam();
  Cluster cluster = MakeHomogeneousCluster(k.topology, k.nodes, 0);
  TopologyCollectiveModel model(cluster);
  WithoutFootprint plain(model);
  ShorthandOptions o;
  o.tp = k.tp;
  o.pp = k.pp;
  o.dp = k.dp;
  o.global_batch = 2 * k.dp;
  o.zero = 1;
  CompileResult fast = CompileOn(cluster, model, o);
  CompileResult full = CompileOn(cluster, plain, o);
  ExpectSameComms(fast.graph, full.graph);
}

// DGX H100: one NIC per GPU, so the rings of other tensor-parallel ranks are ruled out; PCIe
// nodes: GPUs share NICs and PCIe switches, so mirrors meet the simulated ring and stay.
INSTANTIATE_TEST_SUITE_P(Clusters, MirrorFootprint,
                         ::testing::Values(Case{"dgx-h100", 4, 8, 1, 4}, Case{"dgx-h100", 4, 4, 2, 4},
                                           Case{"dgx-h100", 4, 2, 2, 8}, Case{"pcie-4gpu", 4, 2, 2, 4},
                                           Case{"pcie-4gpu", 4, 1, 2, 8}));

}  // namespace
}  // namespace proteus
