// ParseOpKey: the inverse of OpKey::ToString, validated like any key.
#include <gtest/gtest.h>

#include "common/op_key.h"
#include "tests/common/test_keys.h"

namespace proteus {
namespace {

using test_keys::Gemm;

// The reason ParseOpKey gives for rejecting `text` ("(accepted)" if it does not).
std::string Why(std::string_view text) {
  std::string why;
  if (ParseOpKey(text, &why)) return "(accepted)";
  return why;
}

TEST(ParseOpKey, InvertsToString) {
  OpKey attention;
  attention.kind = "attention";
  attention.dtype = DType::kFp16;
  attention.phase = Phase::kBwdData;
  attention.shape = {{"batch", 1}, {"heads", 32}, {"kv_heads", 8}, {"seq_q", 4096}, {"seq_kv", 4096}, {"head_dim", 128}};
  attention.attrs = {{"causal", "1"}, {"layout", "bshd"}};
  OpKey copy;
  copy.kind = "copy";
  copy.dtype = DType::kInt64;
  copy.phase = Phase::kStep;
  copy.shape = {{"bytes", 0}};
  copy.attrs = {{"dir", "h2d"}};
  for (const OpKey& key : {Gemm(8192, 8192, 8192), attention, copy}) {
    auto parsed = ParseOpKey(key.ToString());
    ASSERT_TRUE(parsed) << key.ToString() << ": " << Why(key.ToString());
    EXPECT_EQ(*parsed, key) << key.ToString();
    EXPECT_EQ(parsed->ToString(), key.ToString());
  }
}

TEST(ParseOpKey, ReadsTheDocumentedExample) {
  auto key = ParseOpKey("gemm|bf16|fwd|k=8192,m=4096,n=12288|");
  ASSERT_TRUE(key);
  EXPECT_EQ(key->kind, "gemm");
  EXPECT_EQ(key->dtype, DType::kBf16);
  EXPECT_EQ(key->phase, Phase::kFwd);
  EXPECT_EQ(key->shape.at("m"), 4096);
  EXPECT_EQ(key->shape.at("n"), 12288);
  EXPECT_EQ(key->shape.at("k"), 8192);
  EXPECT_TRUE(key->attrs.empty());
}

TEST(ParseOpKey, AcceptsShapeParametersInAnyOrder) {
  auto key = ParseOpKey("gemm|bf16|bwd_weight|n=3,m=1,k=2|");
  ASSERT_TRUE(key);
  EXPECT_EQ(key->ToString(), "gemm|bf16|bwd_weight|k=2,m=1,n=3|");
}

TEST(ParseOpKey, RejectsMalformedTextWithAReason) {
  EXPECT_NE(Why("").find("5 parts"), std::string::npos) << Why("");
  EXPECT_NE(Why("gemm|bf16|fwd|k=1,m=1,n=1").find("5 parts"), std::string::npos);
  EXPECT_NE(Why("gemm|bf16|fwd|k=1,m=1,n=1||").find("5 parts"), std::string::npos);
  EXPECT_NE(Why("matmul|bf16|fwd|k=1,m=1,n=1|").find("unknown op kind"), std::string::npos);
  EXPECT_NE(Why("gemm|bfloat16|fwd|k=1,m=1,n=1|").find("unknown dtype"), std::string::npos);
  EXPECT_NE(Why("gemm|bf16|forward|k=1,m=1,n=1|").find("unknown phase"), std::string::npos);
  EXPECT_NE(Why("gemm|bf16|fwd|m=1,n=1|").find("needs shape parameter \"k\""), std::string::npos);
  EXPECT_NE(Why("gemm|bf16|fwd|k=1,m=1,n=1,x=2|").find("no shape parameter \"x\""), std::string::npos);
  EXPECT_NE(Why("gemm|bf16|fwd|k=1,m=1,n=1.5|").find("not an integer"), std::string::npos);
  EXPECT_NE(Why("gemm|bf16|fwd|k=1,m=1,n=|").find("not an integer"), std::string::npos);
  EXPECT_NE(Why("gemm|bf16|fwd|k=1,m=1,n=99999999999999999999|").find("not an integer"), std::string::npos);
  EXPECT_NE(Why("gemm|bf16|fwd|k=1,m=-1,n=1|").find("negative"), std::string::npos);
  EXPECT_NE(Why("gemm|bf16|fwd|k=1,k=2,m=1,n=1|").find("twice"), std::string::npos);
  EXPECT_NE(Why("gemm|bf16|fwd|k=1,m,n=1|").find("name=value"), std::string::npos);
  EXPECT_NE(Why("gemm|bf16|fwd|k=1,m=1,n=1|causal").find("name=value"), std::string::npos);
  EXPECT_FALSE(ParseOpKey("gemm|bf16|fwd|k=1,m=1,n=1|=1"));
}

TEST(ParseOpKey, WhyIsOptional) {
  EXPECT_FALSE(ParseOpKey("nonsense"));
  EXPECT_TRUE(ParseOpKey("add|fp32|fwd|elements=10|"));
}

}  // namespace
}  // namespace proteus
