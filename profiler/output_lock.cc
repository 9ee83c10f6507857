#include "profiler/output_lock.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"

namespace proteus::profiler {

namespace {
std::string HolderPid(int fd) {
  char buf[32] = {};
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() ? "unknown" : pid;
}

bool SameFile(int fd, const std::string& path) {
  struct stat by_fd{}, by_path{};
  return ::fstat(fd, &by_fd) == 0 && ::stat(path.c_str(), &by_path) == 0 && by_fd.st_ino == by_path.st_ino &&
         by_fd.st_dev == by_path.st_dev;
}
}  // namespace

OutputLock::OutputLock(const std::string& database) : path_(database + ".lock") {
  // A holder removes the file as it ends: a lock taken on a file already unlinked guards nothing,
  // so take it again on the file the path names now (a few tries; each loses only to a new holder).
  for (int attempt = 0; attempt < 8; ++attempt) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw UserError(database, "cannot create the lock file " + path_ + ": " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      std::string holder = HolderPid(fd_);
      ::close(fd_);
      fd_ = -1;
      if (err == EWOULDBLOCK)
        throw UserError(database, "is being written by another proteus-profile (pid " + holder + ", lock " + path_ +
                                      "); wait for it to finish or write to another file (-o)");
      throw UserError(database, "cannot lock " + path_ + ": " + std::strerror(err));
    }
    if (SameFile(fd_, path_)) {
      std::string pid = std::to_string(::getpid()) + "\n";
      if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
        throw UserError(database, "cannot write the lock file " + path_ + ": " + std::strerror(errno));
      return;
    }
    ::close(fd_);
    fd_ = -1;
  }
  throw UserError(database, "cannot take the lock " + path_ + ": it keeps being replaced");
}

OutputLock::~OutputLock() {
  if (fd_ < 0) return;
  ::unlink(path_.c_str());  // while still held: a waiting run then locks a fresh file (see above)
  ::close(fd_);
}

}  // namespace proteus::profiler
