#include "common/log.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <unistd.h>

namespace proteus {
namespace {
std::atomic<LogLevel> g_level{LogLevel::kInfo};

std::string FormatDuration(double s) {
  char buf[32];
  if (s < 60) std::snprintf(buf, sizeof buf, "%.0fs", s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%dm%02ds", int(s) / 60, int(s) % 60);
  else std::snprintf(buf, sizeof buf, "%dh%02dm", int(s) / 3600, (int(s) % 3600) / 60);
  return buf;
}
}  // namespace

void SetLogLevel(LogLevel level) { g_level = level; }
LogLevel GetLogLevel() { return g_level; }
void LogInfo(const std::string& msg) {
  if (g_level >= LogLevel::kInfo) std::fprintf(stderr, "%s\n", msg.c_str());
}
void LogDebug(const std::string& msg) {
  if (g_level >= LogLevel::kDebug) std::fprintf(stderr, "debug: %s\n", msg.c_str());
}
void LogWarn(const std::string& msg) { std::fprintf(stderr, "warning: %s\n", msg.c_str()); }

Progress::Progress(std::string what, int64_t total)
    : what_(std::move(what)), total_(total), start_(std::chrono::steady_clock::now()),
      last_draw_(start_), tty_(::isatty(2)) {}

Progress::~Progress() { Finish(); }

void Progress::Advance(int64_t n, const std::string& item) {
  done_ += n;
  item_ = item;
  Draw(done_ >= total_);
}

void Progress::Finish() {
  if (finished_) return;
  finished_ = true;
  Draw(true);
  if (tty_ && g_level >= LogLevel::kInfo) std::fprintf(stderr, "\n");
}

void Progress::Draw(bool force) {
  if (g_level < LogLevel::kInfo) return;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_draw_).count();
  if (!force && since < (tty_ ? 0.2 : 10.0)) return;
  last_draw_ = now;
  double elapsed = std::chrono::duration<double>(now - start_).count();
  // An estimated total can be passed (calibrate's evaluations): never draw past a full bar.
  double frac = total_ > 0 ? std::min(1.0, double(done_) / double(total_)) : 1.0;
  std::string eta = done_ > 0 && frac < 1 ? "  ETA " + FormatDuration(elapsed / frac - elapsed) : "";
  int filled = static_cast<int>(frac * 20);
  std::string bar = std::string(filled, '#') + std::string(20 - filled, ' ');
  std::fprintf(stderr, "%s[%s] %lld/%lld %s%s  %s%s", tty_ ? "\r" : "", bar.c_str(), (long long)done_,
               (long long)total_, what_.c_str(), eta.c_str(), item_.substr(0, 40).c_str(),
               tty_ ? "\033[K" : "\n");
  std::fflush(stderr);
}

}  // namespace proteus
