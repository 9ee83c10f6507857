#include "profiler/runner.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <csignal>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "common/stored_time.h"
#include "profiler/canonical.h"
#include "profiler/journal.h"
#include "profiler/output_lock.h"
#include "fake_backend.h"

namespace proteus::profiler {
namespace {

namespace fs = std::filesystem;

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetLogLevel(LogLevel::kQuiet);
    dir_ = fs::temp_directory_path() / ("proteus_runner_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    out_ = (dir_ / "db.json").string();
  }
  void TearDown() override {
    fs::remove_all(dir_);
    SetLogLevel(LogLevel::kInfo);
  }
  static OpKey Gemm(int64_t m) {
    return MakeKey("gemm", DType::kBf16, Phase::kFwd, {{"m", m}, {"n", 64}, {"k", 64}});
  }
  Plan SmallPlan() {
    Plan p;
    for (int64_t m : {64, 128, 256}) p.ops.push_back(Gemm(m));
    CollectiveKey ring{"all_reduce", 2, 1, 2, "ring", "ll", DType::kBf16};
    CollectiveKey def{"all_reduce", 2, 1, 2, "default", "default", DType::kBf16};
    for (int64_t b : {8, 1024}) {
      p.collectives.push_back({def, b});
      p.collectives.push_back({ring, b});
    }
    p.topology = true;
    return p;
  }
  RunOptions Opts() { return RunOptions{out_, false, 0.0, "2025-01-01T00:00:00Z"}; }

  fs::path dir_;
  std::string out_;
};

// What the profiler recorded is what the simulator reads, to the bit, and a database loaded and
// saved again writes the same text. The fake times Gemm(128) at 1e-6 x 30 s, a 17-digit double
// (2.9999999999999997e-05) that the recorder keeps to 15 digits (common/stored_time.h).
TEST_F(RunnerTest, TheDatabaseReadsBackAsRecorded) {
  FakeBackend fb;
  RunPlan(SmallPlan(), fb.Probe(), fb, Opts());
  CostDb db = CostDb::Load(out_);
  const TimeStats& t = db.FindOp(Gemm(128))->time;
  ASSERT_NE(1e-6 * 30, 3e-5);  // the case the rounding is for
  EXPECT_EQ(t.median_s, 3e-5);
  EXPECT_EQ(t.p10_s, StorableSeconds(1e-6 * 30 * 0.9));
  EXPECT_EQ(t.p90_s, StorableSeconds(1e-6 * 30 * 1.1));
  const std::string again = (dir_ / "again.json").string();
  db.Save(again);
  std::ifstream a(out_), b(again);
  std::string first((std::istreambuf_iterator<char>(a)), {}), second((std::istreambuf_iterator<char>(b)), {});
  EXPECT_EQ(first, second);
}

TEST_F(RunnerTest, WritesEverythingAndRemovesTheJournal) {
  FakeBackend fb;
  RunSummary s = RunPlan(SmallPlan(), fb.Probe(), fb, Opts());
  EXPECT_EQ(s.ops_measured, 3);
  EXPECT_EQ(s.points_measured, 4);
  CostDb db = CostDb::Load(out_);
  EXPECT_EQ(db.ops().size(), 3u);
  EXPECT_EQ(db.curves().size(), 2u);
  EXPECT_EQ(db.device.name, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(db.date, "2025-01-01T00:00:00Z");
  EXPECT_EQ(db.topology_xml, "<system version=\"1\"></system>");
  // 1 us per character of "gemm|bf16|fwd|k=64,m=64,n=64|" (29 characters)
  EXPECT_NEAR(db.FindOp(Gemm(64))->time.median_s, 29e-6, 1e-12);
  EXPECT_FALSE(fs::exists(out_ + ".journal"));
}

TEST_F(RunnerTest, ResumeSkipsKeysAlreadyThere) {
  FakeBackend first;
  Plan half;
  half.ops = {Gemm(64)};
  RunPlan(half, first.Probe(), first, Opts());
  FakeBackend second;
  RunSummary s = RunPlan(SmallPlan(), second.Probe(), second, Opts());
  EXPECT_EQ(s.ops_skipped, 1);
  EXPECT_EQ(second.measured, (std::vector<std::string>{Gemm(128).ToString(), Gemm(256).ToString()}));
  EXPECT_EQ(CostDb::Load(out_).ops().size(), 3u);
  // A third run has nothing left to do.
  FakeBackend third;
  RunSummary t = RunPlan(SmallPlan(), third.Probe(), third, Opts());
  EXPECT_TRUE(third.measured.empty());
  EXPECT_EQ(third.collective_calls, 0);
  EXPECT_EQ(t.points_skipped, 4);
}

TEST_F(RunnerTest, OomAndLibraryErrorsAreRecordedAndTheRunGoesOn) {
  FakeBackend fb;
  fb.oom.insert(Gemm(128).ToString());
  fb.unsupported.insert(Gemm(256).ToString());
  RunSummary s = RunPlan(SmallPlan(), fb.Probe(), fb, Opts());
  EXPECT_EQ(s.ops_oom, 1);
  EXPECT_EQ(s.ops_error, 1);
  CostDb db = CostDb::Load(out_);
  EXPECT_EQ(db.FindOp(Gemm(128))->status, "oom");
  EXPECT_EQ(db.FindOp(Gemm(256))->status, "error");
  // oom and error are not measured again, unless asked to retry errors.
  FakeBackend again;
  RunPlan(SmallPlan(), again.Probe(), again, Opts());
  EXPECT_TRUE(again.measured.empty());
  RunOptions retry = Opts();
  retry.retry_errors = true;
  RunPlan(SmallPlan(), again.Probe(), again, retry);
  EXPECT_EQ(again.measured, std::vector<std::string>{Gemm(256).ToString()});
}

TEST_F(RunnerTest, AGpuFaultKeepsWhatWasMeasuredAndRecordsTheFaultingOp) {
  FakeBackend fb;
  fb.fault.insert(Gemm(128).ToString());
  EXPECT_THROW(RunPlan(SmallPlan(), fb.Probe(), fb, Opts()), DeviceError);
  CostDb db = LoadForResume(out_);
  ASSERT_NE(db.FindOp(Gemm(64)), nullptr);
  EXPECT_EQ(db.FindOp(Gemm(64))->status, "ok");
  EXPECT_EQ(db.FindOp(Gemm(128))->status, "error");
  EXPECT_EQ(db.FindOp(Gemm(256)), nullptr);
  FakeBackend resume;
  RunPlan(SmallPlan(), resume.Probe(), resume, Opts());
  EXPECT_EQ(resume.measured, std::vector<std::string>{Gemm(256).ToString()});
}

TEST_F(RunnerTest, RejectedAlgorithmsAreSkippedAfterTheFirstSize) {
  FakeBackend fb;
  fb.rejected_algos.insert("ring/ll");
  RunSummary s = RunPlan(SmallPlan(), fb.Probe(), fb, Opts());
  EXPECT_EQ(s.points_measured, 2);
  EXPECT_EQ(s.points_rejected, 2);
  EXPECT_EQ(fb.collective_calls, 3);  // default 8, ring 8 (rejected), default 1024
  EXPECT_EQ(CostDb::Load(out_).curves().size(), 1u);
}

TEST_F(RunnerTest, RefusesToMixGpuTypesInOneDatabase) {
  CostDb other;
  other.device.name = "NVIDIA A100-SXM4-80GB";
  other.Save(out_);
  FakeBackend fb;
  try {
    RunPlan(SmallPlan(), fb.Probe(), fb, Opts());
    FAIL() << "mixed GPU types accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("measured on \"NVIDIA A100-SXM4-80GB\""), std::string::npos) << e.what();
  }
}

TEST_F(RunnerTest, JournalReplayRecoversResultsAndRetriesAnOpKilledWithoutATrace) {
  {
    Journal j(out_ + ".journal");
    CostDb frag;
    OpEntry e{Gemm(64), "ok", {}, {"k"}};
    e.time.median_s = 5e-6;
    e.time.count = 3;
    frag.PutOp(e);
    j.AppendInFlight(Gemm(64));
    j.Append(frag);
    j.AppendInFlight(Gemm(128));  // the process died here
  }
  {
    std::ofstream torn(out_ + ".journal", std::ios::app);
    torn << "{\"format\": \"proteus.co";  // a write cut short
  }
  CostDb db = LoadForResume(out_);
  ASSERT_NE(db.FindOp(Gemm(64)), nullptr);
  EXPECT_NEAR(db.FindOp(Gemm(64))->time.median_s, 5e-6, 1e-15);
  // In flight with no line saying how it ended (kill -9): taken as a preemption, measured again.
  EXPECT_EQ(db.FindOp(Gemm(128)), nullptr);
  FakeBackend fb;
  RunPlan(SmallPlan(), fb.Probe(), fb, Opts());
  EXPECT_EQ(fb.measured, (std::vector<std::string>{Gemm(128).ToString(), Gemm(256).ToString()}));
}

// A child process arms the journal, starts measuring Gemm(128) and receives `sig`; returns how it
// ended (the signal that ended it, 0 if it exited).
int MeasureAndReceive(const std::string& journal, const OpKey& key, int sig) {
  pid_t pid = ::fork();
  if (pid == 0) {
    Journal j(journal);
    j.ArmSignals();
    j.AppendInFlight(key);
    std::raise(sig);
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

TEST_F(RunnerTest, APreemptedOpIsMeasuredAgainACrashedOneStaysAnErrorWithItsSignal) {
  const std::string journal = out_ + ".journal";
  // The signal still ends the process with its own status after the journal line is written.
  EXPECT_EQ(MeasureAndReceive(journal, Gemm(128), SIGTERM), SIGTERM);
  EXPECT_EQ(MeasureAndReceive(journal, Gemm(256), SIGSEGV), SIGSEGV);
  CostDb db;
  Journal::ReplayResult r = Journal::Replay(journal, db);
  EXPECT_EQ(r.preempted, std::vector<std::string>{Gemm(128).ToString() + " (SIGTERM)"});
  EXPECT_EQ(r.crashed, std::vector<std::string>{Gemm(256).ToString() + " (SIGSEGV)"});
  EXPECT_TRUE(r.vanished.empty());
  EXPECT_EQ(db.FindOp(Gemm(128)), nullptr);
  ASSERT_NE(db.FindOp(Gemm(256)), nullptr);
  EXPECT_EQ(db.FindOp(Gemm(256))->status, "error");
  EXPECT_EQ(db.FindOp(Gemm(256))->kernels,
            std::vector<std::string>{"(the profiler process crashed with SIGSEGV while measuring this op)"});
  // Resuming measures the preempted op and skips the crashed one (until --retry-errors).
  FakeBackend fb;
  RunPlan(SmallPlan(), fb.Probe(), fb, Opts());
  EXPECT_EQ(fb.measured, (std::vector<std::string>{Gemm(64).ToString(), Gemm(128).ToString()}));
  EXPECT_EQ(CostDb::Load(out_).FindOp(Gemm(256))->status, "error");
}

TEST_F(RunnerTest, AnOpFinishedBeforeTheSignalIsNotNoted) {
  pid_t pid = ::fork();
  if (pid == 0) {
    Journal j(out_ + ".journal");
    j.ArmSignals();
    j.AppendInFlight(Gemm(64));
    CostDb frag;
    frag.PutOp(OpEntry{Gemm(64), "ok", {}, {"k"}});
    j.Append(frag);
    std::raise(SIGINT);  // between measurements: nothing was in flight
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT);
  CostDb db;
  Journal::ReplayResult r = Journal::Replay(out_ + ".journal", db);
  EXPECT_TRUE(r.preempted.empty() && r.crashed.empty() && r.vanished.empty());
  ASSERT_NE(db.FindOp(Gemm(64)), nullptr);
  EXPECT_EQ(db.FindOp(Gemm(64))->status, "ok");
}

TEST_F(RunnerTest, ASecondWriterOfTheSameDatabaseIsRefusedNamingTheHolder) {
  {
    OutputLock held(out_);
    try {
      OutputLock second(out_);
      ADD_FAILURE() << "a second lock on the same database was granted";
    } catch (const UserError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(out_), std::string::npos) << msg;
      EXPECT_NE(msg.find("is being written by another proteus-profile (pid " + std::to_string(::getpid()) + ", lock "),
                std::string::npos) << msg;
    }
    FakeBackend fb;
    EXPECT_THROW(RunPlan(SmallPlan(), fb.Probe(), fb, Opts()), UserError);
    EXPECT_TRUE(fb.measured.empty());
    EXPECT_FALSE(fs::exists(out_));
  }
  // Released (and its file removed) when the holder ends: the next run writes.
  EXPECT_FALSE(fs::exists(out_ + ".lock"));
  FakeBackend fb;
  RunPlan(SmallPlan(), fb.Probe(), fb, Opts());
  EXPECT_EQ(fb.measured.size(), 3u);
  EXPECT_FALSE(fs::exists(out_ + ".lock"));
}

TEST(Remaining, CurvePointsAndInterferenceByKey) {
  CostDb done;
  CollectiveKey k{"all_gather", 8, 1, 8, "default", "default", DType::kBf16};
  done.PutCurve({k, {{1024, 1e-5, 1e-5, 1e-5}}});
  done.interference.push_back({"gemm", "all_reduce", 1.1, 1.2});
  Plan p;
  p.collectives = {{k, 1024}, {k, 2048}};
  OpKey g = MakeKey("gemm", DType::kBf16, Phase::kFwd, {{"m", 8}, {"n", 8}, {"k", 8}});
  p.interference = {{"gemm", g, CollectiveKey{"all_reduce", 8, 1, 8, "default", "default", DType::kBf16}, 1},
                    {"gemm", g, CollectiveKey{"alltoall", 8, 1, 8, "default", "default", DType::kBf16}, 1}};
  Plan r = Remaining(p, done, false);
  ASSERT_EQ(r.collectives.size(), 1u);
  EXPECT_EQ(r.collectives[0].bytes, 2048);
  ASSERT_EQ(r.interference.size(), 1u);
  EXPECT_EQ(r.interference[0].comm.op, "alltoall");
}

}  // namespace
}  // namespace proteus::profiler
