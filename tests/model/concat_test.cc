// The concat operator: shape inference (CnnBuilder::Concat), what it keeps (nothing: its output is
// a new tensor, kept by its consumers), and its derived backward (a split of the gradient).
#include <gtest/gtest.h>

#include "common/error.h"
#include "simulator/model/backward.h"
#include "simulator/model/cnn_builder.h"

namespace proteus {
namespace {

// Two maps of 3 and 5 channels, 4x4, joined, then a 1x1 conv reads the result.
struct Fixture {
  Module m{"blk", "inception_block", {}, {}};
  CnnBuilder bld{DType::kBf16, "test"};
  Fmap a, b, cat;
  Fixture() {
    Fmap x{"input.images", 2, 4};
    a = bld.Conv(m, "blk.a", "a", x, Square(3, 1));
    b = bld.Conv(m, "blk.b", "b", x, Square(5, 3, 1, 1));
    cat = bld.Concat(m, "blk.concat", "concat", {a, b});
    bld.Conv(m, "blk.c", "c", cat, Square(7, 1));
  }
  const Operator& Op(const std::string& name) const {
    for (const auto& op : m.ops)
      if (op.name == name) return op;
    throw std::runtime_error("no op " + name);
  }
};

TEST(Concat, OutputShapeIsTheSumOfChannels) {
  Fixture f;
  EXPECT_EQ(f.cat.name, "blk.concat.out");
  EXPECT_EQ(f.cat.channels, 8);
  EXPECT_EQ(f.cat.size, 4);
  const Operator& op = f.Op("concat");
  EXPECT_EQ(op.kind, OpKind::kConcat);
  EXPECT_EQ(OpKindName(op.kind), "concat");
  EXPECT_EQ(ParseOpKind("concat"), OpKind::kConcat);
  EXPECT_EQ(op.Points(), 8 * 4 * 4);  // one point per output element
  EXPECT_EQ(op.ForwardFlops(), 0.0);
  ASSERT_EQ(op.tensors.size(), 3u);
  EXPECT_EQ(op.tensors[0].name, "blk.a.out");
  EXPECT_EQ(op.TensorElements(op.tensors[0]), 3 * 16);
  EXPECT_EQ(op.TensorElements(op.tensors[1]), 5 * 16);
  EXPECT_EQ(op.tensors[2].role, TensorRole::kOutput);
  EXPECT_EQ(op.TensorBytes(op.tensors[2]), 8 * 16 * 2);  // a new bf16 tensor
  EXPECT_EQ(op.FindDim("k")->kind, DimKind::kOpaque);     // never split: parts do not follow
}

TEST(Concat, KeepsNothingItsConsumerKeepsTheOutputOnce) {
  Fixture f;
  EXPECT_TRUE(f.Op("concat").saved.empty());
  // Saved: input images (2*4*4, read by both convs: once) and the concat output (8*4*4), bf16.
  EXPECT_EQ(SavedActivationBytes(f.m), (2 * 16 + 8 * 16) * 2);
}

TEST(Concat, BackwardSplitsTheGradient) {
  Fixture f;
  std::vector<Operator> bwd = DeriveBackward(f.Op("concat"));
  ASSERT_EQ(bwd.size(), 1u);  // no weights: no bwd_weight
  const Operator& split = bwd[0];
  EXPECT_EQ(split.phase, Phase::kBwdData);
  EXPECT_EQ(split.ForwardFlops(), 0.0);
  ASSERT_EQ(split.tensors.size(), 3u);
  EXPECT_EQ(split.tensors[0].name, "blk.concat.out.grad");
  EXPECT_EQ(split.tensors[0].role, TensorRole::kInput);
  EXPECT_EQ(split.tensors[1].name, "blk.a.out.grad");
  EXPECT_EQ(split.tensors[1].role, TensorRole::kOutput);
  EXPECT_EQ(split.TensorElements(split.tensors[1]), 3 * 16);
  EXPECT_EQ(split.tensors[2].name, "blk.b.out.grad");
  EXPECT_EQ(split.TensorElements(split.tensors[2]), 5 * 16);
}

TEST(Concat, PartsMustAgreeInSize) {
  Module m{"x", "x", {}, {}};
  CnnBuilder bld(DType::kBf16, "test");
  EXPECT_THROW(bld.Concat(m, "x.cat", "cat", {Fmap{"p", 3, 4}, Fmap{"q", 3, 5}}), InternalError);
  EXPECT_THROW(bld.Concat(m, "x.cat", "cat", {Fmap{"p", 3, 4}}), InternalError);
}

}  // namespace
}  // namespace proteus
