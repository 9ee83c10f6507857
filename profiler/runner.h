// Runs a plan against a backend and keeps the output database current: resume, journal, saves.
//
//   1. load the output database if it exists, replay its journal (journal.h), check that it was
//      measured on the same GPU type, stamp the header (device, software, host, date, version);
//   2. drop from the plan what is already there (Remaining): op keys present with status ok or oom
//      (and error, unless retry_errors), curve points present, interference pairs present;
//   3. measure the rest in plan order, journaling each result and saving the database atomically
//      at most every save_interval_s and at the end (the journal is then removed).
#pragma once

#include <functional>
#include <string>

#include "common/costdb.h"
#include "profiler/backend.h"
#include "profiler/plan.h"

namespace proteus::profiler {

struct RunOptions {
  std::string output;             // the database to write (and resume)
  bool retry_errors = false;      // measure keys recorded as "error" again
  double save_interval_s = 5;     // between full atomic saves (the journal covers the gap)
  std::string date;               // ISO 8601, stamped into the database
};

struct RunSummary {
  int ops_measured = 0, ops_oom = 0, ops_error = 0, ops_skipped = 0;
  int points_measured = 0, points_rejected = 0, points_skipped = 0;
  int interference_measured = 0;
};

/// The part of `plan` not yet in `done`.
Plan Remaining(const Plan& plan, const CostDb& done, bool retry_errors);

/// Loads `path` (if present) and replays its journal; throws UserError if it is not a costdb.
CostDb LoadForResume(const std::string& path);

/// Measures `plan` with `backend`; see the header comment. DeviceError from the backend ends the
/// run after the entry in flight was recorded and the database saved.
RunSummary RunPlan(const Plan& plan, const NodeProbe& probe, Backend& backend, const RunOptions& opt);

}  // namespace proteus::profiler
