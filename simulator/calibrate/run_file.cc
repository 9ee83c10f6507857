#include "simulator/calibrate/run_file.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "common/error.h"
#include "simulator/calibrate/megatron_log.h"

namespace proteus {
namespace {

namespace fs = std::filesystem;

// Members of a run that RunSpecFromJson does not read; they are removed from a copy before it
// reads the rest, so that its unknown-field check still catches typos.
const std::vector<std::string> kRunOnlyKeys = {"iteration_samples_s", "warmup", "log", "log_args", "kernels"};

// Members a run object may hold (RunSpecFromJson's and the run-only ones).
const std::vector<std::string_view> kRunKeys = {
    "name", "model", "cluster", "strategy", "databases", "dtype", "symmetry", "measured", "source", "notes",
    "hardware", "software", "date", "iteration_samples_s", "warmup", "log", "log_args"};

// What a file and a position call an unnamed run or kernel.
struct Place {
  std::string file;       // the file's path, for errors
  std::string json_path;  // "runs[2]"; "" for a run at the top level
  std::string default_name;
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double PositiveNum(const JsonView& v, std::string_view key) {
  double x = v.Num(key);
  if (!(x > 0)) v.FailField(key, "must be positive");
  return x;
}

// "iteration_samples_s": [...] after dropping the first "warmup" (default 0) samples.
std::vector<double> ReadSamples(const JsonView& v) {
  if (!v.Has("iteration_samples_s")) {
    if (v.Has("warmup")) v.FailField("warmup", "applies to \"iteration_samples_s\" or a \"log\"; the run has neither");
    return {};
  }
  JsonView samples = v.At("iteration_samples_s");
  size_t n = samples.Size();
  int64_t warmup = v.IntOr("warmup", 0);
  if (warmup < 0) v.FailField("warmup", "must not be negative");
  if (static_cast<size_t>(warmup) >= n)
    v.FailField("warmup", "drops " + std::to_string(warmup) + " of " + std::to_string(n) +
                              " samples; at least one must remain");
  std::vector<double> kept;
  for (size_t i = static_cast<size_t>(warmup); i < n; ++i) {
    double s = samples.At(i).AsNum();
    if (!(s > 0)) samples.At(i).Fail("must be a positive number of seconds");
    kept.push_back(s);
  }
  return kept;
}

// The run object without its run-only members, for RunSpecFromJson and MeasuredFromJson.
Json SpecPart(const Json& run) {
  Json copy = run;
  for (const auto& k : kRunOnlyKeys) copy.erase(k);
  return copy;
}

// An empty "measured": {} is allowed when samples or a log supply the metrics.
bool HasMeasuredValues(const JsonView& v) {
  return v.Has("measured") && !(v.At("measured").IsObject() && v.At("measured").raw().empty());
}

void RequireSomeMetric(const MeasuredRun& run, const JsonView& v) {
  if (!run.measured.values.empty()) return;
  std::string list;
  for (const auto& k : KnownMetrics()) list += (list.empty() ? "" : ", ") + k;
  v.FailField("measured", "no measured metric: give \"measured\" with one of " + list +
                              ", or \"iteration_samples_s\", or a \"log\"");
}

MeasuredRun PlainRun(const JsonView& v, const Place& place) {
  Json spec_part = SpecPart(v.raw());
  JsonView sv(spec_part, place.file, place.json_path);
  MeasuredRun run;
  run.spec = RunSpecFromJson(sv);
  if (HasMeasuredValues(v)) run.measured = MeasuredFromJson(sv);
  else run.measured.source = v.StrOr("source", "");
  run.iteration_samples_s = ReadSamples(v);
  if (!run.iteration_samples_s.empty() && !run.measured.values.count("iteration_time_s"))
    run.measured.values["iteration_time_s"] = Median(run.iteration_samples_s);
  return run;
}

std::map<std::string, std::string> LogArgs(const JsonView& v) {
  std::map<std::string, std::string> args;
  if (!v.Has("log_args")) return args;
  JsonView a = v.At("log_args");
  if (!a.IsObject()) a.Fail("expected an object of Megatron arguments {\"padded_vocab_size\": 50304, ...}");
  for (auto it = a.raw().begin(); it != a.raw().end(); ++it) {
    const Json& x = it.value();
    // As Megatron prints them: Python's True/False, numbers as written, strings bare.
    if (x.is_boolean()) args[it.key()] = x.get<bool>() ? "True" : "False";
    else if (x.is_string()) args[it.key()] = x.get<std::string>();
    else if (x.is_number()) args[it.key()] = x.dump();
    else a.FailField(it.key(), "expected a number, a string or true/false");
  }
  return args;
}

// A run whose model, strategy and times come from a training log; the run object's own fields win.
MeasuredRun LogRun(const JsonView& v, const Place& place) {
  if (v.Has("iteration_samples_s"))
    v.FailField("iteration_samples_s", "a run with a \"log\" takes its samples from the log; give one or the other");
  fs::path log = v.Str("log");
  if (log.empty()) v.FailField("log", "expected the path of a Megatron-LM or NeMo log");
  if (log.is_relative()) log = fs::path(place.file).parent_path() / log;
  std::error_code ec;
  if (!fs::is_regular_file(log, ec))
    v.FailField("log", "no such file: " + log.string() + " (a relative path is read from the run file's folder)");
  MegatronLogOptions options;
  int64_t warmup = v.IntOr("warmup", options.warmup_lines);
  if (warmup < 0 || warmup > (int64_t{1} << 30)) v.FailField("warmup", "must be a non-negative count of lines");
  options.warmup_lines = static_cast<int>(warmup);
  options.cluster = v.Str("cluster");
  options.fallback_args = LogArgs(v);
  options.fallback_origin = v.WhereField("log_args");
  options.model_given = v.Has("model");
  options.strategy_given = v.Has("strategy");
  MeasuredRun run = ReadMegatronLog(log.string(), options);

  // RunSpecFromJson needs a model and a strategy; stand-ins for what the log supplies are dropped.
  Json spec_part = SpecPart(v.raw());
  if (!options.model_given) spec_part["model"] = "log";
  if (!options.strategy_given) spec_part["strategy"] = Json::object();
  JsonView sv(spec_part, place.file, place.json_path);
  RunSpec given = RunSpecFromJson(sv);
  if (options.model_given) {
    run.spec.model = given.model;
    run.spec.model_doc = given.model_doc;
    run.spec.model_origin = given.model_origin;
  }
  if (options.strategy_given) {
    run.spec.flags = given.flags;
    run.spec.strategy_file = given.strategy_file;
  }
  run.spec.cluster = given.cluster;
  run.spec.databases = given.databases;
  run.spec.symmetry = given.symmetry;
  if (!given.dtype.empty()) run.spec.dtype = given.dtype;
  if (HasMeasuredValues(v))
    for (const auto& [metric, value] : MeasuredFromJson(sv).values) run.measured.values[metric] = value;
  run.measured.source = v.StrOr("source", run.measured.source);
  return run;
}

MeasuredRun RunFromJson(const JsonView& v, const Place& place) {
  if (!v.IsObject()) v.Fail("expected a run object {\"model\": ..., \"cluster\": ..., ...}");
  v.RejectUnknownKeys(kRunKeys);
  if (v.Has("date") && !v.raw()["date"].is_string()) v.FailField("date", "expected a string (ISO 8601)");
  if (v.Has("notes") && !v.raw()["notes"].is_string()) v.FailField("notes", "expected a string");
  MeasuredRun run = v.Has("log") ? LogRun(v, place) : PlainRun(v, place);
  run.name = v.StrOr("name", place.default_name);
  if (run.name.empty()) v.FailField("name", "must not be empty");
  run.origin = v.Where();
  run.spec.name = run.name;
  RequireSomeMetric(run, v);
  return run;
}

KernelMeasurement KernelFromJson(const JsonView& v, const std::string& default_name) {
  if (!v.IsObject()) v.Fail("expected a kernel measurement {\"gpu\": ..., \"keys\": [...], \"measured\": {...}}");
  v.RejectUnknownKeys({"name", "gpu", "keys", "measured", "source", "notes"});
  KernelMeasurement k;
  k.name = v.StrOr("name", default_name);
  k.origin = v.Where();
  k.gpu = v.Str("gpu");
  if (k.gpu.empty()) v.FailField("gpu", "must name a GPU type (data/gpus), e.g. \"H100-SXM5-80GB\"");
  JsonView keys = v.At("keys");
  if (keys.Size() == 0) keys.Fail("expected at least one op key");
  for (size_t i = 0; i < keys.Size(); ++i) {
    std::string why;
    auto key = ParseOpKey(keys.At(i).AsStr(), &why);
    if (!key)
      keys.At(i).Fail("not an op key (kind|dtype|phase|shape|attrs, e.g. \"gemm|bf16|fwd|k=8192,m=8192,n=8192|\"): " +
                      why);
    k.keys.push_back(*key);
  }
  JsonView m = v.At("measured");
  m.RejectUnknownKeys({"time_s", "tflops", "flops"});
  if (m.Has("time_s") == (m.Has("tflops") || m.Has("flops")))
    m.Fail("expected {\"time_s\": seconds} or {\"tflops\": TFLOP/s, \"flops\": FLOPs of one call}");
  if (m.Has("time_s")) {
    k.measured_s = PositiveNum(m, "time_s");
  } else {
    // Throughput figures (a GEMM's TFLOP/s) are how kernel results are usually published.
    double tflops = PositiveNum(m, "tflops");
    k.measured_s = PositiveNum(m, "flops") / (tflops * 1e12);
    if (!std::isfinite(k.measured_s) || !(k.measured_s > 0)) m.Fail("flops / tflops is not a positive time");
  }
  k.source = v.StrOr("source", "");
  return k;
}

RunSet KernelsFromJson(const JsonView& root, const std::string& stem) {
  RunSet set;
  if (!root.Has("kernels")) return set;
  JsonView kernels = root.At("kernels");
  for (size_t i = 0; i < kernels.Size(); ++i) {
    RunSet one;
    one.kernels.push_back(KernelFromJson(kernels.At(i), stem + ".kernels[" + std::to_string(i) + "]"));
    set.Append(std::move(one));
  }
  return set;
}

bool HasTopLevelRun(const JsonView& root) {
  for (const char* k : {"model", "log", "cluster", "strategy", "measured", "iteration_samples_s"})
    if (root.Has(k)) return true;
  return false;
}

RunSet FromRunDocument(const JsonView& root, const std::string& path, const std::string& stem) {
  root.RequireFormat("proteus.run", 1);
  RunSet set;
  if (root.Has("runs")) {
    root.RejectUnknownKeys({"format", "runs", "kernels", "description", "notes"});
    JsonView runs = root.At("runs");
    for (size_t i = 0; i < runs.Size(); ++i) {
      std::string at = "runs[" + std::to_string(i) + "]";
      RunSet one;
      one.runs.push_back(RunFromJson(runs.At(i), {path, at, stem + "[" + std::to_string(i) + "]"}));
      set.Append(std::move(one));
    }
  } else if (HasTopLevelRun(root)) {
    // The run's own members are checked without the file's "format" and "kernels".
    Json top = root.raw();
    top.erase("format");
    top.erase("kernels");
    set.runs.push_back(RunFromJson(JsonView(top, path), {path, "", stem}));
  } else if (!root.Has("kernels")) {
    root.Fail("expected \"runs\": [...], one run's fields (model, cluster, strategy, measured, ...) or "
              "\"kernels\": [...]");
  }
  set.Append(KernelsFromJson(root, stem));
  return set;
}

RunSet FromSuite(const JsonView& root, const std::string& path, const std::string& stem) {
  root.RequireFormat("proteus.suite", 1);
  JsonView cases = root.At("cases");
  RunSet set;
  for (size_t i = 0; i < cases.Size(); ++i) {
    JsonView c = cases.At(i);
    MeasuredRun run;
    run.spec = RunSpecFromJson(c);
    run.measured = MeasuredFromJson(c);
    run.name = run.spec.name.empty() ? stem + "[" + std::to_string(i) + "]" : run.spec.name;
    run.spec.name = run.name;
    run.origin = c.Where();
    RunSet one;
    one.runs.push_back(std::move(run));
    set.Append(std::move(one));
  }
  return set;
}

}  // namespace

RunSet RunSetFromJson(const Json& doc, const std::string& path) {
  JsonView root(doc, path);
  if (!root.IsObject()) root.Fail("expected a JSON object with \"format\": \"proteus.run/1\" or \"proteus.suite/1\"");
  std::string stem = fs::path(path).stem().string();
  bool suite = root.Has("format") && doc["format"].is_string() &&
               doc["format"].get<std::string>().rfind("proteus.suite/", 0) == 0;
  return suite ? FromSuite(root, path, stem) : FromRunDocument(root, path, stem);
}

RunSet ReadRunFile(const std::string& path) { return RunSetFromJson(ReadJsonFile(path), path); }

}  // namespace proteus
