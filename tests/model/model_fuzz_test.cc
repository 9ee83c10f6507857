// Fuzz test of the model readers: proteus.model/1 documents (zoo + overrides, hf_config, full module
// tree), Hugging Face config.json and module trees. Every mutated document either parses into a
// model whose summary and derived backward can be computed, or throws UserError; never a crash, a
// hang, or another exception type. Seeds: the shipped data/models files and the module trees of
// small zoo models. Deterministic (fixed seeds), bounded by iteration count.
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "common/error.h"
#include "simulator/model/backward.h"
#include "simulator/model/hf_config.h"
#include "simulator/model/model_file.h"
#include "simulator/model/module_json.h"
#include "simulator/model/summary.h"
#include "simulator/model/zoo.h"
#include "tests/common/json_mutator.h"

namespace proteus {
namespace {

// What a consumer does with a model it loaded: summarize it (params, FLOPs, saved bytes) and derive
// its backward pass; both must work on anything the reader accepted.
void Use(const Model& m) {
  (void)FormatModelSummary(SummarizeModel(m));
  (void)BackwardFlops(m.root);
}

TEST(ModelFuzz, ShippedModelDocumentsParseOrThrowUserError) {
  // The overrides of the zoo files are where mutations land most; each build is a full transformer,
  // so the iteration counts keep this test near a second.
  for (const char* name : {"gpt3-175b-48layers", "llama3.2-1b-seq4096", "metis-gpt-1.5b", "uniform-gpt",
                           "tiny-mlp-tree"}) {
    std::string file = std::string("data/models/") + name + ".json";
    Json valid = ReadJsonFile(file);
    fuzz::FuzzStats stats;
    EXPECT_EQ(fuzz::FuzzJsonReader(valid, 31, 150, [&](const Json& j) { Use(ModelFromDocument(j, file)); }, &stats),
              "")
        << file;
    EXPECT_GT(stats.accepted, 5) << file << ": " << stats.rejected << " rejected";
  }
}

TEST(ModelFuzz, HfConfigParsesOrThrowsUserError) {
  Json valid = ReadJsonFile("data/models/llama3.2-1b-config.json");
  valid["num_hidden_layers"] = 2;  // the reader's paths do not depend on depth; builds stay fast
  EXPECT_EQ(fuzz::FuzzJsonReader(valid, 32, 400, [](const Json& j) { Use(ModelFromHfConfig(j, "config.json")); }),
            "");
  Json gpt2 = {{"model_type", "gpt2"}, {"n_embd", 64}, {"n_layer", 2}, {"n_head", 4}, {"vocab_size", 100},
               {"n_positions", 128}, {"activation_function", "gelu_new"}, {"torch_dtype", "float16"}};
  EXPECT_EQ(fuzz::FuzzJsonReader(gpt2, 33, 400, [](const Json& j) { Use(ModelFromHfConfig(j, "config.json")); }),
            "");
}

TEST(ModelFuzz, ModuleTreesParseOrThrowUserError) {
  ZooOptions two_layers;
  two_layers.num_layers = 2;
  two_layers.seq_len = 128;
  for (const char* name : {"llama3-8b", "gpt2-small", "bert-base"}) {
    Json valid = ModelToJson(BuildZooModel(name, two_layers, "test"));
    EXPECT_EQ(fuzz::FuzzJsonReader(valid, 34, 150,
                                   [](const Json& j) {
                                     Model m = ModelFromJson(JsonView(j, "fuzz.json"));
                                     Use(m);
                                     // What was read writes back to a document that reads the same.
                                     Json again = ModelToJson(m);
                                     if (ModelToJson(ModelFromJson(JsonView(again, "again.json"))) != again)
                                       throw std::logic_error("ModelToJson does not round-trip");
                                   }),
              "")
        << name;
  }
}

// A bad value deep inside names the file and the field.
std::string MessageOf(const Json& doc) {
  try {
    (void)ModelFromDocument(doc, "m.json");
  } catch (const UserError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(ModelFuzz, BadValuesNameFileAndField) {
  Json zoo = {{"format", "proteus.model/1"}, {"zoo", "gpt3-125m"}, {"overrides", {{"num_layers", -2}}}};
  EXPECT_EQ(MessageOf(zoo).rfind("m.json: overrides.num_layers:", 0), 0u) << MessageOf(zoo);
  zoo["overrides"] = {{"dtype", "fp12"}};
  EXPECT_EQ(MessageOf(zoo).rfind("m.json: overrides.dtype:", 0), 0u) << MessageOf(zoo);
  zoo["overrides"] = {{"seq_len", std::numeric_limits<double>::quiet_NaN()}};
  EXPECT_EQ(MessageOf(zoo).rfind("m.json: overrides.seq_len:", 0), 0u) << MessageOf(zoo);

  Json tree = ReadJsonFile("data/models/tiny-mlp-tree.json");
  tree["root"]["children"][0]["children"][0]["ops"][0]["dims"][2]["size"] = 0;
  EXPECT_EQ(MessageOf(tree).rfind("m.json: root.children[0].children[0].ops[0].dims[2].size:", 0), 0u)
      << MessageOf(tree);
  tree = ReadJsonFile("data/models/tiny-mlp-tree.json");
  tree["root"]["children"][0]["children"][0]["ops"][0]["dtype"] = "fp7";
  EXPECT_EQ(MessageOf(tree).rfind("m.json: root.children[0].children[0].ops[0].dtype:", 0), 0u) << MessageOf(tree);
}

// Regressions the fuzzer found.
std::string HfMessageOf(const Json& config) {
  try {
    Use(ModelFromHfConfig(config, "config.json"));
  } catch (const UserError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(ModelFuzz, HugeLayerCountsAreRejectedNotBuilt) {
  // Was: num_hidden_layers 2^31 built layer after layer until memory ran out (a hang).
  Json config = ReadJsonFile("data/models/llama3.2-1b-config.json");
  config["num_hidden_layers"] = int64_t{1} << 31;
  EXPECT_EQ(HfMessageOf(config).rfind("config.json: num_hidden_layers: must be at most 4096", 0), 0u)
      << HfMessageOf(config);
  Json zoo = {{"format", "proteus.model/1"}, {"zoo", "gpt3-125m"}, {"overrides", {{"num_layers", int64_t{1} << 40}}}};
  EXPECT_EQ(MessageOf(zoo).rfind("m.json: overrides: num_layers: must be at most 4096", 0), 0u) << MessageOf(zoo);
}

TEST(ModelFuzz, SizesWhoseProductsOverflowAreRejected) {
  // seq_len^2 x hidden would overflow the int64 point count of attention (was accepted, giving
  // negative FLOPs and bytes downstream).
  Json config = ReadJsonFile("data/models/llama3.2-1b-config.json");
  config["max_position_embeddings"] = int64_t{1} << 24;
  config["hidden_size"] = int64_t{1} << 20;
  config["num_attention_heads"] = 1024, config["num_key_value_heads"] = 1024, config["head_dim"] = 1024;
  EXPECT_NE(HfMessageOf(config).find("too large to simulate exactly"), std::string::npos) << HfMessageOf(config);
  Json tree = ReadJsonFile("data/models/tiny-mlp-tree.json");
  Json& dims = tree["root"]["children"][0]["children"][0]["ops"][0]["dims"];
  dims[2]["size"] = int64_t{1} << 40, dims[3]["size"] = int64_t{1} << 40;
  EXPECT_EQ(MessageOf(tree).rfind("m.json: root.children[0].children[0].ops[0].dims[3].size:", 0), 0u)
      << MessageOf(tree);
  Json resnet = {{"format", "proteus.model/1"}, {"zoo", "resnet50"}, {"overrides", {{"image_size", int64_t{1} << 40}}}};
  EXPECT_NE(MessageOf(resnet).find("image_size: must be at most"), std::string::npos) << MessageOf(resnet);
}

TEST(ModelFuzz, BackwardPhasesInAModelTreeAreRejected) {
  // Was accepted, then DeriveBackward's internal check failed on the non-forward op (exit 1).
  Json tree = ReadJsonFile("data/models/tiny-mlp-tree.json");
  tree["root"]["children"][0]["children"][0]["ops"][0]["phase"] = "bwd_data";
  EXPECT_EQ(MessageOf(tree).rfind("m.json: root.children[0].children[0].ops[0].phase:", 0), 0u) << MessageOf(tree);
}

}  // namespace
}  // namespace proteus
