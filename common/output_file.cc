#include "common/output_file.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <iostream>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"

namespace proteus {
namespace {

namespace fs = std::filesystem;

enum class Target { kStdout, kStream, kRegular, kAbsent, kRefused };

// What the path names, symlinks followed (stat, not lstat).
Target Classify(const std::string& path, std::string* why) {
  if (path == "-") return Target::kStdout;
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Target::kAbsent;
    *why = std::string("cannot inspect: ") + std::strerror(errno);
    return Target::kRefused;
  }
  if (S_ISREG(st.st_mode)) return Target::kRegular;
  if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) return Target::kStream;
  *why = S_ISDIR(st.st_mode) ? "is a directory; give a file name" : "is not a regular file, a character device or a FIFO";
  return Target::kRefused;
}

// The file a rename must replace: the symlink's target, so the link stays a link.
fs::path RealTarget(const std::string& path) {
  std::error_code ec;
  fs::path p(path);
  if (fs::is_symlink(fs::symlink_status(p, ec))) {
    fs::path resolved = fs::weakly_canonical(p, ec);
    if (!ec) return resolved;
  }
  return p;
}

fs::path FolderOf(const fs::path& p) {
  fs::path parent = p.parent_path();
  return parent.empty() ? fs::path(".") : parent;
}

void WriteAll(int fd, std::string_view content, const std::string& path) {
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw UserError(path, std::string("write failed: ") + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
}

void WriteStream(const std::string& path, std::string_view content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) throw UserError(path, std::string("cannot open for writing: ") + std::strerror(errno));
  try {
    WriteAll(fd, content, path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

// "<name>.tmp.<pid>" files of processes that no longer exist, left by a kill during a write.
void RemoveStaleTemps(const fs::path& target) {
  std::error_code ec;
  std::string prefix = target.filename().string() + ".tmp.";
  for (const auto& entry : fs::directory_iterator(FolderOf(target), ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    std::string pid_text = name.substr(prefix.size());
    if (pid_text.empty() || pid_text.size() > 9 || pid_text.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    if (pid == ::getpid()) continue;
    if (::kill(pid, 0) != 0 && errno == ESRCH) fs::remove(entry.path(), ec);
  }
}

void FsyncFolder(const fs::path& folder) {
  int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // the rename is done; a folder we cannot open cannot be synced either
  ::fsync(fd);
  ::close(fd);
}

void WriteReplacing(const std::string& path, std::string_view content, Durability durability) {
  fs::path target = RealTarget(path);
  RemoveStaleTemps(target);
  fs::path tmp = target;
  tmp += ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw UserError(path, "cannot write file (is the folder there and writable?)");
  std::error_code ec;
  try {
    WriteAll(fd, content, path);
    if (durability == Durability::kFsync && ::fsync(fd) != 0)
      throw UserError(path, std::string("fsync failed: ") + std::strerror(errno));
  } catch (...) {
    ::close(fd);
    fs::remove(tmp, ec);
    throw;
  }
  if (::close(fd) != 0) {
    fs::remove(tmp, ec);
    throw UserError(path, "write failed (disk full?)");
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw UserError(path, "cannot replace file: " + ec.message());
  }
  if (durability == Durability::kFsync) FsyncFolder(FolderOf(target));
}

}  // namespace

void CheckOutputPath(const std::string& path, const std::string& what) {
  std::string why;
  switch (Classify(path, &why)) {
    case Target::kStdout:
    case Target::kStream:
      return;
    case Target::kRefused:
      throw UserError(what, path + " " + why);
    case Target::kRegular:
    case Target::kAbsent:
      break;
  }
  fs::path folder = FolderOf(RealTarget(path));
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) throw UserError(what, path + ": folder " + folder.string() + " does not exist");
  if (::access(folder.c_str(), W_OK) != 0) throw UserError(what, path + ": folder " + folder.string() + " is not writable");
}

void WriteOutputFile(const std::string& path, std::string_view content, Durability durability) {
  std::string why;
  switch (Classify(path, &why)) {
    case Target::kStdout:
      std::cout.write(content.data(), static_cast<std::streamsize>(content.size()));
      std::cout.flush();
      return;
    case Target::kStream:
      WriteStream(path, content);
      return;
    case Target::kRefused:
      throw UserError(path, why);
    case Target::kRegular:
    case Target::kAbsent:
      WriteReplacing(path, content, durability);
      return;
  }
}

}  // namespace proteus
