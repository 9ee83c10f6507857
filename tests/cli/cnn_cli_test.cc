// The zoo's CNNs end to end (issue 12, part 4): simulate exits 0 and the text report counts images,
// not tokens or "seq 0"; the JSON keeps its field names and adds images_per_s; bad input (a
// sequence length, an image too small for the network) exits 2 naming the flag or field.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/json_file.h"
#include "common/log.h"
#include "tests/cli/cli_test_util.h"
#include "tests/common/process_temp_dir.h"

namespace proteus {
namespace {

CliRun Simulate(const std::string& model, std::vector<std::string> extra = {}) {
  SetLogLevel(LogLevel::kQuiet);
  std::vector<std::string> args = {"simulate", "--model", model, "--cluster", "dgx-a100-1", "--dp", "8", "--mbs", "32"};
  args.insert(args.end(), extra.begin(), extra.end());
  return RunCli(args);
}

class CnnSimulate : public ::testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(CnnSimulate, ReportsImagesPerSecond) {
  auto [model, image] = GetParam();
  CliRun r = Simulate(model);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("images/s"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("tokens/s"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("seq 0"), std::string::npos) << r.out;
  // dp 8 x mbs 32 = 256 images of image x image pixels.
  EXPECT_NE(r.out.find("256 (1 micro-batches per pipeline), images " + std::string(image) + "x" + image),
            std::string::npos)
      << r.out;
}

INSTANTIATE_TEST_SUITE_P(Zoo, CnnSimulate,
                         ::testing::Values(std::make_pair("alexnet", "224"), std::make_pair("vgg16", "224"),
                                           std::make_pair("inception-v3", "299"),
                                           std::make_pair("resnet50", "224")));

TEST(CnnCli, JsonKeepsFieldsAndAddsImages) {
  CliRun r = Simulate("alexnet", {"--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  Json doc = Json::parse(r.out);
  double samples = doc["samples_per_s"].get<double>();
  EXPECT_GT(samples, 0);
  EXPECT_EQ(doc["images_per_s"].get<double>(), samples);
  EXPECT_EQ(doc["tokens_per_s"].get<double>(), samples);  // unchanged meaning: samples/s * max(seq, 1)
  EXPECT_EQ(doc["inputs"]["image_size"].get<int64_t>(), 224);
  EXPECT_EQ(doc["inputs"]["seq_len"].get<int64_t>(), 0);
}

TEST(CnnCli, TransformerReportStillCountsTokens) {
  SetLogLevel(LogLevel::kQuiet);
  CliRun r = RunCli({"simulate", "--model", "gpt2-small", "--cluster", "dgx-a100-1", "--dp", "8", "--mbs", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("tokens/s"), std::string::npos);
  EXPECT_NE(r.out.find(", seq 1024"), std::string::npos);
  EXPECT_EQ(r.out.find("images/s"), std::string::npos);
}

TEST(CnnCli, SequenceLengthRefusedNamingTheFlag) {
  for (const char* model : {"alexnet", "vgg16", "vgg19", "inception-v3"}) {
    CliRun r = Simulate(model, {"--seq-len", "128"});
    EXPECT_EQ(r.code, 2) << model << r.out;
    EXPECT_NE(r.err.find("error: --seq-len: model " + std::string(model) + " has no sequence"), std::string::npos)
        << r.err;
  }
}

TEST(CnnCli, TooSmallImageRefusedNamingTheField) {
  const auto& dir = ProcessTempDir();
  struct Case {
    const char* model;
    const char* overrides;
    const char* message;
  };
  for (Case c : {Case{"alexnet", R"({"image_size": 62})", "image_size: must be at least 63"},
                 Case{"inception-v3", R"({"image_size": 74, "aux_logits": false})", "image_size: must be at least 75"},
                 Case{"inception-v3", R"({"image_size": 224})", "image_size: must be at least 299"}}) {
    std::string path = (dir.path() / (std::string(c.model) + "-small.json")).string();
    WriteFileAtomic(path, std::string(R"({"format": "proteus.model/1", "zoo": ")") + c.model +
                              R"(", "overrides": )" + c.overrides + "}");
    CliRun r = Simulate(path);
    EXPECT_EQ(r.code, 2) << c.model << r.out;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("overrides"), std::string::npos) << r.err;
  }
  // The smallest sizes run.
  std::string ok = (dir.path() / "alexnet63.json").string();
  WriteFileAtomic(ok, R"({"format": "proteus.model/1", "zoo": "alexnet", "overrides": {"image_size": 63}})");
  CliRun r = Simulate(ok);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("images 63x63"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace proteus
