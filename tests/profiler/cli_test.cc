#include "profiler/cli.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/log.h"
#include "common/manifest.h"
#include "fake_backend.h"

namespace proteus::profiler {
namespace {

namespace fs = std::filesystem;

struct Result {
  int rc;
  std::string out, err;
};

Result Profile(std::vector<std::string> args, FakeBackend* fb = nullptr, bool* created = nullptr) {
  std::ostringstream out, err;
  int rc = RunProteusProfile(args, out, err, [&]() -> std::unique_ptr<Backend> {
    if (created) *created = true;
    auto b = std::make_unique<FakeBackend>();
    if (fb) *b = *fb;
    return b;
  });
  return {rc, out.str(), err.str()};
}

TEST(Cli, HelpListsEverySubcommand) {
  Result r = Profile({"--help"});
  EXPECT_EQ(r.rc, 0);
  for (const char* s : {"node", "ops", "collectives", "interference", "topology"}) EXPECT_NE(r.out.find(s), std::string::npos) << s;
  Result ops = Profile({"ops", "--help"});
  EXPECT_EQ(ops.rc, 0);
  EXPECT_NE(ops.out.find("--manifest"), std::string::npos);
  EXPECT_NE(ops.out.find("--dry-run"), std::string::npos);
}

TEST(Cli, DryRunNeedsNoGpu) {
  bool created = false;
  Result r = Profile({"collectives", "--dry-run", "--gpu", "h200", "--gpus", "4", "--max-bytes", "1M", "--default-only"}, nullptr, &created);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_FALSE(created);
  EXPECT_NE(r.out.find("plan for NVIDIA H200"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("all_reduce|r4|n1|rpn4|default|default|bf16  18 sizes"), std::string::npos) << r.out;  // 8 B..1 MB
  EXPECT_NE(r.out.find("estimated duration:"), std::string::npos);
}

TEST(Cli, BadInputExitsTwoWithAMessage) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  std::vector<Case> cases = {
      {{}, "error: A subcommand is required"},
      {{"node", "--dry-run", "--gpu", "tpu"}, "error: --gpu: unknown GPU \"tpu\""},
      {{"ops", "--dry-run", "--kinds", "matmul"}, "error: --kinds: unknown op kind \"matmul\""},
      {{"ops", "--dry-run", "--dtypes", "fp4"}, "error: --dtypes: unknown dtype \"fp4\""},
      {{"collectives", "--dry-run", "--max-bytes", "lots"}, "error: --max-bytes: expected a positive size"},
      {{"collectives", "--dry-run", "--ops", "allreduce"}, "error: --ops: unknown collective \"allreduce\""},
      {{"ops"}, "error: -o/--output: required"},
      {{"ops", "--dry-run", "--manifest", "/nonexistent/need.json"}, "error: /nonexistent/need.json"},
  };
  for (const auto& c : cases) {
    Result r = Profile(c.args);
    EXPECT_EQ(r.rc, 2) << c.message;
    EXPECT_EQ(r.err.rfind(c.message, 0), 0u) << "got: " << r.err;
  }
}

TEST(Cli, NoGpuExitsTwo) {
  FakeBackend fb;
  fb.no_gpu = true;
  // A path of this process only: another run's file cannot make the check pass or fail.
  const std::string out = (fs::temp_directory_path() / ("proteus_cli_never_written_" + std::to_string(::getpid()) + ".json")).string();
  Result r = Profile({"topology", "-o", out}, &fb);
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err, "error: no CUDA GPU found on this node (cudaGetDeviceCount returned 0)\n");
  EXPECT_FALSE(fs::exists(out));
}

class CliFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    SetLogLevel(LogLevel::kQuiet);
    dir_ = fs::temp_directory_path() / ("proteus_cli_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    fs::remove_all(dir_);
    SetLogLevel(LogLevel::kInfo);
  }
  fs::path dir_;
};

TEST_F(CliFiles, ManifestOpsAreMeasuredExactly) {
  Manifest m;
  m.device = "H100-SXM5-80GB";
  m.ops = {OpKey{"attention", DType::kBf16, Phase::kFwd,
                 {{"batch", 1}, {"heads", 32}, {"kv_heads", 8}, {"seq_q", 4096}, {"seq_kv", 4096}, {"head_dim", 128}}, {}},
           OpKey{"gemm", DType::kBf16, Phase::kBwdWeight, {{"m", 4096}, {"n", 3072}, {"k", 4096}}, {}}};
  std::string manifest = (dir_ / "need.json").string(), out = (dir_ / "db.json").string();
  m.Save(manifest);
  Result r = Profile({"-q", "ops", "--manifest", manifest, "-o", out});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("ops 2 measured"), std::string::npos) << r.out;
  CostDb db = CostDb::Load(out);
  ASSERT_EQ(db.ops().size(), 2u);
  // The attention key was canonicalized (causal=0 filled in), as the simulator's lookups are.
  EXPECT_EQ(db.ops().begin()->first,
            "attention|bf16|fwd|batch=1,head_dim=128,heads=32,kv_heads=8,seq_kv=4096,seq_q=4096|causal=0");
  // A second run resumes: nothing left.
  Result again = Profile({"-q", "ops", "--manifest", manifest, "-o", out});
  EXPECT_NE(again.out.find("ops 0 measured, 0 oom, 0 error, 2 already there"), std::string::npos) << again.out;
}

TEST_F(CliFiles, BadManifestNamesTheField) {
  std::string manifest = (dir_ / "bad.json").string();
  std::ofstream(manifest) << R"({"format": "proteus.manifest/1", "ops": [
      {"kind": "attention", "dtype": "bf16", "phase": "fwd",
       "shape": {"batch": 1, "heads": 32, "kv_heads": 6, "seq_q": 8, "seq_kv": 8, "head_dim": 64}}]})";
  Result r = Profile({"ops", "--dry-run", "--manifest", manifest});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err, "error: " + manifest + ": ops[0]: attention: heads (32) must be a multiple of kv_heads (6)\n");
}

}  // namespace
TEST_F(CliFiles, ManifestKeysWithoutAKernelAreSkippedWithAWarning) {
  // proteus-sim asks for batchnorm bwd_weight (cuDNN computes it inside bwd_data) and relu keyed as
  // gelu fn=relu; the profiler plans the rest and says what it skipped.
  std::string manifest = (dir_ / "sim.json").string();
  std::ofstream(manifest) << R"({"format": "proteus.manifest/1", "ops": [
      {"kind": "batchnorm", "dtype": "fp32", "phase": "bwd_weight", "shape": {"n": 8, "c": 64, "h": 8, "w": 8}},
      {"kind": "gelu", "dtype": "fp32", "phase": "fwd", "shape": {"elements": 4096}, "attrs": {"fn": "relu"}},
      {"kind": "gemm", "dtype": "bf16", "phase": "fwd", "shape": {"m": 64, "n": 64, "k": 64}}]})";
  Result r = Profile({"ops", "--dry-run", "--gpu", "h100", "--manifest", manifest});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("ops: 1 keys"), std::string::npos) << r.out;
}

}  // namespace proteus::profiler
