// --dp-method end to end: refusals name the flag or field (exit 2), and the methods' orderings on
// the ddl-benchmarks cluster (ResNet-50 fp32, batch 64 per GPU, 8 nodes x 4 PCIe GPUs).
#include <filesystem>
#include <map>
#include <set>
#include <gtest/gtest.h>

#include "common/json_file.h"
#include "common/log.h"
#include "simulator/pipeline/run_spec.h"
#include "simulator/pipeline/simulation.h"
#include "tests/cli/cli_test_util.h"

namespace proteus {
namespace {

class DpMethodBadInput : public ::testing::TestWithParam<BadInputCase> {};

TEST_P(DpMethodBadInput, ExitsTwoNamingTheFlag) {
  ExpectRefused({"simulate", "--model", "gpt2-small", "--cluster", "dgx-a100-1", "--dp", "4"}, GetParam());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, DpMethodBadInput,
    ::testing::Values(BadInputCase{{"--dp-method", "bytescheduler"}, "--dp-method: unknown method 'bytescheduler'"},
                      BadInputCase{{"--dp-method", "fusion", "--fusion-threshold-mb", "-1"}, "--fusion-threshold-mb"},
                      BadInputCase{{"--dp-method", "fusion", "--fusion-threshold-mb", "1e30"}, "--fusion-threshold-mb"},
                      BadInputCase{{"--dp-method", "fusion", "--fusion-cycle-ms", "-5"}, "--fusion-cycle-ms"},
                      BadInputCase{{"--dp-method", "fusion", "--fusion-cycle-ms", "nan"}, "--fusion-cycle-ms"},
                      BadInputCase{{"--dp-method", "wfbp", "--fsdp"}, "--dp-method: wfbp with sharded weights"},
                      BadInputCase{{"--dp-method", "bsp", "--grad-bucket-mb", "50"}, "--grad-bucket-mb"},
                      // BytePS' knobs: only with --dp-method ps, at least one server, one placement.
                      BadInputCase{{"--ps-servers", "2"}, "--ps-servers: is a knob of --dp-method ps"},
                      BadInputCase{{"--dp-method", "wfbp", "--ps-colocated"}, "--ps-colocated: is a knob of --dp-method ps"},
                      BadInputCase{{"--ps-separate-servers"}, "--ps-separate-servers: is a knob of --dp-method ps"},
                      BadInputCase{{"--dp-method", "ps", "--ps-servers", "0"}, "--ps-servers: must be between 1 and"},
                      BadInputCase{{"--dp-method", "ps", "--ps-servers", "-3"}, "--ps-servers: must be between 1 and"},
                      BadInputCase{{"--dp-method", "ps", "--ps-colocated", "--ps-separate-servers"},
                                   "--ps-colocated: contradicts --ps-separate-servers"},
                      BadInputCase{{"--dp-method", "ps", "--tp", "2"}, "--dp-method: ps (the BytePS parameter server) models "
                                                                       "data parallelism alone; tp must be 1"},
                      BadInputCase{{"--dp-method", "ps", "--zero", "1"}, "--dp-method: ps reduces gradients over dp alone"}));

// On the ddl-benchmarks cluster (8 nodes): co-located servers run one per worker node.
class PsPlacementBadInput : public ::testing::TestWithParam<BadInputCase> {};

TEST_P(PsPlacementBadInput, ExitsTwoNamingTheFlag) {
  ExpectRefused({"simulate", "--model", "resnet50", "--cluster", "pcie-4gpu-8-10gbe", "--mbs", "64", "--dtype", "fp32"},
                GetParam());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PsPlacementBadInput,
    ::testing::Values(BadInputCase{{"--dp", "8", "--dp-method", "ps", "--ps-colocated", "--ps-servers", "3"},
                                   "--ps-servers: 3 co-located servers on 2 worker nodes"},
                      BadInputCase{{"--dp", "6", "--dp-method", "ps"}, "--dp-method: ps (BytePS) needs whole worker nodes"}));

TEST(DpMethodCli, SuiteCaseFieldsAreCheckedByName) {
  SetLogLevel(LogLevel::kQuiet);
  auto path = (std::filesystem::temp_directory_path() / "proteus_suite_dp_method.json").string();
  WriteFileAtomic(path, R"({"format": "proteus.suite/1", "cases": [
      {"model": "gpt2-small", "cluster": "dgx-h100-1", "strategy": {"dp": 8, "dp_method": "byteps"},
       "measured": {"samples_per_s": 3}}]})");
  CliRun r = RunCli({"validate", path});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("cases[0].strategy.dp_method"), std::string::npos) << r.err;
  std::filesystem::remove(path);
}

// The shipped suite (docs/validation.md): every case reads, and each (network, GPU count) cell has
// the three all-reduce methods and the parameter server, so the order of every pair can be checked.
TEST(DpMethodCli, ShippedDdlSuiteHasEveryMethodInEveryCell) {
  const std::string name = "data/validation/ddl-resnet50.json";
  Json doc = ReadJsonFile(name);
  JsonView cases = JsonView(doc, name).At("cases");
  std::map<std::pair<std::string, int>, std::set<std::string>> cells;
  for (size_t i = 0; i < cases.Size(); ++i) {
    RunSpec spec = RunSpecFromJson(cases.At(i));
    cells[{spec.cluster, spec.flags.dp}].insert(spec.flags.dp_method);
  }
  EXPECT_EQ(cells.size(), 8u);  // 2 networks x 4, 8, 16, 32 GPUs
  for (const auto& [cell, methods] : cells)
    EXPECT_EQ(methods, (std::set<std::string>{"bsp", "mgwfbp", "ps", "wfbp"})) << cell.first << " " << cell.second;
}

// A suite case's ps fields read as the flags do, and are refused by name without method ps.
TEST(DpMethodCli, SuiteCasePsFields) {
  Json ok = ParseJson(R"({"model": "resnet50", "cluster": "pcie-4gpu-8-10gbe",
      "strategy": {"dp": 8, "dp_method": "ps", "ps_servers": 3, "ps_colocated": false}})", "case.json");
  RunSpec spec = RunSpecFromJson(JsonView(ok, "case.json"));
  EXPECT_EQ(spec.flags.ps_servers, 3);
  EXPECT_TRUE(spec.flags.ps_separate);
  Json bad = ParseJson(R"({"model": "resnet50", "cluster": "pcie-4gpu-8-10gbe",
      "strategy": {"dp": 8, "dp_method": "wfbp", "ps_colocated": true}})", "case.json");
  std::string err;
  try {
    RunSpecFromJson(JsonView(bad, "case.json"));
  } catch (const UserError& e) {
    err = e.what();
  }
  EXPECT_NE(err.find("case.json: strategy.ps_colocated: is a knob of --dp-method ps"), std::string::npos) << err;
}

double IterationTime(const std::string& cluster, int gpus, const std::string& method) {
  SimulationRequest r;
  r.spec.model = "resnet50";
  r.spec.cluster = cluster;
  r.spec.flags.dp = gpus;
  r.spec.flags.mbs = 64;
  r.spec.flags.dp_method = method;
  return RunSimulation(r).report.iteration_time_s;
}

// Over IB RDMA the gradients' all-reduces fit beside the backward's compute: WFBP, which starts
// reducing at the first gradient, is never slower than BSP, which starts after the last; MG-WFBP,
// merging only where its alpha-beta cost says a merge saves time, is never slower than BSP either.
TEST(DpMethodCli, WfbpAndMgWfbpNeverSlowerThanBspWhereCommunicationOverlapsCompute) {
  SetLogLevel(LogLevel::kQuiet);
  for (int gpus : {8, 32}) {
    double bsp = IterationTime("pcie-4gpu-8-100gib", gpus, "bsp");
    double wfbp = IterationTime("pcie-4gpu-8-100gib", gpus, "wfbp");
    double mg = IterationTime("pcie-4gpu-8-100gib", gpus, "mgwfbp");
    EXPECT_LE(wfbp, bsp) << gpus << " GPUs";
    EXPECT_LE(mg, bsp) << gpus << " GPUs";
  }
}

}  // namespace
}  // namespace proteus
