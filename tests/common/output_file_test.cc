// common/output_file.h: what a path names decides how an output is written.
#include "common/output_file.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <gtest/gtest.h>
#include <unistd.h>

#include "common/error.h"
#include "tests/common/temp_dir.h"

namespace proteus {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int FilesIn(const fs::path& dir) {
  int n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

TEST(OutputFile, ARegularFileIsReplacedWholeAndNoTempFileStays) {
  TempDir dir("output_regular");
  fs::path p = dir.path() / "report.json";
  WriteOutputFile(p.string(), "first");
  WriteOutputFile(p.string(), "second", Durability::kFsync);
  EXPECT_EQ(Slurp(p), "second");
  EXPECT_EQ(FilesIn(dir.path()), 1);
}

TEST(OutputFile, ASymlinkIsFollowedAndStaysALink) {
  TempDir dir("output_symlink");
  fs::path real = dir.path() / "real.json", link = dir.path() / "link.json";
  std::ofstream(real) << "old";
  fs::create_symlink(real, link);
  WriteOutputFile(link.string(), "new");
  EXPECT_TRUE(fs::is_symlink(fs::symlink_status(link)));
  EXPECT_EQ(Slurp(real), "new");
  EXPECT_EQ(FilesIn(dir.path()), 2);
}

TEST(OutputFile, AFifoIsWrittenAsAStreamNotReplaced) {
  TempDir dir("output_fifo");
  fs::path fifo = dir.path() / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string got;
  std::thread reader([&] { got = Slurp(fifo); });
  WriteOutputFile(fifo.string(), "through the pipe");
  reader.join();
  EXPECT_EQ(got, "through the pipe");
  EXPECT_TRUE(fs::is_fifo(fifo));
  EXPECT_NO_THROW(CheckOutputPath(fifo.string(), "--trace"));
}

TEST(OutputFile, ACharacterDeviceIsWrittenInPlace) {
  // /dev/full takes the stream path (a rename would have replaced the device): its write fails
  // with "no space", which is reported, and the device is still a device.
  EXPECT_NO_THROW(CheckOutputPath("/dev/full", "--report"));
  EXPECT_THROW(WriteOutputFile("/dev/full", "x"), UserError);
  struct stat st{};
  ASSERT_EQ(::stat("/dev/full", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST(OutputFile, ADirectoryOrAMissingFolderIsRefusedNamingTheFlag) {
  TempDir dir("output_refused");
  try {
    CheckOutputPath(dir.path().string(), "--trace");
    FAIL() << "a directory was accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("--trace"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("directory"), std::string::npos) << e.what();
  }
  EXPECT_THROW(WriteOutputFile(dir.path().string(), "x"), UserError);
  EXPECT_THROW(CheckOutputPath((dir.path() / "no" / "such.json").string(), "--report"), UserError);
  EXPECT_NO_THROW(CheckOutputPath((dir.path() / "new.json").string(), "--report"));
  EXPECT_EQ(FilesIn(dir.path()), 0);  // checking writes nothing
}

TEST(OutputFile, StaleTempFilesOfDeadProcessesAreRemoved) {
  TempDir dir("output_stale");
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ::waitpid(child, nullptr, 0);  // its pid now names no process
  fs::path target = dir.path() / "trace.json";
  fs::path dead = dir.path() / ("trace.json.tmp." + std::to_string(child));
  fs::path alive = dir.path() / "trace.json.tmp.1";  // init: never dead
  fs::path other = dir.path() / "other.json.tmp.1";
  for (const auto& p : {dead, alive, other}) std::ofstream(p) << "partial";
  WriteOutputFile(target.string(), "done");
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(alive));
  EXPECT_TRUE(fs::exists(other));
  EXPECT_EQ(Slurp(target), "done");
}

}  // namespace
}  // namespace proteus
