// Expert parallelism in strategies: the mesh's "ep" entry folds into dp (no GPUs of its own) and
// survives a JSON round trip; --ep reaches the strategy; the refusals name the flag or field.
#include <gtest/gtest.h>

#include "common/error.h"
#include "simulator/model/zoo.h"
#include "simulator/strategy/shorthand.h"
#include "simulator/strategy/strategy.h"
#include "simulator/strategy/validate.h"

namespace proteus {
namespace {

std::string ErrorOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ExpertParallel, MeshEpFoldsIntoDpAndRoundTrips) {
  Strategy s = ParseStrategy(ParseJson(R"({"format": "proteus.strategy/1", "mesh": {"pp": 2, "dp": 8, "ep": 4, "tp": 2},
                                           "defaults": {"partition": {"b": "dp"}}})", "s.json"), "s.json");
  EXPECT_EQ(s.expert_parallel, 4);
  EXPECT_EQ(s.mesh.size(), 3u);  // pp, dp, tp
  EXPECT_EQ(s.MeshGpus(), 32);   // 2 x 8 x 2: ep adds no GPUs
  EXPECT_EQ(ParseStrategy(StrategyToJson(s), "round").expert_parallel, 4);
}

TEST(ExpertParallel, ShorthandSetsItAndValidationChecksIt) {
  Model mixtral = BuildZooModel("mixtral-8x7b");
  ShorthandOptions o;
  o.dp = 8;
  o.ep = 4;
  Strategy s = ExpandShorthand(mixtral, o);
  EXPECT_EQ(s.expert_parallel, 4);
  EXPECT_NO_THROW(ValidateStrategy(mixtral, s, 8));
  o.ep = 0;
  EXPECT_EQ(ErrorOf([&] { ExpandShorthand(mixtral, o); }).rfind("--ep", 0), 0u);
  o.ep = 3;  // does not divide dp 8
  EXPECT_NE(ErrorOf([&] { ValidateStrategy(mixtral, ExpandShorthand(mixtral, o), 8); }).find("must divide dp 8"),
            std::string::npos);
  o.dp = 16;
  o.ep = 16;  // more groups than the 8 experts
  EXPECT_NE(ErrorOf([&] { ValidateStrategy(mixtral, ExpandShorthand(mixtral, o), 16); }).find("8 experts"),
            std::string::npos);
  Model dense = BuildZooModel("llama3-8b");
  o.ep = 2;
  EXPECT_NE(ErrorOf([&] { ValidateStrategy(dense, ExpandShorthand(dense, o), 16); }).find("is dense"),
            std::string::npos);
}

}  // namespace
}  // namespace proteus
