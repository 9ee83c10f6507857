// Logging to stderr (stdout is for results) and a progress bar for long work.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace proteus {

enum class LogLevel { kQuiet, kInfo, kDebug };

/// Process-wide verbosity, set once by main() before any work (not changed while threads run).
void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
void LogInfo(const std::string& msg);
void LogDebug(const std::string& msg);
void LogWarn(const std::string& msg);

/// A one-line progress bar with ETA on stderr: "[#####     ] 12/40 ops  ETA 3m10s". Redraws at most
/// every 200 ms; prints plain lines instead when stderr is not a terminal.
class Progress {
 public:
  Progress(std::string what, int64_t total);
  ~Progress();
  void Advance(int64_t n = 1, const std::string& item = "");
  void Finish();

 private:
  void Draw(bool force);
  std::string what_, item_;
  int64_t total_, done_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool tty_, finished_ = false;
};

}  // namespace proteus
