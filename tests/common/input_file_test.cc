#include "common/input_file.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/json_file.h"
#include "tests/common/temp_dir.h"

namespace proteus {
namespace {

std::string MessageOf(const std::string& path, int64_t limit = int64_t{1} << 20) {
  try {
    (void)ReadInputFile(path, limit, InputKind::kDocument);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

// Sets an environment variable for one test, restoring the old value after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_.empty()) ::unsetenv(name_);
    else ::setenv(name_, old_.c_str(), 1);
  }

 private:
  const char* name_;
  std::string old_;
};

TEST(InputFile, ReadsARegularFileWhole) {
  TempDir dir("input_regular");
  std::string text(100000, 'x');
  EXPECT_EQ(ReadInputFile(dir.Write("a.json", text)), text);
}

TEST(InputFile, RefusesWhatIsNotARegularFileByKind) {
  TempDir dir("input_kinds");
  EXPECT_NE(MessageOf(dir.path().string()).find("is a directory, not a regular file"), std::string::npos);
  EXPECT_NE(MessageOf("/dev/zero").find("/dev/zero: is a character device"), std::string::npos);
  // A FIFO nobody writes: refused at once (it used to block in open forever).
  std::string fifo = (dir.path() / "pipe").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_NE(MessageOf(fifo).find("is a FIFO (named pipe), not a regular file"), std::string::npos) << MessageOf(fifo);
  EXPECT_NE(MessageOf((dir.path() / "absent.json").string()).find("cannot open file"), std::string::npos);
}

TEST(InputFile, FollowsSymlinksToRegularFiles) {
  TempDir dir("input_symlink");
  std::string target = dir.Write("real.json", "{}");
  std::string link = (dir.path() / "link.json").string();
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  EXPECT_EQ(ReadInputFile(link), "{}");
  std::string to_device = (dir.path() / "zero.json").string();
  ASSERT_EQ(::symlink("/dev/zero", to_device.c_str()), 0);
  EXPECT_NE(MessageOf(to_device).find("is a character device"), std::string::npos);
}

TEST(InputFile, RefusesAFileLargerThanItsKindsCapBeforeReadingIt) {
  TempDir dir("input_cap");
  std::string path = dir.Write("big.json", std::string(3 * 1024 * 1024 + 1, ' '));
  std::string message = MessageOf(path, 2 * 1024 * 1024);
  EXPECT_NE(message.find("big.json: the file is 4 MiB, larger than the 2 MiB limit of a document input; set "
                         "PROTEUS_MAX_INPUT_MB to read a larger one"),
            std::string::npos)
      << message;
  EXPECT_EQ(ReadInputFile(path, 4 * 1024 * 1024, InputKind::kDocument).size(), 3u * 1024 * 1024 + 1);
}

TEST(InputFile, DefaultCapsPerKindAndTheEnvironmentOverride) {
  EXPECT_EQ(InputSizeLimit(InputKind::kDocument), int64_t{16} << 20);
  EXPECT_EQ(InputSizeLimit(InputKind::kDatabase), int64_t{256} << 20);
  EXPECT_EQ(InputSizeLimit(InputKind::kMeasurement), int64_t{512} << 20);
  {
    ScopedEnv env("PROTEUS_MAX_INPUT_MB", "1");
    EXPECT_EQ(InputSizeLimit(InputKind::kMeasurement), int64_t{1} << 20);
    TempDir dir("input_env");
    std::string path = dir.Write("two.json", std::string(2 * 1024 * 1024, ' '));
    try {
      (void)ReadTextFile(path);
      FAIL() << "expected the 1 MiB cap";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find("larger than the 1 MiB limit"), std::string::npos) << e.what();
    }
  }
  for (const char* bad : {"0", "-5", "12x", "99999999999999999999"}) {
    ScopedEnv env("PROTEUS_MAX_INPUT_MB", bad);
    try {
      (void)InputSizeLimit(InputKind::kDocument);
      FAIL() << bad;
    } catch (const UserError& e) {
      EXPECT_EQ(e.where(), "PROTEUS_MAX_INPUT_MB") << e.what();
    }
  }
}

// Runs `read` with standard input reading `text` from a pipe.
std::string WithStdin(const std::string& text, const std::function<std::string()>& read) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  EXPECT_EQ(::write(fds[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fds[1]);
  int saved = ::dup(STDIN_FILENO);
  ::dup2(fds[0], STDIN_FILENO);
  ::close(fds[0]);
  std::string result;
  try {
    result = read();
  } catch (const UserError& e) {
    result = std::string("error: ") + e.what();
  }
  ::dup2(saved, STDIN_FILENO);
  ::close(saved);
  return result;
}

TEST(InputFile, DashReadsStandardInputUpToTheCap) {
  EXPECT_EQ(WithStdin("{\"a\": 1}", [] { return ReadInputFile("-"); }), "{\"a\": 1}");
  std::string big(5000, ' ');
  std::string r = WithStdin(big, [] { return ReadInputFile("-", 4096, InputKind::kDatabase); });
  EXPECT_NE(r.find("-: more than the 4096 bytes limit of a database input"), std::string::npos) << r;
}

TEST(JsonDepth, NestingUpToTheLimitParsesAndDeeperIsRefusedWithItsLine) {
  auto nested = [](int levels) { return std::string(levels, '[') + std::string(levels, ']'); };
  EXPECT_TRUE(ParseJson(nested(256), "ok.json").is_array());
  try {
    (void)ParseJson("{\"a\":\n" + nested(100000) + "}", "deep.json");
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_EQ(std::string(e.what()),
              "deep.json: line 2: nested deeper than 256 levels of arrays and objects");
  }
  // Brackets inside strings (escaped quotes too) are text, not nesting.
  std::string text = "[\"\\\"" + std::string(1000, '[') + "\"]";
  EXPECT_EQ(ParseJson(text, "s.json")[0].get<std::string>().size(), 1001u);
}

}  // namespace
}  // namespace proteus
