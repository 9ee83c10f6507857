#include "simulator/strategy/glob.h"

#include <gtest/gtest.h>

namespace proteus {
namespace {

TEST(Glob, StarMatchesOneComponent) {
  EXPECT_TRUE(MatchGlob("layers.*.mlp.fc1", "layers.7.mlp.fc1"));
  EXPECT_FALSE(MatchGlob("layers.*.fc1", "layers.7.mlp.fc1"));  // * is one component, not two
  EXPECT_FALSE(MatchGlob("layers.*", "layers"));
}

TEST(Glob, DoubleStarMatchesAnyNumberIncludingNone) {
  EXPECT_TRUE(MatchGlob("**", ""));
  EXPECT_TRUE(MatchGlob("**", "layers.3.mlp.fc1"));
  EXPECT_TRUE(MatchGlob("**.fc1", "layers.3.mlp.fc1"));
  EXPECT_TRUE(MatchGlob("layers.**", "layers"));
  EXPECT_TRUE(MatchGlob("layers.**.fc2", "layers.3.mlp.fc2"));
  EXPECT_FALSE(MatchGlob("**.fc1", "layers.3.mlp.fc2"));
}

TEST(Glob, WildcardsInsideAComponent) {
  EXPECT_TRUE(MatchGlob("**.fc*", "layers.3.mlp.fc2"));
  EXPECT_TRUE(MatchGlob("layers.?.mlp", "layers.3.mlp"));
  EXPECT_FALSE(MatchGlob("layers.?.mlp", "layers.13.mlp"));
}

TEST(Glob, NumericRangesAreInclusiveAndWholeComponent) {
  EXPECT_TRUE(MatchGlob("layers.[0-11]", "layers.0"));
  EXPECT_TRUE(MatchGlob("layers.[0-11]", "layers.11"));
  EXPECT_FALSE(MatchGlob("layers.[0-11]", "layers.12"));
  EXPECT_FALSE(MatchGlob("layers.[0-1]", "layers.10"));
  EXPECT_FALSE(MatchGlob("layers.[0-1]", "layers.x"));
  EXPECT_TRUE(MatchGlob("layers.[2-3].**", "layers.3.mlp.fc1"));
}

TEST(Glob, ExactPathsAndRoot) {
  EXPECT_TRUE(MatchGlob("embed", "embed"));
  EXPECT_FALSE(MatchGlob("embed", "embed.word"));
  EXPECT_TRUE(MatchGlob("", ""));
  EXPECT_FALSE(MatchGlob("embed", ""));
}

TEST(Glob, CheckGlobNamesMalformedRanges) {
  EXPECT_FALSE(CheckGlob("layers.[0-11].mlp"));
  EXPECT_TRUE(CheckGlob("layers.[3-1]"));
  EXPECT_TRUE(CheckGlob("layers.[a-b]"));
  EXPECT_TRUE(CheckGlob("layers..mlp"));
  EXPECT_NE(CheckGlob("layers.[3-1]")->find("empty range"), std::string::npos);
}

}  // namespace
}  // namespace proteus
