// `proteus-sim list models|clusters|gpus`, and the "did you mean" / "file not found" refusals for
// names of models, clusters and GPUs (issue 14, item 5).
#include <gtest/gtest.h>

#include "common/log.h"
#include "simulator/cost/gpu_spec.h"
#include "tests/cli/cli_test_util.h"
#include "tests/user_error_text.h"

namespace proteus {
namespace {

TEST(ListCli, ModelsClustersAndGpusWithTheirNumbers) {
  SetLogLevel(LogLevel::kQuiet);
  CliRun models = RunCli({"list", "models"});
  ASSERT_EQ(models.code, 0) << models.err;
  // GPT-3 175B: 96 layers of 12,288 (174.6B parameters with the 51,200-row embedding).
  EXPECT_NE(models.out.find("174.62B      96   12288    2048"), std::string::npos) << models.out;
  EXPECT_NE(models.out.find("mixtral-8x7b"), std::string::npos);
  // The CNNs: blocks as layers, no hidden width or sequence, their default image size.
  EXPECT_NE(models.out.find("alexnet                 0.06B       5       -       -     224        -"), std::string::npos)
      << models.out;
  EXPECT_NE(models.out.find("vgg16                   0.14B      13       -       -     224"), std::string::npos);
  EXPECT_NE(models.out.find("inception-v3            0.03B      11       -       -     299"), std::string::npos);
  EXPECT_NE(models.out.find("resnet50                0.03B      16       -       -     224"), std::string::npos);
  EXPECT_NE(models.out.find("model files in data/models (--model NAME): gpt3-175b-48layers"), std::string::npos);
  CliRun clusters = RunCli({"list", "clusters"});
  ASSERT_EQ(clusters.code, 0) << clusters.err;
  EXPECT_NE(clusters.out.find("dgx-h100-128              128   1024  128 x H100-SXM5-80GB"), std::string::npos)
      << clusters.out;
  CliRun gpus = RunCli({"list", "gpus"});
  ASSERT_EQ(gpus.code, 0) << gpus.err;
  EXPECT_NE(gpus.out.find("H100-SXM5-80GB"), std::string::npos) << gpus.out;
  EXPECT_NE(gpus.out.find("80 GiB"), std::string::npos) << gpus.out;
}

class NameRefused : public ::testing::TestWithParam<BadInputCase> {};

TEST_P(NameRefused, ExitsTwoWithASuggestionOrFileNotFound) { ExpectRefused({}, GetParam()); }

INSTANTIATE_TEST_SUITE_P(
    Cases, NameRefused,
    ::testing::Values(
        BadInputCase{{"list", "model"}, "model not in {models,clusters,gpus}"},
        BadInputCase{{"simulate", "--model", "gpt3-175", "--cluster", "dgx-h100-1"},
                     "'gpt3-175' is neither a zoo model nor a model file; did you mean gpt3-175b? zoo models:"},
        BadInputCase{{"simulate", "--model", "lama3-8b", "--cluster", "dgx-h100-1"}, "did you mean llama3-8b?"},
        BadInputCase{{"simulate", "--model", "configs/my-model.json", "--cluster", "dgx-h100-1"},
                     "model: file not found: configs/my-model.json"},
        BadInputCase{{"simulate", "--model", "gpt2-small", "--cluster", "dgx-h10-128"},
                     "--cluster: no cluster file or shipped cluster named \"dgx-h10-128\"; did you mean dgx-h100-128? "},
        BadInputCase{{"simulate", "--model", "gpt2-small", "--cluster", "clusters/mine.json"},
                     "--cluster: file not found: clusters/mine.json"}));

TEST(GpuNames, UnknownGpuSuggestsAndPathsAreFilesNotFound) {
  // One edit from H100-SXM5-80GB, two from A100-SXM4-80GB: only the closest is suggested.
  EXPECT_EQ(ErrorOf([] { LoadGpuSpec("H100-SXM-80GB"); }).substr(0, 66),
            "gpu \"H100-SXM-80GB\": unknown GPU; did you mean H100-SXM5-80GB? (sh");
  EXPECT_EQ(ErrorOf([] { LoadGpuSpec("gpus/mine.json"); }), "gpu: file not found: gpus/mine.json");
}

}  // namespace
}  // namespace proteus
