// The write-ahead journal beside an output database: "<output>.journal", one JSON document per
// line, appended and flushed as each measurement finishes, so a crash or a GPU fault loses only
// the measurement in flight. The database itself is rewritten atomically (CostDb::Save) every few
// seconds and at the end, after which the journal is removed.
//
// Each line is either a proteus.costdb/1 document holding exactly the new entries (the format's own
// reader and writer; no second JSON schema), or {"in_flight": <op key>} written just before an op
// is measured. Replay applies the documents in order; an "in_flight" op never followed by its
// result crashed the process last time and is recorded with status "error", so a rerun does not
// crash on it again (--retry-errors measures it anyway). A torn last line is ignored.
#pragma once

#include <fstream>
#include <string>

#include "common/costdb.h"

namespace proteus::profiler {

class Journal {
 public:
  /// Opens (creating) `path` for appending; UserError if it cannot be written.
  explicit Journal(std::string path);
  void AppendInFlight(const OpKey& key);
  /// Appends `fragment` (a database holding only the new entries).
  void Append(const CostDb& fragment);
  const std::string& path() const { return path_; }

  /// Applies the journal at `path` (if it exists) on top of `db`; returns how many entries were
  /// applied and the keys found crashed (recorded as "error" in `db`).
  struct ReplayResult {
    int applied = 0;
    std::vector<std::string> crashed;
  };
  static ReplayResult Replay(const std::string& path, CostDb& db);

 private:
  void Line(const std::string& text);
  std::string path_;
  std::ofstream out_;
};

}  // namespace proteus::profiler
