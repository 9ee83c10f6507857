// Hostile inputs (issue 16): files that are not files, too large or nested too deep; counts whose
// products overflow; runs too large to simulate. Each is refused with exit 2 and a message naming
// the input, quickly and before any output is written: nothing is left on disk.
#include <filesystem>
#include <set>
#include <string>
#include <sys/stat.h>
#include <vector>

#include <gtest/gtest.h>

#include "common/json_file.h"
#include "common/log.h"
#include "tests/cli/cli_test_util.h"
#include "tests/common/temp_dir.h"

namespace proteus {
namespace {

namespace fs = std::filesystem;

// `levels` nested PCIe bridges in an otherwise valid one-GPU topology.
std::string DeepTopology(int levels) {
  std::string xml = "<system version=\"1\"><cpu numaid=\"0\" arch=\"x86_64\" vendor=\"GenuineIntel\">";
  for (int i = 0; i < levels; ++i) xml += "<pci class=\"0x060400\">";
  xml += "<pci busid=\"0000:11:00.0\" class=\"0x030200\"><gpu dev=\"0\" sm=\"90\"/></pci>";
  for (int i = 0; i < levels; ++i) xml += "</pci>";
  return xml + "</cpu></system>";
}

// A suite whose one case's inline model nests `levels` objects deep (60k crashed the reader).
std::string DeepSuite(int levels) {
  std::string model;
  for (int i = 0; i < levels; ++i) model += "{\"m\":";
  model += "1";
  for (int i = 0; i < levels; ++i) model += "}";
  return R"({"format": "proteus.suite/1", "name": "deep", "cases": [{"name": "a", "model": )" + model +
         R"(, "cluster": "dgx-a100-1", "strategy": {"dp": 8}, "measured": {"mfu": 0.4}}]})";
}

std::set<std::string> Listing(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

struct HostileCase {
  std::string what;                // the hostile input, for the failure message
  std::vector<std::string> args;   // the whole command line
  std::string expect_in_message;
};

class HostileInputCli : public ::testing::Test {
 protected:
  void SetUp() override {
    SetLogLevel(LogLevel::kQuiet);
    ASSERT_EQ(::mkfifo(fifo_.c_str(), 0600), 0);
    fs::create_directories(dir_.path() / "folder");
    dir_.Write("huge.json", std::string(17 * 1024 * 1024, ' '));  // over the 16 MiB cap of a document
    dir_.Write("deep.json", std::string(100000, '[') + std::string(100000, ']'));
    dir_.Write("deep.xml", DeepTopology(100000));
    dir_.Write("deep-cluster.json", R"({"format": "proteus.cluster/1", "name": "deep", "node_groups": [
        {"name": "n", "count": 1, "gpu": "H100-SXM5-80GB", "topology": "deep.xml"}],
        "fabric": {"kind": "rail-optimized", "nic_gbps": 400}})");
    dir_.Write("deep-suite.json", DeepSuite(60000));
  }

  std::string In(const std::string& name) const { return (dir_.path() / name).string(); }
  // A simulate command line that also asks for a report, which must not appear.
  std::vector<std::string> Simulate(std::vector<std::string> args) const {
    std::vector<std::string> line = {"simulate", "--report", In("report.json"), "--trace", In("trace.json")};
    line.insert(line.end(), args.begin(), args.end());
    return line;
  }

  TempDir dir_{"hostile_input_cli"};
  std::string fifo_ = (dir_.path() / "pipe.json").string();
};

TEST_F(HostileInputCli, EveryHostileInputIsRefusedWithExit2AndLeavesNothing) {
  const std::vector<std::string> small = {"--model", "gpt2-small", "--cluster", "dgx-a100-1"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = small;
    args.insert(args.end(), extra.begin(), extra.end());
    return Simulate(args);
  };
  const std::vector<HostileCase> cases = {
      {"a device as --strategy", with({"--strategy", "/dev/zero"}), "/dev/zero: is a character device"},
      {"a FIFO as --strategy", with({"--strategy", fifo_}), "pipe.json: is a FIFO (named pipe), not a regular file"},
      {"a directory as --strategy", with({"--strategy", In("folder")}), "folder: is a directory"},
      {"a 17 MiB --strategy", with({"--strategy", In("huge.json")}),
       "huge.json: the file is 17 MiB, larger than the 16 MiB limit of a document input; set PROTEUS_MAX_INPUT_MB"},
      {"JSON nested 100k deep", with({"--strategy", In("deep.json")}),
       "deep.json: line 1: nested deeper than 256 levels of arrays and objects"},
      {"topology XML nested 100k deep", Simulate({"--model", "gpt2-small", "--cluster", In("deep-cluster.json")}),
       "deep.xml: line 1: elements nested deeper than 64 levels"},
      {"a suite's inline model nested 60k deep", {"validate", In("deep-suite.json")},
       "deep-suite.json: line 1: nested deeper than 256 levels"},
      {"--mbs 2147483647", with({"--mbs", "2147483647", "--dp", "8"}), "--mbs"},
      {"a huge --grad-bucket-mb", with({"--grad-bucket-mb", "9223372036854775807"}),
       "--grad-bucket-mb: at most 1048576 MiB (1 TiB), got 9223372036854775807"},
      {"interleaved:2147483647", with({"--pp", "2", "--schedule", "interleaved:2147483647"}),
       "--schedule: at most 1024 chunks per GPU"},
      {"--bandwidth-scale 1e300", with({"--bandwidth-scale", "1e300"}),
       "--bandwidth-scale: must be a factor from 0.001 to 1000, got 1e+300"},
      {"--no-symmetry on 16,384 GPUs",
       Simulate({"--model", "gpt3-175b", "--cluster", "dgx-h100-2048", "--tp", "8", "--pp", "8", "--no-symmetry"}),
       "--max-tasks: the run would simulate"},
      {"--no-symmetry on 65,544 GPUs", Simulate({"--model", "gpt2-small", "--cluster", "dgx-h100-8193", "--no-symmetry"}),
       "--no-symmetry: the run would simulate 65,544 GPUs; the engine simulates at most 65,535 at once"},
  };
  const std::set<std::string> before = Listing(dir_.path());
  for (const auto& c : cases) {
    CliRun r = RunCli(c.args);
    EXPECT_EQ(r.code, 2) << c.what << "\n" << r.err << r.out.substr(0, 300);
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << c.what << ": " << r.err;
    EXPECT_NE(r.err.find(c.expect_in_message), std::string::npos) << c.what << ": " << r.err;
    EXPECT_EQ(r.err.find("internal error"), std::string::npos) << c.what << ": " << r.err;
    EXPECT_EQ(Listing(dir_.path()), before) << c.what << " left a file behind";
  }
}

TEST_F(HostileInputCli, TheBudgetNamesTheRunsSizeAndItsFlagRaisesIt) {
  const std::vector<std::string> run = {"--model", "gpt2-small", "--cluster", "dgx-a100-1", "--gbs", "64"};
  std::vector<std::string> tight = Simulate(run);
  tight.insert(tight.end(), {"--max-tasks", "1000"});
  CliRun refused = RunCli(tight);
  EXPECT_EQ(refused.code, 2) << refused.err;
  EXPECT_NE(refused.err.find("more than the budget of 1,000 tasks; raise it (--max-tasks "), std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find("1 of 8 GPUs simulated, 8 micro-batches"), std::string::npos) << refused.err;
  EXPECT_FALSE(fs::exists(In("report.json")));
  // The same run under the default budget simulates.
  CliRun ok = RunCli(Simulate(run));
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_TRUE(fs::exists(In("report.json")));
}

// The budget guards every command that builds a graph, not only simulate (issue 16, item 4).
TEST_F(HostileInputCli, ValidateAppliesTheBudgetToEveryCaseAndNamesIt) {
  std::string suite = dir_.Write("suite.json", R"({"format": "proteus.suite/1", "name": "t", "cases": [
      {"name": "small-case", "model": "gpt2-small", "cluster": "dgx-a100-1",
       "strategy": {"dp": 8, "gbs": 64}, "measured": {"mfu": 0.4}}]})");
  CliRun refused = RunCli({"validate", suite, "--max-tasks", "1000"});
  EXPECT_EQ(refused.code, 2) << refused.err;
  EXPECT_NE(refused.err.find("suite.json: cases[0]"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("more than the budget of 1,000 tasks; raise it (--max-tasks "), std::string::npos)
      << refused.err;
  CliRun ok = RunCli({"validate", suite});
  EXPECT_EQ(ok.code, 0) << ok.err;
}

TEST_F(HostileInputCli, SearchAppliesTheBudgetToItsSimulations) {
  const std::vector<std::string> search = {"-q", "search", "--model", "gpt2-small", "--cluster", "dgx-a100-1",
                                           "--gbs", "32", "--tp", "1", "--pp", "1", "--mbs", "1",
                                           "--recompute", "none", "--zero", "1", "--threads", "1", "--json"};
  std::vector<std::string> tight = search;
  tight.insert(tight.end(), {"--max-tasks", "100"});
  CliRun refused = RunCli(tight);
  EXPECT_EQ(refused.code, 2) << refused.err;
  EXPECT_NE(refused.err.find("every candidate was rejected (1); the first: --max-tasks: the run would simulate"),
            std::string::npos) << refused.err;
  CliRun ok = RunCli(search);
  ASSERT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(ParseJson(ok.out, "stdout")["ranked"].size(), 1u);
}

TEST_F(HostileInputCli, AnInputSizeCapFromTheEnvironmentIsCheckedByName) {
  ::setenv("PROTEUS_MAX_INPUT_MB", "lots", 1);
  CliRun r = RunCli(Simulate({"--model", "gpt2-small", "--cluster", "dgx-a100-1"}));
  ::unsetenv("PROTEUS_MAX_INPUT_MB");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("error: PROTEUS_MAX_INPUT_MB: expected a size in MiB"), std::string::npos) << r.err;
}

TEST_F(HostileInputCli, ANonUtf8ClusterNameStillGivesAJsonReport) {
  // A cluster file named in Latin-1 ("clus\xe9"): nlohmann's dump used to throw (type_error 316,
  // "internal error") after the whole simulation; its invalid byte is now replaced by U+FFFD.
  std::string cluster = dir_.Write("clus\xe9.json", R"({"format": "proteus.cluster/1", "node_groups": [
      {"name": "n", "count": 1, "gpu": "A100-SXM4-80GB", "topology": "dgx-a100"}],
      "fabric": {"kind": "rail-optimized", "nic_gbps": 200}})");
  CliRun r = RunCli({"simulate", "--model", "gpt2-small", "--cluster", cluster, "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  Json report = ParseJson(r.out, "stdout");
  EXPECT_NE(report.dump().find("\xef\xbf\xbd"), std::string::npos);  // U+FFFD in UTF-8
}

}  // namespace
}  // namespace proteus
