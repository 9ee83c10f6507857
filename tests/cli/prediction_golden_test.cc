// Prediction goldens: the printed output of the demo, of every shipped validation suite and of a
// set of simulate cases chosen to exercise symmetry (mirror flows on shared NICs and PCIe switches,
// fat-tree and rail fabrics, tp below the node size, overlaps, sharded weights, interleaving, a
// mixed cluster), compared digit for digit with tests/golden/predictions/<case>.txt.
//
// They pin the simulator's answers while its representation changes (plans shared between
// collectives, folded symmetric flows, implicit fabrics): a faster engine must print the same
// numbers. PROTEUS_UPDATE_GOLDEN=1 rewrites them; every changed digit is a change of the model
// and needs a reason in the commit.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "common/json_file.h"
#include "tests/cli/cli_test_util.h"

namespace proteus {
namespace {

struct GoldenRun {
  std::string name;
  std::vector<std::string> args;
};

std::vector<std::string> Simulate(std::vector<std::string> flags) {
  flags.insert(flags.begin(), "simulate");
  return flags;
}

std::vector<GoldenRun> Runs() {
  return {
      {"demo", Simulate({"--model", "gpt3-175b", "--cluster", "dgx-h100-128", "--tp", "8", "--pp", "8", "--dp", "16",
                         "--mbs", "1", "--gbs", "1536", "--zero", "1", "--db", "h100-calibrated"})},
      {"suite_sc21_table1", {"validate", "data/validation/megatron-sc21-table1.json"}},
      {"suite_sc21_table2", {"validate", "data/validation/megatron-sc21-table2-ptdp.json"}},
      {"suite_530b", {"validate", "data/validation/korthikanti-2022-530b.json"}},
      {"gpt3_175b_1024_6mb", Simulate({"--model", "gpt3-175b", "--cluster", "dgx-h100-128", "--tp", "8", "--pp", "8",
                                       "--mbs", "1", "--gbs", "96", "--zero", "1"})},
      {"gpt3_175b_overlaps", Simulate({"--model", "gpt3-175b", "--cluster", "dgx-h100-128", "--tp", "8", "--pp", "8",
                                       "--mbs", "1", "--gbs", "96", "--zero", "1", "--sp", "--tp-comm-overlap",
                                       "--overlap-param-gather"})},
      {"gpt3_13b_tp4_h100", Simulate({"--model", "gpt3-13b", "--cluster", "dgx-h100-16", "--tp", "4", "--pp", "2",
                                      "--mbs", "1", "--gbs", "64", "--zero", "1"})},
      {"gpt2_shared_nic_pcie", Simulate({"--model", "gpt2-small", "--cluster", "pcie-4gpu-8-10gbe", "--tp", "2",
                                         "--dp", "16", "--mbs", "1", "--gbs", "32"})},
      {"gpt2_fat_tree_eth", Simulate({"--model", "gpt2-medium", "--cluster", "dgx-a100-4-eth10", "--tp", "2", "--pp",
                                      "2", "--mbs", "1", "--gbs", "32"})},
      {"gpt3_2_7b_fsdp", Simulate({"--model", "gpt3-2.7b", "--cluster", "dgx-a100-4", "--fsdp", "--mbs", "1", "--gbs",
                                   "64"})},
      {"llama3_8b_hetero", Simulate({"--model", "llama3-8b", "--cluster", "hetero-a100-v100", "--tp", "4", "--pp", "2",
                                     "--mbs", "1", "--gbs", "32", "--zero", "1"})},
      {"gpt3_6_7b_interleaved", Simulate({"--model", "gpt3-6.7b", "--cluster", "dgx-a100-4", "--tp", "2", "--pp", "4",
                                          "--schedule", "interleaved:2", "--mbs", "1", "--gbs", "32"})},
      {"llama3_8b_pcie_recompute", Simulate({"--model", "llama3-8b", "--cluster", "pcie-8gpu-4-eth100", "--tp", "2",
                                             "--pp", "2", "--mbs", "1", "--gbs", "32", "--zero", "1", "--recompute",
                                             "full"})},
  };
}

class PredictionGolden : public ::testing::TestWithParam<GoldenRun> {};

TEST_P(PredictionGolden, PrintsTheRecordedNumbers) {
  const GoldenRun& run = GetParam();
  CliRun r = RunCli(run.args);
  ASSERT_EQ(r.code, 0) << r.err;
  std::string path = "tests/golden/predictions/" + run.name + ".txt";
  if (const char* u = std::getenv("PROTEUS_UPDATE_GOLDEN"); u && std::string(u) == "1") WriteFileAtomic(path, r.out);
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " missing; record it with PROTEUS_UPDATE_GOLDEN=1";
  EXPECT_EQ(r.out, ReadTextFile(path)) << "golden " << path
                                       << " differs: a prediction changed; rerun with PROTEUS_UPDATE_GOLDEN=1 and review";
}

INSTANTIATE_TEST_SUITE_P(Shipped, PredictionGolden, ::testing::ValuesIn(Runs()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace proteus
