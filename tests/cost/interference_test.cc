#include "simulator/cost/interference.h"

#include <gtest/gtest.h>

namespace proteus {
namespace {

OpKey Key(const char* kind) {
  OpKey k;
  k.kind = kind;
  return k;
}

TEST(Interference, ClassesOfKinds) {
  EXPECT_EQ(ComputeClassOf(Key("gemm")), "gemm");
  EXPECT_EQ(ComputeClassOf(Key("conv2d")), "gemm");
  EXPECT_EQ(ComputeClassOf(Key("attention")), "attention");
  EXPECT_EQ(ComputeClassOf(Key("rmsnorm")), "norm");
  EXPECT_EQ(ComputeClassOf(Key("swiglu")), "elementwise");
  EXPECT_EQ(ComputeClassOf(Key("adam")), "optimizer");
  for (const auto& spec : OpKindSpecs()) EXPECT_FALSE(ComputeClassOfKind(spec.kind).empty());
}

TEST(Interference, DefaultsWithoutDatabase) {
  InterferenceModel m(nullptr);
  InterferenceFactors g = m.Factors("gemm", CollOp::kAllReduce);
  EXPECT_DOUBLE_EQ(g.compute_slowdown, 1.10);
  EXPECT_DOUBLE_EQ(g.comm_slowdown, 1.10);
  // Memory-bound kernels suffer more from the collective's HBM traffic.
  EXPECT_GT(m.Factors("norm", CollOp::kAllReduce).compute_slowdown, g.compute_slowdown);
  // Send/recv uses few channels: smaller slowdowns.
  EXPECT_LT(m.Factors("gemm", CollOp::kSendRecv).compute_slowdown, g.compute_slowdown);
  // An op kind is classified first: layernorm behaves as norm.
  EXPECT_DOUBLE_EQ(m.Factors("layernorm", CollOp::kAllGather).compute_slowdown,
                   m.Factors("norm", CollOp::kAllGather).compute_slowdown);
  for (CollOp op : {CollOp::kAllReduce, CollOp::kAllGather, CollOp::kReduceScatter, CollOp::kBroadcast,
                    CollOp::kReduce, CollOp::kAllToAll, CollOp::kSendRecv}) {
    for (const char* cls : {"gemm", "attention", "norm", "elementwise", "optimizer", "unknown"}) {
      InterferenceFactors f = m.Factors(cls, op);
      EXPECT_GE(f.compute_slowdown, 1.0);
      EXPECT_LE(f.compute_slowdown, 1.2);
      EXPECT_GE(f.comm_slowdown, 1.0);
    }
  }
}

TEST(Interference, MeasuredEntriesWin) {
  auto db = std::make_shared<CostDb>();
  db->interference.push_back({"gemm", "all_reduce", 1.3, 1.05});
  db->interference.push_back({"layernorm", "all_gather", 1.4, 1.2});
  InterferenceModel m(db);
  InterferenceFactors g = m.Factors("gemm", CollOp::kAllReduce);
  EXPECT_DOUBLE_EQ(g.compute_slowdown, 1.3);
  EXPECT_DOUBLE_EQ(g.comm_slowdown, 1.05);
  // A kind without its own entry uses its class's entry.
  EXPECT_DOUBLE_EQ(m.Factors("bgemm", CollOp::kAllReduce).compute_slowdown, 1.3);
  // An entry for a kind is used for that kind.
  EXPECT_DOUBLE_EQ(m.Factors("layernorm", CollOp::kAllGather).compute_slowdown, 1.4);
  // Pairs without an entry keep the defaults.
  EXPECT_DOUBLE_EQ(m.Factors("gemm", CollOp::kAllGather).compute_slowdown,
                   InterferenceModel::Default("gemm", CollOp::kAllGather).compute_slowdown);
}

}  // namespace
}  // namespace proteus
