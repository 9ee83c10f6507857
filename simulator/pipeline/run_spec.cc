#include "simulator/pipeline/run_spec.h"

#include <algorithm>

#include "common/error.h"
#include "simulator/strategy/memory_settings.h"

namespace proteus {

const std::vector<std::string>& KnownMetrics() {
  static const std::vector<std::string> kMetrics = {
      "iteration_time_s", "samples_per_s", "tokens_per_s", "tflops_per_gpu", "hw_tflops_per_gpu", "mfu",
      "peak_memory_gib"};
  return kMetrics;
}

namespace {

// Input limits: a mesh of at most 2^20 GPUs (the strategy reader's limit, far above real clusters)
// and batches that fit an int; buckets up to kMaxGradBucketMb. Larger values used to wrap when stored
// as int.
constexpr int64_t kMaxGpus = int64_t{1} << 20;
constexpr int64_t kMaxBatch = (int64_t{1} << 31) - 1;

// A positive integer member at most `max`, or `fallback` when absent.
int64_t BoundedOr(const JsonView& v, std::string_view key, int64_t max, int64_t fallback) {
  if (!v.Has(key)) return fallback;
  int64_t x = v.PositiveInt(key);
  if (x > max) v.FailField(key, "must be at most " + std::to_string(max) + ", got " + std::to_string(x));
  return x;
}

StrategyFlags FlagsFromJson(const JsonView& s) {
  s.RejectUnknownKeys({"tp", "pp", "dp", "ep", "mbs", "gbs", "schedule", "zero", "recompute", "sp", "pp_layers",
                       "grad_bucket_mb", "dp_method", "fusion_threshold_mb", "fusion_cycle_ms", "ps_servers", "ps_colocated", "fsdp", "fsdp_prefetch",
                       "reshard_after_forward", "hsdp", "overlap_grad_reduce", "overlap_param_gather",
                       "tp_comm_overlap", "overlap_p2p", "offload_optimizer", "offload_activations", "fp8", "fp8_scaling", "main_grads", "params",
                       "reserve_gib", "fragmentation"});
  StrategyFlags f;
  f.tp = static_cast<int>(BoundedOr(s, "tp", kMaxGpus, 1));
  f.pp = static_cast<int>(BoundedOr(s, "pp", kMaxGpus, 1));
  f.dp = static_cast<int>(BoundedOr(s, "dp", kMaxGpus, 0));
  f.ep = static_cast<int>(BoundedOr(s, "ep", kMaxGpus, 1));
  // Each factor is <= 2^20, so the product fits int64.
  int64_t gpus = int64_t{f.tp} * f.pp * std::max(f.dp, 1);
  if (gpus > kMaxGpus) s.Fail("tp x pp x dp = " + std::to_string(gpus) + " GPUs, more than " + std::to_string(kMaxGpus));
  f.mbs = static_cast<int>(BoundedOr(s, "mbs", kMaxBatch, 1));
  f.gbs = static_cast<int>(BoundedOr(s, "gbs", kMaxBatch, 0));
  f.schedule = s.StrOr("schedule", "1f1b");
  int64_t zero = s.IntOr("zero", 0);
  if (zero < 0 || zero > 3) s.FailField("zero", "supported ZeRO stages are 0, 1, 2 and 3, got " + std::to_string(zero));
  f.zero = static_cast<int>(zero);
  f.fsdp = s.BoolOr("fsdp", false);
  f.fsdp_prefetch = static_cast<int>(s.IntOr("fsdp_prefetch", -1));
  f.reshard_after_forward = s.BoolOr("reshard_after_forward", true);
  f.hsdp = static_cast<int>(BoundedOr(s, "hsdp", kMaxGpus, 0));
  f.overlap_grad_reduce = s.BoolOr("overlap_grad_reduce", true);
  f.overlap_param_gather = s.BoolOr("overlap_param_gather", false);
  f.tp_comm_overlap = s.BoolOr("tp_comm_overlap", false);
  f.offload_optimizer = s.BoolOr("offload_optimizer", false);
  f.offload_activations = static_cast<int>(BoundedOr(s, "offload_activations", kMaxGpus, 0));
  if (s.Has("overlap_p2p")) f.overlap_p2p = s.Bool("overlap_p2p") ? "on" : "off";
  f.recompute = s.StrOr("recompute", "none");
  f.sp = s.BoolOr("sp", false);
  f.pp_layers = s.StrOr("pp_layers", "");
  f.grad_bucket_mb = BoundedOr(s, "grad_bucket_mb", kMaxGradBucketMb, 0);
  // The data-parallel method, checked here so that an error names the case's field.
  f.dp_method = s.StrOr("dp_method", "");
  if (s.Has("fusion_threshold_mb")) f.fusion_threshold_mb = s.Num("fusion_threshold_mb");
  if (s.Has("fusion_cycle_ms")) f.fusion_cycle_ms = s.Num("fusion_cycle_ms");
  if (s.Has("ps_servers")) f.ps_servers = s.Int("ps_servers");
  if (s.Has("ps_colocated")) (s.Bool("ps_colocated") ? f.ps_colocated : f.ps_separate) = true;
  ApplyDpReductionFlags(f, DpReduction{}, {s.WhereField("dp_method"), s.WhereField("fusion_threshold_mb"),
                                           s.WhereField("fusion_cycle_ms"), s.WhereField("ps_servers"),
                                           s.WhereField("ps_colocated"), s.WhereField("ps_colocated")});
  f.fp8 = s.StrOr("fp8", "");
  f.fp8_scaling = s.StrOr("fp8_scaling", "");
  // Memory accounting, checked here so that an error names the case's field.
  f.main_grads = s.StrOr("main_grads", "");
  if (!f.main_grads.empty()) ParseMainGrads(f.main_grads, s.WhereField("main_grads"));
  f.params = s.StrOr("params", "");
  if (!f.params.empty()) ParseParamStorage(f.params, s.WhereField("params"));
  if (s.Has("reserve_gib")) {
    f.reserve_gib = s.Num("reserve_gib");
    CheckedReserveBytes(*f.reserve_gib, s.WhereField("reserve_gib"));
  }
  if (s.Has("fragmentation")) {
    f.fragmentation = s.Num("fragmentation");
    CheckedFragmentation(*f.fragmentation, s.WhereField("fragmentation"));
  }
  return f;
}

// BytePS' knobs: only with method ps (given here or by the strategy file), one placement at most.
DpReduction ApplyPsFlags(const StrategyFlags& f, DpReduction base, const DpReductionWhere& where) {
  auto need_ps = [&](const std::string& flag) {
    if (base.method != DpMethod::kPs)
      throw UserError(flag, "is a knob of --dp-method ps (the BytePS parameter server), but the method is " +
                                std::string(DpMethodName(base.method)));
  };
  if (f.ps_colocated && f.ps_separate)
    throw UserError(where.ps_colocated, "contradicts " + where.ps_separate +
                                            ": servers are either on the worker nodes or on hosts of their own");
  if (f.ps_servers) {
    need_ps(where.ps_servers);
    if (*f.ps_servers < 1 || *f.ps_servers > kMaxPsServers)
      throw UserError(where.ps_servers, "must be between 1 and " + std::to_string(kMaxPsServers) +
                                            " server hosts, got " + std::to_string(*f.ps_servers));
    base.ps_servers = static_cast<int>(*f.ps_servers);
  }
  if (f.ps_colocated) need_ps(where.ps_colocated);
  if (f.ps_separate) need_ps(where.ps_separate);
  if (f.ps_colocated || f.ps_separate) base.ps_colocated = f.ps_colocated;
  return base;
}

}  // namespace

DpReduction ApplyDpReductionFlags(const StrategyFlags& f, DpReduction base, const DpReductionWhere& where) {
  if (!f.dp_method.empty()) {
    auto m = ParseDpMethod(f.dp_method);
    if (!m) throw UserError(where.method, "unknown method '" + f.dp_method + "'; expected one of " + DpMethodList());
    base.method = *m;
  }
  if (f.fusion_threshold_mb) {
    double mb = *f.fusion_threshold_mb;
    // Checked before the conversion: a huge or NaN value must not wrap into a valid-looking size.
    if (!(mb >= 0) || mb > static_cast<double>(kMaxFusionThresholdBytes >> 20))
      throw UserError(where.threshold, "must be between 0 and 1048576 MiB, got " + std::to_string(mb));
    base.fusion_threshold_bytes = static_cast<int64_t>(mb * 1024 * 1024);
  }
  if (f.fusion_cycle_ms) base.fusion_cycle_s = *f.fusion_cycle_ms / 1000;
  CheckDpReduction(base, where.threshold, where.cycle);
  return ApplyPsFlags(f, base, where);
}

RunSpec RunSpecFromJson(const JsonView& v) {
  v.RejectUnknownKeys({"format", "name", "model", "cluster", "strategy", "databases", "dtype", "symmetry", "orbit_mirrors",
                       "measured", "source", "notes", "hardware", "software", "date"});
  RunSpec spec;
  spec.name = v.StrOr("name", "");
  JsonView model = v.At("model");
  if (model.IsObject()) {
    spec.model_doc = model.raw();
    if (!spec.model_doc.contains("format")) spec.model_doc["format"] = "proteus.model/1";
    spec.model_origin = model.Where();
    // A non-string "zoo" is reported by the model reader; here it only names the case's model.
    spec.model = model.Has("zoo") && model.raw()["zoo"].is_string() ? model.Str("zoo") : "inline model";
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
  spec.orbit_mirrors = v.BoolOr("orbit_mirrors", false);
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
