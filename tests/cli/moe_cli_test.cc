// Mixture-of-experts models and `--ep` (expert parallelism) end to end: refusals exit 2 naming the
// flag or field; the dispatch / combine all_to_alls carry mbs x s x k x h x 2 bytes per rank over
// groups of ep ranks, (ep - 1) / ep of it leaving each GPU (ep 8 and 64); expert weights are divided
// by ep and expert gradients reduced over dp / ep only.
#include <filesystem>

#include <gtest/gtest.h>

#include "common/json_file.h"
#include "common/log.h"
#include "simulator/pipeline/simulation.h"
#include "tests/cli/cli_test_util.h"
#include "tests/common/process_temp_dir.h"

namespace proteus {
namespace {

class EpBadInput : public ::testing::TestWithParam<BadInputCase> {};

TEST_P(EpBadInput, ExitsTwoNamingTheFlag) {
  ExpectRefused({"simulate", "--cluster", "dgx-h100-2", "--dp", "16"}, GetParam());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, EpBadInput,
    ::testing::Values(BadInputCase{{"--model", "llama3-8b", "--ep", "2"}, "--ep"},          // dense model
                      BadInputCase{{"--model", "mixtral-8x7b", "--ep", "3"}, "--ep"},       // 3 does not divide dp 16
                      BadInputCase{{"--model", "mixtral-8x7b", "--ep", "16"}, "experts"},   // 16 > the 8 experts
                      BadInputCase{{"--model", "mixtral-8x7b", "--ep", "0"}, "--ep"},
                      BadInputCase{{"--model", "mixtral-8x7b", "--ep", "2", "--fsdp"}, "--ep"},
                      BadInputCase{{"--model", "mixtral-8x7b", "--ep", "2", "--zero", "2"}, "--ep"}));

TEST(MoeCli, StrategyFileEpAxisIsCheckedByName) {
  SetLogLevel(LogLevel::kQuiet);
  std::string path = ProcessTempPath("proteus_ep_strategy.json");
  WriteFileAtomic(path, R"({"format": "proteus.strategy/1", "mesh": {"dp": 16, "ep": 4},
      "defaults": {"partition": {"b": "dp"}}})");
  CliRun r = RunCli({"simulate", "--model", "gpt2-small", "--cluster", "dgx-h100-2", "--strategy", path});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(path + ": mesh.ep"), std::string::npos) << r.err;
  // ep beside a strategy file: the file says it.
  r = RunCli({"simulate", "--model", "mixtral-8x7b", "--cluster", "dgx-h100-2", "--strategy", path, "--ep", "2"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--ep"), std::string::npos) << r.err;
  // The folded ep axis adds no GPUs: 16 GPUs, ep 4 of them per EP group; Mixtral simulates.
  r = RunCli({"simulate", "--model", "mixtral-8x7b", "--cluster", "dgx-h100-2", "--strategy", path});
  EXPECT_EQ(r.code, 0) << r.err;
  std::filesystem::remove(path);
}

TEST(MoeCli, MixtralHfConfigSimulatesAsMoe) {
  SetLogLevel(LogLevel::kQuiet);
  std::string path = ProcessTempPath("proteus_mixtral_config.json");
  WriteFileAtomic(path, R"({"model_type": "mixtral", "hidden_act": "silu", "hidden_size": 4096,
      "intermediate_size": 14336, "max_position_embeddings": 4096, "num_attention_heads": 32,
      "num_experts_per_tok": 2, "num_hidden_layers": 32, "num_key_value_heads": 8, "num_local_experts": 8,
      "tie_word_embeddings": false, "vocab_size": 32000})");
  CliRun r = RunCli({"simulate", "--model", path, "--cluster", "dgx-h100-2", "--tp", "2", "--ep", "8"});
  EXPECT_EQ(r.code, 0) << r.err;
  // DeepSeek-V3's MLA is refused by its key, exit 2.
  WriteFileAtomic(path, R"({"model_type": "deepseek_v3", "hidden_act": "silu", "hidden_size": 7168,
      "kv_lora_rank": 512, "n_routed_experts": 256, "num_experts_per_tok": 8, "num_attention_heads": 128,
      "num_hidden_layers": 61, "max_position_embeddings": 4096, "vocab_size": 129280})");
  r = RunCli({"simulate", "--model", path, "--cluster", "dgx-h100-2"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(path + ": kv_lora_rank"), std::string::npos) << r.err;
  std::filesystem::remove(path);
}

// Qwen3-30B-A3B cut to 2 layers (128 experts, top 8, h 2048), seq 4096, mbs 1, on 128 H100s, dp 128.
SimulationRequest QwenRequest(int ep) {
  SimulationRequest r;
  r.spec.model_doc = Json::parse(R"({"format": "proteus.model/1", "zoo": "qwen3-30b-a3b",
                                     "overrides": {"num_layers": 2}})");
  r.spec.model_origin = "test";
  r.spec.cluster = "dgx-h100-16";
  r.spec.flags.dp = 128;
  r.spec.flags.ep = ep;
  r.spec.flags.mbs = 1;
  r.spec.flags.gbs = 256;  // two micro-batches
  return r;
}

double FlowBytes(const Comm& c) {
  double total = 0;
  for (const FlowSpec& f : c.plan->flows) total += f.bytes;
  return total;
}

TEST(MoeCli, DispatchAndCombineAllToAllCarryTheHandComputedBytes) {
  SetLogLevel(LogLevel::kQuiet);
  for (int ep : {8, 64}) {
    SimulationOutput out = RunSimulation(QwenRequest(ep));
    const ExecGraph& g = out.graph;
    // Per rank: tokens x top_k x h x 2 bytes = 4096 x 8 x 2048 x 2.
    const int64_t bytes = int64_t{4096} * 8 * 2048 * 2;
    int a2a = 0;
    for (const Task& t : g.tasks) {
      if (t.comm < 0 || g.comms[t.comm].op != CollOp::kAllToAll) continue;
      const Comm& c = g.comms[t.comm];
      EXPECT_EQ(c.bytes, bytes) << g.NameOf(t);
      // Every rank of the EP group sends (ep - 1) / ep of its buffer: ep x that in all.
      double expect = static_cast<double>(bytes) * (ep - 1);
      if (t.gpu == 0 && t.microbatch == 0)
        std::cout << "ep " << ep << " " << g.NameOf(t) << ": " << c.bytes << " bytes per rank, flows "
                  << FlowBytes(c) << " (expected (ep-1) x bytes = " << expect << ")\n";
      EXPECT_NEAR(FlowBytes(c), expect, expect * 1e-9) << g.NameOf(t);
      if (t.gpu == 0) ++a2a;
    }
    // 2 MoE layers x 2 micro-batches x (dispatch + combine) x (forward + backward).
    EXPECT_EQ(a2a, 2 * 2 * 2 * 2) << "ep " << ep;
  }
}

TEST(MoeCli, ExpertWeightsAreShardedOverEpAndTheirGradientsReducedOverDpOverEp) {
  SetLogLevel(LogLevel::kQuiet);
  SimulationOutput one = RunSimulation(QwenRequest(1));
  SimulationOutput eight = RunSimulation(QwenRequest(8));
  auto weights = [](const SimulationOutput& o) {
    return o.result.memory[0].peak_breakdown[static_cast<int>(MemCategory::kWeights)];
  };
  // Routed experts: 2 layers x 3 x 128 x 2048 x 768 params, bf16; 7/8 of them leave each GPU.
  int64_t experts = int64_t{2} * 3 * 128 * 2048 * 768 * 2;
  EXPECT_EQ(weights(one) - weights(eight), experts - experts / 8);
  // Expert gradient buckets span the dp ranks holding the same experts (one per EP group), the
  // dense ones the whole dp axis; with ep = dp there is nothing to reduce for the experts.
  auto expert_buckets = [](const SimulationOutput& o) {
    int n = 0;
    for (const Task& t : o.graph.tasks)
      if (t.gpu == 0 && o.graph.NameOf(t).find("experts all_reduce") != std::string::npos) ++n;
    return n;
  };
  EXPECT_GT(expert_buckets(eight), 0);
  EXPECT_EQ(expert_buckets(RunSimulation(QwenRequest(128))), 0);
  EXPECT_EQ(expert_buckets(one), 0);
}

}  // namespace
}  // namespace proteus
