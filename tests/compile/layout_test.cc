#include "simulator/compile/layout.h"

#include <gtest/gtest.h>

#include "tests/compile/compile_fixture.h"

namespace proteus {
namespace {

// Mesh [dp 2, tp 4]: axis 0 = dp, axis 1 = tp.
const std::vector<int> kSizes = {2, 4};

TEST(Layout, ColumnAndRowParallelLinears) {
  Model m = testing::SmallGpt(1);
  const Operator* fc1 = nullptr;
  const Operator* fc2 = nullptr;
  VisitOps(m.root, [&](const std::string& path, const Operator& op) {
    if (path == "layers.0.mlp.fc1") fc1 = &op;
    if (path == "layers.0.mlp.fc2") fc2 = &op;
  });
  ASSERT_TRUE(fc1 && fc2);
  AxisPartition part = {{"b", 0}, {"f", 1}};
  // fc1 y[b,s,f]: S0 over dp (b is axis 0), S2 over tp (f is axis 2); its input x[b,s,h] is
  // replicated over tp; its weight [h,f] replicated over dp, sharded over tp.
  EXPECT_EQ(LayoutOf(*fc1, part, fc1->tensors.back().axes, LayoutUse::kWrite, 2), (TensorLayout{0, 2}));
  EXPECT_EQ(LayoutOf(*fc1, part, fc1->tensors[0].axes, LayoutUse::kRead, 2), (TensorLayout{0, kReplicated}));
  EXPECT_EQ(LayoutOf(*fc1, part, fc1->tensors[1].axes, LayoutUse::kRead, 2), (TensorLayout{kReplicated, 1}));
  // The input gradient of a column-parallel linear is a partial sum over tp (f is summed).
  EXPECT_EQ(LayoutOf(*fc1, part, fc1->tensors[0].axes, LayoutUse::kWrite, 2), (TensorLayout{0, kPartial}));
  // fc2 y[b,s,h] with f (reduce) on tp: partial over tp.
  EXPECT_EQ(LayoutOf(*fc2, part, fc2->tensors.back().axes, LayoutUse::kWrite, 2), (TensorLayout{0, kPartial}));
  // Weight gradients: partial over dp (b summed); fc2's bias [h] is not partial over tp (f does not
  // reach it), its weight [f,h] is sharded over tp.
  const TensorUse* bias = fc2->FindTensor("layers.0.mlp.fc2.bias");
  ASSERT_TRUE(bias);
  EXPECT_EQ(LayoutOf(*fc2, part, bias->axes, LayoutUse::kWeightGrad, 2), (TensorLayout{kPartial, kReplicated}));
  EXPECT_EQ(LayoutOf(*fc2, part, fc2->tensors[1].axes, LayoutUse::kWeightGrad, 2), (TensorLayout{kPartial, 0}));
}

TEST(Layout, ConversionsFollowTheTable) {
  const int64_t bytes = 1 << 20;  // global tensor
  // P(tp) -> R: all_reduce of the buffer; dp is sharded so the buffer is half: 2^20 / 2.
  auto ar = ConvertLayout({0, kPartial}, {0, kReplicated}, bytes, kSizes);
  ASSERT_EQ(ar.size(), 1u);
  EXPECT_EQ(ar[0].op, CollOp::kAllReduce);
  EXPECT_EQ(ar[0].axis, 1);
  EXPECT_EQ(ar[0].bytes, bytes / 2);
  // P -> S: reduce_scatter of the full input buffer (nccl-tests size).
  auto rs = ConvertLayout({0, kPartial}, {0, 1}, bytes, kSizes);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].op, CollOp::kReduceScatter);
  EXPECT_EQ(rs[0].bytes, bytes / 2);
  // S -> R: all_gather, bytes = gathered output.
  auto ag = ConvertLayout({0, 1}, {0, kReplicated}, bytes, kSizes);
  ASSERT_EQ(ag.size(), 1u);
  EXPECT_EQ(ag[0].op, CollOp::kAllGather);
  EXPECT_EQ(ag[0].bytes, bytes / 2);
  // R -> S is a local slice; S(1) -> S(2) an all_to_all of the local buffer 2^20 / 2 / 4.
  EXPECT_TRUE(ConvertLayout({0, kReplicated}, {0, 1}, bytes, kSizes).empty());
  auto a2a = ConvertLayout({0, 1}, {0, 2}, bytes, kSizes);
  ASSERT_EQ(a2a.size(), 1u);
  EXPECT_EQ(a2a[0].op, CollOp::kAllToAll);
  EXPECT_EQ(a2a[0].bytes, bytes / 8);
  // Partial over both axes: tp first (innermost), then dp over the full buffer.
  auto both = ConvertLayout({kPartial, kPartial}, {kReplicated, kReplicated}, bytes, kSizes);
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[0].axis, 1);
  EXPECT_EQ(both[1].axis, 0);
  EXPECT_EQ(both[1].bytes, bytes);
}

}  // namespace
}  // namespace proteus
