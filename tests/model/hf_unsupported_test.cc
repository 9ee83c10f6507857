#include "simulator/model/hf_unsupported.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "simulator/model/hf_config.h"

namespace proteus {
namespace {

std::string ErrorOf(const Json& config) {
  try {
    ModelFromHfConfig(config, "config.json");
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no error)";
}

// A small Llama-style config that imports cleanly.
Json DenseConfig() {
  return {{"model_type", "llama"}, {"hidden_size", 256}, {"num_hidden_layers", 2}, {"num_attention_heads", 4},
          {"intermediate_size", 512}, {"vocab_size", 1000}, {"max_position_embeddings", 128}};
}

TEST(HfUnsupported, EachKeyThatChangesTheModelIsRefusedByName) {
  for (const auto& u : UnsupportedHfKeys()) {
    Json cfg = DenseConfig();
    cfg[std::string(u.key)] = 8;
    std::string msg = ErrorOf(cfg);
    EXPECT_EQ(msg.rfind("config.json: " + std::string(u.key) + ": not supported", 0), 0u) << msg;
  }
}

TEST(HfUnsupported, ExplicitOffValuesAreNotRefused) {
  Json cfg = DenseConfig();
  cfg["q_lora_rank"] = nullptr;
  cfg["num_experts"] = 0;
  cfg["mlp_only_layers"] = Json::array();
  EXPECT_EQ(ErrorOf(cfg), "(no error)");
}

}  // namespace
}  // namespace proteus
