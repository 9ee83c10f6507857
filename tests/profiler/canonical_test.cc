#include "profiler/canonical.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "profiler/op_semantics.h"

namespace proteus::profiler {
namespace {

OpKey K(std::string kind, DType t, Phase p, std::map<std::string, int64_t> s, std::map<std::string, std::string> a = {}) {
  return OpKey{std::move(kind), t, p, std::move(s), std::move(a)};
}

const std::map<std::string, int64_t> kAttn = {{"batch", 1}, {"heads", 32}, {"kv_heads", 8}, {"seq_q", 4096},
                                              {"seq_kv", 4096}, {"head_dim", 128}};

TEST(Canonicalize, FillsDefaultAttributes) {
  OpKey k = Canonicalize(K("attention", DType::kBf16, Phase::kFwd, kAttn), "t");
  EXPECT_EQ(k.attrs.at("causal"), "0");
  EXPECT_EQ(k.ToString(), "attention|bf16|fwd|batch=1,head_dim=128,heads=32,kv_heads=8,seq_kv=4096,seq_q=4096|causal=0");
  EXPECT_EQ(Canonicalize(K("pool", DType::kFp16, Phase::kFwd, {{"n", 1}, {"c", 1}, {"h", 8}, {"w", 8}, {"window", 2}, {"stride", 2}}), "t")
                .attrs.at("mode"), "max");
  // Already canonical keys are unchanged: the simulator's key and the profiler's are one string.
  EXPECT_EQ(Canonicalize(k, "t"), k);
}

TEST(Canonicalize, RejectsWhatCannotBeMeasured) {
  auto msg = [](const OpKey& k) {
    try {
      Canonicalize(k, "need.json: ops[3]");
    } catch (const UserError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  auto attn = kAttn;
  attn["kv_heads"] = 6;
  EXPECT_EQ(msg(K("attention", DType::kBf16, Phase::kFwd, attn)),
            "need.json: ops[3]: attention: heads (32) must be a multiple of kv_heads (6)");
  EXPECT_NE(msg(K("attention", DType::kBf16, Phase::kFwd, kAttn, {{"causal", "yes"}})).find("must be one of: 0, 1"), std::string::npos);
  EXPECT_NE(msg(K("attention", DType::kBf16, Phase::kFwd, kAttn, {{"window", "4"}})).find("no attribute \"window\""), std::string::npos);
  EXPECT_NE(msg(K("gelu", DType::kFp8E4M3, Phase::kFwd, {{"elements", 8}})).find("cannot be measured in fp8_e4m3"), std::string::npos);
  EXPECT_NE(msg(K("add", DType::kBf16, Phase::kStep, {{"elements", 8}})).find("has no phase step"), std::string::npos);
  EXPECT_NE(msg(K("gemm", DType::kBf16, Phase::kFwd, {{"m", 8}, {"n", 0}, {"k", 8}})).find("must be positive"), std::string::npos);
  EXPECT_NE(msg(K("gemm", DType::kBf16, Phase::kFwd, {{"m", 8}, {"n", 8}})).find("needs shape parameter \"k\""), std::string::npos);
  EXPECT_NE(msg(K("rope", DType::kBf16, Phase::kFwd, {{"tokens", 8}, {"heads", 2}, {"head_dim", 5}})).find("even"), std::string::npos);
  EXPECT_NE(msg(K("copy", DType::kBf16, Phase::kFwd, {{"bytes", 8}}, {{"dir", "sideways"}})).find("h2d"), std::string::npos);
  EXPECT_EQ(msg(K("conv2d", DType::kTf32, Phase::kBwdWeight, {{"n", 1}, {"c", 3}, {"h", 8}, {"w", 8}, {"k", 4}, {"r", 3},
                                                             {"s", 3}, {"stride", 1}, {"pad", 0}})), "accepted");
}

TEST(Canonicalize, UnsupportedIsNotMalformed) {
  // Keys proteus-sim may ask for that this profiler has no kernel for: skipped, not errors.
  EXPECT_NE(UnsupportedReason(K("batchnorm", DType::kBf16, Phase::kBwdWeight, {{"n", 8}, {"c", 64}, {"h", 8}, {"w", 8}}))
                .value_or("").find("no bwd_weight kernel"), std::string::npos);
  EXPECT_NE(UnsupportedReason(K("gelu", DType::kBf16, Phase::kFwd, {{"elements", 8}}, {{"fn", "relu"}}))
                .value_or("").find("fn=relu"), std::string::npos);
  EXPECT_FALSE(UnsupportedReason(K("gelu", DType::kBf16, Phase::kFwd, {{"elements", 8}})));
  // Malformed keys are Canonicalize's to report.
  EXPECT_FALSE(UnsupportedReason(K("gemm", DType::kBf16, Phase::kFwd, {{"m", 8}})));
}

TEST(OpSemantics, PhasesFollowTheKeyMeanings) {
  EXPECT_EQ(PhasesOf("gemm").size(), 3u);
  EXPECT_EQ(PhasesOf("embedding"), (std::vector<Phase>{Phase::kFwd, Phase::kBwdWeight}));
  EXPECT_EQ(PhasesOf("attention"), (std::vector<Phase>{Phase::kFwd, Phase::kBwdData}));
  EXPECT_EQ(PhasesOf("adam"), std::vector<Phase>{Phase::kStep});
  EXPECT_EQ(PhasesOf("add"), (std::vector<Phase>{Phase::kFwd, Phase::kBwdData}));  // + gradient accumulation
  EXPECT_TRUE(PhasesOf("nonsense").empty());
  // Every kind of common/op_key.h has phases, dtypes and a class.
  for (const auto& s : OpKindSpecs()) {
    EXPECT_FALSE(PhasesOf(std::string(s.kind)).empty()) << s.kind;
    EXPECT_FALSE(DTypesOf(std::string(s.kind)).empty()) << s.kind;
    EXPECT_FALSE(OpClass(std::string(s.kind)).empty()) << s.kind;
  }
}

TEST(OpSemantics, GemmWorkPerPhase) {
  OpKey f = Canonicalize(K("gemm", DType::kBf16, Phase::kFwd, {{"m", 4096}, {"n", 4096}, {"k", 4096}}), "t");
  OpWork w = WorkOf(f);
  EXPECT_DOUBLE_EQ(w.flops, 2.0 * 4096 * 4096 * 4096);     // 1.37e11
  EXPECT_DOUBLE_EQ(w.bytes, 3.0 * 4096 * 4096 * 2);        // A, B read, C written, bf16
  OpKey bw = Canonicalize(K("gemm", DType::kFp8E4M3, Phase::kBwdWeight, {{"m", 1024}, {"n", 256}, {"k", 512}}), "t");
  // dB[k,n] = A^T dC: reads A (m*k) and dC (m*n) in fp8, writes dB (k*n) in bf16.
  EXPECT_DOUBLE_EQ(WorkOf(bw).bytes, 1024.0 * 512 + 1024.0 * 256 + 512.0 * 256 * 2);
  EXPECT_DOUBLE_EQ(WorkOf(bw).flops, 2.0 * 1024 * 256 * 512);
}

TEST(OpSemantics, CausalAttentionNeedsHalfTheFlops) {
  OpKey a = Canonicalize(K("attention", DType::kBf16, Phase::kFwd, kAttn), "t");
  OpKey c = Canonicalize(K("attention", DType::kBf16, Phase::kFwd, kAttn, {{"causal", "1"}}), "t");
  // 4 * b * h * sq * skv * d = 4 * 32 * 4096^2 * 128
  EXPECT_DOUBLE_EQ(WorkOf(a).flops, 4.0 * 32 * 4096 * 4096 * 128);
  EXPECT_DOUBLE_EQ(WorkOf(c).flops, WorkOf(a).flops / 2);
}

}  // namespace
}  // namespace proteus::profiler
