#include "simulator/cli/run_spec.h"

#include <algorithm>

namespace proteus {

const std::vector<std::string>& KnownMetrics() {
  static const std::vector<std::string> kMetrics = {
      "iteration_time_s", "samples_per_s", "tokens_per_s", "tflops_per_gpu", "hw_tflops_per_gpu", "mfu",
      "peak_memory_gib"};
  return kMetrics;
}

namespace {

StrategyFlags FlagsFromJson(const JsonView& s) {
  s.RejectUnknownKeys({"tp", "pp", "dp", "mbs", "gbs", "schedule", "zero", "recompute", "sp", "pp_layers",
                       "grad_bucket_mb"});
  StrategyFlags f;
  f.tp = static_cast<int>(s.PositiveIntOr("tp", 1));
  f.pp = static_cast<int>(s.PositiveIntOr("pp", 1));
  f.dp = static_cast<int>(s.PositiveIntOr("dp", 0));
  f.mbs = static_cast<int>(s.PositiveIntOr("mbs", 1));
  f.gbs = static_cast<int>(s.PositiveIntOr("gbs", 0));
  f.schedule = s.StrOr("schedule", "1f1b");
  f.zero = static_cast<int>(s.IntOr("zero", 0));
  if (f.zero != 0 && f.zero != 1) s.FailField("zero", "supported ZeRO stages are 0 and 1");
  f.recompute = s.StrOr("recompute", "none");
  f.sp = s.BoolOr("sp", false);
  f.pp_layers = s.StrOr("pp_layers", "");
  f.grad_bucket_mb = s.PositiveIntOr("grad_bucket_mb", 0);
  return f;
}

}  // namespace

RunSpec RunSpecFromJson(const JsonView& v) {
  v.RejectUnknownKeys({"format", "name", "model", "cluster", "strategy", "databases", "dtype", "symmetry",
                       "measured", "source", "notes", "hardware", "software", "date"});
  RunSpec spec;
  spec.name = v.StrOr("name", "");
  JsonView model = v.At("model");
  if (model.IsObject()) {
    spec.model_doc = model.raw();
    if (!spec.model_doc.contains("format")) spec.model_doc["format"] = "proteus.model/1";
    spec.model_origin = model.Where();
    spec.model = spec.model_doc.value("zoo", std::string("inline model"));
  } else {
    spec.model = model.AsStr();
  }
  spec.cluster = v.Str("cluster");
  JsonView s = v.At("strategy");
  if (s.raw().is_string()) spec.strategy_file = s.AsStr();
  else if (s.IsObject()) spec.flags = FlagsFromJson(s);
  else s.Fail("expected shorthand flags {\"tp\": 8, ...} or a strategy file name");
  if (auto dbs = v.Find("databases"))
    for (size_t i = 0; i < dbs->Size(); ++i) spec.databases.push_back(dbs->At(i).AsStr());
  spec.dtype = v.StrOr("dtype", "");
  spec.symmetry = v.BoolOr("symmetry", true);
  return spec;
}

Measured MeasuredFromJson(const JsonView& v) {
  Measured m;
  JsonView mv = v.At("measured");
  if (!mv.IsObject() || mv.raw().empty()) mv.Fail("expected an object of measured metrics");
  for (auto it = mv.raw().begin(); it != mv.raw().end(); ++it) {
    const auto& known = KnownMetrics();
    if (std::find(known.begin(), known.end(), it.key()) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      mv.FailField(it.key(), "unknown metric (expected one of: " + list + ")");
    }
    double value = mv.Num(it.key());
    if (value <= 0) mv.FailField(it.key(), "must be positive");
    m.values[it.key()] = value;
  }
  m.source = v.StrOr("source", "");
  return m;
}

}  // namespace proteus
