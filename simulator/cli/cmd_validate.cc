// proteus-sim validate SUITE.json: predicted vs measured per case, with errors and their summary.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <ostream>

#include "common/error.h"
#include "common/json_file.h"
#include "common/json_text.h"
#include "common/log.h"
#include "simulator/calibrate/read_runs.h"
#include "simulator/cli/app.h"
#include "simulator/pipeline/simulation.h"

namespace proteus {
namespace {

struct CaseRow {
  std::string name, metric;
  double predicted = 0, measured = 0;
  std::string note;  // "OOM" or an error message
};

// Every measured run of `path` (a proteus.suite/1 or proteus.run/1 file), simulated with `dbs`
// layered over each run's own databases.
// `max_tasks` (--max-tasks, 0: the default) is every case's simulation budget.
std::vector<CaseRow> RunSuite(const std::string& path, const std::string& only, const std::vector<std::string>& dbs,
                              int64_t max_tasks) {
  RunSet set = ReadRuns({path});
  if (set.runs.empty()) throw UserError(path, "holds no runs to validate (kernel measurements are for calibrate)");
  std::vector<CaseRow> rows;
  Progress progress("cases", static_cast<int64_t>(set.runs.size()));
  for (const MeasuredRun& run : set.runs) {
    SimulationRequest request;
    request.spec = run.spec;
    for (const auto& db : dbs) request.spec.databases.push_back(db);
    if (max_tasks > 0) request.spec.max_tasks = max_tasks;
    if (!only.empty() && run.name.find(only) == std::string::npos) {
      progress.Advance(1);
      continue;
    }
    SimulationOutput sim;
    try {
      sim = RunSimulation(request);
    } catch (const UserError& e) {
      // Flags do not exist in a suite: name the case instead ("suite.json: cases[3]: --tp: ...").
      throw UserError(run.origin, e.what());
    }
    for (const auto& [metric, value] : run.measured.values)
      rows.push_back({run.name, metric, sim.report.Metric(metric), value, sim.report.oom ? "OOM" : ""});
    progress.Advance(1, run.name);
  }
  return rows;
}

double RelativeError(const CaseRow& r) { return (r.predicted - r.measured) / r.measured; }

struct ErrorSummary {
  double mean_abs = 0, max_abs = 0;
};

ErrorSummary Summarize(const std::vector<CaseRow>& rows) {
  ErrorSummary s;
  for (const auto& r : rows) {
    s.mean_abs += std::fabs(RelativeError(r));
    s.max_abs = std::max(s.max_abs, std::fabs(RelativeError(r)));
  }
  if (!rows.empty()) s.mean_abs /= static_cast<double>(rows.size());
  return s;
}

void PrintRows(const std::vector<CaseRow>& rows, std::ostream& out) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-36s %-18s %12s %12s %9s\n", "case", "metric", "predicted", "measured", "error");
  out << buf;
  for (const auto& r : rows) {
    std::snprintf(buf, sizeof buf, "%-36s %-18s %12.4g %12.4g %+8.1f%% %s\n", r.name.c_str(), r.metric.c_str(),
                  r.predicted, r.measured, 100 * RelativeError(r), r.note.c_str());
    out << buf;
  }
  if (!rows.empty()) {
    ErrorSummary s = Summarize(rows);
    std::snprintf(buf, sizeof buf, "\n%zu comparisons: mean |error| %.1f%%, max |error| %.1f%%\n", rows.size(),
                  100 * s.mean_abs, 100 * s.max_abs);
    out << buf;
  }
}

Json RowsToJson(const std::string& suite, const std::vector<CaseRow>& rows) {
  Json cases = Json::array();
  for (const auto& r : rows)
    cases.push_back({{"case", r.name}, {"metric", r.metric}, {"predicted", r.predicted}, {"measured", r.measured},
                     {"relative_error", RelativeError(r)}, {"note", r.note}});
  ErrorSummary s = Summarize(rows);
  return {{"suite", suite}, {"comparisons", cases}, {"mean_abs_error", s.mean_abs}, {"max_abs_error", s.max_abs}};
}

}  // namespace

void AddValidateCommand(CLI::App& app, std::ostream& out) {
  auto* cmd = app.add_subcommand("validate", "Run a validation suite: predicted vs measured, per case");
  auto suite = std::make_shared<std::string>();
  auto only = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto dbs = std::make_shared<std::vector<std::string>>();
  auto max_tasks = std::make_shared<int64_t>(0);
  cmd->add_option("suite", *suite,
                  "Suite (proteus.suite/1) or measured runs (proteus.run/1), e.g. "
                  "data/validation/megatron-sc21-table1.json")
      ->required();
  cmd->add_option("--db", *dbs, "Cost database layered over every case's own (repeatable; later ones win)");
  cmd->add_option("--case", *only, "Run only cases whose name contains this text");
  cmd->add_flag("--json", *json, "Print the comparison as JSON");
  cmd->add_option("--max-tasks", *max_tasks,
                  "Simulation budget of every case, as for simulate (default 6000000, ~1 GiB); a case above it "
                  "is refused before its graph is built")
      ->check(CLI::PositiveNumber);
  cmd->callback([&out, suite, only, json, dbs, max_tasks] {
    auto rows = RunSuite(*suite, *only, *dbs, *max_tasks);
    if (*json) out << JsonText(RowsToJson(*suite, rows)) << "\n";
    else PrintRows(rows, out);
  });
}

}  // namespace proteus
