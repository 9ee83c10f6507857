// One writer per output database: "<output>.lock" beside it holds an exclusive flock(2) for as
// long as a run writes the database and its journal, and the holder's pid as text. A second run on
// the same database is refused (UserError naming the database and the holder's pid), instead of
// two runs interleaving journals and overwriting each other's saves. The kernel drops the lock
// when its holder exits, however it exits (kill -9 included), so a lock is never stale; the file
// is removed when the run ends.
#pragma once

#include <string>

namespace proteus::profiler {

class OutputLock {
 public:
  /// Takes the lock of `database`; UserError(database, "...pid N...") if another process holds it.
  explicit OutputLock(const std::string& database);
  ~OutputLock();
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace proteus::profiler
