// The report's strategy line tells runs apart: every setting that changes time or memory is named.
#include "simulator/strategy/describe.h"

#include <gtest/gtest.h>

#include "simulator/strategy/shorthand.h"
#include "tests/strategy/tiny_model.h"

namespace proteus {
namespace {

TEST(DescribeStrategy, NamesSequenceParallelismShardingRecomputeFp8AndOverlaps) {
  Model m = testing::TinyGpt(2);
  ShorthandOptions o;
  o.tp = 2;
  o.pp = 2;
  o.dp = 2;
  o.global_batch = 8;
  EXPECT_EQ(DescribeStrategy(ExpandShorthand(m, o)), "pp 2 x dp 2 x tp 2, mbs 1, gbs 8, 1f1b, overlap: grad-reduce");
  o.sequence_parallel = true;
  o.zero = 1;
  o.recompute = "selective";
  o.overlap_param_gather = true;
  o.tp_comm_overlap = true;
  o.overlap_p2p_comm = true;
  o.fp8 = "e4m3";
  EXPECT_EQ(DescribeStrategy(ExpandShorthand(m, o)),
            "pp 2 x dp 2 x tp 2, mbs 1, gbs 8, 1f1b, sp, distributed optimizer (zero-1), recompute selective, "
            "fp8 e4m3 (delayed scaling), overlap: grad-reduce param-gather tp-comm p2p");
  ShorthandOptions z;
  z.dp = 2;
  for (auto [zero, fsdp, text] : {std::tuple{2, false, "zero-2"}, std::tuple{3, false, "zero-3 (per-operator units)"},
                                  std::tuple{0, true, "fsdp (zero-3, per-layer units)"}}) {
    z.zero = zero;
    z.fsdp = fsdp;
    EXPECT_NE(DescribeStrategy(ExpandShorthand(m, z)).find(text), std::string::npos) << text;
  }
  // HSDP: dp 8 in shard groups of 4, replicated twice.
  ShorthandOptions h;
  h.dp = 8;
  h.fsdp = true;
  h.weight_gather.shard_group = 4;
  EXPECT_EQ(DescribeStrategy(ExpandShorthand(m, h)),
            "pp 1 x dp 8 x tp 1, mbs 1, gbs 8, 1f1b, hsdp (shard 4 x replicate 2, per-layer units), overlap: grad-reduce");
  z.fsdp = false;
  z.zero = 2;
  z.offload_optimizer = true;
  EXPECT_NE(DescribeStrategy(ExpandShorthand(m, z)).find(", zero-2, optimizer offload (cpu), overlap"), std::string::npos)
      << DescribeStrategy(ExpandShorthand(m, z));
  ShorthandOptions a;
  a.dp = 2;
  a.offload_activations = 1;
  EXPECT_NE(DescribeStrategy(ExpandShorthand(m, a)).find(", activation offload (1 layer, cpu)"), std::string::npos)
      << DescribeStrategy(ExpandShorthand(m, a));
}

}  // namespace
}  // namespace proteus
