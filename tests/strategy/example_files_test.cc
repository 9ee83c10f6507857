#include <gtest/gtest.h>

#include "simulator/model/zoo.h"
#include "simulator/strategy/shorthand.h"
#include "simulator/strategy/validate.h"

namespace proteus {
namespace {

// The shipped GPT-3 file says by hand what the shorthand says with flags: both resolve every op of
// the 96-layer model identically.
TEST(ExampleFiles, Gpt3FileEqualsItsShorthand) {
  Model m = BuildZooModel("gpt3-175b");
  Strategy file = LoadStrategy("data/strategies/gpt3-175b-megatron.json");
  ShorthandOptions o;
  o.tp = 8;
  o.pp = 8;
  o.dp = 16;
  o.global_batch = 1536;
  o.zero = 1;
  o.recompute = "full";
  Strategy flags = ExpandShorthand(m, o);
  ResolvedModel a = ValidateStrategy(m, file, 1024), b = ValidateStrategy(m, flags, 1024);
  ASSERT_EQ(a.ops.size(), b.ops.size());
  for (size_t i = 0; i < a.ops.size(); ++i) {
    // Module-level rules may name dims an op does not have; only the op's own dims matter.
    auto own = [&](const ResolvedOp& r) {
      std::map<std::string, std::string> p;
      for (const auto& [dim, axis] : r.settings.partition)
        if (r.op->FindDim(dim)) p[dim] = axis;
      return p;
    };
    EXPECT_EQ(own(a.ops[i]), own(b.ops[i])) << a.ops[i].path;
    EXPECT_EQ(a.ops[i].settings.stage, b.ops[i].settings.stage) << a.ops[i].path;
    EXPECT_EQ(a.ops[i].settings.recompute, b.ops[i].settings.recompute) << a.ops[i].path;
    EXPECT_EQ(a.ops[i].settings.optimizer, b.ops[i].settings.optimizer) << a.ops[i].path;
  }
  EXPECT_EQ(file.NumMicrobatches(), 96);  // 1536 / (1 x 16)
}

}  // namespace
}  // namespace proteus
