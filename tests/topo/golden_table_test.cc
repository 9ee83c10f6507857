// Golden collective tables: the full nccl-tests style output for fixed clusters, compared byte for
// byte with tests/golden/collective_<case>/expected.txt. PROTEUS_UPDATE_GOLDEN=1 rewrites them (review
// the diff: every change of a number is a change of the model). The README beside each file states
// the formulas behind a few rows.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "common/json_file.h"
#include "topo/coll_table.h"
#include "topo/measured_model.h"

namespace proteus {
namespace {

struct GoldenCase {
  std::string dir, cluster;
  CollOp op;
  int ranks, nodes;
};

std::string Render(const GoldenCase& g) {
  Cluster c = LoadCluster(g.cluster);
  auto model = MakeCollectiveModel(c, nullptr);
  auto group = NcclTestsGroup(c, g.ranks, g.nodes);
  auto rows = SweepCollective(*model, g.op, group, DType::kFp32, 8, 8LL << 30);
  return FormatCollectiveTable(rows, c.name, g.op, g.ranks, g.nodes);
}

class Golden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(Golden, MatchesExpectedTable) {
  const GoldenCase& g = GetParam();
  std::string path = "tests/golden/" + g.dir + "/expected.txt";
  std::string got = Render(g);
  if (const char* u = std::getenv("PROTEUS_UPDATE_GOLDEN"); u && std::string(u) == "1") {
    std::filesystem::create_directories("tests/golden/" + g.dir);
    WriteFileAtomic(path, got);
  }
  EXPECT_EQ(got, ReadTextFile(path)) << "golden " << path << " differs; rerun with PROTEUS_UPDATE_GOLDEN=1 and review";
}

INSTANTIATE_TEST_SUITE_P(
    Collective, Golden,
    ::testing::Values(GoldenCase{"collective_dgx_h100_allreduce", "dgx-h100-1", CollOp::kAllReduce, 8, 1},
                      GoldenCase{"collective_dgx_a100_4node_allreduce", "dgx-a100-4", CollOp::kAllReduce, 32, 4},
                      GoldenCase{"collective_dgx_h100_2node_allgather", "dgx-h100-2", CollOp::kAllGather, 16, 2}),
    [](const auto& info) { return info.param.dir; });

}  // namespace
}  // namespace proteus
