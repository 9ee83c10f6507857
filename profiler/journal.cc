#include "profiler/journal.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "common/manifest.h"

namespace proteus::profiler {

namespace {
// Entry by entry, not CostDb::Overlay: a long journal on a large database must replay in linear time.
void ApplyFragment(const CostDb& frag, CostDb& db) {
  for (const auto& [k, e] : frag.ops()) db.PutOp(e);
  for (const auto& c : frag.curves()) db.PutCurve(c);
  for (const auto& i : frag.interference) {
    auto it = std::find_if(db.interference.begin(), db.interference.end(), [&](const InterferenceEntry& j) {
      return j.compute_class == i.compute_class && j.collective == i.collective;
    });
    if (it != db.interference.end()) *it = i;
    else db.interference.push_back(i);
  }
  if (!frag.topology_xml.empty()) db.topology_xml = frag.topology_xml;
}

// What the signal handler may touch: plain data prepared before the op starts (a handler may call
// only async-signal-safe functions: write, fdatasync, signal, raise).
struct SignalNote {
  volatile sig_atomic_t fd = -1;
  volatile sig_atomic_t armed = 0;  // an op is in flight
  char op[4096] = {};               // its key as JSON, NUL-terminated
};
SignalNote g_note;

struct SignalKind {
  int signal;
  const char* name;
  const char* ended;
};
constexpr SignalKind kSignals[] = {
    {SIGTERM, "SIGTERM", "preempted"}, {SIGINT, "SIGINT", "preempted"}, {SIGHUP, "SIGHUP", "preempted"},
    {SIGSEGV, "SIGSEGV", "crashed"},   {SIGBUS, "SIGBUS", "crashed"},   {SIGFPE, "SIGFPE", "crashed"},
    {SIGILL, "SIGILL", "crashed"},     {SIGABRT, "SIGABRT", "crashed"},
};

void WriteAll(int fd, const char* s) {
  size_t n = std::strlen(s);
  while (n > 0) {
    ssize_t w = ::write(fd, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<size_t>(w);
  }
}

void OnSignal(int sig) {
  if (g_note.armed && g_note.fd >= 0) {
    for (const auto& k : kSignals) {
      if (k.signal != sig) continue;
      WriteAll(g_note.fd, "{\"ended\": \"");
      WriteAll(g_note.fd, k.ended);
      WriteAll(g_note.fd, "\", \"signal\": \"");
      WriteAll(g_note.fd, k.name);
      WriteAll(g_note.fd, "\", \"op\": ");
      WriteAll(g_note.fd, g_note.op);
      WriteAll(g_note.fd, "}\n");
      ::fdatasync(g_note.fd);
    }
    g_note.armed = 0;
  }
  std::signal(sig, SIG_DFL);  // the signal's own action: the exit status still tells what happened
  std::raise(sig);
}

OpEntry CrashedEntry(const OpKey& key, const std::string& signal) {
  OpEntry e;
  e.key = key;
  e.status = "error";
  e.kernels = {"(the profiler process crashed with " + signal + " while measuring this op)"};
  return e;
}
}  // namespace

Journal::Journal(std::string path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw UserError(path_, std::string("cannot open the measurement journal for writing: ") + std::strerror(errno));
}

Journal::~Journal() {
  if (armed_) {
    g_note.armed = 0;
    g_note.fd = -1;
  }
  if (fd_ >= 0) ::close(fd_);
}

void Journal::ArmSignals() {
  armed_ = true;
  g_note.fd = fd_;
  for (const auto& k : kSignals) std::signal(k.signal, OnSignal);
}

void Journal::Line(const std::string& text) {
  std::string line = text + '\n';
  const char* p = line.data();
  size_t n = line.size();
  while (n > 0) {
    ssize_t w = ::write(fd_, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw UserError(path_, std::string("cannot append to the measurement journal: ") + std::strerror(errno));
    p += w;
    n -= static_cast<size_t>(w);
  }
  // On disk before the next (possibly fatal) GPU call: a measurement costs milliseconds or more.
  if (::fdatasync(fd_) != 0 && errno != EINVAL)
    throw UserError(path_, std::string("cannot sync the measurement journal: ") + std::strerror(errno));
}

void Journal::AppendInFlight(const OpKey& key) {
  std::string op = OpKeyToJson(key).dump();
  Line(Json{{"in_flight", OpKeyToJson(key)}}.dump());
  if (!armed_) return;
  g_note.armed = 0;
  if (op.size() < sizeof g_note.op) {  // a key too long to note is still retried (no "ended" line)
    std::memcpy(g_note.op, op.c_str(), op.size() + 1);
    g_note.armed = 1;
  }
}

void Journal::Append(const CostDb& fragment) {
  if (armed_) g_note.armed = 0;
  Line(fragment.ToJson().dump());
}

void Journal::Clear() {
  if (::ftruncate(fd_, 0) != 0) LogWarn(path_ + ": cannot empty the journal: " + std::strerror(errno));
}

Journal::ReplayResult Journal::Replay(const std::string& path, CostDb& db) {
  ReplayResult r;
  if (!std::filesystem::exists(path)) return r;
  std::ifstream in(path);
  std::string line;
  std::map<std::string, OpKey> pending;  // in flight, no result yet
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    std::string where = path + ": line " + std::to_string(line_no);
    Json doc = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) {  // a write torn by the crash
      LogWarn(where + ": ignoring an incomplete journal line");
      continue;
    }
    try {
      if (doc.contains("in_flight")) {
        OpKey k = OpKeyFromJson(JsonView(doc["in_flight"], where, "in_flight"));
        pending[k.ToString()] = k;
        continue;
      }
      if (doc.contains("ended")) {
        JsonView v(doc, where, "");
        OpKey k = OpKeyFromJson(JsonView(doc["op"], where, "op"));
        const std::string ended = v.Str("ended"), signal = v.Str("signal");
        pending.erase(k.ToString());
        if (ended == "crashed") {
          db.PutOp(CrashedEntry(k, signal));
          r.crashed.push_back(k.ToString() + " (" + signal + ")");
        } else {
          r.preempted.push_back(k.ToString() + " (" + signal + ")");
        }
        continue;
      }
      CostDb frag = CostDb::FromJson(doc, where);
      for (const auto& [k, e] : frag.ops()) pending.erase(k);
      r.applied += static_cast<int>(frag.ops().size() + frag.curves().size() + frag.interference.size() +
                                    (frag.topology_xml.empty() ? 0 : 1));
      ApplyFragment(frag, db);
    } catch (const UserError& e) {
      LogWarn(std::string("ignoring a bad journal line: ") + e.what());
    }
  }
  for (const auto& [s, k] : pending) r.vanished.push_back(s);
  return r;
}

}  // namespace proteus::profiler
