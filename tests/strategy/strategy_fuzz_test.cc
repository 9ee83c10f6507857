// Fuzz test of the strategy reader and validator: every mutated strategy document either parses or
// throws UserError, and every one that parses either validates against the model and cluster or
// throws UserError; never a crash, a hang, or another exception type. Seeds: the shipped GPT-3 file
// and the canonical form of shorthand expansions (pipeline, interleaving, ZeRO, sequence parallel).
// Deterministic (fixed seeds), bounded by iteration count.
#include <string>

#include <gtest/gtest.h>

#include "common/error.h"
#include "simulator/model/zoo.h"
#include "simulator/strategy/shorthand.h"
#include "simulator/strategy/validate.h"
#include "tests/common/json_mutator.h"
#include "tests/strategy/tiny_model.h"
#include "topo/cluster.h"

namespace proteus {
namespace {

// A cluster of `gpus` GPUs as ValidateStrategy sees it (it reads only the GPU count).
Cluster ClusterOf(int gpus) {
  Cluster c;
  c.gpu_node.assign(gpus, 0);
  return c;
}

// Parses, validates, and checks that what parsed writes back to the same canonical form.
void ReadAndValidate(const Json& doc, const Model& model, const Cluster& cluster) {
  Strategy s = ParseStrategy(doc, "fuzz.json");
  Json canonical = StrategyToJson(s);
  if (StrategyToJson(ParseStrategy(canonical, "canonical")) != canonical)
    throw std::logic_error("StrategyToJson does not round-trip: " + fuzz::Show(canonical));
  (void)ValidateStrategy(model, s, cluster);
}

TEST(StrategyFuzz, ShippedGpt3FileParsesAndValidatesOrThrowsUserError) {
  // The 96-layer model makes each validation ~1 ms; 300 rounds of three mutations cover it.
  Model model = BuildZooModel("gpt3-175b");
  Cluster cluster = ClusterOf(1024);
  Json valid = ReadJsonFile("data/strategies/gpt3-175b-megatron.json");
  fuzz::FuzzStats stats;
  EXPECT_EQ(fuzz::FuzzJsonReader(valid, 11, 300, [&](const Json& j) { ReadAndValidate(j, model, cluster); }, &stats),
            "");
  // Some mutants pass every check (so the validator runs to its end), most are rejected.
  EXPECT_GT(stats.accepted, 10) << stats.rejected << " rejected";
  EXPECT_GT(stats.rejected, stats.accepted);
}

TEST(StrategyFuzz, ShorthandExpansionsParseAndValidateOrThrowUserError) {
  Model model = testing::TinyGpt(4);
  Cluster cluster = ClusterOf(8);
  std::vector<ShorthandOptions> cases(3);
  cases[0].tp = 2, cases[0].pp = 2, cases[0].dp = 2, cases[0].global_batch = 8, cases[0].zero = 1;
  cases[0].recompute = "selective", cases[0].sequence_parallel = true;
  cases[1].pp = 2, cases[1].dp = 2, cases[1].global_batch = 8, cases[1].schedule = "interleaved:2";
  cases[2].tp = 4, cases[2].pp = 2, cases[2].schedule = "gpipe", cases[2].recompute = "full";
  cases[2].pp_layers = {1, 3}, cases[2].micro_batch = 2, cases[2].global_batch = 6;
  cases[2].overlap_grad_reduce = false, cases[2].grad_bucket_bytes = 1 << 20;
  for (size_t i = 0; i < cases.size(); ++i) {
    Json valid = StrategyToJson(ExpandShorthand(model, cases[i]));
    fuzz::FuzzStats stats;
    EXPECT_EQ(fuzz::FuzzJsonReader(valid, 20 + i, 1000,
                                   [&](const Json& j) { ReadAndValidate(j, model, cluster); }, &stats),
              "")
        << "shorthand case " << i;
    EXPECT_GT(stats.accepted, 50) << "shorthand case " << i << ": " << stats.rejected << " rejected";
  }
}

// A bad value deep inside names the file and the field.
std::string MessageOf(const Json& doc) {
  try {
    (void)ValidateStrategy(testing::TinyGpt(4), ParseStrategy(doc, "s.json"), 8);
  } catch (const UserError& e) {
    return e.what();
  }
  return "(accepted)";
}

Json TinyStrategy() {
  ShorthandOptions o;
  o.tp = 2, o.pp = 2, o.dp = 2;
  return StrategyToJson(ExpandShorthand(testing::TinyGpt(4), o));
}

TEST(StrategyFuzz, BadValuesNameFileAndField) {
  Json doc = TinyStrategy();
  doc["mesh"][1]["size"] = 0;
  EXPECT_EQ(MessageOf(doc).rfind("s.json: mesh[1].size:", 0), 0u) << MessageOf(doc);
  doc = TinyStrategy();
  doc["micro_batch"] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(MessageOf(doc).rfind("s.json: micro_batch:", 0), 0u) << MessageOf(doc);
  doc = TinyStrategy();
  doc["nodes"][2]["stage"] = -1;
  EXPECT_EQ(MessageOf(doc).rfind("s.json: nodes[2].stage:", 0), 0u) << MessageOf(doc);
  doc = TinyStrategy();
  doc["schedule"]["kind"] = "zigzag";
  EXPECT_EQ(MessageOf(doc).rfind("s.json: schedule.kind:", 0), 0u) << MessageOf(doc);
}

// Regressions: integers past int range were cast (2^32 + 2 became 2), products overflowed.
std::string Escapes(const Json& doc) {
  return fuzz::Escaped([&] { (void)ValidateStrategy(testing::TinyGpt(4), ParseStrategy(doc, "s.json"), ClusterOf(8)); });
}

TEST(StrategyFuzz, IntegersPastIntRangeAreRejectedNotWrapped) {
  Json doc = TinyStrategy();
  doc["mesh"][1]["size"] = (int64_t{1} << 32) + 2;  // was read as dp 2
  EXPECT_EQ(MessageOf(doc).rfind("s.json: mesh[1].size:", 0), 0u) << MessageOf(doc);
  doc = TinyStrategy();
  doc["nodes"][6]["stage"] = (int64_t{1} << 32) + 1;  // was read as stage 1
  EXPECT_EQ(MessageOf(doc).rfind("s.json: nodes[6].stage:", 0), 0u) << MessageOf(doc);
  doc = TinyStrategy();
  doc["schedule"] = {{"kind", "interleaved"}, {"chunks", (int64_t{1} << 32) + 2}};
  EXPECT_EQ(MessageOf(doc).rfind("s.json: schedule.chunks:", 0), 0u) << MessageOf(doc);
}

TEST(StrategyFuzz, HugeProductsAreUserErrors) {
  // Axes of 2^11 x 2^10 x 2^10: the mesh product 2^31 failed MeshGpus' internal check (exit 1).
  Json doc = TinyStrategy();
  doc["mesh"][0]["size"] = 2048, doc["mesh"][1]["size"] = 1024, doc["mesh"][2]["size"] = 1024;
  EXPECT_EQ(Escapes(doc), "");
  EXPECT_EQ(MessageOf(doc).rfind("s.json: mesh:", 0), 0u) << MessageOf(doc);
  // micro_batch x dp overflowed int64 (undefined behaviour) when global_batch was derived from it.
  doc = TinyStrategy();
  doc["micro_batch"] = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(MessageOf(doc).rfind("s.json: micro_batch:", 0), 0u) << MessageOf(doc);
  // 2^30 interleaved chunks: pp x chunks overflowed int and the per-stage counter vector got a
  // negative size (std::length_error).
  doc = TinyStrategy();
  doc["schedule"] = {{"kind", "interleaved"}, {"chunks", int64_t{1} << 30}};
  doc["global_batch"] = 4;
  EXPECT_EQ(Escapes(doc), "");
  EXPECT_EQ(MessageOf(doc).rfind("s.json: schedule.chunks:", 0), 0u) << MessageOf(doc);
  // global_batch 2^31 over dp 2: 2^30 micro-batches; simulate ran out of memory building their
  // tasks (found end to end by tests/cli/readers_fuzz_test.cc).
  doc = TinyStrategy();
  doc["global_batch"] = int64_t{1} << 31;
  EXPECT_NE(MessageOf(doc).find("1073741824 micro-batches per iteration; at most 65536"), std::string::npos)
      << MessageOf(doc);
  doc = TinyStrategy();
  doc["schedule"] = {{"kind", "interleaved"}, {"chunks", 1024}};
  doc["global_batch"] = 4;
  // Within the limit but more virtual stages than operators: refused before counting them.
  doc["schedule"]["chunks"] = 1024;
  EXPECT_NE(MessageOf(doc).find("2048 virtual stages"), std::string::npos) << MessageOf(doc);
}

}  // namespace
}  // namespace proteus
