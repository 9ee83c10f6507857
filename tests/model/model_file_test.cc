#include "simulator/model/model_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "simulator/model/backward.h"
#include "simulator/model/hf_config.h"
#include "simulator/model/module_json.h"
#include "simulator/model/summary.h"
#include "tests/user_error_text.h"

namespace proteus {
namespace {

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(HfConfig, LlamaConfigBuildsTheZooModel) {
  // data/models/llama3.2-1b-config.json is the released config.json of Llama 3.2 1B.
  Model m = LoadModel("data/models/llama3.2-1b-config.json");
  EXPECT_EQ(m.Params(), 1235814400);
  EXPECT_EQ(m.family, "llama");
  EXPECT_EQ(m.num_kv_heads, 8);
  EXPECT_EQ(m.seq_len, 131072);  // max_position_embeddings unless overridden
}

TEST(HfConfig, Gpt2SpellingsAndDefaults) {
  Json cfg = {{"model_type", "gpt2"}, {"n_embd", 768}, {"n_layer", 12}, {"n_head", 12},
              {"n_positions", 1024}, {"vocab_size", 50257}, {"activation_function", "gelu_new"}};
  Model m = ModelFromHfConfig(cfg, "gpt2.json");
  // Tied by default for gpt2; vocabulary padded to 50,304 rows as Megatron does (+47 * 768).
  EXPECT_EQ(m.Params(), 124439808 + 47 * 768);
  EXPECT_EQ(m.family, "gpt");
  EXPECT_EQ(m.dtype, DType::kBf16);
}

TEST(HfConfig, StyleFromActivationAndErrorsNameTheKey) {
  Json cfg = {{"model_type", "somethingnew"}, {"hidden_act", "silu"}, {"hidden_size", 256},
              {"num_hidden_layers", 2}, {"num_attention_heads", 4}, {"intermediate_size", 512},
              {"vocab_size", 1000}, {"max_position_embeddings", 128}, {"torch_dtype", "float16"}};
  Model m = ModelFromHfConfig(cfg, "c.json");
  EXPECT_EQ(m.family, "llama");
  EXPECT_EQ(m.dtype, DType::kFp16);
  EXPECT_EQ(m.tied_embeddings, false);

  Json bad = cfg;
  bad.erase("num_attention_heads");
  EXPECT_TRUE(Contains(ErrorOf([&] { ModelFromHfConfig(bad, "c.json"); }), "c.json: num_attention_heads"));
  bad = cfg;
  bad["hidden_size"] = -4;
  EXPECT_TRUE(Contains(ErrorOf([&] { ModelFromHfConfig(bad, "c.json"); }), "c.json: hidden_size"));
  bad = cfg;
  bad["hidden_act"] = "tanh";
  EXPECT_TRUE(Contains(ErrorOf([&] { ModelFromHfConfig(bad, "c.json"); }), "c.json: model_type"));
  bad = cfg;
  bad["num_key_value_heads"] = 3;
  EXPECT_TRUE(Contains(ErrorOf([&] { ModelFromHfConfig(bad, "c.json"); }), "num_kv_heads"));
}

TEST(ModelFile, ZooWithOverrides) {
  Model m = LoadModel("data/models/gpt3-175b-48layers.json");
  EXPECT_EQ(m.num_layers, 48);
  EXPECT_EQ(m.seq_len, 4096);
  EXPECT_EQ(m.dtype, DType::kFp16);
  // Also found by name in data/models.
  EXPECT_EQ(LoadModel("gpt3-175b-48layers").num_layers, 48);
}

TEST(ModelFile, HfConfigByRelativePathWithOverrides) {
  Model m = LoadModel("data/models/llama3.2-1b-seq4096.json");
  EXPECT_EQ(m.name, "llama3.2-1b-seq4096");
  EXPECT_EQ(m.seq_len, 4096);
  EXPECT_EQ(m.Params(), 1235814400);
}

// --seq-len: the sequence replaced on every form that has one, the rest of the model unchanged
// (the file's own overrides, here its 48 layers, kept; the name of an HF config the same).
TEST(ModelFile, SeqLenOverrideOnEveryTransformerForm) {
  EXPECT_EQ(LoadModelWithSeqLen("llama3-8b", 32768, "--seq-len").seq_len, 32768);
  Model file = LoadModelWithSeqLen("data/models/gpt3-175b-48layers.json", 1024, "--seq-len");
  EXPECT_EQ(file.seq_len, 1024);
  EXPECT_EQ(file.num_layers, 48);
  Model hf = LoadModelWithSeqLen("data/models/llama3.2-1b-config.json", 2048, "--seq-len");
  EXPECT_EQ(hf.seq_len, 2048);
  EXPECT_EQ(hf.name, LoadModel("data/models/llama3.2-1b-config.json").name);
  EXPECT_EQ(hf.Params(), LoadModel("data/models/llama3.2-1b-config.json").Params());
  Json doc = {{"format", "proteus.model/1"}, {"zoo", "gpt2-small"}};
  EXPECT_EQ(ModelDocumentWithSeqLen(doc, "inline", 512, "--seq-len").seq_len, 512);
}

TEST(ModelFile, SeqLenOverrideRefusedWithoutASequenceToChange) {
  EXPECT_TRUE(Contains(ErrorOf([] { LoadModelWithSeqLen("resnet50", 1024, "--seq-len"); }), "--seq-len"));
  Json resnet = {{"format", "proteus.model/1"}, {"zoo", "resnet101"}};
  EXPECT_TRUE(Contains(ErrorOf([&] { ModelDocumentWithSeqLen(resnet, "m.json", 64, "--seq-len"); }), "--seq-len"));
  EXPECT_TRUE(Contains(ErrorOf([] { LoadModelWithSeqLen("data/models/tiny-mlp-tree.json", 64, "--seq-len"); }),
                       "module tree"));
}

TEST(ModelFile, BadInputNamesFileAndField) {
  auto doc = [](const std::string& text) { return ParseJson(text, "m.json"); };
  EXPECT_TRUE(Contains(ErrorOf([&] { ModelFromDocument(doc(R"({"format": "proteus.model/2", "zoo": "gpt3-125m"})"), "m.json"); }),
                       "m.json"));
  EXPECT_TRUE(Contains(ErrorOf([&] { ModelFromDocument(doc(R"({"format": "proteus.model/1", "zoo": "gpt9"})"), "m.json"); }),
                       "gpt3-175b"));
  EXPECT_TRUE(Contains(ErrorOf([&] {
                         ModelFromDocument(doc(R"({"format": "proteus.model/1", "zoo": "gpt3-125m",
                                                   "overrides": {"num_layer": 2}})"), "m.json");
                       }),
                       "num_layer"));
  EXPECT_TRUE(Contains(ErrorOf([&] {
                         ModelFromDocument(doc(R"({"format": "proteus.model/1", "zoo": "gpt3-125m",
                                                   "overrides": {"seq_len": -1}})"), "m.json");
                       }),
                       "m.json: overrides.seq_len"));
  EXPECT_TRUE(Contains(ErrorOf([&] {
                         ModelFromDocument(doc(R"({"format": "proteus.model/1", "zoo": "gpt3-125m",
                                                   "overrides": {"num_heads": 5}})"), "m.json");
                       }),
                       "m.json: overrides: num_heads"));
  EXPECT_TRUE(Contains(ErrorOf([&] { ModelFromDocument(doc(R"({"format": "proteus.model/1"})"), "m.json"); }),
                       "exactly one of"));
  EXPECT_TRUE(Contains(ErrorOf([&] { LoadModel("no-such-model"); }), "llama3-8b"));
}

TEST(ModelFile, ModuleTreeRoundTrips) {
  Model m = BuildZooModel("llama3.2-1b");
  Json j = ModelToJson(m);
  Model back = ModelFromDocument(j, "dump.json");
  EXPECT_EQ(ModelToJson(back), j);
  EXPECT_EQ(back.Params(), m.Params());
  EXPECT_EQ(back.num_layers, 16);
  EXPECT_EQ(SavedActivationBytes(back.root), SavedActivationBytes(m.root));
}

TEST(ModelFile, HandWrittenTree) {
  Model m = LoadModel("data/models/tiny-mlp-tree.json");
  EXPECT_EQ(m.name, "tiny-mlp");
  EXPECT_EQ(m.num_layers, 1);
  EXPECT_EQ(m.Params(), 64 * 256);
  EXPECT_DOUBLE_EQ(m.root.ForwardFlops(), 2.0 * 16 * 64 * 256);
  // The input needs no gradient: only the weight half of backward.
  const Operator& fc = FindModule(m.root, "layers.0")->ops[0];
  ASSERT_EQ(DeriveBackward(fc).size(), 1u);

  Json j = ReadJsonFile("data/models/tiny-mlp-tree.json");
  j["root"]["children"][0]["children"][0]["ops"][0]["tensors"][1]["axes"][1] = "q";
  EXPECT_TRUE(Contains(ErrorOf([&] { ModelFromDocument(j, "t.json"); }),
                       "t.json: root.children[0].children[0].ops[0].tensors[1].axes[1]"));
  j = ReadJsonFile("data/models/tiny-mlp-tree.json");
  j["root"]["children"][0]["children"][0]["ops"][0]["kind"] = "convolution";
  EXPECT_TRUE(Contains(ErrorOf([&] { ModelFromDocument(j, "t.json"); }), "unknown op kind"));
}

TEST(Summary, CollapsesRepeatedLayersAndKeepsTotals) {
  Model m = BuildZooModel("gpt3-175b");
  ModelSummary s = SummarizeModel(m, 2);
  EXPECT_EQ(s.params, m.Params());
  EXPECT_DOUBLE_EQ(s.fwd_flops + s.bwd_flops, m.TrainingFlopsPerSample());
  const ModuleSummary* layer = nullptr;
  for (const auto& r : s.modules)
    if (r.path == "layers.0") layer = &r;
  ASSERT_NE(layer, nullptr);
  EXPECT_EQ(layer->count, 96);
  EXPECT_EQ(layer->params, 12LL * 12288 * 12288 + 13 * 12288);
  std::string table = FormatModelSummary(s);
  EXPECT_TRUE(Contains(table, "layers.0")) << table;
  EXPECT_TRUE(Contains(table, "transformer_layer"));
}

}  // namespace
}  // namespace proteus
