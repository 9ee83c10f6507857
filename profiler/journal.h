// The write-ahead journal beside an output database: "<output>.journal", one JSON document per
// line, appended and synced as each measurement finishes, so a crash, a GPU fault or a preemption
// loses only the measurement in flight. The database itself is rewritten atomically and fsynced
// (CostDb::Save) every few seconds and at the end, after which the journal is emptied.
//
// Each line is one of
//   - a proteus.costdb/1 document holding exactly the new entries (the format's own reader and
//     writer; no second JSON schema);
//   - {"in_flight": <op key>}, written just before an op is measured;
//   - {"ended": "preempted"|"crashed", "signal": "SIGTERM", "op": <op key>}, written by the signal
//     handler (Journal::ArmSignals) when the process is stopped or crashes while measuring that op.
// Replay applies the documents in order and then decides about each op in flight without a result:
//   - preempted (SIGTERM, SIGINT, SIGHUP: a scheduler or the user stopped the job): retried;
//   - crashed (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT): recorded with status "error" and the
//     signal as its reason, so a rerun does not crash on it again (--retry-errors measures it);
//   - no line at all (kill -9, the OOM killer, a power loss: nothing could be written): taken as a
//     preemption and retried, since a crash the process survives long enough to see is written.
// A torn last line is ignored.
#pragma once

#include <string>
#include <vector>

#include "common/costdb.h"

namespace proteus::profiler {

class Journal {
 public:
  /// Opens (creating) `path` for appending; UserError if it cannot be written.
  explicit Journal(std::string path);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  /// Marks `key` as being measured; until the next Append, a signal writes how it ended.
  void AppendInFlight(const OpKey& key);
  /// Appends `fragment` (a database holding only the new entries).
  void Append(const CostDb& fragment);
  /// Empties the journal (everything in it is in the saved database).
  void Clear();
  const std::string& path() const { return path_; }

  /// Installs handlers for the signals above for this journal (one journal at a time): each writes
  /// its "ended" line for the op in flight, then the signal takes its default action.
  void ArmSignals();

  /// Applies the journal at `path` (if it exists) on top of `db`; returns how many entries were
  /// applied and the ops in flight: crashed (recorded as "error" in `db`) and preempted or killed
  /// without a trace (left out of `db`, so they are measured again).
  struct ReplayResult {
    int applied = 0;
    std::vector<std::string> crashed, preempted, vanished;
  };
  static ReplayResult Replay(const std::string& path, CostDb& db);

 private:
  void Line(const std::string& text);
  std::string path_;
  int fd_ = -1;
  bool armed_ = false;
};

}  // namespace proteus::profiler
