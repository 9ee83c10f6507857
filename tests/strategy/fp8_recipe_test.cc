// The fp8 recipe of a strategy (simulator/strategy/fp8_recipe.h): the file's "precision" object and
// the --fp8 / --fp8-scaling flags.
#include "simulator/strategy/fp8_recipe.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "simulator/strategy/explain.h"
#include "simulator/strategy/shorthand.h"
#include "simulator/strategy/strategy.h"
#include "tests/strategy/tiny_model.h"

namespace proteus {
namespace {

Strategy Parse(const std::string& precision) {
  std::string text = R"({"format": "proteus.strategy/1", "mesh": {"dp": 2}, "precision": )" + precision + "}";
  return ParseStrategy(ParseJson(text, "s.json"), "s.json");
}

std::string ErrorOf(const std::string& precision) {
  try {
    Parse(precision);
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Fp8Recipe, ParsesThePrecisionObject) {
  Strategy s = Parse(R"({"fp8": "hybrid", "fp8_scaling": "current"})");
  EXPECT_EQ(s.fp8.format, Fp8Format::kHybrid);
  EXPECT_EQ(s.fp8.scaling, Fp8Scaling::kCurrent);
  EXPECT_EQ(Parse(R"({"fp8": "e4m3"})").fp8.scaling, Fp8Scaling::kDelayed);
  EXPECT_EQ(Parse(R"({"fp8": "e4m3", "fp8_scaling": "tensorwise"})").fp8.scaling, Fp8Scaling::kCurrent);
  EXPECT_FALSE(Parse(R"({})").fp8.enabled());
  EXPECT_FALSE(Parse(R"({"fp8": "none"})").fp8.enabled());
  // Without a precision object: none.
  EXPECT_FALSE(ParseStrategy(ParseJson(R"({"format": "proteus.strategy/1", "mesh": {"dp": 2}})", "s"), "s").fp8.enabled());
}

TEST(Fp8Recipe, RoundTripsThroughTheCanonicalJson) {
  Strategy s = Parse(R"({"fp8": "hybrid", "fp8_scaling": "current"})");
  Json j = StrategyToJson(s);
  EXPECT_EQ(j["precision"]["fp8"], "hybrid");
  EXPECT_EQ(ParseStrategy(j, "round").fp8, s.fp8);
  // The default writes no fp8 keys (the precision object holds the memory accounting's dtypes too).
  EXPECT_FALSE(StrategyToJson(Parse(R"({})"))["precision"].contains("fp8"));
}

TEST(Fp8Recipe, BadFieldsAreNamed) {
  EXPECT_NE(ErrorOf(R"({"fp8": "e5m2"})").find("s.json: precision.fp8"), std::string::npos) << ErrorOf(R"({"fp8": "e5m2"})");
  EXPECT_NE(ErrorOf(R"({"fp8": "e4m3", "fp8_scaling": "mxfp8"})").find("precision.fp8_scaling"), std::string::npos);
  // Scaling alone would do nothing: refused.
  EXPECT_NE(ErrorOf(R"({"fp8_scaling": "current"})").find("precision.fp8_scaling"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"fp8": "e4m3", "fp9": 1})").find("fp9"), std::string::npos);
}

TEST(Fp8Recipe, ShorthandFlags) {
  Model m = testing::TinyGpt();
  ShorthandOptions o;
  o.fp8 = "e4m3";
  Strategy s = ExpandShorthand(m, o);
  EXPECT_EQ(s.fp8, (Fp8Recipe{Fp8Format::kE4M3, Fp8Scaling::kDelayed}));
  o.fp8_scaling = "current";
  EXPECT_EQ(ExpandShorthand(m, o).fp8.scaling, Fp8Scaling::kCurrent);
  auto where = [&](ShorthandOptions bad) {
    try {
      ExpandShorthand(m, bad);
    } catch (const UserError& e) {
      return e.where();
    }
    return std::string("(no error)");
  };
  ShorthandOptions bad;
  bad.fp8 = "e3m4";
  EXPECT_EQ(where(bad), "--fp8");
  bad.fp8 = "";
  bad.fp8_scaling = "current";  // without --fp8
  EXPECT_EQ(where(bad), "--fp8-scaling");
  bad.fp8 = "hybrid";
  bad.fp8_scaling = "sometimes";
  EXPECT_EQ(where(bad), "--fp8-scaling");
}

TEST(Fp8Recipe, ExplainSaysWhatRunsInFp8) {
  Model m = testing::TinyGpt();
  ShorthandOptions o;
  EXPECT_EQ(ExplainStrategy(m, ExpandShorthand(m, o)).find("precision:"), std::string::npos);
  o.fp8 = "hybrid";
  std::string text = ExplainStrategy(m, ExpandShorthand(m, o));
  EXPECT_NE(text.find("precision: fp8 GEMMs in the transformer blocks' Linears (Transformer Engine hybrid, delayed "
                      "scaling)"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace proteus
