// "Did you mean" (common/suggest.h): the edit distance, which names are close enough, their order,
// and telling paths from names.
#include "common/suggest.h"

#include <gtest/gtest.h>

namespace proteus {
namespace {

TEST(EditDistance, CountsInsertionsDeletionsAndSubstitutionsIgnoringCase) {
  EXPECT_EQ(EditDistance("", ""), 0);
  EXPECT_EQ(EditDistance("abc", ""), 3);
  EXPECT_EQ(EditDistance("gpt3-175", "gpt3-175b"), 1);      // one insertion
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3);          // the textbook case
  EXPECT_EQ(EditDistance("H100-SXM5-80GB", "h100-sxm5-80gb"), 0);
  EXPECT_EQ(EditDistance("llama3-8b", "llama3-70b"), 2);    // substitute 8 -> 7, insert 0
}

TEST(DidYouMean, SuggestsUpToThreeOfTheClosestNames) {
  std::vector<std::string> names = {"gpt3-175b", "gpt3-13b", "llama3-70b", "dgx-h100-1", "dgx-h100-16", "dgx-h100-2",
                                    "dgx-h100-128"};
  EXPECT_EQ(DidYouMean("gpt3-175", names), "did you mean gpt3-175b? ");
  EXPECT_EQ(DidYouMean("dgx-h100-12", names), "did you mean dgx-h100-1, dgx-h100-128 or dgx-h100-16? ");
  EXPECT_EQ(DidYouMean("resnet", names), "");  // nothing within max(2, 6 / 3) edits
  EXPECT_EQ(DidYouMean("gpt3-17b", names), "did you mean gpt3-13b or gpt3-175b? ");  // 1 edit each; llama3-70b: 6
  EXPECT_EQ(ClosestNames("LLAMA3-70B", names), std::vector<std::string>{"llama3-70b"});
}

TEST(LooksLikePath, SlashesAndFileExtensions) {
  EXPECT_TRUE(LooksLikePath("configs/model.json"));
  EXPECT_TRUE(LooksLikePath("my-model.json"));
  EXPECT_TRUE(LooksLikePath("node.xml"));
  EXPECT_TRUE(LooksLikePath("./gpt"));
  EXPECT_FALSE(LooksLikePath("gpt3-175b"));
  EXPECT_FALSE(LooksLikePath("dgx-h100-128"));
}

}  // namespace
}  // namespace proteus
