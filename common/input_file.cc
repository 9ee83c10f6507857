#include "common/input_file.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"

namespace proteus {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;
// Far above real files: a 1,000-layer module tree is ~1 MiB; a measured database of every operator
// of a sweep ~10 MiB; a PyTorch profiler trace of a few iterations 50-300 MiB.
constexpr int64_t kDocumentMiB = 16, kDatabaseMiB = 256, kMeasurementMiB = 512;
// PROTEUS_MAX_INPUT_MB may not exceed 1 TiB (keeps the byte count far from int64 overflow).
constexpr int64_t kMaxOverrideMiB = int64_t{1} << 20;
constexpr const char* kLimitVar = "PROTEUS_MAX_INPUT_MB";

std::string SizeText(int64_t bytes) {
  if (bytes < kMiB) return std::to_string(bytes) + " bytes";
  // Rounded up, so a file just over the limit never reads as "16 MiB, larger than 16 MiB".
  return std::to_string((bytes + kMiB - 1) / kMiB) + " MiB";
}

// `size` says how large the input is: "the file is 700 MiB, larger than" or "more than".
[[noreturn]] void TooLarge(const std::string& path, const std::string& size, int64_t limit, InputKind kind) {
  throw UserError(path, size + " the " + SizeText(limit) + " limit of a " + InputKindName(kind) + " input; set " +
                            kLimitVar + " to read a larger one");
}

// What kind of file `mode` is, for the refusal.
std::string KindOfFile(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

[[noreturn]] void NotRegular(const std::string& path, mode_t mode) {
  throw UserError(path, "is " + KindOfFile(mode) + ", not a regular file; give a file (or - for standard input)");
}

// Reads `fd` to its end, failing once more than `limit` bytes arrive.
std::string ReadAll(int fd, const std::string& path, int64_t limit, InputKind kind, int64_t expected) {
  std::string text;
  if (expected > 0) text.reserve(static_cast<size_t>(expected));
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw UserError(path, std::string("cannot read file: ") + std::strerror(errno));
    if (n == 0) return text;
    if (static_cast<int64_t>(text.size()) + n > limit) TooLarge(path, "more than", limit, kind);
    text.append(buf, static_cast<size_t>(n));
  }
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string ReadRegularFile(const std::string& path, int64_t limit, InputKind kind) {
  // stat before open: opening some devices has effects of its own.
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0)
    throw UserError(path, errno == ENOENT ? std::string("cannot open file") : std::string("cannot open file: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) NotRegular(path, st.st_mode);
  // Non-blocking, and checked again on the descriptor: a FIFO swapped in after the stat must not hang.
  Fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0) throw UserError(path, std::string("cannot open file: ") + std::strerror(errno));
  if (::fstat(fd.get(), &st) != 0) throw UserError(path, std::string("cannot inspect file: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) NotRegular(path, st.st_mode);
  if (st.st_size > limit) TooLarge(path, "the file is " + SizeText(st.st_size) + ", larger than", limit, kind);
  return ReadAll(fd.get(), path, limit, kind, st.st_size);
}

}  // namespace

const char* InputKindName(InputKind kind) {
  switch (kind) {
    case InputKind::kDocument: return "document";
    case InputKind::kDatabase: return "database";
    case InputKind::kMeasurement: return "measurement";
  }
  return "document";
}

int64_t InputSizeLimit(InputKind kind) {
  if (const char* text = std::getenv(kLimitVar); text && *text) {
    char* end = nullptr;
    errno = 0;
    long long mib = std::strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0' || mib <= 0 || mib > kMaxOverrideMiB)
      throw UserError(kLimitVar, "expected a size in MiB from 1 to " + std::to_string(kMaxOverrideMiB) + ", got \"" +
                                     text + "\"");
    return mib * kMiB;
  }
  switch (kind) {
    case InputKind::kDocument: return kDocumentMiB * kMiB;
    case InputKind::kDatabase: return kDatabaseMiB * kMiB;
    case InputKind::kMeasurement: return kMeasurementMiB * kMiB;
  }
  return kDocumentMiB * kMiB;
}

std::string ReadInputFile(const std::string& path, int64_t limit_bytes, InputKind kind) {
  if (path == "-") return ReadAll(STDIN_FILENO, "-", limit_bytes, kind, 0);
  return ReadRegularFile(path, limit_bytes, kind);
}

std::string ReadInputFile(const std::string& path, InputKind kind) {
  return ReadInputFile(path, InputSizeLimit(kind), kind);
}

}  // namespace proteus
