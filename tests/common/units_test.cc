#include "common/units.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/json_file.h"

namespace proteus {
namespace {

TEST(Units, ParseBytesUsesBinaryMultiples) {
  EXPECT_EQ(ParseBytes("8"), 8);
  EXPECT_EQ(ParseBytes("8B"), 8);
  EXPECT_EQ(ParseBytes("64K"), 64 * 1024);
  EXPECT_EQ(ParseBytes("1MB"), 1 << 20);
  EXPECT_EQ(ParseBytes("8GB"), 8LL << 30);
  EXPECT_EQ(ParseBytes("8gib"), 8LL << 30);
  EXPECT_FALSE(ParseBytes(""));
  EXPECT_FALSE(ParseBytes("GB"));
  EXPECT_FALSE(ParseBytes("-1"));
  EXPECT_FALSE(ParseBytes("4XB"));
  EXPECT_FALSE(ParseBytes("99999999999999999999"));
}

TEST(Units, FormatBytesLikeNcclTests) {
  EXPECT_EQ(FormatBytes(8), "8 B");
  EXPECT_EQ(FormatBytes(65536), "64 KB");
  EXPECT_EQ(FormatBytes(8LL << 30), "8 GB");
  EXPECT_EQ(FormatBytes(1000), "1000 B");
}

TEST(JsonView, ErrorsNameFileAndField) {
  Json doc = ParseJson(R"({"format": "proteus.cluster/1", "groups": [{"count": -3}]})", "c.json");
  JsonView root(doc, "c.json");
  EXPECT_EQ(root.RequireFormat("proteus.cluster", 1), 1);
  try {
    root.At("groups").At(0).PositiveInt("count");
    FAIL();
  } catch (const UserError& e) {
    EXPECT_EQ(std::string(e.what()), "c.json: groups[0].count: must be a positive integer, got -3");
  }
  EXPECT_THROW(root.RequireFormat("proteus.model", 1), UserError);
  EXPECT_THROW(root.Str("missing"), UserError);
  EXPECT_THROW(root.RejectUnknownKeys({"format"}), UserError);
}

TEST(JsonView, MalformedJsonNamesLine) {
  try {
    ParseJson("{\n\"a\": 1,\n\"b\": }", "x.json");
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("x.json: malformed JSON at line 3"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace proteus
