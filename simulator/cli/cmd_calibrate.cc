// proteus-sim calibrate RUNS... --gpu GPU -o FILE: fit the cost model of one GPU type to measured
// runs (proteus.run/1, suites, Megatron/NeMo logs) and write the result as a cost-database layer,
// together with measured entries read from PyTorch profiler traces (--trace).
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <sstream>

#include "common/error.h"
#include "common/json_text.h"
#include "common/log.h"
#include "simulator/calibrate/calibrate.h"
#include "simulator/calibrate/kineto_trace.h"
#include "simulator/calibrate/read_runs.h"
#include "simulator/cli/app.h"
#include "simulator/cost/cost_params.h"
#include "simulator/cost/gpu_family.h"

namespace proteus {
namespace {

struct CalibrateArgs {
  std::vector<std::string> runs, traces, dbs;
  std::string gpu, output, params, cluster, date;
  int folds = 0, threads = 2, warmup = 1;
  bool json = false;
};

std::vector<std::string> SplitNames(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

double Percent(double predicted, double measured) { return 100 * (predicted - measured) / measured; }

void PrintOutcome(const CalibrationOutcome& o, std::ostream& out) {
  char buf[320];
  std::snprintf(buf, sizeof buf, "%-34s %-17s %10s %10s %8s %10s %8s %10s %8s\n", "run", "metric", "measured",
                "before", "error", "fitted", "error", "held-out", "error");
  out << buf;
  for (const auto& r : o.rows) {
    std::snprintf(buf, sizeof buf, "%-34s %-17s %10.4g %10.4g %+7.1f%% %10.4g %+7.1f%% %10.4g %+7.1f%%\n",
                  r.name.c_str(), r.metric.c_str(), r.measured, r.before, Percent(r.before, r.measured), r.after,
                  Percent(r.after, r.measured), r.held_out, Percent(r.held_out, r.measured));
    out << buf;
  }
  bool any_run = false;
  for (const auto& r : o.rows) any_run = any_run || r.metric != "kernel_time_s";
  if (any_run)
    std::snprintf(buf, sizeof buf,
                  "\nruns: mean |error| %.1f%% before, %.1f%% fitted, %.1f%% cross-validated (max %.1f%%)\n",
                  100 * o.mean_abs_before, 100 * o.mean_abs_after, 100 * o.mean_abs_cv, 100 * o.max_abs_cv);
  else
    std::snprintf(buf, sizeof buf, "\nno end-to-end runs: fitted on kernel measurements only (no cross-validation)\n");
  out << buf << "\nparameters (" << o.calibration.gpu << ")\n";
  for (const auto& [name, p] : o.calibration.params) {
    const CostParamSpec* spec = FindCostParam(name);
    std::snprintf(buf, sizeof buf, "  %-22s %10.4g +- %-9.3g %-9s [%g, %g]%s\n", name.c_str(), p.value,
                  p.stderr_value, std::string(spec->unit).c_str(), spec->lo, spec->hi,
                  p.at_bound ? "  AT BOUND: the data push past what is physical; check the runs" : "");
    out << buf;
  }
  for (const auto& s : o.skipped) out << "skipped (other GPU type): " << s << "\n";
  out << o.evaluations << " evaluations\n";
}

Json OutcomeToJson(const CalibrationOutcome& o) {
  Json rows = Json::array();
  for (const auto& r : o.rows)
    rows.push_back({{"name", r.name}, {"metric", r.metric}, {"measured", r.measured}, {"before", r.before},
                    {"fitted", r.after}, {"held_out", r.held_out}});
  Json params = Json::object();
  for (const auto& [name, p] : o.calibration.params)
    params[name] = {{"value", p.value}, {"stderr", p.stderr_value}, {"at_bound", p.at_bound}};
  return {{"gpu", o.calibration.gpu}, {"rows", rows}, {"params", params},
          {"mean_abs_error_before", o.mean_abs_before}, {"mean_abs_error_fit", o.mean_abs_after},
          {"cv_mean_abs_error", o.mean_abs_cv}, {"cv_max_abs_error", o.max_abs_cv}, {"skipped", o.skipped}};
}

void RunCalibrate(const CalibrateArgs& a, const std::string& command, std::ostream& out) {
  if (a.runs.empty() && a.traces.empty()) throw UserError("calibrate", "give measured runs and/or --trace files");
  // The output is self-contained: the measured layers the fit used (--db), then trace entries,
  // then the calibration, so `simulate --db <output>` predicts what the fit predicted.
  CostDb layer;
  for (const auto& path : a.dbs) {
    CostDb measured = CostDb::Load(path);
    if (!SameGpuFamily(measured.device.name, a.gpu))
      throw UserError("--db", path + " was measured on " + measured.device.name + ", not on --gpu " + a.gpu);
    measured.calibrations.clear();  // the fit below replaces any calibration
    layer = measured.Overlay(layer);
  }
  layer.device.name = a.gpu;
  for (const auto& path : a.traces) {
    KinetoTrace trace = ReadKinetoTrace(path, {});
    if (!SameGpuFamily(trace.db.device.name, a.gpu))
      throw UserError("--trace", path + " was measured on " + trace.db.device.name + ", not on --gpu " + a.gpu +
                                     ": its kernel times would price another GPU");
    // Unmapped kernels are listed (largest first), never dropped silently; ten lines, then a count.
    for (size_t i = 0; i < trace.unmapped.size() && i < 10; ++i) {
      const UnmappedKernel& u = trace.unmapped[i];
      LogWarn(path + ": kernel " + u.name + " (" + std::to_string(u.count) + " calls" +
              (u.op.empty() ? "" : ", launched by " + u.op) + ") maps to no operator; it is not in the layer");
    }
    if (trace.unmapped.size() > 10)
      LogWarn(path + ": " + std::to_string(trace.unmapped.size() - 10) + " more kernel names map to no operator");
    for (const auto& [key, e] : trace.db.ops()) layer.PutOp(e);
    LogInfo(path + ": " + std::to_string(trace.db.ops().size()) + " measured entries, " +
            std::to_string(trace.summary.mean.kernels.unmapped) + " kernels mapped to no operator");
  }
  if (!a.runs.empty()) {
    RunSet runs = ReadRuns(a.runs, {a.cluster, a.warmup});
    for (auto& run : runs.runs)
      for (const auto& db : a.dbs) run.spec.databases.push_back(db);
    CalibrateOptions options;
    options.gpu = a.gpu;
    options.params = SplitNames(a.params);
    options.folds = a.folds;
    options.threads = a.threads;
    options.command = command;
    options.date = a.date;
    CalibrationOutcome outcome = Calibrate(runs, options);
    if (a.json) out << JsonText(OutcomeToJson(outcome)) << "\n";
    else PrintOutcome(outcome, out);
    layer.calibrations.push_back(outcome.calibration);
  }
  layer.Save(a.output);
  LogInfo("wrote " + a.output);
}

}  // namespace

void AddCalibrateCommand(CLI::App& app, std::ostream& out) {
  auto* cmd = app.add_subcommand(
      "calibrate",
      "Fit the cost model of one GPU type to measured runs; write the fit (and trace entries) as a database layer");
  auto a = std::make_shared<CalibrateArgs>();
  cmd->add_option("runs", a->runs,
                  "Measured runs: proteus.run/1 or proteus.suite/1 files, Megatron-LM / NeMo training logs");
  cmd->add_option("--gpu", a->gpu, "GPU type to calibrate (a data/gpus name, e.g. A100-SXM4-80GB)")->required();
  cmd->add_option("-o,--output", a->output, "Cost-database layer to write (atomically)")->required();
  cmd->add_option("--params", a->params,
                  "Parameters to fit, comma-separated (default: " + [] {
                    std::string s;
                    for (const auto& p : DefaultCalibrationParams()) s += (s.empty() ? "" : ",") + p;
                    return s;
                  }() + "; all: " + CostParamNames() + ")");
  cmd->add_option("--folds", a->folds, "Cross-validation folds (0: leave-one-out)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", a->threads, "Runs simulated in parallel")->check(CLI::PositiveNumber);
  cmd->add_option("--trace", a->traces, "PyTorch profiler (Kineto) trace: its kernels become measured entries");
  cmd->add_option("--db", a->dbs,
                  "Measured database layered over every run while fitting (e.g. NCCL curves) and copied into the "
                  "output (repeatable)");
  cmd->add_option("--cluster", a->cluster, "Cluster of training logs given directly (logs name none)");
  cmd->add_option("--warmup", a->warmup, "Logged iterations dropped at the start of each log")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--date", a->date, "Date recorded in the provenance (default: today, UTC)");
  cmd->add_flag("--json", a->json, "Print the outcome as JSON");
  cmd->callback([&out, a] {
    std::string command = "proteus-sim calibrate";
    for (const auto& r : a->runs) command += " " + r;
    for (const auto& t : a->traces) command += " --trace " + t;
    for (const auto& d : a->dbs) command += " --db " + d;
    if (!a->cluster.empty()) command += " --cluster " + a->cluster;
    if (a->warmup != 1) command += " --warmup " + std::to_string(a->warmup);
    command += " --gpu " + a->gpu;
    if (!a->params.empty()) command += " --params " + a->params;
    if (a->folds) command += " --folds " + std::to_string(a->folds);
    command += " -o " + a->output;
    RunCalibrate(*a, command, out);
  });
}

}  // namespace proteus
